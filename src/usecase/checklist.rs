//! The checklist: ticking and unticking items (typed, or a click on a checkbox group),
//! and changing an item (assignee, due date, note, not applicable) with what that sets
//! off: the posted messages re-rendered, the due reminder re-planned in the assignee's
//! time zone, and a DM to a new assignee. And showing it (`/readiness show`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::warn;

use super::UseCases;
use super::customers::NotFound;
use crate::blocks::ids::{TickGroup, tick_block_id_of};
use crate::delivery::worker::Job;
use crate::domain::checklist::{
    ItemState, Progress, States, Tier, Waiting, category_progress, hold_waiting, tick_diff,
};
use crate::domain::command::{CustomerRef, Word};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::plan::waiting_on;
use crate::domain::template::{Category, Item, Owner, Template};
use crate::store::audit::{Actor, Source};
use crate::store::outbox::{AssignedDm, Enqueue};
use crate::store::{ItemChange, ItemUpdate};

/// An item ticked or unticked by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticked {
    /// False when it already was so.
    pub changed: bool,
    /// Its category's progress afterwards.
    pub progress: Progress,
}

/// Why an item named for a customer is not one of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRefusal {
    /// No item has that key.
    Unknown,
    /// The item is in the template, but not in this tier's checklist.
    OtherTier(Tier),
}

/// Why an item cannot be ticked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickRefusal {
    /// It waits on these prerequisites (item keys), neither done nor N/A.
    Waiting(Vec<String>),
}

/// Who clicked a checkbox group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clicker<'a> {
    /// Staff allowed to work on checklists.
    Staff,
    /// The customer's side (`UseCases::side_of`): they may tick and untick only the
    /// items their tier's checklist gives `owner = "customer"`, and only on a message
    /// in that customer's own channel (`in_channel`, where the click came from).
    Customer { in_channel: Option<&'a str> },
}

/// What a click on a checkbox group did not do (everything else it did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTicked {
    /// Items it would have ticked that wait on prerequisites.
    pub waiting: Vec<Waiting>,
    /// A customer-side person changed items that are not theirs to change: none of
    /// those changed.
    pub not_theirs: bool,
}

impl GroupTicked {
    pub fn refused_anything(&self) -> bool {
        !self.waiting.is_empty() || self.not_theirs
    }
}

/// `/readiness show [<customer>] [<category>]`, as typed in a channel.
#[derive(Debug, Clone)]
pub struct ShowRequest<'a> {
    pub team_id: &'a str,
    /// Where it was typed: a customer's channel implies that customer.
    pub channel_id: &'a str,
    pub first: Option<Word>,
    pub second: Option<Word>,
    /// Where the posted checklist answers, in the customer's own channel.
    pub response_url: Option<String>,
    pub lang: Lang,
}

/// What `show` found to show.
pub enum Shown<'t> {
    /// Typed in the customer's own channel: the checklist (or the category) is posted
    /// there; `queued` is false when the queue was full and nothing was.
    Posting { queued: bool },
    /// Typed elsewhere: the states for the answer to show.
    States {
        /// Boxed: a customer is far larger than the other variant.
        customer: Box<Customer>,
        category: Option<&'t Category>,
        states: Arc<States>,
    },
}

/// What a category button of the overview shows.
pub enum CategoryShown<'t> {
    /// Clicked on the customer's message in its channel: the category is posted there.
    Posted,
    /// Clicked anywhere else: the states for the clicker's own view.
    States {
        /// Boxed: a customer is far larger than the other variant.
        customer: Box<Customer>,
        category: &'t Category,
        states: Arc<States>,
    },
}

/// One item of one customer, for its modal.
pub struct ItemShown<'t> {
    pub customer: Customer,
    pub item: &'t Item,
    pub state: ItemState,
    /// Its prerequisites still open: it cannot be ticked until they are done or N/A.
    pub waiting: Vec<String>,
}

/// Why `show` shows nothing.
#[derive(Debug)]
pub enum ShowRefusal {
    Customer(NotFound),
    /// A category named where no customer is implied (no customer is called that).
    CategoryWithoutCustomer(String),
    UnknownCategory(String),
}

