//! Customers: finding one the way a person names it (slug, name, or the channel they
//! are in), creating one with its channel and digest, and changing one (name, tier,
//! CSM, channel, milestone switches, archived), with what each change sets off: a tier
//! change re-plans its open SLA deadlines, archiving stops its reminders, unarchiving
//! resumes them.

use chrono::{DateTime, Utc};

use super::UseCases;
use crate::delivery::worker::Job;
use crate::domain::checklist::{Progress, Tier, overall_progress};
use crate::domain::command::{CustomerChange, CustomerRef};
use crate::domain::customer::Customer;
use crate::domain::i18n::Lang;
use crate::domain::slug::slugify;
use crate::store::audit::Actor;
use crate::store::{CreateCustomerError, NewCustomer};

/// No one customer was found. `known` and `candidates` are customers (by name, up to
/// 10) to help the person on: the answer lists each by name and slug, since two
/// customers may share a name in a database from before names were kept unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// The customer named is not known.
    Unknown { named: String, known: Vec<Customer> },
    /// The name is more than one customer's: which one must be said by slug.
    Ambiguous {
        named: String,
        candidates: Vec<Customer>,
    },
    /// None was named, and the channel belongs to none.
    NotHere { known: Vec<Customer> },
}

/// The most customers a "not found" answer lists.
const LISTED: usize = 10;

/// Why a customer was not created.
#[derive(Debug)]
pub enum CreateRefusal {
    SlugTaken(Customer),
    /// The name is already a customer's, as people read it (`domain::customer::name_key`).
    NameTaken(Customer),
    ChannelTaken(Customer),
}

/// A customer to create, as someone asked for it.
pub struct NewCustomerRequest {
    pub team_id: String,
    pub user_id: String,
    pub name: String,
    pub tier: Option<Tier>,
    pub channel: Option<String>,
    pub slug: Option<String>,
    /// Where the worker tells the person once the channel is ready, and in what language.
    pub response_url: Option<String>,
    pub lang: Lang,
}

/// A created customer.
pub struct Created {
    pub customer: Customer,
    /// The slug was made from the name (or numbered), not given with `slug=`.
    pub slug_generated: bool,
    /// False when the worker's queue was full: the customer is stored, its channel
    /// comes at the next start.
    pub queued: bool,
}

/// What a change to a customer did.
pub enum Changed {
    /// It was already so.
    Nothing,
    /// The channel named belongs to another customer.
    ChannelTaken,
    /// The new name is already this other customer's.
    NameTaken(Box<Customer>),
    Saved {
        /// Boxed: a customer is large, the other outcomes are nothing.
        after: Box<Customer>,
        /// Open tickets re-planned for a new tier's hours.
        replanned: usize,
    },
}

/// The customers the help answer lists for someone, with their progress.
#[derive(Debug, Clone)]
pub struct HelpListing {
    pub customers: Vec<(Customer, Progress)>,
    /// `Some(others)`: only the caller's own (created by them, or with an item
    /// theirs), and `others` more exist; `None`: they have none, so the workspace's.
    pub yours_of_more: Option<usize>,
}

impl UseCases {
    /// What the help answer lists for `user` of workspace `team`: their own customers
    /// if they have any, else all of the workspace's.
    pub async fn help_listing(&self, team: &str, user: &str) -> Result<HelpListing, sqlx::Error> {
        let customers = self.store.customers(team).await?;
        let states = self.store.team_item_states(team).await?;
        let empty = Default::default();
        let with_progress: Vec<(Customer, bool, Progress)> = customers
            .into_iter()
            .map(|c| {
                let s = states.get(&c.id).unwrap_or(&empty);
                let yours =
                    c.created_by == user || s.values().any(|i| i.assignee.as_deref() == Some(user));
                let p = overall_progress(self.template.for_tier(c.tier), s);
                (c, yours, p)
            })
            .collect();
        let yours: Vec<_> = with_progress
            .iter()
            .filter(|(_, y, _)| *y)
            .map(|(c, _, p)| (c.clone(), *p))
            .collect();
        Ok(if yours.is_empty() {
            HelpListing {
                customers: with_progress.into_iter().map(|(c, _, p)| (c, p)).collect(),
                yours_of_more: None,
            }
        } else {
            let others = with_progress.len() - yours.len();
            HelpListing {
                customers: yours,
                yours_of_more: Some(others),
            }
        })
    }

    /// The one customer `named` by slug or name in `team` (a one-word name typed
    /// without quotes reads as a slug, and is still found by name). `None` when there
    /// is none, or when the name is several customers' ([`Self::customer_not_found`]
    /// tells which).
    pub async fn find_customer(
        &self,
        team: &str,
        named: &CustomerRef,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let mut found = self.lookup(team, named).await?;
        Ok(match found.len() {
            1 => found.pop(),
            _ => None,
        })
    }

