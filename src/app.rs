//! Wiring: build the app from its settings and run it until shutdown.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{net::TcpListener, sync::watch};
use tracing::{info, warn};

use crate::config::Settings;
use crate::delivery::{slack_api::SlackApi, users::Users, worker};
use crate::domain::template::Template;
use crate::http::{self, HttpState, signature::Verifier};
use crate::metrics::Metrics;
use crate::scheduler;
use crate::slack::{Context, home::Home};
use crate::store::Store;
use crate::time_source::TimeSource;
use crate::usecase::UseCases;
use crate::usecase::reminders::Reminders;
use crate::usecase::tickets::Tickets;

/// How long in-flight Slack work may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The checklist template: the built-in seed, or the team's own file.
pub fn load_template(settings: &Settings) -> anyhow::Result<Template> {
    match &settings.template {
        None => Ok(Template::builtin()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the template file {}", path.display()))?;
            Template::parse(&text).map_err(|e| {
                anyhow::anyhow!("the template file {} is not valid: {e}", path.display())
            })
        }
    }
}

/// Serves on `listener` until `shutdown` resolves, then lets queued Slack work finish.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    App::start(settings, TimeSource::real())
        .await?
        .serve(listener, shutdown)
        .await
}

/// The app, started: its background loops run; [`App::serve`] adds the HTTP server.
/// `readiness serve` and `readiness shell` both run this, so they share every path.
pub struct App {
    state: HttpState,
    stop_tx: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
    loops: Vec<tokio::task::JoinHandle<()>>,
    single_process: Option<std::fs::File>,
}

