//! A support request and its SLA decisions: what its timers should say, what firing
//! one means, who is named at each escalation level. Pure: every function takes `now`.

use chrono::{DateTime, Duration, Utc};

use super::calendar::Calendar;
use super::policy::Policy;
use super::sla::{Clock, Due, Priority, SlaState, Target, state, threshold_amount};

/// A closed target: when, by whom, and how much business time it had used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub at: DateTime<Utc>,
    pub by: String,
    pub used: Duration,
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
}

/// An action on a ticket, from a button, a command or a thread reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Respond,
    Resolve,
    Pause,
    Resume,
    SetPriority(Priority),
}

impl Ticket {
    pub fn label(&self) -> String {
        format!("T-{}", self.number)
    }

    pub fn is_paused(&self) -> bool {
        self.resolved.is_none() && self.clock.running_since.is_none()
    }

    /// The closure of `target`, if it is met.
    pub fn closure(&self, target: Target) -> Option<&Closure> {
        match target {
            Target::FirstResponse => self.responded.as_ref(),
            Target::Resolution => self.resolved.as_ref(),
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
        if self.resolved.is_some() {
            return Err(Refused::Resolved);
        }
        match action {
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
                self.resolved = Some(closure);
                self.clock.pause(cal, now);
            }
            Action::Pause => {
                if self.is_paused() {
                    return Err(Refused::AlreadyPaused);
                }
                self.clock.pause(cal, now);
            }
            Action::Resume => {
                if !self.is_paused() {
                    return Err(Refused::NotPaused);
                }
                self.clock.resume(now);
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
        let amount = threshold_amount(
            self.target_length(policy, target),
            &policy.escalation,
            level,
        )?;
        Some(match self.clock.when_used(cal, amount) {
            Due::At(t) => Some(t),
            // Covered by time used before the clock last started: due at once.
            Due::Reached => Some(self.clock.running_since.unwrap_or(self.opened_at)),
            Due::Paused | Due::Never => None,
        })
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
        state(
            &self.clock,
            cal,
            self.target_length(policy, target),
            met,
            now,
        )
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
        let next = self
            .due_at(policy, cal, target, level + 1)
            .map(|next_due| (level + 1, next_due));
        Fire::Escalate {
            level,
            reached_at: due,
            next,
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
        if !path.is_empty() {
            let step = (level as usize).min(path.len() - 1);
            return vec![path[step].clone()];
        }
        let mut named = vec![format!(
            "<@{}>",
            self.assignee.as_deref().unwrap_or(&self.reporter)
        )];
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
