//! Sends the outbox to Slack: each lane's rows in order (a channel's urgent posts apart
//! from its bulk ones, and first), one in flight per lane and about one a second per
//! channel, waiting out 429s, backing off on 5xx and timeouts, and parking a row (never
//! dropping it) when Slack refuses it for good or it keeps failing. A row whose
//! workspace's token Slack refuses waits for a new install instead (`TOKEN_REFUSED`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::blocks::{self, Message};
use crate::delivery::slack_api::{ApiError, SlackApi, Workspace, is_user_id};
use crate::delivery::users::{Side, Users};
use crate::domain::customer::Customer;
use crate::domain::plan::standing_at;
use crate::domain::report::Month;
use crate::domain::sla::Target;
use crate::domain::template::Template;
use crate::metrics::Metrics;
use crate::store::outbox::{
    AssignedDm, Claimed, CsatBody, DigestBody, DirectBody, Enqueue, EscalationBody, IntakeAckBody,
    IntakeReactionBody, ItemDueBody, Outcome, Post, ReportBody, UPDATES_LANE_PREFIX, bulk_lane,
    is_bulk,
};
use crate::store::tickets::TicketRecord;
use crate::time_source::at_ms;
use crate::usecase::reports;
use crate::usecase::tickets::{Tickets, ticket_of};

/// Gap between two posts to one channel (Slack allows about one a second).
pub const CHANNEL_GAP_MS: i64 = 1100;
/// Gap between two message updates of one workspace (`chat.update`: ~50 a minute).
pub const UPDATE_GAP_MS: i64 = 1250;
/// How long a claimed row is this sender's; past it, another sender may take over.
pub const LEASE_MS: i64 = 60_000;
/// Rows claimed at once (each from a different channel).
const CLAIM_BATCH: i64 = 32;
/// How long a card's placement waits for `users.info` on its reporter.
const SIDE_WAIT: Duration = Duration::from_secs(5);
/// Attempts before a row that keeps failing is parked: with the backoff below, about
/// an hour of Slack failing, so an outage delays escalations rather than losing them.
pub const MAX_ATTEMPTS: i64 = 20;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 300_000;
/// One attempt (a lookup and a post) may take this long; a hung connection must not
/// outlive the lease, or another sender would take the row while this one still might
/// post it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// Slack's answers that no retry can change: park at once and tell the CSM.
const PERMANENT: &[&str] = &[
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "message_not_found",
    "cant_update_message",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "missing_scope",
];
/// Slack's answers that refuse the workspace's token itself. Nothing can be told to
/// anyone there (a DM to the CSM would go with the same token), and a new install
/// puts it right: the row waits, unparked and uncounted, and goes out once Slack takes
/// the workspace's token again; an uninstall drops it (`ApiError::NotInstalled`).
const TOKEN_REFUSED: &[&str] = &["invalid_auth", "account_inactive", "token_revoked"];
/// How often a row whose workspace's token Slack refuses tries again.
const TOKEN_REFUSED_RETRY_MS: i64 = MAX_BACKOFF_MS;
/// Breaches of a report linked to their tickets (one `chat.getPermalink` each); the
/// message lists no more.
const REPORT_LINKS: usize = 15;
/// How long a channel's Slack Connect status is trusted.
const SHARED_TTL: Duration = Duration::from_secs(300);

/// Why an attempt did not end with a post.
#[derive(Debug)]
enum Failed {
    /// Slack's answer, or no answer.
    Slack(ApiError),
    /// Our database, before or after the post: the next attempt looks in Slack first.
    Database(sqlx::Error),
    /// The row can never be sent as it is (a bad body; its ticket, customer or item
    /// gone).
    Unsendable(String),
    /// It must wait for another post (an escalation for its ticket message).
    Wait(Duration),
    /// It no longer applies (its target was met while it waited its turn).
    Obsolete(&'static str),
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        Failed::Slack(e)
    }
}

impl From<sqlx::Error> for Failed {
    fn from(e: sqlx::Error) -> Self {
        Failed::Database(e)
    }
}

fn unsendable(what: &str) -> Failed {
    Failed::Unsendable(what.to_string())
}

#[derive(Clone)]
pub struct Sender {
    pub support: Tickets,
    pub api: SlackApi,
    pub metrics: Metrics,
    /// For the items an assignee DM names, and the assignee's language.
    template: Arc<Template>,
    users: Users,
    /// Names this process's leases.
    pub owner: String,
    shared: Arc<Mutex<HashMap<String, (bool, Instant)>>>,
    /// Workspaces whose token Slack refused when this process last tried it, so the
    /// refusal is logged and counted once, not at every row's every attempt.
    refused: Arc<Mutex<HashSet<String>>>,
    /// The gap between two bulk posts of one workspace (from the policy's
    /// `reminders.posts_per_minute`).
    bulk_gap_ms: i64,
    /// Woken when a digest marks its customer's overview stale (`None`: the updater
    /// finds it on its own within a minute).
    delivery: Option<crate::delivery::worker::Delivery>,
}

