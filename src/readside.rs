//! `crm rebuild` (generations: rebuild, dry run, rollback) and `crm status`, over
//! `crm_projections::Projections`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use crm_projections::dryrun::{DryRunReport, GroupTierMoves, TierMove};
use crm_projections::{Projections, RebuildProgress, RuleBook};

use crate::progress::Progress;

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Build under this rules file instead of the rules the log activated last (or, if it
    /// activated none, the built-in defaults or CRM_RULES).
    #[arg(long, value_name = "F")]
    pub rules: Option<std::path::PathBuf>,
    /// Build the new generation and report what it would change; switch nothing.
    #[arg(long, conflicts_with = "rollback")]
    pub dry_run: bool,
    /// With --dry-run: print the report as JSON.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// With --dry-run: customers listed per list (tier changes, churn-flag changes).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Switch back to the generation before the last rebuild (kept until the next one).
    #[arg(long, conflicts_with = "rules")]
    pub rollback: bool,
}

/// The rules used where neither the log nor a generation names any: `explicit`, else
/// CRM_RULES, else the built-in defaults.
pub fn configured_rules(explicit: Option<&Path>) -> anyhow::Result<RuleBook> {
    let from_env = std::env::var_os("CRM_RULES").filter(|v| !v.is_empty());
    match explicit.map(Path::to_path_buf).or(from_env.map(Into::into)) {
        Some(path) => {
            RuleBook::from_file(&path).with_context(|| format!("the rules file {}", path.display()))
        }
        None => RuleBook::default_rules().context("the built-in default rules"),
    }
}

fn rebuild_bar() -> Progress {
    Progress::new(
        0,
        "{msg} [{bar:40}] {pos}/{len} events, {prefix} events/s, eta {eta}",
    )
}

/// A progress callback for a rebuild: the bar, or a plain line every two seconds.
fn on_progress(mut bar: Progress, what: &'static str) -> impl FnMut(RebuildProgress) + Send {
    move |p: RebuildProgress| {
        bar.update(p.done, |b| {
            b.set_length(p.target);
            b.set_message(what);
            b.set_prefix(format!("{:.0}", p.events_per_sec));
        });
        if bar.line_due() {
            eprintln!(
                "{what}: generation {}: {}/{} events ({:.0} events/s, eta {:.0} s)",
                p.generation, p.done, p.target, p.events_per_sec, p.eta_secs
            );
        }
        if p.done >= p.target {
            bar.finish();
        }
    }
}

pub async fn rebuild(data_dir: &Path, args: &RebuildArgs) -> anyhow::Result<ExitCode> {
    let store = crate::open(data_dir)?;
    let configured = configured_rules(None)?;
    let projections =
        Projections::open(&store, configured.clone()).context("opening the read models")?;
    let result = run_rebuild(&store, &projections, &configured, args).await;
    projections.flush().context("flushing the read models")?;
    store.close().await.context("closing the store")?;
    result
}

