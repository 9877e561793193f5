//! The SQLite tick writer.

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::audit::{self, Source};
use super::cache::{self, Cache};
use super::items::{BUMP_VERSION, TickChanges, tick_statements};

/// One request's ticks and unticks, waiting for the batch writer.
pub(super) struct TickRequest {
    /// The customer's workspace, for the audit entries.
    pub(super) team_id: String,
    pub(super) customer_id: i64,
    pub(super) ticked: Vec<String>,
    pub(super) unticked: Vec<String>,
    pub(super) user: String,
    pub(super) source: Source,
    pub(super) now_ms: i64,
    pub(super) reply: oneshot::Sender<Result<Vec<String>, String>>,
}

impl TickRequest {
    fn changes(&self) -> TickChanges<'_> {
        TickChanges {
            team_id: &self.team_id,
            customer_id: self.customer_id,
            ticked: &self.ticked,
            unticked: &self.unticked,
            user: &self.user,
            source: self.source,
            now_ms: self.now_ms,
        }
    }
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
    let requests: Vec<TickChanges<'_>> = batch.iter().map(TickRequest::changes).collect();
    let mut tx = pool.begin().await?;
    let (changes, audited) = tick_statements!(tx, &requests);
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
