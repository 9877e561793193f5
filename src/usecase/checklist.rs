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
use crate::domain::checklist::{ItemState, Progress, States, category_progress, tick_diff};
use crate::domain::command::{CustomerRef, Word};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::template::{Category, Item};
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
    /// Marks item `key` of `customer` done (or not done). `key` is the template's.
    pub async fn tick_item(
        &self,
        customer: &Customer,
        key: &str,
        done: bool,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Ticked, sqlx::Error> {
        let keys = [key.to_string()];
        let (ticked, unticked): (&[String], &[String]) =
            if done { (&keys, &[]) } else { (&[], &keys) };
        let changed = self
            .set_done(customer, ticked, unticked, actor, now)
            .await?;
        let states = self.store.item_states(customer.id).await?;
        let category = self
            .template
            .category_of(key)
            .expect("resolved items have a category");
        Ok(Ticked {
            changed,
            progress: category_progress(category, &states),
        })
    }

    /// A click on a checkbox group: the change from what the clicker saw to what they
    /// selected. What they saw is the group as rendered, or their own previous click
    /// on this copy (`message_ts`) if the app has not re-rendered it since.
    pub async fn tick_group(
        &self,
        team: &str,
        user: &str,
        message_ts: Option<&str>,
        group: TickGroup,
        selected: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        // An id from another workspace, or a guessed one, finds nothing.
        let Some(customer) = self.store.customer_by_id(team, group.customer).await? else {
            return Ok(());
        };
        let seen = match message_ts {
            Some(ts) => self
                .delivery
                .clicks()
                .exchange(user, ts, &tick_block_id_of(&group), selected.clone())
                .unwrap_or_else(|| group.ticked.clone()),
            None => group.ticked.clone(),
        };
        let diff = tick_diff(&group.keys, &seen, &selected, |k| {
            self.template.item(k).is_some()
        });
        let actor = Actor::new(user, Source::Button);
        self.set_done(&customer, &diff.ticked, &diff.unticked, actor, now)
            .await?;
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
            .set_done(customer.id, ticked, unticked, actor.user, actor.source, now)
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
            Some(word) => match self.template.find_category(&word.text) {
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

    /// Item `key` of customer `customer_id` of `team`, with its state, for the item
    /// menu's modal; `None` when either is not found (an id from another workspace, or
    /// a guessed one, finds nothing).
    pub async fn item_of(
        &self,
        team: &str,
        customer_id: i64,
        key: &str,
    ) -> Result<Option<(Customer, &Item, ItemState)>, sqlx::Error> {
        let Some(customer) = self.store.customer_by_id(team, customer_id).await? else {
            return Ok(None);
        };
        let Some(item) = self.template.item(key) else {
            return Ok(None);
        };
        let states = self.store.item_states(customer.id).await?;
        let state = states.get(&item.key).cloned().unwrap_or_default();
        Ok(Some((customer, item, state)))
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
        let Some(category) = self.template.category(number) else {
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
