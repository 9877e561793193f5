//! Clicks and submissions: checkbox ticks, the item menu and its modal, the overview's
//! category buttons.
//!
//! A tick is derived from the payload alone: the group's `selected_options` against
//! the group's `initial_options` as rendered in the copy the person clicked (carried in
//! the group's block_id, see `blocks::ids`), never against the database. Two people
//! ticking different boxes of one group at once each send only their own change, so
//! both are kept, whether they clicked the channel's message or an ephemeral copy.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use tracing::warn;

use super::commands::Refusal;
use super::roles::{refuse, require};
use super::{Context, customer_today, internal_error, open_modal};
use crate::blocks::ids::{BlockAction, Clicked, TicketClick};
use crate::blocks::{self, Message, checklist, help, ids, item_modal, ticket, ticket_modal};
use crate::delivery::worker::Job;
use crate::domain::evidence::Attachment;
use crate::domain::i18n::Lang;
use crate::domain::roles::Act;
use crate::domain::sla::Priority;
use crate::domain::ticket::Action as TicketAction;
use crate::store::ItemChange;
use crate::store::audit::{Actor, Source};
use crate::usecase::checklist::{CategoryShown, Clicker, ItemChangeError, ItemRefusal};
use crate::usecase::evidence::EvidenceRefusal;
use crate::usecase::roles::NotAllowed;
use crate::usecase::ticket_form::TicketForm;
use crate::usecase::tickets::ActError;

#[derive(Debug)]
pub enum Interaction {
    BlockActions(BlockActions),
    ViewSubmission(ViewSubmission),
    /// A message shortcut ("Track as support request").
    MessageAction(MessageAction),
    /// view_closed, shortcuts and anything newer: acknowledged, nothing to do.
    Other,
}

/// The payload's `type` when it is the first field, as Slack writes it: read off the
/// start of the text, which spares the first of the two passes over a click's 8 KB.
/// `None` when it is not first or its value has an escape; the first pass then reads
/// it. Either way the second pass reads the whole payload, so JSON malformed after the
/// type is refused all the same.
fn leading_type(json: &str) -> Option<&str> {
    let mut rest = json;
    for token in ["{", "\"type\"", ":", "\""] {
        // JSON's whitespace, which may come before each token.
        rest = rest
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .strip_prefix(token)?;
    }
    let end = rest.find(['"', '\\'])?;
    rest[end..].starts_with('"').then(|| &rest[..end])
}

#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

