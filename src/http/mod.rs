//! The HTTP edge: Slack's three routes behind the body cap and the signature check,
//! and the health, readiness and metrics routes.

mod form;
pub mod oauth;
pub mod signature;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    error_handling::HandleErrorLayer,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use tower::limit::GlobalConcurrencyLimitLayer;
use tracing::{debug, warn};

use crate::metrics::{self, Metrics};
use crate::slack::{
    self, Context,
    commands::{Answer, SlashCommand},
    events::{Envelope, EventReply},
    interactions::{Interaction, Reply},
};
use signature::{Unverified, Verifier};

/// Largest request body accepted: a tick on a long Japanese checklist is tens of KB
/// once URL-encoded, so 1 MiB leaves room and still stops abuse.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Defined with the settings that fill it in.
pub use crate::config::HttpLimits;

#[derive(Clone)]
pub struct HttpState {
    pub ctx: Context,
    pub verifier: Verifier,
    pub metrics: Metrics,
    /// The OAuth install flow, with many workspaces.
    pub installer: Option<oauth::Installer>,
    pub limits: HttpLimits,
}

pub fn router(state: HttpState) -> Router {
    // One semaphore for every capped route (a per-route limit would multiply the cap);
    // past it a request is shed with 503 rather than left waiting.
    let cap = tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, "busy: try again");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(state.limits.max_requests));
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .route("/slack/events", post(events))
        .route("/slack/install", get(oauth::install))
        .route("/slack/oauth/callback", get(oauth::callback))
        .route("/", get(about))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(cap)
        // Added after the cap, so outside it: liveness answers whatever the load.
        .route("/healthz", get(|| async { "ok" }))
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        // Shared, not copied: axum hands each request its own clone of the state.
        .with_state(Arc::new(state))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// Reads the body within the cap and checks its signature: nothing else happens to a
/// request that fails either.
async fn verified_body(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    // The whole body within the timeout, however slowly it trickles: a client that
    // stalls mid-body gets 408 and its connection is closed.
    let bytes = match tokio::time::timeout(
        state.limits.body_timeout,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return Err(too_large()),
        Err(_) => {
            debug!("request refused: its body did not arrive in time");
            let mut response = plain(StatusCode::REQUEST_TIMEOUT, "request body too slow");
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Err(response);
        }
    };
    match state.verifier.verify(headers, &bytes) {
        Ok(()) => Ok(bytes),
        Err(reason) => {
            debug!(?reason, "request refused: signature");
            Err(plain(
                StatusCode::UNAUTHORIZED,
                match reason {
                    Unverified::NoSecret => "SLACK_SIGNING_SECRET is not set on this server",
                    Unverified::MissingHeaders => {
                        "missing X-Slack-Signature or X-Slack-Request-Timestamp"
                    }
                    Unverified::Stale => "Slack request timestamp outside the 5-minute window",
                    Unverified::BadSignature => "invalid Slack signature",
                },
            ))
        }
    }
}

fn too_large() -> Response {
    plain(StatusCode::PAYLOAD_TOO_LARGE, "request body over 1 MiB")
}

fn malformed(what: &'static str) -> Response {
    let mut response = plain(StatusCode::BAD_REQUEST, what);
    // A malformed delivery will not become well-formed on retry.
    response
        .headers_mut()
        .insert("x-slack-no-retry", HeaderValue::from_static("1"));
    response
}

