//! The customer's people a CSM named (`/readiness customer acme contacts=@a,@b`): they
//! are customer-side wherever they are, whatever Slack says of them. Each change is
//! audited in its transaction; SQLite's copy holds them, since every command and click
//! asks whether its person is one.

use chrono::{DateTime, Utc};

use super::audit::{Actor, append_audit};
use super::{Db, Store, ms};
use crate::domain::customer::Customer;

impl Store {
    /// The contacts named for `customer`, sorted.
    pub async fn contacts(&self, customer: &Customer) -> Result<Vec<String>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.contacts(&customer.team_id, customer.id));
        }
        self.contacts_in_db(&customer.team_id, customer.id).await
    }

    async fn contacts_in_db(
        &self,
        team_id: &str,
        customer: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            sqlx::query_scalar(
                "SELECT user_id FROM contacts WHERE team_id = $1 AND customer_id = $2
                 ORDER BY user_id",
            )
            .bind(team_id)
            .bind(customer)
            .fetch_all(pool)
            .await
        })
    }

    /// Whether `user` is a contact of any customer of workspace `team_id`.
    pub async fn is_contact(&self, team_id: &str, user: &str) -> Result<bool, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.is_contact(team_id, user));
        }
        on_pool!(&self.db, read, |pool| {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT user_id FROM contacts WHERE team_id = $1 AND user_id = $2 LIMIT 1",
            )
            .bind(team_id)
            .bind(user)
            .fetch_optional(pool)
            .await?;
            Ok(found.is_some())
        })
    }

    /// Every contact, in every workspace: (team, customer, user), for SQLite's copy.
    pub(super) async fn all_contacts(&self) -> Result<Vec<(String, i64, String)>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            sqlx::query_as("SELECT team_id, customer_id, user_id FROM contacts")
                .fetch_all(pool)
                .await
        })
    }

    /// Makes `users` the contacts of `customer` (empty: none), audited as
    /// `customer.contacts` with the list before and after. Returns the list before.
    pub async fn set_contacts(
        &self,
        customer: &Customer,
        users: &[String],
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let now_ms = ms(now);
        let mut after: Vec<String> = users.to_vec();
        after.sort();
        after.dedup();
        let before = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let before: Vec<String> = sqlx::query_scalar(
                "SELECT user_id FROM contacts WHERE team_id = $1 AND customer_id = $2
                 ORDER BY user_id",
            )
            .bind(&customer.team_id)
            .bind(customer.id)
            .fetch_all(&mut *tx)
            .await?;
            if before != after {
                sqlx::query("DELETE FROM contacts WHERE team_id = $1 AND customer_id = $2")
                    .bind(&customer.team_id)
                    .bind(customer.id)
                    .execute(&mut *tx)
                    .await?;
                for user in &after {
                    sqlx::query(
                        "INSERT INTO contacts (team_id, customer_id, user_id, named_by, named_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&customer.team_id)
                    .bind(customer.id)
                    .bind(user)
                    .bind(actor.user)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                let entry = actor
                    .entry(
                        &customer.team_id,
                        Some(customer.id),
                        "customer.contacts",
                        &customer.slug,
                        now_ms,
                    )
                    .with(
                        Some(serde_json::json!({ "contacts": before })),
                        Some(serde_json::json!({ "contacts": after })),
                    );
                append_audit!(&mut *tx, &entry)?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(before)
        })?;
        if let Some(cache) = &self.cache {
            cache.put_contacts(&customer.team_id, customer.id, after);
        }
        Ok(before)
    }
}