impl Interaction {
    /// Parses an interaction payload. Read in two passes (its `type`, then the struct
    /// for that type) rather than as a serde-tagged enum, which would first copy the
    /// whole payload, clicked message included, into an intermediate tree.
    pub fn parse(json: &str) -> serde_json::Result<Self> {
        let kind = match leading_type(json) {
            Some(kind) => std::borrow::Cow::Borrowed(kind),
            None => serde_json::from_str::<Kind>(json)?.kind,
        };
        Ok(match kind.as_ref() {
            "block_actions" => Interaction::BlockActions(serde_json::from_str(json)?),
            "view_submission" => Interaction::ViewSubmission(serde_json::from_str(json)?),
            "message_action" => Interaction::MessageAction(serde_json::from_str(json)?),
            // Still read through, so a malformed payload is refused whatever its type.
            _ => {
                serde_json::from_str::<serde::de::IgnoredAny>(json)?;
                Interaction::Other
            }
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct Id {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub team_id: Option<String>,
}

/// Declares an interaction payload: who acted and in which workspace, which every
/// payload says alike (read with `team_id` and `enterprise_id`), then its own fields.
/// Not a shared `#[serde(flatten)]` struct: flattening first copies every other field
/// of the payload, the clicked message included, into an intermediate tree, which
/// made parsing a 7.6 KB click three and a half times slower.
macro_rules! interaction_payload {
    (pub struct $name:ident { $($field:tt)* }) => {
        #[derive(Debug, Deserialize)]
        pub struct $name {
            #[serde(default)]
            pub team: Option<Id>,
            /// Set in an Enterprise Grid organisation.
            #[serde(default)]
            pub enterprise: Option<Id>,
            pub user: User,
            $($field)*
        }

        impl $name {
            /// The workspace acted in: the payload's team, else the user's.
            pub fn team_id(&self) -> Option<String> {
                self.team
                    .as_ref()
                    .map(|t| t.id.clone())
                    .or_else(|| self.user.team_id.clone())
            }

            fn enterprise_id(&self) -> Option<&str> {
                self.enterprise.as_ref().map(|e| e.id.as_str())
            }
        }
    };
}

#[derive(Debug, Default, Deserialize)]
pub struct Container {
    /// `message` or `view` (a modal or the App Home).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub is_ephemeral: bool,
    #[serde(default)]
    pub message_ts: Option<String>,
}

interaction_payload! {
    pub struct BlockActions {
        #[serde(default)]
        pub container: Container,
        #[serde(default)]
        pub channel: Option<Id>,
        #[serde(default)]
        pub response_url: Option<String>,
        #[serde(default)]
        pub trigger_id: Option<String>,
        #[serde(default)]
        pub actions: Vec<Action>,
    }
}

#[derive(Debug, Deserialize)]
pub struct OptionValue {
    pub value: String,
}

#[derive(Debug, Deserialize)]
pub struct Action {
    pub action_id: String,
    #[serde(default)]
    pub block_id: Option<String>,
    #[serde(default)]
    pub selected_options: Vec<OptionValue>,
    #[serde(default)]
    pub selected_option: Option<OptionValue>,
    #[serde(default)]
    pub value: Option<String>,
}

impl Action {
    /// What this click is.
    pub fn parse(&self) -> BlockAction {
        let selected: Vec<&str> = self
            .selected_options
            .iter()
            .map(|o| o.value.as_str())
            .collect();
        BlockAction::parse(&Clicked {
            action_id: &self.action_id,
            block_id: self.block_id.as_deref().unwrap_or_default(),
            value: self.value.as_deref(),
            selected_option: self.selected_option.as_ref().map(|o| o.value.as_str()),
            selected_options: &selected,
        })
    }
}

interaction_payload! {
    pub struct MessageAction {
        pub callback_id: String,
        #[serde(default)]
        pub channel: Option<Id>,
        pub trigger_id: String,
        #[serde(default)]
        pub response_url: Option<String>,
        pub message: ShortcutMessage,
    }
}

#[derive(Debug, Deserialize)]
pub struct ShortcutMessage {
    pub ts: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub user: Option<String>,
}

interaction_payload! {
    pub struct ViewSubmission {
        pub view: View,
    }
}

#[derive(Debug, Deserialize)]
pub struct View {
    #[serde(default)]
    pub callback_id: Option<String>,
    #[serde(default)]
    pub private_metadata: Option<String>,
    #[serde(default)]
    pub state: ViewState,
}

#[derive(Debug, Default, Deserialize)]
pub struct ViewState {
    #[serde(default)]
    pub values: HashMap<String, HashMap<String, Value>>,
}

/// The HTTP answer to an interaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An empty 200 (closes a submitted modal).
    Ack,
    /// A JSON body, such as a modal's field errors.
    Json(Value),
}

pub async fn handle(ctx: &Context, interaction: Interaction, now: DateTime<Utc>) -> Reply {
    let (team, enterprise, response_url) = match &interaction {
        Interaction::BlockActions(a) => (a.team_id(), a.enterprise_id(), &a.response_url),
        Interaction::ViewSubmission(v) => (v.team_id(), v.enterprise_id(), &None),
        Interaction::MessageAction(m) => (m.team_id(), m.enterprise_id(), &m.response_url),
        Interaction::Other => return Reply::Ack,
    };
    if !super::admitted(ctx, team.as_deref().unwrap_or_default(), enterprise).await {
        if let Some(url) = response_url {
            ctx.usecases.delivery.submit_or_warn(Job::Respond {
                response_url: url.clone(),
                message: super::not_installed(ctx, Lang::En),
                replace_original: false,
            });
        }
        return Reply::Ack;
    }
    match interaction {
        Interaction::BlockActions(actions) => {
            let Some(team) = actions.team_id() else {
                return Reply::Ack;
            };
            for action in &actions.actions {
                let click = action.parse();
                // The customer's answer: no staff role to check, only their side.
                if let BlockAction::Csat { ticket, rating } = click {
                    csat_click(ctx, &team, &actions, ticket, rating, now).await;
                    continue;
                }
                // Staff's, or a customer-side person's on the customer's own items.
                if let BlockAction::Tick { group, selected } = click {
                    tick_click(ctx, &team, &actions, group, selected, now).await;
                    continue;
                }
                let allowed = require(
                    ctx,
                    &team,
                    &actions.user.id,
                    click.act(),
                    Source::Button,
                    now,
                )
                .await;
                let failed = match allowed {
                    Ok(()) => block_action(ctx, &team, &actions, click, now)
                        .await
                        .err()
                        .map(Refusal::Internal),
                    Err(refused) => Some(refused),
                };
                let answer = match failed {
                    None => None,
                    Some(Refusal::Message(refused)) => Some(refused),
                    Some(Refusal::Internal(e)) => {
                        let lang = ctx.usecases.users.lang_for(&team, &actions.user.id).await;
                        Some(internal_error(&e, lang))
                    }
                };
                if let Some(message) = answer {
                    answer_privately(ctx, actions.response_url.as_ref(), message);
                }
            }
            Reply::Ack
        }
        Interaction::ViewSubmission(submission) => {
            let callback = submission.view.callback_id.as_deref();
            let is_ticket = callback == Some(ticket_modal::TICKET_MODAL);
            let is_roles = callback == Some(blocks::roles::MODAL);
            let (act, field) = if is_ticket {
                (Act::WorkTickets, ticket_modal::MODAL_SUMMARY)
            } else if is_roles {
                (Act::Administer, blocks::roles::PERSON)
            } else {
                (Act::WorkChecklist, ids::MODAL_NOTE)
            };
            if let Some(team) = submission.team_id() {
                match require(ctx, &team, &submission.user.id, act, Source::Modal, now).await {
                    Ok(()) => {}
                    Err(Refusal::Message(refused)) => return modal_error(field, &refused.text),
                    Err(Refusal::Internal(e)) => {
                        let lang = ctx
                            .usecases
                            .users
                            .lang_for(&team, &submission.user.id)
                            .await;
                        return modal_error(field, &internal_error(&e, lang).text);
                    }
                }
            }
            if is_ticket {
                ticket_submission(ctx, submission, now).await
            } else if is_roles {
                roles_submission(ctx, submission, now).await
            } else {
                view_submission(ctx, submission, now).await
            }
        }
        Interaction::MessageAction(shortcut) => {
            let team = shortcut.team_id().unwrap_or_default();
            let allowed = require(
                ctx,
                &team,
                &shortcut.user.id,
                Act::WorkTickets,
                Source::Button,
                now,
            )
            .await;
            match allowed {
                Ok(()) => {
                    if let Err(e) = track_message(ctx, &shortcut).await {
                        warn!(error = %e, "the track shortcut failed");
                    }
                }
                Err(refusal) => {
                    let message = match refusal {
                        Refusal::Message(m) => m,
                        Refusal::Internal(e) => {
                            let lang = ctx.usecases.users.lang_for(&team, &shortcut.user.id).await;
                            internal_error(&e, lang)
                        }
                    };
                    if let Some(url) = &shortcut.response_url {
                        ctx.usecases.delivery.submit_or_warn(Job::Respond {
                            response_url: url.clone(),
                            message,
                            replace_original: false,
                        });
                    }
                }
            }
            Reply::Ack
        }
        Interaction::Other => Reply::Ack,
    }
}

/// A CSAT answer: recorded when it is a customer-side person's first, which the
/// question's update (through the outbox) shows to everyone; any other outcome is told
/// only to the clicker.
async fn csat_click(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    ticket: i64,
    rating: crate::domain::csat::Rating,
    now: DateTime<Utc>,
) {
    use crate::usecase::csat::Rated;
    let user = &payload.user.id;
    let user_team = payload.user.team_id.as_deref();
    let rated = ctx
        .usecases
        .rate_ticket(team, ticket, user, user_team, rating, now)
        .await;
    let lang = ctx.usecases.users.lang_for(team, user).await;
    let answer = match rated {
        Ok(Rated::Recorded(_) | Rated::NoTicket) => None,
        Ok(Rated::AlreadyRated) => Some(blocks::csat::already_rated(lang)),
        Ok(Rated::NotCustomer) => Some(blocks::csat::staff_refused(lang)),
        Ok(Rated::Unconfirmed) => Some(blocks::csat::try_again(lang)),
        Err(e) => Some(internal_error(&e, lang)),
    };
    if let Some(message) = answer {
        answer_privately(ctx, payload.response_url.as_ref(), message);
    }
}

/// A checkbox click: who may tick what is decided by the use case (staff with the
/// role, or a customer-side person on the items the customer owns, in its channel);
/// anything refused is answered to the clicker alone, and the posted message clicked
/// is rendered again so the box shows as stored.
async fn tick_click(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    group: ids::TickGroup,
    selected: Vec<String>,
    now: DateTime<Utc>,
) {
    let user = &payload.user.id;
    let answer = match tick_clicked(ctx, team, payload, group, selected, now).await {
        Ok(answer) => answer,
        Err(Refusal::Message(refused)) => Some(refused),
        Err(Refusal::Internal(e)) => {
            let lang = ctx.usecases.users.lang_for(team, user).await;
            Some(internal_error(&e, lang))
        }
    };
    if let Some(message) = answer {
        answer_privately(ctx, payload.response_url.as_ref(), message);
    }
}

async fn tick_clicked(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    group: ids::TickGroup,
    selected: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Option<Message>, Refusal> {
    let user = &payload.user.id;
    let in_channel = payload.channel.as_ref().map(|c| c.id.as_str());
    let message_ts = payload.container.message_ts.as_deref();
    // The message everyone in the channel sees, not an ephemeral copy or a modal.
    let posted = match (in_channel, message_ts) {
        (Some(channel), Some(ts))
            if !payload.container.is_ephemeral
                && payload.container.kind.as_deref() != Some("view") =>
        {
            Some((channel, ts))
        }
        _ => None,
    };
    let clicker = match super::roles::allowed(ctx, team, user, Act::WorkChecklist).await? {
        Ok(()) => Clicker::Staff,
        Err(NotAllowed::CustomerSide) => Clicker::Customer { in_channel },
        Err(why) => {
            if let Some((channel, ts)) = posted {
                ctx.usecases.show_again(channel, ts).await?;
            }
            return Err(refuse(
                ctx,
                team,
                user,
                Act::WorkChecklist,
                why,
                Source::Button,
                now,
            )
            .await);
        }
    };
    let outcome = ctx
        .usecases
        .tick_group(
            team, user, message_ts, posted, group, selected, clicker, now,
        )
        .await?;
    if outcome.not_theirs {
        let why = NotAllowed::CustomerSide;
        super::roles::audit_refusal(
            ctx,
            team,
            user,
            Act::WorkChecklist,
            why,
            Source::Button,
            now,
        )
        .await?;
        let lang = ctx.usecases.users.lang_for(team, user).await;
        return Ok(Some(checklist::not_theirs(lang)));
    }
    // Most ticks need no answer, so the clicker's language is looked up only for one.
    let Some(w) = outcome.waiting.first() else {
        return Ok(None);
    };
    let lang = ctx.usecases.users.lang_for(team, user).await;
    let label = ctx
        .usecases
        .template
        .item(&w.item)
        .map(|i| i.label(lang))
        .unwrap_or_default();
    Ok(Some(checklist::waiting(&w.item, label, &w.on, lang)))
}

/// Does what a click asks (already authorized for its [`BlockAction::act`]).
async fn block_action(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    click: BlockAction,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match click {
        // Answered before any role check (see `tick_click`).
        BlockAction::Tick { group, selected } => {
            tick_click(ctx, team, payload, group, selected, now).await
        }
        BlockAction::ItemMenu { customer, item } => {
            let Some(trigger) = payload.trigger_id.clone() else {
                return Ok(());
            };
            let Some(shown) = ctx.usecases.item_of(team, customer, &item).await? else {
                return Ok(());
            };
            let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
            let evidence = ctx
                .usecases
                .evidence_of_item(&shown.customer, &shown.item.key)
                .await?;
            let view = item_modal::item_modal(
                &shown.customer,
                shown.item,
                &shown.state,
                &shown.waiting,
                &evidence,
                lang,
            );
            open_modal(ctx, team, trigger, view, "item");
        }
        BlockAction::Ticket { ticket, click } => {
            ticket_button(ctx, team, payload, ticket, click, now).await?
        }
        BlockAction::CancelReminder { value } => {
            let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
            let message =
                super::reminding::cancel_button(ctx, team, &payload.user.id, &value, lang, now)
                    .await?;
            if let Some(url) = &payload.response_url {
                ctx.usecases.delivery.submit_or_warn(Job::Respond {
                    response_url: url.clone(),
                    message,
                    replace_original: true,
                });
            }
        }
        BlockAction::ConfirmGoLive { customer, date } => {
            let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
            let user = &payload.user.id;
            let answer =
                super::reminding::confirm_golive(ctx, team, user, customer, date, lang, now)
                    .await?;
            // The proposal is replaced by what was planned.
            if let (Some(message), Some(url)) = (answer, &payload.response_url) {
                ctx.usecases.delivery.submit_or_warn(Job::Respond {
                    response_url: url.clone(),
                    message,
                    replace_original: true,
                });
            }
        }
        BlockAction::OpenRoles => {
            if let Some(trigger) = payload.trigger_id.clone() {
                let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
                open_modal(
                    ctx,
                    team,
                    trigger,
                    blocks::roles::roles_modal(lang),
                    "roles",
                );
            }
        }
        BlockAction::HomePage { page } => {
            let (home, team, user) = (ctx.home.clone(), team.to_string(), payload.user.id.clone());
            // Off the request's path: the click is acknowledged at once.
            ctx.usecases.delivery.detach(async move {
                if let Err(e) = home.publish(&team, &user, page).await {
                    warn!(error = %e, "cannot publish an App Home page");
                }
            });
        }
        BlockAction::OpenChecklist { customer } => {
            home_modal(ctx, team, payload, customer, HomeModal::Checklist, now).await?
        }
        BlockAction::NewTicket { customer } => {
            home_modal(ctx, team, payload, customer, HomeModal::NewTicket, now).await?
        }
        BlockAction::OpenCategory { customer, number } => {
            open_category(ctx, team, payload, customer, number).await?
        }
        // Answered before any role check (see `csat_click`).
        BlockAction::Csat { ticket, rating } => {
            csat_click(ctx, team, payload, ticket, rating, now).await
        }
        BlockAction::Unknown => {}
    }
    Ok(())
}

/// The overview's button for a category: on top of the Home's checklist modal, in
/// the customer's channel, or only for the clicker.
async fn open_category(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    customer_id: i64,
    number: u32,
) -> anyhow::Result<()> {
    let in_view = payload.container.kind.as_deref() == Some("view");
    // Only a click on a message everyone in the channel sees posts there.
    let in_channel = if in_view || payload.container.is_ephemeral {
        None
    } else {
        payload.channel.as_ref().map(|c| c.id.as_str())
    };
    let shown = ctx
        .usecases
        .show_category(
            team,
            customer_id,
            number,
            in_channel,
            payload.response_url.clone(),
            ctx.channel_lang,
        )
        .await?;
    let Some(CategoryShown::States {
        customer,
        category,
        states,
    }) = shown
    else {
        return Ok(());
    };
    if in_view {
        // The checklist opened from the App Home: the category on top of it.
        let Some(trigger) = payload.trigger_id.clone() else {
            return Ok(());
        };
        let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
        let blocks = checklist::category_messages(&customer, category, &states, lang)
            .into_iter()
            .flat_map(|m| m.blocks)
            .collect();
        let view = blocks::modal_of(category.label(lang), blocks, lang.pick("Back", "戻る"));
        let api = ctx.api.clone();
        let team = team.to_string();
        ctx.usecases.delivery.detach(async move {
            let pushed =
                async { api.workspace(&team).await?.push_view(&trigger, view).await }.await;
            if let Err(e) = pushed {
                warn!(error = %e, "cannot push a category modal");
            }
        });
    } else if let Some(url) = &payload.response_url {
        let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
        for message in checklist::category_messages(&customer, category, &states, lang) {
            ctx.usecases.delivery.submit_or_warn(Job::Respond {
                response_url: url.clone(),
                message,
                replace_original: false,
            });
        }
    }
    Ok(())
}

/// What an App Home button opens for a customer.
enum HomeModal {
    /// The customer's checklist, as a modal.
    Checklist,
    /// The ticket modal, the customer chosen.
    NewTicket,
}

/// An App Home button that opens a modal for one customer.
async fn home_modal(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    customer_id: i64,
    modal: HomeModal,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let Some(trigger) = payload.trigger_id.clone() else {
        return Ok(());
    };
    let view = match modal {
        HomeModal::Checklist => {
            let Some((customer, states)) = ctx.usecases.checklist_of(team, customer_id).await?
            else {
                return Ok(());
            };
            let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
            let standing = ctx.usecases.standing_of(&customer, &states, now);
            let overview = checklist::overview(
                ctx.usecases.view_of(&customer),
                &customer,
                &states,
                Some(&standing),
                lang,
            );
            blocks::modal_of(
                &customer.name,
                overview.blocks,
                lang.pick("Close", "閉じる"),
            )
        }
        HomeModal::NewTicket => {
            let Some((customer, customers)) =
                ctx.usecases.ticket_form_for(team, customer_id).await?
            else {
                return Ok(());
            };
            let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
            blocks::ticket_modal::ticket_modal(
                Some(&customer),
                &customers,
                None,
                &blocks::ticket_modal::TicketModalMetadata {
                    customer: Some(customer.id),
                    ..Default::default()
                },
                lang,
            )
        }
    };
    open_modal(ctx, team, trigger, view, "home");
    Ok(())
}

/// "Track as support request" on a message: in a customer channel, opens the ticket
/// modal with the message as its summary and its author as the reporter.
async fn track_message(ctx: &Context, shortcut: &MessageAction) -> anyhow::Result<()> {
    if shortcut.callback_id != ticket_modal::TRACK_SHORTCUT {
        return Ok(());
    }
    let Some(team) = shortcut.team_id() else {
        return Ok(());
    };
    let lang = ctx.usecases.users.lang_for(&team, &shortcut.user.id).await;
    let channel = shortcut
        .channel
        .as_ref()
        .map(|c| c.id.as_str())
        .unwrap_or_default();
    let Some(customer) = ctx.usecases.tracking_customer(&team, channel).await? else {
        if let Some(url) = &shortcut.response_url {
            ctx.usecases.delivery.submit_or_warn(Job::Respond {
                response_url: url.clone(),
                message: ticket_modal::not_a_customer_channel(lang),
                replace_original: false,
            });
        }
        return Ok(());
    };
    let view = ticket_modal::ticket_modal(
        Some(&customer),
        &[],
        Some(&shortcut.message.text),
        &ticket_modal::TicketModalMetadata {
            customer: Some(customer.id),
            reporter: shortcut.message.user.clone(),
            source_ts: Some(shortcut.message.ts.clone()),
        },
        lang,
    );
    open_modal(ctx, &team, shortcut.trigger_id.clone(), view, "ticket");
    Ok(())
}

/// The ticket modal, submitted: opens the ticket, or says which field is wrong.
async fn ticket_submission(ctx: &Context, submission: ViewSubmission, now: DateTime<Utc>) -> Reply {
    let Some(team) = submission.team_id() else {
        return Reply::Ack;
    };
    let lang = ctx
        .usecases
        .users
        .lang_for(&team, &submission.user.id)
        .await;
    let meta: ticket_modal::TicketModalMetadata = submission
        .view
        .private_metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    let state = &submission.view.state;
    let form = TicketForm {
        customer: meta.customer.or_else(|| {
            field(state, ticket_modal::MODAL_CUSTOMER)
                .and_then(|v| v["selected_option"]["value"].as_str())
                .and_then(|v| v.parse().ok())
        }),
        priority: field(state, ticket_modal::MODAL_PRIORITY)
            .and_then(|v| v["selected_option"]["value"].as_str())
            .and_then(Priority::parse),
        summary: field(state, ticket_modal::MODAL_SUMMARY)
            .and_then(|v| v["value"].as_str())
            .map(str::trim)
            .unwrap_or_default()
            .to_string(),
        reporter: meta
            .reporter
            .clone()
            .unwrap_or_else(|| submission.user.id.clone()),
        source_ts: meta.source_ts.clone(),
    };
    let actor = Actor::new(&submission.user.id, Source::Modal);
    match ctx.usecases.open_from_form(&team, &form, actor, now).await {
        Ok(Ok(_)) => Reply::Ack,
        Ok(Err(problem)) => modal_error(problem.block(), problem.text(lang)),
        Err(e) => modal_error(ticket_modal::MODAL_SUMMARY, &internal_error(&e, lang).text),
    }
}

/// A ticket's buttons and priority menu. The ticket id comes from the button's value;
/// an id of another workspace finds nothing. A refusal (already resolved, …) is told
/// to the clicker alone; a change shows in the ticket message through the outbox.
async fn ticket_button(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    id: i64,
    click: TicketClick,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let ticket_action = match click {
        TicketClick::Respond => Some(TicketAction::Respond),
        TicketClick::Resolve => Some(TicketAction::Resolve),
        TicketClick::Pause => Some(TicketAction::Pause),
        TicketClick::Resume => Some(TicketAction::Resume),
        TicketClick::Priority(priority) => Some(TicketAction::SetPriority(priority)),
        TicketClick::Escalate => None,
    };
    let actor = Actor::new(&payload.user.id, Source::Button);
    let result = match &ticket_action {
        Some(a) => ctx.usecases.tickets.act(team, id, a, actor, now).await,
        None => {
            ctx.usecases
                .tickets
                .escalate_now(team, id, actor, now)
                .await
        }
    };
    match result {
        Ok(_) | Err(ActError::NotFound) => Ok(()),
        Err(ActError::Refused(refused)) => {
            if let Some(url) = &payload.response_url {
                let lang = ctx.usecases.users.lang_for(team, &payload.user.id).await;
                ctx.usecases.delivery.submit_or_warn(Job::Respond {
                    response_url: url.clone(),
                    message: Message::plain(ticket::refusal(refused, lang)),
                    replace_original: false,
                });
            }
            Ok(())
        }
        Err(ActError::Database(e)) => Err(e.into()),
    }
}

fn field<'a>(state: &'a ViewState, block: &str) -> Option<&'a Value> {
    state.values.get(block)?.get(block)
}

async fn roles_submission(ctx: &Context, submission: ViewSubmission, now: DateTime<Utc>) -> Reply {
    use blocks::roles::{PERSON, ROLE};
    let Some(team) = submission.team_id() else {
        return Reply::Ack;
    };
    let state = &submission.view.state;
    let person = field(state, PERSON).and_then(|v| v["selected_user"].as_str());
    let role = field(state, ROLE).and_then(|v| v["selected_option"]["value"].as_str());
    match super::roles::roles_submitted(ctx, &team, &submission.user.id, person, role, now).await {
        Ok(Ok(())) => Reply::Ack,
        Ok(Err((block, problem))) => modal_error(block, problem),
        Err(e) => {
            let lang = ctx
                .usecases
                .users
                .lang_for(&team, &submission.user.id)
                .await;
            modal_error(PERSON, &internal_error(&e, lang).text)
        }
    }
}

async fn view_submission(ctx: &Context, submission: ViewSubmission, now: DateTime<Utc>) -> Reply {
    if submission.view.callback_id.as_deref() != Some(ids::ITEM_MODAL) {
        return Reply::Ack;
    }
    let Some(team) = submission.team_id() else {
        return Reply::Ack;
    };
    let lang = ctx
        .usecases
        .users
        .lang_for(&team, &submission.user.id)
        .await;
    let Some(meta) = submission
        .view
        .private_metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<item_modal::ItemModalMetadata>(m).ok())
    else {
        return Reply::Ack;
    };
    let customer = match ctx
        .usecases
        .store
        .customer_by_id(&team, meta.customer)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return Reply::Ack,
        Err(e) => return modal_error(ids::MODAL_NOTE, &internal_error(&e, lang).text),
    };
    let item = match ctx.usecases.item_for(&customer, &meta.item) {
        Ok(item) => item,
        // The customer's tier changed while the modal was open.
        Err(ItemRefusal::OtherTier(tier)) => {
            let text = help::not_in_tier_text(&meta.item, tier, lang);
            return modal_error(ids::MODAL_NOTE, &text);
        }
        Err(ItemRefusal::Unknown) => return Reply::Ack,
    };
    let state = &submission.view.state;
    let assignee = field(state, ids::MODAL_ASSIGNEE)
        .and_then(|v| v["selected_user"].as_str())
        .map(str::to_string);
    let due = match field(state, ids::MODAL_DUE).and_then(|v| v["selected_date"].as_str()) {
        None => None,
        // The same range as a typed `due=`: a forged payload's year 99999 goes no further.
        Some(text) => match crate::domain::command::parse_date(text) {
            Some(d) => Some(d),
            None => {
                return modal_error(
                    ids::MODAL_DUE,
                    lang.pick("Pick a date.", "日付を選んでください。"),
                );
            }
        },
    };
    let note = field(state, ids::MODAL_NOTE)
        .and_then(|v| v["value"].as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > ids::MAX_NOTE_CHARS)
    {
        return modal_error(
            ids::MODAL_NOTE,
            &match lang {
                Lang::En => format!("Keep the note under {} characters.", ids::MAX_NOTE_CHARS),
                Lang::Ja => format!("メモは {} 文字以内にしてください。", ids::MAX_NOTE_CHARS),
            },
        );
    }
    let not_applicable = item.if_needed
        && field(state, ids::MODAL_NOT_APPLICABLE)
            .and_then(|v| v["selected_options"].as_array())
            .is_some_and(|o| !o.is_empty());
    let attachments = match submitted_evidence(state, lang) {
        Ok(attachments) => attachments,
        Err(reply) => return reply,
    };
    let change = ItemChange {
        assignee: Some(assignee),
        due: Some(due),
        note: Some(note),
        not_applicable: Some(not_applicable),
    };
    let actor = Actor::new(&submission.user.id, Source::Modal);
    // The evidence first: refused, it leaves the item's other fields unchanged too.
    if !attachments.is_empty() {
        let attached = ctx
            .usecases
            .add_evidence(&customer, &item.key, &attachments, None, actor, now)
            .await;
        match attached {
            // Nothing new to attach is no reason to refuse the rest of the form.
            Ok(Ok(_) | Err(EvidenceRefusal::AlreadyAttached { .. })) => {}
            Ok(Err(refusal)) => {
                let text = super::evidence::refused(ctx, &customer, &refusal, lang).text;
                return modal_error(item_modal::EVIDENCE_FILES, &text);
            }
            Err(e) => {
                return modal_error(item_modal::EVIDENCE_FILES, &internal_error(&e, lang).text);
            }
        }
    }
    match ctx
        .usecases
        .change_item(&team, &customer, &item.key, &change, actor, now)
        .await
    {
        // A date already past is kept, as `assign … due=` keeps it, and said.
        Ok(update) => match update
            .after
            .due
            .filter(|due| *due < customer_today(ctx, &customer, now))
        {
            Some(past) => Reply::Json(serde_json::json!({
                "response_action": "update",
                "view": item_modal::saved_with_past_due(&customer, item, past, lang),
            })),
            None => Reply::Ack,
        },
        Err(e @ ItemChangeError::Saving(_)) => {
            modal_error(ids::MODAL_NOTE, &internal_error(&e, lang).text)
        }
        Err(e @ ItemChangeError::Planning(_)) => {
            modal_error(ids::MODAL_DUE, &internal_error(&e, lang).text)
        }
    }
}

