//! The storage interface, the same tests against SQLite and PostgreSQL.

use readiness::domain::checklist::Tier;
use readiness::store::audit::{Actor, Source};
use readiness::store::{CreateCustomerError, ItemChange, NewCustomer, Store};
use readiness::time_source::at_ms;

use crate::support::TestDb;

fn customer(team: &str, slug: &str, channel: Option<&str>) -> NewCustomer {
    NewCustomer {
        team_id: team.into(),
        slug: slug.into(),
        name: format!("{slug} Inc"),
        tier: Tier::Professional,
        channel_id: channel.map(str::to_string),
        created_by: "U1".into(),
        created_at: 1_700_000_000_000,
    }
}

on_both_backends!(customers_are_unique_per_workspace, customers_scenario);
on_both_backends!(
    ticks_are_idempotent_and_keep_first_who_and_when,
    ticks_scenario
);
on_both_backends!(item_changes_keep_the_fields_not_named, item_change_scenario);
on_both_backends!(
    posted_messages_go_stale_when_their_customer_changes,
    stale_scenario
);
on_both_backends!(everything_survives_reopening_the_database, reopen_scenario);
on_both_backends!(
    outbox_rows_written_before_the_enum_are_sent_as_their_kind,
    old_outbox_rows_scenario
);

async fn customers_scenario(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let acme = store
        .create_customer(&customer("T1", "acme", Some("C1")))
        .await
        .unwrap();
    assert_eq!(acme.tier, Tier::Professional);
    assert!(matches!(
        store.create_customer(&customer("T1", "acme", None)).await,
        Err(CreateCustomerError::SlugTaken(c)) if c.id == acme.id
    ));
    assert!(matches!(
        store
            .create_customer(&customer("T1", "other", Some("C1")))
            .await,
        Err(CreateCustomerError::ChannelTaken(_))
    ));
    // Another workspace may use the same slug, and cannot see T1's customer.
    let theirs = store
        .create_customer(&customer("T2", "acme", None))
        .await
        .unwrap();
    assert_ne!(theirs.id, acme.id);
    assert!(store.customer_by_id("T2", acme.id).await.unwrap().is_none());
    assert_eq!(
        store
            .customer_by_channel("T1", "C1")
            .await
            .unwrap()
            .unwrap()
            .id,
        acme.id
    );
    assert_eq!(
        store
            .customers_named("T1", "ACME inc")
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [acme.id]
    );
    assert_eq!(store.customers("T1").await.unwrap().len(), 1);
    assert_eq!(store.free_numbered_slug("T1").await.unwrap(), "c2");
    assert_eq!(
        store.customers_awaiting_channel().await.unwrap().len(),
        1,
        "T2's acme has none"
    );
    store
        .set_customer_channel(theirs.id, Some("C9"), None)
        .await
        .unwrap();
    assert!(store.customers_awaiting_channel().await.unwrap().is_empty());
    assert!(store.first_sight_of_event("Ev1", at_ms(1)).await.unwrap());
    assert!(!store.first_sight_of_event("Ev1", at_ms(2)).await.unwrap());
    store.close().await;
}

async fn ticks_scenario(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let c = store
        .create_customer(&customer("T1", "acme", None))
        .await
        .unwrap();
    let keys = vec!["1.1.1".to_string(), "1.1.2".to_string()];
    assert_eq!(
        store
            .set_done(&c, &keys, &[], "U1", Source::Command, at_ms(10))
            .await
            .unwrap(),
        keys
    );
    // A retried or repeated tick changes nothing and keeps the first who/when.
    assert!(
        store
            .set_done(&c, &keys[..1], &[], "U2", Source::Command, at_ms(20))
            .await
            .unwrap()
            .is_empty()
    );
    let states = store.item_states(c.id).await.unwrap();
    assert_eq!(states["1.1.1"].done_by.as_deref(), Some("U1"));
    assert_eq!(states["1.1.1"].done_at, Some(10));
    assert_eq!(
        store
            .set_done(&c, &[], &keys[1..], "U2", Source::Command, at_ms(30))
            .await
            .unwrap(),
        vec!["1.1.2".to_string()]
    );
    assert!(
        store
            .set_done(&c, &[], &keys[1..], "U2", Source::Command, at_ms(40))
            .await
            .unwrap()
            .is_empty()
    );
    let states = store.item_states(c.id).await.unwrap();
    assert!(states["1.1.2"].done_at.is_none());
    assert_eq!(store.team_item_states("T1").await.unwrap()[&c.id].len(), 2);
    store.close().await;
}

