//! SQLite's in-memory copy ([`super::cache`]) is updated by hand after each write that
//! touches what it holds. For every such write, these tests make the write and then
//! hold each cached read to the same read made against the database itself.
//!
//! PostgreSQL keeps no copy, so there is nothing to compare there.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::audit::{Actor, Source};
use super::evidence::EvidenceAdded;
use super::installations::Installation;
use super::tickets::NewTicket;
use super::{ItemChange, NewCustomer, Store};
use crate::domain::checklist::Tier;
use crate::domain::customer::Customer;
use crate::domain::evidence::Attachment;
use crate::domain::roles::Role;
use crate::time_source::at_ms;

const TEAM: &str = "T1";
const OTHER_TEAM: &str = "T2";
const USERS: [&str; 3] = ["U1", "U2", "S1"];

impl Store {
    /// The same database without the copy: every read asks the database.
    fn uncached(&self) -> Store {
        Store {
            db: self.db.clone(),
            cache: None,
            ticks: None,
            wake: Arc::default(),
        }
    }
}

/// A store on a fresh SQLite file, and every key a cached read was ever asked with,
/// so a key a write took away (an old slug or channel) is asked again too.
struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
    slugs: BTreeSet<(String, String)>,
    names: BTreeSet<(String, String)>,
    channels: BTreeSet<(String, String)>,
    ids: BTreeSet<i64>,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("cache.db").display());
        let store = Store::connect(&url).await.unwrap();
        assert!(store.cache.is_some(), "SQLite keeps the copy");
        Fixture {
            store,
            _dir: dir,
            slugs: BTreeSet::new(),
            names: BTreeSet::new(),
            channels: BTreeSet::new(),
            ids: BTreeSet::new(),
        }
    }

    fn remember(&mut self, c: &Customer) {
        let team = c.team_id.clone();
        self.slugs.insert((team.clone(), c.slug.clone()));
        self.names.insert((team.clone(), c.name.clone()));
        if let Some(channel) = &c.channel_id {
            self.channels.insert((team, channel.clone()));
        }
        self.ids.insert(c.id);
    }

    /// Every cached read against the database's own answer, after `write`.
    async fn assert_cache_matches(&mut self, write: &str) {
        let db = self.store.uncached();
        for c in db.all_customers().await.unwrap() {
            self.remember(&c);
        }
        let cached = &self.store;
        for team in [TEAM, OTHER_TEAM] {
            assert_eq!(
                cached.customers(team).await.unwrap(),
                db.customers(team).await.unwrap(),
                "after {write}: customers of {team}"
            );
            assert_eq!(
                cached.open_tickets(team, None).await.unwrap(),
                db.open_tickets(team, None).await.unwrap(),
                "after {write}: open tickets of {team}"
            );
            for user in USERS {
                assert_eq!(
                    cached.role_of(team, user).await.unwrap(),
                    db.role_of(team, user).await.unwrap(),
                    "after {write}: role of {user} in {team}"
                );
                let (mut from_cache, mut from_db) = (
                    cached.given_roles(team, user).await.unwrap(),
                    db.given_roles(team, user).await.unwrap(),
                );
                from_cache.groups.sort();
                from_db.groups.sort();
                assert_eq!(from_cache, from_db, "after {write}: given {user} in {team}");
                assert_eq!(
                    cached.is_contact(team, user).await.unwrap(),
                    db.is_contact(team, user).await.unwrap(),
                    "after {write}: {user} a contact in {team}"
                );
            }
        }
        for (team, slug) in &self.slugs {
            assert_eq!(
                cached.customer_by_slug(team, slug).await.unwrap(),
                db.customer_by_slug(team, slug).await.unwrap(),
                "after {write}: slug {slug}"
            );
        }
        for (team, name) in &self.names {
            assert_eq!(
                cached.customers_named(team, name).await.unwrap(),
                db.customers_named(team, name).await.unwrap(),
                "after {write}: name {name}"
            );
        }
        for (team, channel) in &self.channels {
            assert_eq!(
                cached.customer_by_channel(team, channel).await.unwrap(),
                db.customer_by_channel(team, channel).await.unwrap(),
                "after {write}: channel {channel}"
            );
        }
        for &id in &self.ids {
            if let Some(customer) = db.customer_by_id_unscoped(id).await.unwrap() {
                assert_eq!(
                    cached.contacts(&customer).await.unwrap(),
                    db.contacts(&customer).await.unwrap(),
                    "after {write}: contacts of customer {id}"
                );
            }
            assert_eq!(
                cached.customer_by_id_unscoped(id).await.unwrap(),
                db.customer_by_id_unscoped(id).await.unwrap(),
                "after {write}: customer {id}"
            );
            for team in [TEAM, OTHER_TEAM] {
                assert_eq!(
                    cached.customer_by_id(team, id).await.unwrap(),
                    db.customer_by_id(team, id).await.unwrap(),
                    "after {write}: customer {id} in {team}"
                );
                assert_eq!(
                    cached.open_tickets(team, Some(id)).await.unwrap(),
                    db.open_tickets(team, Some(id)).await.unwrap(),
                    "after {write}: open tickets of customer {id}"
                );
            }
            // The cached read also fills the copy, so the next write finds the states
            // in memory and has to update them rather than leave them to a reload.
            assert_eq!(
                cached.item_states(id).await.unwrap(),
                db.item_states(id).await.unwrap(),
                "after {write}: item states of customer {id}"
            );
        }
    }
}

