//! The durable outbox: every post the app makes on its own is a row here before it is
//! sent. Rows leave in order per lane (a channel's urgent rows and its bulk rows are
//! two lanes), at most one in flight per lane across all replicas, and a sender that
//! dies mid-send leaves its row to the others once its lease runs out, marked in doubt
//! so the next sender looks in Slack before posting.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::tickets::{TicketRecord, message_key};
use super::{Db, Store, ms};
use crate::blocks::Message;
use crate::domain::sla::Target;

/// A row to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueue {
    pub key: String,
    pub team_id: String,
    pub channel_id: String,
    pub ticket_id: Option<i64>,
    /// What the row posts; stored as its `kind` and its body's JSON.
    pub post: Post,
}

/// The `kind` column's values, one a [`Post`] variant. Each is also serde's tag of its
/// variant (a test holds them together): rows already written keep these names, so
/// they are never renamed.
pub mod kind {
    pub const TICKET_MESSAGE: &str = "ticket_message";
    pub const ESCALATION: &str = "escalation";
    pub const DIRECT: &str = "direct";
    pub const ASSIGNED_DM: &str = "assigned_dm";
    pub const REMINDER: &str = "reminder";
    pub const ITEM_DUE_DM: &str = "item_due_dm";
    pub const DIGEST: &str = "digest";
    pub const REPORT: &str = "report";
    pub const CSAT: &str = "csat";
    pub const INTAKE_REACTION: &str = "intake_reaction";
    pub const INTAKE_ACK: &str = "intake_ack";
    pub const EXPORT: &str = "export";

    /// Every kind this version sends; a row of any other kind is a newer version's.
    pub const ALL: [&str; 12] = [
        TICKET_MESSAGE,
        ESCALATION,
        DIRECT,
        ASSIGNED_DM,
        REMINDER,
        ITEM_DUE_DM,
        DIGEST,
        REPORT,
        CSAT,
        INTAKE_REACTION,
        INTAKE_ACK,
        EXPORT,
    ];
}

/// What an outbox row posts. Stored as two columns, `kind` (the tag) and `body` (the
/// variant's JSON, as each kind was written before this enum existed), and read back by
/// putting them together again as `{"kind": …, "body": …}`: so rows written by older
/// versions read, and a version rolled back reads the rows this one wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Post {
    /// Post the ticket's message, or update it once posted (rendered at send time from
    /// the ticket, so the body is empty).
    TicketMessage {},
    /// A rendered message threaded under its ticket.
    Escalation(EscalationBody),
    /// A rendered direct message (`channel_id` is the user).
    Direct(DirectBody),
    /// "You were given an item": rendered at send time in the assignee's language.
    AssignedDm(AssignedDm),
    /// A rendered reminder for the customer's channel (or a user, for a DM).
    Reminder(ReminderBody),
    /// "Your item is due today": rendered at send time, dropped if the item was done,
    /// re-dated or given to someone else meanwhile.
    ItemDueDm(ItemDueBody),
    /// The day's digest of overdue items in the customer's channel: posted once a
    /// day, edited (not posted again) when it fires again that day.
    Digest(DigestBody),
    /// A customer's monthly report, gathered when sent, with its CSV and JSON files.
    Report(ReportBody),
    /// "How did it go?" in a resolved ticket's thread, with its answer buttons: posted
    /// once (keyed on the ticket, so a ticket reopened and resolved again is not asked
    /// twice), then edited, by re-arming the row, to show the answer. Rendered at send
    /// time from the ticket and its answer.
    Csat(CsatBody),
    /// The intake emoji added to the customer's message a ticket was made from
    /// (`reactions.add`): the customer's sign that it was seen.
    IntakeReaction(IntakeReactionBody),
    /// The short reply in the customer's thread: the ticket's number and when to
    /// expect a first response (rendered when sent, in the channel's language).
    IntakeAck(IntakeAckBody),
    /// The export for the customer (`/readiness export`): gathered when sent, then its
    /// HTML and CSV files uploaded under a short message in the customer's channel.
    Export(ExportBody),
}

/// What a CSAT question row carries: the ticket it asks about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatBody {
    pub ticket_id: i64,
}

/// The idempotency key of a ticket's CSAT question: one per ticket, ever.
pub fn csat_key(ticket_id: i64) -> String {
    format!("csat:{ticket_id}")
}

/// What an intake reaction row carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeReactionBody {
    pub ticket_id: i64,
    /// The customer's message.
    pub ts: String,
    /// Without colons.
    pub emoji: String,
}

/// What an intake acknowledgement row carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeAckBody {
    pub ticket_id: i64,
    /// The thread it goes in (the customer's message's thread root).
    pub thread_ts: String,
}

