use anyhow::Context;
use readiness::config::{Cli, ClockKind, Command, ExportFormat, LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// The app's request URLs in manifest.yml point at this host; `readiness manifest`
/// replaces it with READINESS_PUBLIC_URL.
const MANIFEST_PLACEHOLDER: &str = "https://readiness.example.com";

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_args();
    let settings = Settings::resolve(&cli.settings)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            init_tracing(settings.log_format);
            let listener = tokio::net::TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("cannot listen on {}", settings.listen))?;
            readiness::app::run(settings, listener, readiness::app::shutdown_signal()).await
        }
        Command::Manifest => {
            let mut manifest = include_str!("../manifest.yml").to_string();
            if !settings.app_token.is_empty() {
                manifest =
                    manifest.replace("socket_mode_enabled: false", "socket_mode_enabled: true");
            }
            match &settings.public_url {
                Some(url) => print!("{}", manifest.replace(MANIFEST_PLACEHOLDER, url)),
                None => {
                    eprintln!("READINESS_PUBLIC_URL is not set; the URLs below are placeholders.");
                    print!("{manifest}");
                }
            }
            Ok(())
        }
        Command::Shell {
            script,
            clock,
            start,
            wait,
        } => {
            // The terminal is the shell's; only warnings go to stderr.
            let filter = EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,sqlx=error"));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            let start = match start {
                None => None,
                Some(_) if clock == ClockKind::Real => {
                    anyhow::bail!("--start sets the virtual clock; add --clock virtual")
                }
                Some(text) => Some(
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "--start {text:?}: give an RFC 3339 time, like 2026-01-05T10:00:00+09:00"
                            )
                        })?
                        .to_utc(),
                ),
            };
            let wait = humantime::parse_duration(&wait).map_err(|_| {
                anyhow::anyhow!("--wait {wait:?}: give a duration, like 10s, 30m or 4h")
            })?;
            let options = readiness::shell::Options {
                script,
                virtual_clock: clock == ClockKind::Virtual,
                start,
                wait,
                // Only a database named on the command line: the environment or the
                // file may name the production one, which the shell must never run on.
                database_configured: cli.settings.database_url.is_some()
                    && std::env::var_os("DATABASE_URL").is_none(),
            };
            let code = readiness::shell::run(settings, options).await?;
            std::process::exit(code);
        }
        Command::Backup { file } => {
            let bytes = readiness::store::backup::backup(&settings.database_url, &file).await?;
            eprintln!("backup written to {} ({bytes} bytes)", file.display());
            Ok(())
        }
        Command::Restore { file } => {
            let restored = readiness::store::backup::restore(&file, &settings.database_url).await?;
            match &restored.set_aside {
                Some(aside) => eprintln!(
                    "{} restored from {}; the database it replaced is at {}",
                    restored.database.display(),
                    file.display(),
                    aside.display()
                ),
                None => eprintln!(
                    "{} restored from {}",
                    restored.database.display(),
                    file.display()
                ),
            }
            Ok(())
        }
        Command::RotateKey { new_key_file } => {
            let Some(old) = &settings.encryption_key else {
                anyhow::bail!(
                    "set READINESS_ENCRYPTION_KEY (or READINESS_ENCRYPTION_KEY_FILE) to the key the tokens are sealed with now"
                );
            };
            let new = readiness::crypto::EncryptionKey::from_file(&new_key_file)
                .map_err(|e| anyhow::anyhow!("--new-key-file: {e}"))?;
            let count = readiness::store::installations::rotate_key(
                &settings.database_url,
                old,
                &new,
                chrono::Utc::now(),
            )
            .await?;
            eprintln!(
                "{count} token(s) re-sealed from key {} to key {}. Start the server with the new key now (READINESS_ENCRYPTION_KEY or READINESS_ENCRYPTION_KEY_FILE).",
                old.ids().join(", "),
                new.id()
            );
            Ok(())
        }
        Command::ExportAudit { since, format } => {
            let since_ms = readiness::audit_export::parse_since(&since).ok_or_else(|| {
                anyhow::anyhow!(
                    "--since {since:?}: give a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:00:00+09:00)"
                )
            })?;
            let store = readiness::store::Store::connect(&settings.database_url).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let count = readiness::audit_export::export(&store, since_ms, format, &mut out).await?;
            drop(out);
            eprintln!("{count} audit entries exported");
            store.close().await;
            Ok(())
        }
        Command::Export {
            workspace,
            customer,
            format,
        } => {
            let store = readiness::store::Store::connect(&settings.database_url).await?;
            let exported = export_customer(&settings, &store, &workspace, &customer, format).await;
            store.close().await;
            let text = exported?;
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, text.as_bytes())?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        Command::VerifyAudit => {
            let store = readiness::store::Store::connect(&settings.database_url).await?;
            let checked = store.verify_audit().await;
            store.close().await;
            let checked = checked.context("cannot read the audit log")?;
            if checked.before_chain > 0 {
                eprintln!(
                    "{} older entries were written before the chain began and are not covered",
                    checked.before_chain
                );
            }
            match checked.broken {
                None => {
                    println!(
                        "audit log verified: {} entries, each following the one before it",
                        checked.verified
                    );
                    Ok(())
                }
                Some((id, why)) => {
                    println!(
                        "audit log BROKEN at entry {id}: {why} ({} entries before it verified)",
                        checked.verified
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::CheckTemplate { path } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let template = readiness::domain::template::Template::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            for c in &template.categories {
                println!(
                    "{}. {} / {}: {} items",
                    c.number,
                    c.en,
                    c.ja,
                    c.item_count()
                );
            }
            println!("total: {} items", template.item_count());
            for line in plan_summary(&template) {
                println!("{line}");
            }
            Ok(())
        }
    }
}

/// `readiness export`: the customer's export as `/readiness export` uploads it, in the
/// channels' language, as of now.
async fn export_customer(
    settings: &Settings,
    store: &readiness::store::Store,
    workspace: &str,
    customer: &str,
    format: ExportFormat,
) -> anyhow::Result<String> {
    use readiness::usecase::export;
    let template = readiness::app::load_template(settings)?;
    let customer = export::customer_for_cli(store, workspace.trim(), customer).await?;
    let tz = settings.policy.tier(customer.tier).timezone;
    let now = chrono::Utc::now();
    let data = export::read(store, &customer).await?;
    // The command line asks Slack nothing: people are shown by their ids.
    let how = export::Rendering {
        tz,
        lang: settings.channel_language,
        day: export::export_day(now, tz),
        now,
    };
    let files = export::render(&data, &template, &customer, &Default::default(), how);
    Ok(match format {
        ExportFormat::Html => files.html,
        ExportFormat::Csv => files.csv,
    })
}

/// What `check-template` learnt of the plan's fields: each tier's count, each owner's,
/// the items with a due date (by anchor) and the items that wait on others.
fn plan_summary(template: &readiness::domain::template::Template) -> Vec<String> {
    use readiness::domain::checklist::Tier;
    use readiness::domain::template::{Anchor, Owner};
    let tiers = [Tier::Standard, Tier::Professional, Tier::Enterprise]
        .iter()
        .map(|t| format!("{} {}", t.as_str(), template.for_tier(*t).item_count()))
        .collect::<Vec<_>>()
        .join(", ");
    let owners = Owner::ALL
        .iter()
        .map(|o| {
            let n = template.items().filter(|i| i.owner == Some(*o)).count();
            format!("{} {n}", o.as_str())
        })
        .chain(std::iter::once(format!(
            "none {}",
            template.items().filter(|i| i.owner.is_none()).count()
        )))
        .collect::<Vec<_>>()
        .join(", ");
    let dated = |anchor: Anchor| {
        template
            .items()
            .filter(|i| i.due.is_some_and(|d| d.anchor == anchor))
            .count()
    };
    let ordered = template.items().filter(|i| !i.after.is_empty()).count();
    vec![
        format!("items per tier: {tiers}"),
        format!("items per owner: {owners}"),
        format!(
            "items with a due date: {} from the kickoff, {} from the go-live",
            dated(Anchor::Kickoff),
            dated(Anchor::GoLive)
        ),
        format!("items after others (prerequisites): {ordered}"),
    ]
}
