//! The monthly report: gathers a customer's readiness and a month's tickets, and hands
//! them to the pure figures (`domain::report`) and renderers (`blocks::report`,
//! [`chart`]). It is posted through the outbox (kind `report`), with its chart (PNG),
//! CSV and JSON attached as files.

use chrono::{DateTime, Utc};

use crate::blocks::chart;
use crate::domain::checklist::{Progress, category_progress, overall_progress};
use crate::domain::csat::{self, CsatSummary};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::report::{self, Month, SlaReport};
use crate::domain::template::Template;
use crate::store::outbox::{Enqueue, Post, ReportBody};
use crate::usecase::UseCases;
use crate::usecase::tickets::{Tickets, ticket_of};

/// Why a report was not queued.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the customer has no channel yet")]
    NoChannel,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A report queued for posting: the month (the current one in the customer's zone
/// if none was asked) and the channel it goes to.
#[derive(Debug, Clone)]
pub struct ReportQueued {
    pub month: Month,
    pub channel: String,
}

impl UseCases {
    /// `/readiness report`: queues the month's report for the customer's channel
    /// through the outbox; its figures are gathered when it is sent.
    pub async fn queue_report(
        &self,
        customer: &Customer,
        month: Option<Month>,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> Result<ReportQueued, ReportError> {
        let Some(channel) = customer.channel_id.clone() else {
            return Err(ReportError::NoChannel);
        };
        let tz = self.tickets.policy.tier(customer.tier).timezone;
        let month = month.unwrap_or_else(|| Month::containing(now, tz));
        let item = Enqueue {
            key: format!("report:{}:{}:{now}", customer.id, month.label()),
            team_id: customer.team_id.clone(),
            channel_id: channel.clone(),
            ticket_id: None,
            post: Post::Report(ReportBody {
                customer_id: customer.id,
                month: month.label(),
                requested_by: requested_by.to_string(),
                uploaded: Vec::new(),
            }),
        };
        self.store.enqueue(&item, now).await?;
        Ok(ReportQueued { month, channel })
    }
}

/// A month's figures for one customer.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub month: Month,
    pub overall: Progress,
    pub categories: Vec<(String, Progress)>,
    pub sla: SlaReport,
    /// The customer's answers to the month's tickets, per priority (P0 … P3).
    pub csat: [CsatSummary; 4],
    pub csv: String,
    pub json: String,
    /// The weekly attainment chart, a PNG (`None` if it could not be drawn: the report
    /// goes out without it, and the log says why).
    pub chart: Option<Vec<u8>>,
}

/// Gathers the figures of `month` (in the customer's tier zone) as they stand at `now`,
/// its checklist counted from the customer's tier's view of `template`.
pub async fn gather(
    support: &Tickets,
    template: &Template,
    customer: &Customer,
    month: Month,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<ReportData, sqlx::Error> {
    let tz = support.policy.tier(customer.tier).timezone;
    let cal = support.calendar(customer.tier);
    let (from, to) = month.bounds(tz);
    let records = support
        .store
        .tickets_opened_between(customer.id, from.timestamp_millis(), to.timestamp_millis())
        .await?;
    let tickets: Vec<_> = records.iter().map(ticket_of).collect();
    let states = support.store.item_states_committed(customer.id).await?;
    let template = template.for_tier(customer.tier);
    let overall = overall_progress(template, &states);
    let categories: Vec<(String, Progress)> = template
        .categories
        .iter()
        .map(|c| (c.label(lang).to_string(), category_progress(c, &states)))
        .collect();
    let answered: Vec<report::AnsweredNext> = support
        .store
        .next_responses_of_tickets_opened_between(
            customer.id,
            from.timestamp_millis(),
            to.timestamp_millis(),
        )
        .await?
        .into_iter()
        .map(|round| report::AnsweredNext {
            ticket_id: round.ticket_id,
            used: chrono::Duration::milliseconds(round.used_ms),
        })
        .collect();
    let mut sla = report::sla_report(&tickets, &support.policy, cal, from, to, now);
    sla.next_responses =
        report::next_response_counts(&tickets, &answered, &support.policy, cal, from, to, now);
    let ratings: std::collections::HashMap<i64, csat::Rating> = support
        .store
        .csat_of_tickets_opened_between(customer.id, from.timestamp_millis(), to.timestamp_millis())
        .await?
        .into_iter()
        .collect();
    let csat = csat::per_priority(
        tickets
            .iter()
            .filter_map(|t| Some((t.priority, *ratings.get(&t.id)?))),
    );
    let csv = report::tickets_csv(
        &tickets,
        report::Answers {
            next_responses: &answered,
            csat: Some(&ratings),
        },
        &support.policy,
        cal,
        from,
        to,
        now,
    );
    let mut json = report_json(customer, month, overall, &categories, &sla, support, now);
    add_csat_json(&mut json, &csat);
    let chart = match chart::weekly_attainment_png(&sla.weeks, &month.label(), lang) {
        Ok(png) => Some(png),
        Err(e) => {
            tracing::warn!(error = %e, "the report goes out without its chart");
            None
        }
    };
    Ok(ReportData {
        chart,
        month,
        overall,
        categories,
        sla,
        csat,
        csv,
        json,
    })
}

/// The report's JSON with its `csat` part: per priority, the answers, the good ones
/// and the share good in percent (`null` without an answer).
fn add_csat_json(json: &mut String, rows: &[CsatSummary; 4]) {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(json) else {
        return;
    };
    value["csat"] = crate::domain::sla::Priority::ALL
        .iter()
        .zip(rows)
        .map(|(priority, row)| {
            serde_json::json!({
                "priority": priority.as_str(),
                "answered": row.answered,
                "good": row.good,
                "percent_good": row.percent_good(),
            })
        })
        .collect();
    if let Ok(text) = serde_json::to_string_pretty(&value) {
        *json = text;
    }
}

/// The report as JSON, for tools.
fn report_json(
    customer: &Customer,
    month: Month,
    overall: Progress,
    categories: &[(String, Progress)],
    sla: &SlaReport,
    support: &Tickets,
    now: DateTime<Utc>,
) -> String {
    let minutes = |d: Option<chrono::Duration>| d.map(|d| d.num_seconds() as f64 / 60.0);
    let attainment = |a: &report::Attainment| {
        serde_json::json!({
            "measured": a.measured,
            "met": a.met,
            "median_business_minutes": minutes(a.median),
            "p90_business_minutes": minutes(a.p90),
        })
    };
    let value = serde_json::json!({
        "customer": { "slug": customer.slug, "name": customer.name, "tier": customer.tier.as_str() },
        "month": month.label(),
        "generated_at": now.to_rfc3339(),
        "availability_target": support.policy.tier(customer.tier).availability,
        "readiness": {
            "done": overall.done,
            "applicable": overall.applicable,
            "categories": categories.iter().map(|(label, p)| serde_json::json!({
                "label": label, "done": p.done, "applicable": p.applicable,
            })).collect::<Vec<_>>(),
        },
        "sla": sla.rows.iter().map(|row| serde_json::json!({
            "priority": row.priority.as_str(),
            "opened": row.opened,
            "first_response": attainment(&row.first_response),
            "resolution": attainment(&row.resolution),
            "next_response": {
                "measured": sla.next_responses[row.priority.index()].measured(),
                "met": sla.next_responses[row.priority.index()].met,
                "breached": sla.next_responses[row.priority.index()].breached,
            },
        })).collect::<Vec<_>>(),
        "breaches": sla.breaches.iter().map(|b| serde_json::json!({
            "ticket": format!("T-{}", b.number),
            "priority": b.priority.as_str(),
            "target": b.target.as_str(),
            "over_business_minutes": b.over.num_seconds() as f64 / 60.0,
        })).collect::<Vec<_>>(),
        "weeks": sla.weeks.iter().map(|w| serde_json::json!({
            "week_start": w.week_start.to_string(), "measured": w.measured, "met": w.met,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