/// What an escalation row carries: the rendered reply, and the ticket whose thread it
/// goes in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationBody {
    pub message: Message,
    pub ticket_id: i64,
    /// The target it is about (`None` for "Escalate now" and a priority change's
    /// line, which go out whatever is met): once that target is met, an escalation
    /// still waiting for its turn to be posted is dropped.
    #[serde(default)]
    pub target: Option<Target>,
}

/// What a direct message row carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectBody {
    /// The customer it is about, when there is one (kept for the record; a DM that
    /// cannot be posted tells nobody).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    pub message: Message,
}

/// What an assignee's DM carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedDm {
    pub customer_id: i64,
    pub item: String,
    pub by: String,
    pub due: Option<NaiveDate>,
}

/// What a rendered reminder row carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderBody {
    pub message: Message,
    pub customer_id: i64,
}

/// What an item-due DM carries; it is rendered when sent, and dropped if the item was
/// done, re-dated or given to someone else meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDueBody {
    pub customer_id: i64,
    pub item: String,
    pub due: NaiveDate,
    pub assignee: String,
}

/// What a digest row carries; it is rendered when sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestBody {
    pub customer_id: i64,
    pub day: NaiveDate,
}

/// What a report row carries; the report is gathered when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportBody {
    pub customer_id: i64,
    /// `YYYY-MM`
    pub month: String,
    pub requested_by: String,
    /// The files already uploaded under the posted report (`png`, `csv`, `json`): the
    /// sender records its progress here, so a retry uploads only what is missing.
    /// Absent until the first upload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploaded: Vec<String>,
}

/// What an export row carries; the export is gathered when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportBody {
    pub customer_id: i64,
    /// The day it was asked for, in the customer's zone: the files are named after it,
    /// so a retry on another day still names them as the request did.
    pub day: NaiveDate,
    pub requested_by: String,
    /// The files already uploaded (`html`, `csv`), as for a report: a retry uploads
    /// only what is missing. Absent until the first upload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploaded: Vec<String>,
}

/// Why a row's `kind` and `body` do not make a [`Post`].
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// Written by a newer version.
    #[error("unknown kind {0}")]
    UnknownKind(String),
    #[error("bad body: {0}")]
    BadBody(serde_json::Error),
}

impl Post {
    /// The `kind` column's value.
    pub fn kind(&self) -> &'static str {
        match self {
            Post::TicketMessage {} => kind::TICKET_MESSAGE,
            Post::Escalation(_) => kind::ESCALATION,
            Post::Direct(_) => kind::DIRECT,
            Post::AssignedDm(_) => kind::ASSIGNED_DM,
            Post::Reminder(_) => kind::REMINDER,
            Post::ItemDueDm(_) => kind::ITEM_DUE_DM,
            Post::Digest(_) => kind::DIGEST,
            Post::Report(_) => kind::REPORT,
            Post::Csat(_) => kind::CSAT,
            Post::IntakeReaction(_) => kind::INTAKE_REACTION,
            Post::IntakeAck(_) => kind::INTAKE_ACK,
            Post::Export(_) => kind::EXPORT,
        }
    }

    /// The `body` column's value: the variant's own JSON, as each kind was written
    /// before.
    pub fn body_json(&self) -> String {
        let json = match self {
            Post::TicketMessage {} => return "{}".into(),
            Post::Escalation(body) => serde_json::to_string(body),
            Post::Direct(body) => serde_json::to_string(body),
            Post::AssignedDm(body) => serde_json::to_string(body),
            Post::Reminder(body) => serde_json::to_string(body),
            Post::ItemDueDm(body) => serde_json::to_string(body),
            Post::Digest(body) => serde_json::to_string(body),
            Post::Report(body) => serde_json::to_string(body),
            Post::Csat(body) => serde_json::to_string(body),
            Post::IntakeReaction(body) => serde_json::to_string(body),
            Post::IntakeAck(body) => serde_json::to_string(body),
            Post::Export(body) => serde_json::to_string(body),
        };
        // These bodies are plain data: serializing them does not fail.
        json.unwrap_or_else(|_| "{}".into())
    }

    /// Reads a row back from its two columns.
    pub fn from_row(kind: &str, body: &str) -> Result<Self, Unreadable> {
        if !kind::ALL.contains(&kind) {
            return Err(Unreadable::UnknownKind(kind.to_string()));
        }
        let body: serde_json::Value = serde_json::from_str(body).map_err(Unreadable::BadBody)?;
        serde_json::from_value(serde_json::json!({ "kind": kind, "body": body }))
            .map_err(Unreadable::BadBody)
    }
}

