//! Fires due rows: SLA timers become escalation posts and reminders become their
//! posts, each in the outbox and moved on in the same transaction, so a crash either
//! fired a row or did not. Once a day it also purges audit entries past the policy's
//! retention and outbox rows sent over a week ago.

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::usecase::reminders::Reminders;
use crate::usecase::tickets::Tickets;

/// How often the audit retention is enforced.
const RETENTION_EVERY_MS: i64 = 24 * 3600 * 1000;

/// How long a sent outbox row is kept: a week, for looking into what was posted.
pub const OUTBOX_SENT_KEPT_MS: i64 = 7 * 24 * 3600 * 1000;

pub async fn run(
    support: Tickets,
    reminders: Reminders,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let store = support.store.clone();
    let wake = store.wakers().clone();
    let mut next_purge = 0_i64;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = support.time.now();
        if now.timestamp_millis() >= next_purge {
            purge_old_audit(&support, now).await;
            prune_sent_outbox(&support, now).await;
            let day_ago = now.timestamp_millis() - RETENTION_EVERY_MS;
            if let Err(e) = store.forget_old_events(day_ago).await {
                warn!(error = %e, "cannot forget old event ids");
            }
            next_purge = now.timestamp_millis() + RETENTION_EVERY_MS;
        }
        // An uninstalled workspace is purged when its retention ends (an uninstall
        // wakes this loop, so the due time is read again).
        let purge_due = purge_uninstalled(&support, now).await;
        let fired = async {
            let escalations = support.fire_due(now).await?;
            let reminders = reminders.fire_due(now).await?;
            Ok::<_, sqlx::Error>((escalations, reminders))
        }
        .await;
        match fired {
            Ok((escalations, reminded)) if !escalations.is_empty() || reminded > 0 => {
                metrics.timers_fired.inc_by(escalations.len() as u64);
                metrics.reminders_fired.inc_by(reminded as u64);
                for late_ms in escalations {
                    metrics
                        .timer_lateness
                        .observe(late_ms.max(0) as f64 / 1000.0);
                }
                // More may be due already: go again before sleeping.
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "firing due rows failed; trying again shortly");
                if !super::sleep_until(
                    Some(now.timestamp_millis() + 1000),
                    &support.time,
                    &wake.timers,
                    &mut shutdown,
                )
                .await
                {
                    return;
                }
                continue;
            }
        }
        let next = match store.next_due_row().await {
            Ok(row) => [row, Some(next_purge), purge_due]
                .into_iter()
                .flatten()
                .min(),
            Err(e) => {
                warn!(error = %e, "cannot read the next due row");
                Some(now.timestamp_millis() + 1000)
            }
        };
        if !super::sleep_until(next, &support.time, &wake.timers, &mut shutdown).await {
            return;
        }
    }
}

/// Deletes the data of workspaces uninstalled longer ago than the policy's retention,
/// when one is due; returns when the next one will be.
async fn purge_uninstalled(support: &Tickets, now: DateTime<Utc>) -> Option<i64> {
    let kept = support.policy.retention.uninstalled.num_milliseconds();
    let due = |uninstalled_at: Option<i64>| uninstalled_at.map(|at| at + kept + 1);
    let store = &support.store;
    let next = match store.first_uninstalled_at().await {
        Ok(first) => due(first),
        Err(e) => {
            warn!(error = %e, "cannot read the uninstalled workspaces");
            return None;
        }
    };
    if next.is_none_or(|at| at > now.timestamp_millis()) {
        return next;
    }
    match store.purge_uninstalled(now.timestamp_millis() - kept).await {
        Ok(purged) => {
            for workspace in &purged {
                info!(workspace = %workspace, "an uninstalled workspace's data was purged (retention.uninstalled)");
            }
        }
        Err(e) => {
            warn!(error = %e, "cannot purge uninstalled workspaces; trying again in a minute");
            return Some(now.timestamp_millis() + 60_000);
        }
    }
    store.first_uninstalled_at().await.ok().and_then(due)
}

/// Deletes outbox rows sent more than [`OUTBOX_SENT_KEPT_MS`] ago (their keys have done
/// their work: every key names one occurrence), so the table does not grow for ever.
async fn prune_sent_outbox(support: &Tickets, now: DateTime<Utc>) {
    let before = now.timestamp_millis() - OUTBOX_SENT_KEPT_MS;
    match support.store.prune_sent_outbox(before).await {
        Ok(0) => {}
        Ok(n) => info!(rows = n, "sent outbox rows past retention pruned"),
        Err(e) => warn!(error = %e, "cannot prune sent outbox rows"),
    }
}

/// Deletes audit entries older than the policy's retention (never younger than the
/// seed's 90 days: the policy refuses less and the database refuses the delete).
async fn purge_old_audit(support: &Tickets, now: DateTime<Utc>) {
    let before = now - support.policy.retention.audit;
    match support.store.purge_audit(before.timestamp_millis()).await {
        Ok(0) => {}
        Ok(n) => info!(entries = n, before = %before, "audit entries past retention purged"),
        Err(e) => warn!(error = %e, "cannot purge old audit entries"),
    }
}
