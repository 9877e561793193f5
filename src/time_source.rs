//! The app's one notion of "now" for what it schedules and records.
//!
//! Normally the real clock. `readiness shell --clock virtual` swaps in a virtual clock
//! that stands still until the shell moves it, straight to the next due row, so a
//! 4-hour P0 plays out at once and a transcript is the same on every run. Everything
//! that decides by time (handlers, the scheduler, the sender, the App Home) asks the
//! [`TimeSource`] it was given; the one place that waits, [`crate::scheduler::sleep_until`],
//! waits on it too. The signature check keeps the real clock: Slack's timestamps are
//! real, whatever the app believes the time is.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// Unix milliseconds as a time. Outside chrono's range (which no clock reaches) it
/// holds at the range's end instead of falling back to 1970, so a bad number never
/// makes a deadline look long past.
pub fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[derive(Clone, Default)]
pub struct TimeSource {
    /// `None`: the real clock.
    virtual_now: Option<Arc<VirtualTime>>,
}

struct VirtualTime {
    now_ms: AtomicI64,
    /// Tells sleepers the clock moved.
    moved: watch::Sender<i64>,
}

impl std::fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.virtual_now {
            None => f.write_str("TimeSource::Real"),
            Some(v) => write!(
                f,
                "TimeSource::Virtual({})",
                v.now_ms.load(Ordering::SeqCst)
            ),
        }
    }
}

impl TimeSource {
    pub fn real() -> Self {
        Self::default()
    }

    /// A clock standing at `start` until [`TimeSource::advance_to`] moves it.
    pub fn virtual_at(start: DateTime<Utc>) -> Self {
        let start = start.timestamp_millis();
        let (moved, _) = watch::channel(start);
        Self {
            virtual_now: Some(Arc::new(VirtualTime {
                now_ms: AtomicI64::new(start),
                moved,
            })),
        }
    }

    pub fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.virtual_now {
            None => Utc::now(),
            Some(_) => at_ms(self.now_ms()),
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.virtual_now {
            None => Utc::now().timestamp_millis(),
            Some(v) => v.now_ms.load(Ordering::SeqCst),
        }
    }

    /// Moves a virtual clock forward to `to_ms` (never back) and wakes its sleepers.
    /// Does nothing to the real clock.
    pub fn advance_to(&self, to_ms: i64) {
        if let Some(v) = &self.virtual_now {
            let before = v.now_ms.fetch_max(to_ms, Ordering::SeqCst);
            if to_ms > before {
                v.moved.send_replace(to_ms);
            }
        }
    }

    /// Resolves when this clock reads `due_ms` or later: a plain sleep on the real
    /// clock; on a virtual clock, when it has been moved that far.
    pub async fn reach(&self, due_ms: i64) {
        match &self.virtual_now {
            None => {
                let wait = (due_ms - self.now_ms()).max(0) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            Some(v) => {
                // Subscribed before looking, so a move in between is not missed.
                let mut moved = v.moved.subscribe();
                while self.now_ms() < due_ms {
                    if moved.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_stands_still_and_only_moves_forward() {
        let start = DateTime::from_timestamp_millis(1_767_571_200_000).unwrap();
        let clock = TimeSource::virtual_at(start);
        assert_eq!(clock.now(), start);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(
            clock.now(),
            start,
            "a virtual clock does not follow real time"
        );
        clock.advance_to(start.timestamp_millis() + 4 * 3600 * 1000);
        assert_eq!(clock.now_ms(), start.timestamp_millis() + 4 * 3600 * 1000);
        clock.advance_to(start.timestamp_millis());
        assert_eq!(
            clock.now_ms(),
            start.timestamp_millis() + 4 * 3600 * 1000,
            "never back"
        );
    }

    #[tokio::test]
    async fn a_sleeper_on_a_virtual_clock_wakes_when_it_is_moved_far_enough() {
        let clock = TimeSource::virtual_at(DateTime::from_timestamp_millis(0).unwrap());
        let waiter = tokio::spawn({
            let clock = clock.clone();
            async move { clock.reach(5000).await }
        });
        tokio::task::yield_now().await;
        clock.advance_to(1000);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "1 s is not 5 s");
        clock.advance_to(5000);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
    }

    #[test]
    fn the_real_clock_follows_real_time() {
        let clock = TimeSource::real();
        let before = Utc::now().timestamp_millis();
        let now = clock.now_ms();
        assert!(now >= before && now <= Utc::now().timestamp_millis());
        clock.advance_to(now + 3_600_000);
        assert!(
            clock.now_ms() < now + 3_600_000,
            "the real clock cannot be moved"
        );
    }

    #[test]
    fn milliseconds_out_of_range_hold_at_its_ends_not_1970() {
        assert_eq!(at_ms(1_700_000_000_000).timestamp(), 1_700_000_000);
        assert_eq!(at_ms(i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(at_ms(i64::MIN), DateTime::<Utc>::MIN_UTC);
    }
}