    /// Every customer `named` finds: the one with that slug, else those with that
    /// name (several only in a database from before names were kept unique).
    async fn lookup(&self, team: &str, named: &CustomerRef) -> Result<Vec<Customer>, sqlx::Error> {
        let name = match named {
            CustomerRef::Slug(slug) => {
                if let Some(c) = self.store.customer_by_slug(team, slug).await? {
                    return Ok(vec![c]);
                }
                slug
            }
            CustomerRef::Name(name) => name,
        };
        self.store.customers_named(team, name).await
    }

    /// Why `named` finds no one customer: unknown (with the workspace's customers to
    /// choose from), or a name several customers share (with them).
    pub async fn customer_not_found(&self, team: &str, named: &CustomerRef) -> NotFound {
        let text = match named {
            CustomerRef::Slug(s) | CustomerRef::Name(s) => s.clone(),
        };
        match self.lookup(team, named).await {
            Ok(mut candidates) if candidates.len() > 1 => {
                candidates.truncate(LISTED);
                NotFound::Ambiguous {
                    named: text,
                    candidates,
                }
            }
            _ => NotFound::Unknown {
                named: text,
                known: self.known_customers(team).await,
            },
        }
    }

    /// The customer named, or with none named, the one whose channel `channel` is.
    pub async fn resolve_customer(
        &self,
        team: &str,
        channel: &str,
        named: Option<&CustomerRef>,
    ) -> Result<Result<Customer, NotFound>, sqlx::Error> {
        match named {
            Some(r) => self.named_customer(team, r).await,
            None => match self.store.customer_by_channel(team, channel).await? {
                Some(c) => Ok(Ok(c)),
                None => Ok(Err(NotFound::NotHere {
                    known: self.known_customers(team).await,
                })),
            },
        }
    }

    /// The customer named, or why there is none.
    pub async fn named_customer(
        &self,
        team: &str,
        named: &CustomerRef,
    ) -> Result<Result<Customer, NotFound>, sqlx::Error> {
        Ok(match self.find_customer(team, named).await? {
            Some(c) => Ok(c),
            None => Err(self.customer_not_found(team, named).await),
        })
    }

