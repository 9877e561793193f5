//! `/readiness plan` and the health other surfaces show: what a customer's plan is
//! rendered from (its tier's view of the template, its items' states, its calendar and
//! today in its zone), and its health at an instant.
//!
//! Health depends on the day as well as on the states, so it is computed whenever it
//! is rendered, from `now`; nothing stores it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::UseCases;
use crate::domain::calendar::Calendar;
use crate::domain::checklist::States;
use crate::domain::customer::Customer;
use crate::domain::plan::{Standing, standing_at};
use crate::domain::template::Template;

/// A customer's plan as it stands today.
pub struct PlanView<'a> {
    pub customer: Customer,
    /// The customer's tier's view of the template.
    pub view: &'a Template,
    pub states: Arc<States>,
    pub calendar: &'a Calendar,
    /// Today in the customer's zone.
    pub today: NaiveDate,
}

impl UseCases {
    /// What `/readiness plan` shows of `customer` at `now`.
    pub async fn plan_view(
        &self,
        customer: Customer,
        now: DateTime<Utc>,
    ) -> Result<PlanView<'_>, sqlx::Error> {
        let states = self.store.item_states(customer.id).await?;
        let calendar = self.tickets.calendar(customer.tier);
        Ok(PlanView {
            view: self.template.for_tier(customer.tier),
            today: now.with_timezone(&calendar.tz).date_naive(),
            calendar,
            states,
            customer,
        })
    }

    /// The health of `customer`, whose states are `states`, at `now`.
    pub fn standing_of(
        &self,
        customer: &Customer,
        states: &States,
        now: DateTime<Utc>,
    ) -> Standing {
        standing_at(
            self.template.for_tier(customer.tier),
            states,
            now,
            self.tickets.calendar(customer.tier),
        )
    }
}
