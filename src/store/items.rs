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

/// One direction of a tick: what it does to the items and to their due-date
/// reminders. Ticking and unticking run the same steps, [`TICK`] and [`UNTICK`] say
/// with which statements. Each statement changes many items (or their reminders) at
/// once: its rows go between its two halves as a `VALUES` list, whose columns both
/// databases name `column1`, `column2`, ….
pub(super) struct TickDirection {
    /// The item's state after the change, in the audit entry.
    pub(super) done: bool,
    pub(super) action: &'static str,
    /// Changes the items of rows (customer, key, user, now); returns the
    /// `(customer_id, item_key)` of those it changed. An item already so is left
    /// alone, which makes a retried request change nothing.
    pub(super) set_items: (&'static str, &'static str),
    /// Stops or resumes the reminders of the items of rows (customer, key, now);
    /// returns their `(id, customer_id, item_key)`.
    pub(super) set_reminders: (&'static str, &'static str),
    pub(super) reminder_action: &'static str,
}

/// Makes sure an item has its row before a change reads it back (locked on
/// PostgreSQL): binds customer, item key, who and when (Unix ms).
pub(super) const ENSURE_ITEM_ROW: &str =
    "INSERT INTO item_states (customer_id, item_key, updated_by, updated_at)
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// A tick keeps its first who and when; it cancels the item's active reminders.
/// (`WHERE true` tells SQLite's parser that `ON CONFLICT` is the upsert's.)
pub(super) const TICK: TickDirection = TickDirection {
    done: true,
    action: "item.ticked",
    set_items: (
        "INSERT INTO item_states (customer_id, item_key, done_by, done_at, updated_by, updated_at)
         SELECT column1, column2, column3, column4, column3, column4 FROM (",
        ") AS t WHERE true
         ON CONFLICT (customer_id, item_key) DO UPDATE
         SET done_by = excluded.done_by, done_at = excluded.done_at,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at
         WHERE item_states.done_at IS NULL
         RETURNING customer_id, item_key",
    ),
    set_reminders: (
        "UPDATE reminders SET status = 'cancelled' FROM (",
        ") AS t WHERE reminders.customer_id = t.column1 AND reminders.item_key = t.column2
           AND reminders.status = 'active'
         RETURNING id, customer_id, item_key",
    ),
    reminder_action: "reminder.cancelled",
};

/// An untick brings back the cancelled reminders still ahead.
pub(super) const UNTICK: TickDirection = TickDirection {
    done: false,
    action: "item.unticked",
    set_items: (
        "UPDATE item_states SET done_by = NULL, done_at = NULL,
             updated_by = t.column3, updated_at = t.column4
         FROM (",
        ") AS t WHERE item_states.customer_id = t.column1 AND item_states.item_key = t.column2
           AND item_states.done_at IS NOT NULL
         RETURNING customer_id, item_key",
    ),
    set_reminders: (
        "UPDATE reminders SET status = 'active' FROM (",
        ") AS t WHERE reminders.customer_id = t.column1 AND reminders.item_key = t.column2
           AND reminders.status = 'cancelled' AND reminders.next_due_at > t.column3
         RETURNING id, customer_id, item_key",
    ),
    reminder_action: "reminder.resumed",
};

/// Rows in one tick statement at most (four parameters each), well under either
/// database's limit on parameters.
pub(super) const TICK_ROWS_PER_STATEMENT: usize = 500;

/// One request's ticks and unticks, as [`tick_statements!`] writes them.
pub(super) struct TickChanges {
    /// The customer's workspace, for the audit entries.
    pub(super) team_id: String,
    pub(super) customer_id: i64,
    pub(super) ticked: Vec<String>,
    pub(super) unticked: Vec<String>,
    pub(super) user: String,
    pub(super) source: Source,
    pub(super) now_ms: i64,
}

/// One key of one request, to tick or untick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TickAttempt<'a> {
    /// The request's place in the batch.
    pub(super) request: usize,
    pub(super) customer_id: i64,
    pub(super) key: &'a str,
    pub(super) done: bool,
}

/// A batch's ticks and unticks in the order they were asked for (each request's
/// ticks, then its unticks), and the same grouped in rounds: round `n` holds each
/// item's `n`th attempt, by its place in `attempts`. An item appears at most once in
/// a round, so a round's statements may change all its items at once, in any order
/// (and PostgreSQL refuses an upsert that meets a row twice); an item's attempts stay
/// in order, one round after another.
pub(super) struct TickPlan<'a> {
    pub(super) attempts: Vec<TickAttempt<'a>>,
    pub(super) rounds: Vec<Vec<usize>>,
}

