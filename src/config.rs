//! Settings: flags, each with an environment fallback, and an optional TOML file.
//!
//! Precedence is flag > environment > file > default (docs/configuration.md). clap
//! handles the first two; the file is merged underneath here, so every field below is
//! optional until [`Settings::resolve`] fills in the defaults.
//!
//! Secrets are wrapped in [`Secret`], whose `Debug` prints `***`, so a settings dump in
//! a log line can never leak them.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

/// Defined with the other secrets in `crypto`; settings hold several.
pub use crate::crypto::Secret;
use crate::domain::i18n::Lang;
use crate::domain::policy::Policy;

#[derive(Debug, Parser)]
#[command(
    name = "readiness",
    version,
    about = "Enterprise customer onboarding in Slack"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Print manifest.yml with the request URLs taken from READINESS_PUBLIC_URL.
    Manifest,
    /// Check a checklist template file and print its counts.
    CheckTemplate {
        /// The template file (TOML, the format of templates/enterprise-readiness.toml).
        path: PathBuf,
    },
    /// Try the app without Slack: the terminal stands in for Slack at both edges.
    #[command(
        after_help = "The server's settings (Slack tokens and URLs, --listen, installs, backups, HTTP limits) do not apply here: the terminal stands in for Slack. `readiness --help` lists them."
    )]
    Shell {
        /// Read the lines from this file (`-`: standard input) and print a transcript;
        /// stops with a non-zero exit at the first line that fails.
        #[arg(long)]
        script: Option<PathBuf>,
        /// `real`, or `virtual`: time stands still until `wait` moves it, straight to
        /// each next due timer.
        #[arg(long, value_enum, default_value_t = ClockKind::Real)]
        clock: ClockKind,
        /// Where the virtual clock starts (RFC 3339); default 2026-01-05T10:00:00+09:00.
        #[arg(long)]
        start: Option<String>,
        /// After the script, let this much time pass so timers fire (virtual time under
        /// `--clock virtual`), like `10s` or `4h`.
        #[arg(long, default_value = "0s")]
        wait: String,
    },
    /// Write a consistent copy of the SQLite database to FILE, while the server runs.
    Backup {
        /// Where the copy goes; an existing file is never overwritten.
        file: PathBuf,
    },
    /// Replace the SQLite database with a backup (the server must be stopped); the
    /// database it replaces is set aside, not deleted.
    Restore {
        /// A file written by `readiness backup` or the scheduled backup.
        file: PathBuf,
    },
    /// Re-seal every stored token with a new encryption key (the SQLite server must be
    /// stopped; start it again with the new key afterwards).
    RotateKey {
        /// A file holding the new key: the base64 of 32 random bytes. The current key
        /// is READINESS_ENCRYPTION_KEY (or READINESS_ENCRYPTION_KEY_FILE).
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Walk the audit log's hash chain and name the first entry that does not match
    /// (exit status 1 if one does not).
    VerifyAudit,
    /// Stream the audit log to stdout, oldest first, for a SIEM.
    ExportAudit {
        /// Entries at or after this: a date (YYYY-MM-DD, UTC midnight) or an RFC 3339 time.
        #[arg(long)]
        since: String,
        /// `jsonl` (one JSON object a line) or `csv` (with a header row).
        #[arg(long, value_enum, default_value_t = AuditFormat::Jsonl)]
        format: AuditFormat,
    },
    /// Write a customer's export (every item of its tier's checklist with its state,
    /// who ticked it and when, assignee, due date, notes) to stdout, as a
    /// self-contained HTML document or as CSV: what `/readiness export` uploads.
    Export {
        /// The Slack workspace (team id, T…) the customer belongs to.
        #[arg(long)]
        workspace: String,
        /// The customer's slug (as in its channel's name), or its name.
        #[arg(long)]
        customer: String,
        /// `html` (print it to PDF from a browser) or `csv`.
        #[arg(long, value_enum, default_value_t = ExportFormat::Html)]
        format: ExportFormat,
    },
}

/// The formats of `readiness export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Html,
    Csv,
}

/// The settings that mean something to `readiness shell`; the others (Slack's tokens
/// and URLs, the listener, installs, backups, HTTP limits) are the server's, which the
/// shell replaces or does without.
pub const SHELL_SETTINGS: [&str; 7] = [
    "database_url",
    "config",
    "template",
    "language",
    "default_role",
    "commands_per_user_per_minute",
    "commands_per_workspace_per_minute",
];

