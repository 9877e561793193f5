//! Readiness: enterprise customer onboarding in Slack.
//!
//! # Layout
//! Each module uses only the modules listed before it, so every arrow points one way
//! (`tests/layout.rs` reads this list and holds the code to it).
//!
//! - `time_source.rs` what "now" is: the real clock, or the shell's virtual one.
//! - `metrics.rs` the Prometheus registry every part reports to.
//! - `crypto.rs`  secrets: [`crypto::Secret`], never logged, and tokens sealed at rest
//!   with AES-256-GCM.
//! - `domain/`    pure: the template, checklist progress, the command grammar, slugs,
//!   and the records the store keeps (audit entries, reminders).
//! - `config.rs`  settings: flags, environment and the optional TOML file.
//! - `blocks/`    pure renderers: domain state → Block Kit, within Slack's limits, and
//!   the report's chart as a PNG.
//! - `store/`     one storage interface; SQLite and PostgreSQL behind it.
//! - `delivery/`  outbound: the Slack Web API client and the background worker that
//!   creates channels, posts and coalesces message updates.
//! - `usecase/`   what the app does, whoever asks (a command, a click, a modal, an
//!   event, the shell or the scheduler): the checklist, customers and who is the
//!   customer's (`people`), tickets with their SLA clocks, tickets from the customer's
//!   own messages (`intake`), the conversation in a ticket's thread (`events`), the
//!   customer's rating (`csat`), reminders and reports, the customer's plan and its
//!   health (`plan_view`), joining the domain, the store and the outbox.
//!   They return outcomes and typed refusals; the edges render them.
//! - `scheduler/` the only part that waits on time: fires due SLA rows and sends the
//!   outbox, paced per channel, across replicas.
//! - `slack/`     the Slack edge: commands, interactions, events (parse → authorize →
//!   one use case → render → answer) and the App Home.
//! - `http/`      the router, the signature check, the OAuth install flow, health and
//!   metrics.
//! - `socket/`    Socket Mode: the same inbound handlers over Slack's WebSocket.
//! - `app.rs`     wiring: build everything from the settings and run until shutdown.
//! - `slack_fake/` one stand-in for Slack's Web API (strict for the tests, printing
//!   for the shell) and the requests Slack sends, built and signed.
//! - `shell/`     `readiness shell`: the terminal standing in for Slack at both edges.
//! - `audit_export.rs` `readiness export-audit`: the audit log to a SIEM, as JSON lines
//!   or CSV.

pub mod app;
pub mod audit_export;
pub mod blocks;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod scheduler;
pub mod shell;
pub mod slack;
pub mod slack_fake;
pub mod socket;
pub mod store;
pub mod time_source;
pub mod usecase;
