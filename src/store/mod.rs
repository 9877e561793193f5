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

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::{
    PgPool, Row, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::domain::checklist::{ItemState, States, Tier};
use crate::domain::customer::Customer;

mod cache;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use audit::{Actor, Source, append_audit};
use cache::Cache;

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

/// The channel replicas NOTIFY and LISTEN on when due rows change.
pub const WAKE_CHANNEL: &str = "readiness_wake";

#[derive(Debug, Default)]
pub struct Wake {
    pub timers: tokio::sync::Notify,
    pub outbox: tokio::sync::Notify,
    /// What an App Home shows changed (this process only; see `delivery::home`).
    pub home: tokio::sync::Notify,
}

/// One request's ticks and unticks, waiting for the batch writer.
struct TickRequest {
    customer_id: i64,
    ticked: Vec<String>,
    unticked: Vec<String>,
    user: String,
    source: Source,
    now_ms: i64,
    reply: oneshot::Sender<Result<Vec<String>, String>>,
}

/// Ticks waiting beyond this make their requests wait for room.
const TICK_QUEUE: usize = 4096;
/// Requests committed together at most.
const TICK_BATCH: usize = 256;

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

/// The statements of one request's ticks inside transaction `$tx`; evaluates to the
/// keys whose state changed and the audit entries of those changes, for the caller to
/// append ([`audit::append_audits!`]) once its other changes are made. A key ticked
/// twice keeps its first who and when.
macro_rules! tick_statements {
    ($tx:expr, $customer:expr, $ticked:expr, $unticked:expr, $user:expr, $source:expr, $now:expr) => {{
        let mut changed: Vec<String> = Vec::new();
        // Each change is audited in the same transaction, and a ticked item's
        // due-date reminder is cancelled with it (an untick brings back one still ahead).
        let mut entries: Vec<audit::AuditEntry> = Vec::new();
        let actor = Actor::new($user, $source);
        let team_id: String = sqlx::query_scalar("SELECT team_id FROM customers WHERE id = $1")
            .bind($customer)
            .fetch_one(&mut *$tx)
            .await?;
        let done = |d: bool| Some(serde_json::json!({ "done": d }));
        for key in $ticked {
            let n = sqlx::query(
                "INSERT INTO item_states (customer_id, item_key, done_by, done_at, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $3, $4)
                 ON CONFLICT (customer_id, item_key) DO UPDATE
                 SET done_by = excluded.done_by, done_at = excluded.done_at,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at
                 WHERE item_states.done_at IS NULL",
            )
            .bind($customer)
            .bind(key)
            .bind($user)
            .bind($now)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if n > 0 {
                entries.push(
                    actor
                        .entry(&team_id, Some($customer), "item.ticked", key, $now)
                        .with(done(false), done(true)),
                );
                let cancelled: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM reminders
                     WHERE customer_id = $1 AND item_key = $2 AND status = 'active' ORDER BY id",
                )
                .bind($customer)
                .bind(key)
                .fetch_all(&mut *$tx)
                .await?;
                for id in cancelled {
                    entries.push(actor.entry(
                        &team_id,
                        Some($customer),
                        "reminder.cancelled",
                        &format!("R-{id}"),
                        $now,
                    ));
                }
                sqlx::query(
                    "UPDATE reminders SET status = 'cancelled'
                     WHERE customer_id = $1 AND item_key = $2 AND status = 'active'",
                )
                .bind($customer)
                .bind(key)
                .execute(&mut *$tx)
                .await?;
                changed.push(key.clone());
            }
        }
        for key in $unticked {
            let n = sqlx::query(
                "UPDATE item_states SET done_by = NULL, done_at = NULL, updated_by = $3, updated_at = $4
                 WHERE customer_id = $1 AND item_key = $2 AND done_at IS NOT NULL",
            )
            .bind($customer)
            .bind(key)
            .bind($user)
            .bind($now)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if n > 0 {
                entries.push(
                    actor
                        .entry(&team_id, Some($customer), "item.unticked", key, $now)
                        .with(done(true), done(false)),
                );
                let resumed: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM reminders WHERE customer_id = $1 AND item_key = $2
                       AND status = 'cancelled' AND next_due_at > $3 ORDER BY id",
                )
                .bind($customer)
                .bind(key)
                .bind($now)
                .fetch_all(&mut *$tx)
                .await?;
                for id in resumed {
                    entries.push(actor.entry(
                        &team_id,
                        Some($customer),
                        "reminder.resumed",
                        &format!("R-{id}"),
                        $now,
                    ));
                }
                sqlx::query(
                    "UPDATE reminders SET status = 'active'
                     WHERE customer_id = $1 AND item_key = $2 AND status = 'cancelled'
                       AND next_due_at > $3",
                )
                .bind($customer)
                .bind(key)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
                changed.push(key.clone());
            }
        }
        (changed, entries)
    }};
}