impl Cli {
    /// The command line, with the server's settings hidden from `readiness shell --help`.
    /// They stay accepted there (an environment set for the server must not stop the
    /// shell), and stay listed in `readiness --help` and every other subcommand's.
    pub fn command_line() -> clap::Command {
        let cli = <Self as clap::CommandFactory>::command();
        let server_only: Vec<clap::Arg> = cli
            .get_arguments()
            .filter(|a| a.is_global_set() && !SHELL_SETTINGS.contains(&a.get_id().as_str()))
            .cloned()
            .collect();
        // A subcommand that has an argument of its own is not given the global one of
        // the same id: here, a hidden copy.
        cli.mut_subcommand("shell", |shell| {
            server_only
                .into_iter()
                .fold(shell, |shell, arg| shell.arg(arg.global(false).hide(true)))
        })
    }

    /// Parses the process's arguments (exits with clap's message on an error).
    pub fn parse_args() -> Self {
        let matches = Self::command_line().get_matches();
        <Self as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// The clocks of `readiness shell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockKind {
    Real,
    Virtual,
}

/// The formats of `export-audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Jsonl,
    Csv,
}

/// Every setting as a flag with its environment fallback. All optional: the TOML file
/// and the defaults fill the gaps.
#[derive(Debug, Default, Args)]
pub struct SettingArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "READINESS_LISTEN", global = true)]
    pub listen: Option<String>,
    /// sqlite://path (created if missing) or postgres://…
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Slack's signing secret, from the app's Basic Information page.
    #[arg(
        long,
        env = "SLACK_SIGNING_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub slack_signing_secret: Option<String>,
    /// Bot token (xoxb-…) for single-workspace mode.
    #[arg(long, env = "SLACK_BOT_TOKEN", global = true, hide_env_values = true)]
    pub slack_bot_token: Option<String>,
    /// Base URL of Slack's Web API; every Web API call goes here.
    #[arg(long, env = "SLACK_API_URL", global = true)]
    pub slack_api_url: Option<String>,
    /// App-level token (xapp-…) with connections:write: serve over Socket Mode.
    #[arg(long, env = "SLACK_APP_TOKEN", global = true, hide_env_values = true)]
    pub slack_app_token: Option<String>,
    /// The app's client id: with the secret, installs into many workspaces (OAuth).
    #[arg(long, env = "SLACK_CLIENT_ID", global = true)]
    pub slack_client_id: Option<String>,
    /// The app's client secret, from its Basic Information page.
    #[arg(
        long,
        env = "SLACK_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub slack_client_secret: Option<String>,
    /// Base64 of 32 random bytes: seals the workspaces' tokens at rest (AES-256-GCM).
    /// While rotating, several, comma-separated, newest first: the newest seals, all open.
    #[arg(
        long,
        env = "READINESS_ENCRYPTION_KEY",
        global = true,
        hide_env_values = true
    )]
    pub encryption_key: Option<String>,
    /// A file holding that key instead (like a mounted secret).
    #[arg(long, env = "READINESS_ENCRYPTION_KEY_FILE", global = true)]
    pub encryption_key_file: Option<PathBuf>,
    /// Path of the TOML settings and policy file.
    #[arg(long = "config", env = "READINESS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The app's public base URL (https://…): `readiness manifest` and the OAuth redirect.
    #[arg(long, env = "READINESS_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// A checklist template file replacing the built-in one.
    #[arg(long, env = "READINESS_TEMPLATE", global = true)]
    pub template: Option<PathBuf>,
    /// ja or en: the language of what the app posts in channels (checklists, tickets,
    /// escalations, reminders, reports). Replies only one person sees, forms and the App
    /// Home follow that person's Slack language instead. In `readiness shell` it also
    /// sets the Slack language of the shell's people, so everything there is in it.
    #[arg(long, env = "READINESS_LANGUAGE", global = true)]
    pub language: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "READINESS_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// The role of people given none who are not Slack admins: csm, agent or viewer.
    #[arg(long, env = "READINESS_DEFAULT_ROLE", global = true)]
    pub default_role: Option<String>,
    /// Slash commands a minute taken from one person (0: no limit).
    #[arg(long, env = "READINESS_COMMANDS_PER_USER_PER_MINUTE", global = true)]
    pub commands_per_user_per_minute: Option<u32>,
    /// Slash commands a minute taken from one workspace (0: no limit).
    #[arg(
        long,
        env = "READINESS_COMMANDS_PER_WORKSPACE_PER_MINUTE",
        global = true
    )]
    pub commands_per_workspace_per_minute: Option<u32>,
    /// A directory for scheduled backups (SQLite); none are taken when unset.
    #[arg(long, env = "READINESS_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,
    /// How often a scheduled backup is taken, like `1h` (at least a minute).
    #[arg(long, env = "READINESS_BACKUP_EVERY", global = true)]
    pub backup_every: Option<String>,
    /// How many scheduled backups are kept (the oldest are deleted).
    #[arg(long, env = "READINESS_BACKUP_KEEP", global = true)]
    pub backup_keep: Option<usize>,
    /// A connection that has not sent a request's headers within this is closed, like `5s`.
    #[arg(long, env = "READINESS_HTTP_HEADER_TIMEOUT", global = true)]
    pub http_header_timeout: Option<String>,
    /// A request whose body has not all arrived within this gets 408, like `30s`.
    #[arg(long, env = "READINESS_HTTP_BODY_TIMEOUT", global = true)]
    pub http_body_timeout: Option<String>,
    /// Requests in progress at once (past their headers; /healthz aside); more get 503.
    #[arg(long, env = "READINESS_HTTP_MAX_REQUESTS", global = true)]
    pub http_max_requests: Option<usize>,
}

