//! The audit log: every change, appended with who, what (before and after), when and
//! where it came from. There is no update or delete here but the retention purge, and
//! the database's triggers refuse both for entries younger than 90 days (the seed's
//! minimum), whatever the policy says.
//!
//! Changes append their entry inside their own transaction where the store makes the
//! change ([`append_audit!`]), so an entry exists exactly when its change does.
//!
//! Tamper-evident: each entry carries the hash of the one before it (`prev_hash`) and
//! its own (`hash`, over that and its columns); `audit_head` holds the newest hash, and
//! `readiness verify-audit` walks the chain and names the first entry that does not
//! match. (Someone able to rewrite the whole table and the head can forge a new chain:
//! the export to a SIEM is the copy kept out of their reach.)

use serde::Serialize;
use sqlx::Row;

use super::{Db, Store};

/// The vocabulary of a change is pure data, defined in the domain.
pub use crate::domain::audit::{Actor, AuditEntry, AuditRecord, Source};

/// The `prev_hash` of the first entry of a chain that was never cut.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry's hash covers, as stored: every column but its id (the chain gives
/// the order) and the hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Chained<'a> {
    pub team_id: &'a str,
    pub customer_id: Option<i64>,
    pub actor: &'a str,
    pub source: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    /// The JSON text exactly as stored.
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub at: i64,
}

/// Hex SHA-256 over the previous entry's hash and this entry's columns (as a JSON
/// array, so no two different entries hash the same text).
pub fn chain_hash(prev_hash: &str, entry: &Chained<'_>) -> String {
    use sha2::{Digest, Sha256};
    let fields = serde_json::to_string(&(
        entry.team_id,
        entry.customer_id,
        entry.actor,
        entry.source,
        entry.action,
        entry.subject,
        entry.before,
        entry.after,
        entry.at,
    ))
    .expect("plain values serialize");
    hex::encode(
        Sha256::new()
            .chain_update(b"readiness audit v1\n")
            .chain_update(prev_hash.as_bytes())
            .chain_update(b"\n")
            .chain_update(fields.as_bytes())
            .finalize(),
    )
}

/// What `verify-audit` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainCheck {
    /// Entries whose hash and link matched.
    pub verified: u64,
    /// Entries from before the chain began (written by an older version), not covered.
    pub before_chain: u64,
    /// The first entry that does not match, and why.
    pub broken: Option<(i64, &'static str)>,
}

impl ChainCheck {
    fn broken(mut self, id: i64, why: &'static str) -> Self {
        self.broken = Some((id, why));
        self
    }
}

/// Appends `$entries` (a slice of [`AuditEntry`]) on `$executor`, a transaction of
/// either dialect (`&mut *tx`), each carrying the hash of the one before it.
///
/// The chain's head (`audit_head`, one row) is updated first: that takes its row
/// lock on PostgreSQL until the transaction ends, so appends from several replicas
/// take turns and never fork the chain (SQLite has one writer anyway), and ids, from
/// the same sequence, follow the chain. Call it once, after the transaction's other
/// changes, so the lock is held briefly and is the last one taken.
macro_rules! append_audits {
    ($executor:expr, $entries:expr) => {{
        let conn = $executor;
        let entries: &[$crate::store::audit::AuditEntry] = $entries;
        async {
            if entries.is_empty() {
                return Ok::<(), sqlx::Error>(());
            }
            let mut prev: String = sqlx::query_scalar(
                "UPDATE audit_head SET hash = hash WHERE id = 1 RETURNING hash",
            )
            .fetch_one(&mut *conn)
            .await?;
            // The chain is computed here, in order; the rows then go in a few
            // multi-row statements, since each statement is a round trip to the
            // database (on SQLite, to its worker thread), and a batch of ticks can
            // carry hundreds of entries.
            let mut rows = Vec::with_capacity(entries.len());
            for entry in entries {
                let before = entry.before.as_ref().map(|v| v.to_string());
                let after = entry.after.as_ref().map(|v| v.to_string());
                let hash = $crate::store::audit::chain_hash(
                    &prev,
                    &$crate::store::audit::Chained {
                        team_id: &entry.team_id,
                        customer_id: entry.customer_id,
                        actor: &entry.actor,
                        source: entry.source.as_str(),
                        action: &entry.action,
                        subject: &entry.subject,
                        before: before.as_deref(),
                        after: after.as_deref(),
                        at: entry.at,
                    },
                );
                let prev_hash = std::mem::replace(&mut prev, hash.clone());
                rows.push((entry, before, after, prev_hash, hash));
            }
            for chunk in rows.chunks($crate::store::audit::AUDIT_ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO audit_log (team_id, customer_id, actor, source, action, subject, before, after, at, prev_hash, hash) ",
                );
                insert.push_values(chunk, |mut row, (entry, before, after, prev_hash, hash)| {
                    row.push_bind(entry.team_id.as_str())
                        .push_bind(entry.customer_id)
                        .push_bind(entry.actor.as_str())
                        .push_bind(entry.source.as_str())
                        .push_bind(entry.action.as_str())
                        .push_bind(entry.subject.as_str())
                        .push_bind(before.as_deref())
                        .push_bind(after.as_deref())
                        .push_bind(entry.at)
                        .push_bind(prev_hash.as_str())
                        .push_bind(hash.as_str());
                });
                insert.build().execute(&mut *conn).await?;
            }
            sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                .bind(&prev)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
        .await
    }};
}
pub(super) use append_audits;

