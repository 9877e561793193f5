//! The export opens in a browser: each document is rendered by headless Chromium (a
//! Debian package, `/usr/bin/chromium`) into an A4-sized screenshot, which must not be
//! blank and must hold dark text. One is an ordinary export; the other the worst case:
//! every one of the Enterprise checklist's items, in Japanese, each with a long note
//! holding `<script>`, long names and long evidence links.
//!
//! Without Chromium the test says so and passes, unless `CI=true`, where it fails
//! (`.ci/run` installs it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use readiness::blocks::export::{ExportEvidence, ExportInput, html};
use readiness::domain::checklist::{ItemState, States, Tier};
use readiness::domain::customer::Customer;
use readiness::domain::i18n::Lang;
use readiness::domain::template::Template;

const CHROMIUM: &str = "/usr/bin/chromium";
/// A4 at 150 dpi.
const WIDTH: u32 = 1240;
const HEIGHT: u32 = 1754;
/// No screenshot in this long means Chromium hangs: the test fails rather than waits.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

fn customer(name: &str) -> Customer {
    Customer {
        id: 1,
        team_id: "T1".into(),
        slug: "globex".into(),
        name: name.into(),
        tier: Tier::Enterprise,
        channel_id: Some("C1".into()),
        channel_error: None,
        created_by: "U1".into(),
        created_at: 0,
        csm: None,
        archived_at: None,
        golive_on: chrono::NaiveDate::from_ymd_opt(2027, 3, 1),
        kickoff_on: chrono::NaiveDate::from_ymd_opt(2027, 1, 11),
        reminders_off: Vec::new(),
        intake_mode: None,
    }
}

/// Chromium, or `None` when it is not installed here (and this is not CI).
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{CHROMIUM} is missing: CI must render the export (.ci/run installs chromium)");
    }
    println!(
        "SKIPPED the browser rendering: {CHROMIUM} is not installed (apt-get install chromium)"
    );
    None
}

