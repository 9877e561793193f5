//! Checklist items: their states (ticks, assignees, due dates, notes, N/A) and the
//! changes to them.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use tokio::sync::oneshot;

use super::audit::{self, Actor, Source, append_audit};
use super::tick_writer::TickRequest;
use super::{Db, Store, ms};
use crate::domain::checklist::{ItemState, States};
use crate::domain::customer::Customer;

/// One direction of a tick: what it does to the item and to the item's due-date
/// reminders. Ticking and unticking run the same steps, [`TICK`] and [`UNTICK`] say
/// with which statements.
pub(super) struct TickDirection {
    /// The item's state after the change, in the audit entry.
    pub(super) done: bool,
    pub(super) action: &'static str,
    /// Changes the item (`$1` customer, `$2` key, `$3` user, `$4` now); affects no
    /// row when the item already is so, which makes a retried request change nothing.
    pub(super) set_item: &'static str,
    /// Stops or resumes the item's reminders, returning their ids (`$1` customer,
    /// `$2` key and, if `reminders_after_now`, `$3` now).
    pub(super) set_reminders: &'static str,
    pub(super) reminders_after_now: bool,
    pub(super) reminder_action: &'static str,
}

/// Makes sure an item has its row before a change reads it back (locked on
/// PostgreSQL): binds customer, item key, who and when (Unix ms).
pub(super) const ENSURE_ITEM_ROW: &str =
    "INSERT INTO item_states (customer_id, item_key, updated_by, updated_at)
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// A tick keeps its first who and when; it cancels the item's active reminders.
pub(super) const TICK: TickDirection = TickDirection {
    done: true,
    action: "item.ticked",
    set_item:
        "INSERT INTO item_states (customer_id, item_key, done_by, done_at, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $3, $4)
         ON CONFLICT (customer_id, item_key) DO UPDATE
         SET done_by = excluded.done_by, done_at = excluded.done_at,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at
         WHERE item_states.done_at IS NULL",
    set_reminders: "UPDATE reminders SET status = 'cancelled'
         WHERE customer_id = $1 AND item_key = $2 AND status = 'active' RETURNING id",
    reminders_after_now: false,
    reminder_action: "reminder.cancelled",
};

/// An untick brings back the cancelled reminders still ahead.
pub(super) const UNTICK: TickDirection = TickDirection {
    done: false,
    action: "item.unticked",
    set_item:
        "UPDATE item_states SET done_by = NULL, done_at = NULL, updated_by = $3, updated_at = $4
         WHERE customer_id = $1 AND item_key = $2 AND done_at IS NOT NULL",
    set_reminders: "UPDATE reminders SET status = 'active'
         WHERE customer_id = $1 AND item_key = $2 AND status = 'cancelled'
           AND next_due_at > $3 RETURNING id",
    reminders_after_now: true,
    reminder_action: "reminder.resumed",
};

/// The statements of one request's ticks inside transaction `$tx`; evaluates to the
/// keys whose state changed and the audit entries of those changes, for the caller to
/// append ([`audit::append_audits!`]) once its other changes are made. A key ticked
/// twice keeps its first who and when.
macro_rules! tick_statements {
    ($tx:expr, $team:expr, $customer:expr, $ticked:expr, $unticked:expr, $user:expr, $source:expr, $now:expr) => {{
        let team_id: &str = $team;
        let ticked: &[String] = $ticked;
        let unticked: &[String] = $unticked;
        let mut changed: Vec<String> = Vec::new();
        // Each change is audited in the same transaction, with the reminders it
        // cancels or resumes.
        let mut entries: Vec<audit::AuditEntry> = Vec::new();
        let actor = Actor::new($user, $source);
        let done = |d: bool| Some(serde_json::json!({ "done": d }));
        for (direction, keys) in [(&$crate::store::items::TICK, ticked), (&$crate::store::items::UNTICK, unticked)] {
            for key in keys {
                let n = sqlx::query(direction.set_item)
                    .bind($customer)
                    .bind(key)
                    .bind($user)
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    continue;
                }
                entries.push(
                    actor
                        .entry(team_id, Some($customer), direction.action, key, $now)
                        .with(done(!direction.done), done(direction.done)),
                );
                // One statement changes them and says which: `RETURNING` gives no
                // order, and the audit lists them by id.
                let update = sqlx::query_scalar(direction.set_reminders).bind($customer).bind(key);
                let update = if direction.reminders_after_now { update.bind($now) } else { update };
                let mut reminders: Vec<i64> = update.fetch_all(&mut *$tx).await?;
                reminders.sort_unstable();
                for id in reminders {
                    entries.push(actor.entry(
                        team_id,
                        Some($customer),
                        direction.reminder_action,
                        &format!("R-{id}"),
                        $now,
                    ));
                }
                changed.push(key.clone());
            }
        }
        (changed, entries)
    }};
}
pub(super) use tick_statements;