impl App {
    /// Opens the database, re-plans what the policy changed, and starts the scheduler,
    /// the sender, the delivery worker and the App Home refresher.
    pub async fn start(settings: Settings, time: TimeSource) -> anyhow::Result<Self> {
        let template = Arc::new(load_template(&settings)?);
        let single_process = crate::store::lock_single_process(&settings.database_url)?;
        let store = Store::connect(&settings.database_url).await?;
        if settings.backup.is_some() && store.postgres_pool().is_some() {
            anyhow::bail!(
                "READINESS_BACKUP_DIR is for SQLite; back PostgreSQL up with pg_dump (docs/operations.md, Backups)"
            );
        }
        let (api, installer) = if settings.is_multi_workspace() {
            let (api, installer) = many_workspaces(&settings, &store).await?;
            (api, Some(installer))
        } else {
            (
                SlackApi::new(&settings.slack_api_url, &settings.bot_token)?,
                None,
            )
        };
        if !settings.is_multi_workspace() && api.has_token() {
            learn_home(api.clone());
        }
        let verifier = Verifier::new(&settings.signing_secret);
        let socket_mode = !settings.app_token.is_empty();
        if let Some(missing) =
            missing_slack_settings(api.has_token(), verifier.is_configured(), socket_mode)
        {
            warn!("{missing}");
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let metrics = Metrics::new();
        let mut policy = settings.policy.clone();
        if settings.is_multi_workspace()
            && policy.escalation.workspace.is_none()
            && policy.escalation.names_anyone()
        {
            // They are one workspace's people and channel; named in another's
            // escalations they would leak them.
            warn!(
                "the policy file's escalation paths and internal_channel are ignored: with many workspaces, say whose they are with escalation.workspace, or set paths per workspace with /readiness escalation"
            );
            policy.escalation.paths = Default::default();
            policy.escalation.internal_channel = None;
        }
        let users = Users::new(api.clone());
        let support = Tickets::new(
            store.clone(),
            Arc::new(policy),
            settings.channel_language,
            time,
        )
        .with_people(users.clone());
        support
            .replan_if_policy_changed(&settings.policy_text, support.time.now())
            .await
            .context("cannot re-plan the open deadlines for the new policy")?;
        let released = store.release_dead_leases().await?;
        if released > 0 {
            warn!(
                rows = released,
                "the last run stopped mid-send; those posts are checked against Slack before any is sent again"
            );
        }
        let reminders = Reminders::new(support.clone(), template.clone());
        reminders
            .ensure_digests(support.time.now())
            .await
            .context("cannot plan the customers' daily digests")?;
        scheduler::listen_for_replicas(&store, stop_rx.clone());
        let firing = tokio::spawn(scheduler::fire::run(
            support.clone(),
            reminders.clone(),
            metrics.clone(),
            stop_rx.clone(),
        ));
        let (delivery, worker) = worker::start(
            store.clone(),
            api.clone(),
            template.clone(),
            settings.channel_language,
            support.policy.clone(),
            support.time.clone(),
            stop_rx.clone(),
        );
        let sending = tokio::spawn(
            scheduler::send::Sender::new(
                support.clone(),
                api.clone(),
                metrics.clone(),
                template.clone(),
                users.clone(),
            )
            .with_delivery(delivery.clone())
            .run(stop_rx.clone()),
        );
        delivery
            .resume_unfinished(&store, settings.channel_language)
            .await
            .context("cannot list the customers awaiting a channel")?;
        let home = Home::new(
            api.clone(),
            support.clone(),
            template.clone(),
            users.clone(),
        );
        let refreshing = tokio::spawn(home.clone().run_refresher(stop_rx.clone()));
        let mut loops = vec![firing, sending, refreshing];
        if let Some(schedule) = settings.backup.clone() {
            std::fs::create_dir_all(&schedule.dir).with_context(|| {
                format!(
                    "cannot create the backup directory {}",
                    schedule.dir.display()
                )
            })?;
            loops.push(tokio::spawn(scheduler::backup::run(
                store.clone(),
                support.time.clone(),
                schedule,
                metrics.clone(),
                stop_rx.clone(),
            )));
        }
        let state = HttpState {
            ctx: Context {
                usecases: UseCases {
                    store: store.clone(),
                    template: template.clone(),
                    delivery,
                    users,
                    tickets: support,
                    reminders,
                },
                api: api.clone(),
                channel_lang: settings.channel_language,
                home,
                rendered: Default::default(),
                limits: Arc::new(crate::slack::limits::CommandLimits::new(
                    settings.commands_per_user_per_minute,
                    settings.commands_per_workspace_per_minute,
                )),
                default_role: settings.default_role,
                install_link: installer
                    .as_ref()
                    .and(settings.public_url.as_ref())
                    .map(|url| format!("{url}/slack/install")),
            },
            verifier,
            metrics,
            installer,
            limits: settings.http,
        };
        if socket_mode {
            loops.push(tokio::spawn(crate::socket::run(
                state.ctx.clone(),
                settings.app_token.clone(),
                stop_rx.clone(),
            )));
        }
        Ok(Self {
            state,
            stop_tx,
            worker,
            loops,
            single_process,
        })
    }

    /// What requests are handled with: the shell watches the store and the delivery
    /// queue through it to know when the app has done what a command started.
    pub fn context(&self) -> &Context {
        &self.state.ctx
    }

    /// The HTTP routes, with every check Slack's requests pass through.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then lets queued Slack work finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        info!(
            address = %listener.local_addr()?,
            database = self.state.ctx.usecases.store.dialect(),
            items = self.state.ctx.usecases.template.item_count(),
            "listening"
        );
        http::serve(
            listener,
            self.router(),
            self.state.limits.header_timeout,
            shutdown,
        )
        .await;
        self.stop().await;
        Ok(())
    }

    /// Stops the loops and lets queued Slack work finish (within [`DRAIN_TIMEOUT`]).
    pub async fn stop(self) {
        info!("shutting down: finishing queued Slack work");
        let store = self.state.ctx.usecases.store.clone();
        let _ = self.stop_tx.send(true);
        // Jobs end when every handle to the queue is gone.
        drop(self.state);
        if tokio::time::timeout(DRAIN_TIMEOUT, self.worker)
            .await
            .is_err()
        {
            warn!("queued Slack work did not finish in time; it resumes at the next start");
        }
        // They stop at their next wait; what they had not done stays in the database.
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
            for task in self.loops {
                let _ = task.await;
            }
        })
        .await;
        store.close().await;
        drop(self.single_process);
    }
}