/// The settings part of the TOML file (the policy tables live beside it and are read
/// by their own module when the SLA clock needs them).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    slack_signing_secret: Option<Secret>,
    slack_bot_token: Option<Secret>,
    slack_api_url: Option<String>,
    slack_app_token: Option<Secret>,
    slack_client_id: Option<String>,
    slack_client_secret: Option<Secret>,
    encryption_key: Option<Secret>,
    encryption_key_file: Option<PathBuf>,
    public_url: Option<String>,
    template: Option<PathBuf>,
    language: Option<String>,
    log_format: Option<String>,
    backup_dir: Option<PathBuf>,
    backup_every: Option<String>,
    backup_keep: Option<usize>,
    commands_per_user_per_minute: Option<u32>,
    commands_per_workspace_per_minute: Option<u32>,
    default_role: Option<String>,
    http_header_timeout: Option<String>,
    http_body_timeout: Option<String>,
    http_max_requests: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Installs into many workspaces through OAuth (each with its own token), rather
    /// than one workspace's `SLACK_BOT_TOKEN`.
    pub fn is_multi_workspace(&self) -> bool {
        !self.client_id.is_empty() || !self.client_secret.is_empty()
    }
}

/// The resolved settings the app runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub signing_secret: Secret,
    pub bot_token: Secret,
    pub slack_api_url: String,
    pub app_token: Secret,
    /// Many workspaces, installed through OAuth, when both are set.
    pub client_id: String,
    pub client_secret: Secret,
    /// Seals stored tokens; required with many workspaces.
    pub encryption_key: Option<crate::crypto::EncryptionKey>,
    pub public_url: Option<String>,
    pub template: Option<PathBuf>,
    /// Language of messages posted in channels.
    pub channel_language: Lang,
    pub log_format: LogFormat,
    /// SLA targets, support hours, holidays and escalation (the file's policy tables).
    pub policy: Policy,
    /// Those tables as TOML text: stored with the deadlines they planned, so a changed
    /// policy re-plans them at the next start.
    pub policy_text: String,
    /// The scheduled backup, when a directory is set.
    pub backup: Option<BackupSchedule>,
    /// Slash commands a minute per person and per workspace (0: no limit).
    pub commands_per_user_per_minute: u32,
    pub commands_per_workspace_per_minute: u32,
    /// The role of people given none who are not Slack admins.
    pub default_role: crate::domain::roles::Role,
    /// The HTTP server's timeouts and its cap on requests in progress.
    pub http: HttpLimits,
}

/// The scheduled backup (`backup_dir`), run by `scheduler::backup`.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: std::time::Duration,
    pub keep: usize,
}

