//! An in-process copy of the customers, their checklist states and the open tickets,
//! used with SQLite only.
//!
//! SQLite is the single-process mode (docs/architecture.md): every write goes through
//! this process's [`Store`](super::Store), which updates the copy after each commit, so
//! the copy is never behind the file. With PostgreSQL other replicas write too, so
//! there is no copy there and every read goes to the database.
//!
//! A state read that misses loads from the database; a write that lands meanwhile bumps
//! the customer's generation, and the loaded (older) copy is then not kept.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use super::tickets::TicketRecord;
use crate::domain::checklist::States;
use crate::domain::customer::Customer;
use crate::domain::roles::Role;

#[derive(Default)]
struct Customers {
    by_id: HashMap<i64, Customer>,
    by_slug: HashMap<(String, String), i64>,
    by_channel: HashMap<(String, String), i64>,
}

#[derive(Default)]
struct Entry {
    generation: u64,
    states: Option<Arc<States>>,
}

#[derive(Default)]
pub struct Cache {
    customers: Mutex<Customers>,
    states: Mutex<HashMap<i64, Entry>>,
    /// Unresolved tickets by id, as committed (the App Home lists them all).
    open_tickets: Mutex<HashMap<i64, TicketRecord>>,
    /// Roles given, by team and user: every click and command asks.
    roles: Mutex<HashMap<String, HashMap<String, Role>>>,
    /// Contacts named, by team and customer: every click and command asks whether its
    /// person is one.
    contacts: Mutex<HashMap<String, HashMap<i64, Vec<String>>>>,
}

impl Cache {
    pub fn new(
        all: Vec<Customer>,
        open_tickets: Vec<TicketRecord>,
        roles: Vec<(String, String, Role)>,
        contacts: Vec<(String, i64, String)>,
    ) -> Self {
        let cache = Cache::default();
        {
            let mut by_team = cache.contacts.lock().expect("cache lock");
            for (team, customer, user) in contacts {
                by_team
                    .entry(team)
                    .or_default()
                    .entry(customer)
                    .or_default()
                    .push(user);
            }
            for users in by_team.values_mut().flat_map(|c| c.values_mut()) {
                users.sort();
            }
        }
        for (team, user, role) in roles {
            cache.put_role(&team, &user, Some(role));
        }
        for c in all {
            cache.put_customer(c);
        }
        for t in open_tickets {
            cache.put_ticket(t);
        }
        cache
    }

    /// After a commit: the contacts of `customer` of `team` (sorted; empty: none).
    pub fn put_contacts(&self, team: &str, customer: i64, users: Vec<String>) {
        let mut contacts = self.contacts.lock().expect("cache lock");
        let team_contacts = contacts.entry(team.to_string()).or_default();
        if users.is_empty() {
            team_contacts.remove(&customer);
        } else {
            team_contacts.insert(customer, users);
        }
    }