/// Reads a [`Customer`] out of a row of either dialect.
macro_rules! customer_from_row {
    ($row:expr) => {{
        let row = $row;
        let tier: String = row.try_get("tier")?;
        Customer {
            id: row.try_get("id")?,
            team_id: row.try_get("team_id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            tier: Tier::parse(&tier).unwrap_or(Tier::Standard),
            channel_id: row.try_get("channel_id")?,
            channel_error: row.try_get("channel_error")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            csm: row.try_get("csm")?,
            archived_at: row.try_get("archived_at")?,
            golive_on: row
                .try_get::<Option<String>, _>("golive_on")?
                .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
            reminders_off: row
                .try_get::<String, _>("reminders_off")?
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }};
}

macro_rules! item_state_from_row {
    ($row:expr) => {{
        let row = $row;
        let due: Option<String> = row.try_get("due_date")?;
        let not_applicable: i64 = row.try_get("not_applicable")?;
        (
            row.try_get::<String, _>("item_key")?,
            ItemState {
                done_by: row.try_get("done_by")?,
                done_at: row.try_get("done_at")?,
                not_applicable: not_applicable != 0,
                assignee: row.try_get("assignee")?,
                due: due.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
                note: row.try_get("note")?,
            },
        )
    }};
}

const CUSTOMER_COLUMNS: &str =
    "id, team_id, slug, name, tier, channel_id, channel_error, created_by, created_at,
    csm, archived_at, golive_on, reminders_off";

// After the macros above, which they use.
pub mod audit;
pub mod backup;
pub mod installations;
pub mod outbox;
pub mod reminders;
pub mod roles;
pub mod tickets;

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub team_id: String,
    pub slug: String,
    pub name: String,
    pub tier: Tier,
    pub channel_id: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    #[error("a customer with this slug exists")]
    SlugTaken(Customer),
    #[error("the channel already belongs to a customer")]
    ChannelTaken(Customer),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A posted checklist message whose customer changed since it was rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleMessage {
    pub customer_id: i64,
    /// The customer's workspace: each workspace's messages are updated on their own.
    pub team_id: String,
    pub part: String,
    pub channel_id: String,
    pub ts: String,
    /// The customer's version when this was read; render, then record it.
    pub version: i64,
}

/// What a change to one item's fields did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUpdate {
    pub before: ItemState,
    pub after: ItemState,
}

/// A customer's changeable fields as the audit log shows them.
pub(crate) fn customer_json(c: &Customer) -> serde_json::Value {
    serde_json::json!({
        "name": c.name,
        "tier": c.tier.as_str(),
        "channel": c.channel_id,
        "csm": c.csm(),
        "archived": c.is_archived(),
        "golive": c.golive_on.map(|d| d.to_string()),
        "reminders_off": c.reminders_off,
    })
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
const BUMP_VERSION: &str = "UPDATE customers SET version = version + 1 WHERE id = $1";

const SELECT_ITEM: &str =
    "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note
     FROM item_states WHERE customer_id = $1 AND item_key = $2";
const SELECT_ITEM_FOR_UPDATE: &str =
    "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note
     FROM item_states WHERE customer_id = $1 AND item_key = $2 FOR UPDATE";

impl Store {
    /// Opens the database named by `url` (`sqlite://…`, created if missing, or
    /// `postgres://…`) and runs the dialect's migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .context("cannot connect to PostgreSQL")?;
            sqlx::migrate!("./migrations/postgres")
                .run(&pool)
                .await
                .context("PostgreSQL migrations failed")?;
            Store {
                db: Db::Postgres(pool),
                cache: None,
                ticks: None,
                wake: Arc::default(),
            }
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("bad SQLite URL {url:?}"))?;
            restrict_sqlite_files(options.get_filename())?;
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // In WAL mode NORMAL is durable against process crashes; a power loss may
                // lose the last transactions but never corrupts the file.
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await
                .with_context(|| format!("cannot open SQLite database {url:?}"))?;
            sqlx::migrate!("./migrations/sqlite")
                .run(&write)
                .await
                .context("SQLite migrations failed")?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.read_only(true))
                .await
                .with_context(|| format!("cannot open SQLite database {url:?} for reading"))?;
            let turn = Arc::new(tokio::sync::Mutex::new(()));
            let db = Db::Sqlite {
                read,
                write: write.clone(),
                turn: turn.clone(),
            };
            let mut store = Store {
                db,
                cache: None,
                ticks: None,
                wake: Arc::default(),
            };
            let all = store
                .all_customers()
                .await
                .context("cannot read the customers")?;
            let open = store
                .all_open_tickets()
                .await
                .context("cannot read the open tickets")?;
            let roles = store.all_roles().await.context("cannot read the roles")?;
            let cache = Arc::new(Cache::new(all, open, roles));
            let (tx, rx) = mpsc::channel(TICK_QUEUE);
            tokio::spawn(write_ticks(write, turn, rx, cache.clone()));
            store.cache = Some(cache);
            store.ticks = Some(tx);
            store
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://; got {url:?}");
        };
        Ok(store)
    }

    pub fn dialect(&self) -> &'static str {
        match &self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// The PostgreSQL pool, for the replicas' LISTEN connection.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Postgres(pool) => Some(pool),
            Db::Sqlite { .. } => None,
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

    /// The policy the open deadlines were last planned with (its TOML text).
    pub async fn planned_policy(&self) -> Result<Option<String>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            match sqlx::query("SELECT policy FROM planned_policy WHERE id = 1")
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(row.try_get("policy")?)),
                None => Ok(None),
            }
        })
    }

    pub async fn set_planned_policy(&self, policy: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "INSERT INTO planned_policy (id, policy) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET policy = excluded.policy"
        )
        .bind(policy)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// The database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, read, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))
    }

    // ---- customers ----------------------------------------------------------------

    pub async fn create_customer(
        &self,
        new: &NewCustomer,
    ) -> Result<Customer, CreateCustomerError> {
        if let Some(existing) = self.customer_by_slug(&new.team_id, &new.slug).await? {
            return Err(CreateCustomerError::SlugTaken(existing));
        }
        if let Some(channel) = &new.channel_id
            && let Some(existing) = self.customer_by_channel(&new.team_id, channel).await?
        {
            return Err(CreateCustomerError::ChannelTaken(existing));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO customers (team_id, slug, name, tier, channel_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING
             RETURNING {CUSTOMER_COLUMNS}"
        ));
        let inserted = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = match sqlx::query(sql)
                .bind(&new.team_id)
                .bind(&new.slug)
                .bind(&new.name)
                .bind(new.tier.as_str())
                .bind(&new.channel_id)
                .bind(&new.created_by)
                .bind(new.created_at)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(row) => Some(customer_from_row!(&row)),
                None => None,
            };
            if let Some(customer) = &inserted {
                let entry = Actor::new(&new.created_by, Source::Command)
                    .entry(
                        &customer.team_id,
                        Some(customer.id),
                        "customer.created",
                        &customer.slug,
                        new.created_at,
                    )
                    .with(None, Some(customer_json(customer)));
                append_audit!(&mut *tx, &entry)?;
            }
            tx.commit().await?;
            inserted
        });
        match inserted {
            Some(customer) => {
                if let Some(cache) = &self.cache {
                    cache.put_customer(customer.clone());
                }
                Ok(customer)
            }
            // Lost a race with another request for the same slug or channel; the winner
            // may not be in the cache yet, so ask the database.
            None => {
                if let Some(existing) = self
                    .customer_where("slug = $2", &new.team_id, &new.slug)
                    .await?
                {
                    return Err(CreateCustomerError::SlugTaken(existing));
                }
                let channel = new.channel_id.as_deref().unwrap_or_default();
                match self
                    .customer_where("channel_id = $2", &new.team_id, channel)
                    .await?
                {
                    Some(existing) => Err(CreateCustomerError::ChannelTaken(existing)),
                    None => Err(sqlx::Error::RowNotFound.into()),
                }
            }
        }
    }

    /// Writes a customer's changeable fields (name, tier, CSM, channel, archive, go-live,
    /// switched-off milestones) from `after`, audited with `action` and the state
    /// before. Refused (`Ok(false)`) if the channel belongs to another customer.
    pub async fn update_customer(
        &self,
        before: &Customer,
        after: &Customer,
        action: &str,
        actor: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        if let Some(channel) = &after.channel_id
            && before.channel_id.as_ref() != Some(channel)
            && self
                .customer_where("channel_id = $2", &after.team_id, channel)
                .await?
                .is_some_and(|other| other.id != after.id)
        {
            return Ok(false);
        }
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE customers SET name = $2, tier = $3, csm = $4, channel_id = $5,
                     archived_at = $6, golive_on = $7, reminders_off = $8, version = version + 1
                 WHERE id = $1",
            )
            .bind(after.id)
            .bind(&after.name)
            .bind(after.tier.as_str())
            .bind(&after.csm)
            .bind(&after.channel_id)
            .bind(after.archived_at)
            .bind(after.golive_on.map(|d| d.to_string()))
            .bind(after.reminders_off.join(","))
            .execute(&mut *tx)
            .await?;
            let entry = actor
                .entry(&after.team_id, Some(after.id), action, &after.slug, now_ms)
                .with(Some(customer_json(before)), Some(customer_json(after)));
            append_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        if let Some(cache) = &self.cache {
            cache.put_customer(after.clone());
        }
        self.wake();
        Ok(true)
    }

    /// The first free `c<n>` slug, for names without ASCII letters or digits.
    pub async fn free_numbered_slug(&self, team_id: &str) -> Result<String, sqlx::Error> {
        let count: i64 = on_pool!(&self.db, read, |pool| sqlx::query(
            "SELECT COUNT(*) AS n FROM customers WHERE team_id = $1"
        )
        .bind(team_id)
        .fetch_one(pool)
        .await?
        .try_get("n")?);
        let mut n = count + 1;
        loop {
            let slug = format!("c{n}");
            if self.customer_by_slug(team_id, &slug).await?.is_none() {
                return Ok(slug);
            }
            n += 1;
        }
    }

    async fn customer_where(
        &self,
        condition: &'static str,
        team_id: &str,
        value: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE team_id = $1 AND {condition} LIMIT 1"
        ));
        on_pool!(&self.db, read, |pool| {
            match sqlx::query(sql)
                .bind(team_id)
                .bind(value)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(customer_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    pub async fn customer_by_slug(
        &self,
        team_id: &str,
        slug: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.by_slug(team_id, slug));
        }
        self.customer_where("slug = $2", team_id, slug).await
    }

    /// By name, ignoring ASCII case.
    pub async fn customer_by_name(
        &self,
        team_id: &str,
        name: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.by_name(team_id, name));
        }
        self.customer_where("LOWER(name) = LOWER($2)", team_id, name)
            .await
    }

    pub async fn customer_by_channel(
        &self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.by_channel(team_id, channel_id));
        }
        self.customer_where("channel_id = $2", team_id, channel_id)
            .await
    }

    /// By id, within the workspace: an id guessed from another workspace finds nothing.
    pub async fn customer_by_id(
        &self,
        team_id: &str,
        id: i64,
    ) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.customer(id).filter(|c| c.team_id == team_id));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE team_id = $1 AND id = $2"
        ));
        on_pool!(&self.db, read, |pool| {
            match sqlx::query(sql)
                .bind(team_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(customer_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    /// By id alone, for the background work that already holds a checked id.
    pub async fn customer_by_id_unscoped(&self, id: i64) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.customer(id));
        }
        self.customer_from_db(id).await
    }

    async fn customer_from_db(&self, id: i64) -> Result<Option<Customer>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"
        ));
        on_pool!(&self.db, read, |pool| {
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(customer_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    /// The workspace's customers, by name.
    pub async fn customers(&self, team_id: &str) -> Result<Vec<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.team(team_id));
        }
        self.customers_from_db("team_id = $1 ORDER BY LOWER(name), id", Some(team_id))
            .await
    }

    /// Customers whose channel is still to be created (a crash may have interrupted it).
    pub async fn customers_awaiting_channel(&self) -> Result<Vec<Customer>, sqlx::Error> {
        self.customers_from_db(
            "channel_id IS NULL AND channel_error IS NULL ORDER BY id",
            None,
        )
        .await
    }

    /// Customers matching `clause` (what follows WHERE), with `$1` bound to `arg`.
    async fn customers_from_db(
        &self,
        clause: &str,
        arg: Option<&str>,
    ) -> Result<Vec<Customer>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {clause}"
        ));
        on_pool!(&self.db, read, |pool| {
            let mut query = sqlx::query(sql);
            if let Some(arg) = arg {
                query = query.bind(arg);
            }
            let rows = query.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(customer_from_row!(row));
            }
            Ok(out)
        })
    }

    pub async fn set_customer_channel(
        &self,
        customer_id: i64,
        channel_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE customers SET channel_id = $2, channel_error = $3 WHERE id = $1"
        )
        .bind(customer_id)
        .bind(channel_id)
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
        if let Some(cache) = &self.cache
            && let Some(customer) = self.customer_from_db(customer_id).await?
        {
            cache.put_customer(customer);
        }
        Ok(())
    }

    /// Every customer of every workspace (to fill the cache, to plan digests).
    pub async fn all_customers(&self) -> Result<Vec<Customer>, sqlx::Error> {
        self.customers_from_db("TRUE", None).await
    }

    // ---- checklist state ----------------------------------------------------------

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
                "SELECT item_key, done_by, done_at, not_applicable, assignee, due_date, note
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
                        s.assignee, s.due_date, s.note
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

    /// Ticks and unticks items; returns the keys whose state changed. A key ticked
    /// twice keeps its first who and when, so a retried request changes nothing.
    pub async fn set_done(
        &self,
        customer_id: i64,
        ticked: &[String],
        unticked: &[String],
        user: &str,
        source: Source,
        now_ms: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        if ticked.is_empty() && unticked.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(queue) = &self.ticks {
            let (reply, answer) = oneshot::channel();
            let request = TickRequest {
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
            let (changed, entries) =
                tick_statements!(tx, customer_id, ticked, unticked, user, source, now_ms);
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
        now_ms: i64,
    ) -> Result<ItemUpdate, sqlx::Error> {
        // The row is locked while read-modify-write runs, so two people changing
        // different fields of one item at once both keep their change. SQLite needs no
        // lock: its writes run one at a time on the single write connection.
        let select = match &self.db {
            Db::Sqlite { .. } => SELECT_ITEM,
            Db::Postgres(_) => SELECT_ITEM_FOR_UPDATE,
        };
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO item_states (customer_id, item_key, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(customer_id)
            .bind(key)
            .bind(actor.user)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(select)
                .bind(customer_id)
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
            let before = item_state_from_row!(&row).1;
            let after = change.apply(&before);
            if after != before {
                sqlx::query(
                    "UPDATE item_states
                     SET assignee = $3, due_date = $4, note = $5, not_applicable = $6,
                         updated_by = $7, updated_at = $8
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

    // ---- posted checklist messages ------------------------------------------------

    /// Records a posted checklist message, as rendered at `version`.
    pub async fn record_message(
        &self,
        customer_id: i64,
        part: &str,
        channel_id: &str,
        ts: &str,
        version: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| {
            sqlx::query(
            "INSERT INTO checklist_messages (customer_id, part, channel_id, ts, rendered_version)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (channel_id, ts) DO UPDATE SET rendered_version = excluded.rendered_version"
        )
        .bind(customer_id)
        .bind(part)
        .bind(channel_id)
        .bind(ts)
        .bind(version)
        .execute(pool)
        .await
        .map(|_| ())
        })
    }

    pub async fn customer_version(&self, customer_id: i64) -> Result<i64, sqlx::Error> {
        on_pool!(&self.db, read, |pool| sqlx::query(
            "SELECT version FROM customers WHERE id = $1"
        )
        .bind(customer_id)
        .fetch_one(pool)
        .await?
        .try_get("version"))
    }

    /// Posted messages behind their customer's latest change, oldest change first.
    pub async fn stale_messages(&self, limit: i64) -> Result<Vec<StaleMessage>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                // Taken in turns across workspaces (each one's stalest first), so one
                // workspace's many stale messages never crowd out another's.
                "SELECT customer_id, team_id, part, channel_id, ts, version FROM (
                     SELECT m.customer_id, c.team_id, m.part, m.channel_id, m.ts, c.version,
                         m.rendered_version,
                         ROW_NUMBER() OVER (PARTITION BY c.team_id
                             ORDER BY m.rendered_version, m.channel_id, m.ts) AS turn
                     FROM checklist_messages m JOIN customers c ON c.id = m.customer_id
                     WHERE m.rendered_version < c.version
                 ) stale
                 ORDER BY turn, rendered_version LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(StaleMessage {
                    customer_id: row.try_get("customer_id")?,
                    team_id: row.try_get("team_id")?,
                    part: row.try_get("part")?,
                    channel_id: row.try_get("channel_id")?,
                    ts: row.try_get("ts")?,
                    version: row.try_get("version")?,
                });
            }
            Ok(out)
        })
    }

    /// Marks a message as rendered at `version` (never moving it backwards).
    pub async fn mark_rendered(
        &self,
        channel_id: &str,
        ts: &str,
        version: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE checklist_messages SET rendered_version = $3
             WHERE channel_id = $1 AND ts = $2 AND rendered_version < $3"
        )
        .bind(channel_id)
        .bind(ts)
        .bind(version)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Forgets a customer's earlier digests once a new day's is posted: only the
    /// latest is kept current.
    pub async fn forget_old_digests(
        &self,
        customer_id: i64,
        keep_ts: &str,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM checklist_messages
             WHERE customer_id = $1 AND part LIKE 'digest:%' AND ts <> $2"
        )
        .bind(customer_id)
        .bind(keep_ts)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Forgets a message Slack no longer has (deleted, or its channel gone).
    pub async fn forget_message(&self, channel_id: &str, ts: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM checklist_messages WHERE channel_id = $1 AND ts = $2"
        )
        .bind(channel_id)
        .bind(ts)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    // ---- events -------------------------------------------------------------------

    /// Records an event id; false if it was seen before (a Slack retry).
    pub async fn first_sight_of_event(
        &self,
        event_id: &str,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(&self.db, write, |pool| {
            sqlx::query(
            "INSERT INTO processed_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(event_id)
        .bind(now_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
        })
    }
}

impl Store {
    /// Forgets an event handled in part, so Slack's retry of it is handled again.
    /// Forgets events (and Socket Mode envelopes) received before `before_ms`: Slack
    /// retries for minutes, not days.
    pub async fn forget_old_events(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM processed_events WHERE received_at < $1"
        )
        .bind(before_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    }

    pub async fn forget_event(&self, event_id: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "DELETE FROM processed_events WHERE event_id = $1"
        )
        .bind(event_id)
        .execute(pool)
        .await
        .map(|_| ()))
    }
}

