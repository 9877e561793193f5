//! The onboarding plan: each item's due date planned from the customer's kickoff and
//! go-live in business days of its calendar (`domain::plan`), and its assignee from
//! the customer's onboarding team (`/readiness team`), for the items of the customer's
//! tier. A due date or assignee a person set is theirs: re-planning keeps it (the store
//! knows which fields the plan set). Every changed due date or assignee re-plans the
//! item's due-date reminder; a person newly named to a role gets one DM summing up what
//! they now own, not one per item.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use tracing::warn;

use super::UseCases;
use crate::blocks;
use crate::domain::calendar::Calendar;
use crate::domain::checklist::States;
use crate::domain::command::MAX_CONTACTS;
use crate::domain::customer::Customer;
use crate::domain::plan::planned_due;
use crate::domain::team::{RoleHeld, owned_by, team_view};
use crate::domain::template::{Anchor, Owner, Template};
use crate::store::audit::Actor;
use crate::store::outbox::{DirectBody, Enqueue, Post};
use crate::store::{ItemPlan, ItemUpdate, TeamChange};
use crate::usecase::reminders::{GoLiveError, WentLive};

/// Every anchor: a new customer, or a new tier (whose view and calendar differ).
pub const ALL_ANCHORS: [Anchor; 2] = [Anchor::Kickoff, Anchor::GoLive];

/// What the plan wants, for the items of `view` neither done nor N/A: the due date of
/// each item whose rule counts from one of `anchors` (when that date is known), and
/// the assignee of each item owned by one of `roles` (its holder in `team`, or nobody).
/// The store writes only what no person set.
pub fn item_plans(
    view: &Template,
    states: &States,
    (kickoff, golive): (Option<NaiveDate>, Option<NaiveDate>),
    calendar: &Calendar,
    anchors: &[Anchor],
    (team, roles): (&[(Owner, String)], &[Owner]),
) -> Vec<ItemPlan> {
    view.items()
        .filter(|item| {
            states
                .get(&item.key)
                .is_none_or(|s| !s.is_done() && !s.not_applicable)
        })
        .filter_map(|item| {
            let due = item
                .due
                .filter(|rule| anchors.contains(&rule.anchor))
                .and_then(|rule| planned_due(rule, kickoff, golive, calendar))
                .map(Some);
            let assignee = item.owner.filter(|o| roles.contains(o)).map(|role| {
                team.iter()
                    .find(|(r, _)| *r == role)
                    .map(|(_, user)| user.clone())
            });
            (due.is_some() || assignee.is_some()).then(|| ItemPlan {
                key: item.key.clone(),
                due,
                assignee,
            })
        })
        .collect()
}

/// What `/readiness team` with changes did.
#[derive(Debug, Clone, Default)]
pub struct TeamChanged {
    pub team: TeamChange,
    /// Items whose assignee the plan changed.
    pub reassigned: usize,
    /// People told by DM what they now own (the one who named them is not).
    pub told: Vec<String>,
    /// The `customer=` person made one of the customer's contacts.
    pub contact_added: Option<String>,
}

impl UseCases {
    /// The customer's tier's view of the template and its calendar.
    fn plan_basis(&self, customer: &Customer) -> (&Template, &Calendar) {
        (
            self.template.for_tier(customer.tier),
            self.tickets.calendar(customer.tier),
        )
    }

    /// Re-plans `customer`'s items: due dates counting from `anchors`, assignees of the
    /// items owned by `roles`; audited as one `action` entry. The changed items' due
    /// reminders follow. Returns the items that changed.
    pub async fn replan(
        &self,
        customer: &Customer,
        anchors: &[Anchor],
        roles: &[Owner],
        action: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, ItemUpdate)>, sqlx::Error> {
        let states = self.store.item_states(customer.id).await?;
        let team = if roles.is_empty() {
            Vec::new()
        } else {
            self.store.onboarding_team(customer).await?
        };
        let (view, calendar) = self.plan_basis(customer);
        let plans = item_plans(
            view,
            &states,
            (customer.kickoff_on, customer.golive_on),
            calendar,
            anchors,
            (&team, roles),
        );
        let changed = self
            .store
            .plan_items(customer, &plans, action, actor, now)
            .await?;
        if changed.is_empty() {
            return Ok(changed);
        }
        self.delivery.checklist_changed();
        let mut zones = HashMap::new();
        for (_, update) in &changed {
            if let Some(user) = &update.after.assignee
                && !zones.contains_key(user)
                && let Some(tz) = self.users.tz_of(&customer.team_id, user).await
            {
                zones.insert(user.clone(), tz);
            }
        }
        self.reminders
            .plan_items_due(customer, &changed, &zones, actor, now)
            .await?;
        Ok(changed)
    }

