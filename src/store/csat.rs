//! Customer satisfaction answers (`csat_answers`): one per ticket, the first one
//! given. The question itself is an outbox row (`Post::Csat`, keyed on the ticket).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::audit::{AuditEntry, append_audit};
use super::outbox::{csat_key, rearm_statement};
use super::tickets::message_key;
use super::{Db, Store, ms};
use crate::domain::csat::Rating;
use crate::domain::sla::Priority;

/// An answer to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatAnswer {
    pub ticket_id: i64,
    pub team_id: String,
    pub customer_id: i64,
    pub rating: Rating,
    pub answered_by: String,
}

/// An answer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCsat {
    pub rating: Rating,
    pub answered_by: String,
    pub answered_at: i64,
}

fn rating_of(text: &str) -> Result<Rating, sqlx::Error> {
    Rating::parse(text).ok_or_else(|| sqlx::Error::Decode(format!("unknown rating {text}").into()))
}

impl Store {
    /// Records `answer` unless the ticket already has one: the table's key decides, so
    /// two first clicks at once (two replicas, a retried request) keep exactly one. The
    /// recorded answer is audited, and the question and the ticket's message are
    /// re-armed to show it, all in its transaction. `Ok(false)`: it already had one;
    /// nothing changed.
    pub async fn record_csat(
        &self,
        answer: &CsatAnswer,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let now_ms = ms(now);
        let recorded = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "INSERT INTO csat_answers (ticket_id, team_id, customer_id, rating, answered_by, answered_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (ticket_id) DO NOTHING",
            )
            .bind(answer.ticket_id)
            .bind(&answer.team_id)
            .bind(answer.customer_id)
            .bind(answer.rating.as_str())
            .bind(&answer.answered_by)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                false
            } else {
                for key in [csat_key(answer.ticket_id), message_key(answer.ticket_id)] {
                    sqlx::query(rearm_statement())
                        .bind(key)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                append_audit!(&mut *tx, audit)?;
                if let Some(notify) = self.notify_sql() {
                    sqlx::query(notify).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                true
            }
        });
        if recorded {
            self.wake();
        }
        Ok(recorded)
    }

    /// The answer ticket `ticket_id` has, if any.
    pub async fn csat_of(&self, ticket_id: i64) -> Result<Option<StoredCsat>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let row = sqlx::query(
                "SELECT rating, answered_by, answered_at FROM csat_answers WHERE ticket_id = $1",
            )
            .bind(ticket_id)
            .fetch_optional(pool)
            .await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some(StoredCsat {
                    rating: rating_of(&row.try_get::<String, _>("rating")?)?,
                    answered_by: row.try_get("answered_by")?,
                    answered_at: row.try_get("answered_at")?,
                })),
            }
        })
    }

    /// The answers to a customer's tickets opened in [from, to) (Unix ms): (ticket id,
    /// answer), for its report.
    pub async fn csat_of_tickets_opened_between(
        &self,
        customer_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, Rating)>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT a.ticket_id, a.rating FROM csat_answers a
                 JOIN tickets t ON t.id = a.ticket_id
                 WHERE t.customer_id = $1 AND t.opened_at >= $2 AND t.opened_at < $3
                 ORDER BY a.ticket_id",
            )
            .bind(customer_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("ticket_id")?,
                        rating_of(&row.try_get::<String, _>("rating")?)?,
                    ))
                })
                .collect()
        })
    }

    /// The answers given in workspace `team_id` since `since_ms`: (customer id, the
    /// ticket's priority, answer), for the App Home.
    pub async fn csat_answered_since(
        &self,
        team_id: &str,
        since_ms: i64,
    ) -> Result<Vec<(i64, Priority, Rating)>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT a.customer_id, t.priority, a.rating FROM csat_answers a
                 JOIN tickets t ON t.id = a.ticket_id
                 WHERE a.team_id = $1 AND a.answered_at >= $2",
            )
            .bind(team_id)
            .bind(since_ms)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let priority: String = row.try_get("priority")?;
                    Ok((
                        row.try_get("customer_id")?,
                        Priority::parse(&priority).unwrap_or(Priority::P3),
                        rating_of(&row.try_get::<String, _>("rating")?)?,
                    ))
                })
                .collect()
        })
    }
}