/// What a client may hold of the server: a stalled client is closed, and a flood of
/// requests is shed rather than queued, so neither starves Slack's requests nor
/// `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A connection that has not sent a whole request head within this is closed
    /// (also an idle keep-alive connection between requests).
    pub header_timeout: std::time::Duration,
    /// A request whose body has not all arrived within this, from its headers, gets 408.
    pub body_timeout: std::time::Duration,
    /// Requests in progress at once, past their headers; more get 503 at once.
    /// `/healthz` is outside the cap.
    pub max_requests: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(5),
            body_timeout: std::time::Duration::from_secs(30),
            max_requests: 1024,
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://readiness.db";
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";
pub const DEFAULT_BACKUP_EVERY: &str = "1h";
pub const DEFAULT_BACKUP_KEEP: usize = 24;
pub const DEFAULT_COMMANDS_PER_USER_PER_MINUTE: u32 = 60;
pub const DEFAULT_COMMANDS_PER_WORKSPACE_PER_MINUTE: u32 = 1200;
pub const DEFAULT_HTTP_HEADER_TIMEOUT: &str = "5s";
pub const DEFAULT_HTTP_BODY_TIMEOUT: &str = "30s";
pub const DEFAULT_HTTP_MAX_REQUESTS: usize = 1024;
/// The cap on requests in progress is never set below this: Slack's bursts (a channel
/// of people ticking at once) must fit.
pub const MIN_HTTP_MAX_REQUESTS: usize = 512;

