//! Tickets requests: the use cases that tie the SLA domain, the store and the outbox
//! together. Slack handlers and the scheduler call these; nothing here talks to Slack
//! (posts are recorded in the outbox, which the sender delivers).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

use crate::blocks;
use crate::delivery::users::Users;
use crate::domain::calendar::Calendar;
use crate::domain::checklist::Tier;
use crate::domain::command::PathChange;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::policy::Policy;
use crate::domain::sla::{Clock, Priority, Target, threshold_amount};
use crate::domain::ticket::{
    Action, Answered, Awaiting, Closure, Fire, NextResponses, Refused, Ticket,
};
use crate::store::Store;
use crate::store::audit::{Actor, AuditEntry};
use crate::store::outbox::Enqueue;
use crate::store::tickets::{
    AnsweredRecord, AwaitingRecord, DueTimer, Firing, IntakeOrigin, NewTicket, NextResponseRecord,
    TicketRecord,
};
use crate::time_source::TimeSource;

/// A threshold posted this long after it was reached is marked late.
pub const LATE_AFTER: Duration = Duration::seconds(30);
/// Due rows fired per transaction.
pub const FIRE_BATCH: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("no such ticket")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Who is named at each escalation level, per workspace and priority.
pub struct Paths {
    set: HashMap<(String, Priority), Vec<String>>,
    policy: Arc<Policy>,
}

impl Paths {
    /// The path set in Slack for the workspace, else the policy file's (if the file's
    /// people are that workspace's).
    pub fn of(&self, team_id: &str, priority: Priority) -> &[String] {
        if let Some(path) = self.set.get(&(team_id.to_string(), priority)) {
            return path;
        }
        if self.policy.escalation.applies_to(team_id) {
            &self.policy.escalation.paths[priority.index()]
        } else {
            &[]
        }
    }
}

/// How a change of a ticket moves its timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timers {
    /// Each keeps its level, re-dated: a threshold already past fires at once, late (a
    /// resumed clock, a new calendar).
    Redate,
    /// A priority change: each goes to the new priority's first threshold still ahead
    /// (`Ticket::first_ahead`); the change's own line tells what is already past.
    SkipPast,
}

#[derive(Clone)]
pub struct Tickets {
    pub store: Store,
    pub policy: Arc<Policy>,
    /// Language of what is posted in channels.
    pub lang: Lang,
    calendars: Arc<[Calendar; 3]>,
    /// What "now" is for everything built on this (see [`TimeSource`]).
    pub time: TimeSource,
    /// Slack's user groups, for round-robin assignment (`None`: nobody is assigned).
    pub(super) people: Option<Users>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    crate::time_source::at_ms(ms)
}

/// The stored form of a ticket into the domain's (an unknown priority reads as P3).
pub fn ticket_of(r: &TicketRecord) -> Ticket {
    let closure = |at_ms: Option<i64>, by: &Option<String>, used: Option<i64>| {
        at_ms.map(|a| Closure {
            at: at(a),
            by: by.clone().unwrap_or_default(),
            used: Duration::milliseconds(used.unwrap_or(0)),
        })
    };
    Ticket {
        id: r.id,
        team_id: r.team_id.clone(),
        number: r.number,
        customer_id: r.customer_id,
        priority: Priority::parse(&r.priority).unwrap_or(Priority::P3),
        summary: r.summary.clone(),
        reporter: r.reporter.clone(),
        assignee: r.assignee.clone(),
        opened_at: at(r.opened_at),
        clock: Clock {
            used: Duration::milliseconds(r.used_ms),
            running_since: r.running_since.map(at),
        },
        responded: closure(r.responded_at, &r.responded_by, r.response_used_ms),
        resolved: closure(r.resolved_at, &r.resolved_by, r.resolution_used_ms),
        escalations: r.escalations,
        channel_id: r.channel_id.clone(),
        ts: r.ts.clone(),
        version: r.version,
        next: next_responses_of(&NextResponseRecord::parse(r.next_response.as_deref())),
    }
}

