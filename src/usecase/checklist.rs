//! The checklist: ticking and unticking items (typed, or a click on a checkbox group),
//! and changing an item (assignee, due date, note, not applicable) with what that sets
//! off: the posted messages re-rendered, the due reminder re-planned in the assignee's
//! time zone, and a DM to a new assignee.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::UseCases;
use crate::blocks::ids::{TickGroup, tick_block_id_of};
use crate::domain::checklist::{Progress, category_progress, tick_diff};
use crate::domain::customer::Customer;
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
