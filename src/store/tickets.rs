//! Tickets, their timers (the scheduler's due rows) and the transactions that change
//! them together with the outbox. Everything here is plain data: the SLA decisions are
//! made by `domain::ticket` and handed in as closures or values.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

use super::audit::{Actor, AuditEntry, append_audit};
use super::due::claim_due;
use super::outbox::{Enqueue, enqueue, rearm_statement};
use super::{Db, Store, ms};

/// A ticket as stored: times in Unix milliseconds. Read from a row of either dialect
/// by its column names (`TICKET_COLUMNS`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketRecord {
    pub id: i64,
    pub team_id: String,
    pub number: i64,
    pub customer_id: i64,
    pub priority: String,
    pub summary: String,
    pub reporter: String,
    pub assignee: Option<String>,
    pub opened_at: i64,
    pub used_ms: i64,
    pub running_since: Option<i64>,
    pub responded_at: Option<i64>,
    pub responded_by: Option<String>,
    pub response_used_ms: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolution_used_ms: Option<i64>,
    pub escalations: i64,
    pub channel_id: String,
    pub ts: Option<String>,
    pub source_ts: Option<String>,
    pub version: i64,
    /// The next-response rounds as JSON ([`NextResponseRecord`]); `None` before any.
    pub next_response: Option<String>,
}

/// The stored form of a ticket's next responses (the `tickets.next_response` column,
/// JSON): the round running and the last one answered. Times in Unix ms.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NextResponseRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<AwaitingRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<AnsweredRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AwaitingRecord {
    pub since: i64,
    pub by: String,
    pub used_ms: i64,
    pub running_since: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnsweredRecord {
    pub since: i64,
    pub customer: String,
    pub at: i64,
    pub by: String,
    pub used_ms: i64,
}

impl NextResponseRecord {
    /// Read from the column (an unreadable value reads as no rounds, logged).
    pub fn parse(column: Option<&str>) -> NextResponseRecord {
        let Some(text) = column else {
            return NextResponseRecord::default();
        };
        serde_json::from_str(text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an unreadable next_response column; read as none");
            NextResponseRecord::default()
        })
    }

    /// The column's value (`None` when there is nothing to keep).
    pub fn column(&self) -> Option<String> {
        if self.awaiting.is_none() && self.last.is_none() {
            return None;
        }
        serde_json::to_string(self).ok()
    }
}

/// An answered next-response round, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredRound {
    pub ticket_id: i64,
    pub started_at: i64,
    pub used_ms: i64,
}

/// A due row of the scheduler, claimed for firing, with its ticket.
#[derive(Debug, Clone)]
pub struct DueTimer {
    pub timer_id: i64,
    pub target: String,
    pub level: i64,
    pub due_at: i64,
    /// The customer's tier, whose calendar the clock counts in.
    pub customer_tier: String,
    /// The customer's CSM (else who created it): named for a ticket made from a
    /// message when nobody is assigned, rather than the message's writer, who may be
    /// the customer.
    pub customer_owner: String,
    /// Made from a message (intake, or the shortcut): it has an intake key.
    pub from_message: bool,
    pub ticket: TicketRecord,
}

/// What firing a due row decided.
#[derive(Debug, Clone, Default)]
pub struct Firing {
    /// Posts to record in the outbox (their keys make a second firing harmless). A
    /// firing that posts also refreshes the ticket message, which shows the new state.
    pub enqueue: Vec<Enqueue>,
    /// The row's next level and when it is due (`None`: paused); `None` here removes
    /// the row (the target is met, or no level is left).
    pub next: Option<(i64, Option<i64>)>,
    /// The audit entry of what it posted, if it posted.
    pub audit: Option<AuditEntry>,
}

/// A timer's new level and due time, decided from its target and its level (`None`:
/// the ticket has no row for that target): `None` removes the row (or adds none), a due
/// time of `None` keeps it paused.
pub type Replan<'a> = dyn Fn(&str, Option<i64>) -> Option<(i64, Option<i64>)> + Send + Sync + 'a;