async fn run_rebuild(
    store: &crm_eventstore::EventStore,
    projections: &Projections,
    configured: &RuleBook,
    args: &RebuildArgs,
) -> anyhow::Result<ExitCode> {
    if args.rollback {
        let generation = projections
            .rollback()
            .await
            .context("rolling back the read models")?;
        let (version, hash) = projections.rules_version();
        println!(
            "rolled back: generation {generation} is current again (rules version {version}, \
             hash {hash}), at position {}",
            projections.position()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let explicit = match &args.rules {
        Some(path) => Some(
            RuleBook::from_file(path)
                .with_context(|| format!("the rules file {}", path.display()))?,
        ),
        None => None,
    };
    let started = Instant::now();
    if args.dry_run {
        let rules = match explicit {
            Some(r) => r,
            None => crm_projections::replay::rules_at(store, store.head().0, configured)
                .context("reading the rules the log activated")?,
        };
        eprintln!(
            "dry run: folding the log under rules version {} ({}) into a shadow generation",
            rules.version, rules.hash
        );
        let report = projections
            .dry_run(rules, args.limit, on_progress(rebuild_bar(), "dry run"))
            .await
            .context("the dry run")?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_dry_run(&report, projections);
        }
        eprintln!(
            "dry run done in {:.1} s; nothing was switched",
            started.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let progress = on_progress(rebuild_bar(), "rebuild");
    let generation = match explicit {
        Some(rules) => {
            // The same four eyes as the API's switch: a rules file rebuilds only when it is
            // the version the log activated.
            projections
                .check_activated(rules.version, &rules.hash)
                .context("refused")?;
            projections.rebuild(rules, progress).await
        }
        None => projections.rebuild_to_active(progress).await,
    }
    .context("rebuilding the read models")?;
    let secs = started.elapsed().as_secs_f64();
    let position = projections.position();
    let (version, hash) = projections.rules_version();
    println!(
        "rebuilt the read models: generation {generation} under rules version {version} \
         (hash {hash}), {position} events in {secs:.1} s ({:.0} events/s); switched",
        position as f64 / secs.max(1e-9)
    );
    println!("the previous generation is kept: `crm rebuild --rollback` switches back to it");
    Ok(ExitCode::SUCCESS)
}

fn moves(moves: &[TierMove]) -> String {
    if moves.is_empty() {
        return "none".into();
    }
    moves
        .iter()
        .map(|m| format!("{:?}→{:?} {}", m.from, m.to, m.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_groups<K: Copy + Ord>(
    title: &str,
    groups: &[GroupTierMoves<K>],
    name: impl Fn(Option<K>) -> String,
) {
    println!("{title}:");
    if groups.is_empty() {
        println!("  none");
    }
    for g in groups {
        println!("  {:<40} {}", name(g.group), moves(&g.moves));
    }
}

fn print_dry_run(r: &DryRunReport, projections: &Projections) {
    let org = projections.org();
    let branches: BTreeMap<_, _> = org
        .branches
        .iter()
        .map(|b| (b.id, b.name.clone()))
        .collect();
    let staff: BTreeMap<_, _> = org.staff.iter().map(|s| (s.id, s.name.clone())).collect();
    println!(
        "dry run: rules version {} ({}) → version {} ({}) at position {}{}",
        r.from_rules_version,
        short(&r.from_rules_hash),
        r.to_rules_version,
        short(&r.to_rules_hash),
        r.position,
        r.as_of
            .map(|d| format!(", evaluated on {d}"))
            .unwrap_or_default()
    );
    println!(
        "customers compared: {}, changing tier: {}",
        r.customers_compared, r.customers_changing_tier
    );
    println!("tier moves: {}", moves(&r.tier_moves));
    print_groups(
        "tier moves by branch",
        &r.tier_moves_by_branch,
        |b| match b {
            Some(b) => branches.get(&b).cloned().unwrap_or_else(|| b.to_string()),
            None => "(unassigned)".into(),
        },
    );
    print_groups(
        "tier moves by customer manager",
        &r.tier_moves_by_manager,
        |m| match m {
            Some(m) => staff.get(&m).cloned().unwrap_or_else(|| m.to_string()),
            None => "(no manager)".into(),
        },
    );
    println!("first customers changing tier:");
    if r.tier_changes.is_empty() {
        println!("  none");
    }
    for c in &r.tier_changes {
        println!(
            "  {} {:<12} {:?}→{:?} (score {:.2}→{:.2})",
            c.customer,
            c.name,
            c.from,
            c.to,
            c.score_from_centi as f64 / 100.0,
            c.score_to_centi as f64 / 100.0
        );
    }
    println!("broker ranking moves: {}", r.ranking_moves.len());
    for m in &r.ranking_moves {
        println!(
            "  {:<12} rank {}→{} (composite {:.2}→{:.2})",
            m.name,
            m.rank_from,
            m.rank_to,
            m.composite_from_centi as f64 / 100.0,
            m.composite_to_centi as f64 / 100.0
        );
    }
    println!("churn-flag changes: {}", r.churn_flag_changes);
    for (from, to, n) in &r.churn_moves {
        println!("  {from:?}→{to:?} {n}");
    }
    for c in &r.churn_changes {
        println!("  {} {:?}→{:?}: {}", c.customer, c.from, c.to, c.reason);
    }
    if !r.risk_preference_moves.is_empty() {
        println!("risk-preference changes:");
        for (from, to, n) in &r.risk_preference_moves {
            println!("  {from:?}→{to:?} {n}");
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Entries and bytes (keys and values) of every sled tree, a generation's tree by kind of key.
fn print_tree_sizes(store: &crm_eventstore::EventStore) -> anyhow::Result<()> {
    use std::collections::BTreeMap;
    let db = store.sled();
    for name in db.tree_names() {
        let label = String::from_utf8_lossy(&name).into_owned();
        let tree = db.open_tree(&name)?;
        let generation = label.starts_with("proj-all-g");
        let (mut entries, mut bytes) = (0u64, 0u64);
        let mut by_kind: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
        for item in tree.iter() {
            let (k, v) = item?;
            let size = (k.len() + v.len()) as u64;
            entries += 1;
            bytes += size;
            if generation {
                let kind =
                    crm_projections::generation::key_tag_name(k.first().copied().unwrap_or(0));
                let e = by_kind.entry(kind).or_default();
                e.0 += 1;
                e.1 += size;
            }
        }
        println!("tree {label}: {entries} entries, {bytes} bytes of keys and values");
        for (kind, (n, b)) in by_kind {
            println!("  {kind}: {n} entries, {b} bytes");
        }
    }
    Ok(())
}

pub async fn status(
    data_dir: &Path,
    rules: Option<&Path>,
    trees: bool,
) -> anyhow::Result<ExitCode> {
    // Read only: a torn tail is reported, not cut (see `EventStore::open_read_only`).
    let store = crate::open_read_only(data_dir)?;
    let report = store.recovery_report().clone();
    let head = store.head().0;
    println!("head position: {head}");
    let configured = configured_rules(rules)?;
    // Read only: `Projections::open` would clear a generation stored under another format
    // (or past the head) and write the generations record; status only reports that.
    let inspection =
        Projections::inspect(&store, &configured).context("reading the read models")?;
    if !inspection.recorded {
        println!("read models: none recorded yet (the server builds generation 1 on start)");
    }
    for g in &inspection.generations {
        println!(
            "read models generation {} ({:?}): position {} (lag {} events, {} ms), flushed at \
             {}, 0 events/s, rules version {} hash {}",
            g.generation,
            g.role,
            g.stored.usable,
            g.lag_events,
            g.lag_ms,
            g.stored.usable,
            g.rules_version,
            g.rules_hash,
        );
        if !g.stored.exists {
            println!("  not stored yet: the server folds it from the log on start");
        }
        if let Some(refold) = &g.stored.refold {
            println!("  stored checkpoint {}: {refold}", g.stored.checkpoint);
        }
    }
    for id in &inspection.not_kept {
        println!("  tree proj-all-g{id} is not a kept generation: the server drops it on start");
    }
    let active = crm_projections::replay::rules_at(&store, head, &configured)
        .context("reading the rules the log activated")?;
    println!(
        "rules in force: version {} hash {} ({})",
        active.version,
        active.hash,
        if active.content == configured.content {
            "no rule set activated in the log: the configured rules"
        } else {
            "activated in the log"
        }
    );
    let (version, hash) = inspection
        .current()
        .map(|g| (g.rules_version, g.rules_hash.clone()))
        .unwrap_or_else(|| (configured.version, configured.hash.clone()));
    if (version, hash.as_str()) != (active.version, active.hash.as_str()) {
        println!(
            "the log activated rules version {}; the current read models were built under \
             version {version}: run `crm rebuild`",
            active.version
        );
    }
    for (name, dir) in [
        ("log", crm_eventstore::log_dir(data_dir)),
        ("index", crm_eventstore::index_dir(data_dir)),
    ] {
        println!("{name} size: {} bytes", crm_eventstore::dir_bytes(&dir));
    }
    if trees {
        print_tree_sizes(&store).context("counting the index's trees")?;
    }
    println!("index rebuilt on open: {}", report.index_rebuilt);
    println!("records re-indexed on open: {}", report.records_reindexed);
    if let Some(torn) = &report.torn_tail {
        println!(
            "torn tail not cut (read only): from position {}, segment {} at byte {} ({} bytes): \
             {}; opening for writing (`crm serve`) cuts it into a quarantine file",
            torn.position, torn.segment, torn.offset, torn.bytes_truncated, torn.reason
        );
    }
    for what in &report.not_repaired {
        println!("not repaired (read only): {what}");
    }
    store.close().await.context("closing the store")?;
    Ok(ExitCode::SUCCESS)
}
