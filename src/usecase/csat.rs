//! Customer satisfaction (CSAT): a customer's answer to "how did we do?", asked in a
//! resolved ticket's thread (the question is queued by `Tickets::act` on resolution,
//! see `Tickets::csat_question`, and sent by the outbox as `Post::Csat`).
//!
//! Only the customer's side answers: a staff click is refused, and stores nothing. The
//! first answer is kept (the table's key decides, not a read before the write); a
//! later one is told that the ticket was already rated.

use chrono::{DateTime, Utc};
use tracing::info;

use crate::delivery::users::Side;
use crate::domain::csat::{CsatSummary, Rating};
use crate::store::audit::{Actor, Source};
use crate::store::csat::CsatAnswer;
use crate::store::outbox::csat_key;
use crate::usecase::UseCases;
use crate::usecase::tickets::{Tickets, ticket_of};

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rated {
    /// Stored, audited; the question and the ticket's card are being updated to show it.
    Recorded(Rating),
    /// The ticket already had an answer: nothing changed.
    AlreadyRated,
    /// Staff (or a bot): only the customer answers. Nothing stored.
    NotCustomer,
    /// Slack did not say in time who clicked: nothing stored, and the person is asked
    /// to try again (a customer whose facts are slow is not turned away for good).
    Unconfirmed,
    /// No such ticket in this workspace, or one never asked (gone, or a forged
    /// value): nothing to do.
    NoTicket,
}

impl UseCases {
    /// `user` (of Slack team `user_team`, as the click says) answers `rating` to ticket
    /// `ticket_id`'s question, in workspace `team`.
    pub async fn rate_ticket(
        &self,
        team: &str,
        ticket_id: i64,
        user: &str,
        user_team: Option<&str>,
        rating: Rating,
        now: DateTime<Utc>,
    ) -> Result<Rated, sqlx::Error> {
        let Some(record) = self.store.ticket_by_id(ticket_id).await? else {
            return Ok(Rated::NoTicket);
        };
        if record.team_id != team {
            return Ok(Rated::NoTicket);
        }
        // Only a ticket that was asked can be answered: a forged click on another
        // ticket does nothing.
        let asked = self.store.outbox_status(&csat_key(ticket_id)).await?;
        if asked.is_none() {
            return Ok(Rated::NoTicket);
        }
        match self.side_of(team, user, user_team).await? {
            Side::Customer => {}
            Side::Staff => return Ok(Rated::NotCustomer),
            Side::Unknown => return Ok(Rated::Unconfirmed),
        }
        let ticket = ticket_of(&record);
        let entry = Actor::new(user, Source::Button)
            .entry(
                team,
                Some(record.customer_id),
                "ticket.rated",
                &ticket.label(),
                now.timestamp_millis(),
            )
            .with(None, Some(serde_json::json!({ "rating": rating.as_str() })));
        let answer = CsatAnswer {
            ticket_id,
            team_id: team.to_string(),
            customer_id: record.customer_id,
            rating,
            answered_by: user.to_string(),
        };
        if self.store.record_csat(&answer, &entry, now).await? {
            info!(
                ticket = ticket_id,
                rating = rating.as_str(),
                "a customer rated a ticket"
            );
            Ok(Rated::Recorded(rating))
        } else {
            Ok(Rated::AlreadyRated)
        }
    }
}

impl Tickets {
    /// The answers given in workspace `team` over the last `days` days, of the
    /// customers `shown` (the App Home's).
    pub async fn csat_of_last_days(
        &self,
        team: &str,
        shown: &[i64],
        days: i64,
        now: DateTime<Utc>,
    ) -> Result<CsatSummary, sqlx::Error> {
        let since = (now - chrono::Duration::days(days)).timestamp_millis();
        let answers = self.store.csat_answered_since(team, since).await?;
        Ok(CsatSummary::of(
            answers
                .into_iter()
                .filter(|(customer, _, _)| shown.contains(customer))
                .map(|(_, _, rating)| rating),
        ))
    }
}