pub(super) const TICKET_COLUMNS: &str = "tickets.id, tickets.team_id, tickets.number, tickets.customer_id, tickets.priority,
    tickets.summary, tickets.reporter, tickets.assignee, tickets.opened_at, tickets.used_ms, tickets.running_since,
    tickets.responded_at, tickets.responded_by, tickets.response_used_ms, tickets.resolved_at,
    tickets.resolved_by, tickets.resolution_used_ms, tickets.escalations, tickets.channel_id,
    tickets.ts, tickets.source_ts, tickets.version, tickets.next_response";

/// The one ticket matching `$condition` (what follows WHERE), with a `$bind` for each
/// of its placeholders in order.
macro_rules! one_ticket {
    ($store:expr, $condition:expr $(, $bind:expr)*) => {{
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE {}",
            $condition
        ));
        on_pool!(&$store.db, read, |pool| {
            match sqlx::query(sql)$(.bind($bind))*.fetch_optional(pool).await? {
                Some(row) => Ok(Some(TicketRecord::from_row(&row)?)),
                None => Ok(None),
            }
        })
    }};
}

/// The idempotency key of a ticket's own message (posted once, then updated).
pub fn message_key(ticket_id: i64) -> String {
    format!("ticket:{ticket_id}:message")
}

/// A ticket to open, with its first timers.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub team_id: String,
    pub customer_id: i64,
    pub priority: String,
    pub summary: String,
    pub reporter: String,
    pub assignee: Option<String>,
    pub opened_at: i64,
    pub used_ms: i64,
    pub running_since: Option<i64>,
    pub channel_id: String,
    pub source_ts: Option<String>,
    /// (target, level 0's due time).
    pub timers: Vec<(String, Option<i64>)>,
}

/// What a ticket made from a message records besides itself.
pub type OriginPosts = dyn Fn(&TicketRecord) -> Vec<Enqueue> + Send + Sync;

/// The customer's message a ticket was made from (intake, or the message shortcut).
pub struct IntakeOrigin {
    /// `<channel>:<ts>`: unique per workspace, so one message is one ticket.
    pub key: String,
    /// The message's thread root when the card goes under it (automatic intake);
    /// `None`: the card is a top-level post (the message shortcut).
    pub thread: Option<String>,
    /// Posts recorded with the ticket, in its transaction (so a crash loses none):
    /// built from the new ticket's id.
    pub posts: Box<OriginPosts>,
}

/// Where an intake ticket's card and escalations go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardPlace {
    pub intake_key: Option<String>,
    /// The customer's message's thread root, when the card goes under it.
    pub thread: Option<String>,
    /// Where the card was posted, when not in the ticket's channel.
    pub card_channel: Option<String>,
}

/// The key of a customer's message: `<channel>:<ts>`.
pub fn intake_key(channel: &str, ts: &str) -> String {
    format!("{channel}:{ts}")
}

