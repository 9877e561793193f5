//! The only part of the app that waits on time. Two loops share one shape: do what is
//! due now, then sleep until the next due row or until a change wakes them (in this
//! process through [`Wake`], from other replicas through PostgreSQL's LISTEN/NOTIFY).
//! Nothing polls the whole table: "when is the next one" is an index lookup.
//!
//! - [`fire`]: due SLA rows become escalation posts in the outbox, in one transaction.
//! - [`send`]: the outbox goes to Slack, in order and paced per channel.
//! - [`backup`]: the scheduled copy of a SQLite database, when `backup_dir` is set.

pub mod backup;
pub mod fire;
pub mod send;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::store::{Store, WAKE_CHANNEL, Wake};
use crate::time_source::TimeSource;

/// Longest sleep without a wake-up: a safety net should a NOTIFY be lost (the
/// listener reconnecting), not a polling interval.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Sleeps until `due` (Unix ms on `time`; `None`: nothing is due), a wake-up, or
/// shutdown. Returns false on shutdown.
pub async fn sleep_until(
    due: Option<i64>,
    time: &TimeSource,
    woken: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    if due.is_some_and(|due| due <= time.now_ms()) {
        return !*shutdown.borrow();
    }
    let reached = async {
        match due {
            Some(due) => time.reach(due).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = reached => true,
        _ = tokio::time::sleep(MAX_SLEEP) => true,
        _ = woken.notified() => true,
        _ = shutdown.changed() => !*shutdown.borrow(),
    }
}

/// On PostgreSQL: listens for other replicas' NOTIFY and wakes this process's loops.
/// When the connection drops (notifications sent meanwhile are lost) the loops are
/// woken too, and the listener reconnects.
pub fn listen_for_replicas(store: &Store, shutdown: watch::Receiver<bool>) {
    let Some(pool) = store.postgres_pool().cloned() else {
        return;
    };
    let wake: Arc<Wake> = store.wakers().clone();
    tokio::spawn(async move {
        let mut shutdown = shutdown;
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(WAKE_CHANNEL).await {
                        warn!(error = %e, "cannot LISTEN for other replicas");
                    } else {
                        info!("listening for other replicas' changes");
                        wake.timers.notify_one();
                        wake.outbox.notify_one();
                        loop {
                            tokio::select! {
                                n = listener.try_recv() => {
                                    // A notification, or `Ok(None)`: the connection
                                    // dropped and the next call reconnects. Either way
                                    // the loops look again.
                                    wake.timers.notify_one();
                                    wake.outbox.notify_one();
                                    match n {
                                        Ok(Some(_)) => {}
                                        Ok(None) => warn!("the LISTEN connection dropped; reconnecting"),
                                        Err(e) => {
                                            warn!(error = %e, "LISTEN failed; reconnecting");
                                            break;
                                        }
                                    }
                                }
                                _ = shutdown.changed() => return,
                            }
                        }
                    }
                }
                Err(e) => warn!(error = %e, "cannot connect to LISTEN for other replicas"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
}
