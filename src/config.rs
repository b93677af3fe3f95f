//! `crm serve`'s configuration: flags, then environment variables, then a TOML file
//! (`--config FILE`), then defaults. Unknown keys in the file are an error naming the key.
//! Every key is documented in docs/OPERATIONS.md ("Configuration").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use crm_eventstore::Durability;
use crm_graphql::Limits;
use crm_projections::RuleBook;
use serde::Deserialize;

/// Listen address when nothing names one.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
/// Sync interval of `durability = "batched"` unless the file sets `batched_interval_ms`.
pub const BATCHED_INTERVAL_DEFAULT: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityArg {
    /// Acknowledge an append only after fdatasync (the default).
    Fsync,
    /// Acknowledge after the write; sync every `batched_interval_ms` (a crash may lose that).
    Batched,
}

/// Where the log of record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStore {
    /// The segment store in the data directory (the default).
    Embedded,
    /// A PostgreSQL database; the data directory keeps the node's local copy of the log and
    /// its read models (crate `crm-eventstore-pg`, module `follow`).
    Postgres(String),
}

impl LogStore {
    /// `embedded`, or a `postgres://` / `postgresql://` URL.
    pub fn parse(value: &str, from: &str) -> anyhow::Result<LogStore> {
        let v = value.trim();
        if v == "embedded" {
            return Ok(LogStore::Embedded);
        }
        if v.starts_with("postgres://") || v.starts_with("postgresql://") {
            // Checked now, so a bad URL stops the start before anything is opened.
            crm_eventstore_pg::PgConfig::parse(v)
                .with_context(|| format!("{from}: not a PostgreSQL URL"))?;
            return Ok(LogStore::Postgres(v.to_string()));
        }
        bail!("{from} = '{v}' is neither 'embedded' nor a postgres:// URL")
    }

