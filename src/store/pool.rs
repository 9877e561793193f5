//! Opening and closing the database: the native pools of either dialect, and the
//! SQLite file's permissions.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use sqlx::{
    PgPool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::mpsc;

use super::cache::Cache;
use super::lock::owner_only_file;
use super::tick_writer::{TICK_QUEUE, write_ticks};
use super::{Db, Store};

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
            // sqlx pings an idle connection before handing it out, to find one its
            // server dropped. A SQLite connection has no server to lose, and the ping
            // is one more round trip to the connection's worker thread for every
            // transaction (each batch of ticks, say), so neither pool pings.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
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
                .test_before_acquire(false)
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
            let contacts = store
                .all_contacts()
                .await
                .context("cannot read the contacts")?;
            let cache = Arc::new(Cache::new(all, open, roles, contacts));
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

    /// The database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, read, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))
    }
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