/// The SQLite tick writer: takes every request waiting, commits them in one
/// transaction (one version bump per customer), updates the cache, then answers each.
/// Many small transactions on SQLite's single writer would otherwise queue one by one.
/// SQLite runs one serving process at a time: the scheduler there has no claims to
/// share, so a second one would fire every timer twice. `serve` takes this OS lock on
/// `<file>.lock` and holds it until it stops (the OS releases it if the process dies);
/// a second `serve` on the same file refuses to start. `None` for PostgreSQL.
pub fn lock_single_process(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    let options =
        SqliteConnectOptions::from_str(url).with_context(|| format!("bad SQLite URL {url:?}"))?;
    let name = options.get_filename().to_string_lossy().to_string();
    if name.is_empty() || name == ":memory:" {
        return Ok(None);
    }
    let lock_path = format!("{name}.lock");
    let file = owner_only_file(Path::new(&lock_path))
        .with_context(|| format!("cannot open {lock_path}"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another readiness process is using {name}: SQLite runs one process at a time \
             (its timers would fire twice). Stop the other one, or use PostgreSQL for several replicas."
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {lock_path}"))
        }
    }
}

/// Opens `path` for writing, creating it empty if missing, readable and writable by
/// its owner only (mode 0600 on Unix, whatever the umask; an existing file is narrowed
/// to it too).
pub(crate) fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