async fn item_change_scenario(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let c = store
        .create_customer(&customer("T1", "acme", None))
        .await
        .unwrap();
    store
        .set_done(
            &c,
            &["1.2.1".to_string()],
            &[],
            "U1",
            Source::Command,
            at_ms(5),
        )
        .await
        .unwrap();
    let due = chrono::NaiveDate::from_ymd_opt(2026, 12, 1);
    let first = ItemChange {
        assignee: Some(Some("U7".into())),
        due: Some(due),
        ..Default::default()
    };
    let update = store
        .change_item(
            c.id,
            "1.2.1",
            &first,
            Actor::new("U1", Source::Modal),
            at_ms(6),
        )
        .await
        .unwrap();
    assert_eq!(update.before.assignee, None);
    assert_eq!(update.after.assignee.as_deref(), Some("U7"));
    let note = ItemChange {
        note: Some(Some("waiting on legal".into())),
        ..Default::default()
    };
    store
        .change_item(
            c.id,
            "1.2.1",
            &note,
            Actor::new("U2", Source::Modal),
            at_ms(7),
        )
        .await
        .unwrap();
    let s = &store.item_states(c.id).await.unwrap()["1.2.1"];
    assert_eq!(s.assignee.as_deref(), Some("U7"), "kept");
    assert_eq!(s.due, due, "kept");
    assert_eq!(s.note.as_deref(), Some("waiting on legal"));
    assert_eq!(s.done_by.as_deref(), Some("U1"), "the tick is untouched");
    store.close().await;
}

async fn stale_scenario(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let c = store
        .create_customer(&customer("T1", "acme", Some("C1")))
        .await
        .unwrap();
    let v0 = store.customer_version(c.id).await.unwrap();
    store
        .record_message(c.id, "overview", "C1", "1.1", v0)
        .await
        .unwrap();
    store
        .record_message(c.id, "category:1:0", "C1", "1.2", v0)
        .await
        .unwrap();
    assert!(store.stale_messages(10).await.unwrap().is_empty());
    store
        .set_done(
            &c,
            &["1.1.1".to_string()],
            &[],
            "U1",
            Source::Command,
            at_ms(1),
        )
        .await
        .unwrap();
    store
        .set_done(
            &c,
            &["1.1.2".to_string()],
            &[],
            "U1",
            Source::Command,
            at_ms(2),
        )
        .await
        .unwrap();
    let stale = store.stale_messages(10).await.unwrap();
    assert_eq!(stale.len(), 2, "two messages, however many ticks");
    let v = stale[0].version;
    assert!(v > v0);
    store.mark_rendered("C1", "1.1", v).await.unwrap();
    // A change after the render was read keeps the message stale.
    store
        .set_done(
            &c,
            &["1.1.3".to_string()],
            &[],
            "U1",
            Source::Command,
            at_ms(3),
        )
        .await
        .unwrap();
    store.mark_rendered("C1", "1.2", v).await.unwrap();
    assert_eq!(store.stale_messages(10).await.unwrap().len(), 2);
    store.forget_message("C1", "1.1").await.unwrap();
    assert_eq!(store.stale_messages(10).await.unwrap().len(), 1);
    store.close().await;
}

async fn reopen_scenario(db: &TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let c = store
        .create_customer(&customer("T1", "acme", None))
        .await
        .unwrap();
    store
        .set_done(
            &c,
            &["7.1.1".to_string()],
            &[],
            "U1",
            Source::Command,
            at_ms(1),
        )
        .await
        .unwrap();
    store.close().await;
    let store = Store::connect(&db.url).await.unwrap();
    let states = store.item_states(c.id).await.unwrap();
    assert!(states["7.1.1"].done_at.is_some());
    store.close().await;
}