impl Settings {
    /// Merges flags/env over the optional file over the defaults.
    pub fn resolve(args: &SettingArgs) -> anyhow::Result<Self> {
        let (file, policy_text) = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                parse_file_settings(&text)
                    .with_context(|| format!("config file {}", path.display()))?
            }
            None => (FileSettings::default(), String::new()),
        };
        let policy = Policy::from_toml_str(&policy_text).map_err(|e| match &args.config {
            Some(path) => anyhow::anyhow!("config file {}: {e}", path.display()),
            None => anyhow::anyhow!("{e}"),
        })?;
        let secret = |flag: &Option<String>, file: &Option<Secret>| -> Secret {
            flag.clone()
                .map(Secret::from)
                .or_else(|| file.clone())
                .unwrap_or_default()
        };
        let listen_text = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_text.parse().with_context(|| {
            format!(
                "READINESS_LISTEN must be host:port, like {DEFAULT_LISTEN}; got {listen_text:?}"
            )
        })?;
        let language_text = args
            .language
            .clone()
            .or(file.language)
            .unwrap_or_else(|| "ja".into());
        let channel_language = match language_text.as_str() {
            "ja" => Lang::Ja,
            "en" => Lang::En,
            other => bail!("READINESS_LANGUAGE must be ja or en; got {other:?}"),
        };
        let log_format = match args
            .log_format
            .clone()
            .or(file.log_format)
            .as_deref()
            .unwrap_or("text")
        {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("READINESS_LOG_FORMAT must be text or json; got {other:?}"),
        };
        let slack_api_url = args
            .slack_api_url
            .clone()
            .or(file.slack_api_url)
            .unwrap_or_else(|| DEFAULT_SLACK_API_URL.into());
        url::Url::parse(&slack_api_url)
            .with_context(|| format!("SLACK_API_URL is not a URL: {slack_api_url:?}"))?;
        let backup_every_text = args
            .backup_every
            .clone()
            .or(file.backup_every)
            .unwrap_or_else(|| DEFAULT_BACKUP_EVERY.into());
        let backup_every = humantime::parse_duration(&backup_every_text)
            .ok()
            .filter(|d| *d >= std::time::Duration::from_secs(60))
            .with_context(|| {
                format!("READINESS_BACKUP_EVERY must be a duration of a minute or more, like 1h; got {backup_every_text:?}")
            })?;
        let backup_keep = args
            .backup_keep
            .or(file.backup_keep)
            .unwrap_or(DEFAULT_BACKUP_KEEP);
        if backup_keep == 0 {
            bail!("READINESS_BACKUP_KEEP must be at least 1");
        }
        let default_role_text = args
            .default_role
            .clone()
            .or(file.default_role)
            .unwrap_or_else(|| "csm".into());
        let default_role = match crate::domain::roles::Role::parse(&default_role_text) {
            Some(crate::domain::roles::Role::Admin) | None => bail!(
                "READINESS_DEFAULT_ROLE must be csm, agent or viewer; got {default_role_text:?}"
            ),
            Some(role) => role,
        };
        let encryption_key = match (
            args.encryption_key
                .clone()
                .map(Secret::from)
                .or(file.encryption_key),
            args.encryption_key_file
                .clone()
                .or(file.encryption_key_file),
        ) {
            (Some(_), Some(_)) => {
                bail!("set READINESS_ENCRYPTION_KEY or READINESS_ENCRYPTION_KEY_FILE, not both")
            }
            (Some(key), None) => Some(
                crate::crypto::EncryptionKey::from_base64(key.expose())
                    .map_err(|e| anyhow::anyhow!("READINESS_ENCRYPTION_KEY: {e}"))?,
            ),
            (None, Some(path)) => Some(
                crate::crypto::EncryptionKey::from_file(&path)
                    .map_err(|e| anyhow::anyhow!("READINESS_ENCRYPTION_KEY_FILE: {e}"))?,
            ),
            (None, None) => None,
        };
        let timeout = |name: &str, flag: &Option<String>, file: Option<String>, default: &str| {
            let text = flag.clone().or(file).unwrap_or_else(|| default.into());
            humantime::parse_duration(&text)
                .ok()
                .filter(|d| !d.is_zero() && *d <= std::time::Duration::from_secs(600))
                .with_context(|| {
                    format!(
                        "{name} must be a duration from 1ms to 10m, like {default}; got {text:?}"
                    )
                })
        };
        let http = HttpLimits {
            header_timeout: timeout(
                "READINESS_HTTP_HEADER_TIMEOUT",
                &args.http_header_timeout,
                file.http_header_timeout,
                DEFAULT_HTTP_HEADER_TIMEOUT,
            )?,
            body_timeout: timeout(
                "READINESS_HTTP_BODY_TIMEOUT",
                &args.http_body_timeout,
                file.http_body_timeout,
                DEFAULT_HTTP_BODY_TIMEOUT,
            )?,
            max_requests: args
                .http_max_requests
                .or(file.http_max_requests)
                .unwrap_or(DEFAULT_HTTP_MAX_REQUESTS),
        };
        if http.max_requests < MIN_HTTP_MAX_REQUESTS {
            bail!(
                "READINESS_HTTP_MAX_REQUESTS must be at least {MIN_HTTP_MAX_REQUESTS}; got {}",
                http.max_requests
            );
        }
        let backup = args
            .backup_dir
            .clone()
            .or(file.backup_dir)
            .map(|dir| BackupSchedule {
                dir,
                every: backup_every,
                keep: backup_keep,
            });
        Ok(Self {
            listen,
            database_url: args
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            signing_secret: secret(&args.slack_signing_secret, &file.slack_signing_secret),
            bot_token: secret(&args.slack_bot_token, &file.slack_bot_token),
            // slack-morphism joins method names with a `/`; accept the base with or without one.
            slack_api_url: slack_api_url.trim_end_matches('/').to_string(),
            app_token: secret(&args.slack_app_token, &file.slack_app_token),
            client_id: args
                .slack_client_id
                .clone()
                .or(file.slack_client_id)
                .unwrap_or_default(),
            client_secret: secret(&args.slack_client_secret, &file.slack_client_secret),
            encryption_key,
            public_url: args
                .public_url
                .clone()
                .or(file.public_url)
                .map(|u| u.trim_end_matches('/').to_string()),
            template: args.template.clone().or(file.template),
            channel_language,
            log_format,
            policy,
            policy_text,
            backup,
            commands_per_user_per_minute: args
                .commands_per_user_per_minute
                .or(file.commands_per_user_per_minute)
                .unwrap_or(DEFAULT_COMMANDS_PER_USER_PER_MINUTE),
            commands_per_workspace_per_minute: args
                .commands_per_workspace_per_minute
                .or(file.commands_per_workspace_per_minute)
                .unwrap_or(DEFAULT_COMMANDS_PER_WORKSPACE_PER_MINUTE),
            default_role,
            http,
        })
    }
}

