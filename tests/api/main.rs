//! End-to-end tests: the real app on port 0 with a fresh database, a Slack test double
//! on 127.0.0.1, and requests signed and shaped like Slack's.

mod binary;
mod checklist;
mod manifest;
mod sla;
mod storage;
mod support;
mod transport;
