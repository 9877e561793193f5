//! `readiness shell --script`: the main journeys as golden transcripts, compared byte
//! for byte (so with the virtual clock two runs print the same bytes), on SQLite and
//! PostgreSQL; a script that stops at its first error; and the real clock printing
//! escalations as they fire.
//!
//! `READINESS_BLESS=1 cargo test --test api shell` rewrites the transcripts after a
//! deliberate change of what the app shows; review the diff before committing it.

use std::path::PathBuf;
use std::process::{Output, Stdio};

use crate::support::{TestDb, readiness};

fn journeys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/shell")
}

/// Runs `readiness shell` on a script with the short policy, on `db`.
fn shell(db: &TestDb, script: &str, extra: &[&str]) -> Output {
    let dir = journeys();
    let mut cmd = readiness();
    cmd.arg("--config")
        .arg(dir.join("short-sla.toml"))
        .arg("--database-url")
        .arg(&db.url)
        .arg("shell")
        .arg("--script")
        .arg(dir.join(script))
        .args(extra)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd.output().expect("the binary runs")
}

/// `text` in a file of `dir`, for a test's own script or settings.
fn written(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Compares stdout with the journey's transcript (or rewrites it when blessing).
fn assert_golden(output: &Output, transcript: &str) {
    let path = journeys().join(transcript);
    let got = String::from_utf8_lossy(&output.stdout).into_owned();
    if std::env::var("READINESS_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{transcript} differs from line {}:\n  got:  {:?}\n  want: {:?}\n--- stderr ---\n{}\n--- whole output ---\n{got}",
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

/// Runs a journey on the virtual clock; it must succeed and print its transcript.
fn journey(db: &TestDb, name: &str) -> Output {
    let output = shell(db, &format!("{name}.txt"), &["--clock", "virtual"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_golden(&output, &format!("{name}.transcript"));
    output
}

async fn first_look(db: &TestDb) {
    let output = journey(db, "first-look");
    // What the journey is for, said again in plain terms so a re-blessed transcript
    // cannot quietly lose it: 50/80/100% on time, then silence once answered.
    let text = String::from_utf8_lossy(&output.stdout);
    for (at, what) in [
        (
            "[+0:05:00] #cust-acme · in a thread",
            "50% of the target used",
        ),
        (
            "[+0:08:00] #cust-acme · in a thread",
            "80% of the target used",
        ),
        ("[+0:10:00] #cust-acme · in a thread", "target breached"),
    ] {
        let heading = text.find(at).unwrap_or_else(|| panic!("{at} in\n{text}"));
        assert!(
            text[heading..].lines().nth(1).unwrap().contains(what),
            "{at}"
        );
    }
    let answered = text.find("press responded T-1").unwrap();
    assert!(
        !text[answered..].contains("in a thread"),
        "no escalation after the answer:\n{}",
        &text[answered..]
    );
    // The untick is the second click on one private copy: only 1.1.2 goes, the 1.1.3
    // ticked on that copy just before stays (the copy keeps its boxes, as Slack's
    // client does).
    let unticked = text.find("untick 1.1.2").unwrap();
    let after = &text[unticked..text[unticked..].find("/readiness ticket").unwrap() + unticked];
    assert!(
        after.contains("1/95 (1%)") && after.contains("1/26 (3%)"),
        "the untick shows in the channel, and only it:\n{after}"
    );
}

/// Runs `script` in an English shell on the virtual clock and a fresh SQLite
/// database; it must succeed. What it printed.
fn english_script(script: &str) -> String {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let script = written(&dir, "script.txt", script);
    let output = readiness()
        .args(["--database-url", &db.url, "--language", "en", "shell"])
        .args(["--clock", "virtual", "--script"])
        .arg(&script)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{text}");
    text
}

/// Reaction mode in the shell: a guest's message is no ticket until staff adds the
/// intake emoji to it. Not a golden transcript: the acknowledgement's "time left" is
/// rendered when it is sent, a second either way with the channel's pace.
#[test]
fn a_guests_message_becomes_a_ticket_when_staff_reacts_in_the_shell() {
    let text = english_script(
        "/readiness new Initech tier=standard\n/readiness customer initech intake=reaction\n\
         in #cust-initech\nas @gina guest\nsay Can we get the audit log export?\n\
         /readiness tickets initech\nas @you\nreact :ticket: 1\n/readiness tickets initech\n",
    );
    let before = &text[..text.find("react :ticket: 1").unwrap()];
    assert!(!before.contains("*T-1*"), "{before}");
    let after = &text[text.find("react :ticket: 1").unwrap()..];
    assert!(
        after.contains("@you reacted :ticket: to message 1"),
        "{after}"
    );
    assert!(
        after.contains("the app reacted :ticket: to @gina's message"),
        "{after}"
    );
    assert!(after.contains("we have this as *T-1*"), "{after}");
    assert!(after.contains("reported by @gina"), "{after}");
}

#[test]
fn several_clicks_on_one_private_copy_each_count_once() {
    let text = english_script(
        "/readiness new Acme tier=enterprise\n/readiness show acme security\n\
         tick 1.1.1\ntick 1.1.2\ntick 1.1.3\nuntick 1.1.1\n/readiness audit acme\n",
    );
    // Three ticks then one untick, all on the copy `show` answered with: 2 done.
    let last = text.rfind("untick 1.1.1").unwrap();
    assert!(text[last..].contains("2/26 (7%)"), "{}", &text[last..]);
    let audit = &text[text.rfind("/readiness audit acme").unwrap()..];
    assert_eq!(audit.matches("item.ticked").count(), 3, "{audit}");
    assert_eq!(audit.matches("item.unticked").count(), 1, "{audit}");
}
on_both_backends!(
    the_first_look_journey_prints_its_golden_transcript,
    first_look
);

async fn reminders_and_home(db: &TestDb) {
    journey(db, "reminders-and-home");
}
on_both_backends!(
    the_reminders_and_home_journey_prints_its_golden_transcript,
    reminders_and_home
);

async fn plan(db: &TestDb) {
    let output = journey(db, "plan");
    let text = String::from_utf8_lossy(&output.stdout);
    // What the journey is for, in plain terms: a Standard customer is counted without
    // the Enterprise-only items; the team's holders get the items they own; a step
    // waits for the one before and is refused until it is done; proof shows as a
    // paperclip; the export is uploaded to the customer's channel.
    let standard = readiness::domain::template::Template::builtin()
        .for_tier(readiness::domain::checklist::Tier::Standard)
        .item_count();
    assert!(text.contains(&format!("0/{standard} (0%)")), "{text}");
    let refused = &text[text.find("done globex 6.1.2").unwrap()..];
    assert!(
        refused.contains("6.1.1"),
        "the refusal names what it waits on"
    );
    assert!(text.contains("📎"), "the paperclip: {text}");
    assert!(text.contains("readiness-globex-2026-01-05.html"), "{text}");
}
on_both_backends!(the_plan_journey_prints_its_golden_transcript, plan);

async fn intake(db: &TestDb) {
    let output = journey(db, "intake");
    let text = String::from_utf8_lossy(&output.stdout);
    // What the journey is for, said in plain terms so a re-blessed transcript cannot
    // quietly lose it: the customer's message is T-1 (a P0 by its word "down"), timed
    // from when they wrote; "Thanks!" opens nothing; the escalation names the CSM, not
    // the customer; the customer's rating shows on the card; nothing else is a ticket.
    assert!(text.contains("we have this as *T-1*"), "{text}");
    assert!(
        text.contains("*T-1* · *P0* · Our SSO is down for everyone"),
        "{text}"
    );
    assert!(!text.contains("*T-2*"), "{text}");
    let escalation = &text[text
        .find("Next response: 50%")
        .expect("a next-response escalation")..];
    assert!(
        escalation.lines().nth(1).unwrap().contains("@you"),
        "{escalation}"
    );
    assert!(
        text.contains("Customer satisfaction: :smiley: *Good* · @dana"),
        "{text}"
    );
}
on_both_backends!(
    a_customers_own_message_becomes_a_ticket_in_the_shell,
    intake
);

#[test]
fn a_script_stops_at_its_first_error_with_a_non_zero_exit() {
    let db = TestDb::sqlite();
    // From standard input this time (`--script -`).
    let script = std::fs::read(journeys().join("stops-at-an-error.txt")).unwrap();
    let mut child = readiness()
        .args([
            "--database-url",
            &db.url,
            "shell",
            "--clock",
            "virtual",
            "--script",
            "-",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &script).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_golden(&output, "stops-at-an-error.transcript");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("Never"), "nothing after the error runs");
}

#[test]
fn with_the_real_clock_escalations_print_as_they_fire() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = written(
        &dir,
        "seconds.toml",
        "language = \"en\"\n[sla.P0]\nfirst_response = \"6s\"\nresolution = \"1h\"\n",
    );
    let script = written(
        &dir,
        "script.txt",
        "/readiness new Acme tier=enterprise\n/readiness ticket acme P0 Down\nwait 7s\npress responded T-1\n",
    );
    let output = readiness()
        .arg("--config")
        .arg(&config)
        .args(["--database-url", &db.url, "shell", "--script"])
        .arg(&script)
        .args(["--wait", "4s"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    // Each escalation's stamp, in seconds since the start.
    let stamp_of = |what: &str| -> u64 {
        let at = text
            .find(what)
            .unwrap_or_else(|| panic!("{what} in\n{text}"));
        // The heading is the line before the message's.
        let line_start = text[..at].rfind('\n').unwrap();
        let heading = text[..line_start].lines().last().unwrap();
        let stamp = heading.split(']').next().unwrap().trim_start_matches("[+");
        let parts: Vec<u64> = stamp.split(':').map(|p| p.parse().unwrap()).collect();
        parts[0] * 3600 + parts[1] * 60 + parts[2]
    };
    let (half, most, breached) = (
        stamp_of("50% of the target used"),
        stamp_of("80% of the target used"),
        stamp_of("target breached"),
    );
    // Due at 3 s, 4.8 s and 6 s after the ticket; a loaded machine may add a second.
    assert!((3..=5).contains(&half), "50% at +{half}s\n{text}");
    assert!(
        (4..=6).contains(&most) && most >= half,
        "80% at +{most}s\n{text}"
    );
    assert!(
        (6..=8).contains(&breached) && breached >= most,
        "100% at +{breached}s\n{text}"
    );
    let answered = text.find("press responded T-1").unwrap();
    assert!(
        !text[answered..].contains("in a thread"),
        "nothing fires after the answer, through --wait 4s:\n{text}"
    );
}

/// The seed's data protection: at info level the logs carry ids, never people's names,
/// customer names or what anyone wrote (summaries, notes, reminders, replies).
#[test]
fn info_logs_carry_no_names_or_free_text() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let script = written(
        &dir,
        "pii.txt",
        "/readiness new Zyxwv Corp tier=enterprise\n\
         /readiness customer zyxwv-corp csm=@mallory\n\
         /readiness ticket zyxwv-corp P1 secret-summary-qwerty\n\
         /readiness remind zyxwv-corp in 1m private-reminder-text\n\
         /readiness show zyxwv-corp security\n\
         choose 1.1.3\n\
         submit assignee=@mallory note=\"private-note-text\"\n\
         reply T-1 private-reply-text\n\
         wait 2m\n",
    );
    let output = readiness()
        .args([
            "--language",
            "en",
            "--database-url",
            &db.url,
            "shell",
            "--clock",
            "virtual",
            "--script",
        ])
        .arg(&script)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    let logs = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{shown}\n{logs}");
    // The journey did happen, and the logs said something about it.
    assert!(shown.contains("private-reminder-text") && shown.contains("secret-summary-qwerty"));
    assert!(
        logs.contains("ticket opened") && logs.contains("reminder fired"),
        "{logs}"
    );
    for private in [
        "Zyxwv",
        "zyxwv",
        "mallory",
        "MALLORY",
        "secret-summary",
        "private-reminder",
        "private-note",
        "private-reply",
    ] {
        assert!(
            !logs.contains(private),
            "{private} in the info logs:\n{logs}"
        );
    }
}

#[test]
fn a_date_field_given_a_day_its_month_lacks_says_that_day_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    for (language, field, said) in [
        ("en", "due", "that day does not exist"),
        ("ja", "期限", "その日はカレンダーに存在しません"),
    ] {
        let db = TestDb::sqlite();
        let script = written(
            &dir,
            &format!("no-such-day-{language}.txt"),
            &format!(
                "/readiness new Acme\n/readiness show acme security\nchoose 1.1.3\nsubmit {field}=2026-02-30\n"
            ),
        );
        let output = shell(
            &db,
            script.to_str().unwrap(),
            &["--clock", "virtual", "--language", language],
        );
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            all.contains(&format!("2026-02-30`: {said}"))
                || all.contains(&format!("2026-02-30`：{said}")),
            "{all}"
        );
        assert!(!all.contains("a date is YYYY-MM-DD"), "{all}");
    }
}

/// At the prompt, lines typed while the shell is still running one (a paste, or typing
/// ahead of a slow command) all run, in order. rustyline reads the terminal through a
/// buffer, and without its `buffer-redux` feature dropped what it had read past the
/// first line at the end of each `readline`: `as @bob` and `quit` below were lost, and
/// the shell waited for ever.
#[test]
fn lines_typed_ahead_at_the_prompt_all_run() {
    use std::io::{Read, Write};
    let db = TestDb::sqlite();
    let home = tempfile::tempdir().unwrap();
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let slave = std::fs::File::from(pty.slave);
    let mut child = {
        // Dropped once spawned, so the terminal ends (EOF) when the shell exits.
        let mut cmd = readiness();
        cmd.args(["--database-url", &db.url, "--language", "en"])
            .args(["shell", "--clock", "virtual"])
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env("HOME", home.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        cmd.spawn().expect("the binary runs")
    };
    let mut terminal = std::fs::File::from(pty.master);
    // Everything at once, before the first line is read: the first `readline` reads it
    // all and returns `wait 1m`; the rest waits in its buffer while that line runs.
    terminal
        .write_all(b"wait 1m\ras @alice\ras @bob\rquit\r")
        .unwrap();
    let mut reader = terminal.try_clone().unwrap();
    let (done, shown) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        // EIO once the shell has exited and the terminal's last other end is closed.
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        let _ = done.send(String::from_utf8_lossy(&out).into_owned());
    });
    let shown = match shown.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(shown) => shown,
        Err(_) => {
            let _ = child.kill();
            panic!("the shell did not run `quit`: a line typed ahead was lost");
        }
    };
    let status = child.wait().unwrap();
    assert!(status.success(), "{shown}");
    for prompt in ["@alice in #general>", "@bob in #general>"] {
        assert!(shown.contains(prompt), "no {prompt:?} in:\n{shown}");
    }
}

/// On the Home, `press LABEL CUSTOMER` presses that customer's button (not the first
/// customer's), a label of several words is given in quotes, and `close` closes the
/// open form without submitting it.
#[test]
fn press_finds_the_customers_button_by_a_quoted_label_and_close_closes_the_form() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let script = written(
        &dir,
        "press.txt",
        "/readiness new Acme\n/readiness new Globex\nhome\npress \"new ticket\" globex\nclose\nsubmit summary=never\n",
    );
    let output = readiness()
        .args(["--language", "en", "--database-url", &db.url])
        .args(["shell", "--clock", "virtual", "--script"])
        .arg(&script)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("Customer: *Globex*"), "{shown}");
    assert!(!shown.contains("Customer: *Acme*"), "{shown}");
    assert!(
        shown.contains("modal closed: New support request"),
        "{shown}"
    );
    // Closed: there is nothing left to submit, and nothing was opened.
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(shown.contains("no modal is open"), "{shown}");
    assert!(!shown.contains("T-1"), "{shown}");
}
