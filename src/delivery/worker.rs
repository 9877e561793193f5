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
//!
//! Its backoff and parking are on the app's [`TimeSource`], like the outbox's, so on a
//! virtual clock they pass when the clock is moved (its once-a-second pace stays real:
//! see [`UPDATE_INTERVAL`]); [`Delivery::updater`] tells [`crate::app::settle`] whether
//! the updater is at work and when it next will be.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tracing::{info, warn};

use super::clicks::Clicks;
use super::slack_api::{ApiError, SlackApi, with_deadline};
use crate::blocks::{Message, checklist};
use crate::domain::checklist::States;
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::plan::{Standing, standing_at};
use crate::domain::policy::Policy;
use crate::domain::slug::channel_name;
use crate::domain::template::Template;
use crate::store::{StaleMessage, Store};
use crate::time_source::TimeSource;

/// Jobs waiting beyond this are refused (the request answers that it is busy).
pub const QUEUE_CAPACITY: usize = 1024;
/// Jobs running at once; Slack's per-method limits make more pointless.
const CONCURRENT_JOBS: usize = 8;
/// The shortest time between two passes of the updater, so the shortest time between
/// two updates of one message. A change after a quiet spell shows at once; a burst of
/// changes is coalesced into one update a second. `chat.update` is a tier 3 method
/// (50+ a minute), and a busy checklist would otherwise be re-rendered on every tick.
/// Real time, unlike the backoff and parking: it keeps to Slack's rate, which is real,
/// and on a virtual clock a command's update must show at the moment of the command,
/// not move the clock on (the shell's transcripts), so it is a short wait `settle`
/// sits out rather than a moment it moves the clock to.
const UPDATE_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest time between two scans for stale messages. Every tick wakes the
/// updater, and a burst of them (thousands a second) would otherwise have it scan the
/// database once per tick only to find each workspace still within its
/// [`UPDATE_INTERVAL`]; one scan per gap serves them all. Real time, like the interval.
const SCAN_GAP: Duration = Duration::from_millis(25);
/// How long to wait after a pass in which Slack refused something.
const UPDATE_BACKOFF_MS: i64 = 30_000;
/// Stale messages re-rendered per pass at most.
const UPDATE_PASS: i64 = 200;
/// How long a channel or workspace whose updates Slack refuses for good is left alone
/// (the app removed from the channel, the channel archived or out of sight, the token
/// refused). Its messages are kept, not forgotten: once the app is invited back, the
/// channel unarchived or the token mended, they are brought up to date.
const PARKED_FOR_MS: i64 = 3_600_000;
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
    /// What the message updater is doing, for [`Delivery::updater`].
    updater: Arc<std::sync::Mutex<UpdaterView>>,
}

/// The message updater as [`crate::app::settle`] sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdaterView {
    /// A change was announced that the updater has not looked at yet.
    pub dirty: bool,
    /// It is reading the stale messages and handing out passes.
    pub scanning: bool,
    /// A workspace waits out the pace between two passes ([`UPDATE_INTERVAL`], real
    /// time): it goes on by itself within a second.
    pub pacing: bool,
    /// Passes running (Slack calls under way).
    pub running: usize,
    /// When (Unix ms, app time) it next acts on stale messages it knows about: a
    /// workspace waiting its turn or backing off, a channel or workspace parked. `None`:
    /// it knows of nothing to do.
    pub next_at: Option<i64>,
}

impl UpdaterView {
    /// At work now, or about to be.
    pub fn is_busy(&self) -> bool {
        self.dirty || self.scanning || self.pacing || self.running > 0
    }
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

    /// Asks the updater to look for stale messages now.
    pub fn look_for_stale(&self) {
        // Marked before the wake-up, so nobody sees the updater idle in between.
        self.updater.lock().expect("updater view lock").dirty = true;
        self.stale.notify_one();
    }

    /// What the message updater is doing and when it next will.
    pub fn updater(&self) -> UpdaterView {
        *self.updater.lock().expect("updater view lock")
    }

