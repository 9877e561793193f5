//! Clicks and submissions: checkbox ticks, the item menu and its modal, the overview's
//! category buttons.
//!
//! A tick is derived from the payload alone: the group's `selected_options` against
//! the group's `initial_options` as rendered in the copy the person clicked (carried in
//! the group's block_id, see `blocks::ids`), never against the database. Two people
//! ticking different boxes of one group at once each send only their own change, so
//! both are kept, whether they clicked the channel's message or an ephemeral copy.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;
use tracing::warn;

use super::{Context, internal_error};
use crate::blocks::{checklist, ids, item_modal};
use crate::delivery::worker::Job;
use crate::domain::i18n::Lang;
use crate::store::ItemChange;

#[derive(Debug)]
pub enum Interaction {
    BlockActions(BlockActions),
    ViewSubmission(ViewSubmission),
    /// view_closed, shortcuts and anything newer: acknowledged, nothing to do.
    Other,
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
        let kind: Kind = serde_json::from_str(json)?;
        Ok(match kind.kind.as_ref() {
            "block_actions" => Interaction::BlockActions(serde_json::from_str(json)?),
            "view_submission" => Interaction::ViewSubmission(serde_json::from_str(json)?),
            _ => Interaction::Other,
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

#[derive(Debug, Default, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub is_ephemeral: bool,
    #[serde(default)]
    pub message_ts: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BlockActions {
    #[serde(default)]
    pub team: Option<Id>,
    pub user: User,
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

#[derive(Debug, Deserialize)]
pub struct ViewSubmission {
    #[serde(default)]
    pub team: Option<Id>,
    pub user: User,
    pub view: View,
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

fn team_of(team: &Option<Id>, user: &User) -> Option<String> {
    team.as_ref()
        .map(|t| t.id.clone())
        .or_else(|| user.team_id.clone())
}

pub async fn handle(ctx: &Context, interaction: Interaction, now_ms: i64) -> Reply {
    match interaction {
        Interaction::BlockActions(actions) => {
            let Some(team) = team_of(&actions.team, &actions.user) else {
                return Reply::Ack;
            };
            for action in &actions.actions {
                if let Err(e) = block_action(ctx, &team, &actions, action, now_ms).await {
                    let lang = ctx.locales.lang_for(&team, &actions.user.id).await;
                    let apology = internal_error(&e, lang);
                    if let Some(url) = &actions.response_url {
                        ctx.delivery.submit_or_warn(Job::Respond {
                            response_url: url.clone(),
                            message: apology,
                            replace_original: false,
                        });
                    }
                }
            }
            Reply::Ack
        }
        Interaction::ViewSubmission(submission) => view_submission(ctx, submission, now_ms).await,
        Interaction::Other => Reply::Ack,
    }
}

async fn block_action(
    ctx: &Context,
    team: &str,
    payload: &BlockActions,
    action: &Action,
    now_ms: i64,
) -> anyhow::Result<()> {
    let block_id = action.block_id.as_deref().unwrap_or_default();
    if action.action_id == ids::TICK {
        let Some(group) = ids::parse_tick_block_id(block_id) else {
            return Ok(());
        };
        // An id from another workspace, or a guessed one, finds nothing.
        let Some(customer) = ctx.store.customer_by_id(team, group.customer).await? else {
            return Ok(());
        };
        let selected: Vec<String> = action
            .selected_options
            .iter()
            .map(|o| o.value.clone())
            .filter(|v| group.keys.contains(v))
            .collect();
        // What the clicker saw: the group as rendered, or their own previous click on
        // this copy if the app has not re-rendered it since.
        let seen = match payload.container.message_ts.as_deref() {
            Some(ts) => ctx
                .delivery
                .clicks()
                .exchange(&payload.user.id, ts, block_id, selected.clone())
                .unwrap_or_else(|| group.ticked.clone()),
            None => group.ticked.clone(),
        };
        let selected: HashSet<&str> = selected.iter().map(String::as_str).collect();
        let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
        let known = |k: &&String| ctx.template.item(k).is_some();
        let ticked: Vec<String> = group
            .keys
            .iter()
            .filter(known)
            .filter(|k| selected.contains(k.as_str()) && !seen.contains(k.as_str()))
            .cloned()
            .collect();
        let unticked: Vec<String> = group
            .keys
            .iter()
            .filter(known)
            .filter(|k| seen.contains(k.as_str()) && !selected.contains(k.as_str()))
            .cloned()
            .collect();
        let changed = ctx
            .store
            .set_done(customer.id, &ticked, &unticked, &payload.user.id, now_ms)
            .await?;
        if !changed.is_empty() {
            ctx.delivery.checklist_changed();
        }
    } else if action.action_id == ids::ITEM_MENU {
        let (Some(customer_id), Some(selected), Some(trigger)) = (
            ids::parse_menu_block_id(block_id),
            action.selected_option.as_ref(),
            payload.trigger_id.clone(),
        ) else {
            return Ok(());
        };
        let Some(customer) = ctx.store.customer_by_id(team, customer_id).await? else {
            return Ok(());
        };
        let Some(item) = ctx.template.item(&selected.value) else {
            return Ok(());
        };
        let states = ctx.store.item_states(customer.id).await?;
        let lang = ctx.locales.lang_for(team, &payload.user.id).await;
        let view = item_modal::item_modal(
            &customer,
            item,
            &states.get(&item.key).cloned().unwrap_or_default(),
            lang,
        );
        // The trigger expires in 3 seconds, so the modal opens now, not through the queue.
        let api = ctx.api.clone();
        tokio::spawn(async move {
            if let Err(e) = api.open_view(&trigger, view).await {
                warn!(error = %e, "cannot open the item modal");
            }
        });
    } else if let Some(number) = action
        .action_id
        .strip_prefix(&format!("{}_", ids::OPEN_CATEGORY))
    {
        let Some((customer_id, _)) = action.value.as_deref().and_then(|v| v.split_once(':')) else {
            return Ok(());
        };
        let (Ok(customer_id), Ok(number)) = (customer_id.parse::<i64>(), number.parse::<u32>())
        else {
            return Ok(());
        };
        let Some(customer) = ctx.store.customer_by_id(team, customer_id).await? else {
            return Ok(());
        };
        let Some(category) = ctx.template.category(number) else {
            return Ok(());
        };
        let channel = payload.channel.as_ref().map(|c| c.id.as_str());
        if !payload.container.is_ephemeral
            && channel.is_some()
            && channel == customer.channel_id.as_deref()
        {
            ctx.delivery.submit_or_warn(Job::PostChecklist {
                customer_id: customer.id,
                category: Some(number),
                pin: false,
                response_url: payload.response_url.clone(),
                lang: ctx.channel_lang,
            });
        } else if let Some(url) = &payload.response_url {
            let lang = ctx.locales.lang_for(team, &payload.user.id).await;
            let states = ctx.store.item_states(customer.id).await?;
            for message in checklist::category_messages(&customer, category, &states, lang) {
                ctx.delivery.submit_or_warn(Job::Respond {
                    response_url: url.clone(),
                    message,
                    replace_original: false,
                });
            }
        }
    }
    Ok(())
}

fn field<'a>(state: &'a ViewState, block: &str) -> Option<&'a Value> {
    state.values.get(block)?.get(block)
}

async fn view_submission(ctx: &Context, submission: ViewSubmission, now_ms: i64) -> Reply {
    if submission.view.callback_id.as_deref() != Some(ids::ITEM_MODAL) {
        return Reply::Ack;
    }
    let Some(team) = team_of(&submission.team, &submission.user) else {
        return Reply::Ack;
    };
    let lang = ctx.locales.lang_for(&team, &submission.user.id).await;
    let Some(meta) = submission
        .view
        .private_metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<item_modal::ItemModalMetadata>(m).ok())
    else {
        return Reply::Ack;
    };
    let customer = match ctx.store.customer_by_id(&team, meta.customer).await {
        Ok(Some(c)) => c,
        Ok(None) => return Reply::Ack,
        Err(e) => return modal_error(ids::MODAL_NOTE, &internal_error(&e, lang).text),
    };
    let Some(item) = ctx.template.item(&meta.item) else {
        return Reply::Ack;
    };
    let state = &submission.view.state;
    let assignee = field(state, ids::MODAL_ASSIGNEE)
        .and_then(|v| v["selected_user"].as_str())
        .map(str::to_string);
    let due = match field(state, ids::MODAL_DUE).and_then(|v| v["selected_date"].as_str()) {
        None => None,
        Some(text) => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
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
    let change = ItemChange {
        assignee: Some(assignee.clone()),
        due: Some(due),
        note: Some(note),
        not_applicable: Some(not_applicable),
    };
    let update = match ctx
        .store
        .change_item(customer.id, &item.key, &change, &submission.user.id, now_ms)
        .await
    {
        Ok(update) => update,
        Err(e) => return modal_error(ids::MODAL_NOTE, &internal_error(&e, lang).text),
    };
    if update.after != update.before {
        ctx.delivery.checklist_changed();
    }
    if let Some(user) = &assignee
        && update.before.assignee.as_ref() != Some(user)
        && *user != submission.user.id
    {
        ctx.delivery.submit_or_warn(Job::AssignedDm {
            team: team.clone(),
            user: user.clone(),
            customer_id: customer.id,
            item: item.key.clone(),
            by: submission.user.id.clone(),
            due,
        });
    }
    Reply::Ack
}

fn modal_error(block: &str, text: &str) -> Reply {
    Reply::Json(serde_json::json!({
        "response_action": "errors",
        "errors": { block: text },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
