//! The export for the customer end to end: `/readiness export` uploads the HTML and
//! the CSV to the customer's channel (through the outbox, under a short message),
//! named `readiness-<slug>-<day>`, listing the tier's items with who ticked them and
//! when (by name, as Slack gives it); `readiness export` writes the same to stdout,
//! and refuses an unknown workspace or customer.

use std::time::Duration;

use chrono::Utc;

use crate::sla::{CSM, policy_file};
use crate::support::slack_double::SlackDouble;
use crate::support::{TEAM, TestApp, TestDb, readiness};
use readiness::domain::checklist::Tier;
use readiness::domain::policy::Policy;

on_both_backends!(
    the_export_uploads_html_and_csv_to_the_customer_s_channel,
    export_scenario
);

async fn export_scenario(db: &TestDb) {
    let (_dir, config) = policy_file("");
    let app = TestApp::spawn_with(db, SlackDouble::start().await, &[("config", &config)]).await;
    let channel = app.new_customer(CSM, "Globex tier=standard").await;
    app.command_text(CSM, &channel, "done 1.1.1").await;
    // Proof hangs on 1.3.1; the export carries it.
    let proof = app
        .command_text(
            CSM,
            &channel,
            "evidence 1.3.1 <https://trust.example.com/soc2.pdf> SOC 2 Type II report",
        )
        .await;
    assert!(proof.contains("1.3.1"), "{proof}");
    // Slack gives the ticker's name; the export shows it, escaped.
    app.double.set_name(CSM, "Sam <Tanaka> & Co");
    let tz = Policy::default().tier(Tier::Standard).timezone;
    let today = Utc::now().with_timezone(&tz).date_naive().to_string();
    let stem = format!("readiness-globex-{today}");

    // Asked from elsewhere, naming the customer.
    let answer = app.command_text(CSM, "C0GENERAL", "export globex").await;
    assert!(answer.contains(&format!("{stem}.html")), "{answer}");
    assert!(answer.contains(&format!("<#{channel}>")), "{answer}");
    let double = app.double.clone();
    double
        .wait_up_to(Duration::from_secs(15), "the export's two files", |d| {
            d.shared_files().len() >= 2
        })
        .await;
    // Nothing more comes: one request, one upload of each.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let files = double.shared_files();
    let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(
        names,
        [format!("{stem}.html"), format!("{stem}.csv")],
        "{names:?}"
    );
    let message = double
        .top_level(&channel)
        .into_iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains(&stem))
        .expect("the message the files hang under");
    for f in &files {
        assert_eq!(f.channel, channel, "{}", f.filename);
        assert_eq!(f.thread_ts.as_deref(), message["ts"].as_str());
    }
    let html = String::from_utf8(files[0].content.clone()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<html lang=\"en\">"));
    // The ticked item: its key, who ticked it and the day.
    let row = html
        .lines()
        .find(|l| l.contains("<td>1.1.1</td>"))
        .expect("1.1.1's row");
    assert!(row.contains("class=\"done\""), "{row}");
    assert!(row.contains("Sam &lt;Tanaka&gt; &amp; Co"), "{row}");
    assert!(row.contains(&today), "{row}");
    // The evidence, linked on its item's row, with its note.
    let proven = html
        .lines()
        .find(|l| l.contains("<td>1.3.1</td>"))
        .expect("1.3.1's row");
    assert!(
        proven.contains("href=\"https://trust.example.com/soc2.pdf\"")
            && proven.contains("SOC 2 Type II report"),
        "{proven}"
    );
    // A Standard customer's export leaves out the Enterprise-only items.
    assert!(html.contains("<td>3.1.2</td>"));
    assert!(!html.contains("<td>3.1.3</td>") && !html.contains("<td>3.1.4</td>"));
    let csv = String::from_utf8(files[1].content.clone()).unwrap();
    let csv = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let ticked = rows.iter().find(|r| &r[2] == "1.1.1").unwrap();
    assert_eq!((&ticked[4], &ticked[6]), ("done", "Sam <Tanaka> & Co"));
    assert!(ticked[7].starts_with(&today), "{ticked:?}");
    assert!(!rows.iter().any(|r| &r[2] == "3.1.3"));
    app.stop().await;

    // The same from the command line.
    let cli = |args: &[&str]| {
        readiness()
            .arg("export")
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("READINESS_CONFIG", &config)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "--workspace",
        TEAM,
        "--customer",
        "globex",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let cli_rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(cli_rows.len(), rows.len());
    // The command line asks Slack nothing: the ticker is shown by id.
    let cli_ticked = cli_rows.iter().find(|r| &r[2] == "1.1.1").unwrap();
    assert_eq!((&cli_ticked[4], &cli_ticked[6]), ("done", CSM));
    let out = cli(&["--workspace", TEAM, "--customer", "Globex"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("<!DOCTYPE html>") && stdout.contains("<td>1.1.1</td>"));

    let out = cli(&["--workspace", TEAM, "--customer", "initech"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"initech\"") && err.contains("globex"),
        "{err}"
    );
    let out = cli(&["--workspace", "T0NOPE", "--customer", "globex"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("T0NOPE"), "{err}");
    let out = cli(&[
        "--workspace",
        TEAM,
        "--customer",
        "globex",
        "--format",
        "pdf",
    ]);
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_without_a_channel_or_customer_is_refused_and_nothing_is_queued() {
    let (_dir, config) = policy_file("");
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(&db, SlackDouble::start().await, &[("config", &config)]).await;
    let answer = app.command_text(CSM, "C0GENERAL", "export").await;
    assert!(answer.contains("/readiness export"), "{answer}");
    let answer = app.command_text(CSM, "C0GENERAL", "export nosuch").await;
    assert!(answer.contains("nosuch"), "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.double.shared_files().is_empty());
    app.stop().await;
}

/// The export's messages in `channel`.
fn exports_in(double: &SlackDouble, channel: &str) -> Vec<serde_json::Value> {
    double
        .top_level(channel)
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains("readiness-acme-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_is_retried_without_posting_or_uploading_twice() {
    let (_dir, config) = policy_file("");
    let (app, _db, channel) =
        crate::sla::app_on_virtual_clock_with_customer(&config, SlackDouble::start().await, "Acme")
            .await;
    let double = app.double.clone();
    // The HTML's upload is rate-limited, then its completion fails (a 500).
    double.fail_next("files.getUploadURLExternal", &["ratelimited"]);
    double.fail_next("files.completeUploadExternal", &["http500"]);
    app.command_text(CSM, &channel, "export").await;
    app.advance(Duration::from_secs(120)).await;
    let posted = exports_in(&double, &channel);
    assert_eq!(posted.len(), 1, "posted once: {posted:#?}");
    let files = double.shared_files();
    let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(names.len(), 2, "each file once: {names:?}");
    assert!(names[0].ends_with(".html") && names[1].ends_with(".csv"));
    assert!(
        files
            .iter()
            .all(|f| f.thread_ts.as_deref() == posted[0]["ts"].as_str())
    );
    assert_eq!(double.calls_to("files.completeUploadExternal").len(), 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_workspace_gets_its_export_in_japanese() {
    let (_dir, config) = policy_file("");
    let db = TestDb::sqlite();
    let app = TestApp::spawn_with(
        &db,
        SlackDouble::start().await,
        &[("config", &config), ("language", "ja")],
    )
    .await;
    let channel = app.new_customer(CSM, "グローベックス slug=globex").await;
    app.command_text(CSM, &channel, "done 1.1.1").await;
    app.command_text(CSM, &channel, "export").await;
    let double = app.double.clone();
    double
        .wait_up_to(Duration::from_secs(15), "the export's two files", |d| {
            d.shared_files().len() >= 2
        })
        .await;
    let files = double.shared_files();
    let html = String::from_utf8(files[0].content.clone()).unwrap();
    assert!(html.contains("<html lang=\"ja\">"), "{html}");
    assert!(html.contains("グローベックス") && html.contains(">完了<"));
    assert!(!html.contains(">Done<"));
    let posted = double
        .top_level(&channel)
        .into_iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains("readiness-globex-")
        })
        .expect("the export's message");
    assert!(
        posted["text"].as_str().unwrap().contains("チェックリスト"),
        "{posted}"
    );
    app.stop().await;
}
