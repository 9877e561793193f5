//! A ticket asked for through the ticket modal (from `/readiness ticket`, the App
//! Home or the message shortcut), or typed in full (`/readiness ticket <customer>
//! <priority> [opened=…] <summary>`): its fields checked, then the ticket opened. The
//! edge parses the submission and renders a refusal (next to its field, in the modal).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use super::UseCases;
use crate::blocks::ticket_modal::{FormProblem, MAX_SUMMARY_CHARS};
use crate::domain::command::Opened;
use crate::domain::customer::Customer;
use crate::domain::intake::written_at;
use crate::domain::sla::Priority;
use crate::domain::ticket::Ticket;
use crate::store::audit::Actor;
use crate::store::tickets::{IntakeOrigin, intake_key};

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
        // A tracked message: opened when it was written, and once (the same key as
        // intake's, so a message tracked twice, or tracked after intake made it a
        // ticket, answers with that ticket). It gets the intake emoji too.
        let origin = form.source_ts.as_deref().map(|ts| IntakeOrigin {
            key: intake_key(&channel, ts),
            thread: None,
            posts: super::intake::intake_posts(ts, ts, &self.tickets.policy.intake.emoji, false),
        });
        let opened_at = form
            .source_ts
            .as_deref()
            .map_or(now, |ts| written_at(ts, now));
        let (ticket, _) = self
            .tickets
            .open_from(
                &customer,
                &channel,
                priority,
                &form.summary,
                &form.reporter,
                opened_at,
                form.source_ts.clone(),
                origin.as_ref(),
                actor,
                now,
            )
            .await?;
        Ok(Ok(ticket))
    }
}

/// How far back `opened=` may go: further, and every clock would have run out long ago.
pub const MAX_BACKDATE: chrono::Duration = chrono::Duration::days(30);

/// Why a typed ticket is not opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedTicketRefusal {
    /// The customer's channel is not there yet.
    NoChannel,
    /// `opened=` names a local time the customer's clock skips (a clock change).
    NoSuchLocalTime(NaiveDateTime),
    /// `opened=` is after now.
    OpenedInTheFuture,
    /// `opened=` is more than [`MAX_BACKDATE`] ago.
    OpenedTooLongAgo,
}

impl UseCases {
    /// Opens the ticket typed in full, reported by the one who typed it: `opened=`
    /// (back-dated, read in the customer's calendar when it has no offset) else now.
    pub async fn open_typed(
        &self,
        customer: &Customer,
        priority: Priority,
        opened: Option<Opened>,
        summary: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Ticket, TypedTicketRefusal>, sqlx::Error> {
        let Some(channel) = customer.channel_id.clone() else {
            return Ok(Err(TypedTicketRefusal::NoChannel));
        };
        let cal = self.tickets.calendar(customer.tier);
        let opened_at = match opened {
            None => now,
            Some(Opened::Exact(t)) => t.with_timezone(&Utc),
            Some(Opened::Local(naive)) => match cal.tz.from_local_datetime(&naive).earliest() {
                Some(t) => t.with_timezone(&Utc),
                None => return Ok(Err(TypedTicketRefusal::NoSuchLocalTime(naive))),
            },
        };
        if opened_at > now {
            return Ok(Err(TypedTicketRefusal::OpenedInTheFuture));
        }
        if now - opened_at > MAX_BACKDATE {
            return Ok(Err(TypedTicketRefusal::OpenedTooLongAgo));
        }
        let ticket = self
            .tickets
            .open(
                customer, &channel, priority, summary, actor.user, opened_at, None, actor, now,
            )
            .await?;
        Ok(Ok(ticket))
    }
}

impl UseCases {
    /// Customer `customer_id` of `team` and every customer to choose from, for the
    /// ticket modal opened from the App Home; `None` for an id from another workspace,
    /// or a guessed one.
    pub async fn ticket_form_for(
        &self,
        team: &str,
        customer_id: i64,
    ) -> Result<Option<(Customer, Vec<Customer>)>, sqlx::Error> {
        let Some(customer) = self.store.customer_by_id(team, customer_id).await? else {
            return Ok(None);
        };
        let customers = self.store.customers(team).await?;
        Ok(Some((customer, customers)))
    }

    /// The customer whose channel a message tracked as a ticket is in; `None` in a
    /// channel that is no customer's.
    pub async fn tracking_customer(
        &self,
        team: &str,
        channel: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        self.store.customer_by_channel(team, channel).await
    }
}
