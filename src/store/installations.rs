//! Workspaces installed through the OAuth flow, their sealed bot tokens, and the end
//! of a workspace: uninstall stops its work at once, the purge deletes its data once
//! the retention period has passed.
//!
//! The store never sees a token in the clear: callers seal and open them
//! (`crypto::EncryptionKey`); here they are opaque text.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::audit::{Actor, append_audit};
use super::{Db, Store, ms};

/// One install: of a workspace, or of a whole Enterprise Grid organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The team id, or the enterprise id of an org-wide install.
    pub workspace: String,
    pub team_id: Option<String>,
    pub enterprise_id: Option<String>,
    pub org_install: bool,
    pub team_name: String,
    pub app_id: String,
    pub bot_user_id: String,
    pub scope: String,
    /// Sealed; `None` once uninstalled or revoked.
    pub bot_token: Option<String>,
    pub installed_by: String,
    pub installed_at: i64,
    pub uninstalled_at: Option<i64>,
}

impl Installation {
    /// Installed, with a token to act with.
    pub fn is_active(&self) -> bool {
        self.bot_token.is_some() && self.uninstalled_at.is_none()
    }
}

const COLUMNS: &str = "workspace, team_id, enterprise_id, org_install, team_name, app_id,
    bot_user_id, scope, bot_token, installed_by, installed_at, uninstalled_at";

/// Tables holding a workspace's data by `team_id` (children first). The audit log is
/// not here: it keeps its own retention (`retention.audit`).
const TEAM_TABLES: [&str; 9] = [
    "outbox",
    // Before the customers, which its rows reference.
    "evidence",
    "contacts",
    "onboarding_team",
    "reminders",
    "escalation_paths",
    "roles",
    "ticket_numbers",
    "workspace_orgs",
];

/// Cancels what workspace `$1` had waiting to be posted, saying why (`$2`).
const CANCEL_PENDING: &str = "UPDATE outbox SET status = 'cancelled', last_error = $2,
        lease_owner = NULL, lease_until = NULL
    WHERE team_id = $1 AND status = 'pending'";

/// `SELECT` of every column, then `tail` (a constant: no input reaches the text).
fn select(tail: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM installations {tail}"))
}

fn read(row: &impl RowLike) -> Result<Installation, sqlx::Error> {
    row.installation()
}

/// Both dialects' rows read the same way.
trait RowLike {
    fn installation(&self) -> Result<Installation, sqlx::Error>;
}

macro_rules! impl_row_like {
    ($row:ty) => {
        impl RowLike for $row {
            fn installation(&self) -> Result<Installation, sqlx::Error> {
                let org: i64 = self.try_get("org_install")?;
                Ok(Installation {
                    workspace: self.try_get("workspace")?,
                    team_id: self.try_get("team_id")?,
                    enterprise_id: self.try_get("enterprise_id")?,
                    org_install: org != 0,
                    team_name: self.try_get("team_name")?,
                    app_id: self.try_get("app_id")?,
                    bot_user_id: self.try_get("bot_user_id")?,
                    scope: self.try_get("scope")?,
                    bot_token: self.try_get("bot_token")?,
                    installed_by: self.try_get("installed_by")?,
                    installed_at: self.try_get("installed_at")?,
                    uninstalled_at: self.try_get("uninstalled_at")?,
                })
            }
        }
    };
}
impl_row_like!(sqlx::sqlite::SqliteRow);
impl_row_like!(sqlx::postgres::PgRow);

impl Store {
    /// Spends the OAuth install state with this `nonce` (good until `expires_at`):
    /// `true` the first time, `false` if a callback used it already. States expired
    /// for a whole `forget_after_ms` more are forgotten (they are refused as expired).
    pub async fn spend_oauth_state(
        &self,
        nonce: &str,
        expires_at: i64,
        now: DateTime<Utc>,
        forget_after_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let now_ms = ms(now);
        on_pool!(&self.db, write, |pool| {
            sqlx::query("DELETE FROM oauth_states_used WHERE expires_at < $1")
                .bind(now_ms.saturating_sub(forget_after_ms))
                .execute(pool)
                .await?;
            let spent = sqlx::query(
                "INSERT INTO oauth_states_used (nonce, expires_at) VALUES ($1, $2)
                 ON CONFLICT (nonce) DO NOTHING",
            )
            .bind(nonce)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(spent == 1)
        })
    }

