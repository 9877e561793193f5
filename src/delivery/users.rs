//! Which language to answer a person in: their Slack locale from `users.info`,
//! cached, so only a person's first request in a while waits for Slack.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tracing::debug;

use super::slack_api::SlackApi;
use crate::domain::i18n::Lang;

/// How long a looked-up locale is trusted.
const TTL: Duration = Duration::from_secs(6 * 3600);
/// How long a request waits for `users.info` before answering in English; the lookup
/// goes on and the next answer uses it. Keeps the ack far inside Slack's 3 seconds.
const WAIT: Duration = Duration::from_millis(700);

/// (team, user) → the language and when it was looked up.
type Cache = HashMap<(String, String), (Lang, Instant)>;

#[derive(Clone)]
pub struct Locales {
    api: SlackApi,
    cache: Arc<Mutex<Cache>>,
}

impl Locales {
    pub fn new(api: SlackApi) -> Self {
        Self {
            api,
            cache: Arc::default(),
        }
    }

    fn cached(&self, key: &(String, String)) -> Option<Lang> {
        let cache = self.cache.lock().expect("locale cache lock");
        cache
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(lang, _)| *lang)
    }

    /// The language to answer `user` of `team` in.
    pub async fn lang_for(&self, team: &str, user: &str) -> Lang {
        let key = (team.to_string(), user.to_string());
        if let Some(lang) = self.cached(&key) {
            return lang;
        }
        if !self.api.has_token() {
            return Lang::En;
        }
        let this = self.clone();
        let lookup = tokio::spawn(async move {
            match this.api.user_info(&key.1).await {
                Ok(info) => {
                    let lang = Lang::from_locale(info.locale.as_deref().unwrap_or(""));
                    this.cache
                        .lock()
                        .expect("locale cache lock")
                        .insert(key, (lang, Instant::now()));
                    Some(lang)
                }
                Err(e) => {
                    debug!(error = %e, "users.info failed; answering in English");
                    None
                }
            }
        });
        match tokio::time::timeout(WAIT, lookup).await {
            Ok(Ok(Some(lang))) => lang,
            _ => Lang::En,
        }
    }
}
