//! A support request and its SLA decisions: what its timers should say, what firing
//! one means, who is named at each escalation level. Pure: every function takes `now`.

use chrono::{DateTime, Duration, Utc};

use super::calendar::Calendar;
use super::policy::Policy;
use super::policy::path_step;
use super::sla::{Clock, Priority, SlaState, Target, state, threshold_amount};

/// A closed target: when, by whom, and how much business time it had used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub at: DateTime<Utc>,
    pub by: String,
    pub used: Duration,
}

/// A customer's message in the ticket's thread that staff has not answered yet: a
/// next-response round, timed by its own clock from when the customer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awaiting {
    /// When the customer wrote (the earliest unanswered message of the round).
    pub since: DateTime<Utc>,
    /// Who wrote it.
    pub by: String,
    pub clock: Clock,
}

/// A next-response round staff answered: when the customer wrote, and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub since: DateTime<Utc>,
    pub customer: String,
    pub closure: Closure,
}

/// The ticket's next responses: the round running, if any, and the last one answered.
/// (Every answered round is also kept apart for reports: `store::tickets`.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextResponses {
    pub awaiting: Option<Awaiting>,
    pub last: Option<Answered>,
}

/// Which side of the conversation a person writing in a ticket's thread is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Our side, allowed to work tickets, and not the ticket's reporter.
    Staff,
    /// The customer's side (a guest, a person of another organisation, a contact).
    Customer,
    /// Anyone else (a viewer, our reporter, someone Slack has not told us about):
    /// their message changes nothing.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub team_id: String,
    pub number: i64,
    pub customer_id: i64,
    pub priority: Priority,
    pub summary: String,
    pub reporter: String,
    pub assignee: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub clock: Clock,
    pub responded: Option<Closure>,
    pub resolved: Option<Closure>,
    /// How often "Escalate now" was pressed (each press posts once).
    pub escalations: i64,
    pub channel_id: String,
    pub ts: Option<String>,
    pub version: i64,
    /// The conversation in the thread after staff's first answer.
    pub next: NextResponses,
}

/// Why a ticket action does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the ticket is resolved")]
    Resolved,
    #[error("the first response is already recorded")]
    AlreadyResponded,
    #[error("the ticket is already paused")]
    AlreadyPaused,
    #[error("the ticket is not paused")]
    NotPaused,
    #[error("the ticket already has this priority")]
    SamePriority,
    #[error("staff has not answered yet: the first response covers this message")]
    NotAnsweredYet,
    #[error("a message of the customer already waits for an answer")]
    AlreadyAwaiting,
    #[error("no message of the customer waits for an answer")]
    NotAwaiting,
    #[error("written before the last change it would undo")]
    Stale,
    #[error("the ticket is not resolved")]
    NotResolved,
    #[error("the ticket was resolved too long ago to reopen")]
    TooLateToReopen,
}

/// An action on a ticket, from a button, a command or a thread reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Respond,
    Resolve,
    Pause,
    Resume,
    SetPriority(Priority),
    /// A customer-side person wrote in the thread after staff's answer: a next-response
    /// round starts (unless one already runs: the earliest unanswered message counts).
    CustomerWrote,
    /// Staff answered in the thread: the running next-response round is met.
    AnswerNext,
    /// The customer wrote in the thread of a ticket resolved less than `within` ago:
    /// the resolution is cleared and its clock runs on from where it stopped.
    Reopen {
        within: Duration,
    },
}

/// What a message in a ticket's thread by `writer` at `at` does to `ticket`, in order
/// (each applied on its own; a refusal of one does not stop the next). A customer's
/// message reopens a ticket resolved less than `reopen_within` ago, resumes a ticket
/// waiting on the customer, and starts a next-response round once staff has
/// answered; staff's message is the first response, else meets the round running.
pub fn thread_message_actions(
    ticket: &Ticket,
    writer: Writer,
    at: DateTime<Utc>,
    reopen_within: Duration,
) -> Vec<Action> {
    match writer {
        Writer::Other => Vec::new(),
        Writer::Staff => {
            if ticket.resolved.is_some() {
                Vec::new()
            } else if ticket.responded.is_none() {
                vec![Action::Respond]
            } else if ticket.next.awaiting.is_some() {
                vec![Action::AnswerNext]
            } else {
                Vec::new()
            }
        }
        Writer::Customer => {
            let mut actions = Vec::new();
            match &ticket.resolved {
                Some(resolved) if at >= resolved.at && at - resolved.at < reopen_within => {
                    actions.push(Action::Reopen {
                        within: reopen_within,
                    });
                }
                Some(_) => return actions,
                None if ticket.is_paused() => actions.push(Action::Resume),
                None => {}
            }
            if ticket.responded.is_some() && ticket.next.awaiting.is_none() {
                actions.push(Action::CustomerWrote);
            }
            actions
        }
    }
}

impl Ticket {
    /// A request as it arrives, not stored yet (no id, no number): its clock running
    /// since `opened_at`.
    pub fn new(
        team_id: &str,
        customer_id: i64,
        channel_id: &str,
        priority: Priority,
        summary: &str,
        reporter: &str,
        opened_at: DateTime<Utc>,
    ) -> Self {
        Ticket {
            id: 0,
            team_id: team_id.to_string(),
            number: 0,
            customer_id,
            priority,
            summary: summary.to_string(),
            reporter: reporter.to_string(),
            assignee: None,
            opened_at,
            clock: Clock::start(opened_at),
            responded: None,
            resolved: None,
            escalations: 0,
            channel_id: channel_id.to_string(),
            ts: None,
            version: 0,
            next: NextResponses::default(),
        }
    }

    pub fn label(&self) -> String {
        format!("T-{}", self.number)
    }