    /// Records an install (a reinstall replaces the token and clears the uninstall),
    /// with its audit entry.
    pub async fn save_installation(&self, install: &Installation) -> Result<(), sqlx::Error> {
        let entry = Actor::new(&install.installed_by, super::audit::Source::Install)
            .entry(
                install.team_id.as_deref().unwrap_or(&install.workspace),
                None,
                "app.installed",
                &install.workspace,
                install.installed_at,
            )
            .with(
                None,
                Some(serde_json::json!({
                    "team_name": install.team_name,
                    "enterprise_id": install.enterprise_id,
                    "org_install": install.org_install,
                    "scope": install.scope,
                })),
            );
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO installations (workspace, team_id, enterprise_id, org_install,
                     team_name, app_id, bot_user_id, scope, bot_token, installed_by,
                     installed_at, uninstalled_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)
                 ON CONFLICT (workspace) DO UPDATE SET
                     team_id = excluded.team_id, enterprise_id = excluded.enterprise_id,
                     org_install = excluded.org_install, team_name = excluded.team_name,
                     app_id = excluded.app_id, bot_user_id = excluded.bot_user_id,
                     scope = excluded.scope, bot_token = excluded.bot_token,
                     installed_by = excluded.installed_by,
                     installed_at = excluded.installed_at, uninstalled_at = NULL",
            )
            .bind(&install.workspace)
            .bind(&install.team_id)
            .bind(&install.enterprise_id)
            .bind(i64::from(install.org_install))
            .bind(&install.team_name)
            .bind(&install.app_id)
            .bind(&install.bot_user_id)
            .bind(&install.scope)
            .bind(&install.bot_token)
            .bind(&install.installed_by)
            .bind(install.installed_at)
            .execute(&mut *tx)
            .await?;
            // A workspace with an install of its own is no longer its organisation's
            // to act for, stop or purge.
            if !install.org_install {
                sqlx::query("DELETE FROM workspace_orgs WHERE team_id = $1")
                    .bind(&install.workspace)
                    .execute(&mut *tx)
                    .await?;
            }
            append_audit!(&mut *tx, &entry)?;
            tx.commit().await
        })
    }

    /// The install matching `tail` (a constant `WHERE …` with one `$1`) for `id`.
    async fn one(&self, tail: &str, id: &str) -> Result<Option<Installation>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let row = sqlx::query(select(tail))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(read).transpose()
        })
    }

    /// The active install that acts for `team`: its own, else its organisation's
    /// org-wide one (the organisation learned from its requests,
    /// [`Self::installation_of_request`]).
    pub async fn installation_for(&self, team: &str) -> Result<Option<Installation>, sqlx::Error> {
        let own = "WHERE workspace = $1 AND org_install = 0 AND bot_token IS NOT NULL";
        if let Some(found) = self.one(own, team).await? {
            return Ok(Some(found));
        }
        let org = "WHERE org_install = 1 AND bot_token IS NOT NULL
             AND workspace = (SELECT enterprise_id FROM workspace_orgs
                              WHERE team_id = $1 AND revoked_at IS NULL)";
        self.one(org, team).await
    }

    /// The active install acting for a request from `team` of the organisation
    /// `enterprise`: as [`Self::installation_for`], else the organisation's org-wide
    /// install, under which the workspace is then remembered.
    pub async fn installation_of_request(
        &self,
        team: &str,
        enterprise: Option<&str>,
    ) -> Result<Option<Installation>, sqlx::Error> {
        if let Some(found) = self.installation_for(team).await? {
            return Ok(Some(found));
        }
        let Some(enterprise) = enterprise.filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        let org = self
            .one(
                "WHERE workspace = $1 AND org_install = 1 AND bot_token IS NOT NULL",
                enterprise,
            )
            .await?;
        if org.is_some() {
            on_pool!(&self.db, write, |pool| sqlx::query(
                "INSERT INTO workspace_orgs (team_id, enterprise_id) VALUES ($1, $2)
                 ON CONFLICT (team_id) DO UPDATE SET enterprise_id = excluded.enterprise_id,
                     revoked_at = NULL"
            )
            .bind(team)
            .bind(enterprise)
            .execute(pool)
            .await
            .map(|_| ()))?;
        }
        Ok(org)
    }

    /// The install stored under `workspace` (a team id, or an enterprise id).
    pub async fn installation(&self, workspace: &str) -> Result<Option<Installation>, sqlx::Error> {
        self.one("WHERE workspace = $1", workspace).await
    }

    /// Every install, by workspace.
    pub async fn installations(&self) -> Result<Vec<Installation>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(select("ORDER BY workspace"))
                .fetch_all(pool)
                .await?;
            rows.iter().map(read).collect()
        })
    }

    /// The app was uninstalled or its bot token revoked: the token is deleted and what
    /// the workspace had waiting to be posted is cancelled, in one transaction. Its
    /// data stays until [`Self::purge_uninstalled`]. False if it was not installed.
    /// `sent`: when Slack sent the event; one older than the install (a retry
    /// arriving after a reinstall) ends nothing. Slack's clock counts whole seconds.
    pub async fn uninstall(
        &self,
        workspace: &str,
        why: &str,
        sent: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let now_ms = ms(now);
        let sent_ms = ms(sent);
        let Some(install) = self.installation(workspace).await? else {
            return Ok(false);
        };
        // A few seconds' grace: Slack's clock and ours differ.
        // (Saturating: `sent` comes from the event's own `event_time`.)
        if !install.is_active() || sent_ms.saturating_add(5_000) < install.installed_at {
            return Ok(false);
        }
        let teams = self.teams_of(&install).await?;
        let entry = Actor::new("slack", super::audit::Source::Event).entry(
            install.team_id.as_deref().unwrap_or(workspace),
            None,
            "app.uninstalled",
            workspace,
            now_ms,
        );
        let entry = entry.with(None, Some(serde_json::json!({ "why": why })));
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE installations SET bot_token = NULL, uninstalled_at = $2
                 WHERE workspace = $1 AND installed_at = $3",
            )
            .bind(workspace)
            .bind(now_ms)
            .bind(install.installed_at)
            .execute(&mut *tx)
            .await?;
            for team in &teams {
                sqlx::query(CANCEL_PENDING)
                    .bind(team)
                    .bind("app uninstalled")
                    .execute(&mut *tx)
                    .await?;
            }
            append_audit!(&mut *tx, &entry)?;
            tx.commit().await
        })?;
        // The scheduler plans the purge; the sender forgets the cancelled rows.
        self.wake();
        self.wake_outbox();
        Ok(true)
    }

    /// The organisation `enterprise` took the app away from `teams`
    /// (`team_access_revoked`): its org-wide install stops acting for them and their
    /// queued posts are cancelled, in one transaction with the audit entries. Their
    /// data stays, and goes with the organisation's own purge. Returns the workspaces
    /// that were being served.
    pub async fn revoke_team_access(
        &self,
        enterprise: &str,
        teams: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let now_ms = ms(now);
        let mut revoked = Vec::new();
        for team in teams {
            let entry = Actor::new("slack", super::audit::Source::Event).entry(
                team,
                None,
                "app.access_revoked",
                enterprise,
                now_ms,
            );
            let done = on_pool!(&self.db, write, |pool| {
                async {
                    let mut tx = pool.begin().await?;
                    let ended = sqlx::query(
                        "UPDATE workspace_orgs SET revoked_at = $3
                         WHERE team_id = $1 AND enterprise_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(team)
                    .bind(enterprise)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if ended == 0 {
                        return Ok::<bool, sqlx::Error>(false);
                    }
                    sqlx::query(CANCEL_PENDING)
                        .bind(team)
                        .bind("app access revoked")
                        .execute(&mut *tx)
                        .await?;
                    append_audit!(&mut *tx, &entry)?;
                    tx.commit().await?;
                    Ok(true)
                }
                .await
            })?;
            if done {
                revoked.push(team.to_string());
            }
        }
        if !revoked.is_empty() {
            self.wake_outbox();
        }
        Ok(revoked)
    }

    /// When the longest-uninstalled workspace still holding data was uninstalled.
    pub async fn first_uninstalled_at(&self) -> Result<Option<i64>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| sqlx::query_scalar(
            "SELECT MIN(uninstalled_at) FROM installations"
        )
        .fetch_one(pool)
        .await)
    }

    /// The workspaces an install acts for: its team, or every workspace of its
    /// organisation that has been seen.
    async fn teams_of(&self, install: &Installation) -> Result<Vec<String>, sqlx::Error> {
        if !install.org_install {
            return Ok(install.team_id.iter().cloned().collect());
        }
        // A workspace of the organisation with an install of its own is its own.
        on_pool!(&self.db, read, |pool| sqlx::query_scalar(
            "SELECT team_id FROM workspace_orgs WHERE enterprise_id = $1
             AND team_id NOT IN (SELECT workspace FROM installations WHERE org_install = 0)
             ORDER BY team_id"
        )
        .bind(&install.workspace)
        .fetch_all(pool)
        .await)
    }

    /// Deletes the data of every workspace uninstalled before `before_ms`: customers,
    /// checklists, tickets, reminders, roles and the install itself. Returns the
    /// workspaces purged.
    pub async fn purge_uninstalled(&self, before_ms: i64) -> Result<Vec<String>, sqlx::Error> {
        let gone: Vec<Installation> = self
            .installations()
            .await?
            .into_iter()
            .filter(|i| i.uninstalled_at.is_some_and(|at| at < before_ms))
            .collect();
        let mut purged = Vec::new();
        for install in gone {
            let teams = self.teams_of(&install).await?;
            let done = on_pool!(&self.db, write, |pool| {
                async {
                let mut tx = pool.begin().await?;
                // Still uninstalled, as read: a reinstall meanwhile keeps everything.
                let gone = sqlx::query(
                    "DELETE FROM installations WHERE workspace = $1
                     AND uninstalled_at IS NOT NULL AND uninstalled_at < $2",
                )
                .bind(&install.workspace)
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if gone == 0 {
                    return Ok::<bool, sqlx::Error>(false);
                }
                for team in &teams {
                    for statement in [
                        "DELETE FROM timers WHERE ticket_id IN (SELECT id FROM tickets WHERE team_id = $1)",
                        // Before its tickets, which its rows reference.
                        "DELETE FROM csat_answers WHERE team_id = $1",
                        "DELETE FROM next_responses WHERE ticket_id IN (SELECT id FROM tickets WHERE team_id = $1)",
                        "DELETE FROM tickets WHERE team_id = $1",
                        "DELETE FROM item_states WHERE customer_id IN (SELECT id FROM customers WHERE team_id = $1)",
                        "DELETE FROM checklist_messages WHERE customer_id IN (SELECT id FROM customers WHERE team_id = $1)",
                    ] {
                        sqlx::query(statement).bind(team).execute(&mut *tx).await?;
                    }
                    for table in TEAM_TABLES {
                        // `table` is one of the constants above.
                        let sql =
                            sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE team_id = $1"));
                        sqlx::query(sql).bind(team).execute(&mut *tx).await?;
                    }
                    sqlx::query("DELETE FROM customers WHERE team_id = $1")
                        .bind(team)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
            })?;
            if !done {
                continue;
            }
            if let Some(cache) = &self.cache {
                for team in &teams {
                    cache.forget_team(team);
                }
            }
            purged.push(install.workspace);
        }
        Ok(purged)
    }

    /// Re-seals every stored token in one transaction, with `entry` in the audit log:
    /// `reseal` gets the workspace and the sealed token and returns it sealed anew.
    /// Returns how many were re-sealed; nothing changes if `reseal` fails for one.
    pub async fn reseal_tokens<E>(
        &self,
        reseal: impl Fn(&str, &str) -> Result<String, E>,
        entry: &super::audit::AuditEntry,
    ) -> Result<Result<usize, E>, sqlx::Error> {
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(
                "SELECT workspace, bot_token FROM installations
                 WHERE bot_token IS NOT NULL ORDER BY workspace",
            )
            .fetch_all(&mut *tx)
            .await?;
            let mut count = 0;
            for row in &rows {
                let workspace: String = row.try_get("workspace")?;
                let sealed: String = row.try_get("bot_token")?;
                let resealed = match reseal(&workspace, &sealed) {
                    Ok(resealed) => resealed,
                    // Nothing is committed: the transaction rolls back on drop.
                    Err(e) => return Ok(Err(e)),
                };
                if resealed == sealed {
                    // Under the new key already: counted as nothing to do.
                    continue;
                }
                sqlx::query("UPDATE installations SET bot_token = $2 WHERE workspace = $1")
                    .bind(&workspace)
                    .bind(&resealed)
                    .execute(&mut *tx)
                    .await?;
                count += 1;
            }
            append_audit!(&mut *tx, entry)?;
            tx.commit().await?;
            Ok(Ok(count))
        })
    }
}

