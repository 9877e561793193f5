//! Slack event ids already handled, so Slack's retries are handled once.

use super::{Db, Store, ms};
use chrono::{DateTime, Utc};

impl Store {
    /// Records an event id; false if it was seen before (a Slack retry).
    pub async fn first_sight_of_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let now_ms = ms(now);
        on_pool!(&self.db, write, |pool| {
            sqlx::query(
            "INSERT INTO processed_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(event_id)
        .bind(now_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
        })
    }

    /// Forgets events (and Socket Mode envelopes) received before `before_ms`: Slack
    /// retries for minutes, not days.
    pub async fn forget_old_events(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM processed_events WHERE received_at < $1"
        )
        .bind(before_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    }

    /// Forgets an event handled in part, so Slack's retry of it is handled again.
    pub async fn forget_event(&self, event_id: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM processed_events WHERE event_id = $1"
        )
        .bind(event_id)
        .execute(pool)
        .await
        .map(|_| ()))
    }
}