    pub fn is_paused(&self) -> bool {
        self.resolved.is_none() && !self.clock.is_running()
    }

    /// The closure of `target`, if it is met (for the next response: the last round
    /// answered, while no other waits).
    pub fn closure(&self, target: Target) -> Option<&Closure> {
        match target {
            Target::FirstResponse => self.responded.as_ref(),
            Target::Resolution => self.resolved.as_ref(),
            Target::NextResponse => match &self.next.awaiting {
                Some(_) => None,
                None => self.next.last.as_ref().map(|a| &a.closure),
            },
        }
    }

    /// The clock `target` is timed by and when it started: the ticket's own, or the
    /// running next-response round's (`None` when no round runs).
    pub fn clock_of(&self, target: Target) -> Option<(&Clock, DateTime<Utc>)> {
        match target {
            Target::FirstResponse | Target::Resolution => Some((&self.clock, self.opened_at)),
            Target::NextResponse => self.next.awaiting.as_ref().map(|a| (&a.clock, a.since)),
        }
    }

    /// When `target` is breached if its clock keeps running (`None`: paused, met, or no
    /// round running).
    pub fn target_due(
        &self,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
    ) -> Option<DateTime<Utc>> {
        let (clock, _) = self.clock_of(target)?;
        match clock.when_used(cal, self.target_length(policy, target)) {
            super::sla::Due::At(t) => Some(t),
            _ => None,
        }
    }

    /// Applies `action` by `user` at `now` under `cal` (the customer's calendar).
    pub fn apply(
        &mut self,
        action: &Action,
        user: &str,
        cal: &Calendar,
        now: DateTime<Utc>,
    ) -> Result<(), Refused> {
        if self.resolved.is_some() && !matches!(action, Action::Reopen { .. }) {
            return Err(Refused::Resolved);
        }
        match action {
            Action::Reopen { within } => {
                let Some(resolved) = &self.resolved else {
                    return Err(Refused::NotResolved);
                };
                if now < resolved.at {
                    return Err(Refused::Stale);
                }
                if now - resolved.at >= *within {
                    return Err(Refused::TooLateToReopen);
                }
                // The resolution clock runs on from the business time it had used.
                self.resolved = None;
                self.clock.running_since = None;
                self.clock.resume(now);
            }
            Action::CustomerWrote => {
                let Some(responded) = &self.responded else {
                    return Err(Refused::NotAnsweredYet);
                };
                if self.next.awaiting.is_some() {
                    return Err(Refused::AlreadyAwaiting);
                }
                // A late event of a message written before staff's last answer: that
                // answer covered it.
                let last_answer = self.next.last.as_ref().map(|a| a.closure.at);
                if now < responded.at || last_answer.is_some_and(|at| now < at) {
                    return Err(Refused::Stale);
                }
                let mut clock = Clock::start(now);
                if self.is_paused() {
                    clock.pause(cal, now);
                }
                self.next.awaiting = Some(Awaiting {
                    since: now,
                    by: user.to_string(),
                    clock,
                });
            }
            Action::AnswerNext => {
                let Some(awaiting) = &self.next.awaiting else {
                    return Err(Refused::NotAwaiting);
                };
                if now < awaiting.since {
                    return Err(Refused::Stale);
                }
                self.answer_next(user, cal, now);
            }
            Action::Respond => {
                if self.responded.is_some() {
                    return Err(Refused::AlreadyResponded);
                }
                self.responded = Some(self.close_now(user, cal, now));
            }
            Action::Resolve => {
                let closure = self.close_now(user, cal, now);
                // Resolving answers the request too, if nobody had yet.
                if self.responded.is_none() {
                    self.responded = Some(closure.clone());
                }
                // Resolving answers the customer's last message too.
                if self.next.awaiting.as_ref().is_some_and(|a| now >= a.since) {
                    self.answer_next(user, cal, now);
                }
                self.next.awaiting = None;
                self.resolved = Some(closure);
                self.clock.pause(cal, now);
            }
            Action::Pause => {
                if self.is_paused() {
                    return Err(Refused::AlreadyPaused);
                }
                self.clock.pause(cal, now);
                if let Some(awaiting) = &mut self.next.awaiting {
                    awaiting.clock.pause(cal, now);
                }
            }
            Action::Resume => {
                if !self.is_paused() {
                    return Err(Refused::NotPaused);
                }
                self.clock.resume(now);
                if let Some(awaiting) = &mut self.next.awaiting {
                    awaiting.clock.resume(now);
                }
            }
            Action::SetPriority(priority) => {
                if *priority == self.priority {
                    return Err(Refused::SamePriority);
                }
                self.priority = *priority;
            }
        }
        Ok(())
    }

    /// Before the calendar changes: every clock of the ticket (its own, and the
    /// next-response round's) folds the time used under `old` (see `Clock::replan`).
    pub fn replan_clocks(&mut self, old: &Calendar, now: DateTime<Utc>) {
        self.clock.replan(old, now);
        if let Some(awaiting) = &mut self.next.awaiting {
            awaiting.clock.replan(old, now);
        }
    }

    /// Meets the running next-response round at `now`, by `user`.
    fn answer_next(&mut self, user: &str, cal: &Calendar, now: DateTime<Utc>) {
        if let Some(awaiting) = self.next.awaiting.take() {
            self.next.last = Some(Answered {
                since: awaiting.since,
                customer: awaiting.by,
                closure: Closure {
                    at: now,
                    by: user.to_string(),
                    used: awaiting.clock.used_at(cal, now),
                },
            });
        }
    }

    fn close_now(&self, user: &str, cal: &Calendar, now: DateTime<Utc>) -> Closure {
        Closure {
            at: now,
            by: user.to_string(),
            used: self.clock.used_at(cal, now),
        }
    }

