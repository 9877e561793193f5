//! A customer being onboarded, and its dedicated channel.

use super::checklist::Tier;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: i64,
    /// The Slack workspace the customer belongs to; every lookup is scoped by it.
    pub team_id: String,
    pub slug: String,
    pub name: String,
    pub tier: Tier,
    /// `None` until the channel has been created (or while creating it failed).
    pub channel_id: Option<String>,
    /// Why the channel could not be created, for the overview and the CSM.
    pub channel_error: Option<String>,
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
}
