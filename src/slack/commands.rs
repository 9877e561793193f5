//! `/readiness`: parse the text, apply it, answer.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Context, busy, internal_error, open_modal};
use crate::blocks::{self, Message, checklist, help};
use crate::delivery::worker::Job;
use crate::domain::command::{
    self, Command, CustomerRef, Form, Opened, PathChange, Word, looks_like_item_key,
};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::roles::Act;
use crate::domain::sla::Priority;
use crate::domain::template::Item;
use crate::store::ItemChange;
use crate::store::audit::{Actor, Source};
use crate::usecase::checklist::{ItemRefusal, ShowRefusal, ShowRequest, Shown, TickRefusal};
use crate::usecase::customers::{CreateRefusal, Created, NewCustomerRequest, NotFound};
use crate::usecase::ticket_form::TypedTicketRefusal;

/// The fields of a slash command the app uses (`token` and `user_name` are deprecated).
#[derive(Debug, Clone, Deserialize)]
pub struct SlashCommand {
    pub team_id: String,
    pub user_id: String,
    pub channel_id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub response_url: Option<String>,
    #[serde(default)]
    pub trigger_id: Option<String>,
    /// Set in an Enterprise Grid organisation.
    #[serde(default)]
    pub enterprise_id: Option<String>,
}

/// The HTTP answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An ephemeral message in the body.
    Ephemeral(Message),
    /// An ephemeral message in the body, already serialized (see `rendered`).
    EphemeralJson(bytes::Bytes),
    /// An empty 200: the result appears in the channel.
    Nothing,
}

/// Why a command could not be applied; each becomes a short answer.
pub(super) enum Refusal {
    Message(Message),
    Internal(anyhow::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Internal(e.into())
    }
}

pub async fn handle(ctx: &Context, cmd: &SlashCommand, now: DateTime<Utc>) -> Answer {
    if !super::admitted(ctx, &cmd.team_id, cmd.enterprise_id.as_deref()).await {
        return Answer::Ephemeral(super::not_installed(ctx, Lang::En));
    }
    if let Err(limited) = ctx.limits.check(&cmd.team_id, &cmd.user_id) {
        let lang = ctx
            .usecases
            .users
            .lang_for(&cmd.team_id, &cmd.user_id)
            .await;
        return Answer::Ephemeral(limited.answer(lang));
    }
    // Who the person is comes first: a guest is told no before anything else, and
    // the lookups it makes (run together, under one budget) serve the language too.
    let parsed = command::parse(&cmd.text);
    let act = parsed.as_ref().map_or(Act::Read, Command::act);
    let allowed =
        super::roles::require(ctx, &cmd.team_id, &cmd.user_id, act, Source::Command, now).await;
    let lang = ctx
        .usecases
        .users
        .lang_for(&cmd.team_id, &cmd.user_id)
        .await;
    let parsed = match (parsed, allowed.is_ok()) {
        (Ok(parsed), _) => parsed,
        (Err(e), true) => return Answer::Ephemeral(help::parse_error(&e, lang)),
        // A mistyped command from someone who may not use it is just refused.
        (Err(_), false) => Command::Help,
    };
    let applied = match allowed {
        Ok(()) => apply(ctx, cmd, parsed, lang, now).await,
        Err(refused) => Err(refused),
    };
    match applied {
        Ok(answer) => answer,
        Err(Refusal::Message(m)) => Answer::Ephemeral(m),
        Err(Refusal::Internal(e)) => Answer::Ephemeral(internal_error(&e, lang)),
    }
}

