//! The single-process lock of SQLite, and files only their owner may read.

use std::{path::Path, str::FromStr};

use anyhow::Context;
use sqlx::sqlite::SqliteConnectOptions;

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
