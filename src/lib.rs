//! Readiness: enterprise customer onboarding in Slack.
//!
//! # Layout
//! Each folder uses only the folders listed before it, so every arrow points one way.
//!
//! - `time_source.rs` what "now" is: the real clock, or the shell's virtual one.
//! - `crypto.rs`  secrets at rest: tokens sealed with AES-256-GCM.
//! - `domain/`    pure: the template, checklist progress, the command grammar, slugs.
//! - `blocks/`    pure renderers: domain state → Block Kit, within Slack's limits.
//! - `store/`     one storage interface; SQLite and PostgreSQL behind it.
//! - `support/`   support requests: the use cases joining the SLA domain, the store
//!   and the outbox.
//! - `reminders/` reminders: custom, due-date, digest and milestone reminders planned
//!   as due rows, and what a due reminder posts.
//! - `reports/`   the monthly report: a customer's month gathered, and its chart.
//! - `delivery/`  outbound: the Slack Web API client and the background worker that
//!   creates channels, posts and coalesces message updates.
//! - `scheduler/` the only part that waits on time: fires due SLA rows and sends the
//!   outbox, paced per channel, across replicas.
//! - `slack/`     inbound: commands (parse → apply), interactions, events.
//! - `http/`      the router, the signature check, the OAuth install flow, health and
//!   metrics.
//! - `socket/`    Socket Mode: the same inbound handlers over Slack's WebSocket.
//! - `shell/`     `readiness shell`: the terminal standing in for Slack at both edges.
//! - `metrics.rs` the Prometheus registry every part reports to.
//! - `app.rs`     wiring: build everything from the settings and run until shutdown.
//! - `config.rs`  flags, environment and the optional TOML file.
//! - `audit_export.rs` `readiness export-audit`: the audit log streamed for a SIEM.

pub mod app;
pub mod audit_export;
pub mod blocks;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod reminders;
pub mod reports;
pub mod scheduler;
pub mod shell;
pub mod slack;
pub mod socket;
pub mod store;
pub mod support;
pub mod time_source;