/// The stored next-response rounds into the domain's.
fn next_responses_of(r: &NextResponseRecord) -> NextResponses {
    NextResponses {
        awaiting: r.awaiting.as_ref().map(|a| Awaiting {
            since: at(a.since),
            by: a.by.clone(),
            clock: Clock {
                used: Duration::milliseconds(a.used_ms),
                running_since: a.running_since.map(at),
            },
        }),
        last: r.last.as_ref().map(|l| Answered {
            since: at(l.since),
            customer: l.customer.clone(),
            closure: Closure {
                at: at(l.at),
                by: l.by.clone(),
                used: Duration::milliseconds(l.used_ms),
            },
        }),
    }
}

/// The domain's next-response rounds into their stored form.
fn next_response_record(n: &NextResponses) -> NextResponseRecord {
    NextResponseRecord {
        awaiting: n.awaiting.as_ref().map(|a| AwaitingRecord {
            since: ms(a.since),
            by: a.by.clone(),
            used_ms: a.clock.used.num_milliseconds(),
            running_since: a.clock.running_since.map(ms),
        }),
        last: n.last.as_ref().map(|l| AnsweredRecord {
            since: ms(l.since),
            customer: l.customer.clone(),
            at: ms(l.closure.at),
            by: l.closure.by.clone(),
            used_ms: l.closure.used.num_milliseconds(),
        }),
    }
}

/// The domain's ticket back into its stored form, over the record it was read from.
fn record_of(t: &Ticket, read: &TicketRecord) -> TicketRecord {
    TicketRecord {
        priority: t.priority.as_str().to_string(),
        summary: t.summary.clone(),
        assignee: t.assignee.clone(),
        used_ms: t.clock.used.num_milliseconds(),
        running_since: t.clock.running_since.map(ms),
        responded_at: t.responded.as_ref().map(|c| ms(c.at)),
        responded_by: t.responded.as_ref().map(|c| c.by.clone()),
        response_used_ms: t.responded.as_ref().map(|c| c.used.num_milliseconds()),
        resolved_at: t.resolved.as_ref().map(|c| ms(c.at)),
        resolved_by: t.resolved.as_ref().map(|c| c.by.clone()),
        resolution_used_ms: t.resolved.as_ref().map(|c| c.used.num_milliseconds()),
        escalations: t.escalations,
        next_response: next_response_record(&t.next).column(),
        ..read.clone()
    }
}

/// A ticket's state as the audit log shows it.
fn ticket_json(t: &Ticket) -> serde_json::Value {
    serde_json::json!({
        "priority": t.priority.as_str(),
        "paused": t.is_paused(),
        "responded": t.responded.as_ref().map(|c| c.at.to_rfc3339()),
        "resolved": t.resolved.as_ref().map(|c| c.at.to_rfc3339()),
        "escalations": t.escalations,
        "awaiting_next_response_since": t.next.awaiting.as_ref().map(|a| a.since.to_rfc3339()),
    })
}

/// Pure: defined with the ticket.
pub use crate::domain::ticket::urgency;

/// Each tier's calendar, in [`tier_index`] order.
fn calendars_of(policy: &Policy) -> [Calendar; 3] {
    [Tier::Standard, Tier::Professional, Tier::Enterprise].map(|tier| policy.calendar(tier))
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Standard => 0,
        Tier::Professional => 1,
        Tier::Enterprise => 2,
    }
}

impl Tickets {
    pub fn new(store: Store, policy: Arc<Policy>, lang: Lang, time: TimeSource) -> Self {
        let calendars = Arc::new(calendars_of(&policy));
        Self {
            store,
            policy,
            lang,
            calendars,
            time,
            people: None,
        }
    }

    /// With Slack's user groups to assign new tickets from (`[intake] assign`).
    pub fn with_people(mut self, users: Users) -> Self {
        self.people = Some(users);
        self
    }

    pub fn calendar(&self, tier: Tier) -> &Calendar {
        &self.calendars[tier_index(tier)]
    }

