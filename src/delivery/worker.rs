//! The background side of a request: creating channels, posting checklists,
//! `response_url` answers, and keeping every posted checklist message current. (DMs
//! and everything about tickets go through the durable outbox, `scheduler::send`.)
//!
//! Requests store their change, then hand a [`Job`] to a bounded queue and answer
//! Slack at once; the work here may take seconds when Slack is slow. State that must
//! survive a crash is in the database, not in the queue: a customer still without a
//! channel is picked up again at start-up, and stale checklist messages are found by
//! comparing versions ([`Store::stale_messages`]), so a lost wake-up only delays an
//! update.
//!
//! Message updates are coalesced: a change bumps the customer's version and wakes the
//! updater, which re-renders each stale message once from the database, however many
//! ticks happened, and runs at most one such pass a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tracing::{info, warn};

use super::clicks::Clicks;
use super::slack_api::{ApiError, SlackApi};
use crate::blocks::{Message, checklist};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::slug::channel_name;
use crate::domain::template::Template;
use crate::store::{StaleMessage, Store};

/// Jobs waiting beyond this are refused (the request answers that it is busy).
pub const QUEUE_CAPACITY: usize = 1024;
/// Jobs running at once; Slack's per-method limits make more pointless.
const CONCURRENT_JOBS: usize = 8;
/// The shortest time between two passes of the updater, so the shortest time between
/// two updates of one message. A change after a quiet spell shows at once; a burst of
/// changes is coalesced into one update a second. `chat.update` is a tier 3 method
/// (50+ a minute), and a busy checklist would otherwise be re-rendered on every tick.
const UPDATE_INTERVAL: Duration = Duration::from_secs(1);
/// How long to wait after a pass in which Slack refused something.
const UPDATE_BACKOFF: Duration = Duration::from_secs(30);
/// Stale messages re-rendered per pass at most.
const UPDATE_PASS: i64 = 200;
/// Attempts for a call that failed in a way worth retrying.
const ATTEMPTS: u32 = 5;
/// `cust-<slug>`, then `-2` … up to this many names are tried on `name_taken`.
const CHANNEL_NAME_ATTEMPTS: u32 = 20;

/// A checklist message: the overview, or part `part` of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Overview,
    Category {
        number: u32,
        part: usize,
    },
    /// The daily digest of overdue items posted on that day.
    Digest(chrono::NaiveDate),
}

