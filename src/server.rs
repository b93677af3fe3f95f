//! `crm serve` and `crm token`: the GraphQL server over the data directory (configured by
//! `crate::config`), and the development tokens it accepts (signed with the secret of
//! `crate::secret`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::{BranchId, RegionId, StaffId, TeamId};
use crm_domain::{staff, AnyEvent};
use crm_eventstore::{AllStart, Direction, EventStore, Filter, StoreConfig};
use crm_graphql::console::DemoSignIn;
use crm_graphql::{mint_dev_token, AppState, Config, Secret};
use uuid::Uuid;

use crate::config::{LogStore, ServeConfig};

/// The actor a development token stands for.
pub fn dev_actor(role: &str, scope: Option<&str>, staff: Option<&str>) -> anyhow::Result<Actor> {
    let id = |what: &str, s: Option<&str>| -> anyhow::Result<Uuid> {
        let s = s.with_context(|| format!("--scope is required for {what}"))?;
        Uuid::parse_str(s).with_context(|| format!("--scope '{s}' is not a uuid"))
    };
    let (role, scope) = match role {
        "hq" | "headquarters" => (Role::Headquarters, Scope::Company),
        "region" | "region-manager" => (
            Role::RegionManager,
            Scope::Region {
                region: RegionId::from(id("a region manager", scope)?),
            },
        ),
        "branch-manager" => (
            Role::BranchManager,
            Scope::Branch {
                branch: BranchId::from(id("a branch manager", scope)?),
            },
        ),
        "customer-manager" | "broker" => {
            let (branch, team) = match scope.map(|s| s.split_once('/')) {
                Some(Some((b, t))) => (b, Some(t)),
                _ => (scope.unwrap_or(""), None),
            };
            let branch = BranchId::from(id("a customer manager", Some(branch))?);
            let team = team
                .map(|t| Uuid::parse_str(t).map(TeamId::from))
                .transpose()
                .context("team id")?;
            let role = if role == "broker" {
                Role::Broker
            } else {
                Role::CustomerManager
            };
            (role, Scope::Book { branch, team })
        }
        "service-agent" => (Role::ServiceAgent, Scope::Company),
        "auditor" => (Role::Auditor, Scope::Company),
        "operator" => (Role::Operator, Scope::Company),
        other => bail!(
            "unknown role '{other}': use hq, region, branch-manager, customer-manager, broker, \
             service-agent, auditor or operator"
        ),
    };
    let staff_id = match staff {
        Some(s) => StaffId::from(Uuid::parse_str(s).with_context(|| format!("--staff '{s}'"))?),
        None => StaffId::from(Uuid::now_v7()),
    };
    Ok(Actor {
        staff_id,
        role,
        scope,
    })
}

pub fn token(secret: &Secret, actor: &Actor, hours: u64) -> anyhow::Result<String> {
    Ok(mint_dev_token(
        secret,
        actor,
        Duration::from_secs(hours * 3600),
    )?)
}

/// Validity of the tokens `serve` prints.
const PRINTED_TOKEN_HOURS: u64 = 12;

/// The demo `serve --demo` loads: the default year of 10,000 customers up to `until` (today
/// by default), or a quick trial's size from `CRM_DEMO_CUSTOMERS` and `CRM_DEMO_DAYS` (the
/// first-run test uses these).
fn demo_size(
    until: Option<time::Date>,
    profile: crm_load::DemoProfile,
) -> anyhow::Result<crm_load::DemoConfig> {
    let mut demo = crm_load::DemoConfig::default().with_profile(profile);
    if let Some(until) = until {
        demo.until = until;
    }
    let var = |name: &str| -> anyhow::Result<Option<u32>> {
        match std::env::var(name) {
            Ok(v) => v
                .trim()
                .parse()
                .map(Some)
                .with_context(|| format!("{name}='{v}' is not a whole number")),
            Err(_) => Ok(None),
        }
    };
    if let Some(n) = var("CRM_DEMO_CUSTOMERS")? {
        demo.customers = n;
    }
    if let Some(n) = var("CRM_DEMO_DAYS")? {
        demo.days = n;
    }
    Ok(demo)
}

