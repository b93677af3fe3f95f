//! `crm serve`, `crm token` and `crm schema`: the GraphQL server over the data directory, and
//! the development tokens it accepts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::{BranchId, RegionId, StaffId, TeamId};
use crm_eventstore::{EventStore, StoreConfig};
use crm_graphql::{mint_dev_token, AppState, Config, Secret};
use uuid::Uuid;

/// The JWT secret: `CRM_JWT_SECRET` if set, else a random one kept in the data directory, so
/// `crm token` and `crm serve` on the same directory agree without configuration.
pub fn jwt_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    if let Ok(secret) = std::env::var("CRM_JWT_SECRET") {
        return Ok(Secret::new(secret));
    }
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) => Ok(Secret::new(secret.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            // Two v4 UUIDs: 244 random bits from the OS generator.
            let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
            std::fs::write(&path, &secret)
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(Secret::new(secret))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

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

pub fn token(data_dir: &Path, actor: &Actor, hours: u64) -> anyhow::Result<String> {
    let secret = jwt_secret(data_dir)?;
    Ok(mint_dev_token(
        &secret,
        actor,
        Duration::from_secs(hours * 3600),
    )?)
}

/// Runs the server until Ctrl-C or SIGTERM, then drains requests and closes the store.
pub async fn serve(data_dir: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let mut config = Config::development(jwt_secret(data_dir)?);
    config.listen = listen;
    let store = EventStore::open(data_dir, StoreConfig::default())
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let state = AppState::new(config, store.clone()).context("building the API")?;
    let handle = crm_graphql::serve(state)
        .await
        .context("starting the server")?;
    let addr = handle.addr();
    println!("crm is serving on http://{addr}");
    println!("  GraphQL:  http://{addr}/graphql   (subscriptions: ws://{addr}/graphql/ws)");
    println!("  GraphiQL: http://{addr}/graphiql");
    println!("  health:   http://{addr}/healthz  readiness: http://{addr}/readyz  metrics: http://{addr}/metrics");
    println!("Development tokens (Authorization: Bearer …), valid 12 hours:");
    for role in ["hq", "auditor", "operator", "service-agent"] {
        let actor = dev_actor(role, None, None)?;
        println!("  {role:<14} {}", token(data_dir, &actor, 12)?);
    }
    wait_for_stop().await;
    println!("shutting down: draining requests");
    let drained = handle.shutdown().await.context("shutting down")?;
    if !drained {
        eprintln!("some requests did not finish within the grace period");
    }
    store.close().await.context("closing the store")?;
    Ok(())
}

async fn wait_for_stop() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