    /// Some customer's checklist changed: posted messages need re-rendering.
    pub fn checklist_changed(&self) {
        self.look_for_stale();
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
    /// Channels and workspaces left alone until then (Unix ms, app time;
    /// [`PARKED_FOR_MS`]), by channel id or team id.
    parked: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    time: TimeSource,
    updater: Arc<std::sync::Mutex<UpdaterView>>,
    clicks: Clicks,
    store: Store,
    api: SlackApi,
    template: Arc<Template>,
    channel_lang: Lang,
    /// Each tier's calendar and zone: the plan's health shown on the overview and the
    /// digest is judged on the customer's calendar.
    policy: Arc<Policy>,
}

/// Starts the job runner and the message updater. They stop when every [`Delivery`]
/// handle is dropped (jobs) or `shutdown` turns true (updater), finishing what they hold.
pub fn start(
    store: Store,
    api: SlackApi,
    template: Arc<Template>,
    channel_lang: Lang,
    policy: Arc<Policy>,
    time: TimeSource,
    shutdown: watch::Receiver<bool>,
) -> (Delivery, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let stale = Arc::new(Notify::new());
    let clicks = Clicks::default();
    let unfinished = Arc::new(AtomicUsize::new(0));
    let updater = Arc::new(std::sync::Mutex::new(UpdaterView::default()));
    let worker = Worker {
        unfinished: unfinished.clone(),
        parked: Arc::default(),
        time,
        updater: updater.clone(),
        clicks: clicks.clone(),
        store,
        api,
        template,
        channel_lang,
        policy,
    };
    let delivery = Delivery {
        jobs: tx,
        stale: stale.clone(),
        clicks,
        wake: worker.store.wakers().clone(),
        unfinished,
        updater,
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
        // No call may hang the job, or the updater pass, behind it.
        match with_deadline(call()).await {
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
        // The customer's tier's checklist, as everywhere a customer's is shown.
        let view = self.template.for_tier(customer.tier);
        let parts: Vec<(Part, Message)> = match category.and_then(|n| view.category(n)) {
            None => vec![(
                Part::Overview,
                checklist::overview(
                    view,
                    customer,
                    &states,
                    Some(&self.standing(customer, &states)),
                    self.channel_lang,
                ),
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

    /// Keeps posted messages current, each workspace on its own: a workspace whose
    /// calls are slow, rate-limited or failing holds up only its own messages. A
    /// workspace's messages are updated at most once a [`UPDATE_INTERVAL`], and after a
    /// pass in which Slack refused something it waits [`UPDATE_BACKOFF_MS`]. The backoff
    /// and parking are on the app's clock: on a virtual one the test or the shell moves
    /// it past them.
    async fn run_updater(self, stale: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        use std::collections::HashMap;
        /// A workspace's turn: whether its pass runs, when the next may start by the
        /// pace (real time), and when (Unix ms, app time) a backoff ends.
        #[derive(Default)]
        struct Turn {
            running: bool,
            paced_until: Option<tokio::time::Instant>,
            backoff_until: Option<i64>,
        }
        let mut turns: HashMap<String, Turn> = HashMap::new();
        let mut passes = tokio::task::JoinSet::new();
        let mut last_scan: Option<tokio::time::Instant> = None;
        loop {
            if let Some(at) = last_scan {
                tokio::time::sleep_until(at + SCAN_GAP).await;
            }
            last_scan = Some(tokio::time::Instant::now());
            self.set_view(|v| {
                v.dirty = false;
                v.scanning = true;
            });
            let now = self.time.now_ms();
            // The earliest moment a workspace waiting its turn, or a parked channel or
            // workspace, may go.
            let mut next_turn: Option<i64> = None;
            let mut wait_until = |at: i64| next_turn = Some(next_turn.map_or(at, |n| n.min(at)));
            // The earliest moment (real time) a workspace waiting out the pace may go.
            let real_now = tokio::time::Instant::now();
            let mut next_paced: Option<tokio::time::Instant> = None;
            match self.store.stale_messages(UPDATE_PASS).await {
                Ok(list) => {
                    let mut by_team: HashMap<String, Vec<StaleMessage>> = HashMap::new();
                    for message in list {
                        // Parked ones are left out of the passes (which would only skip
                        // them) until their time is up.
                        let parked = [&message.channel_id, &message.team_id]
                            .into_iter()
                            .filter_map(|id| self.parked_until(id, now))
                            .max();
                        if let Some(until) = parked {
                            wait_until(until);
                            continue;
                        }
                        by_team
                            .entry(message.team_id.clone())
                            .or_default()
                            .push(message);
                    }
                    for (team, messages) in by_team {
                        let turn = turns.entry(team.clone()).or_default();
                        if turn.running {
                            continue;
                        }
                        if let Some(at) = turn.backoff_until.filter(|at| *at > now) {
                            wait_until(at);
                            continue;
                        }
                        if let Some(at) = turn.paced_until.filter(|at| *at > real_now) {
                            next_paced = Some(next_paced.map_or(at, |n| n.min(at)));
                            continue;
                        }
                        turn.running = true;
                        turn.paced_until = Some(real_now + UPDATE_INTERVAL);
                        let worker = self.clone();
                        passes.spawn(async move {
                            let clean = worker.update_messages(&messages).await;
                            (team, clean)
                        });
                    }
                }
                Err(e) => {
                    warn!(error = %e, "cannot read stale messages");
                    wait_until(now + UPDATE_BACKOFF_MS);
                }
            }
            self.set_view(|v| {
                v.scanning = false;
                v.pacing = next_paced.is_some();
                v.running = passes.len();
                v.next_at = next_turn;
            });
            let reached = async {
                match next_turn {
                    Some(at) => self.time.reach(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stale.notified() => {}
                Some(done) = passes.join_next(), if !passes.is_empty() => {
                    if let Ok((team, clean)) = done {
                        let turn = turns.entry(team).or_default();
                        turn.running = false;
                        if !clean {
                            turn.backoff_until = Some(self.time.now_ms() + UPDATE_BACKOFF_MS);
                        }
                    }
                }
                _ = reached => {}
                _ = tokio::time::sleep_until(next_paced.unwrap_or(real_now)), if next_paced.is_some() => {}
                // Another replica's changes, or a wake-up lost to a crash, are caught
                // by this idle wake-up (real time: it is a safety net, not a pace).
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                _ = shutdown.changed() => {
                    while passes.join_next().await.is_some() {}
                    self.set_view(|v| v.running = 0);
                    return;
                }
            }
            // Workspaces that have nothing stale any more are forgotten.
            let now = self.time.now_ms();
            let real_now = tokio::time::Instant::now();
            turns.retain(|_, turn| {
                turn.running
                    || turn.backoff_until.is_some_and(|at| at > now)
                    || turn.paced_until.is_some_and(|at| at > real_now)
            });
        }
    }

    fn set_view(&self, change: impl FnOnce(&mut UpdaterView)) {
        change(&mut self.updater.lock().expect("updater view lock"));
    }

    /// Re-renders each of `stale` once, in order. A message Slack refuses for the time
    /// being stays stale for a later pass; a deleted one is forgotten; a channel (or,
    /// for a token Slack refuses, a workspace) Slack will not take updates in is left
    /// alone for [`PARKED_FOR_MS`], its messages kept. Returns false if anything failed.
    async fn update_messages(&self, stale: &[StaleMessage]) -> bool {
        let mut clean = true;
        let started = std::time::Instant::now();
        for message in stale {
            if self.is_parked(&message.channel_id) || self.is_parked(&message.team_id) {
                continue;
            }
            match self.update_one(message).await {
                Ok(Gone::No | Gone::Message) => {}
                Ok(Gone::Channel) => self.park(&message.channel_id),
                Ok(Gone::Workspace) => self.park(&message.team_id),
                Err(e) => {
                    warn!(channel = %message.channel_id, error = %e, "cannot update a checklist message");
                    clean = false;
                }
            }
        }
        if !stale.is_empty() {
            tracing::debug!(count = stale.len(), took = ?started.elapsed(), clean, "updated stale checklist messages");
        }
        clean
    }

    /// The plan's health of `customer` now. Rendered with each update of its overview
    /// and digest; nothing changes it overnight by itself, so the scheduler marks the
    /// overview stale once a day (with the digest, `Store::mark_overview_stale`).
    fn standing(&self, customer: &Customer, states: &States) -> Standing {
        standing_at(
            self.template.for_tier(customer.tier),
            states,
            self.time.now(),
            &self.policy.calendar(customer.tier),
        )
    }

    fn is_parked(&self, id: &str) -> bool {
        self.parked_until(id, self.time.now_ms()).is_some()
    }

    /// Until when `id` is parked, if it still is at `now`.
    fn parked_until(&self, id: &str, now: i64) -> Option<i64> {
        let mut parked = self.parked.lock().expect("parked lock");
        match parked.get(id) {
            Some(until) if *until > now => Some(*until),
            Some(_) => {
                parked.remove(id);
                None
            }
            None => None,
        }
    }

    fn park(&self, id: &str) {
        self.parked
            .lock()
            .expect("parked lock")
            .insert(id.to_string(), self.time.now_ms() + PARKED_FOR_MS);
    }

    async fn update_one(&self, stale: &StaleMessage) -> Result<Gone, ApiError> {
        let db = |e: sqlx::Error| ApiError::Transport(e.to_string());
        let Some(customer) = self.customer(stale.customer_id).await else {
            return Ok(Gone::No);
        };
        let states = self
            .store
            .item_states_committed(customer.id)
            .await
            .map_err(db)?;
        let view = self.template.for_tier(customer.tier);
        let rendered = match Part::parse(&stale.part) {
            Some(Part::Overview) => Some(checklist::overview(
                view,
                &customer,
                &states,
                Some(&self.standing(&customer, &states)),
                self.channel_lang,
            )),
            Some(Part::Digest(day)) => {
                let overdue = crate::blocks::reminders::overdue(view, &states, day);
                Some(crate::blocks::reminders::digest(
                    &customer,
                    &overdue,
                    day,
                    Some(&self.standing(&customer, &states)),
                    self.channel_lang,
                ))
            }
            Some(Part::Category { number, part }) => view.category(number).and_then(|cat| {
                checklist::category_messages(&customer, cat, &states, self.channel_lang)
                    .into_iter()
                    .nth(part)
            }),
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
                Err(ApiError::Slack(code)) => {
                    let gone = match code.as_str() {
                        "message_not_found" | "cant_update_message" => Gone::Message,
                        "channel_not_found" | "is_archived" | "not_in_channel" => Gone::Channel,
                        "invalid_auth" | "token_revoked" | "account_inactive" => Gone::Workspace,
                        _ => return Err(ApiError::Slack(code)),
                    };
                    info!(channel = %stale.channel_id, code, ?gone, "Slack will not take this update; leaving it");
                    if gone == Gone::Message {
                        self.store
                            .forget_message(&stale.channel_id, &stale.ts)
                            .await
                            .map_err(db)?;
                    }
                    return Ok(gone);
                }
                Err(e) => return Err(e),
            }
        }
        self.store
            .mark_rendered(&stale.channel_id, &stale.ts, stale.version)
            .await
            .map_err(db)?;
        Ok(Gone::No)
    }
}

/// What an update found gone for good, and so forgot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    No,
    /// The message (deleted, or no longer the app's to edit): forgotten.
    Message,
    /// Its channel takes no updates (archived, out of sight, the app removed from it):
    /// parked, its messages kept.
    Channel,
    /// Its workspace takes none (Slack refuses the token): parked, its messages kept.
    Workspace,
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
