//! Reminders: due rows of the scheduler like the SLA timers. Firing one records its
//! post in the outbox (keyed `rem:<id>:<occurrence>`, so a second firing of the same
//! occurrence does nothing), moves it on to its next occurrence or ends it, and audits
//! it, in one transaction. What a firing posts is decided by the caller's closure.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::audit::{Actor, AuditEntry, append_audits};
use super::due::claim_due;
use super::outbox::{Enqueue, Post, enqueue, rearm_statement};
use super::{Db, Store, ms};

use crate::domain::checklist::States;
use crate::domain::customer::Customer;

/// Pure data, defined in the domain for the renderers.
pub use crate::domain::reminder::ReminderRecord;

pub use crate::domain::reminder::ReminderPlan;

/// A reminder to create: its plan and when it is first due (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReminder {
    pub plan: ReminderPlan,
    pub next_due_at: i64,
}

/// A due reminder claimed for firing, with its customer.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub reminder: ReminderRecord,
    pub customer: Customer,
    /// For an item's due-date reminder only: the customer's item states as committed,
    /// so firing can tell whether the item still waits on its prerequisites.
    pub states: Option<States>,
}

/// What firing a due reminder decided.
#[derive(Debug, Clone, Default)]
pub struct ReminderFiring {
    /// Posts to record (a digest already recorded under its key is re-armed, so the
    /// day's message is edited rather than posted again).
    pub enqueue: Vec<Enqueue>,
    /// When it is due next; `None` ends it.
    pub next_due_at: Option<i64>,
    pub audit: Option<AuditEntry>,
}

const REMINDER_COLUMNS: &str = "reminders.id, reminders.team_id, reminders.customer_id, reminders.kind,
    reminders.unique_key, reminders.item_key, reminders.recipient, reminders.text, reminders.recurrence,
    reminders.tz, reminders.until_at, reminders.next_due_at, reminders.occurrence, reminders.status,
    reminders.created_by, reminders.created_at";

macro_rules! reminder_from_row {
    ($row:expr) => {{
        let row = $row;
        ReminderRecord {
            id: row.try_get("id")?,
            plan: ReminderPlan {
                team_id: row.try_get("team_id")?,
                customer_id: row.try_get("customer_id")?,
                kind: row.try_get("kind")?,
                unique_key: row.try_get("unique_key")?,
                item_key: row.try_get("item_key")?,
                recipient: row.try_get("recipient")?,
                text: row.try_get("text")?,
                recurrence: row.try_get("recurrence")?,
                tz: row.try_get("tz")?,
                until_at: row.try_get("until_at")?,
            },
            next_due_at: row.try_get("next_due_at")?,
            occurrence: row.try_get("occurrence")?,
            status: row.try_get("status")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
        }
    }};
}

/// A reminder as the audit log shows it.
fn reminder_json(r: &ReminderRecord) -> serde_json::Value {
    serde_json::json!({
        "kind": r.kind,
        "text": r.text,
        "recipient": r.recipient,
        "recurrence": r.recurrence,
        "next_due_at": r.next_due_at,
        "status": r.status,
    })
}

/// The one entry for reminders that were active and are moved together: their ids,
/// their count and when each is due now.
fn replanned_entry(
    first: &ReminderRecord,
    replanned: &[ReminderRecord],
    actor: Actor<'_>,
    now_ms: i64,
) -> AuditEntry {
    let ids: Vec<String> = replanned.iter().map(|r| format!("R-{}", r.id)).collect();
    let due: Vec<Option<i64>> = replanned.iter().map(|r| r.next_due_at).collect();
    // One customer's reminders are re-planned together; a batch across customers
    // (none today) is audited without one.
    let customer = replanned
        .iter()
        .all(|r| r.customer_id == first.customer_id)
        .then_some(first.customer_id);
    actor
        .entry(
            &first.team_id,
            customer,
            "reminder.replanned",
            &ids.join(", "),
            now_ms,
        )
        .with(
            None,
            Some(serde_json::json!({
                "count": replanned.len(),
                "reminders": ids,
                "next_due_at": due,
            })),
        )
}