fn new_customer(team: &str, slug: &str, name: &str, channel: Option<&str>) -> NewCustomer {
    NewCustomer {
        team_id: team.to_string(),
        slug: slug.to_string(),
        name: name.to_string(),
        tier: Tier::Standard,
        channel_id: channel.map(str::to_string),
        created_by: "U1".to_string(),
        created_at: 1_000,
    }
}

fn new_ticket(customer: &Customer) -> NewTicket {
    NewTicket {
        team_id: customer.team_id.clone(),
        customer_id: customer.id,
        priority: "P2".to_string(),
        summary: "SSO fails".to_string(),
        reporter: "U2".to_string(),
        assignee: None,
        opened_at: 2_000,
        used_ms: 0,
        running_since: Some(2_000),
        channel_id: "C-support".to_string(),
        source_ts: None,
        timers: vec![("response".to_string(), Some(10_000))],
    }
}

/// Ticks and unticks items of `customer` as `user` would with a checkbox.
async fn set_done(
    store: &Store,
    customer: &Customer,
    ticked: &[&str],
    unticked: &[&str],
    user: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let keys = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    store
        .set_done(
            customer,
            &keys(ticked),
            &keys(unticked),
            user,
            Source::Button,
            now,
        )
        .await
        .unwrap()
}

fn by(user: &str) -> Actor<'_> {
    Actor::new(user, Source::Command)
}

#[tokio::test]
async fn customer_writes_keep_the_copy_equal_to_the_database() {
    let mut f = Fixture::new().await;
    let store = f.store.clone();
    f.assert_cache_matches("opening").await;

    let acme = store
        .create_customer(&new_customer(TEAM, "acme", "Acme", Some("C1")))
        .await
        .unwrap();
    store
        .create_customer(&new_customer(OTHER_TEAM, "acme", "Acme", None))
        .await
        .unwrap();
    let globex = store
        .create_customer(&new_customer(TEAM, "globex", "globex", None))
        .await
        .unwrap();
    f.assert_cache_matches("create_customer").await;

    // A new name, channel and CSM, then archived: the old channel must find nobody.
    let mut renamed = acme.clone();
    renamed.name = "Acme Corp".to_string();
    renamed.channel_id = Some("C2".to_string());
    renamed.csm = Some("U2".to_string());
    renamed.tier = Tier::Enterprise;
    renamed.reminders_off = vec!["qbr".to_string()];
    renamed.golive_on = chrono::NaiveDate::from_ymd_opt(2026, 3, 1);
    assert!(
        store
            .update_customer(&acme, &renamed, "customer.changed", by("U1"), at_ms(3_000))
            .await
            .unwrap()
    );
    f.assert_cache_matches("update_customer").await;
    let mut archived = renamed.clone();
    archived.archived_at = Some(4_000);
    assert!(
        store
            .update_customer(
                &renamed,
                &archived,
                "customer.archived",
                by("U1"),
                at_ms(4_000)
            )
            .await
            .unwrap()
    );
    f.assert_cache_matches("update_customer (archive)").await;

    store
        .set_customer_channel(globex.id, Some("C3"), None)
        .await
        .unwrap();
    f.assert_cache_matches("set_customer_channel").await;
    store
        .set_customer_channel(globex.id, None, Some("name_taken"))
        .await
        .unwrap();
    f.assert_cache_matches("set_customer_channel (failed)")
        .await;
}