    /// The length of `target` for this ticket's priority.
    pub fn target_length(&self, policy: &Policy, target: Target) -> Duration {
        policy.target(self.priority, target)
    }

    /// When the timer of `target` at `level` is due: `None` removes the timer (target
    /// met, or no such level), `Some(None)` while the clock is paused.
    pub fn due_at(
        &self,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
        level: u32,
    ) -> Option<Option<DateTime<Utc>>> {
        if self.closure(target).is_some() || self.resolved.is_some() {
            return None;
        }
        let (clock, started) = self.clock_of(target)?;
        let amount = threshold_amount(
            self.target_length(policy, target),
            &policy.escalation,
            level,
        )?;
        // Covered by time used before the clock last started: due at once, that is at
        // the last known instant the clock ran from.
        let reached = clock.running_since.unwrap_or(started);
        Some(clock.when_used(cal, amount).fire_at(reached))
    }

    /// Where the timer of `target` goes after a priority change at `now` (the ticket
    /// already carries the new priority): to the first of the new priority's levels
    /// still ahead, counted from level 0 whatever fired before, so a lowered ticket
    /// gets its new, later thresholds. The levels already past at the change are not
    /// posted late, each dated when the ticket still had its old priority: one line
    /// says where the target stands instead (elsewhere a past threshold fires, late).
    /// `None` when the target needs no timer (met, or the ticket resolved).
    pub fn first_ahead(
        &self,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
        now: DateTime<Utc>,
    ) -> Option<Ahead> {
        if self.closure(target).is_some() || self.resolved.is_some() {
            return None;
        }
        self.clock_of(target)?;
        let shares = u32::try_from(policy.escalation.at.len()).unwrap_or(u32::MAX);
        let past = |level: u32| matches!(self.due_at(policy, cal, target, level), Some(Some(due)) if due <= now);
        let mut level = 0;
        while level < shares && past(level) {
            level += 1;
        }
        if level == shares {
            // The repeats after the breach: a ticket past its target by days has
            // hundreds of them, so jump to the last one the time used covers, then
            // settle on the exact level by the calendar.
            level = shares.saturating_add(self.repeats_covered(policy, cal, target, now));
            while level > shares && !past(level - 1) {
                level -= 1;
            }
            while past(level) {
                level += 1;
            }
        }
        let next = self
            .due_at(policy, cal, target, level)
            .map(|due| (level, due));
        Some(Ahead { next, past: level })
    }

    /// How many repeats after the breach of `target` the time used at `now` covers (an
    /// estimate `first_ahead` corrects by the calendar).
    fn repeats_covered(
        &self,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
        now: DateTime<Utc>,
    ) -> u32 {
        let every = policy.escalation.repeat_after_breach.num_milliseconds();
        let length = self.target_length(policy, target);
        let largest = policy
            .escalation
            .at
            .iter()
            .max()
            .map_or(Duration::zero(), |s| s.of(length));
        let used = self
            .clock_of(target)
            .map_or(Duration::zero(), |(clock, _)| clock.used_at(cal, now));
        let over = used - length.max(largest);
        if every <= 0 || over <= Duration::zero() {
            return 0;
        }
        u32::try_from(over.num_milliseconds() / every).unwrap_or(u32::MAX)
    }

    /// The live state of `target`, for the ticket message.
    pub fn sla_state(
        &self,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
        now: DateTime<Utc>,
    ) -> SlaState {
        let met = self.closure(target).map(|c| c.used);
        let clock = self
            .clock_of(target)
            .map_or(self.clock, |(clock, _)| *clock);
        state(&clock, cal, self.target_length(policy, target), met, now)
    }

    /// Decides what a due timer does at `now`: escalate (and to which level next),
    /// wait longer (the plan changed since the row was written), or stop.
    pub fn fire(
        &self,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
        level: u32,
        now: DateTime<Utc>,
    ) -> Fire {
        let Some(due) = self.due_at(policy, cal, target, level) else {
            return Fire::Stop;
        };
        let Some(due) = due else {
            return Fire::Wait(None);
        };
        if due > now {
            return Fire::Wait(Some(due));
        }
        // Repeats after the breach that are all past already (a ticket back-dated by
        // days, a long outage) collapse into the latest: one late "still open" says
        // what ten would. The shares before the breach are never skipped.
        let mut level = level;
        let mut reached_at = due;
        while level as usize >= policy.escalation.at.len() {
            match self.due_at(policy, cal, target, level + 1) {
                Some(Some(next)) if next <= now => {
                    level += 1;
                    reached_at = next;
                }
                _ => break,
            }
        }
        let next = self
            .due_at(policy, cal, target, level + 1)
            .map(|next_due| (level + 1, next_due));
        Fire::Escalate {
            level,
            reached_at,
            next,
        }
    }

    /// Who answers for the ticket when its escalation path names nobody: the assignee;
    /// with nobody assigned, the reporter, unless the ticket was made from a message
    /// (its reporter wrote that message and may be the customer): then the customer's
    /// CSM. Every escalation, timed or pressed, names the same person.
    pub fn owner<'a>(&'a self, from_message: bool, customer_csm: &'a str) -> &'a str {
        match (&self.assignee, from_message) {
            (Some(assignee), _) => assignee,
            (None, true) => customer_csm,
            (None, false) => &self.reporter,
        }
    }

    /// The people an "Escalate now" names: the path's `step`, else `owner`
    /// ([`Ticket::owner`]; no `@here`: that is for a breach).
    pub fn named_by_hand(&self, path: &[String], step: u32, owner: &str) -> Vec<String> {
        match path_step(path, step) {
            Some(named) => vec![named.to_string()],
            None => vec![format!("<@{owner}>")],
        }
    }