async fn apply(
    ctx: &Context,
    cmd: &SlashCommand,
    parsed: Command,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    match parsed {
        Command::Help => help_answer(ctx, cmd, lang).await,
        Command::New {
            name,
            tier,
            channel,
            slug,
            kickoff,
        } => {
            let request = NewCustomerRequest {
                team_id: cmd.team_id.clone(),
                user_id: cmd.user_id.clone(),
                name,
                tier,
                channel,
                slug,
                kickoff,
                response_url: cmd.response_url.clone(),
                lang,
            };
            new_customer(ctx, request, lang, now).await
        }
        Command::Show { first, second } => show(ctx, cmd, first, second, lang, now).await,
        Command::Assign {
            customer,
            item,
            user,
            due,
        } => {
            let customer =
                resolve_customer(ctx, cmd, customer.as_ref(), Form::Assign, lang).await?;
            let item = resolve_item(ctx, &customer, &item, Form::Assign, lang)?;
            // `today` and `tomorrow` are the customer's, as a reminder's are.
            let today = super::customer_today(ctx, &customer, now);
            let change = ItemChange {
                assignee: Some(Some(user.clone())),
                due: due.map(|d| Some(d.on(today))),
                ..Default::default()
            };
            let actor = Actor::new(&cmd.user_id, Source::Command);
            let update = ctx
                .usecases
                .change_item(&cmd.team_id, &customer, &item.key, &change, actor, now)
                .await
                .map_err(|e| Refusal::Internal(e.into()))?;
            let assigned =
                checklist::assigned(&customer, item, &user, update.after.due, today, lang);
            Ok(Answer::Ephemeral(assigned))
        }
        Command::Done { customer, item } => {
            tick(ctx, cmd, customer, &item, true, Form::Done, lang, now).await
        }
        Command::Undo { customer, item } => {
            tick(ctx, cmd, customer, &item, false, Form::Undo, lang, now).await
        }
        Command::Ticket {
            customer,
            priority,
            opened,
            summary,
        } => {
            let customer =
                resolve_customer(ctx, cmd, customer.as_ref(), Form::Ticket, lang).await?;
            open_ticket(ctx, cmd, &customer, priority, opened, &summary, lang, now).await
        }
        Command::TicketModal => ticket_modal(ctx, cmd, lang).await,
        Command::Escalation { priority, change } => {
            escalation_paths(ctx, cmd, priority, change, lang, now).await
        }
        Command::Tickets { customer } => {
            let customer = match customer {
                Some(r) => Some(named_customer(ctx, cmd, &r, Form::Tickets, lang).await?),
                None => None,
            };
            list_tickets(ctx, cmd, customer, lang, now).await
        }
        Command::Remind {
            customer,
            when,
            text,
        } => super::reminding::remind(ctx, cmd, customer, when, text, lang, now).await,
        Command::Reminders { customer } => {
            super::reminding::reminders(ctx, cmd, customer, lang).await
        }
        Command::GoLive { customer, date } => {
            super::reminding::golive(ctx, cmd, customer, date, lang, now).await
        }
        Command::Customer { customer, change } => {
            super::customers::customer(ctx, cmd, customer, change, lang, now).await
        }
        Command::Audit { customer, since } => {
            super::records::audit(ctx, cmd, customer, since, lang, now).await
        }
        Command::Report { customer, month } => {
            super::records::report(ctx, cmd, customer, month, lang, now).await
        }
        Command::Roles { change } => super::roles::roles_command(ctx, cmd, change, lang, now).await,
        Command::Team { customer, changes } => {
            super::planning::team(ctx, cmd, customer, changes, lang, now).await
        }
        Command::Plan { customer } => super::planning::plan(ctx, cmd, customer, lang, now).await,
        Command::Evidence {
            customer,
            item,
            url,
            note,
        } => super::evidence::evidence(ctx, cmd, customer, item, url, note, lang, now).await,
        Command::Export { customer } => super::export::export(ctx, cmd, customer, lang, now).await,
    }
}

/// `/readiness ticket` alone: the ticket modal, its customer the channel's if any.
async fn ticket_modal(ctx: &Context, cmd: &SlashCommand, lang: Lang) -> Result<Answer, Refusal> {
    let implied = ctx
        .usecases
        .store
        .customer_by_channel(&cmd.team_id, &cmd.channel_id)
        .await?;
    let customers = match implied {
        Some(_) => Vec::new(),
        None => ctx.usecases.store.customers(&cmd.team_id).await?,
    };
    if implied.is_none() && customers.is_empty() {
        return Err(name_a_customer(ctx, cmd, Form::Ticket, lang).await);
    }
    let Some(trigger) = cmd.trigger_id.clone() else {
        return Err(Refusal::Message(help::error_with_usage(
            lang.pick(
                "Say the priority and what it is about.",
                "優先度と概要を指定してください。",
            ),
            Form::Ticket.usage(),
            lang,
        )));
    };
    let view = blocks::ticket_modal::ticket_modal(
        implied.as_ref(),
        &customers,
        None,
        &blocks::ticket_modal::TicketModalMetadata {
            customer: implied.as_ref().map(|c| c.id),
            ..Default::default()
        },
        lang,
    );
    open_modal(ctx, &cmd.team_id, trigger, view, "ticket");
    Ok(Answer::Nothing)
}