#[tokio::test]
async fn item_writes_keep_the_copy_equal_to_the_database() {
    let mut f = Fixture::new().await;
    let store = f.store.clone();
    let acme = store
        .create_customer(&new_customer(TEAM, "acme", "Acme", Some("C1")))
        .await
        .unwrap();
    f.assert_cache_matches("create_customer").await;

    let changed = set_done(&store, &acme, &["A1", "A2"], &[], "U1", at_ms(5_000)).await;
    assert_eq!(changed, ["A1", "A2"]);
    f.assert_cache_matches("set_done (tick)").await;
    // A retried tick changes nothing and keeps the first who and when.
    set_done(&store, &acme, &["A1"], &[], "U2", at_ms(6_000)).await;
    f.assert_cache_matches("set_done (tick again)").await;
    set_done(&store, &acme, &["A3"], &["A1"], "U2", at_ms(7_000)).await;
    f.assert_cache_matches("set_done (tick and untick)").await;

    let change = ItemChange {
        assignee: Some(Some("U2".to_string())),
        due: Some(chrono::NaiveDate::from_ymd_opt(2026, 4, 1)),
        note: Some(Some("waiting on IT".to_string())),
        not_applicable: None,
    };
    store
        .change_item(acme.id, "A2", &change, by("U1"), at_ms(8_000))
        .await
        .unwrap();
    f.assert_cache_matches("change_item").await;
    let not_applicable = ItemChange {
        not_applicable: Some(true),
        ..ItemChange::default()
    };
    store
        .change_item(acme.id, "B1", &not_applicable, by("U1"), at_ms(9_000))
        .await
        .unwrap();
    f.assert_cache_matches("change_item (new item)").await;
    // Ticking an item whose fields were changed keeps the fields.
    set_done(&store, &acme, &["A2"], &["A3"], "U1", at_ms(10_000)).await;
    f.assert_cache_matches("set_done after change_item").await;

    // Evidence counts on an item with a state, and on one without.
    let link = |url: &str| Attachment::link(url).unwrap();
    for (key, at) in [("A2", 11_000), ("C1", 12_000)] {
        let added = store
            .add_evidence(
                TEAM,
                acme.id,
                key,
                &[link("https://example.com/a"), link("https://example.com/b")],
                Some("SOC 2"),
                by("U1"),
                at_ms(at),
            )
            .await
            .unwrap();
        assert!(
            matches!(added, EvidenceAdded::Added { total: 2, .. }),
            "{added:?}"
        );
        f.assert_cache_matches("add_evidence").await;
    }
    // Nothing new: nothing changes.
    let again = store
        .add_evidence(
            TEAM,
            acme.id,
            "C1",
            &[link("https://example.com/a")],
            None,
            by("U1"),
            at_ms(13_000),
        )
        .await
        .unwrap();
    assert_eq!(again, EvidenceAdded::AlreadyAttached);
    f.assert_cache_matches("add_evidence (already attached)")
        .await;
    set_done(&store, &acme, &["C1"], &[], "U1", at_ms(14_000)).await;
    f.assert_cache_matches("set_done after add_evidence").await;
    assert_eq!(
        f.store.item_states(acme.id).await.unwrap()["C1"].evidence,
        2
    );
}

/// The plan dating and assigning `items` of `customer` (each a key, a day of January
/// 2027 and an assignee) at `ms`, as the plan's own writes do it (`plan.changed` by
/// U0); what changed.
async fn plan(
    store: &Store,
    customer: &Customer,
    items: &[(&str, u32, &str)],
    ms: i64,
) -> Vec<(String, super::ItemUpdate)> {
    let plans: Vec<super::ItemPlan> = items
        .iter()
        .map(|&(key, day, who)| super::ItemPlan {
            key: key.to_string(),
            due: Some(chrono::NaiveDate::from_ymd_opt(2027, 1, day)),
            assignee: Some(Some(who.to_string())),
        })
        .collect();
    store
        .plan_items(customer, &plans, "plan.changed", by("U0"), at_ms(ms))
        .await
        .unwrap()
}