/// What a change to one item's fields did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUpdate {
    pub before: ItemState,
    pub after: ItemState,
}
/// An item's editable state as the audit log shows it.
fn item_json(state: &ItemState) -> serde_json::Value {
    serde_json::json!({
        "assignee": state.assignee,
        "due": state.due.map(|d| d.to_string()),
        "note": state.note,
        "not_applicable": state.not_applicable,
    })
}

/// A change to the editable fields of an item (not its tick); `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemChange {
    pub assignee: Option<Option<String>>,
    pub due: Option<Option<NaiveDate>>,
    pub note: Option<Option<String>>,
    pub not_applicable: Option<bool>,
}

impl ItemChange {
    pub fn apply(&self, before: &ItemState) -> ItemState {
        ItemState {
            assignee: self
                .assignee
                .clone()
                .unwrap_or_else(|| before.assignee.clone()),
            due: self.due.unwrap_or(before.due),
            note: self.note.clone().unwrap_or_else(|| before.note.clone()),
            not_applicable: self.not_applicable.unwrap_or(before.not_applicable),
            ..before.clone()
        }
    }
}

/// Every change to a customer's checklist bumps its version (see `stale_messages`).
pub(super) const BUMP_VERSION: &str = "UPDATE customers SET version = version + 1 WHERE id = $1";

const SELECT_ITEM: &str =
    "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note, evidence_count
     FROM item_states WHERE customer_id = $1 AND item_key = $2";

impl Store {
    /// One customer's checklist state (shared: clone it to change it).
    pub async fn item_states(&self, customer_id: i64) -> Result<Arc<States>, sqlx::Error> {
        let Some(cache) = &self.cache else {
            return Ok(Arc::new(self.item_states_from_db(customer_id).await?));
        };
        match cache.states(customer_id) {
            Ok(states) => Ok(states),
            Err(generation) => {
                let states = Arc::new(self.item_states_from_db(customer_id).await?);
                cache.keep_states(customer_id, generation, states.clone());
                Ok(states)
            }
        }
    }

    /// The state as committed, bypassing the cache (which is updated just after each
    /// commit): for rendering a message that will be marked current at a version read
    /// before this call.
    pub async fn item_states_committed(
        &self,
        customer_id: i64,
    ) -> Result<Arc<States>, sqlx::Error> {
        Ok(Arc::new(self.item_states_from_db(customer_id).await?))
    }

