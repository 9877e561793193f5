//! Posted checklist messages and the customer version each was rendered at, so the
//! stale ones are updated.

use sqlx::Row;

use super::{Db, Store};

/// A posted checklist message whose customer changed since it was rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleMessage {
    pub customer_id: i64,
    /// The customer's workspace: each workspace's messages are updated on their own.
    pub team_id: String,
    pub part: String,
    pub channel_id: String,
    pub ts: String,
    /// The customer's version when this was read; render, then record it.
    pub version: i64,
}
impl Store {
    /// Records a posted checklist message, as rendered at `version`.
    pub async fn record_message(
        &self,
        customer_id: i64,
        part: &str,
        channel_id: &str,
        ts: &str,
        version: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| {
            sqlx::query(
            "INSERT INTO checklist_messages (customer_id, part, channel_id, ts, rendered_version)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (channel_id, ts) DO UPDATE SET rendered_version = excluded.rendered_version"
        )
        .bind(customer_id)
        .bind(part)
        .bind(channel_id)
        .bind(ts)
        .bind(version)
        .execute(pool)
        .await
        .map(|_| ())
        })
    }

    pub async fn customer_version(&self, customer_id: i64) -> Result<i64, sqlx::Error> {
        on_pool!(&self.db, read, |pool| sqlx::query(
            "SELECT version FROM customers WHERE id = $1"
        )
        .bind(customer_id)
        .fetch_one(pool)
        .await?
        .try_get("version"))
    }

    /// Posted messages behind their customer's latest change, oldest change first.
    pub async fn stale_messages(&self, limit: i64) -> Result<Vec<StaleMessage>, sqlx::Error> {
        // The limit is written into the statement, not bound: SQLite prepares a
        // statement whose LIMIT is a bound parameter again at every run (it plans with
        // the value), and this one runs after every tick.
        let sql = sqlx::AssertSqlSafe(format!(
            // Taken in turns across workspaces (each one's stalest first), so one
            // workspace's many stale messages never crowd out another's.
            "SELECT customer_id, team_id, part, channel_id, ts, version FROM (
                 SELECT m.customer_id, c.team_id, m.part, m.channel_id, m.ts, c.version,
                     m.rendered_version,
                     ROW_NUMBER() OVER (PARTITION BY c.team_id
                         ORDER BY m.rendered_version, m.channel_id, m.ts) AS turn
                 FROM checklist_messages m JOIN customers c ON c.id = m.customer_id
                 WHERE m.rendered_version < c.version
             ) stale
             ORDER BY turn, rendered_version LIMIT {limit}"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(StaleMessage {
                        customer_id: row.try_get("customer_id")?,
                        team_id: row.try_get("team_id")?,
                        part: row.try_get("part")?,
                        channel_id: row.try_get("channel_id")?,
                        ts: row.try_get("ts")?,
                        version: row.try_get("version")?,
                    })
                })
                .collect()
        })
    }

    /// Marks a message as rendered at `version` (never moving it backwards).
    pub async fn mark_rendered(
        &self,
        channel_id: &str,
        ts: &str,
        version: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE checklist_messages SET rendered_version = $3
             WHERE channel_id = $1 AND ts = $2 AND rendered_version < $3"
        )
        .bind(channel_id)
        .bind(ts)
        .bind(version)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Marks one posted message as behind its customer, so the updater renders it
    /// again; false when no such message is kept.
    pub async fn mark_message_stale(
        &self,
        channel_id: &str,
        ts: &str,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE checklist_messages SET rendered_version = rendered_version - 1
             WHERE channel_id = $1 AND ts = $2"
        )
        .bind(channel_id)
        .bind(ts)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }

    /// Marks a customer's overview messages as behind, so the updater renders them
    /// again: their health is judged on the day, and a day can pass without any change
    /// to the customer. A render already under way still records its own version,
    /// which is then current.
    pub async fn mark_overview_stale(&self, customer_id: i64) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE checklist_messages SET rendered_version = rendered_version - 1
             WHERE customer_id = $1 AND part = 'overview'"
        )
        .bind(customer_id)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Forgets a customer's earlier digests once a new day's is posted: only the
    /// latest is kept current.
    pub async fn forget_old_digests(
        &self,
        customer_id: i64,
        keep_ts: &str,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM checklist_messages
             WHERE customer_id = $1 AND part LIKE 'digest:%' AND ts <> $2"
        )
        .bind(customer_id)
        .bind(keep_ts)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Forgets a message Slack no longer has (deleted, or its channel gone).
    pub async fn forget_message(&self, channel_id: &str, ts: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM checklist_messages WHERE channel_id = $1 AND ts = $2"
        )
        .bind(channel_id)
        .bind(ts)
        .execute(pool)
        .await
        .map(|_| ()))
    }
}
