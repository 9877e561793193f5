//! Evidence attached to checklist items: added (with its audit entry, the item's
//! count and the customer's version in one transaction) and read back, per item for
//! the item modal and per customer for the export.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::audit::{Actor, append_audits};
use super::items::BUMP_VERSION;
use super::{Db, Store, ms};
use crate::domain::evidence::{Attachment, Evidence, EvidenceKind, MAX_PER_ITEM};

/// What adding evidence to an item did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceAdded {
    /// Stored; `total` is how many pieces the item now holds.
    Added { added: Vec<Evidence>, total: usize },
    /// Every link given was attached to the item already: nothing changed.
    AlreadyAttached,
    /// It would hold more than [`MAX_PER_ITEM`]: nothing changed. `holds` is how many
    /// it holds.
    Full { holds: usize },
}

const EVIDENCE_COLUMNS: &str =
    "id, team_id, customer_id, item_key, kind, url, file_id, file_name, note, added_by, added_at";

/// Returns [`EVIDENCE_COLUMNS`].
const INSERT_EVIDENCE: &str = "INSERT INTO evidence
        (team_id, customer_id, item_key, kind, url, file_id, file_name, note, added_by, added_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    RETURNING id, team_id, customer_id, item_key, kind, url, file_id, file_name, note, added_by, added_at";

const ITEM_COUNT: &str =
    "SELECT evidence_count FROM item_states WHERE customer_id = $1 AND item_key = $2";

/// Reads an [`Evidence`] out of a row of either dialect.
macro_rules! evidence_from_row {
    ($row:expr) => {{
        let row = $row;
        let kind: String = row.try_get("kind")?;
        Evidence {
            id: row.try_get("id")?,
            team_id: row.try_get("team_id")?,
            customer_id: row.try_get("customer_id")?,
            item_key: row.try_get("item_key")?,
            // Only this file writes the column, with `as_str`.
            kind: EvidenceKind::parse(&kind).unwrap_or(EvidenceKind::Link),
            url: row.try_get("url")?,
            file_id: row.try_get("file_id")?,
            file_name: row.try_get("file_name")?,
            note: row.try_get("note")?,
            added_by: row.try_get("added_by")?,
            added_at: row.try_get("added_at")?,
        }
    }};
}

impl Store {
    /// Attaches `attachments` to item `key` of customer `customer_id` (of `team_id`),
    /// each with `note`: the links not already on the item are stored, counted on the
    /// item (refused whole past [`MAX_PER_ITEM`]), audited (`item.evidence_added`, one
    /// entry a piece) and the customer's version bumped so its posted checklist is
    /// re-rendered.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_evidence(
        &self,
        team_id: &str,
        customer_id: i64,
        key: &str,
        attachments: &[Attachment],
        note: Option<&str>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<EvidenceAdded, sqlx::Error> {
        let now_ms = ms(now);
        // The item's row is locked while its count is read and raised, so two people
        // attaching at once cannot pass the limit together.
        let count_sql = self.for_update(ITEM_COUNT);
        let outcome = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(super::items::ENSURE_ITEM_ROW)
                .bind(customer_id)
                .bind(key)
                .bind(actor.user)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            let holds: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
                .bind(customer_id)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
            let holds = usize::try_from(holds).unwrap_or_default();
            let mut known: Vec<String> = sqlx::query_scalar(
                "SELECT url FROM evidence WHERE customer_id = $1 AND item_key = $2",
            )
            .bind(customer_id)
            .bind(key)
            .fetch_all(&mut *tx)
            .await?;
            let mut fresh = Vec::new();
            for attachment in attachments {
                if !known.contains(&attachment.url) {
                    known.push(attachment.url.clone());
                    fresh.push(attachment);
                }
            }
            if fresh.is_empty() {
                tx.rollback().await?;
                return Ok(EvidenceAdded::AlreadyAttached);
            }
            if holds + fresh.len() > MAX_PER_ITEM {
                tx.rollback().await?;
                return Ok(EvidenceAdded::Full { holds });
            }
            let mut added = Vec::with_capacity(fresh.len());
            for attachment in fresh {
                let row = sqlx::query(INSERT_EVIDENCE)
                    .bind(team_id)
                    .bind(customer_id)
                    .bind(key)
                    .bind(attachment.kind.as_str())
                    .bind(&attachment.url)
                    .bind(&attachment.file_id)
                    .bind(&attachment.file_name)
                    .bind(note)
                    .bind(actor.user)
                    .bind(now_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                added.push(evidence_from_row!(&row));
            }
            let total = holds + added.len();
            sqlx::query(
                "UPDATE item_states SET evidence_count = $3, updated_by = $4, updated_at = $5
                 WHERE customer_id = $1 AND item_key = $2",
            )
            .bind(customer_id)
            .bind(key)
            .bind(i64::try_from(total).unwrap_or(i64::MAX))
            .bind(actor.user)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query(BUMP_VERSION)
                .bind(customer_id)
                .execute(&mut *tx)
                .await?;
            let entries: Vec<_> = added
                .iter()
                .map(|e| {
                    actor
                        .entry(
                            team_id,
                            Some(customer_id),
                            "item.evidence_added",
                            key,
                            now_ms,
                        )
                        .with(None, Some(evidence_json(e)))
                })
                .collect();
            // Last, so the chain's lock is the last one this transaction takes.
            append_audits!(&mut *tx, &entries)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(EvidenceAdded::Added { added, total })
        })?;
        if let Some(cache) = &self.cache
            && matches!(outcome, EvidenceAdded::Added { .. })
        {
            // Forget rather than patch, as an item's change does.
            cache.forget_states(customer_id);
        }
        Ok(outcome)
    }

    /// Every piece of evidence of customer `customer_id` of `team_id`, by item key,
    /// then oldest first: for the export.
    pub async fn evidence_of_customer(
        &self,
        team_id: &str,
        customer_id: i64,
    ) -> Result<Vec<Evidence>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE team_id = $1 AND customer_id = $2
             ORDER BY item_key, added_at, id"
        ));
        let mut all: Vec<Evidence> = on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(team_id)
                .bind(customer_id)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| Ok(evidence_from_row!(row)))
                .collect::<Result<_, sqlx::Error>>()
        })?;
        // Item keys in the template's order (1.2.10 after 1.2.9), whatever the
        // database's collation says; the sort is stable, so time order stays.
        all.sort_by(|a, b| item_order(&a.item_key).cmp(&item_order(&b.item_key)));
        Ok(all)
    }

    /// The evidence of item `key` of customer `customer_id` of `team_id`, oldest
    /// first: for the item modal.
    pub async fn evidence_of_item(
        &self,
        team_id: &str,
        customer_id: i64,
        key: &str,
    ) -> Result<Vec<Evidence>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence
             WHERE team_id = $1 AND customer_id = $2 AND item_key = $3
             ORDER BY added_at, id"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(team_id)
                .bind(customer_id)
                .bind(key)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| Ok(evidence_from_row!(row))).collect()
        })
    }
}

/// An item key as numbers, for ordering (`1.2.10` after `1.2.9`); a part that is not
/// a number sorts after the numbers, by its text.
fn item_order(key: &str) -> Vec<(u64, &str)> {
    key.split('.')
        .map(|part| (part.parse::<u64>().unwrap_or(u64::MAX), part))
        .collect()
}

/// A piece of evidence as the audit log shows it.
fn evidence_json(e: &Evidence) -> serde_json::Value {
    serde_json::json!({
        "evidence": e.id,
        "kind": e.kind.as_str(),
        "url": e.url,
        "file_id": e.file_id,
        "file_name": e.file_name,
        "note": e.note,
    })
}

#[cfg(test)]
mod tests {
    use super::item_order;

    #[test]
    fn item_keys_order_as_numbers() {
        let mut keys = vec!["1.2.10", "1.2.9", "10.1.1", "2.1.1", "1.2.9.1"];
        keys.sort_by_key(|k| item_order(k));
        assert_eq!(keys, ["1.2.9", "1.2.9.1", "1.2.10", "2.1.1", "10.1.1"]);
    }
}
