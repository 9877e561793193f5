//! Readiness: enterprise customer onboarding in Slack.
//!
//! # Layout
//! Each folder uses only the folders listed before it, so every arrow points one way.
//!
//! - `domain/`    pure: the template, checklist progress, the command grammar, slugs.
//! - `blocks/`    pure renderers: domain state → Block Kit, within Slack's limits.
//! - `store/`     one storage interface; SQLite and PostgreSQL behind it.
//! - `delivery/`  outbound: the Slack Web API client and the background worker that
//!   creates channels, posts and coalesces message updates.
//! - `slack/`     inbound: commands (parse → apply), interactions, events.
//! - `http/`      the router, the signature check, health and metrics.
//! - `app.rs`     wiring: build everything from the settings and run until shutdown.
//! - `config.rs`  flags, environment and the optional TOML file.

pub mod app;
pub mod blocks;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod slack;
pub mod store;