#[allow(clippy::too_many_arguments)]
async fn open_ticket(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: &Customer,
    priority: Priority,
    opened: Option<Opened>,
    summary: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let refused = match ctx
        .usecases
        .open_typed(customer, priority, opened, summary, actor, now)
        .await?
    {
        Ok(ticket) => {
            return Ok(Answer::Ephemeral(blocks::ticket::opened(
                &ticket,
                customer,
                &ticket.channel_id,
                lang,
            )));
        }
        Err(refused) => refused,
    };
    Err(Refusal::Message(match refused {
        TypedTicketRefusal::NoChannel => blocks::ticket::no_channel(customer, lang),
        TypedTicketRefusal::NoSuchLocalTime(naive) => {
            blocks::ticket::opened_no_such_local_time(naive, lang)
        }
        TypedTicketRefusal::OpenedInTheFuture => blocks::ticket::opened_in_the_future(lang),
        TypedTicketRefusal::OpenedTooLongAgo => blocks::ticket::opened_too_long_ago(
            crate::usecase::ticket_form::MAX_BACKDATE.num_days(),
            lang,
        ),
    }))
}

/// Shows the escalation paths, or (admins only) sets one.
async fn escalation_paths(
    ctx: &Context,
    cmd: &SlashCommand,
    priority: Option<Priority>,
    change: Option<PathChange>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    // Only admins get here with a change (`Act::Administer`, checked on the way in).
    let shown = ctx
        .usecases
        .tickets
        .escalation_paths(&cmd.team_id, priority, change.as_ref(), &cmd.user_id, now)
        .await?;
    Ok(Answer::Ephemeral(blocks::ticket::escalation_paths(
        &shown,
        change.is_some(),
        lang,
    )))
}

/// The open tickets of the customer named, else of the channel's, else of the workspace.
async fn list_tickets(
    ctx: &Context,
    cmd: &SlashCommand,
    named: Option<Customer>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = match named {
        Some(c) => Some(c),
        None => {
            ctx.usecases
                .store
                .customer_by_channel(&cmd.team_id, &cmd.channel_id)
                .await?
        }
    };
    let tickets = &ctx.usecases.tickets;
    let open = tickets
        .open_by_urgency(&cmd.team_id, customer.as_ref().map(|c| c.id), now)
        .await?;
    let (open, owners): (Vec<_>, Vec<Customer>) = open.into_iter().unzip();
    let rows: Vec<_> = open
        .into_iter()
        .zip(&owners)
        .map(|(ticket, owner)| (ticket, owner.name.as_str(), tickets.calendar(owner.tier)))
        .collect();
    Ok(Answer::Ephemeral(blocks::ticket::ticket_list(
        &rows,
        &tickets.policy,
        now,
        lang,
    )))
}

async fn help_answer(ctx: &Context, cmd: &SlashCommand, lang: Lang) -> Result<Answer, Refusal> {
    let listing = ctx
        .usecases
        .help_listing(&cmd.team_id, &cmd.user_id)
        .await?;
    let kind = match listing.yours_of_more {
        Some(others) => help::Listed::Yours { others },
        None => help::Listed::Workspace,
    };
    let listed = listing.customers;
    Ok(Answer::Ephemeral(help::help(
        &ctx.usecases.template,
        &listed,
        kind,
        lang,
    )))
}

async fn new_customer(
    ctx: &Context,
    request: NewCustomerRequest,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    match ctx.usecases.create_customer(request, now).await? {
        Ok(created) if !created.queued => Ok(Answer::Ephemeral(busy(lang))),
        Ok(Created {
            customer,
            slug_generated,
            ..
        }) => Ok(Answer::Ephemeral(blocks::customer::created(
            &customer,
            customer.channel_id.as_deref(),
            slug_generated,
            lang,
        ))),
        Err(CreateRefusal::SlugTaken(existing)) => Err(Refusal::Message(
            blocks::customer::slug_taken(&existing, lang),
        )),
        Err(CreateRefusal::NameTaken(existing)) => Err(Refusal::Message(
            blocks::customer::name_taken(&existing, lang),
        )),
        Err(CreateRefusal::ChannelTaken(existing)) => Err(Refusal::Message(
            blocks::customer::channel_taken(&existing, lang),
        )),
    }
}

