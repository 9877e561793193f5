//! The `readiness` binary itself: starting without Slack credentials, and refusing a
//! malformed template with its line.

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::Duration,
};

use crate::support::readiness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_the_server_starts_says_what_to_set_and_refuses_slack() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let mut child = readiness()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut said_what_to_set = false;
    let address = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server logs its address");
        said_what_to_set |= line.contains("SLACK_SIGNING_SECRET");
        if line.contains("listening") {
            let at = line.split("address=").nth(1).unwrap();
            break at.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(said_what_to_set, "one line says what to set");
    assert!(db.exists(), "the SQLite file is created");
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let slack = client
        .post(format!("http://{address}/slack/commands"))
        .header("x-slack-signature", "v0=00")
        .header(
            "x-slack-request-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .body("text=help")
        .send()
        .await
        .unwrap();
    assert_eq!(slack.status(), 401);
    // SIGTERM stops it cleanly.
    unsafe_kill_term(child.id());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

fn unsafe_kill_term(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_malformed_template_is_refused_at_start_with_its_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[categories]]\nnumber = 1\nja = \"A\"\nen = \"A\"\n\n[[items]]\nkey = \"1.1.1\"\nja = \"x\"\nen = \"x\"\n",
    )
    .unwrap();
    let output = readiness()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("x.db").display()),
        )
        .env("READINESS_TEMPLATE", &path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 6") && stderr.contains("section 1.1"),
        "{stderr}"
    );

    let output = readiness()
        .args(["check-template", "templates/enterprise-readiness.toml"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let total = readiness::domain::template::Template::builtin().item_count();
    assert!(
        stdout.contains(&format!("total: {total} items")),
        "{stdout}"
    );
    // The plan's fields were learnt: each tier's count, owners, dates and order.
    let builtin = readiness::domain::template::Template::builtin();
    let standard = builtin
        .for_tier(readiness::domain::checklist::Tier::Standard)
        .item_count();
    assert!(standard < total);
    assert!(
        stdout.contains(&format!("items per tier: standard {standard}, ")),
        "{stdout}"
    );
    let ordered = builtin.items().filter(|i| !i.after.is_empty()).count();
    assert!(ordered > 0);
    assert!(
        stdout.contains(&format!("items after others (prerequisites): {ordered}")),
        "{stdout}"
    );
    assert!(stdout.contains("items per owner: csm "), "{stdout}");
}
