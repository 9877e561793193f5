//! Prometheus metrics: requests by route and outcome, a latency histogram, and what
//! the scheduler and the outbox did.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Escalation thresholds fired by the scheduler.
    pub timers_fired: IntCounter,
    /// Reminders fired by the scheduler.
    pub reminders_fired: IntCounter,
    /// How late a due row fired (seconds after its due time).
    pub timer_lateness: Histogram,
    /// Outbox rows delivered, by kind.
    pub outbox_sent: IntCounterVec,
    /// Outbox rows given up on, by reason: never dropped in silence.
    pub outbox_parked: IntCounterVec,
    /// 429 answers from Slack that the outbox waited out.
    pub outbox_rate_limited: IntCounter,
    /// Times Slack began refusing a workspace's token (`invalid_auth`, `token_revoked`,
    /// `account_inactive`), counted once until a post goes out for it again.
    pub slack_token_refused: IntCounterVec,
    /// Rows pending and parked, refreshed at each scrape.
    pub outbox_pending: IntGauge,
    pub outbox_failed: IntGauge,
    /// When the last scheduled backup was written (Unix seconds; 0: none yet).
    pub backup_last_success: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "readiness_http_requests_total",
                "HTTP requests by route and outcome",
            ),
            &["route", "outcome"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "readiness_http_request_duration_seconds",
                "Time from request to response, by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("valid metric");
        let timers_fired = IntCounter::new(
            "readiness_timers_fired_total",
            "Escalation thresholds fired by the scheduler",
        )
        .expect("valid metric");
        let reminders_fired = IntCounter::new(
            "readiness_reminders_fired_total",
            "Reminders fired by the scheduler",
        )
        .expect("valid metric");
        let timer_lateness = Histogram::with_opts(
            HistogramOpts::new(
                "readiness_timer_lateness_seconds",
                "How long after its due time a row's firing was committed",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0,
            ]),
        )
        .expect("valid metric");
        let outbox_sent = IntCounterVec::new(
            Opts::new(
                "readiness_outbox_sent_total",
                "Outbox rows delivered to Slack",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let outbox_parked = IntCounterVec::new(
            Opts::new(
                "readiness_outbox_parked_total",
                "Outbox rows given up on, by Slack's reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let outbox_rate_limited = IntCounter::new(
            "readiness_outbox_rate_limited_total",
            "429 answers the outbox waited out",
        )
        .expect("valid metric");
        let slack_token_refused = IntCounterVec::new(
            Opts::new(
                "readiness_slack_token_refused_total",
                "Times Slack began refusing a workspace's token, by Slack's code",
            ),
            &["code"],
        )
        .expect("valid metric");
        let outbox_pending =
            IntGauge::new("readiness_outbox_pending", "Outbox rows waiting to be sent")
                .expect("valid metric");
        let outbox_failed = IntGauge::new(
            "readiness_outbox_failed",
            "Outbox rows parked as failed (see the logs for why)",
        )
        .expect("valid metric");
        let backup_last_success = IntGauge::new(
            "readiness_backup_last_success_timestamp_seconds",
            "When the last scheduled backup was written (0: none since start)",
        )
        .expect("valid metric");
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(timers_fired.clone()),
            Box::new(reminders_fired.clone()),
            Box::new(timer_lateness.clone()),
            Box::new(outbox_sent.clone()),
            Box::new(outbox_parked.clone()),
            Box::new(outbox_rate_limited.clone()),
            Box::new(slack_token_refused.clone()),
            Box::new(outbox_pending.clone()),
            Box::new(outbox_failed.clone()),
            Box::new(backup_last_success.clone()),
        ] {
            registry.register(metric).expect("registered once");
        }
        Self {
            registry,
            requests,
            latency,
            timers_fired,
            reminders_fired,
            timer_lateness,
            outbox_sent,
            outbox_parked,
            outbox_rate_limited,
            slack_token_refused,
            outbox_pending,
            outbox_failed,
            backup_last_success,
        }
    }

    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "ok",
        401 => "unauthorized",
        413 => "too_large",
        400..=499 => "bad_request",
        _ => "error",
    }
}

/// Middleware: counts and times every request under its route pattern.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    // MatchedPath is a shared string: cloning it allocates nothing.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let start = Instant::now();
    let response = next.run(request).await;
    metrics
        .latency
        .with_label_values(&[route])
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[route, outcome(response.status().as_u16())])
        .inc();
    response
}
