//! What Slack's `users.info` says about a person, cached: their language (from their
//! locale), their time zone, whether they are a workspace admin or owner, and whether
//! they are the customer's side (a guest, or of another organisation). One lookup
//! serves all four, so only a person's first request in a while waits for Slack.
//! The members of the user groups that hold roles (`usergroups.users.list`) are cached
//! the same way, for a shorter while: membership changes more often than a locale.
//!
//! A lookup under way is shared: a second wait for the same person or group joins it
//! instead of asking Slack again, and once one wait has given up on it, later ones do
//! not wait at all (the lookup goes on and fills the cache). So a request that asks
//! several times waits for each lookup once, and a request's lookups can run together
//! under one budget ([`Users::facts_within`], [`Users::members_within`]).

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::future::{BoxFuture, FutureExt, Shared};
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
pub struct Facts {
    pub lang: Lang,
    pub tz: Option<chrono_tz::Tz>,
    pub is_admin: bool,
    /// A guest, or a person of another organisation: never staff.
    pub customer_side: bool,
}

/// Which side a person is on, as far as Slack has said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Staff,
    Customer,
    /// Slack did not say in time (or at all): treated as not staff, so a slow Slack
    /// never lets a guest act as staff.
    Unknown,
}

/// (team, user) → their facts and when they were looked up.
type Cache = HashMap<(String, String), (Facts, Instant)>;

/// How long a user group's member list is trusted.
const GROUP_TTL: Duration = Duration::from_secs(5 * 60);

/// (team, group) → its members and when they were listed.
type Groups = HashMap<(String, String), (Arc<HashSet<String>>, Instant)>;

/// A lookup under way: its shared result, and whether a wait has given up on it.
struct Pending<T: Clone> {
    result: Shared<BoxFuture<'static, Option<T>>>,
    gave_up: Arc<AtomicBool>,
}

/// (team, person or group) → the lookup under way.
type InFlight<T> = Arc<Mutex<HashMap<(String, String), Pending<T>>>>;

/// Joins the lookup of `key` under way, or starts `lookup` apart, and waits for it at
/// most `wait`; `None` if it takes longer (it goes on, and fills its cache), and at
/// once if an earlier wait has already given up on it.
async fn shared_lookup<T: Clone + Send + Sync + 'static>(
    in_flight: &InFlight<T>,
    key: (String, String),
    wait: Duration,
    lookup: impl std::future::Future<Output = Option<T>> + Send + 'static,
) -> Option<T> {
    let (result, gave_up) = {
        let mut pending = in_flight.lock().expect("in-flight lock");
        let entry = pending.entry(key.clone()).or_insert_with(|| {
            let done = in_flight.clone();
            let task = tokio::spawn(async move {
                let found = lookup.await;
                done.lock().expect("in-flight lock").remove(&key);
                found
            });
            Pending {
                result: task.map(|joined| joined.ok().flatten()).boxed().shared(),
                gave_up: Arc::default(),
            }
        });
        (entry.result.clone(), entry.gave_up.clone())
    };
    if gave_up.load(Ordering::Relaxed) {
        return result.peek().cloned().flatten();
    }
    match tokio::time::timeout(wait, result).await {
        Ok(found) => found,
        Err(_) => {
            gave_up.store(true, Ordering::Relaxed);
            None
        }
    }
}

/// How long whether a channel is shared with another organisation is trusted.
const SHARED_TTL: Duration = Duration::from_secs(5 * 60);

/// (team, channel) → whether it is shared, and when Slack said so.
type SharedChannels = HashMap<(String, String), (bool, Instant)>;

#[derive(Clone)]
pub struct Users {
    api: SlackApi,
    cache: Arc<Mutex<Cache>>,
    groups: Arc<Mutex<Groups>>,
    facts_in_flight: InFlight<Facts>,
    groups_in_flight: InFlight<Arc<HashSet<String>>>,
    shared: Arc<Mutex<SharedChannels>>,
    shared_in_flight: InFlight<bool>,
}

impl Users {
    pub fn new(api: SlackApi) -> Self {
        Self {
            api,
            cache: Arc::default(),
            groups: Arc::default(),
            facts_in_flight: Arc::default(),
            groups_in_flight: Arc::default(),
            shared: Arc::default(),
            shared_in_flight: Arc::default(),
        }
    }

    /// Whether the app can ask Slack anything (it has a token).
    pub fn has_token(&self) -> bool {
        self.api.has_token()
    }

    /// Whether `channel` of `team` is shared with another organisation (Slack Connect,
    /// `conversations.info`'s `is_shared`), cached; `None` if Slack did not answer in
    /// `wait` (the lookup goes on, for the next request) or refused.
    pub async fn is_shared_within(
        &self,
        team: &str,
        channel: &str,
        wait: Duration,
    ) -> Option<bool> {
        let key = (team.to_string(), channel.to_string());
        if let Some((shared, at)) = self.shared.lock().expect("shared lock").get(&key)
            && at.elapsed() < SHARED_TTL
        {
            return Some(*shared);
        }
        if !self.api.has_token() {
            return None;
        }
        let this = self.clone();
        shared_lookup(&self.shared_in_flight, key.clone(), wait, async move {
            let asked = async { this.api.workspace(&key.0).await?.is_shared(&key.1).await }.await;
            match asked {
                Ok(shared) => {
                    this.shared
                        .lock()
                        .expect("shared lock")
                        .insert(key, (shared, Instant::now()));
                    Some(shared)
                }
                Err(e) => {
                    debug!(error = %e, "conversations.info failed");
                    None
                }
            }
        })
        .await
    }

    /// The members of the user group `group` of `team`, cached; `None` if Slack did
    /// not answer in time (the listing goes on, for the next request).
    pub async fn members_of(&self, team: &str, group: &str) -> Option<Arc<HashSet<String>>> {
        self.members_within(team, group, WAIT).await
    }

    /// [`Self::members_of`], waiting at most `wait`.
    pub async fn members_within(
        &self,
        team: &str,
        group: &str,
        wait: Duration,
    ) -> Option<Arc<HashSet<String>>> {
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
        shared_lookup(&self.groups_in_flight, key.clone(), wait, async move {
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
        self.facts_within(team, user, WAIT).await
    }

    /// [`Self::facts`], waiting at most `wait`.
    pub async fn facts_within(&self, team: &str, user: &str, wait: Duration) -> Option<Facts> {
        let key = (team.to_string(), user.to_string());
        if let Some(facts) = self.cached(&key) {
            return Some(facts);
        }
        if !self.api.has_token() {
            return None;
        }
        let this = self.clone();
        shared_lookup(&self.facts_in_flight, key.clone(), wait, async move {
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
                        customer_side: info.customer_side,
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

    /// Which side `user` is on, waiting at most `wait`. Without a token nothing can be
    /// asked (nor posted): everyone counts as staff, as before sides existed.
    pub async fn side_within(&self, team: &str, user: &str, wait: Duration) -> Side {
        if !self.api.has_token() {
            return Side::Staff;
        }
        side_of(self.facts_within(team, user, wait).await)
    }
}

/// The side the facts tell (unknown without them).
pub fn side_of(facts: Option<Facts>) -> Side {
    match facts {
        Some(Facts {
            customer_side: true,
            ..
        }) => Side::Customer,
        Some(_) => Side::Staff,
        None => Side::Unknown,
    }
}