/// Why an item's change failed, so the modal can point at the field it is about.
#[derive(Debug, thiserror::Error)]
pub enum ItemChangeError {
    #[error("cannot save the item: {0}")]
    Saving(sqlx::Error),
    #[error("cannot plan the item's due reminder: {0}")]
    Planning(sqlx::Error),
}

impl UseCases {
    /// The checklist `customer` sees and is counted against: its tier's view.
    pub fn view_of(&self, customer: &Customer) -> &Template {
        self.template.for_tier(customer.tier)
    }

    /// Item `key` of `customer`'s checklist, or why it is not one of theirs.
    pub fn item_for(&self, customer: &Customer, key: &str) -> Result<&Item, ItemRefusal> {
        if let Some(item) = self.view_of(customer).item(key) {
            return Ok(item);
        }
        match self.template.item(key) {
            Some(_) => Err(ItemRefusal::OtherTier(customer.tier)),
            None => Err(ItemRefusal::Unknown),
        }
    }

    /// Marks item `key` of `customer` done (or not done). `key` is one of the
    /// customer's tier's items ([`Self::item_for`]). An item still waiting on a
    /// prerequisite is not ticked; unticking is always allowed, and leaves the items
    /// after it as they are.
    pub async fn tick_item(
        &self,
        customer: &Customer,
        key: &str,
        done: bool,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Ticked, TickRefusal>, sqlx::Error> {
        let view = self.view_of(customer);
        if done && let Some(item) = view.item(key) {
            let states = self.store.item_states(customer.id).await?;
            let is_done = states.get(key).is_some_and(ItemState::is_done);
            let waiting = waiting_on(item, &states);
            if !is_done && !waiting.is_empty() {
                return Ok(Err(TickRefusal::Waiting(
                    waiting.into_iter().map(str::to_string).collect(),
                )));
            }
        }
        let keys = [key.to_string()];
        let (ticked, unticked): (&[String], &[String]) =
            if done { (&keys, &[]) } else { (&[], &keys) };
        let changed = self
            .set_done(customer, ticked, unticked, actor, now)
            .await?;
        let states = self.store.item_states(customer.id).await?;
        let progress = view
            .category_of(key)
            .map(|category| category_progress(category, &states))
            .unwrap_or_default();
        Ok(Ok(Ticked { changed, progress }))
    }

    /// A click on a checkbox group: the change from what the clicker saw to what they
    /// selected. What they saw is the group as rendered, or their own previous click
    /// on this copy (`message_ts`) if the app has not re-rendered it since. Only the
    /// customer's tier's items count; ticks of items still waiting are held back, and
    /// a customer-side clicker changes only the customer's own items. When anything
    /// was refused, the posted message clicked (`posted`: its channel and ts, not an
    /// ephemeral copy) is rendered again, so the box shows as it is stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn tick_group(
        &self,
        team: &str,
        user: &str,
        message_ts: Option<&str>,
        posted: Option<(&str, &str)>,
        group: TickGroup,
        selected: Vec<String>,
        clicker: Clicker<'_>,
        now: DateTime<Utc>,
    ) -> Result<GroupTicked, sqlx::Error> {
        // An id from another workspace, or a guessed one, finds nothing.
        let Some(customer) = self.store.customer_by_id(team, group.customer).await? else {
            return Ok(GroupTicked::default());
        };
        let seen = match message_ts {
            Some(ts) => self
                .delivery
                .clicks()
                .exchange(user, ts, &tick_block_id_of(&group), selected.clone())
                .unwrap_or_else(|| group.ticked.clone()),
            None => group.ticked.clone(),
        };
        let view = self.view_of(&customer);
        let mut outcome = GroupTicked::default();
        let mut diff = tick_diff(&group.keys, &seen, &selected, |k| view.item(k).is_some());
        if let Clicker::Customer { in_channel } = clicker {
            let own_channel = in_channel.is_some() && in_channel == customer.channel_id.as_deref();
            let theirs = |k: &String| {
                own_channel
                    && view
                        .item(k)
                        .is_some_and(|i| i.owner == Some(Owner::Customer))
            };
            let before = diff.ticked.len() + diff.unticked.len();
            diff.ticked.retain(theirs);
            diff.unticked.retain(theirs);
            outcome.not_theirs = diff.ticked.len() + diff.unticked.len() < before;
        }
        if !diff.ticked.is_empty() {
            let states = self.store.item_states(customer.id).await?;
            outcome.waiting = hold_waiting(&mut diff, view, &states);
        }
        let actor = Actor::new(user, Source::Button);
        self.set_done(&customer, &diff.ticked, &diff.unticked, actor, now)
            .await?;
        if outcome.refused_anything() {
            // The copy is to show what is stored, not the refused click: a next click
            // on it is read against that.
            if let Some(ts) = message_ts {
                let mut shown: Vec<String> = seen
                    .into_iter()
                    .filter(|k| !diff.unticked.contains(k))
                    .collect();
                shown.extend(diff.ticked.iter().cloned());
                let block_id = tick_block_id_of(&group);
                self.delivery.clicks().exchange(user, ts, &block_id, shown);
            }
            if let Some((channel, ts)) = posted {
                self.show_again(channel, ts).await?;
            }
        }
        Ok(outcome)
    }

