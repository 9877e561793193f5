//! Scheduled reminders: the use cases that tie the schedule grammar, the store and the
//! outbox together. Slack handlers and the scheduler call these; nothing here talks to
//! Slack. Every reminder is a due row fired by the same scheduler as the SLA timers,
//! and what it posts goes through the same outbox (exactly once, paced per channel).
//!
//! - custom reminders (`/readiness remind`), once or repeating;
//! - the assignee's DM on the morning an item is due;
//! - each customer's daily digest of overdue items;
//! - the onboarding milestones a go-live starts (hypercare, reviews, reports).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use tracing::{info, warn};

use crate::blocks;
use crate::domain::customer::Customer;
use crate::domain::plan::waiting_on;
use crate::domain::schedule::{self, Recurrence, When};
use crate::domain::template::Template;
use crate::store::ItemUpdate;
use crate::store::audit::Actor;
use crate::store::outbox::{DigestBody, Enqueue, ItemDueBody, Post, ReminderBody};
use crate::store::reminders::{
    DueReminder, NewReminder, ReminderFiring, ReminderPlan, ReminderRecord,
};
use crate::usecase::tickets::Tickets;

/// Reminders fired per transaction.
pub const FIRE_BATCH: i64 = 200;
/// A custom reminder's text is cut to this many characters.
pub const MAX_TEXT: usize = 2000;

/// Why a go-live date is not recorded.
#[derive(Debug, thiserror::Error)]
pub enum GoLiveError {
    #[error("the customer is archived")]
    Archived,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What `golive` without a date would record, for the person to confirm.
#[derive(Debug, Clone)]
pub struct GoLiveProposal {
    /// Today in the customer's zone.
    pub date: NaiveDate,
    pub tz: Tz,
}

/// A go-live recorded: the customer as it is now and the milestones planned.
#[derive(Debug, Clone)]
pub struct WentLive {
    pub customer: Customer,
    pub date: NaiveDate,
    pub planned: Vec<ReminderRecord>,
}

/// Why `/readiness remind` set nothing.
#[derive(Debug, thiserror::Error)]
pub enum RemindError {
    #[error("that time is not in the future")]
    InThePast,
    #[error("the customer has no channel yet")]
    NoChannel,
    #[error("the customer is archived")]
    Archived,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A reminder cancelled from the list, and the list as it is now.
#[derive(Debug, Clone)]
pub struct CancelledFromList {
    /// `None`: it was already cancelled or done (or not this workspace's).
    pub cancelled: Option<ReminderRecord>,
    pub list: Vec<(ReminderRecord, String)>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    crate::time_source::at_ms(ms)
}

/// The unique key of an item's due-date reminder.
fn item_key(customer_id: i64, item: &str) -> String {
    format!("item:{customer_id}:{item}")
}

/// The unique-key prefix of the customers' daily digests.
const DIGEST_PREFIX: &str = "digest:";

fn milestone_key(customer_id: i64, kind: &str) -> String {
    format!("milestone:{customer_id}:{kind}")
}

#[derive(Clone)]
pub struct Reminders {
    support: Tickets,
    /// The checklist: an item's due-date DM waits while the item waits on others.
    template: Arc<Template>,
}

/// What an item's change means for its due-date reminder.
enum ItemDuePlan {
    Nothing,
    Cancel(String),
    Schedule(Box<NewReminder>),
}

impl Reminders {
    pub fn new(support: Tickets, template: Arc<Template>) -> Self {
        Self { support, template }
    }

    fn tz_of(&self, customer: &Customer) -> Tz {
        self.support.policy.tier(customer.tier).timezone
    }