impl Store {
    /// Stores a new ticket with its number, its timers and its message in the outbox,
    /// in one transaction.
    pub async fn open_ticket(
        &self,
        new: &NewTicket,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<TicketRecord, sqlx::Error> {
        Ok(self.open_ticket_from(new, None, actor, now).await?.0)
    }

    /// [`Store::open_ticket`], made from a customer's message: the ticket already
    /// made from it (`false`) if there is one, else the new one (`true`). The unique
    /// key decides, not a look first: two replicas or a retried event racing on the
    /// same message make one ticket (the loser's transaction, its number included,
    /// is rolled back).
    pub async fn open_ticket_from(
        &self,
        new: &NewTicket,
        origin: Option<&IntakeOrigin>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<(TicketRecord, bool), sqlx::Error> {
        let now_ms = ms(now);
        let insert = sqlx::AssertSqlSafe(format!(
            "INSERT INTO tickets (team_id, number, customer_id, priority, summary, reporter, assignee,
                 opened_at, used_ms, running_since, channel_id, source_ts, intake_key, intake_thread)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (team_id, intake_key) DO NOTHING
             RETURNING {}",
            TICKET_COLUMNS.replace("tickets.", "")
        ));
        let key = origin.map(|o| o.key.clone());
        let thread = origin.and_then(|o| o.thread.clone());
        let opened = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let number: i64 = sqlx::query(
                "INSERT INTO ticket_numbers (team_id, last) VALUES ($1, 1)
                 ON CONFLICT (team_id) DO UPDATE SET last = ticket_numbers.last + 1
                 RETURNING last",
            )
            .bind(&new.team_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("last")?;
            let row = sqlx::query(insert)
                .bind(&new.team_id)
                .bind(number)
                .bind(new.customer_id)
                .bind(&new.priority)
                .bind(&new.summary)
                .bind(&new.reporter)
                .bind(&new.assignee)
                .bind(new.opened_at)
                .bind(new.used_ms)
                .bind(new.running_since)
                .bind(&new.channel_id)
                .bind(&new.source_ts)
                .bind(&key)
                .bind(&thread)
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => {
                    // Made from this message already: nothing of this one is kept.
                    tx.rollback().await?;
                    None
                }
                Some(row) => {
                    let ticket = TicketRecord::from_row(&row)?;
                    if let Some(origin) = origin {
                        for item in (origin.posts)(&ticket) {
                            enqueue!(&mut *tx, &item, now_ms)?;
                        }
                    }
                    for (target, due_at) in &new.timers {
                        sqlx::query(
                    "INSERT INTO timers (ticket_id, target, level, due_at) VALUES ($1, $2, 0, $3)",
                )
                .bind(ticket.id)
                .bind(target)
                .bind(*due_at)
                .execute(&mut *tx)
                .await?;
                    }
                    let message = Enqueue::ticket_message(&ticket);
                    enqueue!(&mut *tx, &message, now_ms)?;
                    let opened = actor
                        .entry(
                            &ticket.team_id,
                            Some(ticket.customer_id),
                            "ticket.opened",
                            &format!("T-{}", ticket.number),
                            now_ms,
                        )
                        .with(
                            None,
                            Some(serde_json::json!({
                                "priority": ticket.priority,
                                "summary": ticket.summary,
                                "reporter": ticket.reporter,
                                "opened_at": ticket.opened_at,
                            })),
                        );
                    append_audit!(&mut *tx, &opened)?;
                    if let Some(notify) = self.notify_sql() {
                        sqlx::query(notify).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Some(ticket)
                }
            }
        });
        let Some(ticket) = opened else {
            let existing = match origin {
                Some(origin) => self.ticket_by_intake_key(&new.team_id, &origin.key).await?,
                None => None,
            };
            return existing.map(|t| (t, false)).ok_or(sqlx::Error::RowNotFound);
        };
        if let Some(cache) = &self.cache {
            cache.put_ticket(ticket.clone());
        }
        self.wake();
        Ok((ticket, true))
    }

    /// The ticket made from the customer's message `key` (`<channel>:<ts>`).
    pub async fn ticket_by_intake_key(
        &self,
        team_id: &str,
        key: &str,
    ) -> Result<Option<TicketRecord>, sqlx::Error> {
        one_ticket!(self, "team_id = $1 AND intake_key = $2", team_id, key)
    }

