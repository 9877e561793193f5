//! Backups, for the seed's RPO under an hour and RTO under four: a consistent copy
//! taken while the app runs, and a restore that checks a copy before it replaces
//! anything and sets the replaced database aside rather than deleting it.
//!
//! SQLite only: `VACUUM INTO` writes a transactionally consistent copy from a read
//! transaction, so the app's writer goes on meanwhile. PostgreSQL has `pg_dump` and
//! `pg_restore`, which docs/operations.md gives the recipe for; here they are refused by
//! name.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::{Db, Store};

const POSTGRES_BACKUP: &str = "this is a PostgreSQL database: back it up with pg_dump and restore it with pg_restore (docs/operations.md, Backups)";

/// The file behind a `sqlite:` URL.
fn sqlite_file(database_url: &str) -> anyhow::Result<PathBuf> {
    if !database_url.starts_with("sqlite:") {
        bail!(POSTGRES_BACKUP);
    }
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("bad SQLite URL {database_url:?}"))?;
    let file = options.get_filename().to_path_buf();
    if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
        bail!("an in-memory database has nothing to back up");
    }
    Ok(file)
}

/// `VACUUM INTO` `to` through `pool`, by way of a `.partial` file renamed at the end,
/// so a crash never leaves half a copy under a backup's name.
async fn vacuum_into(pool: &SqlitePool, to: &Path) -> anyhow::Result<u64> {
    if to.exists() {
        bail!("{} exists; a backup never overwrites a file", to.display());
    }
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    // Created empty with mode 0600 first (VACUUM INTO fills an empty file), so the copy
    // is never readable by others, not even while it is written.
    super::owner_only_file(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().to_string())
        .execute(pool)
        .await
        .with_context(|| format!("cannot write {}", partial.display()))?;
    // VACUUM INTO does not sync what it wrote: synced here, so a power loss cannot
    // leave a whole-looking copy that is not.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", partial.display()))?;
    std::fs::rename(&partial, to)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), to.display()))?;
    sync_dir(to);
    Ok(std::fs::metadata(to)?.len())
}

/// Makes a rename in `file`'s directory durable (best effort: not every platform can
/// open a directory).
fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// A read-only pool of one connection on a SQLite file that must exist.
async fn open_read_only(file: &Path) -> anyhow::Result<SqlitePool> {
    if !file.exists() {
        bail!("{} does not exist", file.display());
    }
    let options = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(10))
        .disable_statement_logging();
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open {}", file.display()))
}

/// `readiness backup <file>`: a consistent copy of the database at `database_url`,
/// taken alongside a running server. Returns the copy's size in bytes.
pub async fn backup(database_url: &str, to: &Path) -> anyhow::Result<u64> {
    let pool = open_read_only(&sqlite_file(database_url)?).await?;
    let size = vacuum_into(&pool, to).await;
    pool.close().await;
    size
}

impl Store {
    /// A consistent copy of this store's database into `to` (the scheduled backup).
    pub async fn backup_to(&self, to: &Path) -> anyhow::Result<u64> {
        match &self.db {
            Db::Sqlite { read, .. } => vacuum_into(read, to).await,
            Db::Postgres(_) => bail!(POSTGRES_BACKUP),
        }
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub database: PathBuf,
    /// Where the database it replaced was moved (with its WAL), if there was one.
    pub set_aside: Option<PathBuf>,
}

/// `readiness restore <file>`: checks the copy (SQLite's integrity check, and migrations
/// this binary knows), sets the current database aside with its WAL and shared-memory
/// files, and writes the copy in its place. Refused while a server uses the database.
pub async fn restore(from: &Path, database_url: &str) -> anyhow::Result<Restored> {
    let target = sqlite_file(database_url)?;
    let _lock = super::lock_single_process(database_url)?;
    let backup = open_read_only(from).await?;
    let checked = check_backup(&backup).await;
    if let Err(e) = checked {
        backup.close().await;
        return Err(e.context(format!("{} is not a usable backup", from.display())));
    }
    let restoring = target.with_extension("restoring");
    let _ = std::fs::remove_file(&restoring);
    let copied = vacuum_into(&backup, &restoring).await;
    backup.close().await;
    copied?;
    // A name no earlier restore used.
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    let aside = PathBuf::from(format!("{}.before-restore-{stamp}", target.display()));
    if aside.exists() {
        bail!("{} exists; try again", aside.display());
    }
    // The WAL belongs to the file it was written for: it moves with it (even when that
    // file is gone), or the restored file would be read through the old one's log.
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", target.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", aside.display()))
                .with_context(|| format!("cannot set {} aside", from.display()))?;
        }
    }
    let set_aside = if target.exists() {
        std::fs::rename(&target, &aside)
            .with_context(|| format!("cannot set {} aside", target.display()))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&restoring, &target)
        .with_context(|| format!("cannot move the copy to {}", target.display()))?;
    sync_dir(&target);
    Ok(Restored {
        database: target,
        set_aside,
    })
}

/// A backup is whole (`PRAGMA integrity_check`) and was written by this app at a
/// schema this binary can run (no migration newer than it knows).
async fn check_backup(pool: &SqlitePool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await
        .context("not a SQLite database")?;
    if verdict != "ok" {
        bail!("SQLite's integrity check says: {verdict}");
    }
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .context("not a Readiness database (it has no migrations table)")?;
    let known = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    match newest {
        None => bail!("not a Readiness database (no migration was applied)"),
        Some(v) if v > known => {
            bail!("it was written by a newer Readiness (schema {v}; this one knows up to {known})")
        }
        Some(_) => {}
    }
    conn.close().await?;
    Ok(())
}

/// Backups in `dir` made by the schedule, oldest first.
pub fn scheduled_backups(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX) && n.ends_with(".db"))
        })
        .collect();
    // The names carry a UTC time stamp that sorts as text.
    found.sort();
    Ok(found)
}

/// Scheduled backups are `readiness-<UTC time>.db`.
pub const SCHEDULED_PREFIX: &str = "readiness-";

pub fn scheduled_name(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{SCHEDULED_PREFIX}{}.db", at.format("%Y%m%dT%H%M%SZ"))
}