impl Enqueue {
    /// The DM telling `user` they were given `dm.item` (keyed by when, so giving it to
    /// them again later is told again).
    pub fn assigned_dm(team_id: &str, user: &str, dm: &AssignedDm, now: DateTime<Utc>) -> Self {
        Enqueue {
            key: format!("assigned:{}:{}:{user}:{}", dm.customer_id, dm.item, ms(now)),
            team_id: team_id.to_string(),
            channel_id: user.to_string(),
            ticket_id: None,
            post: Post::AssignedDm(dm.clone()),
        }
    }

    /// An escalation threaded under ticket `ticket_id`'s message in `channel_id`, kept
    /// once by `key`; `target` is the SLA target whose threshold it is (none for one a
    /// person asked for).
    pub fn escalation(
        (team_id, channel_id, ticket_id): (&str, &str, i64),
        key: String,
        message: Message,
        target: Option<Target>,
    ) -> Self {
        Enqueue {
            key,
            team_id: team_id.to_string(),
            channel_id: channel_id.to_string(),
            ticket_id: Some(ticket_id),
            post: Post::Escalation(EscalationBody {
                message,
                ticket_id,
                target,
            }),
        }
    }

    /// The CSAT question of ticket `ticket_id`, whose customer channel is
    /// `channel_id` (its lane).
    pub fn csat((team_id, channel_id, ticket_id): (&str, &str, i64)) -> Self {
        Enqueue {
            key: csat_key(ticket_id),
            team_id: team_id.to_string(),
            channel_id: channel_id.to_string(),
            ticket_id: Some(ticket_id),
            post: Post::Csat(CsatBody { ticket_id }),
        }
    }

    pub fn ticket_message(ticket: &TicketRecord) -> Self {
        Enqueue {
            key: message_key(ticket.id),
            team_id: ticket.team_id.clone(),
            channel_id: ticket.channel_id.clone(),
            ticket_id: Some(ticket.id),
            post: Post::TicketMessage {},
        }
    }
}

/// Records `$item` (an [`Enqueue`]) at `$now` on `$executor` (a pool or a transaction
/// of either dialect). A key already present is left alone: that is what makes a
/// second firing of the same escalation harmless.
macro_rules! enqueue {
    ($executor:expr, $item:expr, $now:expr) => {{
        let item: &$crate::store::outbox::Enqueue = $item;
        sqlx::query(
            "INSERT INTO outbox (idem_key, team_id, channel_id, kind, ticket_id, body, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (idem_key) DO NOTHING",
        )
        .bind(&item.key)
        .bind(&item.team_id)
        .bind(&item.channel_id)
        .bind(item.post.kind())
        .bind(item.ticket_id)
        .bind(item.post.body_json())
        .bind($now)
        .execute($executor)
        .await
    }};
}
pub(super) use enqueue;

/// Kinds sent in bulk (reminders, digests, reports, exports): besides their channel's pace,
/// they take turns in their workspace's bulk lane (`bulk:<team>`), one at a time, so a
/// burst of thousands stays inside Slack's workspace-wide limit on posts ("several
/// hundred a minute"). Ticket posts and escalations are few and urgent: they skip that
/// lane and are paced per channel only.
pub const BULK_KINDS: [&str; 5] = [
    kind::REMINDER,
    kind::ITEM_DUE_DM,
    kind::DIGEST,
    kind::REPORT,
    kind::EXPORT,
];
/// [`BULK_KINDS`] as an SQL list: `('reminder', …)`.
fn bulk_sql() -> String {
    let quoted: Vec<String> = BULK_KINDS.iter().map(|k| format!("'{k}'")).collect();
    format!("({})", quoted.join(", "))
}

/// The ids of the rows heading their lanes, as SQL: each channel's oldest pending
/// urgent row and its oldest pending bulk row.
fn lane_heads() -> String {
    format!(
        "SELECT MIN(id) FROM outbox WHERE status = 'pending'
         GROUP BY channel_id, CASE WHEN kind IN {} THEN 1 ELSE 0 END",
        bulk_sql()
    )
}

/// The bulk lane of a workspace.
pub fn bulk_lane(team_id: &str) -> String {
    format!("bulk:{team_id}")
}

pub fn is_bulk(kind: &str) -> bool {
    BULK_KINDS.contains(&kind)
}

/// The lane of a workspace's message updates is `updates:<team>`. `chat.update` is
/// limited per workspace (tier 3, about 50 a minute), not per channel, so once a ticket
/// message is posted its updates leave the channel's lane for this one: escalations
/// never wait behind them. (The re-arm statement below builds the name in SQL.)
pub const UPDATES_LANE_PREFIX: &str = "updates:";

/// Binds: key, now. Asks for the row to be sent again (a ticket message to update); a
/// sender holding the older generation will not mark it sent. A message already
/// posted moves to its workspace's updates lane.
pub(super) fn rearm_statement() -> &'static str {
    "UPDATE outbox SET status = 'pending', generation = generation + 1, attempts = 0,
         next_attempt_at = $2, last_error = NULL,
         channel_id = CASE WHEN sent_ts IS NULL THEN channel_id ELSE 'updates:' || team_id END
     WHERE idem_key = $1"
}