#[tokio::test]
async fn plan_writes_keep_the_copy_equal_to_the_database_and_spare_what_a_person_set() {
    let mut f = Fixture::new().await;
    let store = f.store.clone();
    let acme = store
        .create_customer(&new_customer(TEAM, "acme", "Acme", Some("C1")))
        .await
        .unwrap();
    f.assert_cache_matches("create_customer").await;
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2027, 1, d);
    let changed = plan(&store, &acme, &[("A1", 12, "U1"), ("A2", 13, "U1")], 5_000).await;
    assert_eq!(changed.len(), 2);
    f.assert_cache_matches("plan_items").await;
    // A person re-dates A2 and gives A1 to someone else: the plan keeps off both.
    let by_hand = ItemChange {
        due: Some(day(20)),
        ..ItemChange::default()
    };
    store
        .change_item(acme.id, "A2", &by_hand, by("U1"), at_ms(6_000))
        .await
        .unwrap();
    let given = ItemChange {
        assignee: Some(Some("U2".to_string())),
        ..ItemChange::default()
    };
    store
        .change_item(acme.id, "A1", &given, by("U1"), at_ms(6_100))
        .await
        .unwrap();
    f.assert_cache_matches("change_item of planned items").await;
    let changed = plan(&store, &acme, &[("A1", 14, "S1"), ("A2", 15, "S1")], 7_000).await;
    f.assert_cache_matches("plan_items (re-plan)").await;
    let states = store.item_states(acme.id).await.unwrap();
    // A1's date was still the plan's, so it moves; its assignee is the person's.
    assert_eq!(states["A1"].due, day(14));
    assert_eq!(states["A1"].assignee.as_deref(), Some("U2"));
    // A2's date is the person's; its assignee is still the plan's.
    assert_eq!(states["A2"].due, day(20));
    assert_eq!(states["A2"].assignee.as_deref(), Some("S1"));
    assert_eq!(changed.len(), 2);
    // Nothing left to change: nothing written.
    let again = plan(&store, &acme, &[("A1", 14, "S1")], 8_000).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn role_and_ticket_writes_keep_the_copy_equal_to_the_database() {
    let mut f = Fixture::new().await;
    let store = f.store.clone();
    let acme = store
        .create_customer(&new_customer(TEAM, "acme", "Acme", Some("C1")))
        .await
        .unwrap();
    f.assert_cache_matches("create_customer").await;

    store
        .set_role(TEAM, "U1", Some(Role::Admin), by("U0"), at_ms(1_000))
        .await
        .unwrap();
    store
        .set_role(TEAM, "S1", Some(Role::Agent), by("U1"), at_ms(1_000))
        .await
        .unwrap();
    f.assert_cache_matches("set_role").await;
    store
        .set_role(TEAM, "U1", Some(Role::Viewer), by("U0"), at_ms(2_000))
        .await
        .unwrap();
    store
        .set_role(TEAM, "S1", None, by("U1"), at_ms(2_000))
        .await
        .unwrap();
    f.assert_cache_matches("set_role (changed and taken back)")
        .await;

    let named = |users: &[&str]| users.iter().map(|u| u.to_string()).collect::<Vec<_>>();
    store
        .set_contacts(&acme, &named(&["U2", "U1"]), by("U0"), at_ms(2_000))
        .await
        .unwrap();
    f.assert_cache_matches("set_contacts").await;
    // Read back on start: a new copy of the same file.
    let url = format!("sqlite://{}", f._dir.path().join("cache.db").display());
    let reopened = Store::connect(&url).await.unwrap();
    assert_eq!(reopened.contacts(&acme).await.unwrap(), ["U1", "U2"]);
    assert!(reopened.is_contact(TEAM, "U2").await.unwrap());
    assert!(!reopened.is_contact(OTHER_TEAM, "U2").await.unwrap());
    reopened.close().await;
    store
        .set_contacts(&acme, &named(&["U2"]), by("U0"), at_ms(2_100))
        .await
        .unwrap();
    f.assert_cache_matches("set_contacts (one taken back)")
        .await;
    store
        .set_contacts(&acme, &[], by("U0"), at_ms(2_200))
        .await
        .unwrap();
    f.assert_cache_matches("set_contacts (none)").await;

    let ticket = store
        .open_ticket(&new_ticket(&acme), by("U2"), at_ms(2_000))
        .await
        .unwrap();
    let other = store
        .open_ticket(&new_ticket(&acme), by("U2"), at_ms(2_500))
        .await
        .unwrap();
    f.assert_cache_matches("open_ticket").await;

    store
        .set_ticket_message(ticket.id, Some("1700000000.000100"))
        .await
        .unwrap();
    f.assert_cache_matches("set_ticket_message").await;
    store.set_ticket_message(ticket.id, None).await.unwrap();
    f.assert_cache_matches("set_ticket_message (gone)").await;

    let mut assigned = store.ticket_by_id(ticket.id).await.unwrap().unwrap();
    assigned.assignee = Some("U1".to_string());
    assigned.priority = "P1".to_string();
    assert!(
        store
            .save_ticket(
                &assigned,
                &|_, level| Some((level.unwrap_or(0), Some(20_000))),
                &[],
                &[],
                None,
                at_ms(3_000)
            )
            .await
            .unwrap()
    );
    f.assert_cache_matches("save_ticket").await;
    // A save from a stale read is refused and changes nothing.
    assert!(
        !store
            .save_ticket(&assigned, &|_, _| None, &[], &[], None, at_ms(3_500))
            .await
            .unwrap()
    );
    f.assert_cache_matches("save_ticket (stale)").await;
    let mut resolved = store.ticket_by_id(other.id).await.unwrap().unwrap();
    resolved.resolved_at = Some(4_000);
    resolved.resolved_by = Some("U1".to_string());
    resolved.running_since = None;
    assert!(
        store
            .save_ticket(&resolved, &|_, _| None, &[], &[], None, at_ms(4_000))
            .await
            .unwrap()
    );
    f.assert_cache_matches("save_ticket (resolved)").await;
}

