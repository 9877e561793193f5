//! The OAuth v2 install flow, for many workspaces: `GET /slack/install` sends the
//! installer to Slack with a signed, expiring `state`; Slack sends them back to
//! `GET /slack/oauth/callback` with a code, which is traded for the workspace's bot
//! token. The token is sealed (`crypto`) before it is stored.
//!
//! The `state` is `<expires ms>.<nonce>.<HMAC>`, keyed by the client secret; the nonce
//! is also set in a cookie on the installer's browser, and the callback needs both.
//! So a callback forged elsewhere, replayed after ten minutes, or carried to another
//! browser installs nothing. A state is good for one callback: the store records it
//! as spent, but only once the cookie matched, so a stranger replaying the link
//! cannot burn it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tracing::{info, warn};

use super::HttpState;
use crate::config::Secret;
use crate::crypto::EncryptionKey;
use crate::delivery::slack_api::ApiError;
use crate::store::installations::Installation;

/// The bot scopes asked for; the same list as `manifest.yml` (a test compares them).
pub const BOT_SCOPES: [&str; 19] = [
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:manage",
    "channels:read",
    "channels:history",
    "groups:write",
    "groups:read",
    "groups:history",
    "im:write",
    "im:history",
    "users:read",
    "usergroups:read",
    "pins:write",
    "files:write",
    // Evidence (issue 17): Slack's `file_input`, the item modal's file field, needs it.
    "files:read",
    // Intake (issue 16): the intake emoji read and added, and messages that mention
    // the app.
    "reactions:read",
    "reactions:write",
    "app_mentions:read",
];

/// How long an install may take between `/slack/install` and the callback.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
const COOKIE: &str = "readiness_oauth";

/// What the install flow needs.
#[derive(Clone)]
pub struct Installer {
    pub client_id: String,
    pub client_secret: Secret,
    /// `<READINESS_PUBLIC_URL>/slack/oauth/callback`.
    pub redirect_uri: String,
    /// The callback's path, which the cookie is limited to (behind any prefix).
    cookie_path: String,
    /// Slack's authorize page, beside its Web API (`SLACK_API_URL` without `/api`).
    pub authorize_url: String,
    pub key: EncryptionKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadState {
    Malformed,
    Forged,
    Expired,
    /// Not the browser that started the install.
    OtherBrowser,
}

impl Installer {
    pub fn new(
        client_id: &str,
        client_secret: &Secret,
        public_url: &str,
        slack_api_url: &str,
        key: EncryptionKey,
    ) -> Self {
        let slack = slack_api_url
            .strip_suffix("/api")
            .unwrap_or(slack_api_url)
            .to_string();
        let redirect_uri = format!("{public_url}/slack/oauth/callback");
        let cookie_path = url::Url::parse(&redirect_uri)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| "/slack/oauth/callback".into());
        Self {
            client_id: client_id.to_string(),
            client_secret: client_secret.clone(),
            redirect_uri,
            cookie_path,
            authorize_url: format!("{slack}/oauth/v2/authorize"),
            key,
        }
    }

    fn mac(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.client_secret.expose().as_bytes())
            .expect("any key length");
        mac.update(b"readiness oauth state\0");
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A state for an install started at `now` with the browser's `nonce`.
    pub fn issue_state(&self, nonce: &str, now: DateTime<Utc>) -> String {
        let signed = format!("{}.{nonce}", now.timestamp_millis() + STATE_TTL_MS);
        let mac = self.mac(&signed);
        format!("{signed}.{mac}")
    }

    /// Checks a state came from [`Self::issue_state`], in time, for this browser;
    /// returns when it expires. Whether it was used already is the store's to say.
    pub fn check_state(
        &self,
        state: &str,
        cookie_nonce: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64, BadState> {
        let mut parts = state.split('.');
        let (Some(expires), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadState::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| BadState::Malformed)?;
        let expected = self.mac(&format!("{expires}.{nonce}"));
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return Err(BadState::Forged);
        }
        if now.timestamp_millis() > expires {
            return Err(BadState::Expired);
        }
        match cookie_nonce {
            Some(cookie) if bool::from(cookie.as_bytes().ct_eq(nonce.as_bytes())) => Ok(expires),
            _ => Err(BadState::OtherBrowser),
        }
    }