/// Runs the server until Ctrl-C or SIGTERM, then drains requests and closes the store.
pub async fn run(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir.as_path();
    let rule_book = config.rule_book.clone();
    // A node's copy of a log of record is served only as that: never on its own.
    if let (LogStore::Embedded, Some(what)) = (&config.store, crm_eventstore::follows(data_dir)?) {
        bail!(
            "the data directory {} holds a copy of the log of record in {what} (its file \
             '{}' says so): start it with --store naming that database; served on its own it \
             would take writes the database never sees",
            data_dir.display(),
            crm_eventstore::FOLLOWS_FILE
        );
    }
    // With the log of record in PostgreSQL, connect first: a database that already holds a
    // log is joined, never given a demo of this node's own.
    let pg = match &config.store {
        LogStore::Embedded => None,
        LogStore::Postgres(url) => {
            let pg = crate::nodes::connect(url, &config.store.describe()).await?;
            tracing::info!(store = %config.store.describe(), "log of record");
            Some(pg)
        }
    };
    let pg_head = match &pg {
        Some(pg) => {
            pg.head()
                .await
                .context("reading the log of record's head")?
                .0
        }
        None => 0,
    };
    if config.demo && pg_head > 0 {
        println!(
            "the log of record already holds {pg_head} events; this node joins it (no demo is \
             loaded)"
        );
    } else if config.demo {
        let demo = demo_size(config.demo_until, config.demo_profile)?;
        if config.demo_until.is_some() {
            // A date in the future is refused before anything is opened.
            demo.check(crm_load::demo::today())?;
        }
        let store = crate::open_bulk(data_dir)?;
        if store.head().0 == 0 {
            // Also where a load stopped before its first event was durable: loaded afresh.
            crate::load_demo(data_dir, &store, demo).await?;
        } else if crate::demo_interrupted(data_dir)? {
            // Part of the demo: serving it would show a book that stops mid-year, and
            // the demo loads only into an empty log, so the rest cannot be added.
            store.close().await.context("closing the store")?;
            return Err(crate::interrupted_demo_error(data_dir, store.head()));
        } else {
            println!(
                "the data directory {} already holds {} events; reusing them{}",
                data_dir.display(),
                store.head(),
                if config.demo_until.is_some() {
                    " (--until applies only to an empty data directory)"
                } else {
                    ""
                }
            );
            store.close().await.context("closing the store")?;
        }
        drop(store);
    }
    let secret = crate::secret::jwt_secret(data_dir, config.jwt_secret.clone())?;
    let mut api = Config::development(secret.clone());
    api.jwt_secret_previous = crate::secret::previous_secret(
        data_dir,
        config.jwt_secret_previous.clone(),
        config.jwt_previous_until,
    )?;
    if let Some(previous) = &api.jwt_secret_previous {
        tracing::info!(
            until = %previous.until,
            "tokens signed with the previous JWT secret are accepted until the end of its grace period"
        );
    }
    api.listen = config.listen;
    api.limits = config.limits.clone();
    if let Some(lag) = config.projection_lag_events_max {
        api.readiness.projection_lag_events_max = lag;
    }
    api.introspection = config.introspection;
    api.suggestions = config.suggestions;
    api.graphiql = config.graphiql;
    api.jobs = config.jobs;
    api.token_lifetime_max = config.token_lifetime_max;
    api.directory_check = config.directory_check;
    api.shutdown_grace = config.shutdown_grace;
    let opening = std::time::Instant::now();
    let store = EventStore::open(
        data_dir,
        StoreConfig {
            durability: config.durability,
            cache_bytes: config.cache_bytes,
            ..StoreConfig::default()
        },
    )
    .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    tracing::info!(
        seconds = opening.elapsed().as_secs_f64(),
        head = store.head().0,
        "event store opened"
    );
    let follower = match pg {
        Some(pg) => Some(
            crate::nodes::join(pg, &store, data_dir, &config.store.describe(), config.demo).await?,
        ),
        None => None,
    };
    tracing::info!(
        rules_file = %config
            .rules
            .as_deref()
            .map_or("(built in)".into(), |p| p.display().to_string()),
        rules_version = rule_book.version,
        rules_hash = %rule_book.hash,
        "rules checked"
    );
    // Ready tokens are for development: printed only with --demo or --dev-tokens, so a
    // server on real data keeps credentials out of its logs; offered by the console's sign-in
    // page only with --demo.
    let printed = if config.dev_tokens {
        printed_tokens(&store, &secret)?
    } else {
        Vec::new()
    };
    if config.demo {
        api.demo_sign_in = printed.clone();
    }
    let stop = StopSignals::register();
    let building = std::time::Instant::now();
    let lag_max = api.readiness.projection_lag_events_max;
    let mut builder = AppState::builder(api, store.clone()).rules(rule_book);
    if let Some(follower) = &follower {
        builder = builder
            .appender(Arc::new(follower.appender()))
            .probe(crate::nodes::probe(follower, lag_max));
    }
    let state = builder.build().context("building the API")?;
    tracing::info!(
        seconds = building.elapsed().as_secs_f64(),
        "command side and read models opened"
    );
    // Scheduled reports read the read models the API serves, beside it.
    let reports = match (config.reports.is_empty(), state.projections()) {
        (true, _) => None,
        (false, Some(projections)) => {
            tracing::info!(reports = config.reports.len(), "scheduled reports");
            Some(tokio::spawn(crate::report::scheduler(
                store.clone(),
                projections.clone(),
                config.reports.clone(),
            )))
        }
        (false, None) => bail!("scheduled reports need the read models the server starts"),
    };
    let handle = crm_graphql::serve(state)
        .await
        .context("starting the server")?;
    let addr = handle.addr();
    println!("crm is serving on http://{addr}");
    println!("  GraphQL:  http://{addr}/graphql   (subscriptions: ws://{addr}/graphql/ws)");
    if config.graphiql {
        println!("  GraphiQL: http://{addr}/graphiql");
    }
    println!("  health:   http://{addr}/healthz  readiness: http://{addr}/readyz  metrics: http://{addr}/metrics");
    println!("  console:  http://{addr}/console");
    if config.dev_tokens {
        println!(
            "Development tokens (header Authorization: Bearer …), valid {PRINTED_TOKEN_HOURS} \
             hours:"
        );
        for printed in &printed {
            println!("  {:<17} {}", printed.role, printed.who);
            println!("  {:<17} {}", "", printed.token);
        }
        println!(
            "More: crm token --role ROLE [--scope ID] [--staff ID] on the same data directory."
        );
    }
    stop.wait().await;
    if let Some(reports) = reports {
        // A report being written finishes on its own thread; none starts after this.
        reports.abort();
    }
    println!("shutting down: draining requests");
    let drained = handle.shutdown().await.context("shutting down")?;
    if !drained {
        eprintln!("some requests did not finish within the grace period");
    }
    // The head as the server leaves it, for keeping outside the store (crm verify --anchor).
    match crate::anchor::head(&store) {
        Ok(Some(anchor)) => {
            tracing::info!(%anchor, "log head at shutdown");
            println!("log head at shutdown: {anchor} (keep it: crm verify --anchor {anchor})");
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "reading the log head at shutdown"),
    }
    store.close().await.context("closing the store")?;
    Ok(ExitCode::SUCCESS)
}

