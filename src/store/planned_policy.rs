//! The policy the open SLA deadlines were planned with, so a changed policy can be
//! noticed at start-up and the deadlines planned again.

use sqlx::Row;

use super::{Db, Store};

impl Store {
    /// The policy the open deadlines were last planned with (its TOML text).
    pub async fn planned_policy(&self) -> Result<Option<String>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            match sqlx::query("SELECT policy FROM planned_policy WHERE id = 1")
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(row.try_get("policy")?)),
                None => Ok(None),
            }
        })
    }

    pub async fn set_planned_policy(&self, policy: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "INSERT INTO planned_policy (id, policy) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET policy = excluded.policy"
        )
        .bind(policy)
        .execute(pool)
        .await
        .map(|_| ()))
    }
}
