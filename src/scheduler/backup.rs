//! The scheduled backup (`backup_dir`): a consistent copy of the SQLite database every
//! `backup_every`, the first one at start, keeping the newest `backup_keep`. A failed
//! copy is logged and tried again at the next turn; the time of the last good one is in
//! `/metrics`, so an alert can watch the recovery point.

use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::backup::{scheduled_backups, scheduled_name};
use crate::time_source::TimeSource;

/// Defined with the settings that fill it in.
pub use crate::config::BackupSchedule;

pub async fn run(
    store: Store,
    time: TimeSource,
    schedule: BackupSchedule,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    // Nothing else wakes this loop early: only its time, or shutdown.
    let never = Notify::new();
    let every_ms = schedule.every.as_millis() as i64;
    // The first at start, unless the last is recent: a crash loop must not replace
    // the good copies with copies of its own state.
    let mut next = time.now_ms();
    let newest = scheduled_backups(&schedule.dir)
        .ok()
        .and_then(|found| found.last().cloned())
        .and_then(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok());
    if let Some(newest) = newest {
        next = next.max(newest.as_millis() as i64 + every_ms);
    }
    loop {
        if !super::sleep_until(Some(next), &time, &never, &mut shutdown).await {
            return;
        }
        let now = time.now();
        if now.timestamp_millis() < next {
            continue;
        }
        let path = schedule.dir.join(scheduled_name(now));
        match store.backup_to(&path).await {
            Ok(bytes) => {
                info!(path = %path.display(), bytes, "backup written");
                metrics.backup_last_success.set(now.timestamp());
                prune(&schedule);
            }
            Err(e) => warn!(error = %e, path = %path.display(), "the scheduled backup failed"),
        }
        next = now.timestamp_millis() + every_ms;
    }
}

/// Deletes the oldest scheduled backups beyond `keep`.
fn prune(schedule: &BackupSchedule) {
    let Ok(found) = scheduled_backups(&schedule.dir) else {
        return;
    };
    let excess = found.len().saturating_sub(schedule.keep);
    for old in &found[..excess] {
        if let Err(e) = std::fs::remove_file(old) {
            warn!(error = %e, path = %old.display(), "cannot delete an old backup");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn only_the_newest_scheduled_backups_are_kept_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let start = chrono::DateTime::from_timestamp(1_767_571_200, 0).unwrap();
        for hour in 0..5 {
            let name = scheduled_name(start + chrono::Duration::hours(hour));
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::write(dir.path().join("mine.db"), b"keep me").unwrap();
        let schedule = BackupSchedule {
            dir: dir.path().to_path_buf(),
            every: Duration::from_secs(3600),
            keep: 2,
        };
        prune(&schedule);
        let left = scheduled_backups(dir.path()).unwrap();
        assert_eq!(
            left,
            vec![
                dir.path()
                    .join(scheduled_name(start + chrono::Duration::hours(3))),
                dir.path()
                    .join(scheduled_name(start + chrono::Duration::hours(4))),
            ]
        );
        assert!(dir.path().join("mine.db").exists(), "not ours: kept");
    }
}
