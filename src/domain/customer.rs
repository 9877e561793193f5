//! A customer being onboarded, and its dedicated channel.

use chrono::NaiveDate;

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
    /// The customer's CSM, if someone other than its creator was named.
    pub csm: Option<String>,
    /// When it was archived (Unix ms): its reminders stop until it is unarchived.
    pub archived_at: Option<i64>,
    /// The go-live date the onboarding milestones count from.
    pub golive_on: Option<NaiveDate>,
    /// Milestone reminders switched off for this customer (their kinds).
    pub reminders_off: Vec<String>,
}

impl Customer {
    /// Who hears about the customer's problems: its CSM, else whoever created it.
    pub fn csm(&self) -> &str {
        self.csm.as_deref().unwrap_or(&self.created_by)
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    pub fn reminder_on(&self, kind: &str) -> bool {
        !self.reminders_off.iter().any(|k| k == kind)
    }
}