/// Many workspaces: each one's token comes from its OAuth install, sealed under the
/// operator's key. Refuses to start without what that needs, or when the stored
/// tokens were sealed under another key.
async fn many_workspaces(
    settings: &Settings,
    store: &Store,
) -> anyhow::Result<(SlackApi, http::oauth::Installer)> {
    if settings.client_id.is_empty() || settings.client_secret.is_empty() {
        anyhow::bail!(
            "installing into many workspaces needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        );
    }
    let Some(key) = settings.encryption_key.clone() else {
        anyhow::bail!(
            "SLACK_CLIENT_ID is set (many workspaces), but there is no encryption key: the workspaces' tokens would be stored in the clear. Set READINESS_ENCRYPTION_KEY to the base64 of 32 random bytes (`openssl rand -base64 32`), or READINESS_ENCRYPTION_KEY_FILE to a file holding it"
        );
    };
    let Some(public_url) = &settings.public_url else {
        anyhow::bail!(
            "SLACK_CLIENT_ID is set (many workspaces), but READINESS_PUBLIC_URL is not: Slack's install flow must be sent back to this server's public address"
        );
    };
    if !settings.bot_token.is_empty() {
        warn!(
            "SLACK_BOT_TOKEN is ignored: with SLACK_CLIENT_ID each workspace uses the token it installed"
        );
    }
    let foreign: Vec<String> = store
        .installations()
        .await?
        .iter()
        .filter_map(|i| i.bot_token.as_deref())
        .filter_map(crate::crypto::sealed_key_id)
        .filter(|id| !key.opens(id))
        .map(str::to_string)
        .collect();
    if let Some(other) = foreign.first() {
        anyhow::bail!(
            "{} stored token(s) are sealed with key {other}, but this server's keys are {}: start with the key they were sealed with (a list, newest first, while rotating), or finish `readiness rotate-key`",
            foreign.len(),
            key.ids().join(", ")
        );
    }
    let installer = http::oauth::Installer::new(
        &settings.client_id,
        &settings.client_secret,
        public_url,
        &settings.slack_api_url,
        key.clone(),
    );
    info!(
        key = key.id(),
        also_opening = key.ids()[1..].join(", "),
        "many workspaces: tokens come from OAuth installs"
    );
    Ok((
        SlackApi::installed(&settings.slack_api_url, store.clone(), key)?,
        installer,
    ))
}

/// What the start-up says is missing for Slack to reach the app and the app to answer,
/// if anything: a bot token always (`SLACK_BOT_TOKEN`, or OAuth installs), and the way
/// Slack's requests come in: over HTTP, signed (`SLACK_SIGNING_SECRET`), or over Socket
/// Mode (`SLACK_APP_TOKEN`), which needs the bot token too.
pub fn missing_slack_settings(
    has_bot_token: bool,
    has_signing_secret: bool,
    socket_mode: bool,
) -> Option<String> {
    const SETUP: &str = "see docs/slack-setup.md";
    match (has_bot_token, has_signing_secret || socket_mode) {
        (true, true) => None,
        (false, false) => Some(format!(
            "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (Slack's requests over HTTP), or SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode, no public URL); {SETUP}. Until then Slack's requests get 401."
        )),
        (false, true) if socket_mode => Some(format!(
            "SLACK_APP_TOKEN is set (Socket Mode), but SLACK_BOT_TOKEN is not: Socket Mode needs both. Slack's requests arrive, but the app cannot answer or post until SLACK_BOT_TOKEN is set; {SETUP}."
        )),
        (false, true) => Some(format!(
            "SLACK_SIGNING_SECRET is set, but SLACK_BOT_TOKEN is not: Slack's requests are checked, but the app cannot answer or post until it is set; {SETUP}."
        )),
        (true, false) => Some(format!(
            "SLACK_BOT_TOKEN is set, but Slack's requests have no way in: set SLACK_SIGNING_SECRET (requests over HTTP), or SLACK_APP_TOKEN (Socket Mode); {SETUP}. Until then requests over HTTP get 401."
        )),
    }
}

/// Longest [`settle`] waits for the app to finish what is due at one moment.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long the app must look idle, checked this often, before [`settle`] goes on.
const QUIET_CHECKS: u32 = 3;
const QUIET_EVERY: std::time::Duration = std::time::Duration::from_millis(15);

/// Waits until the app has done everything due within `horizon_ms` from now: no
/// delivery job or detached call unfinished, no outbox row held by a sender, no
/// checklist message awaiting its update, and nothing due. On the virtual clock the
/// clock is moved to each due row in turn; on the real one, it sleeps. The shell and the
/// tests drive the app with it.
pub async fn settle(ctx: &Context, horizon_ms: i64) -> Result<(), String> {
    let time = &ctx.usecases.tickets.time;
    let until = time.now_ms() + horizon_ms;
    // Reset whenever time moves on: a long wait that keeps firing is not stuck.
    let mut started = std::time::Instant::now();
    let mut quiet = 0;
    loop {
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(format!(
                "the app is still busy after {}s",
                SETTLE_TIMEOUT.as_secs()
            ));
        }
        let now = time.now_ms();
        let next = next_due(ctx).await?;
        if is_busy(ctx, next, now).await? {
            quiet = 0;
            tokio::time::sleep(QUIET_EVERY).await;
            continue;
        }
        quiet += 1;
        if quiet < QUIET_CHECKS {
            tokio::time::sleep(QUIET_EVERY).await;
            continue;
        }
        match next {
            Some(due) if due <= until => {
                quiet = 0;
                started = std::time::Instant::now();
                if time.is_virtual() {
                    time.advance_to(due);
                } else {
                    tokio::time::sleep(Duration::from_millis((due - now).max(0) as u64)).await;
                }
            }
            _ => return Ok(()),
        }
    }
}