impl Store {
    /// Creates a reminder, or re-plans the one with the same `unique_key`; see
    /// [`Store::schedule_reminders`].
    pub async fn schedule_reminder(
        &self,
        new: &NewReminder,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<ReminderRecord, sqlx::Error> {
        let mut records = self
            .schedule_reminders(std::slice::from_ref(new), actor, now)
            .await?;
        Ok(records.remove(0))
    }

    /// Creates reminders, or re-plans those with the same `unique_key` (active again,
    /// their occurrences counted on), in one transaction. Each new one (or one active
    /// again after it was cancelled or done) is audited as `reminder.created`; the ones
    /// that were active and are only moved make ONE `reminder.replanned` entry with
    /// their count, so changing a go-live date does not read as the same reminders
    /// created twice.
    pub async fn schedule_reminders(
        &self,
        news: &[NewReminder],
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReminderRecord>, sqlx::Error> {
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let now_ms = ms(now);
        let sql = format!(
            "INSERT INTO reminders (team_id, customer_id, kind, unique_key, item_key, recipient, text,
                 recurrence, tz, until_at, next_due_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (unique_key) DO UPDATE SET
                 recipient = excluded.recipient, text = excluded.text,
                 recurrence = excluded.recurrence, tz = excluded.tz, until_at = excluded.until_at,
                 next_due_at = excluded.next_due_at, status = 'active',
                 created_by = excluded.created_by, created_at = excluded.created_at
             RETURNING {}",
            REMINDER_COLUMNS.replace("reminders.", "")
        );
        let records = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let mut records = Vec::with_capacity(news.len());
            let mut entries = Vec::with_capacity(news.len());
            let mut replanned = Vec::new();
            for new in news {
                let was_active = match &new.plan.unique_key {
                    Some(key) => sqlx::query(
                        "SELECT id FROM reminders WHERE unique_key = $1 AND status = 'active'",
                    )
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some(),
                    None => false,
                };
                let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&new.plan.team_id)
                    .bind(new.plan.customer_id)
                    .bind(&new.plan.kind)
                    .bind(&new.plan.unique_key)
                    .bind(&new.plan.item_key)
                    .bind(&new.plan.recipient)
                    .bind(&new.plan.text)
                    .bind(&new.plan.recurrence)
                    .bind(&new.plan.tz)
                    .bind(new.plan.until_at)
                    .bind(new.next_due_at)
                    .bind(actor.user)
                    .bind(now_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                let record = reminder_from_row!(&row);
                if was_active {
                    replanned.push(record.clone());
                } else {
                    entries.push(
                        actor
                            .entry(
                                &record.team_id,
                                Some(record.customer_id),
                                "reminder.created",
                                &format!("R-{}", record.id),
                                now_ms,
                            )
                            .with(None, Some(reminder_json(&record))),
                    );
                }
                records.push(record);
            }
            if let Some(first) = replanned.first() {
                entries.push(replanned_entry(first, &replanned, actor, now_ms));
            }
            append_audits!(&mut *tx, &entries)?;
            if let Some(notify) = self.notify_sql() {
                sqlx::query(notify).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            records
        });
        self.wake();
        Ok(records)
    }

    /// Cancels the workspace's active reminders matching `condition` (what follows
    /// `WHERE team_id = $1 AND status = 'active' AND`, with `$2` bound to `value`),
    /// each audited; returns them as they were.
    async fn cancel_reminders_where(
        &self,
        team_id: &str,
        condition: &'static str,
        value: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReminderRecord>, sqlx::Error> {
        let now_ms = ms(now);
        let select = sqlx::AssertSqlSafe(format!(
            "SELECT {REMINDER_COLUMNS} FROM reminders
             WHERE team_id = $1 AND status = 'active' AND {condition}"
        ));
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(select)
                .bind(team_id)
                .bind(value)
                .fetch_all(&mut *tx)
                .await?;
            let mut cancelled = Vec::with_capacity(rows.len());
            let mut entries = Vec::with_capacity(rows.len());
            for row in &rows {
                let record = reminder_from_row!(row);
                sqlx::query(
                    "UPDATE reminders SET status = 'cancelled' WHERE id = $1 AND status = 'active'",
                )
                .bind(record.id)
                .execute(&mut *tx)
                .await?;
                let entry = actor
                    .entry(
                        team_id,
                        Some(record.customer_id),
                        "reminder.cancelled",
                        &format!("R-{}", record.id),
                        now_ms,
                    )
                    .with(Some(reminder_json(&record)), None);
                entries.push(entry);
                cancelled.push(record);
            }
            append_audits!(&mut *tx, &entries)?;
            tx.commit().await?;
            Ok(cancelled)
        })
    }

