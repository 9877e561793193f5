//! `/readiness audit`: the recent entries of a workspace's audit log, or of one
//! customer's, with the names of the customers they concern.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::UseCases;
use crate::domain::audit::AuditRecord;
use crate::domain::customer::Customer;
use crate::domain::schedule::local_to_utc;

/// Without a `since` day, the audit answer looks back this far.
const DEFAULT_DAYS: i64 = 30;

/// What the audit answer shows.
#[derive(Debug, Clone)]
pub struct RecentAudit {
    /// Newest first, at most the `limit` asked for.
    pub entries: Vec<AuditRecord>,
    /// Customer id → name, for the entries that concern one.
    pub names: HashMap<i64, String>,
}

impl UseCases {
    /// Up to `limit` entries of workspace `team` (of `customer` only, if given) since
    /// the start of `since` in the customer's tier zone (UTC without a customer), or
    /// of the last 30 days.
    pub async fn recent_audit(
        &self,
        team: &str,
        customer: Option<&Customer>,
        since: Option<NaiveDate>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<RecentAudit, sqlx::Error> {
        let tz = customer.map_or(chrono_tz::UTC, |c| {
            self.tickets.policy.tier(c.tier).timezone
        });
        let since = match since {
            Some(day) => local_to_utc(tz, day.and_time(NaiveTime::MIN)),
            None => now - Duration::days(DEFAULT_DAYS),
        };
        let entries = self
            .store
            .recent_audit(
                team,
                customer.map(|c| c.id),
                since.timestamp_millis(),
                limit,
            )
            .await?;
        let names = self
            .store
            .customers(team)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        Ok(RecentAudit { entries, names })
    }
}