    /// The people named at escalation `level` of `target`: the priority's `path` if it
    /// has one (its last step for every level beyond), else the assignee or the
    /// reporter, with `@here` once a P0 or P1 target is breached.
    pub fn on_the_hook(
        &self,
        path: &[String],
        policy: &Policy,
        target: Target,
        level: u32,
    ) -> Vec<String> {
        let owner = self.assignee.as_deref().unwrap_or(&self.reporter);
        self.on_the_hook_owned_by(path, policy, target, level, owner)
    }

    /// [`Ticket::on_the_hook`], naming `owner` where it would name the assignee or
    /// the reporter (a ticket made from a customer's message names the customer's CSM).
    pub fn on_the_hook_owned_by(
        &self,
        path: &[String],
        policy: &Policy,
        target: Target,
        level: u32,
        owner: &str,
    ) -> Vec<String> {
        if let Some(step) = path_step(path, level) {
            return vec![step.to_string()];
        }
        let mut named = vec![format!("<@{owner}>")];
        let breached = threshold_amount(
            self.target_length(policy, target),
            &policy.escalation,
            level,
        )
        .is_some_and(|amount| amount >= self.target_length(policy, target));
        if breached && matches!(self.priority, Priority::P0 | Priority::P1) {
            named.push("<!here>".into());
        }
        named
    }
}

/// Where a target's timer stands after a priority change ([`Ticket::first_ahead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    /// The first level still ahead and when it is due (`None`: the clock is paused);
    /// `None` when no level is left (every share past, no repeats).
    pub next: Option<(u32, Option<DateTime<Utc>>)>,
    /// How many of the new priority's thresholds were already past at the change, so
    /// not posted. Not forgotten either: the report counts a breach from the clock.
    pub past: u32,
}

/// What a due timer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fire {
    /// Post escalation `level` (its threshold was reached at `reached_at`), then wait
    /// for `next` (level and due time; `None` when no level is left).
    Escalate {
        level: u32,
        reached_at: DateTime<Utc>,
        next: Option<(u32, Option<DateTime<Utc>>)>,
    },
    /// Not due yet after all (re-planned): due then, or paused.
    Wait(Option<DateTime<Utc>>),
    /// The target is met or the ticket resolved: drop the timer.
    Stop,
}

