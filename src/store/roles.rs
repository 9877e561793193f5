//! Roles given in Slack (`/readiness roles`), each change audited in its transaction.
//! A row's `user_id` is a person (`U…`, `W…`) or a Slack user group (`S…`,
//! `domain::roles::is_group`), whose members share its role.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::audit::{Actor, append_audit};
use super::{Db, Store, ms};
use crate::domain::roles::Role;

/// The roles given that bear on one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    /// Their own.
    pub own: Option<Role>,
    /// Without one of their own: the roles of user groups, (group, role), whoever the
    /// groups' members are.
    pub groups: Vec<(String, Role)>,
}

impl Store {
    /// The role given to `user` in `team_id`, if any.
    pub async fn role_of(&self, team_id: &str, user: &str) -> Result<Option<Role>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.role(team_id, user));
        }
        on_pool!(&self.db, read, |pool| {
            let role: Option<String> =
                sqlx::query_scalar("SELECT role FROM roles WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(user)
                    .fetch_optional(pool)
                    .await?;
            Ok(role.as_deref().and_then(Role::parse))
        })
    }

    /// What was given that bears on `user` in `team_id`, read at once: their own
    /// role, and (when they have none) the roles given to user groups. One query on
    /// PostgreSQL, since every change a person without a role makes asks it.
    pub async fn given_roles(&self, team_id: &str, user: &str) -> Result<Given, sqlx::Error> {
        if let Some(cache) = &self.cache {
            let own = cache.role(team_id, user);
            let groups = match own {
                Some(_) => Vec::new(),
                None => cache.group_roles(team_id),
            };
            return Ok(Given { own, groups });
        }
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT user_id, role FROM roles
                 WHERE team_id = $1 AND (user_id = $2 OR user_id LIKE 'S%')",
            )
            .bind(team_id)
            .bind(user)
            .fetch_all(pool)
            .await?;
            let mut given = Given::default();
            for row in &rows {
                let holder: String = row.try_get("user_id")?;
                let role: String = row.try_get("role")?;
                match Role::parse(&role) {
                    Some(role) if holder == user => given.own = Some(role),
                    Some(role) => given.groups.push((holder, role)),
                    None => {}
                }
            }
            if given.own.is_some() {
                given.groups.clear();
            }
            Ok(given)
        })
    }

    /// Every role given, in every workspace: (team, user, role), for the SQLite copy.
    pub(super) async fn all_roles(&self) -> Result<Vec<(String, String, Role)>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query("SELECT team_id, user_id, role FROM roles")
                .fetch_all(pool)
                .await?;
            let mut roles = Vec::with_capacity(rows.len());
            for row in &rows {
                let role: String = row.try_get("role")?;
                if let Some(role) = Role::parse(&role) {
                    roles.push((row.try_get("team_id")?, row.try_get("user_id")?, role));
                }
            }
            Ok(roles)
        })
    }

    /// Every role given in `team_id`: (user, role), by user. (People with a role
    /// given are few: the table is read whole.)
    pub async fn roles(&self, team_id: &str) -> Result<Vec<(String, Role)>, sqlx::Error> {
        let mut roles: Vec<(String, Role)> = self
            .all_roles()
            .await?
            .into_iter()
            .filter(|(team, _, _)| team == team_id)
            .map(|(_, user, role)| (user, role))
            .collect();
        roles.sort();
        Ok(roles)
    }

    /// Gives `user` a role (`None`: back to the default), with its audit entry.
    pub async fn set_role(
        &self,
        team_id: &str,
        user: &str,
        role: Option<Role>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let now_ms = ms(now);
        let before = self.role_of(team_id, user).await?;
        let entry = actor
            .entry(team_id, None, "role.changed", user, now_ms)
            .with(
                Some(serde_json::json!({ "role": before.map(Role::as_str) })),
                Some(serde_json::json!({ "role": role.map(Role::as_str) })),
            );
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            match role {
                Some(role) => {
                    sqlx::query(
                        "INSERT INTO roles (team_id, user_id, role, granted_by, granted_at)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (team_id, user_id) DO UPDATE
                         SET role = excluded.role, granted_by = excluded.granted_by,
                             granted_at = excluded.granted_at",
                    )
                    .bind(team_id)
                    .bind(user)
                    .bind(role.as_str())
                    .bind(actor.user)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM roles WHERE team_id = $1 AND user_id = $2")
                        .bind(team_id)
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            append_audit!(&mut *tx, &entry)?;
            tx.commit().await
        })?;
        if let Some(cache) = &self.cache {
            cache.put_role(team_id, user, role);
        }
        Ok(())
    }
}
