//! Fires due SLA rows: each becomes its escalation post in the outbox and moves on to
//! its next level, in the same transaction, so a crash either fired it or did not.

use chrono::Utc;
use tokio::sync::watch;
use tracing::warn;

use crate::metrics::Metrics;
use crate::support::Support;

pub async fn run(support: Support, metrics: Metrics, mut shutdown: watch::Receiver<bool>) {
    let store = support.store.clone();
    let wake = store.wakers().clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = Utc::now();
        match support.fire_due(now).await {
            Ok(fired) if !fired.is_empty() => {
                metrics.timers_fired.inc_by(fired.len() as u64);
                for late_ms in fired {
                    metrics
                        .timer_lateness
                        .observe(late_ms.max(0) as f64 / 1000.0);
                }
                // More may be due already: go again before sleeping.
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "firing due timers failed; trying again shortly");
                if !super::sleep_until(
                    Some(now.timestamp_millis() + 1000),
                    now,
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
        let next = match store.next_timer_due().await {
            Ok(next) => next,
            Err(e) => {
                warn!(error = %e, "cannot read the next due timer");
                Some(now.timestamp_millis() + 1000)
            }
        };
        if !super::sleep_until(next, Utc::now(), &wake.timers, &mut shutdown).await {
            return;
        }
    }
}