    /// For logs: the database's host and name, never its password.
    pub fn describe(&self) -> String {
        match self {
            LogStore::Embedded => "the segment store in the data directory".into(),
            LogStore::Postgres(url) => match crm_eventstore_pg::PgConfig::parse(url) {
                Ok(c) => format!(
                    "PostgreSQL database '{}' on {:?}",
                    c.connection.get_dbname().unwrap_or("(default)"),
                    c.connection.get_hosts()
                ),
                Err(_) => "PostgreSQL".into(),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the log of record lives: `embedded` (the data directory's segment store) or a
    /// PostgreSQL URL, postgres://USER@HOST:PORT/DB, shared by several `crm serve` nodes, each
    /// with its own data directory for its copy of the log and its read models
    /// [env: CRM_STORE] [file: store] [default: embedded].
    #[arg(long, value_name = "embedded|URL")]
    pub store: Option<String>,
    /// HOST:PORT to listen on [env: CRM_LISTEN] [file: listen] [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// A TOML file with any of: data_dir, listen, durability, batched_interval_ms, jwt_secret,
    /// jwt_secret_previous, jwt_previous_until, rules, log_json, introspection, suggestions, graphiql, shutdown_grace_ms, [limits],
    /// [readiness], [[reports]] (see docs/OPERATIONS.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// fsync: acknowledge after fdatasync; batched: sync every 200 ms
    /// [env: CRM_DURABILITY] [file: durability] [default: fsync].
    #[arg(long, value_enum)]
    pub durability: Option<DurabilityArg>,
    /// The rules file the read models use until the log activates a rule set
    /// [env: CRM_RULES] [file: rules] [default: schema/rules.default.toml, built in].
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Log as JSON lines on stderr [env: CRM_LOG_JSON=true|false] [file: log_json].
    #[arg(long)]
    pub log_json: bool,
    /// On an empty data directory, first load the demo data set (10,000 customers, a year of
    /// daily data; CRM_DEMO_CUSTOMERS and CRM_DEMO_DAYS for a smaller trial); on a second
    /// start the data is reused. A directory whose demo load was interrupted is refused
    /// (exit 1): remove it and start again. Prints a token per role.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: the demo's last business day (YYYY-MM-DD), not after today; the daily
    /// data ends on the last weekday on or before it [default: today in China Standard Time,
    /// UTC+8]. Ignored when the data directory already holds data.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_until, requires = "demo")]
    pub until: Option<time::Date>,
    /// With --demo: which business the demo is, brokerage (securities) or bank (a county rural
    /// credit cooperative: deposits, loans, cards, fee income) [default: brokerage]. Ignored
    /// when the data directory already holds data.
    #[arg(long, value_name = "brokerage|bank", requires = "demo")]
    pub profile: Option<crm_load::DemoProfile>,
    /// Print a development token per role at start (always with --demo). Tokens in a log are
    /// credentials: keep this off on a data directory that holds real customers.
    #[arg(long)]
    pub dev_tokens: bool,
}

/// The file as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    /// `embedded` or a postgres:// URL.
    store: Option<String>,
    listen: Option<String>,
    durability: Option<DurabilityArg>,
    batched_interval_ms: Option<u64>,
    jwt_secret: Option<String>,
    /// The secret before a rotation, accepted for verifying tokens until `jwt_previous_until`.
    jwt_secret_previous: Option<String>,
    /// RFC 3339, as a string or a TOML date-time.
    jwt_previous_until: Option<toml::Value>,
    rules: Option<PathBuf>,
    log_json: Option<bool>,
    introspection: Option<bool>,
    suggestions: Option<bool>,
    graphiql: Option<bool>,
    shutdown_grace_ms: Option<u64>,
    token_lifetime_max_hours: Option<u64>,
    /// Check every request's token against the staff directory (default on).
    directory_check: Option<bool>,
    /// The index's page cache in MiB (default 256; at least 1).
    cache_mib: Option<u64>,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    jobs: FileJobs,
    #[serde(default)]
    readiness: FileReadiness,
    /// Reports written on a schedule (`[[reports]]`).
    #[serde(default)]
    reports: Vec<crate::report::FileReport>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    body_bytes_max: Option<usize>,
    depth_max: Option<usize>,
    complexity_max: Option<usize>,
    recursive_depth_max: Option<usize>,
    directives_per_field_max: Option<usize>,
    aliases_max: Option<usize>,
    batch_size_max: Option<usize>,
    execution_timeout_ms: Option<u64>,
    page_size_max: Option<u32>,
    ws_init_timeout_ms: Option<u64>,
    ws_operations_max: Option<usize>,
    ws_sockets_per_subject_max: Option<usize>,
    ws_message_bytes_max: Option<usize>,
    replays_concurrent_max: Option<usize>,
    selection_cost_max: Option<u64>,
    campaign_targets_max: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJobs {
    running_max: Option<usize>,
    keep_results_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileReadiness {
    projection_lag_events_max: Option<u64>,
}

/// Everything `crm serve` runs with, resolved.
#[derive(Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    /// Where the log of record lives (`--store`, CRM_STORE, `store`).
    pub store: LogStore,
    pub listen: SocketAddr,
    pub durability: Durability,
    /// From CRM_JWT_SECRET or the file; otherwise the data directory's `jwt-secret`.
    pub jwt_secret: Option<String>,
    /// From CRM_JWT_SECRET_PREVIOUS or the file; otherwise the data directory's
    /// `jwt-secret.previous` (see `crate::secret`).
    pub jwt_secret_previous: Option<String>,
    /// The end of the previous secret's grace period, from CRM_JWT_PREVIOUS_UNTIL or the file
    /// (over the instant `jwt-secret.previous` records).
    pub jwt_previous_until: Option<time::OffsetDateTime>,
    pub rules: Option<PathBuf>,
    /// The rules file (or the built-in defaults), parsed and validated.
    pub rule_book: RuleBook,
    pub log_json: bool,
    pub introspection: bool,
    pub suggestions: bool,
    pub graphiql: bool,
    pub shutdown_grace: Duration,
    pub limits: Limits,
    pub projection_lag_events_max: Option<u64>,
    pub jobs: crm_projections::JobLimits,
    /// The longest token lifetime (`exp − iat`) the server accepts.
    pub token_lifetime_max: Duration,
    /// Tokens checked against the staff directory at every request.
    pub directory_check: bool,
    /// The index's page cache (sled's), from CRM_CACHE_MIB or `cache_mib` in the file.
    pub cache_bytes: u64,
    pub demo: bool,
    /// The demo's last business day (`--until`); `None` = today in UTC+8.
    pub demo_until: Option<time::Date>,
    /// The demo's business (`--profile`).
    pub demo_profile: crm_load::DemoProfile,
    /// Print development tokens at start: `--dev-tokens` or `--demo`.
    pub dev_tokens: bool,
    /// Reports written on a schedule, checked.
    pub reports: Vec<crate::report::ScheduledReport>,
}

/// An environment variable, if set and not empty.
fn env(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {name}")),
    }
}

/// CRM_CACHE_MIB over `cache_mib` in the file; 256 MiB unless set; 0 is refused.
fn cache_bytes(file: Option<u64>) -> anyhow::Result<u64> {
    let (mib, from) = match env("CRM_CACHE_MIB")? {
        Some(v) => (
            v.trim()
                .parse::<u64>()
                .with_context(|| format!("CRM_CACHE_MIB='{v}' is not a whole number of MiB"))?,
            "CRM_CACHE_MIB",
        ),
        None => match file {
            Some(mib) => (mib, "cache_mib in the config file"),
            None => return Ok(crm_eventstore::CACHE_BYTES_DEFAULT),
        },
    };
    if mib == 0 {
        bail!("{from} is 0: the index's page cache needs at least 1 MiB (default 256)");
    }
    mib.checked_mul(1024 * 1024)
        .with_context(|| format!("{from} = {mib} MiB is more bytes than this machine counts"))
}

fn parse_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => bail!("{name}='{other}' is not true or false"),
    }
}

impl ServeConfig {
    /// Resolves flag > environment > file > default. `data_dir` is the global `--data-dir`
    /// flag or CRM_DATA_DIR (clap reads both, the flag first).
    pub fn resolve(args: &ServeArgs, data_dir: Option<&Path>) -> anyhow::Result<ServeConfig> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the config file {}", path.display()))?;
                Self::parse_file(&text)
                    .with_context(|| format!("the config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = data_dir
            .map(Path::to_path_buf)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(crate::DATA_DIR_DEFAULT));
        let listen = match (args.listen, env("CRM_LISTEN")?, file.listen) {
            (Some(l), _, _) => l,
            (None, Some(l), _) => l
                .trim()
                .parse()
                .with_context(|| format!("CRM_LISTEN='{l}' is not HOST:PORT"))?,
            (None, None, Some(l)) => l
                .trim()
                .parse()
                .with_context(|| format!("listen = '{l}' in the config file is not HOST:PORT"))?,
            (None, None, None) => LISTEN_DEFAULT
                .parse()
                .context("the default listen address")?,
        };
        let durability = match (args.durability, env("CRM_DURABILITY")?, file.durability) {
            (Some(d), _, _) => d,
            (None, Some(d), _) => DurabilityArg::from_str(d.trim(), true).map_err(|_| {
                anyhow::anyhow!("CRM_DURABILITY='{d}' is not one of fsync, batched")
            })?,
            (None, None, Some(d)) => d,
            (None, None, None) => DurabilityArg::Fsync,
        };
        let durability = match durability {
            DurabilityArg::Fsync => Durability::Fsync,
            DurabilityArg::Batched => Durability::Batched {
                interval: file
                    .batched_interval_ms
                    .map_or(BATCHED_INTERVAL_DEFAULT, Duration::from_millis),
            },
        };
        let jwt_secret = env("CRM_JWT_SECRET")?.or(file.jwt_secret);
        let jwt_secret_previous = env("CRM_JWT_SECRET_PREVIOUS")?.or(file.jwt_secret_previous);
        let jwt_previous_until = match (env("CRM_JWT_PREVIOUS_UNTIL")?, file.jwt_previous_until) {
            (Some(v), _) => {
                Some(crate::secret::parse_instant(&v).context("CRM_JWT_PREVIOUS_UNTIL")?)
            }
            (None, Some(toml::Value::String(v))) => Some(
                crate::secret::parse_instant(&v)
                    .context("jwt_previous_until in the config file")?,
            ),
            (None, Some(toml::Value::Datetime(v))) => {
                Some(crate::secret::parse_instant(&v.to_string()).context(
                    "jwt_previous_until in the config file (a date-time with its offset)",
                )?)
            }
            (None, Some(other)) => {
                bail!("jwt_previous_until = {other} in the config file is not an RFC 3339 instant")
            }
            (None, None) => None,
        };
        let rules = args
            .rules
            .clone()
            .or(env("CRM_RULES")?.map(PathBuf::from))
            .or(file.rules);
        // The rules are checked before anything is loaded or served: a bad file stops the start.
        let rule_book = match &rules {
            Some(path) => RuleBook::from_file(path)
                .with_context(|| format!("the rules file {}", path.display()))?,
            None => RuleBook::default_rules().context("the built-in default rules")?,
        };
        let log_json = if args.log_json {
            true
        } else if let Some(v) = env("CRM_LOG_JSON")? {
            parse_bool("CRM_LOG_JSON", &v)?
        } else {
            file.log_json.unwrap_or(false)
        };
        let d = Limits::default();
        let l = file.limits;
        let ms = Duration::from_millis;
        let limits = Limits {
            body_bytes_max: l.body_bytes_max.unwrap_or(d.body_bytes_max),
            depth_max: l.depth_max.unwrap_or(d.depth_max),
            complexity_max: l.complexity_max.unwrap_or(d.complexity_max),
            recursive_depth_max: l.recursive_depth_max.unwrap_or(d.recursive_depth_max),
            directives_per_field_max: l
                .directives_per_field_max
                .unwrap_or(d.directives_per_field_max),
            aliases_max: l.aliases_max.unwrap_or(d.aliases_max),
            batch_size_max: l.batch_size_max.unwrap_or(d.batch_size_max),
            execution_timeout: l.execution_timeout_ms.map_or(d.execution_timeout, ms),
            page_size_max: l.page_size_max.unwrap_or(d.page_size_max),
            ws_init_timeout: l.ws_init_timeout_ms.map_or(d.ws_init_timeout, ms),
            ws_operations_max: l.ws_operations_max.unwrap_or(d.ws_operations_max),
            ws_sockets_per_subject_max: l
                .ws_sockets_per_subject_max
                .unwrap_or(d.ws_sockets_per_subject_max),
            ws_message_bytes_max: l.ws_message_bytes_max.unwrap_or(d.ws_message_bytes_max),
            replays_concurrent_max: l.replays_concurrent_max.unwrap_or(d.replays_concurrent_max),
            selection_cost_max: l.selection_cost_max.unwrap_or(d.selection_cost_max),
            campaign_targets_max: l.campaign_targets_max.unwrap_or(d.campaign_targets_max),
        };
        let store = match (&args.store, env("CRM_STORE")?, &file.store) {
            (Some(v), _, _) => LogStore::parse(v, "--store")?,
            (None, Some(v), _) => LogStore::parse(&v, "CRM_STORE")?,
            (None, None, Some(v)) => LogStore::parse(v, "store in the config file")?,
            (None, None, None) => LogStore::Embedded,
        };
        Ok(ServeConfig {
            data_dir,
            store,
            listen,
            durability,
            jwt_secret,
            jwt_secret_previous,
            jwt_previous_until,
            rules,
            rule_book,
            log_json,
            // Production defaults: a schema map, "did you mean" hints and a query console are
            // for developers; on with --demo, otherwise only where the file says so.
            introspection: file.introspection.unwrap_or(args.demo),
            suggestions: file.suggestions.unwrap_or(args.demo),
            graphiql: file.graphiql.unwrap_or(args.demo),
            shutdown_grace: file.shutdown_grace_ms.map_or(Duration::from_secs(30), ms),
            limits,
            projection_lag_events_max: file.readiness.projection_lag_events_max,
            jobs: {
                let d = crm_projections::JobLimits::default();
                crm_projections::JobLimits {
                    running_max: file.jobs.running_max.unwrap_or(d.running_max),
                    keep_results: file
                        .jobs
                        .keep_results_secs
                        .map_or(d.keep_results, Duration::from_secs),
                }
                .validated()
                .context("[jobs] in the config file")?
            },
            directory_check: file.directory_check.unwrap_or(true),
            cache_bytes: cache_bytes(file.cache_mib)?,
            token_lifetime_max: file
                .token_lifetime_max_hours
                .map_or(crm_graphql::TOKEN_LIFETIME_DEFAULT, |h| {
                    Duration::from_secs(h.saturating_mul(3600))
                }),
            demo: args.demo,
            demo_until: match args.until {
                // A configuration error like any other: refused before anything is opened.
                Some(until) if until > crm_load::demo::today() => {
                    return Err(crm_load::LoadError::DemoUntilInFuture {
                        until,
                        today: crm_load::demo::today(),
                    })
                    .context("--until");
                }
                until => until,
            },
            demo_profile: args.profile.unwrap_or_default(),
            dev_tokens: args.demo || args.dev_tokens,
            reports: crate::report::check_all(&file.reports)?,
        })
    }

