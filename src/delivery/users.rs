//! What Slack's `users.info` says about a person, cached: their language (from their
//! locale), their time zone and whether they are a workspace admin or owner. One lookup
//! serves all three, so only a person's first request in a while waits for Slack.
//! The members of the user groups that hold roles (`usergroups.users.list`) are cached
//! the same way, for a shorter while: membership changes more often than a locale.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tracing::debug;

use super::slack_api::SlackApi;
use crate::domain::i18n::Lang;

/// How long a lookup is trusted.
const TTL: Duration = Duration::from_secs(6 * 3600);
/// How long a request waits for `users.info`; the lookup goes on and the next request
/// uses it. Keeps the ack far inside Slack's 3 seconds.
const WAIT: Duration = Duration::from_millis(700);

/// What the app knows about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Facts {
    lang: Lang,
    tz: Option<chrono_tz::Tz>,
    is_admin: bool,
}

/// (team, user) → their facts and when they were looked up.
type Cache = HashMap<(String, String), (Facts, Instant)>;

/// How long a user group's member list is trusted.
const GROUP_TTL: Duration = Duration::from_secs(5 * 60);

/// (team, group) → its members and when they were listed.
type Groups = HashMap<(String, String), (Arc<HashSet<String>>, Instant)>;

/// Runs a lookup apart and waits for it at most [`WAIT`]; `None` if it takes longer
/// (it goes on, and fills its cache for the next request).
async fn within_wait<T: Send + 'static>(
    lookup: impl std::future::Future<Output = Option<T>> + Send + 'static,
) -> Option<T> {
    tokio::time::timeout(WAIT, tokio::spawn(lookup))
        .await
        .ok()?
        .ok()?
}

#[derive(Clone)]
pub struct Users {
    api: SlackApi,
    cache: Arc<Mutex<Cache>>,
    groups: Arc<Mutex<Groups>>,
}

impl Users {
    pub fn new(api: SlackApi) -> Self {
        Self {
            api,
            cache: Arc::default(),
            groups: Arc::default(),
        }
    }

    /// The members of the user group `group` of `team`, cached; `None` if Slack did
    /// not answer in time (the listing goes on, for the next request).
    pub async fn members_of(&self, team: &str, group: &str) -> Option<Arc<HashSet<String>>> {
        let key = (team.to_string(), group.to_string());
        if let Some((members, at)) = self.groups.lock().expect("groups lock").get(&key)
            && at.elapsed() < GROUP_TTL
        {
            return Some(members.clone());
        }
        if !self.api.has_token() {
            return None;
        }
        let this = self.clone();
        within_wait(async move {
            let listed = async {
                this.api
                    .workspace(&key.0)
                    .await?
                    .group_members(&key.1)
                    .await
            }
            .await;
            match listed {
                Ok(members) => {
                    let members = Arc::new(members.into_iter().collect::<HashSet<_>>());
                    this.groups
                        .lock()
                        .expect("groups lock")
                        .insert(key, (members.clone(), Instant::now()));
                    Some(members)
                }
                Err(e) => {
                    debug!(error = %e, "usergroups.users.list failed");
                    None
                }
            }
        })
        .await
    }

    fn cached(&self, key: &(String, String)) -> Option<Facts> {
        let cache = self.cache.lock().expect("users cache lock");
        cache
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(facts, _)| *facts)
    }

    /// The cached facts, or a lookup waited for at most [`WAIT`]; `None` if Slack did
    /// not answer in time (or at all).
    async fn facts(&self, team: &str, user: &str) -> Option<Facts> {
        let key = (team.to_string(), user.to_string());
        if let Some(facts) = self.cached(&key) {
            return Some(facts);
        }
        if !self.api.has_token() {
            return None;
        }
        let this = self.clone();
        within_wait(async move {
            let info = async {
                this.api
                    .workspace(&key.0)
                    .await?
                    .user_info(&key.0, &key.1)
                    .await
            }
            .await;
            match info {
                Ok(info) => {
                    let facts = Facts {
                        lang: Lang::from_locale(info.locale.as_deref().unwrap_or("")),
                        tz: info.tz.as_deref().and_then(|tz| tz.parse().ok()),
                        is_admin: info.is_admin,
                    };
                    this.cache
                        .lock()
                        .expect("users cache lock")
                        .insert(key, (facts, Instant::now()));
                    Some(facts)
                }
                Err(e) => {
                    debug!(error = %e, "users.info failed");
                    None
                }
            }
        })
        .await
    }

    /// The language to answer `user` of `team` in (English until Slack has said).
    pub async fn lang_for(&self, team: &str, user: &str) -> Lang {
        self.facts(team, user).await.map_or(Lang::En, |f| f.lang)
    }

    /// The time zone Slack has for `user`; `None` if it did not say.
    pub async fn tz_of(&self, team: &str, user: &str) -> Option<chrono_tz::Tz> {
        self.facts(team, user).await.and_then(|f| f.tz)
    }

    /// Whether `user` is an admin or owner of `team`; `None` if Slack did not say.
    pub async fn is_admin(&self, team: &str, user: &str) -> Option<bool> {
        self.facts(team, user).await.map(|f| f.is_admin)
    }
}
