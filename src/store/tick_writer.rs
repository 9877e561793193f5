//! The SQLite tick writer.

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::audit;
use super::cache::{self, Cache};
use super::items::{BUMP_VERSION, TickChanges, tick_statements};

/// One request's ticks and unticks, waiting for the batch writer.
pub(super) struct TickRequest {
    pub(super) changes: TickChanges,
    pub(super) reply: oneshot::Sender<Result<Vec<String>, String>>,
}

/// Ticks waiting beyond this make their requests wait for room.
pub(super) const TICK_QUEUE: usize = 4096;
/// Requests committed together at most.
const TICK_BATCH: usize = 256;

/// The SQLite tick writer: takes every request waiting, commits them in one
/// transaction (one version bump per customer), updates the cache, then answers each.
/// Many small transactions on SQLite's single writer would otherwise queue one by one.
pub(super) async fn write_ticks(
    pool: SqlitePool,
    turn: Arc<tokio::sync::Mutex<()>>,
    mut queue: mpsc::Receiver<TickRequest>,
    cache: Arc<Cache>,
) {
    let mut batch = Vec::with_capacity(TICK_BATCH);
    while queue.recv_many(&mut batch, TICK_BATCH).await > 0 {
        let (requests, replies): (Vec<TickChanges>, Vec<_>) =
            batch.drain(..).map(|r| (r.changes, r.reply)).unzip();
        let committed = {
            let _turn = turn.lock().await;
            commit_ticks(&pool, &requests).await
        };
        match committed {
            Ok(changes) => {
                for ((request, reply), changed) in requests.iter().zip(replies).zip(changes) {
                    if !changed.is_empty() {
                        cache.after_write(request.customer_id, |states| {
                            for key in &changed {
                                let done = request.ticked.contains(key);
                                let by = done.then_some((request.user.as_str(), request.now_ms));
                                cache::apply_done(states, key, by);
                            }
                        });
                    }
                    let _ = reply.send(Ok(changed));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}

async fn commit_ticks(
    pool: &SqlitePool,
    batch: &[TickChanges],
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (changes, audited) = tick_statements!(tx, batch);
    // One version bump per customer whose items changed.
    let mut bumped = std::collections::HashSet::new();
    for (r, changed) in batch.iter().zip(&changes) {
        if !changed.is_empty() && bumped.insert(r.customer_id) {
            sqlx::query(BUMP_VERSION)
                .bind(r.customer_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    audit::append_audits!(&mut *tx, &audited)?;
    tx.commit().await?;
    Ok(changes)
}
