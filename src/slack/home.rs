//! The App Home: each viewer's dashboard, rendered from the database and published with
//! `views.publish` when they open the tab, and again (debounced) when what it shows
//! changes. A Home is a replaceable view, not a post: publishing it twice does no harm,
//! so it does not go through the outbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use slack_morphism::prelude::SlackView;
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::blocks::home::{DueItem, HomeCustomer, HomeInput, HomeTicket, home_view};
use crate::delivery::slack_api::{ApiError, SlackApi, with_deadline};
use crate::delivery::users::{Side, Users};
use crate::domain::checklist::{category_progress, overall_progress};
use crate::domain::customer::Customer;
use crate::domain::plan::standing_at;
use crate::domain::template::Template;
use crate::domain::ticket::Ticket;
use crate::usecase::tickets::{Tickets, ticket_of, urgency};

/// Changes within this long of each other cost one re-publish per viewer.
const DEBOUNCE: Duration = Duration::from_secs(2);
/// Viewers who opened their Home (or turned its page) within this long get it
/// refreshed; others see a fresh one the next time they open it.
const WATCHED_FOR: Duration = Duration::from_secs(24 * 3600);
/// Between two publishes of a refresh pass: `views.publish` is a tier 4 method (about
/// 100 a minute per workspace), and a pass may cover many viewers.
const PUBLISH_GAP: Duration = Duration::from_millis(700);
/// Watched Homes are re-published this often even without a change.
const REFRESH_EVERY: Duration = Duration::from_secs(60);
/// Items due within this many days (or overdue) are listed for the viewer.
const DUE_WITHIN_DAYS: i64 = 7;
/// The customer satisfaction shown covers this many days.
const CSAT_DAYS: i64 = 30;

/// (team, user) → the page they are on and when they last opened the Home.
type Viewers = HashMap<(String, String), (usize, Instant)>;

#[derive(Clone)]
pub struct Home {
    api: SlackApi,
    support: Tickets,
    template: Arc<Template>,
    users: Users,
    viewers: Arc<Mutex<Viewers>>,
    /// Raised by the store and the checklist handlers (`Wake::home`).
    changed: Arc<crate::store::Wake>,
}

impl Home {
    pub fn new(api: SlackApi, support: Tickets, template: Arc<Template>, users: Users) -> Self {
        Self {
            api,
            template,
            users,
            viewers: Arc::default(),
            changed: support.store.wakers().clone(),
            support,
        }
    }

    /// Something a Home shows changed: watched Homes are re-published shortly.
    pub fn changed(&self) {
        self.changed.home.notify_one();
    }