/// The database holds the workspaces' data and sealed tokens: its file is created
/// (empty, which SQLite takes as a new database) with mode 0600 before SQLite opens it,
/// so its WAL and shared-memory files, which SQLite creates with the database's mode,
/// are 0600 too. Files left by an older version are narrowed to 0600.
fn restrict_sqlite_files(db: &Path) -> anyhow::Result<()> {
    let name = db.to_string_lossy();
    if name.is_empty() || name == ":memory:" {
        return Ok(());
    }
    owner_only_file(db).with_context(|| format!("cannot create {}", db.display()))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{name}{suffix}"));
        if path.exists() {
            owner_only_file(&path)
                .with_context(|| format!("cannot narrow {} to its owner", path.display()))?;
        }
    }
    Ok(())
}

async fn write_ticks(
    pool: SqlitePool,
    turn: Arc<tokio::sync::Mutex<()>>,
    mut queue: mpsc::Receiver<TickRequest>,
    cache: Arc<Cache>,
) {
    let mut batch = Vec::with_capacity(TICK_BATCH);
    while queue.recv_many(&mut batch, TICK_BATCH).await > 0 {
        let committed = {
            let _turn = turn.lock().await;
            commit_ticks(&pool, &batch).await
        };
        match committed {
            Ok(changes) => {
                for (request, changed) in batch.drain(..).zip(changes) {
                    if !changed.is_empty() {
                        cache.after_write(request.customer_id, |states| {
                            for key in &changed {
                                let done = request.ticked.contains(key);
                                let by = done.then_some((request.user.as_str(), request.now_ms));
                                cache::apply_done(states, key, by);
                            }
                        });
                    }
                    let _ = request.reply.send(Ok(changed));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(message.clone()));
                }
            }
        }
    }
}

async fn commit_ticks(
    pool: &SqlitePool,
    batch: &[TickRequest],
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut changes = Vec::with_capacity(batch.len());
    let mut bumped = std::collections::HashSet::new();
    let mut audited = Vec::new();
    for r in batch {
        let (changed, entries) = tick_statements!(
            tx,
            r.customer_id,
            &r.ticked,
            &r.unticked,
            &r.user,
            r.source,
            r.now_ms
        );
        if !changed.is_empty() && bumped.insert(r.customer_id) {
            sqlx::query(BUMP_VERSION)
                .bind(r.customer_id)
                .execute(&mut *tx)
                .await?;
        }
        changes.push(changed);
        audited.extend(entries);
    }
    audit::append_audits!(&mut *tx, &audited)?;
    tx.commit().await?;
    Ok(changes)
}
