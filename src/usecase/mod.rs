//! Use cases: what the app does, whoever asks. Slack commands, clicks, modals and
//! events, the shell (through those) and the scheduler call these; each takes `now`,
//! changes the store, queues what must reach Slack, and returns an outcome or a typed
//! refusal for the caller to render. Nothing here formats a sentence.

pub mod audit;
pub mod checklist;
pub mod csat;
pub mod customers;
pub mod events;
pub mod evidence;
pub mod export;
pub mod intake;
pub mod onboarding;
pub mod people;
pub mod plan_view;
pub mod reminders;
pub mod reports;
pub mod roles;
pub mod ticket_form;
pub mod tickets;

use std::sync::Arc;

use crate::delivery::{users::Users, worker::Delivery};
use crate::domain::template::Template;
use crate::store::Store;
use reminders::Reminders;
use tickets::Tickets;

/// What every use case needs: built once at start, cloned into each edge.
#[derive(Clone)]
pub struct UseCases {
    pub store: Store,
    pub template: Arc<Template>,
    /// The background worker, woken after a change that Slack must show.
    pub delivery: Delivery,
    /// What Slack says of people: a new assignee's time zone plans their due reminder.
    pub users: Users,
    /// Support requests and their SLA clocks.
    pub tickets: Tickets,
    /// Scheduled reminders.
    pub reminders: Reminders,
}