async fn commands(State(state): State<Arc<HttpState>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match verified_body(&state, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let command: SlashCommand = match serde_urlencoded::from_bytes(&bytes) {
        Ok(command) => command,
        // Only an `ssl_check` comes without a team, user and channel.
        Err(_) => {
            let ssl_check = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .is_ok_and(|f| f.iter().any(|(k, v)| k == "ssl_check" && v == "1"));
            return if ssl_check {
                StatusCode::OK.into_response()
            } else {
                malformed("slash command without team_id, user_id or channel_id")
            };
        }
    };
    match slack::commands::handle(&state.ctx, &command, state.ctx.usecases.tickets.time.now()).await
    {
        Answer::Ephemeral(message) => Json(message.ephemeral()).into_response(),
        Answer::EphemeralJson(body) => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Answer::Nothing => StatusCode::OK.into_response(),
    }
}

async fn interactions(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match verified_body(&state, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let Some(payload) = form::payload(&bytes) else {
        return malformed("interaction body without a payload field");
    };
    let interaction = match Interaction::parse(&payload) {
        Ok(interaction) => interaction,
        Err(e) => {
            warn!(error = %e, "malformed interaction payload");
            return malformed("malformed interaction payload");
        }
    };
    match slack::interactions::handle(
        &state.ctx,
        interaction,
        state.ctx.usecases.tickets.time.now(),
    )
    .await
    {
        Reply::Ack => StatusCode::OK.into_response(),
        Reply::Json(value) => Json(value).into_response(),
    }
}

async fn events(State(state): State<Arc<HttpState>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match verified_body(&state, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let envelope: Envelope = match serde_json::from_slice(&bytes) {
        Ok(envelope) => envelope,
        Err(_) => return malformed("malformed event body"),
    };
    match slack::events::handle(&state.ctx, envelope, state.ctx.usecases.tickets.time.now()).await {
        Ok(EventReply::Challenge(challenge)) => {
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Ok(EventReply::Ack) => StatusCode::OK.into_response(),
        Err(e) => {
            warn!(error = %e, "cannot record an event");
            // Slack retries a 5xx, which is what we want when the database hiccups.
            plain(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the requests in
/// progress finish. Like `axum::serve`, on hyper's HTTP/1 server, but with a timer, so
/// a connection that stalls before its headers are in is closed after
/// `header_timeout` (axum's sets none, so such a connection stays open for ever), and
/// without keep-alive (see below).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // One request a connection. hyper's header timer also runs while a kept-alive
        // connection waits for its next request, so it would close idle connections
        // after a few seconds, racing a client (Slack, a proxy) that reuses one just
        // then: the request would be lost. `Connection: close` tells clients not to.
        .keep_alive(false);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close
                    // rather than spin.
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "a connection ended in error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// `GET /`: what this server is, for whoever opens its address in a browser, and the
/// install link when installs (OAuth) are on.
async fn about(State(state): State<Arc<HttpState>>) -> Response {
    let install = match &state.ctx.install_link {
        Some(link) => {
            let link = html_escape(link);
            format!(
                "<p><a href=\"{link}\">Add Readiness to a Slack workspace</a> · \
                 <a href=\"{link}\">Slack ワークスペースに追加</a></p>"
            )
        }
        None => "<p>Installs are off here: this server serves one workspace. \
                 ここではインストールできません（1 つのワークスペース専用のサーバーです）。</p>"
            .to_string(),
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Readiness</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto\">\
         <h1>Readiness</h1>\
         <p>A Slack app for enterprise customer onboarding: readiness checklists, support \
         tickets with SLA timers, reminders and reports, used with <code>/readiness</code> in \
         Slack. This server answers Slack's requests; there is nothing else to use here.</p>\
         <p>エンタープライズ顧客のオンボーディングを支える Slack アプリです。Slack で \
         <code>/readiness</code> を使います。</p>\
         {install}\
         <p>Health: <a href=\"healthz\">/healthz</a> · readiness: <a href=\"readyz\">/readyz</a></p>\
         </body></html>"
    );
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn readyz(State(state): State<Arc<HttpState>>) -> Response {
    match state.ctx.usecases.store.ping().await {
        Ok(()) => plain(StatusCode::OK, "ready"),
        Err(e) => {
            warn!(error = %e, "database does not answer");
            plain(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn metrics_text(State(state): State<Arc<HttpState>>) -> Response {
    match state.ctx.usecases.store.outbox_counts().await {
        Ok(counts) => {
            state.metrics.outbox_pending.set(counts.pending);
            state.metrics.outbox_failed.set(counts.failed);
        }
        Err(e) => warn!(error = %e, "cannot count the outbox for /metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