    async fn item_states_from_db(&self, customer_id: i64) -> Result<States, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note, evidence_count
                 FROM item_states WHERE customer_id = $1",
            )
            .bind(customer_id)
            .fetch_all(pool)
            .await?;
            let mut states = HashMap::with_capacity(rows.len());
            for row in &rows {
                let (key, state) = item_state_from_row!(row);
                states.insert(key, state);
            }
            Ok(states)
        })
    }

    /// Every customer's states in the workspace, for progress lists.
    pub async fn team_item_states(
        &self,
        team_id: &str,
    ) -> Result<HashMap<i64, States>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT s.customer_id, s.item_key, s.done_by, s.done_at, s.not_applicable,
                        s.assignee, s.due_date, s.note, s.evidence_count
                 FROM item_states s JOIN customers c ON c.id = s.customer_id
                 WHERE c.team_id = $1",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await?;
            let mut all: HashMap<i64, States> = HashMap::new();
            for row in &rows {
                let customer: i64 = row.try_get("customer_id")?;
                let (key, state) = item_state_from_row!(row);
                all.entry(customer).or_default().insert(key, state);
            }
            Ok(all)
        })
    }

    /// The states of the given customers of a workspace: from the cache on SQLite (one
    /// load per customer, then none), in one query on PostgreSQL.
    pub async fn states_of(
        &self,
        team_id: &str,
        customer_ids: &[i64],
    ) -> Result<HashMap<i64, Arc<States>>, sqlx::Error> {
        if self.cache.is_some() {
            let mut all = HashMap::with_capacity(customer_ids.len());
            for id in customer_ids {
                all.insert(*id, self.item_states(*id).await?);
            }
            return Ok(all);
        }
        let wanted: std::collections::HashSet<i64> = customer_ids.iter().copied().collect();
        Ok(self
            .team_item_states(team_id)
            .await?
            .into_iter()
            .filter(|(id, _)| wanted.contains(id))
            .map(|(id, states)| (id, Arc::new(states)))
            .collect())
    }

    /// Ticks and unticks `customer`'s items (its workspace goes in the audit entries);
    /// returns the keys whose state changed. A key ticked
    /// twice keeps its first who and when, so a retried request changes nothing.
    pub async fn set_done(
        &self,
        customer: &Customer,
        ticked: &[String],
        unticked: &[String],
        user: &str,
        source: Source,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let (team_id, customer_id) = (customer.team_id.as_str(), customer.id);
        let now_ms = ms(now);
        if ticked.is_empty() && unticked.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(queue) = &self.ticks {
            let (reply, answer) = oneshot::channel();
            let request = TickRequest {
                team_id: team_id.to_string(),
                customer_id,
                ticked: ticked.to_vec(),
                unticked: unticked.to_vec(),
                user: user.to_string(),
                source,
                now_ms,
                reply,
            };
            let closed = || sqlx::Error::PoolClosed;
            queue.send(request).await.map_err(|_| closed())?;
            return answer
                .await
                .map_err(|_| closed())?
                .map_err(sqlx::Error::Protocol);
        }
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let (changed, entries) = tick_statements!(
                tx,
                team_id,
                customer_id,
                ticked,
                unticked,
                user,
                source,
                now_ms
            );
            if !changed.is_empty() {
                sqlx::query(BUMP_VERSION)
                    .bind(customer_id)
                    .execute(&mut *tx)
                    .await?;
            }
            // Last, so the chain's lock is the last one this transaction takes.
            audit::append_audits!(&mut *tx, &entries)?;
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Changes an item's assignee, due date, note or N/A flag (the fields given in
    /// `change`; the others are kept); returns the state before and after.
    pub async fn change_item(
        &self,
        customer_id: i64,
        key: &str,
        change: &ItemChange,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<ItemUpdate, sqlx::Error> {
        let now_ms = ms(now);
        // The row is locked while read-modify-write runs, so two people changing
        // different fields of one item at once both keep their change.
        let select = self.for_update(SELECT_ITEM);
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(ENSURE_ITEM_ROW)
                .bind(customer_id)
                .bind(key)
                .bind(actor.user)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(customer_id)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
            let before = item_state_from_row!(&row).1;
            let after = change.apply(&before);
            if after != before {
                // A due date or assignee a person changes is theirs from now on: the
                // plan (`store::plan`) no longer moves it.
                sqlx::query(
                    "UPDATE item_states
                     SET assignee = $3, due_date = $4, note = $5, not_applicable = $6,
                         updated_by = $7, updated_at = $8,
                         due_planned = due_planned * $9,
                         assignee_planned = assignee_planned * $10
                     WHERE customer_id = $1 AND item_key = $2",
                )
                .bind(customer_id)
                .bind(key)
                .bind(&after.assignee)
                .bind(after.due.map(|d| d.format("%Y-%m-%d").to_string()))
                .bind(&after.note)
                .bind(i64::from(after.not_applicable))
                .bind(actor.user)
                .bind(now_ms)
                .bind(i64::from(after.due == before.due))
                .bind(i64::from(after.assignee == before.assignee))
                .execute(&mut *tx)
                .await?;
                sqlx::query(BUMP_VERSION)
                    .bind(customer_id)
                    .execute(&mut *tx)
                    .await?;
                let team_id: String = sqlx::query("SELECT team_id FROM customers WHERE id = $1")
                    .bind(customer_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("team_id")?;
                let entry = actor
                    .entry(&team_id, Some(customer_id), "item.changed", key, now_ms)
                    .with(Some(item_json(&before)), Some(item_json(&after)));
                append_audit!(&mut *tx, &entry)?;
            }
            tx.commit().await?;
            if let Some(cache) = &self.cache
                && after != before
            {
                // Forget rather than patch: two edits may reach this point out of
                // commit order, and the next read reloads what was committed.
                cache.forget_states(customer_id);
            }
            Ok(ItemUpdate { before, after })
        })
    }
}
