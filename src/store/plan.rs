//! The onboarding plan's rows: who holds each role of a customer's onboarding team
//! (`/readiness team`), and the due dates and assignees the plan set. An item's
//! `due_planned` / `assignee_planned` flag says the plan set that field, so a re-plan
//! may move it; a field a person set (`store::items::change_item` clears the flag) or
//! any row from before the plan existed (the flags default to 0) is kept.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::audit::{Actor, append_audit};
use super::items::{BUMP_VERSION, ItemUpdate};
use super::{Db, Store, ms};
use crate::domain::customer::Customer;
use crate::domain::template::Owner;

/// What the plan wants for one item; `None` leaves that field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemPlan {
    pub key: String,
    /// The plan's due date (`Some(None)`: the plan has none, e.g. no go-live yet).
    pub due: Option<Option<NaiveDate>>,
    /// The plan's assignee (`Some(None)`: the role has nobody).
    pub assignee: Option<Option<String>>,
}

/// The team of a customer before and after a change, by role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamChange {
    pub before: Vec<(Owner, String)>,
    pub after: Vec<(Owner, String)>,
}

const SELECT_PLANNED: &str =
    "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note,
        evidence_count, due_planned, assignee_planned
     FROM item_states WHERE customer_id = $1 AND item_key = $2";

fn team_json(team: &[(Owner, String)]) -> serde_json::Value {
    let map: BTreeMap<&str, &str> = team.iter().map(|(r, u)| (r.as_str(), u.as_str())).collect();
    serde_json::json!(map)
}

fn planned_json(due: Option<NaiveDate>, assignee: &Option<String>) -> serde_json::Value {
    serde_json::json!({ "due": due.map(|d| d.to_string()), "assignee": assignee })
}

fn team_rows(rows: Vec<(String, String)>) -> Vec<(Owner, String)> {
    let mut team: Vec<(Owner, String)> = rows
        .into_iter()
        .filter_map(|(role, user)| Owner::parse(&role).map(|r| (r, user)))
        .collect();
    team.sort();
    team
}

impl Store {
    /// Who holds each role of `customer`'s onboarding team, in the roles' order.
    pub async fn onboarding_team(
        &self,
        customer: &Customer,
    ) -> Result<Vec<(Owner, String)>, sqlx::Error> {
        let rows: Vec<(String, String)> = on_pool!(&self.db, read, |pool| {
            sqlx::query_as(
                "SELECT role, user_id FROM onboarding_team WHERE team_id = $1 AND customer_id = $2",
            )
            .bind(&customer.team_id)
            .bind(customer.id)
            .fetch_all(pool)
            .await
        })?;
        Ok(team_rows(rows))
    }

    /// Names (or, with `None`, takes back) the holder of each role in `changes`, in one
    /// transaction audited as `customer.team` with the team before and after (nothing
    /// is written or audited when nothing changes).
    pub async fn set_onboarding_team(
        &self,
        customer: &Customer,
        changes: &[(Owner, Option<String>)],
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<TeamChange, sqlx::Error> {
        let now_ms = ms(now);
        let select =
            "SELECT role, user_id FROM onboarding_team WHERE team_id = $1 AND customer_id = $2";
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let before: Vec<(String, String)> = sqlx::query_as(select)
                .bind(&customer.team_id)
                .bind(customer.id)
                .fetch_all(&mut *tx)
                .await?;
            let before = team_rows(before);
            for (role, user) in changes {
                match user {
                    Some(user) => {
                        sqlx::query(
                            "INSERT INTO onboarding_team
                             (team_id, customer_id, role, user_id, named_by, named_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (team_id, customer_id, role) DO UPDATE SET
                             user_id = excluded.user_id, named_by = excluded.named_by,
                             named_at = excluded.named_at
                         WHERE onboarding_team.user_id <> excluded.user_id",
                        )
                        .bind(&customer.team_id)
                        .bind(customer.id)
                        .bind(role.as_str())
                        .bind(user)
                        .bind(actor.user)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?
                    }
                    None => {
                        sqlx::query(
                            "DELETE FROM onboarding_team
                         WHERE team_id = $1 AND customer_id = $2 AND role = $3",
                        )
                        .bind(&customer.team_id)
                        .bind(customer.id)
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await?
                    }
                };
            }
            let after: Vec<(String, String)> = sqlx::query_as(select)
                .bind(&customer.team_id)
                .bind(customer.id)
                .fetch_all(&mut *tx)
                .await?;
            let after = team_rows(after);
            if after != before {
                let entry = actor
                    .entry(
                        &customer.team_id,
                        Some(customer.id),
                        "customer.team",
                        &customer.slug,
                        now_ms,
                    )
                    .with(Some(team_json(&before)), Some(team_json(&after)));
                append_audit!(&mut *tx, &entry)?;
            }
            tx.commit().await?;
            Ok(TeamChange { before, after })
        })
    }