/// Outbox rows as the code before `store::outbox::Post` wrote them (its `kind` strings,
/// and each body's JSON byte for byte) are claimed as the variant of their kind; a
/// newer version's kind is claimed too, and does not read (the sender parks it).
async fn old_outbox_rows_scenario(db: &TestDb) {
    use readiness::blocks::Message;
    use readiness::domain::sla::Target;
    use readiness::store::outbox::{
        AssignedDm, DigestBody, DirectBody, EscalationBody, ItemDueBody, Post, ReminderBody,
        ReportBody, Unreadable,
    };

    const HI: &str =
        r#"{"text":"Hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Hi"}}]}"#;
    // The direct DMs went through `json!`, which sorts keys.
    const HI_SORTED: &str =
        r#"{"blocks":[{"text":{"text":"Hi","type":"mrkdwn"},"type":"section"}],"text":"Hi"}"#;
    let hi = Message::plain("Hi");
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    let rows: Vec<(&str, String, Option<i64>, Option<Post>)> = vec![
        (
            "ticket_message",
            "{}".into(),
            Some(12),
            Some(Post::TicketMessage {}),
        ),
        (
            "escalation",
            format!(r#"{{"message":{HI},"ticket_id":12,"target":"resolution"}}"#),
            Some(12),
            Some(Post::Escalation(EscalationBody {
                message: hi.clone(),
                ticket_id: 12,
                target: Some(Target::Resolution),
            })),
        ),
        (
            "direct",
            format!(r#"{{"customer_id":7,"message":{HI_SORTED}}}"#),
            None,
            Some(Post::Direct(DirectBody {
                customer_id: Some(7),
                message: hi.clone(),
            })),
        ),
        (
            "assigned_dm",
            r#"{"customer_id":3,"item":"1.1.1","by":"U2","due":"2026-12-08"}"#.into(),
            None,
            Some(Post::AssignedDm(AssignedDm {
                customer_id: 3,
                item: "1.1.1".into(),
                by: "U2".into(),
                due: Some(day(8)),
            })),
        ),
        (
            "reminder",
            format!(r#"{{"message":{HI},"customer_id":3}}"#),
            None,
            Some(Post::Reminder(ReminderBody {
                message: hi.clone(),
                customer_id: 3,
            })),
        ),
        (
            "item_due_dm",
            r#"{"customer_id":3,"item":"1.1.1","due":"2026-12-08","assignee":"U2"}"#.into(),
            None,
            Some(Post::ItemDueDm(ItemDueBody {
                customer_id: 3,
                item: "1.1.1".into(),
                due: day(8),
                assignee: "U2".into(),
            })),
        ),
        (
            "digest",
            r#"{"customer_id":3,"day":"2026-12-06"}"#.into(),
            None,
            Some(Post::Digest(DigestBody {
                customer_id: 3,
                day: day(6),
            })),
        ),
        (
            "report",
            r#"{"customer_id":3,"month":"2026-11","requested_by":"U1","uploaded":["png"]}"#.into(),
            None,
            Some(Post::Report(ReportBody {
                customer_id: 3,
                month: "2026-11".into(),
                requested_by: "U1".into(),
                uploaded: vec!["png".into()],
            })),
        ),
        // A newer version's kind.
        ("survey", r#"{"customer_id":3}"#.into(), None, None),
    ];
    let now = 1_700_000_000_000_i64;
    let store = Store::connect(&db.url).await.unwrap();
    // Each row in a lane of its own (its own channel and workspace), so one claim
    // takes them all.
    let sql = "INSERT INTO outbox (idem_key, team_id, channel_id, kind, ticket_id, body, next_attempt_at, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    let sqlite = match store.postgres_pool() {
        Some(_) => None,
        None => {
            let file = db.url.trim_start_matches("sqlite://");
            Some(
                sqlx::SqlitePool::connect(&format!("sqlite://{file}"))
                    .await
                    .unwrap(),
            )
        }
    };
    for (n, (kind, body, ticket, _)) in rows.iter().enumerate() {
        // The same statement on either dialect's pool.
        macro_rules! insert {
            ($pool:expr) => {
                sqlx::query(sql)
                    .bind(format!("old:{n}"))
                    .bind(format!("T{n}"))
                    .bind(format!("C{n}"))
                    .bind(*kind)
                    .bind(*ticket)
                    .bind(body)
                    .bind(now)
                    .execute($pool)
                    .await
                    .map(|_| ())
            };
        }
        match (store.postgres_pool(), &sqlite) {
            (Some(pool), _) => insert!(pool),
            (None, Some(pool)) => insert!(pool),
            (None, None) => unreachable!("a store is one or the other"),
        }
        .unwrap();
    }
    if let Some(pool) = sqlite {
        pool.close().await;
    }
    let claimed = store
        .claim_outbox("test", at_ms(now + 1), now + 60_000, 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), rows.len());
    for row in &claimed {
        let n: usize = row.key.trim_start_matches("old:").parse().unwrap();
        let (kind, body, _, want) = &rows[n];
        assert_eq!((row.kind.as_str(), &row.body), (*kind, body));
        match (row.post(), want) {
            (Ok(got), Some(want)) => assert_eq!(&got, want, "{kind}"),
            (Err(Unreadable::UnknownKind(k)), None) => assert_eq!(&k, kind),
            (got, want) => panic!("{kind}: read {got:?}, wanted {want:?}"),
        }
    }
    store.close().await;
}