impl Sender {
    pub fn new(
        support: Tickets,
        api: SlackApi,
        metrics: Metrics,
        template: Arc<Template>,
        users: Users,
    ) -> Self {
        let owner = format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default() % 1_000_000_007
        );
        let per_minute = i64::from(support.policy.reminders.posts_per_minute.max(1));
        Self {
            bulk_gap_ms: 60_000 / per_minute,
            support,
            api,
            metrics,
            template,
            users,
            owner,
            shared: Arc::default(),
            refused: Arc::default(),
            delivery: None,
        }
    }

    /// With the message updater to wake when a day's digest makes the overview stale.
    pub fn with_delivery(mut self, delivery: crate::delivery::worker::Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// Claims what is due and sends each row in its own task. Rows are claimed again as
    /// soon as any send finishes, not when a whole batch has: a slow send (a report's
    /// uploads, Slack taking its time) holds up only its own lane.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let store = self.support.store.clone();
        let wake = store.wakers().clone();
        let mut sends = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                // What is in flight finishes (each within its attempt's timeout).
                while sends.join_next().await.is_some() {}
                return;
            }
            let now = self.support.time.now_ms();
            let room = CLAIM_BATCH - sends.len() as i64;
            let claimed = if room <= 0 {
                Vec::new()
            } else {
                match store
                    .claim_outbox(&self.owner, at_ms(now), now + LEASE_MS, room)
                    .await
                {
                    Ok(claimed) => claimed,
                    Err(e) => {
                        warn!(error = %e, "cannot claim outbox rows; trying again shortly");
                        Vec::new()
                    }
                }
            };
            if !claimed.is_empty() && self.support.time.is_virtual() {
                // The shell's virtual clock: one at a time, in the order recorded, so
                // a transcript comes out in the same order on every run.
                let mut claimed = claimed;
                claimed.sort_by_key(|row| row.id);
                for row in claimed {
                    self.deliver(row).await;
                }
                continue;
            }
            if !claimed.is_empty() {
                for row in claimed {
                    let sender = self.clone();
                    sends.spawn(async move { sender.deliver(row).await });
                }
                continue;
            }
            let next = store.next_outbox_due().await.unwrap_or_else(|e| {
                warn!(error = %e, "cannot read when the outbox is next due");
                Some(now + 1000)
            });
            tokio::select! {
                // A send finished: its lane may have its next row ready.
                Some(_) = sends.join_next(), if !sends.is_empty() => {}
                going_on = super::sleep_until(next, &self.support.time, &wake.outbox, &mut shutdown) => {
                    if !going_on {
                        while sends.join_next().await.is_some() {}
                        return;
                    }
                }
            }
        }
    }

    /// Sends one claimed row and records the outcome.
    async fn deliver(&self, row: Claimed) {
        let attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(&row)).await;
        let outcome = match attempt {
            Ok(Ok(ts)) => Outcome::Sent { ts },
            Ok(Err(e)) => self.outcome_of_failure(&row, e).await,
            Err(_) => {
                let e = ApiError::Transport(format!("no answer within {ATTEMPT_TIMEOUT:?}"));
                self.outcome_of_failure(&row, e.into()).await
            }
        };
        let now = self.support.time.now_ms();
        let bulk = is_bulk(&row.kind);
        let channel_next_at = match &outcome {
            // A bulk row waiting out a 429 holds its workspace's bulk lane (below), not
            // the channel's urgent posts beyond the channel's pace.
            Outcome::Retry {
                at,
                count_attempt: false,
                ..
            } if bulk => Some((*at).min(now + CHANNEL_GAP_MS)),
            Outcome::Retry {
                at,
                count_attempt: false,
                ..
            } => Some(*at),
            // Nothing was posted: the lane's next row may go at once. A reaction
            // is no post either (`reactions.add` is limited per workspace, not held
            // to a channel's pace of a message a second).
            Outcome::Cancel { .. } => None,
            _ if row.kind == crate::store::outbox::kind::INTAKE_REACTION => None,
            _ if row.channel_id.starts_with(UPDATES_LANE_PREFIX) => Some(now + UPDATE_GAP_MS),
            _ => Some(now + CHANNEL_GAP_MS),
        };
        let mut lanes: Vec<(String, i64)> = channel_next_at
            .map(|at| (row.channel_id.clone(), at))
            .into_iter()
            .collect();
        // A bulk post that went (or was attempted) holds its workspace's bulk lane for
        // one gap; a cancelled one posted nothing and frees it at once.
        if bulk && !matches!(outcome, Outcome::Cancel { .. }) {
            let free_at = match &outcome {
                Outcome::Retry {
                    at,
                    count_attempt: false,
                    ..
                } => (*at).max(now + self.bulk_gap_ms),
                _ => now + self.bulk_gap_ms,
            };
            lanes.push((bulk_lane(&row.team_id), free_at));
        }
        match &outcome {
            Outcome::Sent { .. } => {
                self.metrics
                    .outbox_sent
                    .with_label_values(&[&row.kind])
                    .inc();
                self.token_taken(&row.team_id);
            }
            Outcome::Park { error } => {
                // Slack's code, or "gave_up": a short label, the details are in the log.
                let reason = error.split(':').next().unwrap_or("gave_up");
                self.metrics
                    .outbox_parked
                    .with_label_values(&[reason])
                    .inc();
                error!(key = %row.key, channel = %row.channel_id, reason = %error, attempts = row.attempts, "outbox row parked as failed");
            }
            // Logged once for the workspace when Slack began refusing its token.
            Outcome::Retry { error, .. } if TOKEN_REFUSED.contains(&error.as_str()) => {
                debug!(key = %row.key, reason = %error, "outbox row waits for its workspace's token")
            }
            Outcome::Retry { error, .. } => {
                warn!(key = %row.key, reason = %error, attempts = row.attempts, "outbox send failed; will retry")
            }
            Outcome::Cancel { reason } => info!(key = %row.key, %reason, "outbox row dropped"),
        }
        if let Err(e) = self
            .support
            .store
            .finish_outbox(&row, &self.owner, &outcome, &lanes, at_ms(now))
            .await
        {
            // The lease runs out and another attempt checks Slack before posting.
            warn!(key = %row.key, error = %e, "cannot record an outbox outcome");
        }
    }

    async fn outcome_of_failure(&self, row: &Claimed, e: Failed) -> Outcome {
        let now = self.support.time.now_ms();
        // 0.5 s, 1 s, 2 s … then every 5 minutes.
        let backoff = (500 * (1_i64 << (row.attempts - 1).clamp(0, 20))).min(MAX_BACKOFF_MS);
        if let Failed::Slack(ApiError::Slack(code)) = &e
            && TOKEN_REFUSED.contains(&code.as_str())
        {
            self.token_refused(&row.team_id, code);
        }
        let outcome = self.classify(row, &e, now, backoff);
        if let Outcome::Park { error } = &outcome {
            self.tell_the_csm(row, error.split(':').next().unwrap_or("gave_up"))
                .await;
        }
        outcome
    }

    /// What a failed attempt means for the row. `in_doubt` is only ever raised here
    /// (the store keeps it raised until the row is sent): an error from a lookup before
    /// the post says nothing about an earlier post.
    fn classify(&self, row: &Claimed, e: &Failed, now: i64, backoff: i64) -> Outcome {
        let retry = |at: i64, error: String, in_doubt: bool, count_attempt: bool| Outcome::Retry {
            at,
            error,
            in_doubt,
            count_attempt,
        };
        match e {
            Failed::Obsolete(reason) => Outcome::Cancel {
                reason: reason.to_string(),
            },
            Failed::Wait(wait) => retry(
                now + wait.as_millis() as i64,
                format!("{e:?}"),
                false,
                false,
            ),
            // The workspace uninstalled the app: its work stops, and nobody there can be
            // told.
            Failed::Slack(ApiError::NotInstalled) => Outcome::Cancel {
                reason: "app uninstalled".into(),
            },
            Failed::Unsendable(what) => Outcome::Park {
                error: format!("unsendable: {what}"),
            },
            Failed::Slack(ApiError::RateLimited(wait)) => {
                self.metrics.outbox_rate_limited.inc();
                retry(
                    now + wait.as_millis() as i64,
                    "ratelimited".into(),
                    false,
                    false,
                )
            }
            // Nothing reached the channel: nothing is in doubt.
            Failed::Slack(ApiError::Slack(code)) if TOKEN_REFUSED.contains(&code.as_str()) => {
                retry(now + TOKEN_REFUSED_RETRY_MS, code.clone(), false, false)
            }
            Failed::Slack(ApiError::Slack(code)) if PERMANENT.contains(&code.as_str()) => {
                Outcome::Park {
                    error: code.clone(),
                }
            }
            _ if row.attempts >= MAX_ATTEMPTS => Outcome::Park {
                error: format!("gave_up: after {} attempts: {e:?}", row.attempts),
            },
            Failed::Slack(ApiError::NoToken) => {
                retry(now + 60_000, "no token".into(), false, false)
            }
            // Our database, before anything reached Slack: nothing is in doubt.
            Failed::Slack(e @ ApiError::Store(_)) => {
                retry(now + backoff, e.to_string(), false, true)
            }
            // The operator's key does not open the token: it may be put right.
            Failed::Slack(e @ ApiError::Sealed(_)) => {
                retry(now + 60_000, e.to_string(), false, false)
            }
            // Slack's own errors (internal_error, fatal_error, request_timeout…) may
            // have left the post half done: the next attempt looks first.
            Failed::Slack(api @ ApiError::Slack(code)) if api.is_retryable() => {
                retry(now + backoff, code.clone(), true, true)
            }
            Failed::Slack(ApiError::Slack(code)) => Outcome::Park {
                error: code.clone(),
            },
            // A timeout, a 5xx, or our database failing around the post: Slack may
            // have it. The next attempt looks.
            Failed::Slack(api @ ApiError::Transport(_)) => {
                retry(now + backoff, api.to_string(), true, true)
            }
            Failed::Database(db) => retry(now + backoff, format!("database: {db}"), true, true),
        }
    }

    /// Slack refused `team`'s token: said once (until it is taken again), in the log
    /// and in `readiness_slack_token_refused_total`.
    fn token_refused(&self, team: &str, code: &str) {
        let first = self
            .refused
            .lock()
            .expect("refused lock")
            .insert(team.to_string());
        if first {
            self.metrics
                .slack_token_refused
                .with_label_values(&[code])
                .inc();
            error!(
                team,
                code,
                "Slack refuses the workspace's token: its posts wait until the app is installed again (or are dropped when it is uninstalled)"
            );
        }
    }

    /// A post went out for `team`: if its token had been refused, it is taken again.
    fn token_taken(&self, team: &str) {
        let was_refused = self.refused.lock().expect("refused lock").remove(team);
        if was_refused {
            info!(
                team,
                "Slack takes the workspace's token again; its waiting posts go out"
            );
        }
    }

    /// A parked post is told to the customer's CSM (named with `/readiness customer
    /// csm=…`, else whoever created the customer), through the outbox too: once per
    /// ticket and reason, or once a day per customer and reason for reminders.
    async fn tell_the_csm(&self, row: &Claimed, code: &str) {
        // Direct DMs are the CSM's already (this one's among them): nobody else to tell.
        if matches!(row.post(), Ok(Post::Direct(_))) {
            return;
        }
        let lang = self.support.lang;
        let (customer_id, about, key) = if let Some(ticket_id) = row.ticket_id {
            let Ok(record) = self.ticket(ticket_id).await else {
                return;
            };
            let about = format!("T-{}", record.number);
            (record.customer_id, about, format!("csm:{ticket_id}:{code}"))
        } else {
            let body: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
            let Some(id) = body["customer_id"].as_i64() else {
                return;
            };
            // Named after the reminder that made the row: the daily digest's by its
            // name, any other (a custom reminder's, an item's DM, a report) "reminder".
            let made_by = match row.post() {
                Ok(Post::Digest(_)) => "digest",
                _ => "custom",
            };
            let about = blocks::reminders::kind_name(made_by, lang).to_string();
            let day = self.support.time.now().date_naive();
            (id, about, format!("csm:c{id}:{code}:{day}"))
        };
        let Ok(customer) = self.customer(customer_id).await else {
            return;
        };
        let channel = customer
            .channel_id
            .as_ref()
            .map(|c| format!(" <#{c}>"))
            .unwrap_or_default();
        let text = format!(
            ":warning: {} {about} ({}){channel}: `{code}`. {}",
            lang.pick("Readiness could not post", "Readiness が投稿できませんでした:"),
            // The customer's name is typed by people: shown as typed, never as markup.
            blocks::escape_clipped(&customer.name, blocks::NAME_CHARS),
            lang.pick(
                "Its posts are parked (see /metrics and the logs). Invite the app back, unarchive the channel or link another with `/readiness customer &lt;customer&gt; channel=#…`; a ticket's next change posts its message again.",
                "投稿は保留されています（/metrics とログを参照）。アプリを再招待するか、アーカイブを解除するか、`/readiness customer &lt;customer&gt; channel=#…` で別のチャンネルを設定してください。チケットの次の変更でメッセージを再投稿します。",
            )
        );
        let message = Message::plain(text);
        let item = Enqueue {
            key,
            team_id: row.team_id.clone(),
            channel_id: customer.csm().to_string(),
            ticket_id: None,
            post: Post::Direct(DirectBody {
                customer_id: None,
                message,
            }),
        };
        if let Err(e) = self
            .support
            .store
            .enqueue(&item, self.support.time.now())
            .await
        {
            warn!(error = %e, "cannot tell the CSM about a parked post");
        }
    }

    /// One attempt; returns the `ts` Slack gave the message.
    async fn attempt(&self, row: &Claimed) -> Result<String, Failed> {
        // A newer version's kind, or a body that does not read, can never be sent by
        // this version: parked (and the CSM told), never dropped.
        let post = row.post().map_err(|e| Failed::Unsendable(e.to_string()))?;
        match post {
            Post::TicketMessage {} => self.send_ticket_message(row).await,
            Post::Escalation(body) => self.send_escalation(row, body).await,
            Post::AssignedDm(dm) => self.send_assigned_dm(row, dm).await,
            Post::ItemDueDm(body) => self.send_item_due_dm(row, body).await,
            Post::Digest(body) => self.send_digest(row, body).await,
            Post::Report(body) => self.send_report(row, body).await,
            Post::Csat(body) => self.send_csat(row, body).await,
            Post::Reminder(body) => {
                self.post_once(row, &row.channel_id, &body.message, None)
                    .await
            }
            Post::Direct(body) => {
                self.post_once(row, &row.channel_id, &body.message, None)
                    .await
            }
            Post::IntakeReaction(body) => self.send_intake_reaction(row, body).await,
            Post::IntakeAck(body) => self.send_intake_ack(row, body).await,
        }
    }

    /// The intake emoji on the customer's message (Slack's `already_reacted` is done:
    /// another replica, or a person, got there first). A message deleted meanwhile
    /// has nothing to react to: dropped, nobody told.
    async fn send_intake_reaction(
        &self,
        row: &Claimed,
        body: IntakeReactionBody,
    ) -> Result<String, Failed> {
        self.ticket(body.ticket_id).await?;
        match self
            .slack(row)
            .await?
            .add_reaction(&row.channel_id, &body.ts, &body.emoji)
            .await
        {
            Ok(()) => Ok(body.ts),
            Err(ApiError::Slack(code)) if code == "message_not_found" => Err(Failed::Obsolete(
                "the customer's message was deleted before it got its reaction",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The reply in the customer's thread: the ticket's number and when to expect a
    /// first response, in the channel's language. Not once the ticket is answered or
    /// resolved (the reply would say what is no longer true).
    async fn send_intake_ack(&self, row: &Claimed, body: IntakeAckBody) -> Result<String, Failed> {
        let record = self.ticket(body.ticket_id).await?;
        if record.responded_at.is_some() || record.resolved_at.is_some() {
            return Err(Failed::Obsolete(
                "the ticket was answered before its acknowledgement",
            ));
        }
        let customer = self.customer(record.customer_id).await?;
        let ticket = ticket_of(&record);
        let cal = self.support.calendar(customer.tier);
        let state = ticket.sla_state(
            &self.support.policy,
            cal,
            Target::FirstResponse,
            self.support.time.now(),
        );
        let message = blocks::intake::acknowledgement(&ticket, &state, cal, self.support.lang);
        self.post_once(row, &row.channel_id, &message, Some(&body.thread_ts))
            .await
    }

    /// Where an intake ticket's card goes, decided at its first post and kept:
    /// (channel, thread). The internal channel when one is set and customer-side people
    /// read the customer's channel ([`Self::customer_in_channel`]); else under the
    /// customer's message.
    /// `None` for a ticket opened by hand (its card is a post in its channel).
    async fn card_place(
        &self,
        row: &Claimed,
        record: &TicketRecord,
    ) -> Result<Option<(String, Option<String>)>, Failed> {
        let place = self.support.store.card_place(record.id).await?;
        let Some(thread) = place.thread else {
            return Ok(None);
        };
        if let Some(channel) = place.card_channel {
            return Ok(Some((channel, None)));
        }
        if record.ts.is_some() {
            // Posted already, under the customer's message.
            return Ok(Some((record.channel_id.clone(), Some(thread))));
        }
        if let Some(internal) = self.internal_channel(&row.team_id)
            && self.customer_in_channel(row, record).await?
        {
            return Ok(Some((internal, None)));
        }
        Ok(Some((record.channel_id.clone(), Some(thread))))
    }

    /// Whether customer-side people read the ticket's channel: it is shared with
    /// another organisation, or the ticket's reporter (who wrote the message in it) is
    /// a guest or a named contact, which shows the customer is there as in a shared
    /// channel. A guest who never wrote is not looked for (that would need the
    /// channel's member list).
    async fn customer_in_channel(
        &self,
        row: &Claimed,
        record: &TicketRecord,
    ) -> Result<bool, Failed> {
        if self.is_shared(&row.team_id, &record.channel_id).await? {
            return Ok(true);
        }
        if self
            .support
            .store
            .is_contact(&row.team_id, &record.reporter)
            .await?
        {
            return Ok(true);
        }
        let side = self
            .users
            .side_within(&row.team_id, &record.reporter, SIDE_WAIT)
            .await;
        // Unknown (Slack slow) counts as the customer's: a card kept from a guest's
        // eyes by mistake is better than staff's buttons shown to one.
        Ok(side != Side::Staff)
    }

    /// The team's internal channel for escalations, if the policy sets one for it.
    fn internal_channel(&self, team: &str) -> Option<String> {
        let escalation = &self.support.policy.escalation;
        escalation
            .internal_channel
            .clone()
            .filter(|c| !c.is_empty() && escalation.applies_to(team))
    }

    async fn ticket(&self, id: i64) -> Result<TicketRecord, Failed> {
        self.support
            .store
            .ticket_by_id(id)
            .await?
            .ok_or_else(|| unsendable("ticket gone"))
    }

    async fn customer(&self, id: i64) -> Result<Customer, Failed> {
        self.support
            .store
            .customer_by_id_unscoped(id)
            .await?
            .ok_or_else(|| unsendable("customer gone"))
    }

    /// "Your item is due today", unless it was done, re-dated or handed on meanwhile.
    async fn send_item_due_dm(&self, row: &Claimed, body: ItemDueBody) -> Result<String, Failed> {
        let customer = self.customer(body.customer_id).await?;
        let item = self
            .template
            .item(&body.item)
            .ok_or_else(|| unsendable("item gone"))?;
        if self
            .template
            .for_tier(customer.tier)
            .item(&body.item)
            .is_none()
        {
            return Err(Failed::Obsolete(
                "the item is not on the customer's tier any more",
            ));
        }
        let states = self
            .support
            .store
            .item_states_committed(customer.id)
            .await?;
        let state = states.get(&body.item).cloned().unwrap_or_default();
        if state.is_done()
            || state.not_applicable
            || state.due != Some(body.due)
            || state.assignee.as_deref() != Some(body.assignee.as_str())
        {
            return Err(Failed::Obsolete(
                "the item changed before its reminder was sent",
            ));
        }
        let lang = self.users.lang_for(&row.team_id, &body.assignee).await;
        let message = blocks::reminders::item_due(&customer, item, body.due, lang);
        self.post_once(row, &row.channel_id, &message, None).await
    }

    /// The day's digest of overdue items: posted once, then edited. Nothing overdue
    /// and nothing posted yet: nothing to say today.
    async fn send_digest(&self, row: &Claimed, body: DigestBody) -> Result<String, Failed> {
        let customer = self.customer(body.customer_id).await?;
        let channel = customer
            .channel_id
            .clone()
            .ok_or_else(|| unsendable("the customer has no channel"))?;
        let store = &self.support.store;
        // Read the version first: the message is then at least this current.
        let version = store.customer_version(customer.id).await?;
        let states = store.item_states_committed(customer.id).await?;
        // Once a day the overview's health is judged again, even if nothing changed:
        // the day did (the digest is each customer's daily tick).
        store.mark_overview_stale(customer.id).await?;
        if let Some(delivery) = &self.delivery {
            delivery.look_for_stale();
        }
        let view = self.template.for_tier(customer.tier);
        let overdue = blocks::reminders::overdue(view, &states, body.day);
        let now = self.support.time.now();
        let standing = standing_at(view, &states, now, self.support.calendar(customer.tier));
        let message = blocks::reminders::digest(
            &customer,
            &overdue,
            body.day,
            Some(&standing),
            self.support.lang,
        );
        let ts = match &row.sent_ts {
            Some(ts) => {
                self.slack(row)
                    .await?
                    .update_message(&channel, ts, &message)
                    .await?;
                ts.clone()
            }
            None if overdue.is_empty() => {
                return Err(Failed::Obsolete("nothing is overdue"));
            }
            None => self.post_once(row, &channel, &message, None).await?,
        };
        // Kept current by the checklist updater from now on, like the checklists.
        let part = format!("digest:{}", body.day);
        store
            .record_message(customer.id, &part, &channel, &ts, version)
            .await?;
        store.forget_old_digests(customer.id, &ts).await?;
        Ok(ts)
    }

    /// The monthly report: the message, then its chart, CSV and JSON threaded under it.
    /// Each step is recorded on the row as it succeeds (the message's `ts`, then each
    /// file uploaded), so a retry after a 429 or a 5xx on an upload posts nothing again
    /// and uploads only what is missing. A file Slack refuses for good is logged and
    /// left out: the report itself was posted.
    async fn send_report(&self, row: &Claimed, mut body: ReportBody) -> Result<String, Failed> {
        let customer = self.customer(body.customer_id).await?;
        let month = Month::parse(&body.month).ok_or_else(|| unsendable("bad month"))?;
        let lang = self.support.lang;
        let data = reports::gather(
            &self.support,
            &self.template,
            &customer,
            month,
            lang,
            self.support.time.now(),
        )
        .await?;
        let slack = self.slack(row).await?;
        let store = &self.support.store;
        let ts = match &row.sent_ts {
            // An earlier attempt posted the message; only files are missing.
            Some(ts) => ts.clone(),
            None => {
                let mut links = HashMap::new();
                for breach in data.sla.breaches.iter().take(REPORT_LINKS) {
                    if let Some(ts) = &breach.ts
                        && !links.contains_key(&breach.ticket_id)
                    {
                        let link = slack.permalink(&breach.channel_id, ts).await?;
                        links.insert(breach.ticket_id, link);
                    }
                }
                let availability = &self.support.policy.tier(customer.tier).availability;
                let message = blocks::report::report_message(
                    &blocks::report::ReportInput {
                        customer: &customer,
                        month,
                        overall: data.overall,
                        categories: data.categories.clone(),
                        sla: &data.sla,
                        availability,
                        links: &links,
                        csat: &data.csat,
                    },
                    lang,
                );
                let ts = self.post_once(row, &row.channel_id, &message, None).await?;
                // Before any upload: a retry must not post the message again.
                store
                    .record_outbox_progress(row, &self.owner, &ts, &row.body)
                    .await?;
                ts
            }
        };
        let name = format!("readiness-{}-{}", customer.slug, month.label());
        // A byte-order mark, so spreadsheets read the Japanese text as UTF-8.
        let csv = format!("\u{feff}{}", data.csv).into_bytes();
        let chart = data.chart.map(|png| {
            (
                format!("{name}.png"),
                "SLA attainment per week",
                png,
                "image/png",
            )
        });
        let files = chart.into_iter().chain([
            (format!("{name}.csv"), "tickets (CSV)", csv, "text/csv"),
            (
                format!("{name}.json"),
                "report (JSON)",
                data.json.into_bytes(),
                "application/json",
            ),
        ]);
        for (file, title, content, content_type) in files {
            // Named by extension: the name holds the slug, which may change.
            let part = file.rsplit('.').next().unwrap_or_default().to_string();
            if body.uploaded.contains(&part) {
                continue;
            }
            match slack
                .upload_file(
                    &row.channel_id,
                    Some(&ts),
                    &file,
                    title,
                    content,
                    content_type,
                )
                .await
            {
                Ok(()) => {}
                Err(ApiError::Slack(code)) if !ApiError::Slack(code.clone()).is_retryable() => {
                    error!(key = %row.key, file, code, "Slack refused a report file for good; the report goes out without it");
                    self.metrics
                        .outbox_parked
                        .with_label_values(&[&format!("upload_{code}")])
                        .inc();
                }
                Err(e) => return Err(e.into()),
            }
            body.uploaded.push(part);
            let progress = Post::Report(body.clone()).body_json();
            store
                .record_outbox_progress(row, &self.owner, &ts, &progress)
                .await?;
        }
        Ok(ts)
    }

    /// Tells an assignee about their item, in their own language.
    async fn send_assigned_dm(&self, row: &Claimed, dm: AssignedDm) -> Result<String, Failed> {
        let customer = self.customer(dm.customer_id).await?;
        let item = self
            .template
            .item(&dm.item)
            .ok_or_else(|| unsendable("item gone"))?;
        let lang = self.users.lang_for(&row.team_id, &row.channel_id).await;
        let message = blocks::checklist::assigned_dm(&customer, item, &dm.by, dm.due, lang);
        self.post_once(row, &row.channel_id, &message, None).await
    }

    /// Posts unless a crash left this row in doubt and Slack already has it.
    async fn post_once(
        &self,
        row: &Claimed,
        channel: &str,
        message: &Message,
        thread_ts: Option<&str>,
    ) -> Result<String, Failed> {
        if row.in_doubt {
            match self.find_earlier_post(row, channel, thread_ts).await {
                Ok(Some(ts)) => {
                    info!(key = %row.key, "an earlier attempt had posted this; not posting twice");
                    return Ok(ts);
                }
                Ok(None) => {}
                // Waiting is cheap, and keeps the post exactly once.
                Err(e @ ApiError::RateLimited(_)) => return Err(e.into()),
                // Nothing reached Slack (no token, not installed, our database).
                Err(
                    e @ (ApiError::NoToken
                    | ApiError::NotInstalled
                    | ApiError::Store(_)
                    | ApiError::Sealed(_)),
                ) => return Err(e.into()),
                // The check says nothing about the post (a scope an older install lacks,
                // a conversation Slack will not read back, no answer): post again rather
                // than drop or fail a message that may well not have arrived.
                Err(e) => {
                    warn!(key = %row.key, error = %e, "cannot look for an earlier post; posting again");
                }
            }
        }
        Ok(self
            .slack(row)
            .await?
            .post_keyed(channel, message, thread_ts, &row.key)
            .await?)
    }

    /// Looks in Slack for this row's post. A DM posted to a user id is filed in the
    /// app's `D…` conversation with them, which is where it is read back
    /// (`conversations.history` on a user id answers `channel_not_found`).
    async fn find_earlier_post(
        &self,
        row: &Claimed,
        channel: &str,
        thread_ts: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let slack = self.slack(row).await?;
        let conversation = if is_user_id(channel) {
            slack.open_dm(channel).await?
        } else {
            channel.to_string()
        };
        slack
            .find_posted(&conversation, thread_ts, row.created_at, &row.key)
            .await
    }

    async fn send_ticket_message(&self, row: &Claimed) -> Result<String, Failed> {
        let store = &self.support.store;
        let record = self.ticket(row.ticket_id.unwrap_or_default()).await?;
        let customer = self.customer(record.customer_id).await?;
        let ticket = ticket_of(&record);
        let cal = self.support.calendar(customer.tier);
        let mut message = blocks::ticket::ticket_message(
            &ticket,
            &customer.name,
            &self.support.policy,
            cal,
            self.support.time.now(),
            self.support.lang,
        );
        if let Some(csat) = store.csat_of(record.id).await? {
            blocks::csat::add_to_card(
                &mut message,
                csat.rating,
                &csat.answered_by,
                self.support.lang,
            );
        }
        // An intake ticket's card: in the internal channel (with a link to the
        // customer's message), or under the customer's message.
        let place = self.card_place(row, &record).await?;
        let (card_channel, card_thread) = match &place {
            Some((channel, thread)) => (channel.clone(), thread.clone()),
            None => (record.channel_id.clone(), None),
        };
        if card_channel != record.channel_id
            && let Some(source) = &record.source_ts
        {
            let link = self
                .slack(row)
                .await?
                .permalink(&record.channel_id, source)
                .await?;
            message
                .blocks
                .push(blocks::intake::link_to_message(&link, self.support.lang));
        }
        if let Some(ts) = &record.ts {
            match self
                .slack(row)
                .await?
                .update_message(&card_channel, ts, &message)
                .await
            {
                // Deleted in Slack: post it again below, and thread what follows there.
                Err(ApiError::Slack(code)) if code == "message_not_found" => {
                    warn!(
                        ticket = record.id,
                        "the ticket message was deleted; posting it again"
                    );
                }
                other => return Ok(other.map(|()| ts.clone())?),
            }
        }
        if card_channel != record.channel_id {
            // Recorded first: a crash after the post finds it there (in doubt).
            store.set_card_channel(record.id, &card_channel).await?;
        }
        let ts = self
            .post_once(row, &card_channel, &message, card_thread.as_deref())
            .await?;
        store.set_ticket_message(record.id, Some(&ts)).await?;
        Ok(ts)
    }

    async fn send_escalation(&self, row: &Claimed, body: EscalationBody) -> Result<String, Failed> {
        let record = self.ticket(body.ticket_id).await?;
        let met = match body.target {
            Some(Target::FirstResponse) => record.responded_at.is_some(),
            // Staff answered the customer's message while the post waited.
            Some(Target::NextResponse) => {
                crate::store::tickets::NextResponseRecord::parse(record.next_response.as_deref())
                    .awaiting
                    .is_none()
            }
            Some(Target::Resolution) | None => false,
        };
        if met || record.resolved_at.is_some() {
            // Fired, then the target was met while the post waited for its turn.
            return Err(Failed::Obsolete("the target was met before it was posted"));
        }
        if record.ts.is_none() {
            // Threaded under the ticket message: while that is still to be posted, wait
            // for it; if Slack refused it for good, post on the channel instead.
            let key = crate::store::tickets::message_key(record.id);
            let status = self.support.store.outbox_status(&key).await?;
            if status.as_deref() == Some("pending") {
                return Err(Failed::Wait(Duration::from_secs(2)));
            }
        }
        // An intake ticket's escalations go where its card went: threaded under it
        // in the internal channel, or in the customer's message's thread.
        if record.ts.is_some()
            && let Some((channel, thread)) = self.card_place(row, &record).await?
        {
            let thread = thread.or_else(|| record.ts.clone());
            return self
                .post_once(row, &channel, &body.message, thread.as_deref())
                .await;
        }
        let internal = self.internal_channel(&row.team_id);
        if let Some(internal) = internal
            && self.is_shared(&row.team_id, &row.channel_id).await?
        {
            // Shared with the customer: the team's internal channel gets it instead,
            // with a link to the ticket.
            // Its lane is the customer channel, so the internal channel, which every
            // shared customer's escalations reach, is paced here as well.
            let store = &self.support.store;
            let now = self.support.time.now_ms();
            let next_at = store.channel_next_at(&internal).await?;
            if let Some(next_at) = next_at.filter(|at| *at > now) {
                return Err(Failed::Wait(Duration::from_millis((next_at - now) as u64)));
            }
            let mut message = body.message.clone();
            if let Some(ts) = &record.ts {
                let link = self
                    .slack(row)
                    .await?
                    .permalink(&record.channel_id, ts)
                    .await?;
                message
                    .blocks
                    .push(blocks::context(&format!("<{link}|T-{}>", record.number)));
            }
            let ts = self.post_once(row, &internal, &message, None).await?;
            let _ = store
                .pace_channel(&internal, self.support.time.now_ms() + CHANNEL_GAP_MS)
                .await;
            return Ok(ts);
        }
        self.post_once(row, &record.channel_id, &body.message, record.ts.as_deref())
            .await
    }

    /// "How did we do?" in the ticket's thread: the thread of the customer's message it
    /// was opened from, else of the ticket's own message, in the customer channel.
    /// Posted once; re-armed by the answer, it edits the question to show it.
    async fn send_csat(&self, row: &Claimed, body: CsatBody) -> Result<String, Failed> {
        let record = self.ticket(body.ticket_id).await?;
        let answer = self.support.store.csat_of(record.id).await?;
        let label = format!("T-{}", record.number);
        let message = blocks::csat::question(
            &blocks::csat::Asked {
                ticket_id: record.id,
                label: &label,
                summary: &record.summary,
            },
            answer.as_ref().map(|a| (a.rating, a.answered_by.as_str())),
            self.support.lang,
        );
        if let Some(ts) = &row.sent_ts {
            self.slack(row)
                .await?
                .update_message(&record.channel_id, ts, &message)
                .await?;
            return Ok(ts.clone());
        }
        if record.source_ts.is_none() && record.ts.is_none() {
            // Threaded under the ticket message: while that is still to be posted,
            // wait for it; if Slack refused it for good, ask on the channel instead.
            let key = crate::store::tickets::message_key(record.id);
            let status = self.support.store.outbox_status(&key).await?;
            if status.as_deref() == Some("pending") {
                return Err(Failed::Wait(Duration::from_secs(2)));
            }
        }
        let thread = record.source_ts.as_deref().or(record.ts.as_deref());
        self.post_once(row, &record.channel_id, &message, thread)
            .await
    }

    /// The Slack calls of the row's workspace, with its token.
    async fn slack(&self, row: &Claimed) -> Result<Workspace, ApiError> {
        self.api.workspace(&row.team_id).await
    }

    async fn is_shared(&self, team: &str, channel: &str) -> Result<bool, ApiError> {
        if let Ok(cache) = self.shared.lock()
            && let Some((shared, at)) = cache.get(channel)
            && at.elapsed() < SHARED_TTL
        {
            return Ok(*shared);
        }
        let shared = self.api.workspace(team).await?.is_shared(channel).await?;
        if let Ok(mut cache) = self.shared.lock() {
            cache.insert(channel.to_string(), (shared, Instant::now()));
        }
        Ok(shared)
    }
}