/// Renders `document` with headless Chromium and returns the screenshot's pixels as
/// RGB(A) rows: (width, height, channels, bytes).
fn screenshot(chromium: &str, document: &str) -> (u32, u32, usize, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("export.html");
    std::fs::write(&page, document).unwrap();
    let shot: PathBuf = dir.path().join("export.png");
    let profile = dir.path().join("profile");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took more than {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    assert!(
        status.success() && shot.exists(),
        "chromium failed ({status}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // READINESS_EXPORT_SHOTS=<dir> keeps each page and its picture, to look at.
    if let Some(keep) = std::env::var_os("READINESS_EXPORT_SHOTS") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        let n = std::fs::read_dir(keep).unwrap().count();
        std::fs::copy(&page, keep.join(format!("export-{n}.html"))).unwrap();
        std::fs::copy(&shot, keep.join(format!("export-{n}.png"))).unwrap();
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    (info.width, info.height, channels, pixels)
}

/// (share of pixels that are not white, number of dark pixels, as text is).
fn ink(width: u32, height: u32, channels: usize, pixels: &[u8]) -> (f64, usize) {
    let mut not_white = 0usize;
    let mut dark = 0usize;
    for px in pixels.chunks_exact(channels) {
        let (r, g, b) = (px[0] as u32, px[1] as u32, px[2] as u32);
        if r < 245 || g < 245 || b < 245 {
            not_white += 1;
        }
        if r + g + b < 3 * 90 {
            dark += 1;
        }
    }
    (not_white as f64 / (width as f64 * height as f64), dark)
}

fn assert_rendered(document: &str, what: &str) {
    let Some(chromium) = chromium() else {
        return;
    };
    let (width, height, channels, pixels) = screenshot(chromium, document);
    assert_eq!((width, height), (WIDTH, HEIGHT), "{what}");
    let (share, dark) = ink(width, height, channels, &pixels);
    println!(
        "{what}: {:.1}% not white, {dark} dark pixels",
        share * 100.0
    );
    assert!(share > 0.03, "{what}: the page is (nearly) blank: {share}");
    assert!(
        dark > 2_000,
        "{what}: no text to speak of: {dark} dark pixels"
    );
}

#[test]
fn an_export_renders_as_a_page_with_text() {
    let template = Template::builtin();
    let at = |d: u32| Utc.with_ymd_and_hms(2026, 12, d, 2, 0, 0).unwrap();
    let mut states = States::new();
    for (i, item) in template.for_tier(Tier::Enterprise).items().enumerate() {
        let state = match i % 4 {
            0 => ItemState {
                done_by: Some("U0CSM".into()),
                done_at: Some(at(1 + (i % 20) as u32).timestamp_millis()),
                ..ItemState::default()
            },
            1 => ItemState {
                assignee: Some("U0SAM".into()),
                due: chrono::NaiveDate::from_ymd_opt(2027, 1, 15),
                note: Some("Waiting for the customer's IT team.".into()),
                ..ItemState::default()
            },
            _ => ItemState::default(),
        };
        states.insert(item.key.clone(), state);
    }
    let evidence = vec![ExportEvidence {
        item: "1.1.1".into(),
        url: "https://files.example.com/soc2.pdf".into(),
        label: Some("soc2.pdf".into()),
        note: Some("SOC 2 Type II".into()),
        by: "U0CSM".into(),
        at: at(2).timestamp_millis(),
    }];
    let names = HashMap::from([("U0CSM".to_string(), "Sam Tanaka".to_string())]);
    let customer = customer("Globex");
    let document = html(&ExportInput {
        customer: &customer,
        template: template.for_tier(Tier::Enterprise),
        states: &states,
        evidence: &evidence,
        names: &names,
        lang: Lang::En,
        tz: chrono_tz::Asia::Tokyo,
        generated_at: at(6),
    });
    assert_rendered(&document, "an ordinary export");
}

#[test]
fn the_worst_export_is_escaped_and_still_renders() {
    let template = Template::builtin();
    let view = template.for_tier(Tier::Enterprise);
    assert!(view.item_count() >= 95, "{}", view.item_count());
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    let script = "<script>document.body.innerHTML=''</script>";
    let long_note = format!(
        "{script}{}\"'&<b>",
        "とても長いメモです。改行なしで続きます".repeat(40)
    );
    let long_name = format!("<img src=x onerror=alert(1)>{}", "長い名前".repeat(30));
    let mut states = States::new();
    let mut evidence = Vec::new();
    for item in view.items() {
        states.insert(
            item.key.clone(),
            ItemState {
                done_by: Some("U0LONG".into()),
                done_at: Some(at.timestamp_millis()),
                assignee: Some("U0LONG".into()),
                due: chrono::NaiveDate::from_ymd_opt(2027, 1, 15),
                note: Some(long_note.clone()),
                not_applicable: false,
                evidence: 1,
            },
        );
        evidence.push(ExportEvidence {
            item: item.key.clone(),
            url: format!(
                "https://files.example.com/{}?x=\"><script>",
                "a".repeat(500)
            ),
            label: None,
            note: Some(script.into()),
            by: "U0LONG".into(),
            at: at.timestamp_millis(),
        });
    }
    let names = HashMap::from([("U0LONG".to_string(), long_name.clone())]);
    let customer = customer(&format!("{script}{}", "株式会社グローベックス".repeat(20)));
    let document = html(&ExportInput {
        customer: &customer,
        template: view,
        states: &states,
        evidence: &evidence,
        names: &names,
        lang: Lang::Ja,
        tz: chrono_tz::Asia::Tokyo,
        generated_at: at,
    });
    // Nothing typed became markup: no script, no image, no attribute broken out of.
    assert!(!document.contains("<script"), "a script got through");
    assert!(!document.contains("<img"));
    assert!(!document.contains("<b>"));
    // The link's quote stays inside its attribute.
    assert!(document.contains("?x=&quot;&gt;&lt;script&gt;\">"));
    assert!(document.contains("&lt;script&gt;document.body.innerHTML=&#39;&#39;&lt;/script&gt;"));
    for item in view.items() {
        assert!(
            document.contains(&format!("<td>{}</td>", item.key)),
            "{}",
            item.key
        );
    }
    // The script, had it run, would have blanked the page.
    assert_rendered(&document, "the worst export");
}
