//! Use cases: what the app does, whoever asks. Slack commands, clicks, modals and
//! events, the shell (through those) and the scheduler call these; each takes `now`,
//! changes the store, queues what must reach Slack, and returns an outcome or a typed
//! refusal for the caller to render. Nothing here formats a sentence.

pub mod reminders;
pub mod reports;
pub mod tickets;