pub(super) fn plan_ticks(batch: &[TickChanges]) -> TickPlan<'_> {
    let attempts: Vec<TickAttempt<'_>> = batch
        .iter()
        .enumerate()
        .flat_map(|(request, r)| {
            let ticks = r.ticked.iter().map(|key| (key, true));
            let unticks = r.unticked.iter().map(|key| (key, false));
            ticks.chain(unticks).map(move |(key, done)| TickAttempt {
                request,
                customer_id: r.customer_id,
                key: key.as_str(),
                done,
            })
        })
        .collect();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashMap<(i64, &str), usize> = HashMap::new();
    for (place, a) in attempts.iter().enumerate() {
        let count = seen.entry((a.customer_id, a.key)).or_default();
        if rounds.len() <= *count {
            rounds.push(Vec::new());
        }
        rounds[*count].push(place);
        *count += 1;
    }
    TickPlan { attempts, rounds }
}

/// What the statements did to each attempt: `None` if its item was already so,
/// else the ids of the reminders it stopped or resumed.
pub(super) type TickOutcomes = Vec<Option<Vec<i64>>>;

/// Each request's changed keys, in the order asked, and the audit entries of the
/// whole batch in that order (an item's entry, then its reminders' by id).
pub(super) fn tick_results(
    batch: &[TickChanges],
    attempts: &[TickAttempt<'_>],
    outcomes: TickOutcomes,
) -> (Vec<Vec<String>>, Vec<audit::AuditEntry>) {
    let mut changed = vec![Vec::new(); batch.len()];
    let mut entries = Vec::new();
    let done = |d: bool| Some(serde_json::json!({ "done": d }));
    for (attempt, outcome) in attempts.iter().zip(outcomes) {
        let Some(mut reminders) = outcome else {
            continue;
        };
        let r = &batch[attempt.request];
        let actor = Actor::new(&r.user, r.source);
        let direction = if attempt.done { &TICK } else { &UNTICK };
        entries.push(
            actor
                .entry(
                    &r.team_id,
                    Some(r.customer_id),
                    direction.action,
                    attempt.key,
                    r.now_ms,
                )
                .with(done(!attempt.done), done(attempt.done)),
        );
        reminders.sort_unstable();
        for id in reminders {
            entries.push(actor.entry(
                &r.team_id,
                Some(r.customer_id),
                direction.reminder_action,
                &format!("R-{id}"),
                r.now_ms,
            ));
        }
        changed[attempt.request].push(attempt.key.to_string());
    }
    (changed, entries)
}

/// The statements of a batch of requests' ticks inside transaction `$tx`, a round
/// ([`plan_ticks`]) at a time: for each direction, one statement changes the
/// round's items and one the reminders of those it changed. Evaluates to each
/// request's changed keys and the audit entries of the changes, for the caller to
/// append ([`audit::append_audits!`]) once its other changes are made. A key ticked
/// twice keeps its first who and when.
///
/// A statement for many items instead of one per item: on SQLite, every statement
/// is a round trip to the connection's worker thread, and under load these were
/// most of a tick's thread switches.
macro_rules! tick_statements {
    ($tx:expr, $batch:expr) => {{
        let batch: &[$crate::store::items::TickChanges] = $batch;
        let plan = $crate::store::items::plan_ticks(batch);
        let attempts = &plan.attempts;
        let mut outcomes: $crate::store::items::TickOutcomes = vec![None; attempts.len()];
        for round in &plan.rounds {
            for direction in [&$crate::store::items::TICK, &$crate::store::items::UNTICK] {
                let todo: Vec<usize> = round
                    .iter()
                    .copied()
                    .filter(|&place| attempts[place].done == direction.done)
                    .collect();
                // A chunk is at most a few hundred rows: a scan finds each one that
                // a statement returns.
                let place_of = |chunk: &[usize], customer_id: i64, key: &str| {
                    chunk.iter().copied().find(|&place| {
                        attempts[place].customer_id == customer_id && attempts[place].key == key
                    })
                };
                for chunk in todo.chunks($crate::store::items::TICK_ROWS_PER_STATEMENT) {
                    let mut query = sqlx::QueryBuilder::new(direction.set_items.0);
                    query.push_values(chunk, |mut row, &place| {
                        let a = &attempts[place];
                        let r = &batch[a.request];
                        row.push_bind(a.customer_id)
                            .push_bind(a.key)
                            .push_bind(r.user.as_str())
                            .push_bind(r.now_ms);
                    });
                    query.push(direction.set_items.1);
                    let rows: Vec<(i64, String)> =
                        query.build_query_as().fetch_all(&mut *$tx).await?;
                    for (customer_id, key) in rows {
                        if let Some(place) = place_of(chunk, customer_id, &key) {
                            outcomes[place] = Some(Vec::new());
                        }
                    }
                }
                let changed: Vec<usize> = todo
                    .into_iter()
                    .filter(|&place| outcomes[place].is_some())
                    .collect();
                for chunk in changed.chunks($crate::store::items::TICK_ROWS_PER_STATEMENT) {
                    let mut query = sqlx::QueryBuilder::new(direction.set_reminders.0);
                    query.push_values(chunk, |mut row, &place| {
                        let a = &attempts[place];
                        row.push_bind(a.customer_id)
                            .push_bind(a.key)
                            .push_bind(batch[a.request].now_ms);
                    });
                    query.push(direction.set_reminders.1);
                    let rows: Vec<(i64, i64, String)> =
                        query.build_query_as().fetch_all(&mut *$tx).await?;
                    for (id, customer_id, key) in rows {
                        if let Some(place) = place_of(chunk, customer_id, &key)
                            && let Some(ids) = &mut outcomes[place]
                        {
                            ids.push(id);
                        }
                    }
                }
            }
        }
        $crate::store::items::tick_results(batch, attempts, outcomes)
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
        if ticked.is_empty() && unticked.is_empty() {
            return Ok(Vec::new());
        }
        let changes = TickChanges {
            team_id: customer.team_id.clone(),
            customer_id: customer.id,
            ticked: ticked.to_vec(),
            unticked: unticked.to_vec(),
            user: user.to_string(),
            source,
            now_ms: ms(now),
        };
        if let Some(queue) = &self.ticks {
            let (reply, answer) = oneshot::channel();
            let closed = || sqlx::Error::PoolClosed;
            let request = TickRequest { changes, reply };
            queue.send(request).await.map_err(|_| closed())?;
            return answer
                .await
                .map_err(|_| closed())?
                .map_err(sqlx::Error::Protocol);
        }
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let (mut changed, entries) = tick_statements!(tx, std::slice::from_ref(&changes));
            let changed = changed.pop().unwrap_or_default();
            if !changed.is_empty() {
                sqlx::query(BUMP_VERSION)
                    .bind(changes.customer_id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    fn request(customer_id: i64, ticked: &[&str], unticked: &[&str]) -> TickChanges {
        TickChanges {
            team_id: "T1".into(),
            customer_id,
            ticked: keys(ticked),
            unticked: keys(unticked),
            user: "U1".into(),
            source: Source::Button,
            now_ms: 1_000,
        }
    }

    #[test]
    fn an_item_clicked_twice_in_a_batch_waits_for_the_next_round() {
        // Customer 1 ticks sso and scim, customer 2 ticks sso, then customer 1
        // unticks sso: only that last one is an item seen before.
        let batch = [
            request(1, &["sso", "scim"], &[]),
            request(2, &["sso"], &[]),
            request(1, &[], &["sso"]),
        ];
        let plan = plan_ticks(&batch);
        let attempts: Vec<(usize, i64, &str, bool)> = plan
            .attempts
            .iter()
            .map(|a| (a.request, a.customer_id, a.key, a.done))
            .collect();
        assert_eq!(
            attempts,
            vec![
                (0, 1, "sso", true),
                (0, 1, "scim", true),
                (1, 2, "sso", true),
                (2, 1, "sso", false)
            ]
        );
        assert_eq!(plan.rounds, vec![vec![0, 1, 2], vec![3]]);
    }

    #[test]
    fn results_come_back_in_the_order_asked_with_reminders_by_id() {
        let batch = [request(1, &["sso", "scim"], &[]), request(1, &[], &["sso"])];
        let plan = plan_ticks(&batch);
        // sso ticked (cancelling reminders 9 and 4), scim already ticked, sso unticked.
        let outcomes = vec![Some(vec![9, 4]), None, Some(vec![])];
        let (changed, entries) = tick_results(&batch, &plan.attempts, outcomes);
        assert_eq!(changed, vec![keys(&["sso"]), keys(&["sso"])]);
        let said: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.action.as_str(), e.subject.as_str()))
            .collect();
        assert_eq!(
            said,
            vec![
                ("item.ticked", "sso"),
                ("reminder.cancelled", "R-4"),
                ("reminder.cancelled", "R-9"),
                ("item.unticked", "sso"),
            ]
        );
    }

    proptest! {
        /// The attempts are the requests' ticks then unticks, in order; every one
        /// lands in exactly one round, no round holds an item twice, and an item's
        /// attempts keep their order from round to round.
        #[test]
        fn rounds_hold_each_item_once_and_keep_its_order(
            requests in proptest::collection::vec(
                (0i64..3, proptest::collection::vec(0u8..4, 0..4), proptest::collection::vec(0u8..4, 0..4)),
                0..12,
            )
        ) {
            let name = |k: &u8| format!("k{k}");
            let batch: Vec<TickChanges> = requests
                .iter()
                .map(|(c, t, u)| TickChanges {
                    ticked: t.iter().map(name).collect(),
                    unticked: u.iter().map(name).collect(),
                    ..request(*c, &[], &[])
                })
                .collect();
            let plan = plan_ticks(&batch);
            let asked: Vec<(usize, String, bool)> = batch
                .iter()
                .enumerate()
                .flat_map(|(i, r)| {
                    let ticks = r.ticked.iter().map(move |k| (i, k.clone(), true));
                    ticks.chain(r.unticked.iter().map(move |k| (i, k.clone(), false)))
                })
                .collect();
            let planned: Vec<(usize, String, bool)> = plan
                .attempts
                .iter()
                .map(|a| (a.request, a.key.to_string(), a.done))
                .collect();
            prop_assert_eq!(planned, asked);
            let mut places: Vec<usize> = plan.rounds.iter().flatten().copied().collect();
            places.sort_unstable();
            prop_assert_eq!(places, (0..plan.attempts.len()).collect::<Vec<_>>());
            let mut last_place: HashMap<(i64, &str), usize> = HashMap::new();
            for round in &plan.rounds {
                let mut in_round = std::collections::HashSet::new();
                for &place in round {
                    let a = &plan.attempts[place];
                    prop_assert!(in_round.insert((a.customer_id, a.key)));
                    if let Some(before) = last_place.insert((a.customer_id, a.key), place) {
                        prop_assert!(before < place);
                    }
                }
            }
        }
    }
}