    fn parse_file(text: &str) -> anyhow::Result<FileConfig> {
        // toml's message for an unknown key names it ("unknown field `x`, expected one of …")
        // with its line and column.
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_an_error_naming_it_and_known_keys_parse() {
        let err = ServeConfig::parse_file("listen = \"127.0.0.1:9\"\nlisten_port = 9\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("listen_port"), "{err}");
        let err = ServeConfig::parse_file("[limits]\ndepth = 3\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("depth"), "{err}");
        let ok = ServeConfig::parse_file(
            "durability = \"batched\"\nbatched_interval_ms = 50\n[limits]\ndepth_max = 3\n",
        );
        assert!(ok.is_ok_and(
            |f| f.limits.depth_max == Some(3) && f.durability == Some(DurabilityArg::Batched)
        ));
    }

    /// `crm serve --config F` with F holding `text`, nothing else set.
    fn resolve(text: &str) -> anyhow::Result<ServeConfig> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("crm.toml");
        std::fs::write(&path, text)?;
        let args = ServeArgs {
            store: None,
            listen: None,
            config: Some(path),
            durability: None,
            rules: None,
            log_json: false,
            demo: false,
            until: None,
            profile: None,
            dev_tokens: false,
        };
        ServeConfig::resolve(&args, Some(dir.path()))
    }

    #[test]
    fn the_log_of_record_is_embedded_unless_a_postgres_url_names_it_and_anything_else_is_refused() {
        assert_eq!(resolve("").unwrap().store, LogStore::Embedded);
        assert_eq!(
            resolve("store = \"postgres://crm@db.example:5432/crm\"\n")
                .unwrap()
                .store,
            LogStore::Postgres("postgres://crm@db.example:5432/crm".into())
        );
        let err = resolve("store = \"mysql://db/crm\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("mysql://db/crm"), "{err:#}");
        let described = LogStore::parse("postgres://crm:secret@db.example/crm", "--store")
            .unwrap()
            .describe();
        assert!(
            described.contains("crm") && !described.contains("secret"),
            "{described}"
        );
    }

    #[test]
    fn the_page_cache_is_set_in_mib_and_zero_is_refused() {
        assert_eq!(
            resolve("").map(|c| c.cache_bytes).ok(),
            Some(crm_eventstore::CACHE_BYTES_DEFAULT)
        );
        assert_eq!(
            resolve("cache_mib = 64\n").map(|c| c.cache_bytes).ok(),
            Some(64 * 1024 * 1024)
        );
        let err = resolve("cache_mib = 0\n")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            err.contains("cache_mib") && err.contains("at least 1 MiB"),
            "{err}"
        );
        assert!(resolve("cache_mib = -3\n").is_err());
    }

    #[test]
    fn scheduled_reports_are_checked_at_start_and_a_wrong_one_is_named() {
        let report = "[[reports]]\nkind = \"branch-ranking\"\nformat = \"xlsx\"\n\
                      directory = \"/tmp/r\"\nschedule = \"monthly\"\nday = 1\nat = \"06:30\"\n\
                      utc_offset = \"+08:00\"\n";
        let config = resolve(report).unwrap();
        assert_eq!(config.reports.len(), 1);
        let r = &config.reports[0];
        assert_eq!(r.kind, crm_projections::reports::ReportKind::BranchRanking);
        assert_eq!(
            r.path(time::macros::datetime!(2026-12-01 06:30 +8)),
            PathBuf::from("/tmp/r/branch-ranking-2026-11.xlsx")
        );
        let filtered = format!(
            "{}[reports.filters]\ntier = \"gold\"\n",
            report.replace("branch-ranking", "customers")
        );
        let config = resolve(&filtered).unwrap();
        assert_eq!(
            config.reports[0].filter.tier,
            Some(crm_projections::Tier::Gold)
        );
        for (bad, says) in [
            (report.replace("day = 1\n", ""), "day = 1 to 31"),
            (
                report.replace("branch-ranking", "dashboards"),
                "unknown report",
            ),
            (report.replace("06:30", "6.30"), "06:30"),
            (format!("{report}colour = \"red\"\n"), "colour"),
            (
                format!("{report}[reports.filters]\ntier = \"platinum\"\n"),
                "platinum",
            ),
            (
                format!("{report}[reports.filters]\ntier = \"gold\"\n"),
                "not narrowed by tier",
            ),
            (
                report.replace("format = \"xlsx\"", "format = \"xlsx\"\nencoding = \"gbk\""),
                "CSV",
            ),
        ] {
            let err = resolve(&bad)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = resolve(&format!("{report}[[reports]]\nkind = \"customers\"\nformat = \"csv\"\ndirectory = \"d\"\nschedule = \"weekly\"\nat = \"01:00\"\n"))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("[[reports]] number 2"), "{err}");
        // Two reports of one kind in one directory need names to tell their files apart.
        let twice = format!("{report}{report}");
        let err = resolve(&twice)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("give one a name"), "{err}");
        let named = format!(
            "{report}{}",
            report.replace("[[reports]]\n", "[[reports]]\nname = \"ranking-east\"\n")
        );
        let config = resolve(&named).unwrap();
        assert_eq!(
            config.reports[1].path(time::macros::datetime!(2026-12-01 06:30 +8)),
            PathBuf::from("/tmp/r/ranking-east-2026-11.xlsx")
        );
        assert!(
            resolve(&report.replace("[[reports]]\n", "[[reports]]\nname = \"../x\"\n")).is_err()
        );
    }

    #[test]
    fn the_previous_secret_s_instant_is_rfc_3339_quoted_or_as_a_toml_date_time() {
        let want = time::macros::datetime!(2025-06-30 10:00 UTC);
        for text in [
            "jwt_secret_previous = \"p\"\njwt_previous_until = \"2025-06-30T18:00:00+08:00\"\n",
            "jwt_secret_previous = \"p\"\njwt_previous_until = 2025-06-30T18:00:00+08:00\n",
        ] {
            let config = resolve(text);
            assert!(
                config
                    .as_ref()
                    .is_ok_and(|c| c.jwt_previous_until == Some(want)
                        && c.jwt_secret_previous.as_deref() == Some("p")),
                "{text}: {:?}",
                config.map(|c| c.jwt_previous_until)
            );
        }
        for bad in [
            "jwt_previous_until = \"tomorrow\"\n",
            "jwt_previous_until = 2025-06-30\n",
            "jwt_previous_until = 3\n",
        ] {
            assert!(resolve(bad).is_err(), "{bad}");
        }
    }
}