    /// Re-publishes watched Homes after changes, at most once per [`DEBOUNCE`], and
    /// every [`REFRESH_EVERY`] while any is watched, so their "due in" and "breached
    /// by" keep up with the clock (Slack has no live countdown).
    pub async fn run_refresher(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let watching = !self.viewers.lock().expect("home viewers lock").is_empty();
            // Nobody watching: nothing to keep fresh, so only a change wakes it.
            let tick = async {
                if watching {
                    tokio::time::sleep(REFRESH_EVERY).await
                } else {
                    std::future::pending().await
                }
            };
            tokio::select! {
                _ = self.changed.home.notified() => {}
                _ = tick => {}
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(DEBOUNCE) => {}
                _ = shutdown.changed() => return,
            }
            let watched: Vec<((String, String), usize)> = {
                let mut viewers = self.viewers.lock().expect("home viewers lock");
                viewers.retain(|_, (_, at)| at.elapsed() < WATCHED_FOR);
                viewers
                    .iter()
                    .map(|(key, (page, _))| (key.clone(), *page))
                    .collect()
            };
            for (n, ((team, user), page)) in watched.into_iter().enumerate() {
                if n > 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(PUBLISH_GAP) => {}
                        _ = shutdown.changed() => return,
                    }
                }
                match self.render_and_publish(&team, &user, page).await {
                    Ok(()) => {}
                    // Uninstalled: its viewers are no longer watched.
                    Err(ApiError::NotInstalled) => {
                        self.viewers
                            .lock()
                            .expect("home lock")
                            .remove(&(team, user));
                    }
                    Err(e) => warn!(error = %e, "cannot refresh an App Home"),
                }
            }
        }
    }

    /// Renders and publishes `user`'s Home at `page` (they opened it, or turned a
    /// page), and watches it for [`WATCHED_FOR`] from now.
    pub async fn publish(&self, team: &str, user: &str, page: usize) -> Result<(), ApiError> {
        self.viewers
            .lock()
            .expect("home viewers lock")
            .insert((team.to_string(), user.to_string()), (page, Instant::now()));
        self.render_and_publish(team, user, page).await
    }

    /// Renders and publishes without touching when the viewer last looked.
    async fn render_and_publish(
        &self,
        team: &str,
        user: &str,
        page: usize,
    ) -> Result<(), ApiError> {
        // A guest, a person of another organisation or a contact sees nothing of the customers
        // (nor does someone Slack has not yet said is staff). Asked first, with the
        // longer wait: the language then comes from the same lookup.
        let side = self
            .users
            .side_within(team, user, Duration::from_secs(2))
            .await;
        // A contact a CSM named is the customer's too.
        let contact = self.support.store.is_contact(team, user).await;
        let lang = self.users.lang_for(team, user).await;
        let started = Instant::now();
        let view = if side != Side::Staff || !matches!(contact, Ok(false)) {
            crate::blocks::home::customer_side_home(lang)
        } else {
            self.render(team, user, page, lang, self.support.time.now())
                .await
                .map_err(|e| ApiError::Transport(format!("database: {e}")))?
        };
        debug!(took = ?started.elapsed(), "App Home rendered");
        let calls = self.api.workspace(team).await?;
        // A publish Slack never answers must not stop the refresher's pass.
        with_deadline(calls.publish_home(user, view)).await
    }

    /// The Home of `user`: their customers (created by them, their CSM role or an item
    /// assigned to them; the whole workspace's if none), those customers' open tickets
    /// worst first, and the items due for them within a week.
    pub async fn render(
        &self,
        team: &str,
        user: &str,
        page: usize,
        lang: crate::domain::i18n::Lang,
        now: DateTime<Utc>,
    ) -> Result<SlackView, sqlx::Error> {
        let store = &self.support.store;
        let all: Vec<Customer> = store
            .customers(team)
            .await?
            .into_iter()
            .filter(|c| !c.is_archived())
            .collect();
        let ids: Vec<i64> = all.iter().map(|c| c.id).collect();
        let states = store.states_of(team, &ids).await?;
        let assigned_to_viewer = |c: &Customer| {
            states.get(&c.id).is_some_and(|s| {
                s.values()
                    .any(|state| state.assignee.as_deref() == Some(user))
            })
        };
        let mine: Vec<&Customer> = all
            .iter()
            .filter(|c| c.created_by == user || c.csm() == user || assigned_to_viewer(c))
            .collect();
        let customers: Vec<&Customer> = if mine.is_empty() {
            all.iter().collect()
        } else {
            mine
        };
        let empty = Arc::default();
        let home_customers: Vec<HomeCustomer<'_>> = customers
            .iter()
            .map(|c| {
                let s = states.get(&c.id).unwrap_or(&empty);
                let view = self.template.for_tier(c.tier);
                HomeCustomer {
                    customer: c,
                    overall: overall_progress(view, s),
                    categories: view
                        .categories
                        .iter()
                        .map(|cat| (cat.label(lang).to_string(), category_progress(cat, s)))
                        .collect(),
                    // Judged at each render: the refresher re-renders watched Homes
                    // every minute, so it follows the day.
                    standing: Some(standing_at(
                        self.template.for_tier(c.tier),
                        s,
                        now,
                        self.support.calendar(c.tier),
                    )),
                }
            })
            .collect();
        let shown: HashMap<i64, &Customer> = customers.iter().map(|c| (c.id, *c)).collect();
        let mut tickets: Vec<(Ticket, &Customer)> = store
            .open_tickets(team, None)
            .await?
            .iter()
            .filter_map(|r| shown.get(&r.customer_id).map(|c| (ticket_of(r), *c)))
            .collect();
        let policy = &self.support.policy;
        tickets.sort_by_cached_key(|(t, c)| urgency(t, policy, self.support.calendar(c.tier), now));
        let home_tickets: Vec<HomeTicket<'_>> = tickets
            .iter()
            .map(|(t, c)| HomeTicket {
                ticket: t,
                customer_name: &c.name,
                calendar: self.support.calendar(c.tier),
            })
            .collect();
        let mut due: Vec<DueItem<'_>> = Vec::new();
        for c in &customers {
            let Some(s) = states.get(&c.id) else {
                continue;
            };
            let today = now
                .with_timezone(&policy.tier(c.tier).timezone)
                .date_naive();
            let horizon = today + chrono::Duration::days(DUE_WITHIN_DAYS);
            for item in self.template.for_tier(c.tier).items() {
                let Some(state) = s.get(&item.key) else {
                    continue;
                };
                if let Some(date) = state.due
                    && state.assignee.as_deref() == Some(user)
                    && !state.is_done()
                    && !state.not_applicable
                    && date <= horizon
                {
                    due.push(DueItem {
                        customer: c,
                        key: &item.key,
                        label: item.label(lang),
                        due: date,
                    });
                }
            }
        }
        due.sort_by_key(|d| d.due);
        let shown_ids: Vec<i64> = customers.iter().map(|c| c.id).collect();
        let csat = self
            .support
            .csat_of_last_days(team, &shown_ids, CSAT_DAYS, now)
            .await?;
        let input = HomeInput {
            viewer: user,
            customers: home_customers,
            tickets: home_tickets,
            due_this_week: due,
            page,
            csat_last_30_days: Some(csat),
        };
        Ok(home_view(&input, policy, now, lang))
    }
}