    /// The workspace's open tickets (or one customer's), most urgent first, each with
    /// its customer; a ticket of a customer no longer listed is left out.
    pub async fn open_by_urgency(
        &self,
        team_id: &str,
        customer_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Ticket, Customer)>, sqlx::Error> {
        let records = self.store.open_tickets(team_id, customer_id).await?;
        let customers: HashMap<i64, Customer> = self
            .store
            .customers(team_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut rows: Vec<(Ticket, Customer)> = records
            .iter()
            .filter_map(|r| {
                let owner = customers.get(&r.customer_id)?;
                Some((ticket_of(r), owner.clone()))
            })
            .collect();
        rows.sort_by_cached_key(|(ticket, owner)| {
            urgency(ticket, &self.policy, self.calendar(owner.tier), now)
        });
        Ok(rows)
    }

    /// Opens a ticket for `customer`, `opened_at` (back-dated or now). Its clock has
    /// run in business time since then; thresholds already past fire at once, in
    /// order, marked late.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        &self,
        customer: &Customer,
        channel_id: &str,
        priority: Priority,
        summary: &str,
        reporter: &str,
        opened_at: DateTime<Utc>,
        source_ts: Option<String>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Ticket, sqlx::Error> {
        let opened = self.open_from(
            customer, channel_id, priority, summary, reporter, opened_at, source_ts, None, actor,
            now,
        );
        Ok(opened.await?.0)
    }

    /// [`Tickets::open`], made from a customer's message (`origin`): the ticket already
    /// made from that message (`false`) if there is one, else the new one (`true`).
    #[allow(clippy::too_many_arguments)]
    pub async fn open_from(
        &self,
        customer: &Customer,
        channel_id: &str,
        priority: Priority,
        summary: &str,
        reporter: &str,
        opened_at: DateTime<Utc>,
        source_ts: Option<String>,
        origin: Option<&IntakeOrigin>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<(Ticket, bool), sqlx::Error> {
        let cal = self.calendar(customer.tier);
        let mut draft = Ticket::new(
            &customer.team_id,
            customer.id,
            channel_id,
            priority,
            summary,
            reporter,
            opened_at,
        );
        draft.assignee = self.round_robin_assignee(&customer.team_id).await?;
        let timers = [Target::FirstResponse, Target::Resolution]
            .into_iter()
            .filter_map(|target| {
                draft
                    .due_at(&self.policy, cal, target, 0)
                    .map(|due| (target.as_str().to_string(), due.map(ms)))
            })
            .collect();
        let (record, new) = self
            .store
            .open_ticket_from(
                &NewTicket {
                    team_id: draft.team_id.clone(),
                    customer_id: draft.customer_id,
                    priority: draft.priority.as_str().to_string(),
                    summary: draft.summary.clone(),
                    reporter: draft.reporter.clone(),
                    assignee: draft.assignee.clone(),
                    opened_at: ms(draft.opened_at),
                    used_ms: draft.clock.used.num_milliseconds(),
                    running_since: draft.clock.running_since.map(ms),
                    channel_id: draft.channel_id.clone(),
                    source_ts,
                    timers,
                },
                origin,
                actor,
                now,
            )
            .await?;
        if new {
            info!(
                ticket = record.id,
                number = record.number,
                priority = priority.as_str(),
                "ticket opened"
            );
        }
        Ok((ticket_of(&record), new))
    }

    /// Applies `action` to ticket `id` and re-plans its timers, retrying if someone
    /// else changed the ticket in between.
    pub async fn act(
        &self,
        team_id: &str,
        id: i64,
        action: &Action,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Ticket, ActError> {
        let name = match action {
            Action::Respond => "ticket.responded",
            Action::Resolve => "ticket.resolved",
            Action::Pause => "ticket.paused",
            Action::Resume => "ticket.resumed",
            Action::SetPriority(_) => "ticket.priority_changed",
            Action::CustomerWrote => "ticket.next_response_started",
            Action::AnswerNext => "ticket.next_response_met",
            Action::Reopen { .. } => "ticket.reopened",
        };
        if let Action::SetPriority(_) = action {
            let audit = Some((actor, name));
            return self
                .change_timers(team_id, id, now, audit, Timers::SkipPast, |ticket, tier| {
                    let from = ticket.priority;
                    ticket.apply(action, actor.user, self.calendar(tier), now)?;
                    Ok(vec![
                        self.priority_line(ticket, from, actor.user, tier, now),
                    ])
                })
                .await;
        }
        let lang = self.lang;
        self.change(team_id, id, now, Some((actor, name)), |ticket, tier| {
            ticket.apply(action, actor.user, self.calendar(tier), now)?;
            if let Action::Reopen { .. } = action {
                // Said where its escalations go; keyed by the version it changes, so
                // told once however often the save is tried again.
                return Ok(vec![Enqueue::escalation(
                    (&ticket.team_id, &ticket.channel_id, ticket.id),
                    format!("reopened:{}:{}", ticket.id, ticket.version),
                    blocks::ticket::reopened(ticket, actor.user, lang),
                    None,
                )]);
            }
            Ok(self.csat_question(action, ticket))
        })
        .await
    }

    /// On resolution, whatever resolved it (the button, a command, the resolve emoji:
    /// each comes through [`Tickets::act`]), the customer is asked how it went: one
    /// question, saved with the resolution in its transaction, and keyed on the ticket
    /// so a ticket reopened and resolved again is not asked twice (see `usecase::csat`).
    fn csat_question(&self, action: &Action, ticket: &Ticket) -> Vec<Enqueue> {
        if *action != Action::Resolve || !self.policy.intake.csat {
            return Vec::new();
        }
        vec![Enqueue::csat((
            &ticket.team_id,
            &ticket.channel_id,
            ticket.id,
        ))]
    }

    /// The one line a priority change posts in the ticket's thread: who changed it,
    /// and where each target stands whose new thresholds are already past (those are
    /// not posted late, each dated when the ticket still had its old priority).
    fn priority_line(
        &self,
        ticket: &Ticket,
        from: Priority,
        by: &str,
        tier: Tier,
        now: DateTime<Utc>,
    ) -> Enqueue {
        let cal = self.calendar(tier);
        let past: Vec<_> = Target::ALL
            .into_iter()
            .filter(|&target| {
                ticket
                    .first_ahead(&self.policy, cal, target, now)
                    .is_some_and(|ahead| ahead.past > 0)
            })
            .map(|target| (target, ticket.sla_state(&self.policy, cal, target, now)))
            .collect();
        let change = blocks::ticket::PriorityChange {
            ticket,
            from,
            by,
            past: &past,
        };
        // Keyed by the version it changes: each change is told once, however often the
        // save is tried again after a concurrent change.
        Enqueue::escalation(
            (&ticket.team_id, &ticket.channel_id, ticket.id),
            format!("priority:{}:{}", ticket.id, ticket.version),
            blocks::ticket::priority_changed(&change, cal, self.lang),
            None,
        )
    }

    /// Escalation paths: those set in Slack over the policy file's.
    pub async fn paths(&self) -> Result<Paths, sqlx::Error> {
        let mut set = HashMap::new();
        for (team, priority, levels) in self.store.escalation_paths().await? {
            if let Some(priority) = Priority::parse(&priority) {
                set.insert((team, priority), levels);
            }
        }
        Ok(Paths {
            set,
            policy: self.policy.clone(),
        })
    }

    /// The escalation paths of `priority`, else of every priority, in workspace
    /// `team_id`, after saving `change` to `priority`'s if both are given (admins only:
    /// the edge checks).
    pub async fn escalation_paths(
        &self,
        team_id: &str,
        priority: Option<Priority>,
        change: Option<&PathChange>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Priority, Vec<String>)>, sqlx::Error> {
        if let (Some(priority), Some(change)) = (priority, change) {
            let levels = match change {
                PathChange::Set(levels) => Some(levels.as_slice()),
                PathChange::Clear => None,
            };
            self.store
                .set_escalation_path(team_id, priority.as_str(), levels, by, now)
                .await?;
        }
        let paths = self.paths().await?;
        let shown = match priority {
            Some(p) => vec![p],
            None => Priority::ALL.to_vec(),
        };
        Ok(shown
            .into_iter()
            .map(|p| (p, paths.of(team_id, p).to_vec()))
            .collect())
    }

    /// "Escalate now": names the next step of the escalation path at once (the first
    /// press the second step, the next press the third, …).
    pub async fn escalate_now(
        &self,
        team_id: &str,
        id: i64,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Ticket, ActError> {
        let paths = self.paths().await?;
        let lang = self.lang;
        let user = actor.user;
        let (from_message, customer_csm) = self.owner_facts(id).await?;
        let audit = Some((actor, "ticket.escalated"));
        self.change(team_id, id, now, audit, move |ticket, _tier| {
            if ticket.resolved.is_some() {
                return Err(Refused::Resolved);
            }
            ticket.escalations += 1;
            // The first press names the path's second step, the next the third, …
            let path = paths.of(&ticket.team_id, ticket.priority);
            let step = ticket.escalations.clamp(1, 100) as u32;
            let named = ticket.named_by_hand(path, step, ticket.owner(from_message, &customer_csm));
            let message = blocks::ticket::manual_escalation(ticket, user, &named, lang);
            Ok(vec![Enqueue::escalation(
                (&ticket.team_id, &ticket.channel_id, ticket.id),
                format!("esc:{}:manual:{}", ticket.id, ticket.escalations),
                message,
                None,
            )])
        })
        .await
    }

    /// What [`Ticket::owner`] needs beyond the ticket: whether it was made from a
    /// message, and its customer's CSM (the same facts the timed escalations read with
    /// their due row).
    async fn owner_facts(&self, id: i64) -> Result<(bool, String), sqlx::Error> {
        let Some(record) = self.store.ticket_by_id(id).await? else {
            return Ok((false, String::new()));
        };
        let csm = self
            .store
            .customer_by_id_unscoped(record.customer_id)
            .await?
            .map(|c| c.csm().to_string())
            .unwrap_or_default();
        let from_message = self.store.card_place(id).await?.intake_key.is_some();
        Ok((from_message, csm))
    }

    /// The tier whose calendar a customer's clocks count in.
    async fn tier_of(&self, customer_id: i64) -> Result<Tier, sqlx::Error> {
        Ok(self
            .store
            .customer_by_id_unscoped(customer_id)
            .await?
            .map_or(Tier::Standard, |c| c.tier))
    }

    /// Reads, changes with `edit` and saves ticket `id`, re-planning its timers; tries
    /// again on a concurrent change.
    /// `audit`: who did it and the action's name, for the audit log (nothing is
    /// audited for a re-plan, whose policy change is audited once).
    async fn change(
        &self,
        team_id: &str,
        id: i64,
        now: DateTime<Utc>,
        audit: Option<(Actor<'_>, &str)>,
        edit: impl Fn(&mut Ticket, Tier) -> Result<Vec<Enqueue>, Refused>,
    ) -> Result<Ticket, ActError> {
        self.change_timers(team_id, id, now, audit, Timers::Redate, edit)
            .await
    }

    /// [`Tickets::change`], moving the timers as `timers` says.
    async fn change_timers(
        &self,
        team_id: &str,
        id: i64,
        now: DateTime<Utc>,
        audit: Option<(Actor<'_>, &str)>,
        timers: Timers,
        edit: impl Fn(&mut Ticket, Tier) -> Result<Vec<Enqueue>, Refused>,
    ) -> Result<Ticket, ActError> {
        loop {
            let Some(record) = self.store.ticket_by_id(id).await? else {
                return Err(ActError::NotFound);
            };
            if record.team_id != team_id {
                return Err(ActError::NotFound);
            }
            let tier = self.tier_of(record.customer_id).await?;
            let cal = self.calendar(tier);
            let mut ticket = ticket_of(&record);
            let before = ticket_json(&ticket);
            let enqueue = edit(&mut ticket, tier)?;
            let entry = audit.map(|(actor, action)| {
                actor
                    .entry(
                        &ticket.team_id,
                        Some(ticket.customer_id),
                        action,
                        &ticket.label(),
                        ms(now),
                    )
                    .with(Some(before.clone()), Some(ticket_json(&ticket)))
            });
            let policy = &self.policy;
            let planned = ticket.clone();
            let replan = move |target: &str, level: Option<i64>| {
                let target = Target::parse(target)?;
                let (level, due) = match (timers, level) {
                    (Timers::Redate, Some(level)) => {
                        (level, planned.due_at(policy, cal, target, level as u32)?)
                    }
                    // A next-response round just started: from its first level, past
                    // ones at once (a late event's message was written earlier).
                    (Timers::Redate, None) if target == Target::NextResponse => {
                        (0, planned.due_at(policy, cal, target, 0)?)
                    }
                    // A reopened ticket's resolution (its row went with the
                    // resolution), or a priority change: from the first level ahead,
                    // so nothing posted before is posted again.
                    (Timers::Redate, None) | (Timers::SkipPast, _) => {
                        let (level, due) = planned.first_ahead(policy, cal, target, now)?.next?;
                        (i64::from(level), due)
                    }
                };
                Some((level, due.map(ms)))
            };
            // Only targets that need a row get one (`replan` says `None` otherwise).
            let add_missing = &[
                Target::FirstResponse.as_str(),
                Target::Resolution.as_str(),
                Target::NextResponse.as_str(),
            ][..];
            if self
                .store
                .save_ticket(
                    &record_of(&ticket, &record),
                    &replan,
                    add_missing,
                    &enqueue,
                    entry.as_ref(),
                    now,
                )
                .await?
            {
                ticket.version += 1;
                return Ok(ticket);
            }
        }
    }

    /// Fires the rows due at `now`, one batch; returns how late each escalation was once
    /// its transaction committed (ms).
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
        let paths = self.paths().await?;
        let due_times = std::sync::Mutex::new(Vec::new());
        let fire = |due: &DueTimer| {
            let firing = self.firing(due, &paths, now);
            // Rows that only waited (re-planned) or stopped are not firings.
            if !firing.enqueue.is_empty()
                && let Ok(mut d) = due_times.lock()
            {
                d.push(due.due_at);
            }
            firing
        };
        self.store.fire_due_timers(now, FIRE_BATCH, &fire).await?;
        let committed = self.time.now_ms();
        Ok(due_times
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .map(|due| committed - due)
            .collect())
    }

    /// What one due row does (pure but for the row it is given).
    fn firing(&self, due: &DueTimer, paths: &Paths, now: DateTime<Utc>) -> Firing {
        let ticket = ticket_of(&due.ticket);
        let tier = Tier::parse(&due.customer_tier).unwrap_or(Tier::Standard);
        let cal = self.calendar(tier);
        let Some(target) = Target::parse(&due.target) else {
            warn!(timer = due.timer_id, target = %due.target, "a timer with an unknown target; dropped");
            return Firing::default();
        };
        let level = due.level.max(0) as u32;
        match ticket.fire(&self.policy, cal, target, level, now) {
            Fire::Stop => Firing::default(),
            Fire::Wait(next) => Firing {
                next: Some((due.level, next.map(ms))),
                ..Firing::default()
            },
            Fire::Escalate {
                level,
                reached_at,
                next,
            } => {
                let length = ticket.target_length(&self.policy, target);
                let amount =
                    threshold_amount(length, &self.policy.escalation, level).unwrap_or(length);
                let percent = if length.num_milliseconds() > 0 {
                    (amount.num_milliseconds() * 100 / length.num_milliseconds()) as u32
                } else {
                    100
                };
                let path = paths.of(&ticket.team_id, ticket.priority);
                let owner = ticket.owner(due.from_message, &due.customer_owner);
                let named = ticket.on_the_hook_owned_by(path, &self.policy, target, level, owner);
                let late_since = (now - reached_at > LATE_AFTER).then_some(reached_at);
                let target_due = ticket.target_due(&self.policy, cal, target);
                let message = blocks::ticket::escalation(
                    &blocks::ticket::Escalation {
                        ticket: &ticket,
                        target,
                        percent,
                        target_length: length,
                        named: &named,
                        late_since,
                        due: target_due,
                    },
                    cal,
                    self.lang,
                );
                Firing {
                    enqueue: vec![Enqueue::escalation(
                        (&ticket.team_id, &ticket.channel_id, ticket.id),
                        // With the priority: a lowered ticket's levels start again
                        // from 0, and must not collide with those its old one posted.
                        // A next response's levels start again with each round: the
                        // round (when the customer wrote) is in its key.
                        format!(
                            "esc:{}:{}{}:{}:{}",
                            ticket.id,
                            target.as_str(),
                            ticket
                                .next
                                .awaiting
                                .as_ref()
                                .filter(|_| target == Target::NextResponse)
                                .map(|a| format!("@{}", ms(a.since)))
                                .unwrap_or_default(),
                            ticket.priority.as_str(),
                            level
                        ),
                        message,
                        Some(target),
                    )],
                    next: next.map(|(level, due)| (i64::from(level), due.map(ms))),
                    audit: Some(
                        Actor::scheduler()
                            .entry(
                                &ticket.team_id,
                                Some(ticket.customer_id),
                                "ticket.escalated",
                                &ticket.label(),
                                ms(now),
                            )
                            .with(
                                None,
                                Some(serde_json::json!({
                                    "target": target.as_str(),
                                    "level": level,
                                    "percent": percent,
                                    "named": named,
                                    "late": late_since.is_some(),
                                })),
                            ),
                    ),
                }
            }
        }
    }

    /// Re-plans a customer's open deadlines after its tier changed from `old_tier`: the
    /// time used so far stays used (counted in the old tier's hours), the time left
    /// counts in the new tier's. Returns how many tickets were re-planned.
    pub async fn replan_customer(
        &self,
        customer: &Customer,
        old_tier: Tier,
        now: DateTime<Utc>,
    ) -> Result<usize, ActError> {
        let old = self.calendar(old_tier).clone();
        let open = self
            .store
            .open_tickets(&customer.team_id, Some(customer.id))
            .await?;
        for record in &open {
            self.change(&record.team_id, record.id, now, None, |ticket, _tier| {
                ticket.replan_clocks(&old, now);
                Ok(Vec::new())
            })
            .await?;
        }
        Ok(open.len())
    }

    /// Re-plans every open deadline when the policy changed since they were planned:
    /// the time used so far stays used (counted under the old calendars), the time
    /// left counts against the new ones.
    pub async fn replan_if_policy_changed(
        &self,
        policy_text: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let previous = self.store.planned_policy().await?;
        if previous.as_deref() == Some(policy_text) {
            return Ok(0);
        }
        let old = match previous.as_deref().map(Policy::from_toml_str) {
            Some(Ok(old)) => Some(old),
            Some(Err(e)) => {
                warn!(error = %e, "the previously planned policy no longer parses; re-planning from now");
                None
            }
            None => None,
        };
        let old_calendars = old.as_ref().map(calendars_of);
        let mut replanned = 0;
        for record in self.store.all_open_tickets().await? {
            let result = self
                .change(&record.team_id, record.id, now, None, |ticket, tier| {
                    // Time used so far is counted under the old calendar; with none
                    // (it no longer parses), the clock simply runs on from its start.
                    if let Some(old) = &old_calendars {
                        ticket.replan_clocks(&old[tier_index(tier)], now);
                    }
                    Ok(Vec::new())
                })
                .await;
            match result {
                Ok(_) => replanned += 1,
                Err(e) => warn!(ticket = record.id, error = %e, "cannot re-plan a ticket"),
            }
        }
        if previous.is_some() {
            let entry = AuditEntry {
                team_id: "*".into(),
                customer_id: None,
                actor: "readiness".into(),
                source: crate::store::audit::Source::Start,
                action: "policy.changed".into(),
                subject: "policy".into(),
                before: previous
                    .as_deref()
                    .map(|p| serde_json::Value::String(p.into())),
                after: Some(serde_json::Value::String(policy_text.into())),
                at: ms(now),
            };
            self.store.audit(&entry).await?;
        }
        self.store.set_planned_policy(policy_text).await?;
        if replanned > 0 {
            info!(
                tickets = replanned,
                "the policy changed: open deadlines re-planned"
            );
        }
        Ok(replanned)
    }
}