    /// Up to 10 of the workspace's customers (by name), to suggest; none if they
    /// cannot be read.
    pub async fn known_customers(&self, team: &str) -> Vec<Customer> {
        match self.store.customers(team).await {
            Ok(list) => list.into_iter().take(LISTED).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Creates a customer, plans its daily digest and queues its channel: linked and
    /// posted to if one was named, else created.
    pub async fn create_customer(
        &self,
        request: NewCustomerRequest,
        now: DateTime<Utc>,
    ) -> Result<Result<Created, CreateRefusal>, sqlx::Error> {
        let team = &request.team_id;
        // One customer per name, whatever its script: a second 株式会社ミヤビ would
        // get a second numbered slug and make the name ambiguous. (Two requests for
        // one new name at the same instant can both pass; lookups then say the name
        // is ambiguous and list both by slug.)
        if let Some(existing) = self
            .store
            .customers_named(team, &request.name)
            .await?
            .into_iter()
            .next()
        {
            return Ok(Err(CreateRefusal::NameTaken(existing)));
        }
        let slug_generated = request.slug.is_none();
        let numbered = slug_generated && slugify(&request.name).is_none();
        let mut slug = match request.slug.clone().or_else(|| slugify(&request.name)) {
            Some(slug) => slug,
            None => self.store.free_numbered_slug(team).await?,
        };
        let mut attempts = 0;
        let customer = loop {
            let new = NewCustomer {
                team_id: team.clone(),
                slug: slug.clone(),
                name: request.name.clone(),
                tier: request.tier.unwrap_or(Tier::Standard),
                channel_id: request.channel.clone(),
                created_by: request.user_id.clone(),
                created_at: now.timestamp_millis(),
            };
            match self.store.create_customer(&new).await {
                Ok(customer) => break customer,
                // Two `c<n>` customers created at once: the later one takes the next number.
                Err(CreateCustomerError::SlugTaken(_)) if numbered && attempts < 5 => {
                    attempts += 1;
                    slug = self.store.free_numbered_slug(team).await?;
                }
                Err(CreateCustomerError::SlugTaken(existing)) => {
                    return Ok(Err(CreateRefusal::SlugTaken(existing)));
                }
                Err(CreateCustomerError::ChannelTaken(existing)) => {
                    return Ok(Err(CreateRefusal::ChannelTaken(existing)));
                }
                Err(CreateCustomerError::Database(e)) => return Err(e),
            }
        };
        self.reminders.plan_digest(&customer, now).await?;
        let job = if customer.channel_id.is_some() {
            Job::PostChecklist {
                customer_id: customer.id,
                category: None,
                pin: true,
                response_url: request.response_url,
                lang: request.lang,
            }
        } else {
            Job::Provision {
                customer_id: customer.id,
                caller: request.user_id,
                response_url: request.response_url,
                lang: request.lang,
            }
        };
        let queued = self.delivery.submit(job).is_ok();
        Ok(Ok(Created {
            customer,
            slug_generated,
            queued,
        }))
    }

    /// Changes `before` as `change` says, with what the change sets off.
    pub async fn change_customer(
        &self,
        before: &Customer,
        change: &CustomerChange,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Changed> {
        let after = apply(before, change, now);
        let contacts = match &change.contacts {
            Some(named) => {
                let mut named = named.clone();
                named.sort();
                named.dedup();
                let now_named = self.store.contacts(before).await?;
                Some(named).filter(|named| *named != now_named)
            }
            None => None,
        };
        if after == *before && contacts.is_none() {
            return Ok(Changed::Nothing);
        }
        if after == *before {
            // Only the contacts change.
            if let Some(contacts) = &contacts {
                self.store
                    .set_contacts(&after, contacts, actor, now)
                    .await?;
            }
            return Ok(Changed::Saved {
                after: Box::new(after),
                replanned: 0,
            });
        }
        if after.name != before.name
            && let Some(other) = self
                .store
                .customers_named(&after.team_id, &after.name)
                .await?
                .into_iter()
                .find(|c| c.id != after.id)
        {
            return Ok(Changed::NameTaken(Box::new(other)));
        }
        let action = match (change.archived, before.is_archived(), after.is_archived()) {
            (Some(true), false, true) if only_archive(change) => "customer.archived",
            (Some(false), true, false) if only_archive(change) => "customer.unarchived",
            _ => "customer.changed",
        };
        if !self
            .store
            .update_customer(before, &after, action, actor, now)
            .await?
        {
            return Ok(Changed::ChannelTaken);
        }
        if let Some(contacts) = &contacts {
            self.store
                .set_contacts(&after, contacts, actor, now)
                .await?;
        }
        let replanned = self.follow_up(before, &after, change, actor, now).await?;
        self.delivery.checklist_changed();
        Ok(Changed::Saved {
            after: Box::new(after),
            replanned,
        })
    }

    /// What a change sets off: re-planned deadlines, resumed or re-planned reminders.
    /// Returns how many tickets were re-planned.
    async fn follow_up(
        &self,
        before: &Customer,
        after: &Customer,
        change: &CustomerChange,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let mut replanned = 0;
        if after.tier != before.tier {
            replanned = self
                .tickets
                .replan_customer(after, before.tier, now)
                .await?;
        }
        if before.is_archived() && !after.is_archived() {
            self.reminders.resume(after, now).await?;
        }
        let mut replan_milestones = false;
        for (kind, on) in &change.milestones {
            if *on {
                replan_milestones = true;
            } else {
                self.reminders
                    .cancel_milestone(after, kind, actor, now)
                    .await?;
            }
        }
        if replan_milestones
            && !after.is_archived()
            && let Some(golive) = after.golive_on
        {
            self.reminders
                .plan_milestones(after, golive, actor, now)
                .await?;
        }
        Ok(replanned)
    }

    /// Whether the policy sends milestone reminders of `kind` to `customer`.
    pub fn milestone_on(&self, customer: &Customer, kind: &str) -> bool {
        self.tickets
            .policy
            .reminders
            .milestones
            .iter()
            .any(|m| m == kind)
            && customer.reminder_on(kind)
    }
}

fn only_archive(change: &CustomerChange) -> bool {
    CustomerChange {
        archived: None,
        ..change.clone()
    }
    .is_empty()
}

/// The customer as changed (pure).
fn apply(before: &Customer, change: &CustomerChange, now: DateTime<Utc>) -> Customer {
    let mut after = before.clone();
    if let Some(name) = &change.name {
        after.name = name.clone();
    }
    if let Some(tier) = change.tier {
        after.tier = tier;
    }
    if let Some(csm) = &change.csm {
        after.csm = Some(csm.clone());
    }
    if let Some(channel) = &change.channel {
        after.channel_id = Some(channel.clone());
        after.channel_error = None;
    }
    match change.archived {
        Some(true) if !before.is_archived() => after.archived_at = Some(now.timestamp_millis()),
        Some(false) => after.archived_at = None,
        _ => {}
    }
    for (kind, on) in &change.milestones {
        after.reminders_off.retain(|k| k != kind);
        if !on {
            after.reminders_off.push(kind.clone());
        }
    }
    after.reminders_off.sort();
    if let Some(mode) = change.intake {
        after.intake_mode = mode;
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_touches_only_what_it_names() {
        let before = crate::blocks::checklist::tests::customer();
        let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let change = CustomerChange {
            tier: Some(Tier::Standard),
            milestones: vec![("qbr".into(), false), ("hypercare".into(), false)],
            archived: Some(true),
            ..CustomerChange::default()
        };
        let after = apply(&before, &change, now);
        assert_eq!(after.tier, Tier::Standard);
        assert_eq!(after.name, before.name);
        assert_eq!(after.archived_at, Some(1_800_000_000_000));
        assert_eq!(after.reminders_off, ["hypercare", "qbr"]);
        let back = CustomerChange {
            milestones: vec![("qbr".into(), true)],
            archived: Some(false),
            ..CustomerChange::default()
        };
        let again = apply(&after, &back, now);
        assert_eq!(again.reminders_off, ["hypercare"]);
        assert_eq!(again.archived_at, None);
        assert!(!only_archive(&back));
    }
}