/// A claimed row, leased to this sender.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub key: String,
    pub team_id: String,
    /// The lane: the channel it goes to, or the workspace's updates lane.
    pub channel_id: String,
    /// The `kind` column as stored (a newer version's kind too); [`Claimed::post`]
    /// reads it with the body.
    pub kind: String,
    pub ticket_id: Option<i64>,
    /// The `body` column as stored, progress included.
    pub body: String,
    pub generation: i64,
    pub attempts: i64,
    /// An earlier sender may have posted this and died before recording it.
    pub in_doubt: bool,
    pub created_at: i64,
    /// The message an earlier send posted (a re-armed row updates it).
    pub sent_ts: Option<String>,
}

impl Claimed {
    /// What the row posts.
    pub fn post(&self) -> Result<Post, Unreadable> {
        Post::from_row(&self.kind, &self.body)
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Slack has it (`ts` of the message).
    Sent { ts: String },
    /// Try again at `at` (Unix ms); `in_doubt` if the attempt may have reached Slack (a
    /// row once in doubt stays so until it is sent).
    Retry {
        at: i64,
        error: String,
        in_doubt: bool,
        count_attempt: bool,
    },
    /// Give up: parked as failed, for /metrics and the logs.
    Park { error: String },
    /// No longer wanted (an escalation whose target was met while it waited its turn):
    /// recorded as cancelled, never sent.
    Cancel { reason: String },
}

/// Outbox rows by status, for /metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub failed: i64,
}