    /// Where `/slack/install` sends the installer.
    pub fn authorize_link(&self, state: &str) -> String {
        let mut url = url::Url::parse(&self.authorize_url).expect("checked at start");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", &BOT_SCOPES.join(","))
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", state);
        url.to_string()
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Readiness: {}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto\"><h1>{}</h1><p>{}</p></body></html>",
        esc(title),
        esc(title),
        esc(text)
    );
    let mut response = (status, Html(html)).into_response();
    // The flow's pages are never worth caching or framing.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// What `/slack/install` says with installs off: that they are off, and every setting
/// that turns them on (the server refuses to start with only some of them).
pub const INSTALLS_OFF: &str = "Installs are off on this server: it serves one workspace, \
     with SLACK_BOT_TOKEN. To let workspaces install the app here, set SLACK_CLIENT_ID and \
     SLACK_CLIENT_SECRET (the app's Basic Information page), READINESS_PUBLIC_URL (this \
     server's public address) and READINESS_ENCRYPTION_KEY or READINESS_ENCRYPTION_KEY_FILE \
     (seals the workspaces' tokens), then restart it. See docs/slack-setup.md, \
     \"Many workspaces\".";

fn not_enabled() -> Response {
    page(StatusCode::NOT_FOUND, "Installs are off", INSTALLS_OFF)
}

/// `GET /slack/install`: to Slack's authorize page, with a fresh state and cookie.
pub async fn install(State(state): State<Arc<HttpState>>) -> Response {
    let Some(installer) = &state.installer else {
        return not_enabled();
    };
    let mut nonce = [0u8; 16];
    if getrandom::fill(&mut nonce).is_err() {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The server has no random source just now.",
        );
    }
    let nonce = hex::encode(nonce);
    let signed = installer.issue_state(&nonce, state.ctx.usecases.tickets.time.now());
    let secure = if installer.redirect_uri.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={nonce}; Path={}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        installer.cookie_path,
        STATE_TTL_MS / 1000
    );
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(&installer.authorize_link(&signed)),
        HeaderValue::from_str(&cookie),
    ) {
        headers.insert(header::LOCATION, location);
        headers.insert(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn cookie_nonce(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// `GET /slack/oauth/callback`: checks the state, trades the code for the token, seals
/// and stores it.
pub async fn callback(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(installer) = &state.installer else {
        return not_enabled();
    };
    let now = state.ctx.usecases.tickets.time.now();
    let nonce = cookie_nonce(&headers);
    let checked = installer.check_state(
        query.get("state").map_or("", String::as_str),
        nonce.as_deref(),
        now,
    );
    let refused = || {
        page(
            StatusCode::BAD_REQUEST,
            "This install link is not valid",
            "It has expired, was used already, or was started in another browser. Nothing was installed. Start again from /slack/install.",
        )
    };
    let expires = match checked {
        Ok(expires) => expires,
        Err(why) => {
            info!(?why, "an install callback was refused: its state");
            return refused();
        }
    };
    // Single use, and spent only here, after the browser's cookie matched: a stranger
    // replaying the link cannot burn it for the installer.
    match state
        .ctx
        .usecases
        .store
        .spend_oauth_state(
            nonce.as_deref().unwrap_or_default(),
            expires,
            now,
            STATE_TTL_MS,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            info!("an install callback was refused: its state was used already");
            return refused();
        }
        Err(e) => {
            warn!(error = %e, "cannot record an install state as used");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "Nothing was installed. Please start again from /slack/install in a minute.",
            );
        }
    }
    if let Some(error) = query.get("error") {
        info!(error = %error, "an install was cancelled in Slack");
        return page(
            StatusCode::OK,
            "Nothing was installed",
            "The install was cancelled in Slack. You can start again from /slack/install.",
        );
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "This install link is not valid",
            "Slack's answer carried no code. Nothing was installed. Start again from /slack/install.",
        );
    };
    let granted = match state
        .ctx
        .api
        .exchange_code(
            &installer.client_id,
            &installer.client_secret,
            code,
            &installer.redirect_uri,
        )
        .await
    {
        Ok(granted) => granted,
        // Slack refused the code (spent, made up, another redirect): the request's fault.
        Err(ApiError::Slack(code)) => {
            info!(code = %code, "oauth.v2.access refused the code");
            return page(
                StatusCode::BAD_REQUEST,
                "Slack did not confirm the install",
                "Nothing was installed. Start again from /slack/install.",
            );
        }
        Err(e) => {
            warn!(error = %e, "oauth.v2.access failed");
            return page(
                StatusCode::BAD_GATEWAY,
                "Slack could not be reached",
                "Nothing was installed. Start again from /slack/install in a minute.",
            );
        }
    };
    let org = granted.is_enterprise_install;
    let workspace = match (&granted.team, &granted.enterprise) {
        (_, Some(enterprise)) if org => enterprise.id.clone(),
        (Some(team), _) => team.id.clone(),
        _ => {
            warn!("oauth.v2.access granted no team and no enterprise");
            return page(
                StatusCode::BAD_GATEWAY,
                "Slack did not confirm the install",
                "Nothing was installed. Start again from /slack/install.",
            );
        }
    };
    if granted.token_type != "bot" || granted.access_token.is_empty() {
        warn!(token_type = %granted.token_type, "oauth.v2.access granted no bot token");
        return page(
            StatusCode::BAD_GATEWAY,
            "Slack did not grant a bot token",
            "Nothing was installed. Check the app's bot scopes, then start again from /slack/install.",
        );
    }
    let name = granted
        .team
        .as_ref()
        .or(granted.enterprise.as_ref())
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let install = Installation {
        workspace: workspace.clone(),
        team_id: if org {
            None
        } else {
            granted.team.as_ref().map(|t| t.id.clone())
        },
        enterprise_id: granted.enterprise.as_ref().map(|e| e.id.clone()),
        org_install: org,
        team_name: name.clone(),
        app_id: granted.app_id.clone(),
        bot_user_id: granted.bot_user_id.clone(),
        scope: granted.scope.clone(),
        bot_token: Some(
            installer
                .key
                .seal(granted.access_token.expose(), &workspace),
        ),
        installed_by: granted
            .authed_user
            .as_ref()
            .map(|u| u.id.clone())
            .unwrap_or_default(),
        installed_at: now.timestamp_millis(),
        uninstalled_at: None,
    };
    if let Err(e) = state.ctx.usecases.store.save_installation(&install).await {
        warn!(error = %e, "cannot store an installation");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The install could not be saved",
            "Nothing was installed. Please start again from /slack/install in a minute.",
        );
    }
    state.ctx.api.forget_tokens();
    info!(workspace = %workspace, org_install = org, "installed");
    let mut response = page(
        StatusCode::OK,
        "Readiness is installed",
        &format!(
            "Readiness is installed in {}. Open Slack and type /readiness in any channel to start.",
            if name.is_empty() { &workspace } else { &name }
        ),
    );
    // The state is spent: the cookie goes.
    if let Ok(expired) = HeaderValue::from_str(&format!(
        "{COOKIE}=; Path={}; Max-Age=0",
        installer.cookie_path
    )) {
        response.headers_mut().insert(header::SET_COOKIE, expired);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installer() -> Installer {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode([5u8; 32]);
        Installer::new(
            "123.456",
            &Secret::new("client-secret"),
            "https://readiness.example.com",
            "https://slack.com/api",
            EncryptionKey::from_base64(&key).unwrap(),
        )
    }

    #[test]
    fn a_state_is_good_for_its_browser_until_it_expires() {
        let i = installer();
        let now = crate::time_source::at_ms(1_700_000_000_000);
        let later = |ms| now + chrono::TimeDelta::milliseconds(ms);
        let state = i.issue_state("abc", now);
        assert_eq!(
            i.check_state(&state, Some("abc"), later(1000)),
            Ok(now.timestamp_millis() + STATE_TTL_MS)
        );
        assert_eq!(
            i.check_state(&state, Some("abc"), later(STATE_TTL_MS + 1)),
            Err(BadState::Expired)
        );
        assert_eq!(
            i.check_state(&state, Some("xyz"), now),
            Err(BadState::OtherBrowser)
        );
        assert_eq!(
            i.check_state(&state, None, now),
            Err(BadState::OtherBrowser)
        );
    }

    #[test]
    fn a_state_changed_or_made_up_is_refused() {
        let i = installer();
        let now = crate::time_source::at_ms(1_700_000_000_000);
        let state = i.issue_state("abc", now);
        // A later expiry, with the old signature.
        let (_, rest) = state.split_once('.').unwrap();
        let stretched = format!("{}.{rest}", now.timestamp_millis() + 100 * STATE_TTL_MS);
        assert_eq!(
            i.check_state(&stretched, Some("abc"), now),
            Err(BadState::Forged)
        );
        assert_eq!(
            i.check_state("", Some("abc"), now),
            Err(BadState::Malformed)
        );
        assert_eq!(
            i.check_state("1.2.3.4", Some("abc"), now),
            Err(BadState::Malformed)
        );
        let other = Installer {
            client_secret: Secret::new("another"),
            ..installer()
        };
        assert_eq!(
            other.check_state(&state, Some("abc"), now),
            Err(BadState::Forged)
        );
    }

    #[test]
    fn the_authorize_link_goes_to_slack_with_the_scopes_and_the_callback() {
        let i = installer();
        let link = url::Url::parse(&i.authorize_link("s.t.u")).unwrap();
        assert_eq!(link.host_str(), Some("slack.com"));
        assert_eq!(link.path(), "/oauth/v2/authorize");
        let q: HashMap<String, String> = link.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "123.456");
        assert_eq!(q["scope"], BOT_SCOPES.join(","));
        assert_eq!(
            q["redirect_uri"],
            "https://readiness.example.com/slack/oauth/callback"
        );
        assert_eq!(q["state"], "s.t.u");
    }

    #[test]
    fn the_nonce_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; readiness_oauth=n0nce; b=2"),
        );
        assert_eq!(cookie_nonce(&headers).as_deref(), Some("n0nce"));
        assert_eq!(cookie_nonce(&HeaderMap::new()), None);
    }
}