    pub fn contacts(&self, team: &str, customer: i64) -> Vec<String> {
        let contacts = self.contacts.lock().expect("cache lock");
        contacts
            .get(team)
            .and_then(|c| c.get(&customer))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `user` is a contact of any customer of `team`.
    pub fn is_contact(&self, team: &str, user: &str) -> bool {
        let contacts = self.contacts.lock().expect("cache lock");
        contacts
            .get(team)
            .is_some_and(|c| c.values().any(|users| users.iter().any(|u| u == user)))
    }

    /// After a commit: `user`'s role (`None`: none given).
    pub fn put_role(&self, team: &str, user: &str, role: Option<Role>) {
        let mut roles = self.roles.lock().expect("cache lock");
        match role {
            Some(role) => {
                roles
                    .entry(team.to_string())
                    .or_default()
                    .insert(user.to_string(), role);
            }
            None => {
                if let Some(team_roles) = roles.get_mut(team) {
                    team_roles.remove(user);
                }
            }
        }
    }

    pub fn role(&self, team: &str, user: &str) -> Option<Role> {
        let roles = self.roles.lock().expect("cache lock");
        roles.get(team).and_then(|r| r.get(user)).copied()
    }

    /// The roles given to user groups in `team`.
    pub fn group_roles(&self, team: &str) -> Vec<(String, Role)> {
        let roles = self.roles.lock().expect("cache lock");
        roles.get(team).map_or_else(Vec::new, |r| {
            r.iter()
                .filter(|(holder, _)| crate::domain::roles::is_group(holder))
                .map(|(holder, role)| (holder.clone(), *role))
                .collect()
        })
    }

    /// After a commit: the ticket as it now is (a resolved one leaves the cache).
    pub fn put_ticket(&self, ticket: TicketRecord) {
        let mut open = self.open_tickets.lock().expect("cache lock");
        if ticket.resolved_at.is_some() {
            open.remove(&ticket.id);
        } else {
            open.insert(ticket.id, ticket);
        }
    }

    /// The workspace's open tickets (of one customer, if given), by number.
    pub fn open_tickets(&self, team: &str, customer: Option<i64>) -> Vec<TicketRecord> {
        let open = self.open_tickets.lock().expect("cache lock");
        let mut list: Vec<TicketRecord> = open
            .values()
            .filter(|t| t.team_id == team && customer.is_none_or(|c| t.customer_id == c))
            .cloned()
            .collect();
        list.sort_by_key(|t| t.number);
        list
    }

    pub fn put_customer(&self, customer: Customer) {
        let mut c = self.customers.lock().expect("cache lock");
        if let Some(old) = c.by_id.get(&customer.id).cloned() {
            c.by_slug.remove(&(old.team_id.clone(), old.slug.clone()));
            if let Some(ch) = old.channel_id {
                c.by_channel.remove(&(old.team_id, ch));
            }
        }
        c.by_slug.insert(
            (customer.team_id.clone(), customer.slug.clone()),
            customer.id,
        );
        if let Some(ch) = &customer.channel_id {
            c.by_channel
                .insert((customer.team_id.clone(), ch.clone()), customer.id);
        }
        c.by_id.insert(customer.id, customer);
    }

    pub fn customer(&self, id: i64) -> Option<Customer> {
        self.customers
            .lock()
            .expect("cache lock")
            .by_id
            .get(&id)
            .cloned()
    }

    pub fn by_slug(&self, team: &str, slug: &str) -> Option<Customer> {
        let c = self.customers.lock().expect("cache lock");
        let id = c.by_slug.get(&(team.to_string(), slug.to_string()))?;
        c.by_id.get(id).cloned()
    }

    pub fn by_channel(&self, team: &str, channel: &str) -> Option<Customer> {
        let c = self.customers.lock().expect("cache lock");
        let id = c.by_channel.get(&(team.to_string(), channel.to_string()))?;
        c.by_id.get(id).cloned()
    }

    pub fn team(&self, team: &str) -> Vec<Customer> {
        let c = self.customers.lock().expect("cache lock");
        let mut list: Vec<Customer> = c
            .by_id
            .values()
            .filter(|k| k.team_id == team)
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            a.name
                .to_ascii_lowercase()
                .cmp(&b.name.to_ascii_lowercase())
                .then(a.id.cmp(&b.id))
        });
        list
    }

    /// The cached states, or the generation to hand back to [`Cache::keep_states`].
    pub fn states(&self, customer: i64) -> Result<Arc<States>, u64> {
        let mut all = self.states.lock().expect("cache lock");
        let entry = all.entry(customer).or_default();
        entry.states.clone().ok_or(entry.generation)
    }

    /// Keeps states loaded from the database, unless a write landed since the miss.
    pub fn keep_states(&self, customer: i64, generation: u64, states: Arc<States>) {
        let mut all = self.states.lock().expect("cache lock");
        let entry = all.entry(customer).or_default();
        if entry.generation == generation {
            entry.states = Some(states);
        }
    }

    /// After a commit: applies `change` to the cached states of `customer`, if any.
    pub fn after_write(&self, customer: i64, change: impl FnOnce(&mut States)) {
        let mut all = self.states.lock().expect("cache lock");
        let entry = all.entry(customer).or_default();
        entry.generation += 1;
        if let Some(states) = &mut entry.states {
            change(Arc::make_mut(states));
        }
    }
}

impl Cache {
    /// After a commit whose effect is easier to reload than to replay.
    pub fn forget_states(&self, customer: i64) {
        let mut all = self.states.lock().expect("cache lock");
        let entry = all.entry(customer).or_default();
        entry.generation += 1;
        entry.states = None;
    }

    /// After a workspace's data was purged: nothing of it stays in memory either.
    pub fn forget_team(&self, team: &str) {
        let gone: Vec<i64> = {
            let mut c = self.customers.lock().expect("cache lock");
            let gone: Vec<i64> = c
                .by_id
                .values()
                .filter(|k| k.team_id == team)
                .map(|k| k.id)
                .collect();
            c.by_id.retain(|_, k| k.team_id != team);
            c.by_slug.retain(|(t, _), _| t != team);
            c.by_channel.retain(|(t, _), _| t != team);
            gone
        };
        for id in gone {
            self.forget_states(id);
        }
        self.open_tickets
            .lock()
            .expect("cache lock")
            .retain(|_, t| t.team_id != team);
        self.roles.lock().expect("cache lock").remove(team);
        self.contacts.lock().expect("cache lock").remove(team);
    }
}

/// The tick fields of `key` after a committed tick (`Some`) or untick (`None`).
pub fn apply_done(states: &mut States, key: &str, done: Option<(&str, i64)>) {
    let state = states.entry(key.to_string()).or_default();
    state.done_by = done.map(|(user, _)| user.to_string());
    state.done_at = done.map(|(_, at)| at);
}
