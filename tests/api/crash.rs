//! The `readiness` binary killed with SIGKILL at the worst moments, and restarted:
//! nothing is lost and nothing is posted twice. Also: SQLite refuses a second process.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::sla::{policy_file, ticket_message};
use crate::support::{
    SIGNING_SECRET, TEAM, sign,
    slack_double::{BOT_TOKEN, SlackDouble},
};

/// The release binary serving on a free port, talking to the double.
struct Process {
    child: Child,
    address: String,
    lines: std::sync::mpsc::Receiver<String>,
}

async fn spawn(db_url: &str, config: &str, double: &SlackDouble) -> Result<Process, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_readiness"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("READINESS_TEMPLATE")
        .env("DATABASE_URL", db_url)
        .env("READINESS_CONFIG", config)
        .env("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("SLACK_API_URL", &double.api_url)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "readiness=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    // Waits for the address off the async threads, which serve the double meanwhile.
    tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if line.contains("listening") {
                        let at = line.split("address=").nth(1).unwrap();
                        let address = at.split_whitespace().next().unwrap().to_string();
                        return Ok(Process {
                            child,
                            address,
                            lines,
                        });
                    }
                    seen.push(line);
                }
                // Exited (the streams closed) or silent for too long.
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(seen.join("\n"));
                }
            }
        }
    })
    .await
    .unwrap()
}

impl Process {
    async fn command(&self, channel: &str, text: &str) -> String {
        let body = serde_urlencoded::to_string([
            ("team_id", TEAM),
            ("channel_id", channel),
            ("user_id", "U0CSM"),
            ("command", "/readiness"),
            ("text", text),
            ("response_url", "http://127.0.0.1:9/unused"),
        ])
        .unwrap();
        let ts = chrono::Utc::now().timestamp().to_string();
        let response = reqwest::Client::new()
            .post(format!("http://{}/slack/commands", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sign(SIGNING_SECRET, &ts, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        drop(self.lines);
    }
}

/// Killed while Slack was posting the ticket (posted, but the answer never came back)
/// and before any threshold was due; restarted after all three were due: the ticket
/// is found in Slack instead of posted again, and each escalation arrives once, in
/// order, threaded under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_post_and_before_the_thresholds_then_restart_delivers_each_once() {
    let (_dir, config) = policy_file(
        "[sla.P0]\nfirst_response = \"4s\"\nresolution = \"1h\"\n[escalation]\nrepeat_after_breach = \"0s\"\n",
    );
    let data = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", data.path().join("readiness.db").display());
    let double = SlackDouble::start().await;
    double.add_channel("C0ACME", "acme", true);
    let first = spawn(&db_url, &config, &double).await.unwrap();
    let created = first
        .command("C0GENERAL", "new Acme channel=<#C0ACME|acme>")
        .await;
    assert!(created.contains("Acme"), "{created}");
    double
        .wait_for("the overview", |d| !d.top_level("C0ACME").is_empty())
        .await;

    double.set_post_answer_delay(Duration::from_secs(3));
    let opened = first
        .command("C0ACME", "ticket P0 Checkout returns 502")
        .await;
    assert!(opened.contains("T-1"), "{opened}");
    double
        .wait_for("Slack to have the ticket", |d| {
            ticket_message(d, "C0ACME", "T-1").is_some()
        })
        .await;
    // Slack has it; the app is still waiting for the answer.
    first.kill_9();
    double.set_post_answer_delay(Duration::ZERO);
    // Five seconds pass while the app is down, in its database rather than on the
    // wall clock: the ticket and its timers move five seconds into the past, so all
    // three thresholds are due when it starts again.
    let down = sqlx::SqlitePool::connect(&db_url).await.unwrap();
    for moved in [
        "UPDATE tickets SET opened_at = opened_at - 5000",
        "UPDATE timers SET due_at = due_at - 5000 WHERE due_at IS NOT NULL",
    ] {
        sqlx::query(moved).execute(&down).await.unwrap();
    }
    down.close().await;
    assert!(
        double
            .thread_replies(
                "C0ACME",
                &ticket_message(&double, "C0ACME", "T-1").unwrap().0
            )
            .is_empty(),
        "nothing fired while the app was down"
    );

    let second = spawn(&db_url, &config, &double).await.unwrap();
    double
        .wait_up_to(
            Duration::from_secs(20),
            "three escalations after the restart",
            |d| {
                ticket_message(d, "C0ACME", "T-1")
                    .is_some_and(|(ts, _)| d.thread_replies("C0ACME", &ts).len() >= 3)
            },
        )
        .await;
    // A second post of the ticket would have come before its escalations, which are
    // threaded under the one message found in Slack: no wait is needed to see it.
    let tickets = double
        .top_level("C0ACME")
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap_or("").starts_with("T-1 "))
        .count();
    assert_eq!(
        tickets, 1,
        "the ticket was found in Slack, not posted again"
    );
    assert!(
        !double.calls_to("conversations.history").is_empty(),
        "the post left in doubt was looked up"
    );
    let (ts, _) = ticket_message(&double, "C0ACME", "T-1").unwrap();
    let fired: Vec<String> = double
        .thread_replies("C0ACME", &ts)
        .iter()
        .map(|m| m["blocks"].to_string())
        .collect();
    assert_eq!(fired.len(), 3, "{fired:#?}");
    assert!(
        fired[0].contains("50%") && fired[1].contains("80%") && fired[2].contains("breached"),
        "{fired:#?}"
    );
    second.kill_9();
}

/// A second process on the same SQLite file would fire every timer twice: it refuses
/// to start and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_sqlite_file_refuses_to_start() {
    let (_dir, config) = policy_file("");
    let data = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", data.path().join("readiness.db").display());
    let double = SlackDouble::start().await;
    let first = spawn(&db_url, &config, &double).await.unwrap();
    let refused = spawn(&db_url, &config, &double)
        .await
        .err()
        .expect("the second one must not start");
    assert!(refused.contains("another readiness process"), "{refused}");
    first.kill_9();
    // Once the first is gone (even killed), the file is free again.
    let again = spawn(&db_url, &config, &double).await.unwrap();
    again.kill_9();
}