    /// A new customer's kickoff (`kickoff=`, else today in its zone) recorded, and every
    /// item's due date planned from it.
    pub(super) async fn plan_new_customer(
        &self,
        customer: &Customer,
        kickoff: Option<NaiveDate>,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Customer, sqlx::Error> {
        let zone = self.reminders.zone_of(customer);
        let mut after = customer.clone();
        after.kickoff_on = Some(kickoff.unwrap_or_else(|| now.with_timezone(&zone).date_naive()));
        self.store
            .update_customer(customer, &after, "customer.kickoff", actor, now)
            .await?;
        self.replan(&after, &ALL_ANCHORS, &[], "plan.dated", actor, now)
            .await?;
        Ok(after)
    }

    /// `/readiness golive` with a date (typed, or the proposal confirmed): recorded with
    /// its milestones (`Reminders::go_live`), and the `golive±Nd` due dates re-planned.
    pub async fn go_live(
        &self,
        customer: &Customer,
        date: NaiveDate,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<WentLive, GoLiveError> {
        let went = self.reminders.go_live(customer, date, actor, now).await?;
        self.replan(
            &went.customer,
            &[Anchor::GoLive],
            &[],
            "plan.dated",
            actor,
            now,
        )
        .await?;
        Ok(went)
    }

    /// `/readiness team` without changes: who holds each role, and what they own.
    pub async fn team_of(&self, customer: &Customer) -> Result<Vec<RoleHeld>, sqlx::Error> {
        let team = self.store.onboarding_team(customer).await?;
        let states = self.store.item_states(customer.id).await?;
        Ok(team_view(
            self.template.for_tier(customer.tier),
            &states,
            &team,
        ))
    }

    /// `/readiness team acme csm=@a …`: the roles named (or taken back), the items they
    /// own assigned (moved, or taken back) unless a person assigned them, the
    /// `customer=` person made a contact, and each person newly named told once by DM
    /// what they now own.
    pub async fn set_team(
        &self,
        customer: &Customer,
        changes: &[(Owner, Option<String>)],
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<TeamChanged, sqlx::Error> {
        let team = self
            .store
            .set_onboarding_team(customer, changes, actor, now)
            .await?;
        let holder = |list: &[(Owner, String)], role: Owner| {
            list.iter()
                .find(|(r, _)| *r == role)
                .map(|(_, u)| u.clone())
        };
        let moved: Vec<Owner> = Owner::ALL
            .into_iter()
            .filter(|&r| holder(&team.before, r) != holder(&team.after, r))
            .collect();
        let mut outcome = TeamChanged {
            team: team.clone(),
            ..Default::default()
        };
        if moved.is_empty() {
            return Ok(outcome);
        }
        if moved.contains(&Owner::Customer)
            && let Some(person) = holder(&team.after, Owner::Customer)
        {
            let mut contacts = self.store.contacts(customer).await?;
            // A customer at the most contacts keeps its list; the person still holds
            // the role.
            if !contacts.contains(&person) && contacts.len() < MAX_CONTACTS {
                contacts.push(person.clone());
                self.store
                    .set_contacts(customer, &contacts, actor, now)
                    .await?;
                outcome.contact_added = Some(person);
            }
        }
        let changed = self
            .replan(customer, &[], &moved, "plan.assigned", actor, now)
            .await?;
        outcome.reassigned = changed
            .iter()
            .filter(|(_, u)| u.before.assignee != u.after.assignee)
            .count();
        // One DM per person newly named, whatever the number of their roles or items.
        let mut named: Vec<(String, Vec<Owner>)> = Vec::new();
        for role in moved {
            let Some(person) = holder(&team.after, role) else {
                continue;
            };
            if person == actor.user {
                continue;
            }
            match named.iter_mut().find(|(p, _)| *p == person) {
                Some((_, roles)) => roles.push(role),
                None => named.push((person, vec![role])),
            }
        }
        if named.is_empty() {
            return Ok(outcome);
        }
        let states = self.store.item_states(customer.id).await?;
        let view = self.template.for_tier(customer.tier);
        for (person, roles) in named {
            let (owned, first_due) = owned_by(view, &states, &person);
            let lang = self.users.lang_for(&customer.team_id, &person).await;
            let message =
                blocks::team::named_dm(customer, &roles, owned, first_due, actor.user, lang);
            let row = Enqueue {
                key: format!("team:{}:{person}:{}", customer.id, now.timestamp_millis()),
                team_id: customer.team_id.clone(),
                channel_id: person.clone(),
                ticket_id: None,
                post: Post::Direct(DirectBody {
                    customer_id: Some(customer.id),
                    message,
                }),
            };
            match self.store.enqueue(&row, now).await {
                Ok(_) => outcome.told.push(person),
                Err(e) => warn!(error = %e, "cannot record the team DM"),
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::{ItemState, Tier};
    use crate::domain::plan::add_business_days;

    use crate::domain::{day, japan_weekdays as japan};

    #[test]
    fn every_dated_item_of_the_tier_is_planned_from_its_anchor() {
        let template = Template::builtin();
        let view = template.for_tier(Tier::Standard);
        let cal = japan();
        let kickoff = day(2027, 1, 11);
        let plans = item_plans(
            view,
            &States::new(),
            (Some(kickoff), None),
            &cal,
            &ALL_ANCHORS,
            (&[], &[]),
        );
        let kickoff_items: Vec<_> = view
            .items()
            .filter(|i| i.due.is_some_and(|r| r.anchor == Anchor::Kickoff))
            .collect();
        assert!(!kickoff_items.is_empty());
        // Without a go-live, only the kickoff's items get a date.
        assert_eq!(plans.len(), kickoff_items.len());
        for (plan, item) in plans.iter().zip(&kickoff_items) {
            let rule = item.due.unwrap();
            assert_eq!(plan.key, item.key);
            assert_eq!(
                plan.due,
                Some(Some(add_business_days(&cal, kickoff, rule.business_days)))
            );
            assert!(cal.is_business_day(plan.due.unwrap().unwrap()));
            assert_eq!(plan.assignee, None);
        }
        // No Enterprise-only item is in a Standard customer's plan.
        assert!(plans.iter().all(|p| view.item(&p.key).is_some()));
    }

    #[test]
    fn a_golive_replan_touches_only_golive_items_and_skips_done_ones() {
        let template = Template::builtin();
        let view = template.for_tier(Tier::Enterprise);
        let cal = japan();
        let golive_items: Vec<_> = view
            .items()
            .filter(|i| i.due.is_some_and(|r| r.anchor == Anchor::GoLive))
            .map(|i| i.key.clone())
            .collect();
        assert!(golive_items.len() > 1);
        let mut states = States::new();
        states.insert(
            golive_items[0].clone(),
            ItemState {
                done_at: Some(1),
                ..Default::default()
            },
        );
        let plans = item_plans(
            view,
            &states,
            (Some(day(2027, 1, 11)), Some(day(2027, 3, 1))),
            &cal,
            &[Anchor::GoLive],
            (&[], &[]),
        );
        let keys: Vec<_> = plans.iter().map(|p| p.key.clone()).collect();
        assert_eq!(keys, golive_items[1..]);
        for plan in &plans {
            let rule = view.item(&plan.key).unwrap().due.unwrap();
            let expected = add_business_days(&cal, day(2027, 3, 1), rule.business_days);
            assert_eq!(plan.due, Some(Some(expected)), "{}", plan.key);
        }
    }

    #[test]
    fn roles_assign_their_items_and_a_role_taken_back_unassigns_them() {
        let template = Template::builtin();
        let view = template.for_tier(Tier::Standard);
        let cal = japan();
        let team = [(Owner::Csm, "U1".to_string())];
        let plans = item_plans(
            view,
            &States::new(),
            (None, None),
            &cal,
            &[],
            (&team, &[Owner::Csm, Owner::Se]),
        );
        let csm = view.items().filter(|i| i.owner == Some(Owner::Csm)).count();
        let se = view.items().filter(|i| i.owner == Some(Owner::Se)).count();
        assert!(csm > 0 && se > 0);
        assert_eq!(plans.len(), csm + se);
        let given = |who: Option<&str>| {
            plans
                .iter()
                .filter(|p| p.assignee == Some(who.map(str::to_string)))
                .count()
        };
        assert_eq!(given(Some("U1")), csm);
        // Nobody holds se: its items are planned to nobody (which frees only the
        // plan's own assignments).
        assert_eq!(given(None), se);
        assert!(plans.iter().all(|p| p.due.is_none()));
    }
}