/// A token per role for [`printed_actors`], valid [`PRINTED_TOKEN_HOURS`].
fn printed_tokens(store: &EventStore, secret: &Secret) -> anyhow::Result<Vec<DemoSignIn>> {
    printed_actors(store)?
        .into_iter()
        .map(|(role, actor, who)| {
            Ok(DemoSignIn {
                role: role.to_string(),
                who,
                token: token(secret, &actor, PRINTED_TOKEN_HOURS)?,
            })
        })
        .collect()
}

/// Staff members as the log records them at their joining (role and scope).
fn joined_staff(store: &EventStore) -> anyhow::Result<Vec<(StaffId, String, Role, Scope)>> {
    const PAGE: usize = 1000;
    let filter = Filter::EventType("StaffJoined".into());
    let mut out = Vec::new();
    let mut from = AllStart::Start;
    loop {
        let page = store.read_filtered(&filter, from, Direction::Forwards, PAGE)?;
        for recorded in &page {
            if let AnyEvent::Staff(staff::Event::StaffJoined {
                staff_id,
                name,
                role,
                scope,
                ..
            }) = crm_codec::decode(recorded)?
            {
                out.push((staff_id, name.as_str().to_owned(), role, scope));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => from = AllStart::Position(last.position.next()),
            _ => return Ok(out),
        }
    }
}

/// One actor per role for the tokens `serve` prints: a real staff member of the log where it
/// has one (the customer manager and broker from the branch manager's branch, so their tokens
/// see that branch's data), else a new staff id for the company-wide roles.
fn printed_actors(store: &EventStore) -> anyhow::Result<Vec<(&'static str, Actor, String)>> {
    let staff = joined_staff(store)?;
    let branch_of = |scope: &Scope| match scope {
        Scope::Branch { branch } | Scope::Book { branch, .. } => Some(*branch),
        _ => None,
    };
    let chosen_branch = staff
        .iter()
        .find(|s| s.2 == Role::BranchManager)
        .and_then(|s| branch_of(&s.3));
    let mut out = Vec::new();
    for (name, role) in [
        ("hq", Role::Headquarters),
        ("region", Role::RegionManager),
        ("branch-manager", Role::BranchManager),
        ("customer-manager", Role::CustomerManager),
        ("broker", Role::Broker),
        ("service-agent", Role::ServiceAgent),
        ("auditor", Role::Auditor),
        ("operator", Role::Operator),
    ] {
        let same_branch = |s: &&(StaffId, String, Role, Scope)| {
            chosen_branch.is_none() || branch_of(&s.3) == chosen_branch
        };
        let found = staff
            .iter()
            .filter(|s| s.2 == role)
            .find(same_branch)
            .or_else(|| staff.iter().find(|s| s.2 == role));
        match found {
            Some((id, staff_name, role, scope)) => out.push((
                name,
                Actor {
                    staff_id: *id,
                    role: *role,
                    scope: *scope,
                },
                format!("{staff_name} (staff {id}, {})", describe(scope)),
            )),
            None if !scope_needed(role) => out.push((
                name,
                Actor {
                    staff_id: StaffId::from(Uuid::now_v7()),
                    role,
                    scope: Scope::Company,
                },
                "a development identity, company-wide".to_owned(),
            )),
            None => {}
        }
    }
    Ok(out)
}

fn scope_needed(role: Role) -> bool {
    matches!(
        role,
        Role::RegionManager | Role::BranchManager | Role::CustomerManager | Role::Broker
    )
}

fn describe(scope: &Scope) -> String {
    match scope {
        Scope::Company => "company-wide".to_owned(),
        Scope::Region { region } => format!("region {region}"),
        Scope::Branch { branch } => format!("branch {branch}"),
        Scope::Book { branch, team } => match team {
            Some(team) => format!("own book in branch {branch}, team {team}"),
            None => format!("own book in branch {branch}"),
        },
    }
}

/// The stop signals, registered now: a SIGTERM that arrives between the address lines and the
/// wait (a supervisor, a test that read the lines) must stop the server cleanly, not kill it.
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn register() -> StopSignals {
        StopSignals {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn wait(self) {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            match self.term {
                Some(mut term) => {
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = term.recv() => {}
                    }
                }
                None => {
                    let _ = ctrl_c.await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    }
}
