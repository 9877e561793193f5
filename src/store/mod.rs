//! The one storage interface, with SQLite (the embedded default) and PostgreSQL behind
//! it.
//!
//! Both dialects share one SQL text per query: `$n` placeholders, `ON CONFLICT`,
//! `RETURNING`, times as BIGINT Unix milliseconds and flags as 0/1 read the same on
//! both. The [`on_pool!`] macro expands a query body once per native pool, so each
//! dialect keeps its native driver (no `Any` indirection) without a second copy of the
//! SQL. Dialect knowledge stays in this module.
//!
//! SQLite allows one writer at a time. Writes therefore go through a pool of one
//! connection, where they queue in order, instead of several connections spinning in
//! SQLite's busy handler; reads use their own pool and, in WAL mode, never wait for it.
//!
//! One file per aggregate: `customers`, `items` (checklist states, ticks), `messages`
//! (posted checklist messages), `events`, `tickets`, `reminders`, `outbox`, `roles`,
//! `installations`, `audit`, `evidence` (proof attached to items); `pool` opens the
//! database, `cache` is SQLite's in-memory copy, `tick_writer` batches SQLite's
//! ticks, `lock` keeps SQLite to one process.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use sqlx::{PgPool, SqlitePool};
use tokio::sync::mpsc;

use cache::Cache;
use tick_writer::TickRequest;

#[derive(Debug, Clone)]
enum Db {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// Whose turn it is to write: tokio's mutex queues in order, so the tick writer
        /// cannot starve other writes by taking the one connection back at once.
        turn: Arc<tokio::sync::Mutex<()>>,
    },
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    db: Db,
    /// SQLite only: see [`cache`].
    cache: Option<Arc<Cache>>,
    /// SQLite only: ticks are written in batches, one transaction per batch.
    ticks: Option<mpsc::Sender<TickRequest>>,
    /// Wakes this process's scheduler and outbox sender after a change; other
    /// replicas hear of it through PostgreSQL's NOTIFY.
    wake: Arc<Wake>,
}

/// A time as the BIGINT Unix milliseconds the columns hold: the store's callers pass
/// times, and this is where they become numbers ([`crate::time_source::at_ms`] turns
/// them back).
fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The channel replicas NOTIFY and LISTEN on when due rows change.
pub const WAKE_CHANNEL: &str = "readiness_wake";

#[derive(Debug, Default)]
pub struct Wake {
    pub timers: tokio::sync::Notify,
    pub outbox: tokio::sync::Notify,
    /// What an App Home shows changed (this process only; see `slack::home`).
    pub home: tokio::sync::Notify,
}

/// Runs `$body` with `$pool` bound to the right native pool (`read` or `write`); a
/// SQLite write waits for its turn first.
macro_rules! on_pool {
    ($db:expr, read, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite { read: $pool, .. } => $body,
            Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, write, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite {
                write: $pool, turn, ..
            } => {
                let _turn = turn.lock().await;
                $body
            }
            Db::Postgres($pool) => $body,
        }
    };
}

/// Reads a `domain::customer::Customer` out of a row of either dialect.
macro_rules! customer_from_row {
    ($row:expr) => {{
        let row = $row;
        let tier: String = row.try_get("tier")?;
        $crate::domain::customer::Customer {
            id: row.try_get("id")?,
            team_id: row.try_get("team_id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            tier: $crate::domain::checklist::Tier::parse(&tier)
                .unwrap_or($crate::domain::checklist::Tier::Standard),
            channel_id: row.try_get("channel_id")?,
            channel_error: row.try_get("channel_error")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            csm: row.try_get("csm")?,
            archived_at: row.try_get("archived_at")?,
            golive_on: row
                .try_get::<Option<String>, _>("golive_on")?
                .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
            kickoff_on: row
                .try_get::<Option<String>, _>("kickoff_on")?
                .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
            reminders_off: row
                .try_get::<String, _>("reminders_off")?
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
            intake_mode: row
                .try_get::<Option<String>, _>("intake_mode")?
                .as_deref()
                .and_then($crate::domain::policy::IntakeMode::parse)
                .filter(|m| *m != $crate::domain::policy::IntakeMode::Auto),
        }
    }};
}

/// Reads an item's key and `domain::checklist::ItemState` out of a row of either
/// dialect.
macro_rules! item_state_from_row {
    ($row:expr) => {{
        let row = $row;
        let due: Option<String> = row.try_get("due_date")?;
        let not_applicable: i64 = row.try_get("not_applicable")?;
        (
            row.try_get::<String, _>("item_key")?,
            $crate::domain::checklist::ItemState {
                done_by: row.try_get("done_by")?,
                done_at: row.try_get("done_at")?,
                not_applicable: not_applicable != 0,
                assignee: row.try_get("assignee")?,
                due: due.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
                note: row.try_get("note")?,
                evidence: usize::try_from(row.try_get::<i64, _>("evidence_count")?)
                    .unwrap_or_default(),
            },
        )
    }};
}

const CUSTOMER_COLUMNS: &str =
    "id, team_id, slug, name, tier, channel_id, channel_error, created_by, created_at,
    csm, archived_at, golive_on, reminders_off, intake_mode, kickoff_on";

// After the macros above, which they use.
mod assignments;
mod cache;
mod contacts;
mod customers;
mod due;
mod events;
mod items;
mod lock;
mod messages;
mod plan;
mod planned_policy;
mod pool;
mod tick_writer;

#[cfg(test)]
mod cache_tests;

pub mod audit;
pub mod backup;
pub mod csat;
pub mod evidence;
pub mod installations;
pub mod outbox;
pub mod reminders;
pub mod roles;
pub mod tickets;

pub use customers::{CreateCustomerError, NewCustomer};
pub use items::{ItemChange, ItemUpdate};
pub use lock::lock_single_process;
pub(crate) use lock::owner_only_file;
pub use messages::StaleMessage;
pub use plan::{ItemPlan, TeamChange};

impl Store {
    /// `select` locking the rows it reads until its transaction ends, for a
    /// read-modify-write: `FOR UPDATE` on PostgreSQL, where replicas write at once.
    /// SQLite needs no lock: its writes take turns on the single write connection.
    pub(super) fn for_update(&self, select: &'static str) -> String {
        match &self.db {
            Db::Sqlite { .. } => select.to_string(),
            Db::Postgres(_) => format!("{select} FOR UPDATE"),
        }
    }

    pub fn wakers(&self) -> &Arc<Wake> {
        &self.wake
    }

    /// Tells this process's scheduler and sender that due rows changed.
    pub fn wake(&self) {
        self.wake.timers.notify_one();
        self.wake.outbox.notify_one();
        self.wake.home.notify_one();
    }

    pub fn wake_outbox(&self) {
        self.wake.outbox.notify_one();
    }

    /// The statement that tells the other replicas, run inside the changing
    /// transaction (PostgreSQL delivers it on commit); SQLite has no other process.
    fn notify_sql(&self) -> Option<&'static str> {
        match &self.db {
            Db::Postgres(_) => Some("SELECT pg_notify('readiness_wake', '')"),
            Db::Sqlite { .. } => None,
        }
    }
}