impl Part {
    pub fn key(self) -> String {
        match self {
            Part::Overview => "overview".into(),
            Part::Category { number, part } => format!("category:{number}:{part}"),
            Part::Digest(day) => format!("digest:{day}"),
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        if key == "overview" {
            return Some(Part::Overview);
        }
        if let Some(day) = key.strip_prefix("digest:") {
            return day.parse().ok().map(Part::Digest);
        }
        let mut it = key.strip_prefix("category:")?.split(':');
        let number = it.next()?.parse().ok()?;
        let part = it.next()?.parse().ok()?;
        Some(Part::Category { number, part })
    }
}

#[derive(Debug, Clone)]
pub enum Job {
    /// Create the customer's channel, invite the caller, post and pin the overview.
    Provision {
        customer_id: i64,
        caller: String,
        response_url: Option<String>,
        lang: Lang,
    },
    /// Post the overview (and pin it) or a category's messages in the customer's channel.
    PostChecklist {
        customer_id: i64,
        category: Option<u32>,
        pin: bool,
        response_url: Option<String>,
        lang: Lang,
    },
    /// An answer through a `response_url`.
    Respond {
        response_url: String,
        message: Message,
        replace_original: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the delivery queue is full")]
pub struct Busy;

/// The handle requests use.
#[derive(Clone)]
pub struct Delivery {
    jobs: mpsc::Sender<Job>,
    stale: Arc<Notify>,
    clicks: Clicks,
    /// Tells the App Home refresher that a checklist changed.
    wake: Arc<crate::store::Wake>,
    /// Jobs submitted and not yet finished.
    unfinished: Arc<AtomicUsize>,
}

impl Delivery {
    pub fn submit(&self, job: Job) -> Result<(), Busy> {
        // Counted before it can start, so it is never finished before it was counted.
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        self.jobs.try_send(job).map_err(|_| {
            self.unfinished.fetch_sub(1, Ordering::SeqCst);
            Busy
        })
    }

    /// Runs a Slack call off the request's path (opening a modal, publishing a Home),
    /// counted with the jobs.
    pub fn detach(&self, call: impl std::future::Future<Output = ()> + Send + 'static) {
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        let done = Finished(self.unfinished.clone());
        tokio::spawn(async move {
            call.await;
            drop(done);
        });
    }

    /// Jobs queued or running, and detached calls not yet done: the shell waits for
    /// none before it takes the next line.
    pub fn unfinished(&self) -> usize {
        self.unfinished.load(Ordering::SeqCst)
    }

    /// For follow-up work with nobody left to answer: a full queue is logged, never
    /// dropped in silence.
    pub fn submit_or_warn(&self, job: Job) {
        if let Err(Busy) = self.submit(job) {
            warn!("the delivery queue is full; a follow-up to Slack was dropped");
        }
    }

    /// People's last selections on message copies (see [`Clicks`]).
    pub fn clicks(&self) -> &Clicks {
        &self.clicks
    }

    /// Some customer's checklist changed: posted messages need re-rendering.
    pub fn checklist_changed(&self) {
        self.stale.notify_one();
        self.wake.home.notify_one();
    }
}

/// Counts one job or call as finished when dropped, so a panic in it is counted too.
struct Finished(Arc<AtomicUsize>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct Worker {
    unfinished: Arc<AtomicUsize>,
    clicks: Clicks,
    store: Store,
    api: SlackApi,
    template: Arc<Template>,
    channel_lang: Lang,
}

/// Starts the job runner and the message updater. They stop when every [`Delivery`]
/// handle is dropped (jobs) or `shutdown` turns true (updater), finishing what they hold.
pub fn start(
    store: Store,
    api: SlackApi,
    template: Arc<Template>,
    channel_lang: Lang,
    shutdown: watch::Receiver<bool>,
) -> (Delivery, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let stale = Arc::new(Notify::new());
    let clicks = Clicks::default();
    let unfinished = Arc::new(AtomicUsize::new(0));
    let worker = Worker {
        unfinished: unfinished.clone(),
        clicks: clicks.clone(),
        store,
        api,
        template,
        channel_lang,
    };
    let delivery = Delivery {
        jobs: tx,
        stale: stale.clone(),
        clicks,
        wake: worker.store.wakers().clone(),
        unfinished,
    };
    let handle = tokio::spawn(async move {
        let updater = tokio::spawn(worker.clone().run_updater(stale, shutdown));
        worker.run_jobs(rx).await;
        let _ = updater.await;
    });
    (delivery, handle)
}

impl Delivery {
    /// Queues the channels a crash left uncreated. Called before the server takes
    /// requests: a customer created meanwhile would otherwise be provisioned twice
    /// (once by its request, once here) and get two channels.
    pub async fn resume_unfinished(&self, store: &Store, lang: Lang) -> Result<usize, sqlx::Error> {
        let customers = store.customers_awaiting_channel().await?;
        for c in &customers {
            self.submit_or_warn(Job::Provision {
                customer_id: c.id,
                caller: c.created_by.clone(),
                response_url: None,
                lang,
            });
        }
        Ok(customers.len())
    }
}

/// Runs `call` until it succeeds, fails for good, or runs out of attempts; waits out
/// rate limits and backs off on transport errors.
async fn with_retries<T, F, Fut>(what: &str, mut call: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        match call().await {
            Err(ApiError::RateLimited(wait)) if attempt < ATTEMPTS => {
                warn!(what, ?wait, "rate limited by Slack; waiting");
                tokio::time::sleep(wait).await;
            }
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                warn!(what, error = %e, attempt, "Slack call failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            result => return result,
        }
    }
    unreachable!("the last attempt returns")
}

impl Worker {
    async fn run_jobs(&self, mut rx: mpsc::Receiver<Job>) {
        let permits = Arc::new(Semaphore::new(CONCURRENT_JOBS));
        let mut running = tokio::task::JoinSet::new();
        while let Some(job) = rx.recv().await {
            let permit = permits.clone().acquire_owned().await.expect("never closed");
            let worker = self.clone();
            running.spawn(async move {
                let done = Finished(worker.unfinished.clone());
                worker.run(job).await;
                drop(done);
                drop(permit);
            });
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
    }

    async fn run(&self, job: Job) {
        match job {
            Job::Provision {
                customer_id,
                caller,
                response_url,
                lang,
            } => {
                self.provision(customer_id, &caller, response_url, lang)
                    .await
            }
            Job::PostChecklist {
                customer_id,
                category,
                pin,
                response_url,
                lang,
            } => {
                let Some(customer) = self.customer(customer_id).await else {
                    return;
                };
                if let Err(e) = self.post_checklist(&customer, category, pin).await {
                    warn!(customer = customer.id, error = %e, "cannot post the checklist");
                    if let Some(url) = response_url {
                        self.respond(&url, &post_failed(&customer, &e, lang), false)
                            .await;
                    }
                }
            }
            Job::Respond {
                response_url,
                message,
                replace_original,
            } => {
                self.respond(&response_url, &message, replace_original)
                    .await
            }
        }
    }

    async fn customer(&self, id: i64) -> Option<Customer> {
        match self.store.customer_by_id_unscoped(id).await {
            Ok(found) => found,
            Err(e) => {
                warn!(customer = id, error = %e, "cannot read the customer");
                None
            }
        }
    }

    async fn respond(&self, url: &str, message: &Message, replace_original: bool) {
        if let Err(e) = with_retries("respond", || {
            self.api.respond(url, message, replace_original)
        })
        .await
        {
            warn!(error = %e, "cannot answer through response_url");
        }
    }

    async fn provision(
        &self,
        customer_id: i64,
        caller: &str,
        response_url: Option<String>,
        lang: Lang,
    ) {
        let Some(mut customer) = self.customer(customer_id).await else {
            return;
        };
        if customer.channel_id.is_none() {
            match self.create_channel(&customer).await {
                Ok(channel) => {
                    if let Err(e) = self
                        .store
                        .set_customer_channel(customer.id, Some(&channel), None)
                        .await
                    {
                        warn!(customer = customer.id, error = %e, "cannot record the new channel");
                        return;
                    }
                    customer.channel_id = Some(channel);
                }
                Err(e) => {
                    warn!(customer = customer.id, error = %e, "cannot create the customer's channel");
                    let reason = e.to_string();
                    if let Err(e) = self
                        .store
                        .set_customer_channel(customer.id, None, Some(&reason))
                        .await
                    {
                        warn!(customer = customer.id, error = %e, "cannot record the channel error");
                    }
                    if let Some(url) = response_url {
                        let text = match lang {
                            Lang::En => format!(
                                ":warning: *{}* was created, but its channel could not be: {reason}. Link an existing one with `/readiness new` … `channel=#…` after fixing the app's scopes.",
                                crate::blocks::name(&customer.name)
                            ),
                            Lang::Ja => format!(
                                ":warning: *{}* を作成しましたが、チャンネルを作成できませんでした：{reason}",
                                crate::blocks::name(&customer.name)
                            ),
                        };
                        self.respond(&url, &Message::plain(text), false).await;
                    }
                    return;
                }
            }
            let channel = customer.channel_id.clone().expect("just set");
            let invitees = [caller];
            let invited = async {
                let calls = self.api.workspace(&customer.team_id).await?;
                with_retries("invite", || calls.invite(&channel, &invitees)).await
            }
            .await;
            match invited {
                Ok(()) => {}
                Err(ApiError::Slack(code))
                    if code == "already_in_channel" || code == "cant_invite_self" => {}
                Err(e) => warn!(customer = customer.id, error = %e, "cannot invite the caller"),
            }
        }
        let result = self.post_checklist(&customer, None, true).await;
        if let Some(url) = response_url {
            let message = match (&result, &customer.channel_id) {
                (Ok(()), Some(channel)) => Message::plain(match lang {
                    Lang::En => format!(
                        ":white_check_mark: *{}* is set up in <#{channel}> (slug `{}`). The overview is pinned there.",
                        crate::blocks::name(&customer.name),
                        customer.slug
                    ),
                    Lang::Ja => format!(
                        ":white_check_mark: *{}* を <#{channel}> に用意しました（スラッグ `{}`）。概要をピン留めしました。",
                        crate::blocks::name(&customer.name),
                        customer.slug
                    ),
                }),
                (Err(e), _) => post_failed(&customer, e, lang),
                (Ok(()), None) => return,
            };
            self.respond(&url, &message, false).await;
        }
    }

    /// `cust-<slug>`, or the first of `-2`, `-3`, … that is free.
    async fn create_channel(&self, customer: &Customer) -> Result<String, ApiError> {
        let calls = self.api.workspace(&customer.team_id).await?;
        for attempt in 1..=CHANNEL_NAME_ATTEMPTS {
            let name = channel_name(&customer.slug, attempt);
            match with_retries("conversations.create", || calls.create_channel(&name, true)).await {
                Err(ApiError::Slack(code)) if code == "name_taken" => continue,
                result => return result,
            }
        }
        Err(ApiError::Slack("name_taken".into()))
    }

    /// Renders and posts the overview (pinned if asked) or one category, recording
    /// each message so later changes update it.
    async fn post_checklist(
        &self,
        customer: &Customer,
        category: Option<u32>,
        pin: bool,
    ) -> Result<(), ApiError> {
        let channel = customer
            .channel_id
            .clone()
            .ok_or_else(|| ApiError::Slack("channel_not_found".into()))?;
        let calls = self.api.workspace(&customer.team_id).await?;
        // The version is read before the state, so a change racing this post leaves
        // the message marked stale rather than wrongly current.
        let version = self
            .store
            .customer_version(customer.id)
            .await
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let states = self
            .store
            .item_states_committed(customer.id)
            .await
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let parts: Vec<(Part, Message)> = match category.and_then(|n| self.template.category(n)) {
            None => vec![(
                Part::Overview,
                checklist::overview(&self.template, customer, &states, self.channel_lang),
            )],
            Some(cat) => checklist::category_messages(customer, cat, &states, self.channel_lang)
                .into_iter()
                .enumerate()
                .map(|(part, m)| {
                    (
                        Part::Category {
                            number: cat.number,
                            part,
                        },
                        m,
                    )
                })
                .collect(),
        };
        for (part, message) in parts {
            let ts = with_retries("chat.postMessage", || {
                calls.post_message(&channel, &message)
            })
            .await?;
            if let Err(e) = self
                .store
                .record_message(customer.id, &part.key(), &channel, &ts, version)
                .await
            {
                warn!(customer = customer.id, error = %e, "cannot record a posted message");
            }
            if pin && part == Part::Overview {
                match with_retries("pins.add", || calls.pin(&channel, &ts)).await {
                    Ok(()) => {}
                    Err(ApiError::Slack(code)) if code == "already_pinned" => {}
                    Err(e) => warn!(customer = customer.id, error = %e, "cannot pin the overview"),
                }
            }
        }
        Ok(())
    }

    // ---- keeping posted messages current --------------------------------------------

    async fn run_updater(self, stale: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let started = tokio::time::Instant::now();
            let clean = self.update_stale_messages().await;
            // More than a pass's worth still stale: go on after the pause below.
            let behind = clean
                && self
                    .store
                    .stale_messages(1)
                    .await
                    .is_ok_and(|s| !s.is_empty());
            let idle = if clean {
                Duration::from_secs(60)
            } else {
                UPDATE_BACKOFF
            };
            tokio::select! {
                _ = stale.notified(), if clean => {}
                _ = std::future::ready(()), if behind => {}
                // Another replica's changes, or a wake-up lost to a crash, are caught here.
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep_until(started + UPDATE_INTERVAL) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Re-renders each stale message once (up to [`UPDATE_PASS`] of them). A message
    /// Slack refuses stays stale for the next pass; messages that go stale during this
    /// pass wait for the next one, so each is updated at most once a pass.
    /// Returns false if anything failed.
    pub async fn update_stale_messages(&self) -> bool {
        let stale = match self.store.stale_messages(UPDATE_PASS).await {
            Ok(stale) => stale,
            Err(e) => {
                warn!(error = %e, "cannot read stale messages");
                return false;
            }
        };
        let mut clean = true;
        let started = std::time::Instant::now();
        let count = stale.len();
        for message in stale {
            if let Err(e) = self.update_one(&message).await {
                warn!(channel = %message.channel_id, error = %e, "cannot update a checklist message");
                clean = false;
            }
        }
        if count > 0 {
            tracing::debug!(count, took = ?started.elapsed(), clean, "updated stale checklist messages");
        }
        clean
    }

    async fn update_one(&self, stale: &StaleMessage) -> Result<(), ApiError> {
        let db = |e: sqlx::Error| ApiError::Transport(e.to_string());
        let Some(customer) = self.customer(stale.customer_id).await else {
            return Ok(());
        };
        let states = self
            .store
            .item_states_committed(customer.id)
            .await
            .map_err(db)?;
        let rendered = match Part::parse(&stale.part) {
            Some(Part::Overview) => Some(checklist::overview(
                &self.template,
                &customer,
                &states,
                self.channel_lang,
            )),
            Some(Part::Digest(day)) => {
                let overdue = crate::blocks::reminders::overdue(&self.template, &states, day);
                Some(crate::blocks::reminders::digest(
                    &customer,
                    &overdue,
                    day,
                    self.channel_lang,
                ))
            }
            Some(Part::Category { number, part }) => {
                self.template.category(number).and_then(|cat| {
                    checklist::category_messages(&customer, cat, &states, self.channel_lang)
                        .into_iter()
                        .nth(part)
                })
            }
            None => None,
        };
        // A part the template no longer has (a team changed it) is left as it was.
        if let Some(message) = rendered {
            let updated = async {
                let calls = self.api.workspace(&customer.team_id).await?;
                with_retries("chat.update", || {
                    calls.update_message(&stale.channel_id, &stale.ts, &message)
                })
                .await
            }
            .await;
            match updated {
                Ok(()) => self.clicks.forget_message(&stale.ts),
                // Uninstalled: the message stays as it was; trying again cannot help.
                Err(ApiError::NotInstalled) => {}
                Err(ApiError::Slack(code))
                    if matches!(
                        code.as_str(),
                        "message_not_found"
                            | "channel_not_found"
                            | "cant_update_message"
                            | "is_archived"
                    ) =>
                {
                    info!(channel = %stale.channel_id, code, "a checklist message is gone; forgetting it");
                    return self
                        .store
                        .forget_message(&stale.channel_id, &stale.ts)
                        .await
                        .map_err(db);
                }
                Err(e) => return Err(e),
            }
        }
        self.store
            .mark_rendered(&stale.channel_id, &stale.ts, stale.version)
            .await
            .map_err(db)
    }
}

fn post_failed(customer: &Customer, error: &ApiError, lang: Lang) -> Message {
    let channel = customer
        .channel_id
        .as_ref()
        .map(|c| format!("<#{c}>"))
        .unwrap_or_default();
    let hint = match error.code() {
        Some("not_in_channel") | Some("channel_not_found") => match lang {
            Lang::En => format!(
                " Invite the app to {channel} (`/invite @Readiness`) and run `/readiness show` there."
            ),
            Lang::Ja => format!(
                " {channel} にアプリを招待し（`/invite @Readiness`）、そこで `/readiness show` を実行してください。"
            ),
        },
        _ => String::new(),
    };
    Message::plain(match lang {
        Lang::En => format!(
            ":warning: I could not post the checklist of *{}* in {channel}: {error}.{hint}",
            crate::blocks::name(&customer.name)
        ),
        Lang::Ja => format!(
            ":warning: *{}* のチェックリストを {channel} に投稿できませんでした：{error}。{hint}",
            crate::blocks::name(&customer.name)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_keys_round_trip() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        for part in [
            Part::Overview,
            Part::Category { number: 3, part: 1 },
            Part::Digest(day),
        ] {
            assert_eq!(Part::parse(&part.key()), Some(part));
        }
        assert_eq!(Part::parse("category:x:1"), None);
    }
}