    /// Where ticket `id`'s card and escalations go (all `None` for a ticket opened
    /// by hand).
    pub async fn card_place(&self, id: i64) -> Result<CardPlace, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let row = sqlx::query(
                "SELECT intake_key, intake_thread, card_channel FROM tickets WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            match row {
                Some(row) => Ok(CardPlace {
                    intake_key: row.try_get("intake_key")?,
                    thread: row.try_get("intake_thread")?,
                    card_channel: row.try_get("card_channel")?,
                }),
                None => Ok(CardPlace::default()),
            }
        })
    }

    /// Records that ticket `id`'s card was posted in `channel`, away from the
    /// ticket's own channel.
    pub async fn set_card_channel(&self, id: i64, channel: &str) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE tickets SET card_channel = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(channel)
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// SQLite: the committed ticket into the cache (read back, since the caller's copy
    /// may lack a message `ts` recorded meanwhile).
    async fn recache_ticket(&self, id: i64) -> Result<(), sqlx::Error> {
        if let Some(cache) = &self.cache
            && let Some(ticket) = self.ticket_by_id(id).await?
        {
            cache.put_ticket(ticket);
        }
        Ok(())
    }

    pub async fn ticket_by_number(
        &self,
        team_id: &str,
        number: i64,
    ) -> Result<Option<TicketRecord>, sqlx::Error> {
        one_ticket!(self, "team_id = $1 AND number = $2", team_id, number)
    }

    /// The ticket whose message, or the message it was tracked from, is `ts` in
    /// `channel_id` (thread replies point at either).
    pub async fn ticket_by_message(
        &self,
        team_id: &str,
        channel_id: &str,
        ts: &str,
    ) -> Result<Option<TicketRecord>, sqlx::Error> {
        one_ticket!(
            self,
            "channel_id = $1 AND (ts = $2 OR source_ts = $2) AND team_id = $3 ORDER BY id LIMIT 1",
            channel_id,
            ts,
            team_id
        )
    }

    /// By id alone: callers holding an id from a payload check its workspace.
    pub async fn ticket_by_id(&self, id: i64) -> Result<Option<TicketRecord>, sqlx::Error> {
        one_ticket!(self, "id = $1", id)
    }

    /// The workspace's unresolved tickets, of one customer or all.
    pub async fn open_tickets(
        &self,
        team_id: &str,
        customer_id: Option<i64>,
    ) -> Result<Vec<TicketRecord>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.open_tickets(team_id, customer_id));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE team_id = $1 AND resolved_at IS NULL AND ($2 = 0 OR customer_id = $2)
             ORDER BY number"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(team_id)
                .bind(customer_id.unwrap_or(0))
                .fetch_all(pool)
                .await?;
            rows.iter().map(TicketRecord::from_row).collect()
        })
    }

    /// A customer's tickets opened in [from, to) (Unix ms), for its report.
    pub async fn tickets_opened_between(
        &self,
        customer_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TicketRecord>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE customer_id = $1 AND opened_at >= $2 AND opened_at < $3
             ORDER BY opened_at, number"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql)
                .bind(customer_id)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await?;
            rows.iter().map(TicketRecord::from_row).collect()
        })
    }

    /// The answered next-response rounds of a customer's tickets opened in [from, to)
    /// (Unix ms), for its report.
    pub async fn next_responses_of_tickets_opened_between(
        &self,
        customer_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<AnsweredRound>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT next_responses.ticket_id, next_responses.started_at, next_responses.used_ms
                 FROM next_responses JOIN tickets ON tickets.id = next_responses.ticket_id
                 WHERE tickets.customer_id = $1 AND tickets.opened_at >= $2 AND tickets.opened_at < $3
                 ORDER BY next_responses.ticket_id, next_responses.started_at",
            )
            .bind(customer_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(AnsweredRound {
                        ticket_id: row.try_get("ticket_id")?,
                        started_at: row.try_get("started_at")?,
                        used_ms: row.try_get("used_ms")?,
                    })
                })
                .collect()
        })
    }

    /// Every unresolved ticket, for re-planning after a policy change.
    pub async fn all_open_tickets(&self) -> Result<Vec<TicketRecord>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE resolved_at IS NULL ORDER BY id"
        ));
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(TicketRecord::from_row).collect()
        })
    }

    /// Writes `ticket` if nobody changed it since `ticket.version` was read, re-plans
    /// its timers with `replan`, re-arms its message and records `enqueue`, all in one
    /// transaction. `Ok(false)`: someone else changed it first; read it again.
    /// `add_missing`: targets whose row, if there is none (every level fired), `replan`
    /// may add back (a lowered priority has levels ahead again).
    pub async fn save_ticket(
        &self,
        ticket: &TicketRecord,
        replan: &Replan<'_>,
        add_missing: &[&str],
        enqueue: &[Enqueue],
        audit: Option<&AuditEntry>,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let now_ms = ms(now);
        let saved = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE tickets SET priority = $3, summary = $4, assignee = $5, used_ms = $6,
                     running_since = $7, responded_at = $8, responded_by = $9, response_used_ms = $10,
                     resolved_at = $11, resolved_by = $12, resolution_used_ms = $13, escalations = $14,
                     next_response = $15, version = version + 1
                 WHERE id = $1 AND version = $2",
            )
            .bind(ticket.id)
            .bind(ticket.version)
            .bind(&ticket.priority)
            .bind(&ticket.summary)
            .bind(&ticket.assignee)
            .bind(ticket.used_ms)
            .bind(ticket.running_since)
            .bind(ticket.responded_at)
            .bind(&ticket.responded_by)
            .bind(ticket.response_used_ms)
            .bind(ticket.resolved_at)
            .bind(&ticket.resolved_by)
            .bind(ticket.resolution_used_ms)
            .bind(ticket.escalations)
            .bind(&ticket.next_response)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                false
            } else {
                // The last round answered, kept for reports (once: its start is the key).
                if let Some(answered) =
                    NextResponseRecord::parse(ticket.next_response.as_deref()).last
                {
                    sqlx::query(
                        "INSERT INTO next_responses (ticket_id, customer_id, started_at, customer,
                             answered_at, answered_by, used_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (ticket_id, started_at) DO NOTHING",
                    )
                    .bind(ticket.id)
                    .bind(ticket.customer_id)
                    .bind(answered.since)
                    .bind(&answered.customer)
                    .bind(answered.at)
                    .bind(&answered.by)
                    .bind(answered.used_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                let timers =
                    sqlx::query("SELECT id, target, level FROM timers WHERE ticket_id = $1")
                        .bind(ticket.id)
                        .fetch_all(&mut *tx)
                        .await?;
                let mut planned = Vec::with_capacity(timers.len());
                for row in &timers {
                    let id: i64 = row.try_get("id")?;
                    let target: String = row.try_get("target")?;
                    let level: i64 = row.try_get("level")?;
                    match replan(&target, Some(level)) {
                        None => {
                            sqlx::query("DELETE FROM timers WHERE id = $1")
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        Some((level, due_at)) => {
                            sqlx::query("UPDATE timers SET level = $2, due_at = $3 WHERE id = $1")
                                .bind(id)
                                .bind(level)
                                .bind(due_at)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    planned.push(target);
                }
                for target in add_missing {
                    if planned.iter().any(|t| t == target) {
                        continue;
                    }
                    if let Some((level, due_at)) = replan(target, None) {
                        sqlx::query(
                            "INSERT INTO timers (ticket_id, target, level, due_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(ticket.id)
                        .bind(*target)
                        .bind(level)
                        .bind(due_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                sqlx::query(rearm_statement())
                    .bind(super::tickets::message_key(ticket.id))
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                for item in enqueue {
                    enqueue!(&mut *tx, item, now_ms)?;
                }
                if let Some(entry) = audit {
                    append_audit!(&mut *tx, entry)?;
                }
                if let Some(notify) = self.notify_sql() {
                    sqlx::query(notify).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                true
            }
        });
        if saved {
            self.recache_ticket(ticket.id).await?;
            self.wake();
        }
        Ok(saved)
    }

    /// Records where the ticket's message was posted (`None`: it is gone from Slack and
    /// will be posted again).
    pub async fn set_ticket_message(
        &self,
        ticket_id: i64,
        ts: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE tickets SET ts = $2 WHERE id = $1"
        )
        .bind(ticket_id)
        .bind(ts)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.recache_ticket(ticket_id).await
    }

    /// Claims up to `limit` timers due at `now` and fires each with `fire`, in one
    /// transaction (`claim_due!`: on PostgreSQL, replicas take disjoint rows). Returns
    /// how many fired.
    pub async fn fire_due_timers(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        fire: &(dyn Fn(&DueTimer) -> Firing + Send + Sync),
    ) -> Result<usize, sqlx::Error> {
        let now_ms = ms(now);
        // The ticket row too: a button press saving the ticket either waits for this
        // firing to commit (and then sees its level) or makes it skip the row.
        let lock = self.skip_locked("timers, tickets");
        let select = sqlx::AssertSqlSafe(format!(
            "SELECT timers.id AS timer_id, timers.target, timers.level, timers.due_at,
                 customers.tier AS customer_tier,
                 COALESCE(customers.csm, customers.created_by) AS customer_owner,
                 CASE WHEN tickets.intake_key IS NULL THEN 0 ELSE 1 END AS from_message,
                 {TICKET_COLUMNS}
             FROM timers JOIN tickets ON tickets.id = timers.ticket_id
             JOIN customers ON customers.id = tickets.customer_id
             WHERE timers.due_at <= $1
             ORDER BY timers.due_at, timers.id
             LIMIT $2 {lock}"
        ));
        let fired = on_pool!(&self.db, write, |pool| claim_due!(
            self, pool, select, now_ms, limit,
            |tx| read: |row| DueTimer {
                timer_id: row.try_get("timer_id")?,
                target: row.try_get("target")?,
                level: row.try_get("level")?,
                due_at: row.try_get("due_at")?,
                customer_tier: row.try_get("customer_tier")?,
                customer_owner: row.try_get("customer_owner")?,
                from_message: row.try_get::<i32, _>("from_message")? == 1,
                ticket: TicketRecord::from_row(row)?,
            },
            fire: |timer| {
                let firing = fire(timer);
                for item in &firing.enqueue {
                    enqueue!(&mut *tx, item, now_ms)?;
                }
                match firing.next {
                    None => {
                        sqlx::query("DELETE FROM timers WHERE id = $1")
                            .bind(timer.timer_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Some((level, due_at)) => {
                        sqlx::query("UPDATE timers SET level = $2, due_at = $3 WHERE id = $1")
                            .bind(timer.timer_id)
                            .bind(level)
                            .bind(due_at)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                if !firing.enqueue.is_empty() {
                    sqlx::query(rearm_statement())
                        .bind(message_key(timer.ticket.id))
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                firing.audit
            },
        ));
        if fired > 0 {
            self.wake_outbox();
        }
        Ok(fired)
    }
}

impl Store {
    /// Every escalation path set in Slack: (team, priority, levels).
    pub async fn escalation_paths(
        &self,
    ) -> Result<Vec<(String, String, Vec<String>)>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query("SELECT team_id, priority, levels FROM escalation_paths")
                .fetch_all(pool)
                .await?;
            let mut paths = Vec::with_capacity(rows.len());
            for row in &rows {
                let levels: String = row.try_get("levels")?;
                paths.push((
                    row.try_get("team_id")?,
                    row.try_get("priority")?,
                    serde_json::from_str(&levels).unwrap_or_default(),
                ));
            }
            Ok(paths)
        })
    }

    /// Sets (or, with `None`, removes) a workspace's path for one priority.
    pub async fn set_escalation_path(
        &self,
        team_id: &str,
        priority: &str,
        levels: Option<&[String]>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let now_ms = ms(now);
        match levels {
            Some(levels) => {
                let json = serde_json::to_string(levels).unwrap_or_else(|_| "[]".into());
                on_pool!(&self.db, write, |pool| {
                    sqlx::query(
                    "INSERT INTO escalation_paths (team_id, priority, levels, set_by, set_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (team_id, priority) DO UPDATE
                     SET levels = excluded.levels, set_by = excluded.set_by, set_at = excluded.set_at"
                )
                .bind(team_id)
                .bind(priority)
                .bind(&json)
                .bind(by)
                .bind(now_ms)
                .execute(pool)
                .await
                .map(|_| ())
                })
            }
            None => on_pool!(&self.db, write, |pool| sqlx::query(
                "DELETE FROM escalation_paths WHERE team_id = $1 AND priority = $2"
            )
            .bind(team_id)
            .bind(priority)
            .execute(pool)
            .await
            .map(|_| ())),
        }
    }
}
