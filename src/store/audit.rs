//! The audit log: every change, appended with who, what (before and after), when and
//! where it came from. There is no update or delete here but the retention purge, and
//! the database's triggers refuse both for entries younger than 90 days (the seed's
//! minimum), whatever the policy says.
//!
//! Changes append their entry inside their own transaction where the store makes the
//! change ([`append_audit!`]), so an entry exists exactly when its change does.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::{Db, Store};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A slash command.
    Command,
    /// A button, checkbox or menu in a message or the App Home.
    Button,
    /// A modal's submission.
    Modal,
    /// An Events API event (a thread reply).
    Event,
    /// The scheduler (escalations, reminders, retention).
    Scheduler,
    /// The process itself at start (a changed policy).
    Start,
    /// The OAuth install flow.
    Install,
    /// A command line subcommand (`readiness rotate-key`).
    Cli,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Command => "command",
            Source::Button => "button",
            Source::Modal => "modal",
            Source::Event => "event",
            Source::Scheduler => "scheduler",
            Source::Start => "start",
            Source::Install => "install",
            Source::Cli => "cli",
        }
    }
}

/// Who made a change, and through what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// A Slack user id, or `scheduler`.
    pub user: &'a str,
    pub source: Source,
}

impl<'a> Actor<'a> {
    pub fn new(user: &'a str, source: Source) -> Self {
        Actor { user, source }
    }

    pub fn scheduler() -> Actor<'static> {
        Actor {
            user: "scheduler",
            source: Source::Scheduler,
        }
    }

    /// An entry by this actor.
    pub fn entry(
        &self,
        team_id: &str,
        customer_id: Option<i64>,
        action: &str,
        subject: &str,
        at: i64,
    ) -> AuditEntry {
        AuditEntry {
            team_id: team_id.to_string(),
            customer_id,
            actor: self.user.to_string(),
            source: self.source,
            action: action.to_string(),
            subject: subject.to_string(),
            before: None,
            after: None,
            at,
        }
    }
}

/// One change, to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub team_id: String,
    pub customer_id: Option<i64>,
    pub actor: String,
    pub source: Source,
    /// `item.ticked`, `ticket.opened`, `reminder.cancelled`, …
    pub action: String,
    /// What it is about: an item key, `T-4`, a customer's slug, a reminder's id.
    pub subject: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}

impl AuditEntry {
    pub fn with(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// An entry as stored, for `/readiness audit` and the export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub team_id: String,
    pub customer_id: Option<i64>,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub subject: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}

/// Appends `$entry` (an [`AuditEntry`]) on `$executor` (a pool or a transaction of
/// either dialect).
macro_rules! append_audit {
    ($executor:expr, $entry:expr) => {{
        let entry: &$crate::store::audit::AuditEntry = $entry;
        sqlx::query(
            "INSERT INTO audit_log (team_id, customer_id, actor, source, action, subject, before, after, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&entry.team_id)
        .bind(entry.customer_id)
        .bind(&entry.actor)
        .bind(entry.source.as_str())
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(entry.before.as_ref().map(|v| v.to_string()))
        .bind(entry.after.as_ref().map(|v| v.to_string()))
        .bind(entry.at)
        .execute($executor)
        .await
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
        on_pool!(&self.db, write, |pool| append_audit!(pool, entry)
            .map(|_| ()))
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
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut record: AuditRecord = audit_from_row!(row);
                // The operator's own entries (a changed policy, a rotated key) are seen
                // by every workspace: that they happened, not what they hold.
                if record.team_id == "*" {
                    record.before = None;
                    record.after = None;
                }
                out.push(record);
            }
            Ok(out)
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
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(audit_from_row!(row));
            }
            Ok(out)
        })
    }

    /// Deletes entries older than `before_ms` (the retention period); returns how many.
    pub async fn purge_audit(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM audit_log WHERE at < $1"
        )
        .bind(before_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
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