async fn show(
    ctx: &Context,
    cmd: &SlashCommand,
    first: Option<Word>,
    second: Option<Word>,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let request = ShowRequest {
        team_id: &cmd.team_id,
        channel_id: &cmd.channel_id,
        first,
        second,
        response_url: cmd.response_url.clone(),
        lang,
    };
    let (customer, category, states) = match ctx.usecases.show(request).await? {
        Ok(Shown::Posting { queued: true }) => return Ok(Answer::Nothing),
        Ok(Shown::Posting { queued: false }) => return Ok(Answer::Ephemeral(busy(lang))),
        Ok(Shown::States {
            customer,
            category,
            states,
        }) => (customer, category, states),
        Err(ShowRefusal::Customer(missing)) => return Err(not_found(&missing, Form::Show, lang)),
        Err(ShowRefusal::CategoryWithoutCustomer(word)) => {
            return Err(Refusal::Message(help::name_the_customer_too(&word, lang)));
        }
        Err(ShowRefusal::UnknownCategory(name)) => {
            return Err(Refusal::Message(help::unknown_category(
                &name,
                &ctx.usecases.template.categories,
                lang,
            )));
        }
    };
    let mut messages = match category {
        // Kept serialized while nothing it shows changes (`rendered`); a category in
        // several parts comes back rendered, to be sent below.
        Some(cat) => match ctx
            .rendered
            .ephemeral(&customer, cat.number, &states, lang, || {
                checklist::category_messages(&customer, cat, &states, lang)
            }) {
            Ok(body) => return Ok(Answer::EphemeralJson(body)),
            Err(parts) => parts,
        },
        None => vec![checklist::overview(
            ctx.usecases.view_of(&customer),
            &customer,
            &states,
            Some(&ctx.usecases.standing_of(&customer, &states, now)),
            lang,
        )],
    };
    let first = messages.remove(0);
    // A category longer than one message (only a team's own template makes one) sends
    // its further parts through response_url.
    if let Some(url) = &cmd.response_url {
        for message in messages {
            ctx.usecases.delivery.submit_or_warn(Job::Respond {
                response_url: url.clone(),
                message,
                replace_original: false,
            });
        }
    }
    Ok(Answer::Ephemeral(first))
}

#[allow(clippy::too_many_arguments)]
async fn tick(
    ctx: &Context,
    cmd: &SlashCommand,
    customer: Option<CustomerRef>,
    item: &str,
    done: bool,
    form: Form,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Answer, Refusal> {
    let customer = resolve_customer(ctx, cmd, customer.as_ref(), form, lang).await?;
    let item = resolve_item(ctx, &customer, item, form, lang)?;
    let actor = Actor::new(&cmd.user_id, Source::Command);
    let ticked = match ctx
        .usecases
        .tick_item(&customer, &item.key, done, actor, now)
        .await?
    {
        Ok(ticked) => ticked,
        Err(TickRefusal::Waiting(on)) => {
            return Err(Refusal::Message(checklist::waiting(
                &item.key,
                item.label(lang),
                &on,
                lang,
            )));
        }
    };
    let view = ctx.usecases.view_of(&customer);
    let category = view
        .category_of(&item.key)
        .expect("resolved items have a category");
    Ok(Answer::Ephemeral(checklist::ticked(
        item,
        category,
        ticked.progress,
        done,
        ticked.changed,
        lang,
    )))
}

/// The customer named, or the one whose channel this is.
pub(super) async fn resolve_customer(
    ctx: &Context,
    cmd: &SlashCommand,
    named: Option<&CustomerRef>,
    form: Form,
    lang: Lang,
) -> Result<Customer, Refusal> {
    ctx.usecases
        .resolve_customer(&cmd.team_id, &cmd.channel_id, named)
        .await?
        .map_err(|missing| not_found(&missing, form, lang))
}

pub(super) async fn named_customer(
    ctx: &Context,
    cmd: &SlashCommand,
    r: &CustomerRef,
    form: Form,
    lang: Lang,
) -> Result<Customer, Refusal> {
    ctx.usecases
        .named_customer(&cmd.team_id, r)
        .await?
        .map_err(|missing| not_found(&missing, form, lang))
}

fn not_found(missing: &NotFound, form: Form, lang: Lang) -> Refusal {
    Refusal::Message(match missing {
        NotFound::Unknown { named, known } => {
            blocks::customer::unknown(named, known, form.usage(), lang)
        }
        NotFound::Ambiguous { named, candidates } => {
            blocks::customer::ambiguous(named, candidates, form.usage(), lang)
        }
        NotFound::NotHere { known } => blocks::customer::name_one(known, form.usage(), lang),
    })
}

async fn name_a_customer(ctx: &Context, cmd: &SlashCommand, form: Form, lang: Lang) -> Refusal {
    let known = ctx.usecases.known_customers(&cmd.team_id).await;
    not_found(&NotFound::NotHere { known }, form, lang)
}

fn resolve_item<'t>(
    ctx: &'t Context,
    customer: &Customer,
    key: &str,
    form: Form,
    lang: Lang,
) -> Result<&'t Item, Refusal> {
    match ctx.usecases.item_for(customer, key) {
        Ok(item) => Ok(item),
        Err(ItemRefusal::OtherTier(tier)) => {
            Err(Refusal::Message(help::not_in_tier(key, tier, form, lang)))
        }
        Err(ItemRefusal::Unknown) => Err(Refusal::Message(help::unknown_item(
            key,
            looks_like_item_key(key),
            form,
            lang,
        ))),
    }
}