/// Audit rows in one `INSERT`: 11 values each, well inside SQLite's 32,766 bound
/// variables and PostgreSQL's 65,535.
pub(super) const AUDIT_ROWS_PER_INSERT: usize = 500;

/// Appends one `$entry` (an [`AuditEntry`]) on `$executor`, a transaction: see
/// [`append_audits!`].
macro_rules! append_audit {
    ($executor:expr, $entry:expr) => {{
        let entry: &$crate::store::audit::AuditEntry = $entry;
        $crate::store::audit::append_audits!($executor, std::slice::from_ref(entry))
    }};
}
pub(super) use append_audit;

macro_rules! audit_from_row {
    ($row:expr) => {{
        let row = $row;
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        AuditRecord {
            id: row.try_get("id")?,
            team_id: row.try_get("team_id")?,
            customer_id: row.try_get("customer_id")?,
            actor: row.try_get("actor")?,
            source: row.try_get("source")?,
            action: row.try_get("action")?,
            subject: row.try_get("subject")?,
            before: json(row.try_get("before")?),
            after: json(row.try_get("after")?),
            at: row.try_get("at")?,
        }
    }};
}

const AUDIT_COLUMNS: &str =
    "id, team_id, customer_id, actor, source, action, subject, before, after, at";

impl Store {
    /// Appends an entry for a change the store did not make itself (an escalation path
    /// set in Slack, a policy change seen at start).
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            append_audit!(&mut *tx, entry)?;
            tx.commit().await
        })
    }

    /// The newest entries of a workspace (of one customer, if given) since `since_ms`,
    /// newest first.
    pub async fn recent_audit(
        &self,
        team_id: &str,
        customer_id: Option<i64>,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE (team_id = $1 OR team_id = '*') AND ($2 = 0 OR customer_id = $2) AND at >= $3
             ORDER BY at DESC, id DESC LIMIT $4"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(team_id)
                .bind(customer_id.unwrap_or(0))
                .bind(since_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let mut record: AuditRecord = audit_from_row!(row);
                    // The operator's own entries (a changed policy, a rotated key) are
                    // seen by every workspace: that they happened, not what they hold.
                    if record.team_id == "*" {
                        record.before = None;
                        record.after = None;
                    }
                    Ok(record)
                })
                .collect()
        })
    }

    /// Entries at or after `since_ms` with an id above `after_id`, oldest first: one
    /// page of the export, which walks the log by id so memory stays flat.
    pub async fn audit_page(
        &self,
        since_ms: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE at >= $1 AND id > $2 ORDER BY id LIMIT $3"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(since_ms)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| Ok(audit_from_row!(row))).collect()
        })
    }

    /// Deletes entries older than `before_ms` (the retention period); returns how many.
    /// Only a prefix of the chain goes (the entries before the first one to keep), and
    /// the head remembers the hash the first kept entry must follow, so a cut anywhere
    /// else still shows.
    pub async fn purge_audit(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            // The chain's lock, as for an append.
            sqlx::query("UPDATE audit_head SET hash = hash WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            let keep_from: Option<i64> =
                sqlx::query_scalar("SELECT MIN(id) FROM audit_log WHERE at >= $1")
                    .bind(before_ms)
                    .fetch_one(&mut *tx)
                    .await?;
            let keep_from = keep_from.unwrap_or(i64::MAX);
            let last_gone: Option<String> = sqlx::query_scalar(
                "SELECT hash FROM audit_log WHERE id < $1 AND hash IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(keep_from)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            let gone = sqlx::query("DELETE FROM audit_log WHERE id < $1")
                .bind(keep_from)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if let Some(anchor) = last_gone {
                sqlx::query("UPDATE audit_head SET anchor = $1 WHERE id = 1")
                    .bind(anchor)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(gone)
        })
    }

    /// Walks the audit log's hash chain from its oldest entry to the head: the first
    /// entry that does not match, if any (`readiness verify-audit`).
    pub async fn verify_audit(&self) -> Result<ChainCheck, sqlx::Error> {
        const PAGE: i64 = 1_000;
        on_pool!(&self.db, read, |pool| {
            let head = sqlx::query("SELECT hash, anchor FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await?;
            let head_hash: String = head.try_get("hash")?;
            let anchor: String = head.try_get("anchor")?;
            let mut check = ChainCheck::default();
            // The hash the next entry must follow (None: before the first chained one).
            let mut expected: Option<String> = None;
            let mut last_id = 0_i64;
            loop {
                let rows = sqlx::query(
                    "SELECT id, team_id, customer_id, actor, source, action, subject, before, after, at, prev_hash, hash
                     FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(last_id)
                .bind(PAGE)
                .fetch_all(pool)
                .await?;
                for row in &rows {
                    let id: i64 = row.try_get("id")?;
                    last_id = id;
                    let hash: Option<String> = row.try_get("hash")?;
                    let prev_hash: Option<String> = row.try_get("prev_hash")?;
                    let (Some(hash), Some(prev_hash)) = (hash, prev_hash) else {
                        if expected.is_none() {
                            // Written before the chain began (an older version).
                            check.before_chain += 1;
                            continue;
                        }
                        return Ok(
                            check.broken(id, "it carries no hash: it was written around the chain")
                        );
                    };
                    let team_id: String = row.try_get("team_id")?;
                    let actor: String = row.try_get("actor")?;
                    let source: String = row.try_get("source")?;
                    let action: String = row.try_get("action")?;
                    let subject: String = row.try_get("subject")?;
                    let before: Option<String> = row.try_get("before")?;
                    let after: Option<String> = row.try_get("after")?;
                    let computed = chain_hash(
                        &prev_hash,
                        &Chained {
                            team_id: &team_id,
                            customer_id: row.try_get("customer_id")?,
                            actor: &actor,
                            source: &source,
                            action: &action,
                            subject: &subject,
                            before: before.as_deref(),
                            after: after.as_deref(),
                            at: row.try_get("at")?,
                        },
                    );
                    if computed != hash {
                        return Ok(
                            check.broken(id, "its contents do not match its hash: it was changed")
                        );
                    }
                    let follows = match &expected {
                        Some(previous) => *previous == prev_hash,
                        None if anchor.is_empty() => prev_hash == GENESIS,
                        None => prev_hash == anchor,
                    };
                    if !follows {
                        return Ok(check.broken(id, "it does not follow the entry before it: an entry before it was removed or changed"));
                    }
                    expected = Some(hash);
                    check.verified += 1;
                }
                if rows.len() < PAGE as usize {
                    break;
                }
            }
            let newest = expected.unwrap_or_else(|| {
                if anchor.is_empty() {
                    GENESIS.to_string()
                } else {
                    anchor.clone()
                }
            });
            if newest != head_hash {
                return Ok(check.broken(
                    last_id,
                    "the chain's head is not the newest entry: entries after it were removed",
                ));
            }
            Ok(check)
        })
    }

    /// The oldest entry's time, for the retention timer.
    pub async fn oldest_audit(&self) -> Result<Option<i64>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| sqlx::query(
            "SELECT MIN(at) AS at FROM audit_log"
        )
        .fetch_one(pool)
        .await?
        .try_get("at"))
    }
}
