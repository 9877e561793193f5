//! Who is the customer, and how the customer's messages come in.
//!
//! A person is customer-side when a CSM named them a contact of any customer of the
//! workspace (`/readiness customer acme contacts=@a,@b`), when Slack says they are a
//! guest or of another organisation (`users.info`: `is_restricted`,
//! `is_ultra_restricted`, `is_stranger`, a `team_id` outside the organisation), or when
//! the event says they come from another workspace (`user_team`) and Slack has not said
//! otherwise. Everyone else is staff. [`UseCases::allowed`] asks the same question, so
//! a contact holds no staff power.
//!
//! A customer's intake mode is its own (`intake=`) or the policy's `[intake] mode`;
//! `auto` is `all` in a channel shared with another organisation (`conversations.info`
//! `is_shared`) and `reaction` elsewhere, except that a customer-side person's own
//! message in an unshared channel (a guest's) is taken as `all` would
//! (`UseCases::intake_message`): their writing shows the customer is there.

use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use super::UseCases;
use super::roles::LOOKUP_BUDGET;
use super::tickets::Tickets;
use crate::delivery::users::Side;
use crate::domain::assign::pick_assignee;
use crate::domain::customer::Customer;
use crate::domain::policy::{Assign, IntakeMode};

/// How long the intake mode waits for `conversations.info`: the lookup goes on and
/// fills the cache for the next message.
const SHARED_WAIT: Duration = Duration::from_millis(1500);

impl UseCases {
    /// Which side `user` of workspace `team` is on. `user_team` is the event's
    /// `user_team` (or the payload's `user.team_id`) when there is one. A contact named
    /// by a CSM is `Customer`; else what Slack's `users.info` says; a person whose
    /// `user_team` is not `team` is `Customer` unless Slack says they are of our
    /// organisation (Enterprise Grid); `Unknown` when Slack did not answer in time.
    pub async fn side_of(
        &self,
        team: &str,
        user: &str,
        user_team: Option<&str>,
    ) -> Result<Side, sqlx::Error> {
        self.side_by(team, user, user_team, Instant::now() + LOOKUP_BUDGET)
            .await
    }

    /// [`Self::side_of`], Slack asked until `deadline`.
    pub(super) async fn side_by(
        &self,
        team: &str,
        user: &str,
        user_team: Option<&str>,
        deadline: Instant,
    ) -> Result<Side, sqlx::Error> {
        let wait = deadline.saturating_duration_since(Instant::now());
        let (contact, slack) = tokio::join!(
            self.store.is_contact(team, user),
            self.users.side_within(team, user, wait)
        );
        if contact? {
            return Ok(Side::Customer);
        }
        let elsewhere = user_team.is_some_and(|t| !t.is_empty() && t != team);
        Ok(side_with_event(slack, elsewhere, self.users.has_token()))
    }

    /// The intake mode that applies to `customer`'s channel now: its own, else the
    /// policy's, with `auto` resolved by whether the channel is shared with another
    /// organisation. Never `Auto`. A customer without a channel, or a channel Slack did
    /// not describe in time, counts as not shared (`reaction`: nothing opens by itself
    /// that staff did not mark).
    pub async fn intake_mode_of(&self, customer: &Customer) -> Result<IntakeMode, sqlx::Error> {
        let mode = customer
            .intake_mode
            .unwrap_or(self.tickets.policy.intake.mode);
        if mode != IntakeMode::Auto {
            return Ok(mode);
        }
        let shared = match &customer.channel_id {
            Some(channel) => {
                let shared = self
                    .users
                    .is_shared_within(&customer.team_id, channel, SHARED_WAIT)
                    .await;
                if shared.is_none() {
                    debug!(channel, "not known whether shared: intake by reaction");
                }
                shared.unwrap_or(false)
            }
            None => false,
        };
        Ok(mode.resolved(shared))
    }
}

/// The side Slack's answer and the event tell together: Slack's answer wins (it knows
/// an Enterprise Grid colleague homed in another workspace is ours); without one, an
/// event from another workspace is the customer's. Without a token, Slack is never
/// asked and everyone of the workspace counts as staff.
fn side_with_event(slack: Side, from_elsewhere: bool, can_ask: bool) -> Side {
    match slack {
        Side::Customer => Side::Customer,
        _ if from_elsewhere && (!can_ask || slack == Side::Unknown) => Side::Customer,
        other => other,
    }
}

impl Tickets {
    /// Who a new ticket of `team` goes to: with `[intake] assign = "round-robin"`, the
    /// member of the user group with the fewest open tickets, ties to the one assigned
    /// longest ago; else (or when Slack does not list the group in time) nobody.
    ///
    /// Two tickets opened at the same instant may go to the same person: the counts
    /// are read, not locked (docs/limitations.md).
    pub(super) async fn round_robin_assignee(
        &self,
        team: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let Assign::RoundRobin { group } = &self.policy.intake.assign else {
            return Ok(None);
        };
        let Some(users) = &self.people else {
            return Ok(None);
        };
        let Some(members) = users.members_of(team, group).await else {
            debug!(
                group,
                "the round-robin group's members are not known: unassigned"
            );
            return Ok(None);
        };
        let loads = self.store.assignment_loads(team).await?;
        Ok(pick_assignee(members.iter().map(String::as_str), &loads).map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_wins_and_an_event_from_elsewhere_is_the_customers_without_it() {
        use Side::*;
        assert_eq!(side_with_event(Customer, false, true), Customer);
        // An Enterprise Grid colleague homed in another workspace.
        assert_eq!(side_with_event(Staff, true, true), Staff);
        assert_eq!(side_with_event(Unknown, true, true), Customer);
        assert_eq!(side_with_event(Unknown, false, true), Unknown);
        // Without a token: the workspace's people are staff, others are not.
        assert_eq!(side_with_event(Staff, false, false), Staff);
        assert_eq!(side_with_event(Staff, true, false), Customer);
    }
}
