//! What each person last selected in each checkbox group of each message copy, so two
//! quick clicks are read right.
//!
//! A click is read against the group's state as rendered (its block_id). But Slack's
//! client keeps a person's own clicks on screen until the message is re-rendered: tick
//! a box, then untick it a moment later, before the update lands, and the second click
//! arrives against a copy that still says "unticked". Remembering the person's last
//! selection on that copy gives the second click what its clicker actually saw. A copy
//! that the app re-renders is forgotten here, since the person then sees the new state.
//!
//! In memory and per process: with several replicas a second click that lands on
//! another replica falls back to the rendered state.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Entries older than this are dropped: Slack's own client state does not last either.
const KEEP: Duration = Duration::from_secs(300);
/// At most this many entries; past it the oldest half goes.
const MAX_ENTRIES: usize = 10_000;

/// (user, message ts, block_id)
type Key = (String, String, String);
/// What was selected, and when.
type Seen = (Vec<String>, Instant);

#[derive(Clone, Default)]
pub struct Clicks {
    last: Arc<Mutex<HashMap<Key, Seen>>>,
}

impl Clicks {
    /// Records `selected` as the person's view of the group now, and returns what they
    /// saw before this click, if this process saw their previous click on this copy.
    pub fn exchange(
        &self,
        user: &str,
        message_ts: &str,
        block_id: &str,
        selected: Vec<String>,
    ) -> Option<Vec<String>> {
        let mut last = self.last.lock().expect("clicks lock");
        let now = Instant::now();
        if last.len() >= MAX_ENTRIES {
            let mut ages: Vec<Instant> = last.values().map(|(_, at)| *at).collect();
            ages.sort();
            let cutoff = ages[ages.len() / 2];
            last.retain(|_, (_, at)| *at > cutoff);
        }
        let key = (
            user.to_string(),
            message_ts.to_string(),
            block_id.to_string(),
        );
        last.insert(key, (selected, now))
            .filter(|(_, at)| now.duration_since(*at) < KEEP)
            .map(|(previous, _)| previous)
    }

    /// The app re-rendered this message: everyone now sees its new state.
    pub fn forget_message(&self, message_ts: &str) {
        self.last
            .lock()
            .expect("clicks lock")
            .retain(|(_, ts, _), _| ts != message_ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_click_sees_the_first_until_the_message_is_re_rendered() {
        let clicks = Clicks::default();
        assert_eq!(
            clicks.exchange("U1", "1.1", "tick:1:0:a,b", vec!["a".into()]),
            None
        );
        assert_eq!(
            clicks.exchange("U1", "1.1", "tick:1:0:a,b", vec![]),
            Some(vec!["a".to_string()])
        );
        // Another person, or another copy, has their own view.
        assert_eq!(clicks.exchange("U2", "1.1", "tick:1:0:a,b", vec![]), None);
        assert_eq!(clicks.exchange("U1", "2.2", "tick:1:0:a,b", vec![]), None);
        clicks.forget_message("1.1");
        assert_eq!(
            clicks.exchange("U1", "1.1", "tick:1:0:a,b", vec!["b".into()]),
            None
        );
    }
}