/// Sort key for "worst first": breached targets by how far past, then running ones by
/// the least time left, then paused ones.
pub fn urgency(ticket: &Ticket, policy: &Policy, cal: &Calendar, now: DateTime<Utc>) -> (u8, i64) {
    Target::EVERY
        .into_iter()
        .filter(|t| ticket.closure(*t).is_none() && ticket.clock_of(*t).is_some())
        .map(|t| match ticket.sla_state(policy, cal, t, now) {
            SlaState::BreachedBy(over) => (0, -over.num_milliseconds()),
            SlaState::DueIn { left, .. } => (1, left.num_milliseconds()),
            SlaState::Paused { left } => (2, left.num_milliseconds()),
            SlaState::Met { .. } => (3, 0),
        })
        .min()
        .unwrap_or((3, 0))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::checklist::Tier;

    use crate::domain::tokyo as jst;

    fn ticket(priority: Priority, opened_at: DateTime<Utc>) -> Ticket {
        Ticket::new("T", 1, "C", priority, "x", "UREP", opened_at)
    }

    #[test]
    fn a_standard_p2_opened_friday_evening_is_due_tuesday_noon_after_the_monday_holiday() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Standard);
        let t = ticket(Priority::P2, jst(2026, 11, 20, 17, 0));
        // Level 2 is 100% with the default 50/80/100%.
        let due = t.due_at(&policy, &cal, Target::FirstResponse, 2);
        assert_eq!(due, Some(Some(jst(2026, 11, 24, 12, 0))));
        // 50% of 4h is 2h: Friday's last hour, then Tuesday 10:00.
        assert_eq!(
            t.due_at(&policy, &cal, Target::FirstResponse, 0),
            Some(Some(jst(2026, 11, 24, 10, 0)))
        );
    }

    #[test]
    fn firing_walks_the_levels_in_order_then_repeats_after_the_breach() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let opened = jst(2026, 11, 21, 3, 0);
        let t = ticket(Priority::P0, opened);
        let minutes = |m: i64| opened + Duration::minutes(m);
        let mut level = 0;
        let mut fired = Vec::new();
        let mut now = opened;
        while fired.len() < 5 {
            match t.fire(&policy, &cal, Target::FirstResponse, level, now) {
                Fire::Escalate {
                    level: l,
                    reached_at,
                    next,
                } => {
                    fired.push((l, reached_at));
                    let (next_level, due) = next.expect("repeats go on");
                    level = next_level;
                    now = due.unwrap();
                }
                Fire::Wait(Some(due)) => now = due,
                other => panic!("{other:?}"),
            }
        }
        let times: Vec<_> = fired.iter().map(|(_, at)| *at).collect();
        assert_eq!(
            times,
            vec![
                opened + Duration::seconds(450),
                minutes(12),
                minutes(15),
                minutes(75),
                minutes(135)
            ]
        );
        assert_eq!(
            fired.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn past_repeats_collapse_into_the_latest_but_shares_are_never_skipped() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let now = jst(2026, 11, 21, 12, 0);
        // A P0 back-dated 5 hours: 50%, 80%, 100% are past, and so are the repeats at
        // 1h15m, 2h15m, 3h15m and 4h15m.
        let t = ticket(Priority::P0, now - Duration::hours(5));
        let mut fired = Vec::new();
        let mut level = 0;
        while let Fire::Escalate { level: l, next, .. } =
            t.fire(&policy, &cal, Target::FirstResponse, level, now)
        {
            fired.push(l);
            match next {
                Some((n, Some(due))) if due <= now => level = n,
                _ => break,
            }
        }
        assert_eq!(
            fired,
            vec![0, 1, 2, 6],
            "the four past repeats fire once, as the latest"
        );
    }

    #[test]
    fn a_back_dated_ticket_is_due_at_once_for_every_past_level_in_order() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let now = jst(2026, 11, 21, 12, 0);
        let t = ticket(Priority::P0, now - Duration::minutes(20));
        let Fire::Escalate {
            level: 0,
            reached_at,
            next: Some((1, Some(next))),
        } = t.fire(&policy, &cal, Target::FirstResponse, 0, now)
        else {
            panic!("level 0 fires")
        };
        assert!(reached_at < next && next < now, "both past, in order");
    }

    #[test]
    fn pause_resume_respond_resolve_and_priority_change_replan_the_timers() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let opened = jst(2026, 11, 21, 9, 0);
        let mut t = ticket(Priority::P1, opened);
        let due = |t: &Ticket, level| t.due_at(&policy, &cal, Target::FirstResponse, level);
        assert_eq!(due(&t, 2), Some(Some(opened + Duration::hours(1))));

        t.apply(&Action::Pause, "U", &cal, opened + Duration::minutes(10))
            .unwrap();
        assert_eq!(due(&t, 2), Some(None), "paused: nothing due");
        assert_eq!(
            t.apply(&Action::Pause, "U", &cal, opened),
            Err(Refused::AlreadyPaused)
        );
        t.apply(&Action::Resume, "U", &cal, opened + Duration::minutes(40))
            .unwrap();
        assert_eq!(
            due(&t, 2),
            Some(Some(opened + Duration::minutes(90))),
            "30 paused minutes added"
        );

        t.apply(
            &Action::SetPriority(Priority::P3),
            "U",
            &cal,
            opened + Duration::minutes(41),
        )
        .unwrap();
        assert_eq!(
            due(&t, 2),
            Some(Some(opened + Duration::minutes(30) + Duration::hours(8))),
            "P3's 8h, the 10 minutes used before the pause stay used"
        );

        t.apply(
            &Action::Respond,
            "UENG",
            &cal,
            opened + Duration::minutes(50),
        )
        .unwrap();
        assert_eq!(due(&t, 2), None, "met: the timer goes");
        assert_eq!(t.responded.as_ref().unwrap().used, Duration::minutes(20));
        assert!(t.due_at(&policy, &cal, Target::Resolution, 0).is_some());
        t.apply(&Action::Resolve, "UENG", &cal, opened + Duration::hours(2))
            .unwrap();
        assert_eq!(t.due_at(&policy, &cal, Target::Resolution, 0), None);
        assert_eq!(
            t.apply(&Action::Respond, "U", &cal, opened),
            Err(Refused::Resolved)
        );
    }

    #[test]
    fn resolving_without_a_response_counts_as_the_response() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let opened = jst(2026, 11, 21, 9, 0);
        let mut t = ticket(Priority::P2, opened);
        t.apply(&Action::Resolve, "U", &cal, opened + Duration::minutes(5))
            .unwrap();
        assert_eq!(t.responded.as_ref().unwrap().used, Duration::minutes(5));
        assert!(matches!(
            t.sla_state(
                &policy,
                &cal,
                Target::FirstResponse,
                opened + Duration::hours(9)
            ),
            SlaState::Met { late: false, .. }
        ));
    }

    #[test]
    fn the_hook_is_the_path_step_else_the_assignee_or_reporter_with_here_on_a_p0_p1_breach() {
        let policy = Policy::default();
        let opened = jst(2026, 11, 21, 9, 0);
        let mut t = ticket(Priority::P0, opened);
        assert_eq!(
            t.on_the_hook(&[], &policy, Target::FirstResponse, 0),
            vec!["<@UREP>"]
        );
        assert_eq!(
            t.on_the_hook(&[], &policy, Target::FirstResponse, 2),
            vec!["<@UREP>", "<!here>"]
        );
        t.assignee = Some("UASG".into());
        assert_eq!(
            t.on_the_hook(&[], &policy, Target::Resolution, 1),
            vec!["<@UASG>"]
        );
        let path = vec!["<@U1>".to_string(), "<!subteam^S1>".into(), "<@U3>".into()];
        assert_eq!(
            t.on_the_hook(&path, &policy, Target::FirstResponse, 1),
            vec!["<!subteam^S1>"]
        );
        assert_eq!(
            t.on_the_hook(&path, &policy, Target::FirstResponse, 7),
            vec!["<@U3>"]
        );
        t.priority = Priority::P2;
        assert_eq!(
            t.on_the_hook(&[], &policy, Target::FirstResponse, 2),
            vec!["<@UASG>"]
        );
    }

    /// The default policy and its Enterprise calendar, with a ticket opened at
    /// `opened` at priority `from` and set to `to` at `changed`.
    fn reprioritised(
        from: Priority,
        to: Priority,
        opened: DateTime<Utc>,
        changed: DateTime<Utc>,
    ) -> (Policy, Calendar, Ticket) {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let mut t = ticket(from, opened);
        t.apply(&Action::SetPriority(to), "U", &cal, changed)
            .unwrap();
        (policy, cal, t)
    }

    /// `first_ahead`'s answer when level `level` is next, due at `due`, with `past`
    /// thresholds already past.
    fn ahead(level: u32, due: DateTime<Utc>, past: u32) -> Option<Ahead> {
        Some(Ahead {
            next: Some((level, Some(due))),
            past,
        })
    }

    #[test]
    fn a_raise_skips_the_new_thresholds_already_past_and_keeps_those_ahead() {
        let opened = jst(2026, 11, 21, 9, 0);
        let changed = opened + Duration::minutes(65);
        let (policy, cal, t) = reprioritised(Priority::P3, Priority::P1, opened, changed);
        // P1's first response is 1h: 50%, 80% and 100% are past; the first repeat
        // after the breach (1h later) is the next to post.
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::FirstResponse, changed),
            ahead(3, opened + Duration::hours(2), 3)
        );
        // P1's resolution is 8h: nothing is past, its 50% comes at 4h.
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::Resolution, changed),
            ahead(0, opened + Duration::hours(4), 0)
        );
        // 100% reached exactly at the change counts as past.
        let at_100 = opened + Duration::hours(1);
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::FirstResponse, at_100)
                .map(|a| a.past),
            Some(3)
        );
    }

    #[test]
    fn a_lowered_ticket_starts_again_from_the_new_priority_s_first_level_ahead() {
        let opened = jst(2026, 11, 21, 9, 0);
        let changed = opened + Duration::minutes(20);
        // A P0 20 minutes in has fired its 50/80/100% of 15 minutes; as a P3 (8h)
        // none of its thresholds is past, so its own 50% comes at 4h.
        let (policy, cal, t) = reprioritised(Priority::P0, Priority::P3, opened, changed);
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::FirstResponse, changed),
            ahead(0, opened + Duration::hours(4), 0)
        );
    }

    #[test]
    fn first_ahead_stops_at_a_paused_level_and_ends_with_the_levels() {
        let mut policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let opened = jst(2026, 11, 21, 9, 0);
        let mut t = ticket(Priority::P3, opened);
        // Paused after 45 minutes, raised to P1 an hour later: 50% (30m) was covered
        // before the pause, 80% (48m) waits for the clock.
        t.apply(&Action::Pause, "U", &cal, opened + Duration::minutes(45))
            .unwrap();
        let changed = opened + Duration::minutes(105);
        t.apply(&Action::SetPriority(Priority::P1), "U", &cal, changed)
            .unwrap();
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::FirstResponse, changed),
            Some(Ahead {
                next: Some((1, None)),
                past: 1
            })
        );
        // Without repeats, a target past its last share has no level left.
        t.apply(&Action::Resume, "U", &cal, changed).unwrap();
        policy.escalation.repeat_after_breach = Duration::zero();
        let later = changed + Duration::hours(1);
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::FirstResponse, later),
            Some(Ahead {
                next: None,
                past: 3
            })
        );
        // Met or resolved: no timer at all.
        t.apply(&Action::Respond, "U", &cal, later).unwrap();
        assert_eq!(
            t.first_ahead(&policy, &cal, Target::FirstResponse, later),
            None
        );
    }

    /// A P1 ticket (next response 2h by default) opened at 9:00 on the always-open
    /// calendar, answered by staff at 9:10.
    fn answered_p1() -> (Ticket, DateTime<Utc>) {
        let cal = Calendar::always();
        let opened = jst(2026, 11, 21, 9, 0);
        let mut t = ticket(Priority::P1, opened);
        t.apply(
            &Action::Respond,
            "UENG",
            &cal,
            opened + Duration::minutes(10),
        )
        .unwrap();
        (t, opened)
    }

    #[test]
    fn a_customer_message_after_the_answer_starts_a_round_that_staff_meets() {
        let policy = Policy::default();
        let cal = Calendar::always();
        let (mut t, opened) = answered_p1();
        let wrote = opened + Duration::minutes(30);
        assert_eq!(t.due_at(&policy, &cal, Target::NextResponse, 0), None);
        t.apply(&Action::CustomerWrote, "UCUST", &cal, wrote)
            .unwrap();
        // 50% of 2h after the customer wrote.
        assert_eq!(
            t.due_at(&policy, &cal, Target::NextResponse, 0),
            Some(Some(wrote + Duration::hours(1)))
        );
        assert_eq!(
            t.target_due(&policy, &cal, Target::NextResponse),
            Some(wrote + Duration::hours(2))
        );
        // A second message before the answer: the earliest counts.
        assert_eq!(
            t.apply(
                &Action::CustomerWrote,
                "UCUST",
                &cal,
                wrote + Duration::minutes(5)
            ),
            Err(Refused::AlreadyAwaiting)
        );
        assert!(matches!(
            t.sla_state(&policy, &cal, Target::NextResponse, wrote + Duration::minutes(30)),
            SlaState::DueIn { left, .. } if left == Duration::minutes(90)
        ));
        // Staff answers 2h 10m later: met late, and the timer goes.
        let answered = wrote + Duration::minutes(130);
        t.apply(&Action::AnswerNext, "UENG", &cal, answered)
            .unwrap();
        assert_eq!(t.due_at(&policy, &cal, Target::NextResponse, 0), None);
        let last = t.next.last.as_ref().unwrap();
        assert_eq!((last.since, last.customer.as_str()), (wrote, "UCUST"));
        assert_eq!(last.closure.used, Duration::minutes(130));
        assert_eq!(
            t.sla_state(&policy, &cal, Target::NextResponse, answered),
            SlaState::Met {
                after: Duration::minutes(130),
                late: true
            }
        );
        assert_eq!(
            t.apply(&Action::AnswerNext, "UENG", &cal, answered),
            Err(Refused::NotAwaiting)
        );
        // A late event of a message written before that answer starts nothing.
        assert_eq!(
            t.apply(
                &Action::CustomerWrote,
                "UCUST",
                &cal,
                answered - Duration::minutes(1)
            ),
            Err(Refused::Stale)
        );
    }

    #[test]
    fn before_staff_answers_the_customer_s_messages_are_the_first_response_s() {
        let cal = Calendar::always();
        let opened = jst(2026, 11, 21, 9, 0);
        let mut t = ticket(Priority::P1, opened);
        assert_eq!(
            t.apply(&Action::CustomerWrote, "UCUST", &cal, opened),
            Err(Refused::NotAnsweredYet)
        );
        assert_eq!(
            thread_message_actions(&t, Writer::Customer, opened, Duration::days(3)),
            vec![]
        );
        assert_eq!(
            thread_message_actions(&t, Writer::Staff, opened, Duration::days(3)),
            vec![Action::Respond]
        );
        assert_eq!(
            thread_message_actions(&t, Writer::Other, opened, Duration::days(3)),
            vec![]
        );
    }

    #[test]
    fn a_round_pauses_with_the_ticket_and_resolving_answers_it() {
        let policy = Policy::default();
        let cal = Calendar::always();
        let (mut t, opened) = answered_p1();
        let wrote = opened + Duration::minutes(30);
        t.apply(&Action::CustomerWrote, "UCUST", &cal, wrote)
            .unwrap();
        t.apply(&Action::Pause, "UENG", &cal, wrote + Duration::minutes(20))
            .unwrap();
        assert_eq!(t.due_at(&policy, &cal, Target::NextResponse, 0), Some(None));
        t.apply(&Action::Resume, "UENG", &cal, wrote + Duration::minutes(50))
            .unwrap();
        assert_eq!(
            t.due_at(&policy, &cal, Target::NextResponse, 0),
            Some(Some(wrote + Duration::minutes(90))),
            "30 paused minutes added"
        );
        t.apply(&Action::Resolve, "UENG", &cal, wrote + Duration::hours(1))
            .unwrap();
        assert_eq!(t.next.awaiting, None);
        assert_eq!(
            t.next.last.as_ref().map(|a| a.closure.used),
            Some(Duration::minutes(30))
        );
    }

    #[test]
    fn the_customer_resumes_a_paused_ticket_and_reopens_a_recently_resolved_one() {
        let policy = Policy::default();
        let cal = Calendar::always();
        let within = Duration::days(3);
        let (mut t, opened) = answered_p1();
        let paused = opened + Duration::minutes(20);
        t.apply(&Action::Pause, "UENG", &cal, paused).unwrap();
        let wrote = paused + Duration::hours(1);
        assert_eq!(
            thread_message_actions(&t, Writer::Customer, wrote, within),
            vec![Action::Resume, Action::CustomerWrote]
        );
        for action in thread_message_actions(&t, Writer::Customer, wrote, within) {
            t.apply(&action, "UCUST", &cal, wrote).unwrap();
        }
        assert!(!t.is_paused());
        assert!(t.next.awaiting.as_ref().unwrap().clock.is_running());

        // Resolved after 2h of business time; the customer writes a day later.
        let resolved = wrote + Duration::minutes(100);
        t.apply(&Action::Resolve, "UENG", &cal, resolved).unwrap();
        let used = t.clock.used;
        let later = resolved + Duration::days(1);
        let actions = thread_message_actions(&t, Writer::Customer, later, within);
        assert_eq!(
            actions,
            vec![Action::Reopen { within }, Action::CustomerWrote]
        );
        assert_eq!(
            thread_message_actions(&t, Writer::Staff, later, within),
            vec![],
            "staff writing in a resolved ticket's thread changes nothing"
        );
        for action in &actions {
            t.apply(action, "UCUST", &cal, later).unwrap();
        }
        assert_eq!(t.resolved, None);
        assert_eq!(
            t.clock.used, used,
            "the resolution clock runs on from there"
        );
        assert_eq!(t.clock.running_since, Some(later));
        let eight_hours = policy.target(Priority::P1, Target::Resolution);
        assert_eq!(
            t.target_due(&policy, &cal, Target::Resolution),
            Some(later + eight_hours - used)
        );
        assert!(t.next.awaiting.is_some());

        // Past the window: nothing.
        t.apply(&Action::Resolve, "UENG", &cal, later).unwrap();
        let too_late = later + within;
        assert_eq!(
            thread_message_actions(&t, Writer::Customer, too_late, within),
            vec![]
        );
        assert_eq!(
            t.apply(&Action::Reopen { within }, "UCUST", &cal, too_late),
            Err(Refused::TooLateToReopen)
        );
        assert_eq!(
            t.apply(
                &Action::Reopen { within },
                "UCUST",
                &cal,
                later - Duration::seconds(1)
            ),
            Err(Refused::Stale)
        );
        let mut open = ticket(Priority::P2, opened);
        assert_eq!(
            open.apply(&Action::Reopen { within }, "UCUST", &cal, opened),
            Err(Refused::NotResolved)
        );
    }

    #[test]
    fn a_next_response_escalates_at_the_shares_then_repeats() {
        let policy = Policy::default();
        let cal = policy.calendar(Tier::Enterprise);
        let (mut t, opened) = answered_p1();
        let wrote = opened + Duration::minutes(30);
        t.apply(&Action::CustomerWrote, "UCUST", &cal, wrote)
            .unwrap();
        let mut fired = Vec::new();
        let mut level = 0;
        let mut now = wrote;
        while fired.len() < 4 {
            match t.fire(&policy, &cal, Target::NextResponse, level, now) {
                Fire::Escalate {
                    level: l,
                    reached_at,
                    next,
                } => {
                    fired.push((l, reached_at - wrote));
                    let (next_level, due) = next.expect("repeats go on");
                    level = next_level;
                    now = due.unwrap();
                }
                Fire::Wait(Some(due)) => now = due,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            fired,
            vec![
                (0, Duration::hours(1)),
                (1, Duration::minutes(96)),
                (2, Duration::hours(2)),
                (3, Duration::hours(3)),
            ]
        );
        t.apply(&Action::AnswerNext, "UENG", &cal, now).unwrap();
        assert_eq!(
            t.fire(&policy, &cal, Target::NextResponse, level, now),
            Fire::Stop
        );
    }

    /// The levels of `target` past at `now`, walked one by one (at most `cap`).
    fn past_levels_walked(
        t: &Ticket,
        policy: &Policy,
        cal: &Calendar,
        target: Target,
        now: DateTime<Utc>,
        cap: u32,
    ) -> u32 {
        (0..cap)
            .find(|&level| {
                !matches!(t.due_at(policy, cal, target, level), Some(Some(due)) if due <= now)
            })
            .unwrap_or(cap)
    }

    proptest! {
        /// After a change of priority at any moment, on any tier's calendar, with or
        /// without a pause: every level before the one planned is past, that one is
        /// still ahead (or waits for the clock), and the jump over the repeats lands
        /// where walking them one by one does.
        #[test]
        fn a_priority_change_plans_exactly_the_thresholds_still_ahead(
            opened_minutes in 0i64..(60 * 24 * 14),
            change_after_minutes in 0i64..(60 * 24 * 10),
            pause in prop::option::of(0i64..(60 * 24 * 10)),
            tier in 0usize..3, from in 0usize..4, to in 0usize..4,
            repeat_minutes in prop_oneof![Just(0i64), 1i64..240],
        ) {
            prop_assume!(from != to);
            let mut policy = Policy::default();
            policy.escalation.repeat_after_breach = Duration::minutes(repeat_minutes);
            let tier = [Tier::Standard, Tier::Professional, Tier::Enterprise][tier];
            let cal = policy.calendar(tier);
            let opened = jst(2026, 12, 1, 0, 0) + Duration::minutes(opened_minutes);
            let now = opened + Duration::minutes(change_after_minutes);
            let mut t = ticket(Priority::ALL[from], opened);
            if let Some(after) = pause.filter(|&p| p <= change_after_minutes) {
                t.apply(&Action::Pause, "U", &cal, opened + Duration::minutes(after)).unwrap();
            }
            t.apply(&Action::SetPriority(Priority::ALL[to]), "U", &cal, now).unwrap();
            for target in Target::ALL {
                let ahead = t.first_ahead(&policy, &cal, target, now).unwrap();
                prop_assert_eq!(ahead.past, past_levels_walked(&t, &policy, &cal, target, now, 100_000));
                match ahead.next {
                    Some((level, due)) => {
                        prop_assert_eq!(level, ahead.past);
                        prop_assert_eq!(Some(due), t.due_at(&policy, &cal, target, level));
                        prop_assert!(due.is_none_or(|due| due > now), "{:?} is past", due);
                    }
                    None => prop_assert_eq!(t.due_at(&policy, &cal, target, ahead.past), None),
                }
            }
        }

        /// A next-response round on any tier's calendar: its levels are due in order,
        /// none before the customer wrote, and staff's answer uses exactly the business
        /// time since then (less a pause) and stops every level.
        #[test]
        fn a_next_response_round_is_timed_from_the_customer_s_message(
            wrote_after in 0i64..(60 * 24 * 10),
            answer_after in 0i64..(60 * 24 * 10),
            pause in prop::option::of((0i64..(60 * 24 * 5), 0i64..(60 * 24 * 5))),
            tier in 0usize..3, p in 0usize..4,
        ) {
            let policy = Policy::default();
            let tier = [Tier::Standard, Tier::Professional, Tier::Enterprise][tier];
            let cal = policy.calendar(tier);
            let opened = jst(2026, 12, 1, 0, 0);
            let mut t = ticket(Priority::ALL[p], opened);
            t.apply(&Action::Respond, "UENG", &cal, opened).unwrap();
            let wrote = opened + Duration::minutes(wrote_after);
            t.apply(&Action::CustomerWrote, "UCUST", &cal, wrote).unwrap();
            let dues: Vec<_> = (0..5)
                .map(|level| t.due_at(&policy, &cal, Target::NextResponse, level).flatten())
                .collect();
            prop_assert!(dues.iter().all(|d| d.is_some_and(|d| d >= wrote)), "{dues:?}");
            prop_assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");
            let mut expected = cal.business_between(wrote, wrote + Duration::minutes(answer_after));
            let mut now = wrote;
            if let Some((at, length)) = pause.filter(|(at, length)| at + length <= answer_after) {
                let from = wrote + Duration::minutes(at);
                let to = from + Duration::minutes(length);
                t.apply(&Action::Pause, "UENG", &cal, from).unwrap();
                t.apply(&Action::Resume, "UENG", &cal, to).unwrap();
                expected -= cal.business_between(from, to);
                now = to;
            }
            let answered = now.max(wrote + Duration::minutes(answer_after));
            t.apply(&Action::AnswerNext, "UENG", &cal, answered).unwrap();
            prop_assert_eq!(t.next.last.as_ref().map(|a| a.closure.used), Some(expected));
            for level in 0..5 {
                prop_assert_eq!(t.due_at(&policy, &cal, Target::NextResponse, level), None);
            }
        }

        /// Later levels are never due before earlier ones, on any tier's calendar and
        /// for any opening time.
        #[test]
        fn levels_are_due_in_order(minutes in 0i64..(60 * 24 * 30), tier in 0usize..3, p in 0usize..4) {
            let policy = Policy::default();
            let tier = [Tier::Standard, Tier::Professional, Tier::Enterprise][tier];
            let cal = policy.calendar(tier);
            let t = ticket(Priority::ALL[p], jst(2026, 12, 1, 0, 0) + Duration::minutes(minutes));
            for target in Target::ALL {
                let dues: Vec<_> = (0..5)
                    .map(|level| t.due_at(&policy, &cal, target, level).flatten().unwrap())
                    .collect();
                prop_assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");
            }
        }
    }
}