    /// Applies the plan to `customer`'s items in one transaction: each planned field is
    /// written (and marked as the plan's) where it is empty or the plan's already, and
    /// left alone where a person set it. The changes make one audit entry, `action`,
    /// listing each changed item before and after. Returns the items that changed.
    pub async fn plan_items(
        &self,
        customer: &Customer,
        plans: &[ItemPlan],
        action: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, ItemUpdate)>, sqlx::Error> {
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let now_ms = ms(now);
        // As in `change_item`: each row is locked while it is read and written.
        let select = self.for_update(SELECT_PLANNED);
        let changed = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let mut changed: Vec<(String, ItemUpdate)> = Vec::new();
            let mut before_json = serde_json::Map::new();
            let mut after_json = serde_json::Map::new();
            for plan in plans {
                sqlx::query(super::items::ENSURE_ITEM_ROW)
                    .bind(customer.id)
                    .bind(&plan.key)
                    .bind(actor.user)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
                    .bind(customer.id)
                    .bind(&plan.key)
                    .fetch_one(&mut *tx)
                    .await?;
                let before = item_state_from_row!(&row).1;
                let mut due_planned = row.try_get::<i64, _>("due_planned")? != 0;
                let mut assignee_planned = row.try_get::<i64, _>("assignee_planned")? != 0;
                let mut after = before.clone();
                if let Some(due) = plan.due
                    && (before.due.is_none() || due_planned)
                {
                    after.due = due;
                    due_planned = due.is_some();
                }
                if let Some(assignee) = &plan.assignee
                    && (before.assignee.is_none() || assignee_planned)
                {
                    after.assignee = assignee.clone();
                    assignee_planned = assignee.is_some();
                }
                if after == before {
                    continue;
                }
                sqlx::query(
                    "UPDATE item_states
                     SET due_date = $3, due_planned = $4, assignee = $5, assignee_planned = $6,
                         updated_by = $7, updated_at = $8
                     WHERE customer_id = $1 AND item_key = $2",
                )
                .bind(customer.id)
                .bind(&plan.key)
                .bind(after.due.map(|d| d.format("%Y-%m-%d").to_string()))
                .bind(i64::from(due_planned))
                .bind(&after.assignee)
                .bind(i64::from(assignee_planned))
                .bind(actor.user)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                before_json.insert(plan.key.clone(), planned_json(before.due, &before.assignee));
                after_json.insert(plan.key.clone(), planned_json(after.due, &after.assignee));
                changed.push((plan.key.clone(), ItemUpdate { before, after }));
            }
            if !changed.is_empty() {
                sqlx::query(BUMP_VERSION)
                    .bind(customer.id)
                    .execute(&mut *tx)
                    .await?;
                let entry = actor
                    .entry(
                        &customer.team_id,
                        Some(customer.id),
                        action,
                        &customer.slug,
                        now_ms,
                    )
                    .with(
                        Some(serde_json::Value::Object(before_json)),
                        Some(serde_json::Value::Object(after_json)),
                    );
                append_audit!(&mut *tx, &entry)?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(changed)
        })?;
        if let Some(cache) = &self.cache
            && !changed.is_empty()
        {
            // As `change_item` does: reloaded on the next read rather than patched.
            cache.forget_states(customer.id);
        }
        Ok(changed)
    }
}
