//! A ticket asked for through the ticket modal (from `/readiness ticket`, the App
//! Home or the message shortcut): its fields checked, then the ticket opened. The
//! edge parses the submission and renders a refusal next to its field.

use chrono::{DateTime, Utc};

use super::UseCases;
use crate::blocks::ticket_modal::{FormProblem, MAX_SUMMARY_CHARS};
use crate::domain::sla::Priority;
use crate::domain::ticket::Ticket;
use crate::store::audit::Actor;

/// The modal's fields, as submitted.
#[derive(Debug, Clone, Default)]
pub struct TicketForm {
    /// The customer the modal was opened for, else the one picked.
    pub customer: Option<i64>,
    pub priority: Option<Priority>,
    /// Trimmed.
    pub summary: String,
    /// Who reported it: a tracked message's author, else the submitter.
    pub reporter: String,
    /// The tracked message, if any.
    pub source_ts: Option<String>,
}

impl UseCases {
    /// Opens the ticket the modal asks for, now, or says which field is wrong (in
    /// the order the modal shows them).
    pub async fn open_from_form(
        &self,
        team_id: &str,
        form: &TicketForm,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Ticket, FormProblem>, sqlx::Error> {
        let customer = match form.customer {
            Some(id) => self.store.customer_by_id(team_id, id).await?,
            None => None,
        };
        let Some(customer) = customer else {
            return Ok(Err(FormProblem::NoCustomer));
        };
        let Some(priority) = form.priority else {
            return Ok(Err(FormProblem::NoPriority));
        };
        if form.summary.is_empty() {
            return Ok(Err(FormProblem::NoSummary));
        }
        if form.summary.chars().count() > MAX_SUMMARY_CHARS {
            return Ok(Err(FormProblem::SummaryTooLong));
        }
        let Some(channel) = customer.channel_id.clone() else {
            return Ok(Err(FormProblem::NoChannel));
        };
        let ticket = self
            .tickets
            .open(
                &customer,
                &channel,
                priority,
                &form.summary,
                &form.reporter,
                now,
                form.source_ts.clone(),
                actor,
                now,
            )
            .await?;
        Ok(Ok(ticket))
    }
}
