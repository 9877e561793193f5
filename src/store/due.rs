//! The claim the scheduler's due rows share (SLA timers and reminders): in one
//! transaction, select what is due, read each row, let the caller fire each (record
//! its posts, move or end the row), then append the audit entries the firings made,
//! tell the other replicas, and commit. On PostgreSQL the caller's SELECT ends in
//! `FOR UPDATE … SKIP LOCKED`, so replicas take disjoint rows; the lock is the lease
//! and ends with the transaction, so a replica killed mid-firing leaves its rows to
//! the others at once.

/// Runs one claim on `$pool` (either dialect) and evaluates to the rows claimed.
/// `$select` binds `$1` to `$now_ms` and `$2` to `$limit`. The open transaction is
/// named `$tx` for the two bodies: `read` turns `$row` into an item (a `?` returns
/// from the claim), `fire` fires one `$item` and evaluates to `Option<AuditEntry>`.
macro_rules! claim_due {
    (
        $store:expr, $pool:expr, $select:expr, $now_ms:expr, $limit:expr,
        |$tx:ident| read: |$row:ident| $read:expr,
        fire: |$item:ident| $fire:expr $(,)?
    ) => {{
        let mut $tx = $pool.begin().await?;
        let rows = sqlx::query($select)
            .bind($now_ms)
            .bind($limit)
            .fetch_all(&mut *$tx)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for $row in &rows {
            claimed.push($read);
        }
        let mut entries: Vec<$crate::store::audit::AuditEntry> = Vec::new();
        for $item in &claimed {
            let entry: Option<$crate::store::audit::AuditEntry> = $fire;
            entries.extend(entry);
        }
        $crate::store::audit::append_audits!(&mut *$tx, &entries)?;
        if !claimed.is_empty()
            && let Some(notify) = $store.notify_sql()
        {
            sqlx::query(notify).execute(&mut *$tx).await?;
        }
        $tx.commit().await?;
        claimed.len()
    }};
}
pub(super) use claim_due;

use sqlx::Row;

use super::Db;

impl super::Store {
    /// When the scheduler's next due row is due (Unix ms), if any: the earliest SLA
    /// timer or active reminder of a customer that is not archived. Index lookups,
    /// not scans.
    pub async fn next_due_row(&self) -> Result<Option<i64>, sqlx::Error> {
        let earliest = |sql: &'static str| async move {
            on_pool!(&self.db, read, |pool| sqlx::query(sql)
                .fetch_one(pool)
                .await?
                .try_get::<Option<i64>, _>("due"))
        };
        let timer = earliest("SELECT MIN(due_at) AS due FROM timers WHERE due_at IS NOT NULL");
        let reminder = earliest(
            "SELECT MIN(r.next_due_at) AS due FROM reminders r
             JOIN customers c ON c.id = r.customer_id
             WHERE r.status = 'active' AND c.archived_at IS NULL",
        );
        Ok([timer.await?, reminder.await?].into_iter().flatten().min())
    }

    /// How a claim's SELECT ends: on PostgreSQL it locks the rows of `tables` and
    /// skips those another replica holds; SQLite has one writer and needs nothing.
    pub(super) fn skip_locked(&self, tables: &str) -> String {
        match &self.db {
            Db::Sqlite { .. } => String::new(),
            Db::Postgres(_) => format!("FOR UPDATE OF {tables} SKIP LOCKED"),
        }
    }
}