#[tokio::test]
async fn purging_a_workspace_empties_the_copy_of_it() {
    let mut f = Fixture::new().await;
    let store = f.store.clone();
    let acme = store
        .create_customer(&new_customer(TEAM, "acme", "Acme", Some("C1")))
        .await
        .unwrap();
    store
        .create_customer(&new_customer(OTHER_TEAM, "initech", "Initech", Some("C9")))
        .await
        .unwrap();
    store
        .set_done(
            &acme,
            &["A1".to_string()],
            &[],
            "U1",
            Source::Button,
            at_ms(1_500),
        )
        .await
        .unwrap();
    store
        .set_role(TEAM, "U1", Some(Role::Admin), by("U0"), at_ms(1_500))
        .await
        .unwrap();
    store
        .set_contacts(&acme, &["U2".to_string()], by("U0"), at_ms(1_500))
        .await
        .unwrap();
    store
        .open_ticket(&new_ticket(&acme), by("U2"), at_ms(2_000))
        .await
        .unwrap();
    let install = Installation {
        workspace: TEAM.to_string(),
        team_id: Some(TEAM.to_string()),
        enterprise_id: None,
        org_install: false,
        team_name: "Team One".to_string(),
        app_id: "A0".to_string(),
        bot_user_id: "B0".to_string(),
        scope: "chat:write".to_string(),
        bot_token: Some("sealed".to_string()),
        installed_by: "U1".to_string(),
        installed_at: 1_000,
        uninstalled_at: None,
    };
    store.save_installation(&install).await.unwrap();
    f.assert_cache_matches("everything of one workspace").await;

    assert!(
        store
            .uninstall(TEAM, "test", at_ms(5_000), at_ms(5_000))
            .await
            .unwrap()
    );
    assert_eq!(
        store.purge_uninstalled(6_000).await.unwrap(),
        vec![TEAM.to_string()]
    );
    f.assert_cache_matches("purge_uninstalled").await;
    assert!(store.customers(TEAM).await.unwrap().is_empty());
    assert_eq!(store.customers(OTHER_TEAM).await.unwrap().len(), 1);
}

/// The writes above are every place that updates the copy by hand: a new one must be
/// added here and to a test above, or this fails.
#[test]
fn every_hand_update_of_the_copy_is_covered_above() {
    let covered = [
        // create_customer, update_customer, set_customer_channel
        ("customers.rs", 3),
        // change_item
        ("items.rs", 1),
        // add_evidence
        ("evidence.rs", 1),
        // set_done, through the tick writer
        ("tick_writer.rs", 1),
        // set_role
        ("roles.rs", 1),
        // set_contacts
        ("contacts.rs", 1),
        // plan_items
        ("plan.rs", 1),
        // open_ticket; save_ticket and set_ticket_message through recache_ticket
        ("tickets.rs", 2),
        // purge_uninstalled
        ("installations.rs", 1),
    ];
    let updates = |source: &str| {
        ["cache.put_", "cache.after_write(", "cache.forget_"]
            .iter()
            .map(|call| source.matches(call).count())
            .sum::<usize>()
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    for file in std::fs::read_dir(&dir).unwrap() {
        let name = file.unwrap().file_name().to_string_lossy().to_string();
        if name == "cache.rs" || name == "cache_tests.rs" {
            continue;
        }
        let source = std::fs::read_to_string(dir.join(&name)).unwrap();
        let expected = covered
            .iter()
            .find(|(covered, _)| *covered == name)
            .map_or(0, |(_, n)| *n);
        assert_eq!(
            updates(&source),
            expected,
            "hand updates of the copy in {name}"
        );
    }
}