    /// Renders a posted checklist message again as stored: after a refused click,
    /// whose box Slack's client shows ticked until the message changes.
    pub async fn show_again(&self, channel: &str, ts: &str) -> Result<(), sqlx::Error> {
        if self.store.mark_message_stale(channel, ts).await? {
            self.delivery.look_for_stale();
        }
        Ok(())
    }

    /// Ticks and unticks, and wakes the updater if anything changed.
    async fn set_done(
        &self,
        customer: &Customer,
        ticked: &[String],
        unticked: &[String],
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let changed = self
            .store
            .set_done(customer, ticked, unticked, actor.user, actor.source, now)
            .await?;
        if !changed.is_empty() {
            self.delivery.checklist_changed();
        }
        Ok(!changed.is_empty())
    }

    /// Changes item `key` of `customer` (in workspace `team`): saved, the posted
    /// messages woken, its due reminder re-planned in the assignee's time zone, and a
    /// new assignee (other than the one assigning) told by DM.
    pub async fn change_item(
        &self,
        team: &str,
        customer: &Customer,
        key: &str,
        change: &ItemChange,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<ItemUpdate, ItemChangeError> {
        let update = self
            .store
            .change_item(customer.id, key, change, actor, now)
            .await
            .map_err(ItemChangeError::Saving)?;
        if update.after != update.before {
            self.delivery.checklist_changed();
        }
        let assignee_tz = match &update.after.assignee {
            Some(user) => self.users.tz_of(team, user).await,
            None => None,
        };
        self.reminders
            .plan_item_due(customer, key, &update, assignee_tz, actor, now)
            .await
            .map_err(ItemChangeError::Planning)?;
        if let Some(user) = &update.after.assignee
            && update.before.assignee.as_ref() != Some(user)
            && user != actor.user
        {
            let dm = AssignedDm {
                customer_id: customer.id,
                item: key.to_string(),
                by: actor.user.to_string(),
                due: update.after.due,
            };
            let row = Enqueue::assigned_dm(team, user, &dm, now);
            if let Err(e) = self.store.enqueue(&row, now).await {
                warn!(error = %e, "cannot record the assignee's DM");
            }
        }
        Ok(update)
    }
}

impl UseCases {
    /// Finds the customer and category `show` names (a lone word is the channel's
    /// customer's category if it is one, else a customer), then posts the checklist
    /// in the customer's own channel, or returns its states to show elsewhere.
    pub async fn show(
        &self,
        request: ShowRequest<'_>,
    ) -> Result<Result<Shown<'_>, ShowRefusal>, sqlx::Error> {
        let team = request.team_id;
        let here = self
            .store
            .customer_by_channel(team, request.channel_id)
            .await?;
        let (customer, category_word) = match (request.first, request.second) {
            (Some(c), Some(cat)) => match self.named_customer(team, &c.customer_ref()).await? {
                Ok(customer) => (customer, Some(cat)),
                Err(missing) => return Ok(Err(ShowRefusal::Customer(missing))),
            },
            (Some(word), None) => {
                // The categories are the same in every tier's view.
                let is_category = !word.quoted && self.template.find_category(&word.text).is_some();
                match (&here, is_category) {
                    (Some(here), true) => (here.clone(), Some(word)),
                    _ => match self.find_customer(team, &word.customer_ref()).await? {
                        Some(c) => (c, None),
                        None if is_category => {
                            return Ok(Err(ShowRefusal::CategoryWithoutCustomer(word.text)));
                        }
                        None => {
                            // Read as typed: a slug, else a name (which may be several
                            // customers').
                            let missing = self
                                .customer_not_found(team, &CustomerRef::Slug(word.text))
                                .await;
                            return Ok(Err(ShowRefusal::Customer(missing)));
                        }
                    },
                }
            }
            (None, _) => match here {
                Some(c) => (c, None),
                None => {
                    let known = self.known_customers(team).await;
                    return Ok(Err(ShowRefusal::Customer(NotFound::NotHere { known })));
                }
            },
        };
        let category = match category_word {
            Some(word) => match self.view_of(&customer).find_category(&word.text) {
                Some(category) => Some(category),
                None => return Ok(Err(ShowRefusal::UnknownCategory(word.text))),
            },
            None => None,
        };
        if customer.channel_id.as_deref() == Some(request.channel_id) {
            let job = Job::PostChecklist {
                customer_id: customer.id,
                category: category.map(|c| c.number),
                pin: false,
                response_url: request.response_url,
                lang: request.lang,
            };
            let queued = self.delivery.submit(job).is_ok();
            return Ok(Ok(Shown::Posting { queued }));
        }
        let states = self.store.item_states(customer.id).await?;
        Ok(Ok(Shown::States {
            customer: Box::new(customer),
            category,
            states,
        }))
    }
}

