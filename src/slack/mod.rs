//! The Slack edge: what Slack sends the app, and the App Home it shows. Each handler
//! parses the request, checks the person may do it, calls one use case
//! (`crate::usecase`) with the current time, renders the outcome and answers; the HTTP
//! layer only verifies, parses and replies.

pub mod commands;
mod customers;
pub mod events;
mod evidence;
mod export;
pub mod home;
pub mod interactions;
pub mod limits;
mod planning;
mod records;
mod reminding;
pub mod rendered;
pub mod roles;

use std::sync::Arc;

use slack_morphism::prelude::SlackView;
use tracing::{error, warn};

use crate::blocks::Message;
use crate::delivery::slack_api::SlackApi;
use crate::domain::i18n::Lang;

use crate::usecase::UseCases;

use home::Home;

/// What every handler needs.
#[derive(Clone)]
pub struct Context {
    /// What the app does; every handler calls one of these.
    pub usecases: UseCases,
    pub api: SlackApi,
    /// Language of messages posted in channels (the workspace's `language` setting).
    pub channel_lang: Lang,
    /// Each viewer's App Home.
    pub home: Home,
    /// `show`'s category answers, kept serialized while their inputs stay the same.
    pub rendered: Arc<rendered::RenderedCategories>,
    /// Commands a minute, per person and per workspace.
    pub limits: Arc<limits::CommandLimits>,
    /// The role of someone given none, who is not a Slack admin.
    pub default_role: crate::domain::roles::Role,
    /// Many workspaces: where an admin installs the app (`…/slack/install`).
    pub install_link: Option<String>,
}

/// Whether a request from `team` is served (see [`SlackApi::admits`]); a failure to
/// tell is logged and refused, so nothing is done for a workspace that may be gone.
pub async fn admitted(ctx: &Context, team: &str, enterprise: Option<&str>) -> bool {
    match ctx.api.admits(team, enterprise).await {
        Ok(admitted) => admitted,
        Err(e) => {
            warn!(error = %e, "cannot tell whether the workspace has the app installed");
            false
        }
    }
}

/// The answer to someone in a workspace without the app installed.
pub fn not_installed(ctx: &Context, lang: Lang) -> Message {
    let link = ctx.install_link.as_deref().unwrap_or("/slack/install");
    Message::plain(match lang {
        Lang::En => format!(
            ":no_entry: Readiness is not installed in this workspace, so nothing was done. A workspace admin can install it at {link}."
        ),
        Lang::Ja => format!(
            ":no_entry: このワークスペースには Readiness がインストールされていないため、何も行いませんでした。ワークスペース管理者が {link} からインストールできます。"
        ),
    })
}

/// Opens a modal now, off the request's path: its trigger expires 3 seconds after the
/// click, so it cannot wait in the delivery queue.
pub fn open_modal(
    ctx: &Context,
    team: &str,
    trigger_id: String,
    view: SlackView,
    what: &'static str,
) {
    let api = ctx.api.clone();
    let team = team.to_string();
    ctx.usecases.delivery.detach(async move {
        let opened = async {
            api.workspace(&team)
                .await?
                .open_view(&trigger_id, view)
                .await
        }
        .await;
        if let Err(e) = opened {
            warn!(error = %e, modal = what, "cannot open a modal");
        }
    });
}

/// The customer's today, in its tier's time zone: where a `due=` or a modal's due
/// date is read, and said to be past.
pub(crate) fn customer_today(
    ctx: &Context,
    customer: &crate::domain::customer::Customer,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::NaiveDate {
    let tz = ctx.usecases.tickets.policy.tier(customer.tier).timezone;
    now.with_timezone(&tz).date_naive()
}

/// A failure of ours (not the user's): logged in full with an id, shown as an apology
/// that quotes the id.
pub fn internal_error(error: &dyn std::fmt::Display, lang: Lang) -> Message {
    let id = format!("{:08x}", rand_id());
    // `{:#}`: an anyhow error with its whole chain of causes, not only the outermost.
    error!(error_id = %id, error = %format_args!("{error:#}"), "request failed");
    Message::plain(match lang {
        Lang::En => {
            format!(":warning: Something went wrong on our side (error {id}). Please try again.")
        }
        Lang::Ja => format!(
            ":warning: こちら側で問題が発生しました（エラー {id}）。もう一度お試しください。"
        ),
    })
}

/// An id to match an apology with its log line; unique enough, not secret.
fn rand_id() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish() as u32
}

/// The queue was full: the change is stored, but the Slack-side work could not start.
pub fn busy(lang: Lang) -> Message {
    Message::plain(lang.pick(
        ":hourglass: Saved, but I am very busy: the channel update may take a while.",
        ":hourglass: 保存しましたが混み合っています。チャンネルへの反映に時間がかかる場合があります。",
    ))
}
