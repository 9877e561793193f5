//! The export for the customer: every item of its tier's checklist with its state,
//! who ticked it and when, assignee, due date, note and evidence, as an HTML document
//! and a CSV file (`blocks::export`). `/readiness export` queues it through the outbox
//! (kind `export`: gathered when sent, then both files uploaded to the customer's
//! channel, each upload recorded so a retry uploads only what is missing);
//! `readiness export` gathers it at once for stdout.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::blocks::export::{self, ExportEvidence, ExportInput};
use crate::domain::checklist::States;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::template::Template;
use crate::store::Store;
use crate::store::outbox::{Enqueue, ExportBody, Post};
use crate::usecase::UseCases;

/// Why an export was not queued.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the customer has no channel yet")]
    NoChannel,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// An export queued for the customer's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportQueued {
    pub channel: String,
    /// The files' name without the extension (`readiness-<slug>-<YYYY-MM-DD>`).
    pub stem: String,
}

/// The export's two files.
#[derive(Debug, Clone)]
pub struct ExportFiles {
    /// `readiness-<slug>-<YYYY-MM-DD>`
    pub stem: String,
    pub html: String,
    pub csv: String,
}

/// The day an export made at `now` is named after: the customer's day.
pub fn export_day(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

impl UseCases {
    /// `/readiness export`: queues the export for the customer's channel through the
    /// outbox; it is gathered when sent, so it shows the checklist as it is then.
    pub async fn queue_export(
        &self,
        customer: &Customer,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> Result<ExportQueued, ExportError> {
        let Some(channel) = customer.channel_id.clone() else {
            return Err(ExportError::NoChannel);
        };
        let tz = self.tickets.policy.tier(customer.tier).timezone;
        let day = export_day(now, tz);
        let item = Enqueue {
            // Each request is its own export: keyed by when it was asked for.
            key: format!("export:{}:{}", customer.id, now.timestamp_millis()),
            team_id: customer.team_id.clone(),
            channel_id: channel.clone(),
            ticket_id: None,
            post: Post::Export(ExportBody {
                customer_id: customer.id,
                day,
                requested_by: requested_by.to_string(),
                uploaded: Vec::new(),
            }),
        };
        self.store.enqueue(&item, now).await?;
        Ok(ExportQueued {
            channel,
            stem: export::file_stem(customer, day),
        })
    }
}

/// What an export shows of one customer, read from the store.
#[derive(Debug, Clone)]
pub struct ExportData {
    pub states: Arc<States>,
    pub evidence: Vec<ExportEvidence>,
}

impl ExportData {
    /// Everyone the export names (who ticked, who is assigned, who attached
    /// evidence), each once, for the caller to look up their names.
    pub fn people(&self) -> Vec<String> {
        let mut people: Vec<String> = self
            .states
            .values()
            .flat_map(|s| [s.done_by.clone(), s.assignee.clone()])
            .flatten()
            .chain(self.evidence.iter().map(|e| e.by.clone()))
            .collect();
        people.sort();
        people.dedup();
        people
    }
}

/// How and when an export is rendered.
#[derive(Debug, Clone, Copy)]
pub struct Rendering {
    /// The customer's zone (its tier's): when items were ticked, and the day.
    pub tz: Tz,
    pub lang: Lang,
    /// The day the files are named after.
    pub day: NaiveDate,
    pub now: DateTime<Utc>,
}

/// Reads the customer's checklist as it stands.
pub async fn read(store: &Store, customer: &Customer) -> Result<ExportData, sqlx::Error> {
    let states = store.item_states_committed(customer.id).await?;
    let evidence = store
        .evidence_of_customer(&customer.team_id, customer.id)
        .await?
        .into_iter()
        .map(|e| ExportEvidence {
            item: e.item_key,
            url: e.url,
            label: e.file_name,
            note: e.note,
            by: e.added_by,
            at: e.added_at,
        })
        .collect();
    Ok(ExportData { states, evidence })
}

/// Renders both files. `template` is the whole template (its tier's view is taken
/// here); `names` maps Slack ids to the names to show (anyone missing is shown by id).
pub fn render(
    data: &ExportData,
    template: &Template,
    customer: &Customer,
    names: &HashMap<String, String>,
    how: Rendering,
) -> ExportFiles {
    let input = ExportInput {
        customer,
        template: template.for_tier(customer.tier),
        states: &data.states,
        evidence: &data.evidence,
        names,
        lang: how.lang,
        tz: how.tz,
        generated_at: how.now,
    };
    ExportFiles {
        stem: export::file_stem(customer, how.day),
        html: export::html(&input),
        csv: export::csv(&input),
    }
}

/// Why `readiness export` has nothing to write.
#[derive(Debug, thiserror::Error)]
pub enum CliExportError {
    #[error("--workspace {0:?} has no customers: give the team id (T…) the app is installed in")]
    UnknownWorkspace(String),
    #[error("--customer {named:?}: no such customer in workspace {team}; its customers: {known}")]
    UnknownCustomer {
        named: String,
        team: String,
        known: String,
    },
    #[error("cannot read the database: {0}")]
    Database(#[from] sqlx::Error),
}

/// `readiness export`: the customer of workspace `team` whose slug (or name, as
/// people read it) is `named`.
pub async fn customer_for_cli(
    store: &Store,
    team: &str,
    named: &str,
) -> Result<Customer, CliExportError> {
    let named = named.trim();
    if let Some(customer) = store.customer_by_slug(team, named).await? {
        return Ok(customer);
    }
    if let Some(customer) = store.customers_named(team, named).await?.into_iter().next() {
        return Ok(customer);
    }
    let customers = store.customers(team).await?;
    if customers.is_empty() {
        return Err(CliExportError::UnknownWorkspace(team.to_string()));
    }
    let known: Vec<&str> = customers.iter().map(|c| c.slug.as_str()).collect();
    Err(CliExportError::UnknownCustomer {
        named: named.to_string(),
        team: team.to_string(),
        known: known.join(", "),
    })
}