async fn is_busy(ctx: &Context, next_due: Option<i64>, now: i64) -> Result<bool, String> {
    let store = &ctx.usecases.store;
    let db = |e: sqlx::Error| format!("database: {e}");
    let updater = ctx.usecases.delivery.updater();
    if ctx.usecases.delivery.unfinished() > 0
        || next_due.is_some_and(|due| due <= now)
        || updater.is_busy()
        || store.outbox_in_flight().await.map_err(db)?
    {
        return Ok(true);
    }
    // Stale messages the updater waits for (its pace, a backoff, a parked channel) are
    // in `next_due`. Any it does not know of (changed without a wake-up, or by another
    // replica) it is told about, and the app is busy until it has looked.
    if updater.next_at.is_none() && !store.stale_messages(1).await.map_err(db)?.is_empty() {
        ctx.usecases.delivery.look_for_stale();
        return Ok(true);
    }
    Ok(false)
}

/// The earliest of the next SLA timer, reminder, sendable outbox row and checklist
/// update the updater waits to make.
async fn next_due(ctx: &Context) -> Result<Option<i64>, String> {
    let store = &ctx.usecases.store;
    let db = |e: sqlx::Error| format!("database: {e}");
    Ok([
        store.next_due_row().await.map_err(db)?,
        store.next_outbox_due().await.map_err(db)?,
        ctx.usecases.delivery.updater().next_at,
    ]
    .into_iter()
    .flatten()
    .min())
}

/// Single-workspace mode: asks Slack whose `SLACK_BOT_TOKEN` is, apart, until it
/// answers (a Slack unreachable at start must not stop the server), so requests from
/// other workspaces are refused. Until then every workspace's requests are served.
fn learn_home(api: SlackApi) {
    tokio::spawn(async move {
        let mut pause = std::time::Duration::from_secs(1);
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), api.learn_home()).await {
                Ok(Ok(home)) => {
                    info!(team = ?home.team_id, enterprise = ?home.enterprise_id, "SLACK_BOT_TOKEN acts for this workspace only");
                    return;
                }
                Ok(Err(e)) if !e.is_retryable() => {
                    warn!(error = %e, "auth.test refused SLACK_BOT_TOKEN: check the token");
                    return;
                }
                Ok(Err(e)) => warn!(error = %e, "auth.test failed; asking again"),
                Err(_) => warn!("auth.test did not answer; asking again"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(60));
        }
    });
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::missing_slack_settings;

    #[test]
    fn the_start_up_hint_names_what_is_really_missing() {
        assert_eq!(missing_slack_settings(true, true, false), None);
        assert_eq!(missing_slack_settings(true, false, true), None);
        // Nothing: both ways in, each with the bot token it needs.
        let nothing = missing_slack_settings(false, false, false).unwrap();
        assert!(
            nothing.contains("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
                && nothing.contains("SLACK_BOT_TOKEN and SLACK_APP_TOKEN"),
            "{nothing}"
        );
        // An app token alone is not enough: Socket Mode needs the bot token too.
        let app_token_only = missing_slack_settings(false, false, true).unwrap();
        assert!(
            app_token_only.contains("needs both") && app_token_only.contains("SLACK_BOT_TOKEN"),
            "{app_token_only}"
        );
        let secret_only = missing_slack_settings(false, true, false).unwrap();
        assert!(
            secret_only.contains("SLACK_BOT_TOKEN is not"),
            "{secret_only}"
        );
        let token_only = missing_slack_settings(true, false, false).unwrap();
        assert!(
            token_only.contains("SLACK_SIGNING_SECRET") && token_only.contains("SLACK_APP_TOKEN"),
            "{token_only}"
        );
    }
}