    /// `/readiness remind`: a reminder in the customer's channel, in the customer's
    /// zone.
    pub async fn remind(
        &self,
        customer: &Customer,
        when: &When,
        text: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<ReminderRecord, RemindError> {
        if customer.channel_id.is_none() {
            return Err(RemindError::NoChannel);
        }
        if customer.is_archived() {
            return Err(RemindError::Archived);
        }
        let tz = self.tz_of(customer);
        let first = when.first(tz, now).ok_or(RemindError::InThePast)?;
        let new = NewReminder {
            plan: ReminderPlan {
                team_id: customer.team_id.clone(),
                customer_id: customer.id,
                kind: "custom".into(),
                unique_key: None,
                item_key: None,
                recipient: None,
                text: blocks::clip(text, MAX_TEXT),
                recurrence: when.recurrence().map(Recurrence::to_text),
                tz: tz.name().to_string(),
                until_at: None,
            },
            next_due_at: ms(first),
        };
        Ok(self
            .support
            .store
            .schedule_reminder(&new, actor, now)
            .await?)
    }

    /// The customer's time zone (its tier's), in which its reminders are planned.
    pub fn zone_of(&self, customer: &Customer) -> Tz {
        self.tz_of(customer)
    }

    /// The reminders of one customer, or of the whole workspace, with their
    /// customers' names, soonest first; the daily digests are left out (one per
    /// customer, always there).
    pub async fn listed(
        &self,
        team_id: &str,
        customer: Option<&Customer>,
    ) -> Result<Vec<(ReminderRecord, String)>, sqlx::Error> {
        let store = &self.support.store;
        let names: std::collections::HashMap<i64, String> = store
            .customers(team_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let records = store
            .active_reminders(team_id, customer.map(|c| c.id))
            .await?;
        Ok(records
            .into_iter()
            .filter(|r| r.kind != "digest")
            .map(|r| {
                let name = names
                    .get(&r.customer_id)
                    .cloned()
                    .unwrap_or_else(|| "?".into());
                (r, name)
            })
            .collect())
    }

    /// The list's cancel button: cancels reminder `value` (the button's value, an id)
    /// and returns the workspace's list as it is after.
    pub async fn cancel_from_list(
        &self,
        team_id: &str,
        value: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<CancelledFromList, sqlx::Error> {
        let cancelled = match value.parse::<i64>() {
            Ok(id) => {
                self.support
                    .store
                    .cancel_reminder(team_id, id, actor, now)
                    .await?
            }
            Err(_) => None,
        };
        let list = self.listed(team_id, None).await?;
        Ok(CancelledFromList { cancelled, list })
    }

    /// `golive` without a date: what it would record (today in the customer's zone),
    /// changing nothing until the person confirms.
    pub fn propose_go_live(
        &self,
        customer: &Customer,
        now: DateTime<Utc>,
    ) -> Result<GoLiveProposal, GoLiveError> {
        if customer.is_archived() {
            return Err(GoLiveError::Archived);
        }
        let tz = self.tz_of(customer);
        Ok(GoLiveProposal {
            date: now.with_timezone(&tz).date_naive(),
            tz,
        })
    }

    /// `golive` with a date (typed, or confirmed with the proposal's button): records
    /// it and plans the milestones it starts; a changed date re-plans them.
    pub async fn go_live(
        &self,
        customer: &Customer,
        date: NaiveDate,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<WentLive, GoLiveError> {
        if customer.is_archived() {
            return Err(GoLiveError::Archived);
        }
        let mut after = customer.clone();
        after.golive_on = Some(date);
        self.support
            .store
            .update_customer(customer, &after, "customer.golive", actor, now)
            .await?;
        let planned = self.plan_milestones(&after, date, actor, now).await?;
        Ok(WentLive {
            customer: after,
            date,
            planned,
        })
    }

    /// Plans (or cancels) the DM an item's assignee gets on the morning it is due, after
    /// the item changed: at `item_due_at` in the assignee's zone (`assignee_tz`, else
    /// the customer's), moved to the customer's next business day. A due date already
    /// past is the digest's to tell; one due today after that hour is told at once.
    pub async fn plan_item_due(
        &self,
        customer: &Customer,
        key: &str,
        update: &ItemUpdate,
        assignee_tz: Option<Tz>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let store = &self.support.store;
        match self.item_due_plan(customer, key, update, assignee_tz, now) {
            ItemDuePlan::Nothing => {}
            ItemDuePlan::Cancel(unique) => {
                store
                    .cancel_reminder_keyed(&customer.team_id, &unique, actor, now)
                    .await?;
            }
            ItemDuePlan::Schedule(new) => {
                store.schedule_reminder(&new, actor, now).await?;
            }
        }
        Ok(())
    }

    /// [`Self::plan_item_due`] for many items of one customer changed together (the
    /// onboarding plan): the reminders planned in one transaction, so a re-plan is one
    /// `reminder.replanned` audit entry rather than one per item. `zones` holds the
    /// assignees' time zones Slack told.
    pub async fn plan_items_due(
        &self,
        customer: &Customer,
        updates: &[(String, ItemUpdate)],
        zones: &HashMap<String, Tz>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let store = &self.support.store;
        let mut news = Vec::new();
        for (key, update) in updates {
            let tz = update
                .after
                .assignee
                .as_ref()
                .and_then(|a| zones.get(a).copied());
            match self.item_due_plan(customer, key, update, tz, now) {
                ItemDuePlan::Nothing => {}
                ItemDuePlan::Cancel(unique) => {
                    store
                        .cancel_reminder_keyed(&customer.team_id, &unique, actor, now)
                        .await?;
                }
                ItemDuePlan::Schedule(new) => news.push(*new),
            }
        }
        store.schedule_reminders(&news, actor, now).await?;
        Ok(())
    }

    /// What [`Self::plan_item_due`] does for one item (pure).
    fn item_due_plan(
        &self,
        customer: &Customer,
        key: &str,
        update: &ItemUpdate,
        assignee_tz: Option<Tz>,
        now: DateTime<Utc>,
    ) -> ItemDuePlan {
        let (before, after) = (&update.before, &update.after);
        if before.due == after.due && before.assignee == after.assignee {
            return ItemDuePlan::Nothing;
        }
        // Only an assigned item has a reminder: with nobody before or after, there is
        // none to plan or cancel.
        if before.assignee.is_none() && after.assignee.is_none() {
            return ItemDuePlan::Nothing;
        }
        let unique = item_key(customer.id, key);
        let (Some(due), Some(assignee)) = (after.due, after.assignee.as_deref()) else {
            return ItemDuePlan::Cancel(unique);
        };
        let tz = assignee_tz.unwrap_or_else(|| self.tz_of(customer));
        let today = now.with_timezone(&tz).date_naive();
        if due < today || after.is_done() {
            return ItemDuePlan::Cancel(unique);
        }
        let cal = self.support.calendar(customer.tier);
        let morning =
            schedule::due_morning(due, self.support.policy.reminders.item_due_at, tz, cal).max(now);
        ItemDuePlan::Schedule(Box::new(NewReminder {
            plan: ReminderPlan {
                team_id: customer.team_id.clone(),
                customer_id: customer.id,
                kind: "item_due".into(),
                unique_key: Some(unique),
                item_key: Some(key.to_string()),
                recipient: Some(assignee.to_string()),
                text: due.to_string(),
                recurrence: None,
                tz: tz.name().to_string(),
                until_at: None,
            },
            next_due_at: ms(morning),
        }))
    }

    /// At start: gives every customer without one its daily digest (customers created
    /// before reminders existed), and moves every digest to the policy's
    /// `digest_at` if that changed. Returns how many were planned.
    pub async fn ensure_digests(&self, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let store = &self.support.store;
        let wanted = self.daily_digest().to_text();
        let planned = store.reminders_by_key_prefix(DIGEST_PREFIX).await?;
        let mut changed = 0;
        for customer in store.all_customers().await? {
            let current = planned
                .iter()
                .find(|r| r.customer_id == customer.id)
                .and_then(|r| r.recurrence.as_deref());
            if current != Some(wanted.as_str()) {
                self.plan_digest(&customer, now).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    fn daily_digest(&self) -> Recurrence {
        Recurrence {
            repeat: schedule::Repeat::Daily,
            time: self.support.policy.reminders.digest_at,
        }
    }

    /// Plans a customer's daily digest of overdue items at `digest_at` in its zone.
    pub async fn plan_digest(
        &self,
        customer: &Customer,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let tz = self.tz_of(customer);
        let daily = self.daily_digest();
        let Some(next) = daily.next_after(tz, now) else {
            return Ok(());
        };
        let new = NewReminder {
            plan: ReminderPlan {
                team_id: customer.team_id.clone(),
                customer_id: customer.id,
                kind: "digest".into(),
                unique_key: Some(format!("{DIGEST_PREFIX}{}", customer.id)),
                item_key: None,
                recipient: None,
                text: String::new(),
                recurrence: Some(daily.to_text()),
                tz: tz.name().to_string(),
                until_at: None,
            },
            next_due_at: ms(next),
        };
        self.support
            .store
            .schedule_reminder(&new, Actor::scheduler(), now)
            .await?;
        Ok(())
    }

    /// Plans the milestones a go-live on `golive` starts (those the policy and the
    /// customer have on); a milestone already past is not posted late, its next
    /// occurrence is planned instead.
    pub async fn plan_milestones(
        &self,
        customer: &Customer,
        golive: NaiveDate,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReminderRecord>, sqlx::Error> {
        let policy = &self.support.policy.reminders;
        let tz = self.tz_of(customer);
        let wanted =
            |kind: &str| policy.milestones.iter().any(|m| m == kind) && customer.reminder_on(kind);
        let mut news = Vec::new();
        for milestone in schedule::milestones(golive, policy, wanted) {
            let first = schedule::local_to_utc(tz, milestone.first);
            let until = milestone.until.map(|u| schedule::local_to_utc(tz, u));
            let next = if first > now {
                Some(first)
            } else {
                milestone
                    .recurrence
                    .as_ref()
                    .and_then(|r| r.next_after(tz, now))
            };
            let Some(next) = next.filter(|n| until.is_none_or(|u| *n <= u)) else {
                continue;
            };
            let new = NewReminder {
                plan: ReminderPlan {
                    team_id: customer.team_id.clone(),
                    customer_id: customer.id,
                    kind: milestone.kind.to_string(),
                    unique_key: Some(milestone_key(customer.id, milestone.kind)),
                    item_key: None,
                    recipient: None,
                    text: blocks::reminders::kind_name(milestone.kind, self.support.lang).into(),
                    recurrence: milestone.recurrence.as_ref().map(Recurrence::to_text),
                    tz: tz.name().to_string(),
                    until_at: until.map(ms),
                },
                next_due_at: ms(next),
            };
            news.push(new);
        }
        // In one go: a re-plan (a changed go-live date) is one audit entry.
        let planned = self
            .support
            .store
            .schedule_reminders(&news, actor, now)
            .await?;
        Ok(planned)
    }

    /// Switches a milestone off (cancelling it) for a customer; switching it on again
    /// is planning the go-live's milestones again.
    pub async fn cancel_milestone(
        &self,
        customer: &Customer,
        kind: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let store = &self.support.store;
        let team = &customer.team_id;
        store
            .cancel_reminder_keyed(team, &milestone_key(customer.id, kind), actor, now)
            .await?;
        if kind == "hypercare" {
            let end = milestone_key(customer.id, "hypercare_end");
            store.cancel_reminder_keyed(team, &end, actor, now).await?;
        }
        Ok(())
    }

    /// After unarchiving: repeating reminders skip what fell due while archived (it
    /// would be stale), one-off ones fire once, late.
    pub async fn resume(&self, customer: &Customer, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let store = &self.support.store;
        for r in store
            .active_reminders(&customer.team_id, Some(customer.id))
            .await?
        {
            let missed = r.next_due_at.is_some_and(|due| due < ms(now));
            let Some(recurrence) = r.recurrence.as_deref().and_then(Recurrence::parse_text) else {
                continue;
            };
            if missed {
                let tz: Tz = r.tz.parse().unwrap_or(chrono_tz::UTC);
                let next = recurrence
                    .next_after(tz, now)
                    .filter(|n| r.until_at.is_none_or(|u| ms(*n) <= u));
                store.reschedule_reminder(r.id, next.map(ms)).await?;
            }
        }
        Ok(())
    }

    /// Fires the reminders due at `now`, one batch; returns how many fired.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
        let fire = |due: &DueReminder| self.firing(due, now);
        self.support
            .store
            .fire_due_reminders(now, FIRE_BATCH, &fire)
            .await
    }

    /// What one due reminder does (pure but for the row it is given). A repeating
    /// reminder that missed occurrences (the app was down) fires once for them, then
    /// moves to its next occurrence after `now`.
    fn firing(&self, due: &DueReminder, now: DateTime<Utc>) -> ReminderFiring {
        let r = &due.reminder;
        let customer = &due.customer;
        let tz: Tz = r.tz.parse().unwrap_or_else(|_| self.tz_of(customer));
        let next_due_at = r
            .recurrence
            .as_deref()
            .and_then(Recurrence::parse_text)
            .and_then(|rec| rec.next_after(tz, now))
            .filter(|n| r.until_at.is_none_or(|u| ms(*n) <= u))
            .map(ms);
        let lang = self.support.lang;
        let key = format!("rem:{}:{}", r.id, r.occurrence);
        let to_channel = |message: blocks::Message| {
            let Some(channel) = &customer.channel_id else {
                warn!(
                    reminder = r.id,
                    customer = customer.id,
                    "a reminder fell due for a customer without a channel; skipped"
                );
                return Vec::new();
            };
            vec![Enqueue {
                key: key.clone(),
                team_id: r.team_id.clone(),
                channel_id: r.recipient.clone().unwrap_or_else(|| channel.clone()),
                ticket_id: None,
                post: Post::Reminder(ReminderBody {
                    message,
                    customer_id: customer.id,
                }),
            }]
        };
        let enqueue = match r.kind.as_str() {
            "custom" => to_channel(blocks::reminders::custom(&r.text, &r.created_by, lang)),
            "item_due" => {
                let (Some(item), Some(assignee), Ok(due_date)) =
                    (&r.item_key, &r.recipient, r.text.parse::<NaiveDate>())
                else {
                    warn!(
                        reminder = r.id,
                        "an item reminder without its item; dropped"
                    );
                    return ReminderFiring::default();
                };
                // An item the customer's tier does not show any more (its tier
                // changed) is nobody's to do: its reminder ends.
                let Some(planned) = self.template.for_tier(customer.tier).item(item) else {
                    return ReminderFiring::default();
                };
                // An item still waiting on its prerequisites cannot be worked on yet:
                // its DM waits for the next business morning, until it no longer waits.
                if let Some(states) = &due.states
                    && !waiting_on(planned, states).is_empty()
                {
                    let tomorrow = now
                        .with_timezone(&tz)
                        .date_naive()
                        .checked_add_days(Days::new(1))
                        .unwrap_or(due_date);
                    let cal = self.support.calendar(customer.tier);
                    let at = self.support.policy.reminders.item_due_at;
                    let next = schedule::due_morning(tomorrow, at, tz, cal);
                    return ReminderFiring {
                        enqueue: Vec::new(),
                        next_due_at: Some(ms(next)),
                        audit: None,
                    };
                }
                vec![Enqueue {
                    key,
                    team_id: r.team_id.clone(),
                    channel_id: assignee.clone(),
                    ticket_id: None,
                    post: Post::ItemDueDm(ItemDueBody {
                        customer_id: customer.id,
                        item: item.clone(),
                        due: due_date,
                        assignee: assignee.clone(),
                    }),
                }]
            }
            "digest" => match &customer.channel_id {
                Some(channel) => {
                    let day = at(r.next_due_at.unwrap_or(ms(now)))
                        .with_timezone(&tz)
                        .date_naive();
                    vec![Enqueue {
                        key: digest_key(customer.id, day),
                        team_id: r.team_id.clone(),
                        channel_id: channel.clone(),
                        ticket_id: None,
                        post: Post::Digest(DigestBody {
                            customer_id: customer.id,
                            day,
                        }),
                    }]
                }
                None => Vec::new(),
            },
            milestone => {
                let detail = match (milestone, customer.golive_on) {
                    ("hypercare", Some(golive)) => {
                        let day = now.with_timezone(&tz).date_naive();
                        let n = (day - golive).num_days() + 1;
                        let total = self.support.policy.reminders.hypercare.num_days().max(1);
                        format!("{} {n}/{total}", lang.pick("day", "日目"))
                    }
                    _ => String::new(),
                };
                to_channel(blocks::reminders::milestone(
                    customer, milestone, &detail, lang,
                ))
            }
        };
        // The daily digest is routine; everything else the scheduler sends is audited.
        let audit = (r.kind != "digest" && !enqueue.is_empty()).then(|| {
            Actor::scheduler()
                .entry(
                    &r.team_id,
                    Some(customer.id),
                    "reminder.fired",
                    &format!("R-{}", r.id),
                    ms(now),
                )
                .with(
                    None,
                    Some(serde_json::json!({"kind": r.kind, "occurrence": r.occurrence})),
                )
        });
        if !enqueue.is_empty() {
            info!(reminder = r.id, kind = %r.kind, "reminder fired");
        }
        ReminderFiring {
            enqueue,
            next_due_at,
            audit,
        }
    }
}

/// The outbox key of a customer's digest for `day`: one message a day, edited after.
pub fn digest_key(customer_id: i64, day: NaiveDate) -> String {
    format!("digest:{customer_id}:{day}")
}