impl UseCases {
    /// Customer `customer_id` of `team` with its items' states (for the App Home's
    /// checklist modal); `None` for an id from another workspace, or a guessed one.
    pub async fn checklist_of(
        &self,
        team: &str,
        customer_id: i64,
    ) -> Result<Option<(Customer, Arc<States>)>, sqlx::Error> {
        let Some(customer) = self.store.customer_by_id(team, customer_id).await? else {
            return Ok(None);
        };
        let states = self.store.item_states(customer.id).await?;
        Ok(Some((customer, states)))
    }

    /// Item `key` of customer `customer_id` of `team`, with its state and what it
    /// waits on, for the item menu's modal; `None` when either is not found (an id from
    /// another workspace, or a guessed one, finds nothing; an item of another tier is
    /// not the customer's).
    pub async fn item_of(
        &self,
        team: &str,
        customer_id: i64,
        key: &str,
    ) -> Result<Option<ItemShown<'_>>, sqlx::Error> {
        let Some(customer) = self.store.customer_by_id(team, customer_id).await? else {
            return Ok(None);
        };
        let Ok(item) = self.item_for(&customer, key) else {
            return Ok(None);
        };
        let states = self.store.item_states(customer.id).await?;
        let state = states.get(&item.key).cloned().unwrap_or_default();
        let waiting = if state.is_done() || state.not_applicable {
            Vec::new()
        } else {
            waiting_on(item, &states)
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        Ok(Some(ItemShown {
            customer,
            item,
            state,
            waiting,
        }))
    }
}

impl UseCases {
    /// The overview's button for category `number` of customer `customer_id` of
    /// `team`. `in_channel` is the channel of the (not ephemeral) message clicked,
    /// if it is one: in the customer's own channel the category is posted there, in
    /// `lang`, answering `response_url`. `None` for an id from another workspace, or
    /// a guessed one.
    pub async fn show_category(
        &self,
        team: &str,
        customer_id: i64,
        number: u32,
        in_channel: Option<&str>,
        response_url: Option<String>,
        lang: Lang,
    ) -> Result<Option<CategoryShown<'_>>, sqlx::Error> {
        let Some(customer) = self.store.customer_by_id(team, customer_id).await? else {
            return Ok(None);
        };
        let Some(category) = self.view_of(&customer).category(number) else {
            return Ok(None);
        };
        if in_channel.is_some() && in_channel == customer.channel_id.as_deref() {
            self.delivery.submit_or_warn(Job::PostChecklist {
                customer_id: customer.id,
                category: Some(number),
                pin: false,
                response_url,
                lang,
            });
            return Ok(Some(CategoryShown::Posted));
        }
        let states = self.store.item_states(customer.id).await?;
        Ok(Some(CategoryShown::States {
            customer: Box::new(customer),
            category,
            states,
        }))
    }
}