/// `readiness rotate-key`: re-seals every stored token from the `old` keys to the `new`
/// one, in one transaction (a token already under `new`, from a rotation cut short or
/// sealed by a replica that seals with it, is kept). The SQLite server must be
/// stopped; PostgreSQL replicas keep running when they list both keys
/// (docs/operations.md, Key rotation).
/// Returns how many tokens were re-sealed.
pub async fn rotate_key(
    database_url: &str,
    old: &crate::crypto::EncryptionKey,
    new: &crate::crypto::EncryptionKey,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    use crate::crypto::sealed_key_id;
    let now_ms = ms(now);
    if old.ids() == [new.id()] {
        anyhow::bail!(
            "the new key is the key in use ({}): nothing to rotate",
            new.id()
        );
    }
    let _lock = super::lock_single_process(database_url)?;
    let store = Store::connect(database_url).await?;
    let entry = Actor::new("operator", super::audit::Source::Cli)
        .entry("*", None, "key.rotated", new.id(), now_ms)
        .with(
            Some(serde_json::json!({ "key": old.ids().join(",") })),
            Some(serde_json::json!({ "key": new.id() })),
        );
    let resealed = store
        .reseal_tokens(
            |workspace, sealed| {
                if sealed_key_id(sealed) == Some(new.id()) {
                    return Ok(sealed.to_string());
                }
                let plain = old
                    .open(sealed, workspace)
                    .map_err(|e| anyhow::anyhow!("the token of {workspace}: {e}"))?;
                Ok::<_, anyhow::Error>(new.seal(plain.expose(), workspace))
            },
            &entry,
        )
        .await;
    store.close().await;
    resealed?
}