/// The item modal's link and files, checked: a link must be http(s) (Slack's field
/// checks it too; a forged payload is refused here), a file must carry Slack's id
/// and permalink. `Err` is the field error to answer.
fn submitted_evidence(state: &ViewState, lang: Lang) -> Result<Vec<Attachment>, Reply> {
    let mut attachments = Vec::new();
    let link = field(state, item_modal::EVIDENCE_LINK)
        .and_then(|v| v["value"].as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(link) = link {
        match Attachment::link(link) {
            Some(link) => attachments.push(link),
            None => {
                return Err(modal_error(
                    item_modal::EVIDENCE_LINK,
                    lang.pick(
                        "Give an http:// or https:// link.",
                        "http:// または https:// のリンクを入力してください。",
                    ),
                ));
            }
        }
    }
    let files = field(state, item_modal::EVIDENCE_FILES)
        .and_then(|v| v["files"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    if files.len() > item_modal::MAX_FILES {
        return Err(modal_error(
            item_modal::EVIDENCE_FILES,
            &match lang {
                Lang::En => format!("Attach at most {} files at a time.", item_modal::MAX_FILES),
                Lang::Ja => format!("ファイルは一度に {} 件までです。", item_modal::MAX_FILES),
            },
        ));
    }
    for file in files {
        let text = |key: &str| file[key].as_str().unwrap_or_default();
        let name = Some(text("name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| text("title"));
        match Attachment::file(text("id"), name, text("permalink")) {
            Some(file) => attachments.push(file),
            None => {
                return Err(modal_error(
                    item_modal::EVIDENCE_FILES,
                    lang.pick(
                        "Slack did not say where that file is kept: upload it again.",
                        "ファイルの保存先が Slack から届きませんでした。もう一度アップロードしてください。",
                    ),
                ));
            }
        }
    }
    Ok(attachments)
}

fn modal_error(block: &str, text: &str) -> Reply {
    Reply::Json(serde_json::json!({
        "response_action": "errors",
        "errors": { block: text },
    }))
}

/// Answers the person who clicked, and only them, through the payload's
/// `response_url` (a payload without one, from a modal, has nowhere to answer).
fn answer_privately(ctx: &Context, response_url: Option<&String>, message: Message) {
    if let Some(url) = response_url {
        ctx.usecases.delivery.submit_or_warn(Job::Respond {
            response_url: url.clone(),
            message,
            replace_original: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for a leading `type` reads what the full read reads, or leaves it
    /// to it.
    #[test]
    fn a_leading_type_reads_as_serde_reads_it() {
        let read = |json: &str| serde_json::from_str::<Kind>(json).map(|k| k.kind.into_owned());
        for json in [
            include_str!("../../tests/fixtures/block_actions.bolt_python_fixture.json"),
            include_str!("../../tests/fixtures/block_actions.docs_message_button.json"),
            include_str!("../../tests/fixtures/view_submission.docs.json"),
            r#"{"type":"block_actions","user":{"id":"U1"}}"#,
            " \r\n\t{ \n\"type\" \t: \r \"view_closed\" }",
        ] {
            assert_eq!(
                leading_type(json).map(str::to_string),
                read(json).ok(),
                "{json}"
            );
        }
        // Not first, escaped, not a string, or not JSON at all: the full read decides.
        for json in [
            include_str!("../../tests/fixtures/block_actions.checkboxes.COMPOSED.json"),
            r#"{"user":{"id":"U1"},"type":"block_actions"}"#,
            r#"{"type":"block\u005factions"}"#,
            r#"{"type":7}"#,
            r#"{"type":"block_actions"#,
            "\u{a0}{\"type\":\"block_actions\"}",
            "",
        ] {
            assert_eq!(leading_type(json), None, "{json}");
        }
        assert!(Interaction::parse(r#"{"type":"block_actions","user":"#).is_err());
        assert!(Interaction::parse(r#"{"type":"view_closed","view":"#).is_err());
        assert!(matches!(
            Interaction::parse(r#"{"type":"view_closed","view":{}}"#),
            Ok(Interaction::Other)
        ));
    }

    #[test]
    fn slacks_checkbox_and_button_payloads_parse() {
        for text in [
            include_str!("../../tests/fixtures/block_actions.checkboxes.COMPOSED.json"),
            include_str!("../../tests/fixtures/block_actions.bolt_python_fixture.json"),
            include_str!("../../tests/fixtures/block_actions.docs_message_button.json"),
            include_str!("../../tests/fixtures/block_actions.docs_home_tab_button.json"),
        ] {
            let parsed = Interaction::parse(text).unwrap();
            let Interaction::BlockActions(actions) = parsed else {
                panic!("not block_actions")
            };
            assert!(!actions.actions.is_empty());
        }
        let checkboxes = Interaction::parse(include_str!(
            "../../tests/fixtures/block_actions.checkboxes.COMPOSED.json"
        ))
        .unwrap();
        let Interaction::BlockActions(actions) = checkboxes else {
            unreachable!()
        };
        assert!(!actions.actions[0].selected_options.is_empty());
        let submission = Interaction::parse(include_str!(
            "../../tests/fixtures/view_submission.docs.json"
        ))
        .unwrap();
        assert!(matches!(submission, Interaction::ViewSubmission(_)));
    }

    #[test]
    fn unknown_interaction_types_are_acknowledged() {
        let parsed =
            Interaction::parse(r#"{"type":"view_closed","team":{"id":"T"},"user":{"id":"U"}}"#)
                .unwrap();
        assert!(matches!(parsed, Interaction::Other));
    }
}