    /// Cancels reminder `id` of the workspace; `None` if it is not an active one there.
    pub async fn cancel_reminder(
        &self,
        team_id: &str,
        id: i64,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<ReminderRecord>, sqlx::Error> {
        let cancelled = self
            .cancel_reminders_where(
                team_id,
                "CAST(id AS TEXT) = $2",
                &id.to_string(),
                actor,
                now,
            )
            .await?;
        Ok(cancelled.into_iter().next())
    }

    /// Cancels the reminder with `unique_key`, if it is active.
    pub async fn cancel_reminder_keyed(
        &self,
        team_id: &str,
        unique_key: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<ReminderRecord>, sqlx::Error> {
        let cancelled = self
            .cancel_reminders_where(team_id, "unique_key = $2", unique_key, actor, now)
            .await?;
        Ok(cancelled.into_iter().next())
    }

    /// The active reminders of a workspace (of one customer, if given), soonest first.
    pub async fn active_reminders(
        &self,
        team_id: &str,
        customer_id: Option<i64>,
    ) -> Result<Vec<ReminderRecord>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {REMINDER_COLUMNS} FROM reminders
             WHERE team_id = $1 AND status = 'active' AND ($2 = 0 OR customer_id = $2)
             ORDER BY next_due_at, id"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(team_id)
                .bind(customer_id.unwrap_or(0))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| Ok(reminder_from_row!(row))).collect()
        })
    }

    /// Every reminder (of any status) whose unique key starts with `prefix`.
    pub async fn reminders_by_key_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<ReminderRecord>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {REMINDER_COLUMNS} FROM reminders WHERE unique_key LIKE $1 ORDER BY id"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(format!("{prefix}%"))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| Ok(reminder_from_row!(row))).collect()
        })
    }

    /// Moves a reminder to `next_due_at` (unarchiving skips what was missed).
    pub async fn reschedule_reminder(
        &self,
        id: i64,
        next_due_at: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE reminders SET next_due_at = $2,
                 status = CASE WHEN $2 IS NULL THEN 'done' ELSE status END
             WHERE id = $1"
        )
        .bind(id)
        .bind(next_due_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.wake();
        Ok(())
    }

    /// Fires up to `limit` reminders due at `now`, in one transaction: each gets what
    /// `fire` decides (`claim_due!`: on PostgreSQL, replicas take disjoint rows, so
    /// each occurrence fires once). Returns how many fired.
    pub async fn fire_due_reminders(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        fire: &(dyn Fn(&DueReminder) -> ReminderFiring + Send + Sync),
    ) -> Result<usize, sqlx::Error> {
        let now_ms = ms(now);
        let lock = self.skip_locked("r");
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {}
             FROM reminders r JOIN customers c ON c.id = r.customer_id
             WHERE r.status = 'active' AND r.next_due_at <= $1 AND c.archived_at IS NULL
             ORDER BY r.next_due_at, r.id LIMIT $2 {lock}",
            REMINDER_COLUMNS.replace("reminders.", "r.")
        ));
        let customer_sql = format!(
            "SELECT {} FROM customers WHERE id = $1",
            super::CUSTOMER_COLUMNS
        );
        let fired = on_pool!(&self.db, write, |pool| claim_due!(
            self, pool, sql, now_ms, limit,
            |tx| read: |row| {
                let reminder = reminder_from_row!(row);
                let customer_row = sqlx::query(sqlx::AssertSqlSafe(customer_sql.clone()))
                    .bind(reminder.customer_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let states = if reminder.kind == "item_due" {
                    let rows = sqlx::query(
                        "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note,
                                evidence_count
                         FROM item_states WHERE customer_id = $1",
                    )
                    .bind(reminder.customer_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut states = States::with_capacity(rows.len());
                    for row in &rows {
                        let (key, state) = item_state_from_row!(row);
                        states.insert(key, state);
                    }
                    Some(states)
                } else {
                    None
                };
                DueReminder {
                    reminder,
                    customer: customer_from_row!(&customer_row),
                    states,
                }
            },
            fire: |item| {
                let firing = fire(item);
                for post in &firing.enqueue {
                    let inserted = enqueue!(&mut *tx, post, now_ms)?.rows_affected();
                    if inserted == 0 && matches!(post.post, Post::Digest(_)) {
                        sqlx::query(rearm_statement())
                            .bind(&post.key)
                            .bind(now_ms)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(
                    "UPDATE reminders SET occurrence = occurrence + 1, next_due_at = $2,
                         status = CASE WHEN $2 IS NULL THEN 'done' ELSE status END
                     WHERE id = $1",
                )
                .bind(item.reminder.id)
                .bind(firing.next_due_at)
                .execute(&mut *tx)
                .await?;
                firing.audit
            },
        ));
        if fired > 0 {
            self.wake_outbox();
        }
        Ok(fired)
    }
}