impl Store {
    /// Leases up to `limit` sendable rows to `owner` until `lease_until`: for each
    /// channel its oldest pending urgent row, else its oldest pending bulk row, and only
    /// once the channel's pacing allows.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        let now_ms = ms(now);
        let lock = match &self.db {
            Db::Sqlite { .. } => "",
            Db::Postgres(_) => "FOR UPDATE OF o SKIP LOCKED",
        };
        // The sendable heads are computed once: a row heads its lane's queue, its
        // retry time and any other sender's lease are past, and its channel's pace
        // allows. A channel has two lanes, urgent (ticket posts, escalations, DMs to
        // people) and bulk (reminders, digests, reports), each in order, so an urgent
        // post never waits behind a bulk one that is backing off or waiting for its
        // workspace's turn. Of the bulk heads, only each workspace's oldest goes, only
        // while its bulk lane is free (no bulk row of the workspace in flight, its gap
        // since the last one past), and only when no urgent post of the channel is
        // ready or in flight (the channel's pace is shared, and urgent goes first).
        // (Written as a correlated subquery per row, this took seconds with 10,000
        // rows pending.) The row's own conditions are stated again on `o`: on
        // PostgreSQL a row another replica claimed since this statement's snapshot is
        // re-checked against its newest version, and only conditions on the locked
        // table itself are; the CTE's copy of them would let the row be claimed twice.
        let bulk = bulk_sql();
        let heads = lane_heads();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1,
                 in_doubt = CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE in_doubt END
             WHERE id IN (
                 WITH heads AS (
                     SELECT o.id, o.team_id, o.kind, o.channel_id FROM outbox o
                     LEFT JOIN outbox_channels c ON c.channel_id = o.channel_id
                     WHERE o.status = 'pending'
                       AND o.id IN ({heads})
                       AND o.next_attempt_at <= $3
                       AND (o.lease_until IS NULL OR o.lease_until < $3)
                       AND (c.next_at IS NULL OR c.next_at <= $3)
                 ),
                 busy AS (
                     SELECT channel_id FROM outbox
                     WHERE status = 'pending' AND lease_until >= $3 AND kind NOT IN {bulk}
                     UNION
                     SELECT channel_id FROM heads WHERE kind NOT IN {bulk}
                 ),
                 bulk_in_flight AS (
                     SELECT team_id FROM outbox
                     WHERE status = 'pending' AND lease_until >= $3 AND kind IN {bulk}
                 ),
                 bulk_turns AS (
                     SELECT MIN(h.id) AS id FROM heads h
                     LEFT JOIN outbox_channels w ON w.channel_id = 'bulk:' || h.team_id
                     WHERE h.kind IN {bulk} AND (w.next_at IS NULL OR w.next_at <= $3)
                       AND h.channel_id NOT IN (SELECT channel_id FROM busy)
                       AND h.team_id NOT IN (SELECT team_id FROM bulk_in_flight)
                     GROUP BY h.team_id
                 )
                 SELECT o.id FROM outbox o JOIN heads h ON h.id = o.id
                 WHERE o.status = 'pending'
                   AND o.next_attempt_at <= $3
                   AND (o.lease_until IS NULL OR o.lease_until < $3)
                   AND (h.kind NOT IN {bulk} OR h.id IN (SELECT id FROM bulk_turns))
                 ORDER BY o.id
                 LIMIT $4 {lock})
             RETURNING id, idem_key, team_id, channel_id, kind, ticket_id, body, generation,
                 attempts, in_doubt, created_at, sent_ts"
        ));
        on_pool!(&self.db, write, |pool| {
            let rows = sqlx::query(sql)
                .bind(owner)
                .bind(lease_until)
                .bind(now_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in &rows {
                let in_doubt: i64 = row.try_get("in_doubt")?;
                claimed.push(Claimed {
                    id: row.try_get("id")?,
                    key: row.try_get("idem_key")?,
                    team_id: row.try_get("team_id")?,
                    channel_id: row.try_get("channel_id")?,
                    kind: row.try_get("kind")?,
                    ticket_id: row.try_get("ticket_id")?,
                    body: row.try_get("body")?,
                    generation: row.try_get("generation")?,
                    attempts: row.try_get("attempts")?,
                    in_doubt: in_doubt != 0,
                    created_at: row.try_get("created_at")?,
                    sent_ts: row.try_get("sent_ts")?,
                });
            }
            claimed.sort_by_key(|c| c.id);
            Ok(claimed)
        })
    }

    /// Records how an attempt on `claimed` ended, and when each of its lanes (its
    /// channel, its workspace's bulk lane) may be used next. Only the lease holder's
    /// word counts.
    pub async fn finish_outbox(
        &self,
        claimed: &Claimed,
        owner: &str,
        outcome: &Outcome,
        lanes: &[(String, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let now_ms = ms(now);
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            match outcome {
                Outcome::Sent { ts } => {
                    // A row re-armed while it was in flight stays pending: the newer
                    // state still has to be sent.
                    sqlx::query(
                        "UPDATE outbox SET status = CASE WHEN generation = $3 THEN 'sent' ELSE status END,
                             sent_at = $4, sent_ts = $5, lease_owner = NULL, lease_until = NULL,
                             in_doubt = 0, last_error = NULL
                         WHERE id = $1 AND lease_owner = $2",
                    )
                    .bind(claimed.id)
                    .bind(owner)
                    .bind(claimed.generation)
                    .bind(now_ms)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await?;
                }
                Outcome::Retry {
                    at,
                    error,
                    in_doubt,
                    count_attempt,
                } => {
                    sqlx::query(
                        "UPDATE outbox SET next_attempt_at = $3, last_error = $4,
                             in_doubt = CASE WHEN $5 = 1 THEN 1 ELSE in_doubt END,
                             attempts = attempts - $6, lease_owner = NULL, lease_until = NULL
                         WHERE id = $1 AND lease_owner = $2",
                    )
                    .bind(claimed.id)
                    .bind(owner)
                    .bind(*at)
                    .bind(error)
                    .bind(i64::from(*in_doubt))
                    .bind(i64::from(!*count_attempt))
                    .execute(&mut *tx)
                    .await?;
                }
                Outcome::Park { error: reason } | Outcome::Cancel { reason } => {
                    let status = match outcome {
                        Outcome::Park { .. } => "failed",
                        _ => "cancelled",
                    };
                    sqlx::query(
                        "UPDATE outbox SET status = $3, last_error = $4, lease_owner = NULL,
                             lease_until = NULL
                         WHERE id = $1 AND lease_owner = $2",
                    )
                    .bind(claimed.id)
                    .bind(owner)
                    .bind(status)
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for (lane, next_at) in lanes {
                sqlx::query(
                    "INSERT INTO outbox_channels (channel_id, next_at) VALUES ($1, $2)
                     ON CONFLICT (channel_id) DO UPDATE SET next_at = excluded.next_at",
                )
                .bind(lane)
                .bind(next_at)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(notify) = self.notify_sql() {
                sqlx::query(notify).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Records what an attempt on `claimed` has done so far, while it holds the lease:
    /// the message it posted (`sent_ts`) and the row's body with its progress, so the
    /// next attempt goes on from there instead of starting again.
    pub async fn record_outbox_progress(
        &self,
        claimed: &Claimed,
        owner: &str,
        sent_ts: &str,
        body: &str,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE outbox SET sent_ts = $3, body = $4 WHERE id = $1 AND lease_owner = $2"
        )
        .bind(claimed.id)
        .bind(owner)
        .bind(sent_ts)
        .bind(body)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Records a direct message (to a user) in the outbox, outside any other change.
    pub async fn enqueue(&self, item: &Enqueue, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let now_ms = ms(now);
        on_pool!(&self.db, write, |pool| enqueue!(pool, item, now_ms)
            .map(|_| ()))?;
        self.wake_outbox();
        Ok(())
    }

    /// When the outbox next has something sendable (Unix ms): the latest of each
    /// channel head's retry time, its channel's pacing and any other sender's lease.
    pub async fn next_outbox_due(&self) -> Result<Option<i64>, sqlx::Error> {
        // One row per lane head: few, and only read when the sender goes to sleep. A
        // bulk head also waits for an urgent post of its channel, and any bulk post of
        // its workspace, in flight.
        let bulk = bulk_sql();
        let heads = lane_heads();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT o.next_attempt_at, COALESCE(o.lease_until, 0) AS lease_until,
                 COALESCE(c.next_at, 0) AS channel_at,
                 CASE WHEN o.kind IN {bulk} THEN COALESCE(w.next_at, 0) ELSE 0 END AS bulk_at,
                 CASE WHEN o.kind IN {bulk} THEN COALESCE(f.until, 0) ELSE 0 END AS busy_at,
                 CASE WHEN o.kind IN {bulk} THEN COALESCE(t.until, 0) ELSE 0 END AS turn_at
             FROM outbox o LEFT JOIN outbox_channels c ON c.channel_id = o.channel_id
             LEFT JOIN outbox_channels w ON w.channel_id = 'bulk:' || o.team_id
             LEFT JOIN (
                 SELECT channel_id, MAX(lease_until) AS until FROM outbox
                 WHERE status = 'pending' AND lease_until IS NOT NULL AND kind NOT IN {bulk}
                 GROUP BY channel_id
             ) f ON f.channel_id = o.channel_id
             LEFT JOIN (
                 SELECT team_id, MAX(lease_until) AS until FROM outbox
                 WHERE status = 'pending' AND lease_until IS NOT NULL AND kind IN {bulk}
                 GROUP BY team_id
             ) t ON t.team_id = o.team_id
             WHERE o.id IN ({heads})"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            let mut due: Option<i64> = None;
            for row in &rows {
                let head = [
                    "next_attempt_at",
                    "lease_until",
                    "channel_at",
                    "bulk_at",
                    "busy_at",
                    "turn_at",
                ]
                .iter()
                .map(|column| row.try_get::<i64, _>(*column))
                .collect::<Result<Vec<i64>, _>>()?
                .into_iter()
                .max()
                .unwrap_or(0);
                due = Some(due.map_or(head, |d| d.min(head)));
            }
            Ok(due)
        })
    }

    /// Whether a sender holds a row now (claimed, not yet finished).
    pub async fn outbox_in_flight(&self) -> Result<bool, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND lease_owner IS NOT NULL",
            )
            .fetch_one(pool)
            .await
            .map(|n| n > 0)
        })
    }

    /// SQLite only, at start: the one process that may use the file is this one, so any
    /// lease is a dead process's. Its rows become claimable at once (still marked as
    /// leased, so the next attempt treats them as in doubt). On PostgreSQL another
    /// replica may hold them: they wait for their leases to run out.
    pub async fn release_dead_leases(&self) -> Result<u64, sqlx::Error> {
        match &self.db {
            Db::Postgres(_) => Ok(0),
            Db::Sqlite { .. } => on_pool!(&self.db, write, |pool| sqlx::query(
                "UPDATE outbox SET lease_until = 0 WHERE lease_owner IS NOT NULL"
            )
            .execute(pool)
            .await
            .map(|r| r.rows_affected())),
        }
    }

    /// When `channel` may receive its next post (Unix ms), if it is paced.
    pub async fn channel_next_at(&self, channel: &str) -> Result<Option<i64>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            match sqlx::query("SELECT next_at FROM outbox_channels WHERE channel_id = $1")
                .bind(channel)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(row.try_get("next_at")?)),
                None => Ok(None),
            }
        })
    }

    /// Paces `channel`: no post before `next_at` (Unix ms).
    pub async fn pace_channel(&self, channel: &str, next_at: i64) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "INSERT INTO outbox_channels (channel_id, next_at) VALUES ($1, $2)
             ON CONFLICT (channel_id) DO UPDATE SET next_at = excluded.next_at"
        )
        .bind(channel)
        .bind(next_at)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// The status of the row with `key` (`pending`, `sent`, `failed`), if there is one.
    pub async fn outbox_status(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            match sqlx::query("SELECT status FROM outbox WHERE idem_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(row.try_get("status")?)),
                None => Ok(None),
            }
        })
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(OUTBOX_COUNTS_SQL).fetch_all(pool).await?;
            let mut counts = OutboxCounts::default();
            for row in &rows {
                let status: String = row.try_get("status")?;
                let n: i64 = row.try_get("n")?;
                match status.as_str() {
                    "pending" => counts.pending = n,
                    "failed" => counts.failed = n,
                    _ => {}
                }
            }
            Ok(counts)
        })
    }

    /// Deletes rows sent (or cancelled) before `before_ms`, a batch at a time; returns
    /// how many. A ticket message's row stays: later changes re-arm it by its key to
    /// update the posted message, and escalations thread under its `ts`. A CSAT
    /// question's row stays too: its key is what keeps a ticket from being asked twice,
    /// and an answer re-arms it to show the answer.
    pub async fn prune_sent_outbox(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        const BATCH: i64 = 5_000;
        let mut pruned = 0;
        loop {
            let n = on_pool!(&self.db, write, |pool| sqlx::query(
                "DELETE FROM outbox WHERE id IN (
                     SELECT id FROM outbox
                     WHERE status IN ('sent', 'cancelled') AND kind <> $1 AND kind <> $4
                       AND COALESCE(sent_at, created_at) < $2
                     LIMIT $3)"
            )
            .bind(kind::TICKET_MESSAGE)
            .bind(before_ms)
            .bind(BATCH)
            .bind(kind::CSAT)
            .execute(pool)
            .await?
            .rows_affected());
            pruned += n;
            if n < BATCH as u64 {
                return Ok(pruned);
            }
        }
    }
}

