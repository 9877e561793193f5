//! Outbound: everything the app sends to Slack on its own, after the request that
//! caused it has been acknowledged.

pub mod clicks;
pub mod idle_limit;
pub mod slack_api;
pub mod users;
pub mod worker;
