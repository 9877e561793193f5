//! Backups: `readiness backup` while the server runs, `readiness restore` refused while
//! it runs and of a file that is not a backup, and a round trip (backup, restore into
//! place, start again) that loses no row of any table; the scheduled backup at start.

use std::path::Path;

use sqlx::{Connection, Row, sqlite::SqliteConnection};

use crate::support::{TestApp, TestDb, readiness};

/// Every row of every table, each as SQLite's own quoting of its columns, in order.
async fn every_row(file: &Path) -> Vec<String> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}')"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
        let quoted = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT '{table}|' || {quoted} FROM \"{table}\" ORDER BY 1");
        rows.extend(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .unwrap(),
        );
    }
    conn.close().await.unwrap();
    rows
}

fn run(args: &[&str]) -> std::process::Output {
    readiness().args(args).output().expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_with_nothing_lost() {
    let db = TestDb::sqlite();
    let file = db.url.trim_start_matches("sqlite://").to_string();
    let app = TestApp::spawn(&db).await;
    app.new_customer("U0ALICE", "Acme tier=enterprise").await;
    app.command_text("U0ALICE", "C0GENERAL", "done acme 1.1.2")
        .await;
    app.command_text("U0ALICE", "C0GENERAL", "ticket acme P1 Exports are slow")
        .await;
    app.command_text("U0ALICE", "C0GENERAL", "remind acme in 2h Send the deck")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap();

    // Online: the server keeps its lock and its writer meanwhile.
    let out = run(&["--database-url", &db.url, "backup", copy_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = run(&["--database-url", &db.url, "backup", copy_arg]);
    assert!(!again.status.success(), "a backup never overwrites");
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));

    // Restoring over a database a server is using is refused, and changes nothing.
    let refused = run(&["--database-url", &db.url, "restore", copy_arg]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("another readiness process"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // A change after the backup: the restore takes the database back to before it.
    app.command_text("U0ALICE", "C0GENERAL", "done acme 1.1.3")
        .await;
    let double = app.stop().await;
    let at_backup = every_row(&copy).await;
    assert!(at_backup.iter().any(|r| r.starts_with("customers|")));
    assert!(at_backup.iter().any(|r| r.starts_with("tickets|")));
    assert!(at_backup.iter().any(|r| r.starts_with("reminders|")));
    assert!(at_backup.iter().any(|r| r.starts_with("audit_log|")));
    assert_ne!(
        every_row(Path::new(&file)).await,
        at_backup,
        "changed since"
    );

    let out = run(&["--database-url", &db.url, "restore", copy_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("before-restore"), "{said}");
    assert_eq!(
        every_row(Path::new(&file)).await,
        at_backup,
        "every row of every table as it was backed up"
    );
    let aside = said.split("replaced is at ").nth(1).unwrap().trim();
    assert!(
        every_row(Path::new(aside)).await.len() >= at_backup.len(),
        "the replaced database is kept"
    );

    // The restored database serves: 1.1.2 is done, 1.1.3 (after the backup) is not.
    let app = TestApp::spawn_with(&db, double, &[]).await;
    let shown = app
        .command_shown("U0ALICE", "C0GENERAL", "show acme security")
        .await;
    assert!(shown.contains("1/26"), "{shown}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_backup_is_refused_and_the_database_kept() {
    let db = TestDb::sqlite();
    let file = db.url.trim_start_matches("sqlite://").to_string();
    let app = TestApp::spawn(&db).await;
    app.new_customer("U0ALICE", "Acme").await;
    app.stop().await;
    let before = every_row(Path::new(&file)).await;
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just some bytes").unwrap();
    let out = run(&["--database-url", &db.url, "restore", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a usable backup"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let empty = dir.path().join("empty.db");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", empty.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE t (x)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let out = run(&[
        "--database-url",
        &db.url,
        "restore",
        empty.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "a SQLite file that is not ours");
    assert_eq!(every_row(Path::new(&file)).await, before, "nothing changed");
    let pg = run(&[
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/test",
        "backup",
        dir.path().join("pg.db").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&pg.stderr).contains("pg_dump"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_backup_writes_a_copy_at_start() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let app = TestApp::spawn_with(
        &db,
        crate::support::slack_double::SlackDouble::start().await,
        &[("backup_dir", backups.to_str().unwrap())],
    )
    .await;
    let mut found = Vec::new();
    for _ in 0..100 {
        found = readiness::store::backup::scheduled_backups(&backups).unwrap_or_default();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "one copy at start");
    assert!(
        every_row(&found[0])
            .await
            .iter()
            .any(|r| r.starts_with("_sqlx_migrations|"))
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let last = metrics
        .lines()
        .find(|l| l.starts_with("readiness_backup_last_success_timestamp_seconds "))
        .unwrap();
    assert_ne!(last.split(' ').nth(1), Some("0"), "{last}");
    app.stop().await;
}