/// The file holds the settings at the top level and the policy in tables; unknown
/// top-level settings are refused (by serde, naming the known ones) so a typo does not
/// silently fall back to a default.
/// Returns the settings and the policy tables as TOML text.
fn parse_file_settings(text: &str) -> anyhow::Result<(FileSettings, String)> {
    let mut table: toml::Table = toml::from_str(text)?;
    // Policy tables belong to the policy module.
    let mut policy = toml::Table::new();
    for policy_key in [
        "sla",
        "tiers",
        "escalation",
        "reminders",
        "retention",
        "intake",
    ] {
        if let Some(value) = table.remove(policy_key) {
            policy.insert(policy_key.to_string(), value);
        }
    }
    let policy_text = if policy.is_empty() {
        String::new()
    } else {
        toml::to_string(&policy)?
    };
    Ok((table.try_into()?, policy_text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readiness.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:4000\"\nlanguage = \"en\"\nslack_api_url = \"http://127.0.0.1:9/api/\"\n[sla.P0]\nfirst_response = \"15m\"\n",
        )
        .unwrap();
        let args = SettingArgs {
            config: Some(path),
            listen: Some("127.0.0.1:5000".into()),
            ..Default::default()
        };
        let settings = Settings::resolve(&args).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(settings.channel_language, Lang::En);
        assert_eq!(settings.slack_api_url, "http://127.0.0.1:9/api");
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn the_http_limits_default_and_refuse_what_makes_no_sense() {
        let settings = Settings::resolve(&SettingArgs::default()).unwrap();
        assert_eq!(
            settings.http.header_timeout,
            std::time::Duration::from_secs(5)
        );
        assert_eq!(
            settings.http.body_timeout,
            std::time::Duration::from_secs(30)
        );
        assert_eq!(settings.http.max_requests, DEFAULT_HTTP_MAX_REQUESTS);
        let set = |args: SettingArgs| Settings::resolve(&args).map(|s| s.http);
        let http = set(SettingArgs {
            http_header_timeout: Some("300ms".into()),
            http_body_timeout: Some("2s".into()),
            http_max_requests: Some(512),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(http.header_timeout, std::time::Duration::from_millis(300));
        assert_eq!(http.body_timeout, std::time::Duration::from_secs(2));
        for args in [
            SettingArgs {
                http_header_timeout: Some("0s".into()),
                ..Default::default()
            },
            SettingArgs {
                http_body_timeout: Some("forever".into()),
                ..Default::default()
            },
            SettingArgs {
                http_max_requests: Some(511),
                ..Default::default()
            },
        ] {
            assert!(set(args).is_err());
        }
    }

    fn help_of(args: &[&str]) -> String {
        match Cli::command_line().try_get_matches_from(args) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
            other => panic!("no help: {other:?}"),
        }
    }

    #[test]
    fn the_shell_help_lists_only_what_applies_to_the_shell() {
        let shell = help_of(&["readiness", "shell", "--help"]);
        for applies in [
            "--database-url",
            "--config",
            "--language",
            "--template",
            "--script",
        ] {
            assert!(shell.contains(applies), "{applies} missing:\n{shell}");
        }
        for server_only in [
            "--listen",
            "--slack-bot-token",
            "--slack-signing-secret",
            "--slack-app-token",
            "--encryption-key",
            "--backup-dir",
            "--http-header-timeout",
            "--public-url",
        ] {
            let listed = format!("{server_only} <");
            assert!(!shell.contains(&listed), "{server_only} listed:\n{shell}");
        }
        // Still the server's, and still accepted by the shell (an environment set for
        // the server must not stop it).
        let top = help_of(&["readiness", "--help"]);
        assert!(top.contains("--listen") && top.contains("--slack-bot-token"));
        let serve = help_of(&["readiness", "serve", "--help"]);
        assert!(serve.contains("--listen"));
        let matches = Cli::command_line()
            .try_get_matches_from([
                "readiness",
                "shell",
                "--listen",
                "127.0.0.1:1",
                "--language",
                "en",
            ])
            .unwrap();
        let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
        assert_eq!(cli.settings.language.as_deref(), Some("en"));
        assert!(matches!(cli.command, Some(Command::Shell { .. })));
    }

    #[test]
    fn an_unknown_setting_in_the_file_is_refused_by_name() {
        let err = parse_file_settings("lisen = \"x\"").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = Settings::resolve(&SettingArgs {
            slack_signing_secret: Some("s3cr3t-value".into()),
            slack_bot_token: Some("xoxb-s3cr3t".into()),
            ..Default::default()
        })
        .unwrap();
        let dump = format!("{settings:?}");
        assert!(!dump.contains("s3cr3t"), "{dump}");
    }
}