/// The counts `/metrics` shows: read from the `(status, …)` index over the rows still to
/// send or parked only, never the sent ones.
pub const OUTBOX_COUNTS_SQL: &str = "SELECT status, COUNT(*) AS n FROM outbox
     WHERE status IN ('pending', 'failed') GROUP BY status";

#[cfg(test)]
mod tests {
    use super::*;

    /// `Message::plain("Hi")` as `serde_json::to_string` writes it (fields in order).
    const HI: &str =
        r#"{"text":"Hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Hi"}}]}"#;
    /// The same as `serde_json::json!` wrote it (keys sorted), as the direct DMs were.
    const HI_SORTED: &str =
        r#"{"blocks":[{"text":{"text":"Hi","type":"mrkdwn"},"type":"section"}],"text":"Hi"}"#;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    /// Each kind with its body as the code before this enum wrote it, byte for byte,
    /// and the variant it must read as.
    fn old_rows() -> Vec<(&'static str, String, Post)> {
        let hi = Message::plain("Hi");
        vec![
            ("ticket_message", "{}".into(), Post::TicketMessage {}),
            (
                "escalation",
                format!(r#"{{"message":{HI},"ticket_id":12,"target":"first_response"}}"#),
                Post::Escalation(EscalationBody {
                    message: hi.clone(),
                    ticket_id: 12,
                    target: Some(Target::FirstResponse),
                }),
            ),
            (
                "escalation",
                format!(r#"{{"message":{HI},"ticket_id":12,"target":null}}"#),
                Post::Escalation(EscalationBody {
                    message: hi.clone(),
                    ticket_id: 12,
                    target: None,
                }),
            ),
            // The CSM's "could not post" DM.
            (
                "direct",
                format!(r#"{{"message":{HI_SORTED}}}"#),
                Post::Direct(DirectBody {
                    customer_id: None,
                    message: hi.clone(),
                }),
            ),
            // The CSM's DM about a channel renamed, archived or unshared.
            (
                "direct",
                format!(r#"{{"customer_id":7,"message":{HI_SORTED}}}"#),
                Post::Direct(DirectBody {
                    customer_id: Some(7),
                    message: hi.clone(),
                }),
            ),
            (
                "assigned_dm",
                r#"{"customer_id":3,"item":"1.1.1","by":"U2","due":"2026-12-08"}"#.into(),
                Post::AssignedDm(AssignedDm {
                    customer_id: 3,
                    item: "1.1.1".into(),
                    by: "U2".into(),
                    due: Some(day(8)),
                }),
            ),
            (
                "assigned_dm",
                r#"{"customer_id":3,"item":"1.1.1","by":"U2","due":null}"#.into(),
                Post::AssignedDm(AssignedDm {
                    customer_id: 3,
                    item: "1.1.1".into(),
                    by: "U2".into(),
                    due: None,
                }),
            ),
            (
                "reminder",
                format!(r#"{{"message":{HI},"customer_id":3}}"#),
                Post::Reminder(ReminderBody {
                    message: hi.clone(),
                    customer_id: 3,
                }),
            ),
            (
                "item_due_dm",
                r#"{"customer_id":3,"item":"1.1.1","due":"2026-12-08","assignee":"U2"}"#.into(),
                Post::ItemDueDm(ItemDueBody {
                    customer_id: 3,
                    item: "1.1.1".into(),
                    due: day(8),
                    assignee: "U2".into(),
                }),
            ),
            (
                "digest",
                r#"{"customer_id":3,"day":"2026-12-06"}"#.into(),
                Post::Digest(DigestBody {
                    customer_id: 3,
                    day: day(6),
                }),
            ),
            (
                "report",
                r#"{"customer_id":3,"month":"2026-11","requested_by":"U1"}"#.into(),
                Post::Report(ReportBody {
                    customer_id: 3,
                    month: "2026-11".into(),
                    requested_by: "U1".into(),
                    uploaded: Vec::new(),
                }),
            ),
            (
                "intake_reaction",
                r#"{"ticket_id":4,"ts":"1.2","emoji":"ticket"}"#.into(),
                Post::IntakeReaction(IntakeReactionBody {
                    ticket_id: 4,
                    ts: "1.2".into(),
                    emoji: "ticket".into(),
                }),
            ),
            (
                "intake_ack",
                r#"{"ticket_id":4,"thread_ts":"1.2"}"#.into(),
                Post::IntakeAck(IntakeAckBody {
                    ticket_id: 4,
                    thread_ts: "1.2".into(),
                }),
            ),
            // A report part-sent: its progress as the sender recorded it.
            (
                "report",
                r#"{"customer_id":3,"month":"2026-11","requested_by":"U1","uploaded":["png","csv"]}"#
                    .into(),
                Post::Report(ReportBody {
                    customer_id: 3,
                    month: "2026-11".into(),
                    requested_by: "U1".into(),
                    uploaded: vec!["png".into(), "csv".into()],
                }),
            ),
            (
                "csat",
                r#"{"ticket_id":12}"#.into(),
                Post::Csat(CsatBody { ticket_id: 12 }),
            ),
            (
                "export",
                r#"{"customer_id":3,"day":"2026-12-06","requested_by":"U1","uploaded":["html"]}"#
                    .into(),
                Post::Export(ExportBody {
                    customer_id: 3,
                    day: day(6),
                    requested_by: "U1".into(),
                    uploaded: vec!["html".into()],
                }),
            ),
        ]
    }

    #[test]
    fn rows_written_before_the_enum_read_as_their_variant() {
        // And rows from before escalations named their target.
        let untargeted = (
            "escalation",
            format!(r#"{{"message":{HI},"ticket_id":12}}"#),
            Post::Escalation(EscalationBody {
                message: Message::plain("Hi"),
                ticket_id: 12,
                target: None,
            }),
        );
        for (kind, body, want) in old_rows().into_iter().chain([untargeted]) {
            let got = Post::from_row(kind, &body).unwrap_or_else(|e| panic!("{kind} {body}: {e}"));
            assert_eq!(got, want, "{kind} {body}");
        }
    }

    #[test]
    fn rows_are_written_as_before() {
        for (kind, body, post) in old_rows() {
            assert_eq!(post.kind(), kind);
            let written = post.body_json();
            if matches!(post, Post::Direct(_)) {
                // Written through `json!` before, so its keys came sorted: the same
                // JSON, in another order.
                let old: serde_json::Value = serde_json::from_str(&body).unwrap();
                let new: serde_json::Value = serde_json::from_str(&written).unwrap();
                assert_eq!(new, old);
            } else {
                assert_eq!(written, body, "{kind}");
            }
        }
    }

    #[test]
    fn every_variant_is_stored_under_its_serde_tag() {
        let rows = old_rows();
        for (_, _, post) in &rows {
            let tagged = serde_json::to_value(post).unwrap();
            assert_eq!(tagged["kind"], post.kind());
            let body: serde_json::Value = serde_json::from_str(&post.body_json()).unwrap();
            assert_eq!(tagged["body"], body, "{}", post.kind());
            assert_eq!(
                &Post::from_row(post.kind(), &post.body_json()).unwrap(),
                post
            );
        }
        // Every kind is one of the rows above, so each variant was checked.
        for kind in kind::ALL {
            assert!(rows.iter().any(|(_, _, p)| p.kind() == kind), "{kind}");
        }
        for kind in BULK_KINDS {
            assert!(kind::ALL.contains(&kind), "{kind}");
        }
    }

    #[test]
    fn a_newer_kind_or_a_bad_body_does_not_read() {
        let newer = Post::from_row("survey", r#"{"customer_id":3}"#).unwrap_err();
        assert!(matches!(&newer, Unreadable::UnknownKind(k) if k == "survey"));
        assert_eq!(newer.to_string(), "unknown kind survey");
        for (kind, body) in [
            ("digest", "not json"),
            ("digest", r#"{"customer_id":3}"#),
            ("direct", "{}"),
        ] {
            let bad = Post::from_row(kind, body).unwrap_err();
            assert!(matches!(bad, Unreadable::BadBody(_)), "{kind} {body}");
            assert!(bad.to_string().starts_with("bad body: "), "{bad}");
        }
    }
}
