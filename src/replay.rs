//! `crm replay`: history as the log knew it at an instant, under the rules in force then, via
//! `crm_projections::Projections` (`customer_as_of`, `staff_performance_as_of`,
//! `branch_dashboard_as_of`). Folds the log's prefix: it reads only the log.

use anyhow::{bail, Context};
use clap::Args;
use crm_domain::ids::{BranchId, CustomerId, StaffId};
use crm_eventstore::EventStore;
use crm_projections::{BranchPeriod, Period, Projections};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["customer", "staff", "branch", "period"])))]
pub struct ReplayArgs {
    /// A customer: the archive (360 view) and every event concerning them up to the instant.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,
    /// A customer manager or broker: their performance in --month.
    #[arg(long, value_name = "ID", requires = "month")]
    pub staff: Option<String>,
    /// A branch: its dashboard for --date (a day) or --month.
    #[arg(long, value_name = "ID")]
    pub branch: Option<String>,
    /// A sealed appraisal period (YYYY-MM or YYYY-Qn): derive its results, team figures and
    /// adjustments again from the log up to the sealed position under the rules in force there
    /// and compare them with the sealed ones, byte for byte (exit 1 on any difference).
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// With --period: once the seal is confirmed, write it to FILE as CSV (the results, then
    /// the team figures, then the adjustments sealed with it) and print the file's blake3 hash.
    #[arg(long, value_name = "FILE", requires = "period")]
    pub csv: Option<std::path::PathBuf>,
    /// The month of a staff or branch replay.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// The day of a branch dashboard.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "month")]
    pub date: Option<String>,
    /// The instant (recorded time, RFC 3339); default now.
    #[arg(long, value_name = "T")]
    pub as_of: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn uuid(what: &str, s: &str) -> anyhow::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s.trim()).with_context(|| format!("'{s}' is not a {what} id"))
}

fn month(s: &str) -> anyhow::Result<(i32, u8)> {
    let bad = || format!("--month '{s}' is not a month like 2024-06");
    let (y, m) = s.trim().split_once('-').with_context(bad)?;
    let year: i32 = y.parse().with_context(bad)?;
    let month: u8 = m.parse().with_context(bad)?;
    if !(1..=12).contains(&month) {
        bail!(bad());
    }
    Ok((year, month))
}

fn date(s: &str) -> anyhow::Result<Date> {
    Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| format!("--date '{s}' is not a date like 2024-06-28"))
}

/// `--period`: the sealed results, team figures and adjustments against a fresh derivation.
fn replay_period(
    store: &EventStore,
    period: &str,
    json_out: bool,
    csv: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crm_domain::appraisal::{AppraisalPeriod, TeamFigures};
    use crm_projections::projections::TeamsCheck;
    let period =
        AppraisalPeriod::parse(period).map_err(|e| anyhow::anyhow!("--period '{period}': {e}"))?;
    let rules = crate::readside::configured_rules(None)?;
    // The results, the team figures and the adjustments sealed with them, all derived again.
    let check = crm_projections::projections::check_sealed(store, &rules, period)
        .context("deriving the period again from the log")?
        .with_context(|| format!("appraisal period {period} is not sealed"))?;
    let (sealed, again) = (&check.sealed, &check.again);
    let d = &sealed.derivation;
    let hash_of = |a: &Option<crm_domain::appraisal::Adjustments>| {
        a.as_ref().map(|a| a.adjustments_hash.clone())
    };
    let teams = check.teams();
    let identical = check.identical();
    if json_out {
        println!(
            "{}",
            json!({
                "period": period.to_string(),
                "sealedAtPosition": sealed.sealed_at,
                "derivedAtPosition": d.position,
                "rulesVersion": d.rules_version,
                "rulesHash": d.rules_hash,
                "sealedResultsHash": d.results_hash,
                "derivedResultsHash": again.derivation.results_hash,
                "sealedAdjustmentsHash": hash_of(&sealed.adjustments),
                "derivedAdjustmentsHash": hash_of(&again.adjustments),
                "sealedTeamsHash": sealed.teams.as_ref().map(|t| t.teams_hash.clone()),
                "derivedTeamsHash": again.teams.teams_hash,
                "teamsSealed": teams != TeamsCheck::NotSealed,
                "identical": identical,
                "proposedBy": sealed.proposed_by.to_string(),
                "approvedBy": sealed.approved_by.to_string(),
            })
        );
    } else {
        println!(
            "appraisal period {period}: sealed at log position {} (proposed by {}, approved by {}); derived at position {} under rules version {} hash {}",
            sealed.sealed_at, sealed.proposed_by, sealed.approved_by, d.position, d.rules_version, d.rules_hash
        );
        println!(
            "sealed results:  {} ({} people)",
            d.results_hash,
            d.results.len()
        );
        println!(
            "derived again:   {} ({} people)",
            again.derivation.results_hash,
            again.derivation.results.len()
        );
        let describe_teams =
            |t: &TeamFigures| format!("{} ({} teams)", t.teams_hash, t.teams.len());
        match &sealed.teams {
            Some(t) => println!("sealed teams:    {}", describe_teams(t)),
            None => println!(
                "sealed teams:    none (the period was proposed before team figures were sealed)"
            ),
        }
        println!("derived again:   {}", describe_teams(&again.teams));
        let describe = |a: &Option<crm_domain::appraisal::Adjustments>| match a {
            Some(a) => format!(
                "{} ({} to earlier periods)",
                a.adjustments_hash,
                a.adjustments.len()
            ),
            None => "none".to_string(),
        };
        println!("sealed adjustments:  {}", describe(&sealed.adjustments));
        println!("derived again:       {}", describe(&again.adjustments));
    }
    if !identical {
        bail!(
            "the results, team figures or adjustments derived again from the log differ from \
             those sealed with {period}"
        );
    }
    if !json_out {
        println!("identical: the sealed results follow from the log");
    }
    if let Some(path) = csv {
        use crm_projections::read_models::appraisal::{content_hash, results_csv};
        let bytes = results_csv(sealed).context("writing the CSV")?;
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote {}: {} results, {} teams, {} adjustments, blake3 {}",
            path.display(),
            d.results.len(),
            sealed.teams.as_ref().map_or(0, |t| t.teams.len()),
            sealed
                .adjustments
                .as_ref()
                .map_or(0, |a| a.adjustments.len()),
            content_hash(&bytes)
        );
    }
    Ok(())
}

pub fn replay(store: &EventStore, args: &ReplayArgs) -> anyhow::Result<()> {
    if let Some(period) = &args.period {
        return replay_period(store, period, args.json, args.csv.as_deref());
    }
    let instant = match &args.as_of {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).with_context(|| {
            format!("--as-of '{t}' is not an RFC 3339 time such as 2024-03-01T10:00:00+08:00")
        })?,
        None => OffsetDateTime::now_utc(),
    };
    let rules = crate::readside::configured_rules(None)?;
    let projections = Projections::open(store, rules).context("opening the read models")?;
    let as_of = instant.format(&Rfc3339)?;
    if let Some(customer) = &args.customer {
        let id = CustomerId::from(uuid("customer", customer)?);
        let at = projections
            .customer_as_of(id, instant)
            .context("replaying the log")?;
        let Some(archive) = &at.archive else {
            bail!("no customer {id} was recorded by {as_of}");
        };
        if args.json {
            let timeline = at
                .timeline
                .iter()
                .map(|e| {
                    Ok(json!({
                        "position": e.position,
                        "stream": e.stream,
                        "eventType": e.event_type,
                        "occurredAt": e.occurred_at.format(&Rfc3339)?,
                        "recordedAt": e.recorded_at.format(&Rfc3339)?,
                        "actor": e.actor,
                        "correlationId": e.correlation_id,
                        "causationId": e.causation_id,
                    }))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let out = json!({
                "customerId": id.to_string(),
                "asOf": as_of,
                "position": at.position,
                "rulesVersion": at.rules_version,
                "rulesHash": at.rules_hash,
                "archive": archive,
                "timeline": timeline,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        let r = &archive.record;
        println!(
            "customer {id} as of {as_of} (log position {}, rules version {} {})",
            at.position, at.rules_version, at.rules_hash
        );
        println!("  name:        {}", r.profile.name.as_str());
        println!("  kind:        {:?}", r.kind);
        println!("  lifecycle:   {:?}", r.lifecycle);
        println!("  key customer: {}", r.key_customer);
        if let Some(a) = &r.assignment {
            println!(
                "  assigned:    branch {} ({}) manager {} ({})",
                a.branch,
                archive.branch_name.as_deref().unwrap_or("-"),
                a.manager.map_or("-".to_owned(), |m| m.to_string()),
                archive.manager_name.as_deref().unwrap_or("-")
            );
        }
        if let Some(s) = &r.suitability {
            println!("  suitability: {:?} until {}", s.level, s.expires_on);
        }
        println!("  accounts:    {}", r.accounts.len());
        println!("  assets:      {} (on {:?})", r.assets, r.assets_date);
        println!(
            "  tier:        {:?} (score {:.2}), risk preference {:?}, churn {:?}: {}",
            archive.tier,
            archive.contribution_score_centi as f64 / 100.0,
            archive.risk_preference,
            archive.churn.risk,
            archive.churn.reason
        );
        println!("timeline ({} events):", at.timeline.len());
        for e in &at.timeline {
            println!(
                "  #{:<8} {}  {:<28} {:<24} by {}",
                e.position,
                e.recorded_at.format(&Rfc3339)?,
                e.event_type,
                e.stream,
                e.actor
            );
        }
        return Ok(());
    }
    if let Some(staff) = &args.staff {
        let id = StaffId::from(uuid("staff", staff)?);
        let (year, month) = month(args.month.as_deref().unwrap_or_default())?;
        let perf = projections
            .staff_performance_as_of(
                id,
                Period::Month { year, month },
                instant,
                &std::sync::atomic::AtomicBool::new(false),
            )
            .context("replaying the log")?
            .with_context(|| format!("no performance of staff {id} was recorded by {as_of}"))?;
        if args.json {
            let out = json!({ "staffId": id.to_string(), "asOf": as_of, "performance": perf });
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        println!(
            "{} (staff {id}, {:?}) in {year}-{month:02} as of {as_of}",
            perf.name, perf.role
        );
        println!(
            "  customers served {}, new {}, churned {}, upgraded {}, downgraded {}",
            perf.customers_served, perf.new_customers, perf.churned, perf.upgraded, perf.downgraded
        );
        println!(
            "  assets {}, net inflow {}, commission {}, turnover {}, contacts {}, won {}",
            perf.assets,
            perf.net_inflow,
            perf.commission,
            perf.turnover,
            perf.contacts,
            perf.won_amount
        );
        println!(
            "  KPI composite {:.2} (rules version {}): rank {} in branch, {} in company",
            perf.kpi.composite_centi as f64 / 100.0,
            perf.kpi.rules_version,
            perf.rank_in_branch,
            perf.rank_in_company
        );
        for t in &perf.kpi.terms {
            println!(
                "    {:<24} value {} (group best {}), weight {}, points {:.2}",
                t.name,
                t.value,
                t.group_best,
                t.weight,
                t.points_centi as f64 / 100.0
            );
        }
        return Ok(());
    }
    if let Some(branch) = &args.branch {
        let id = BranchId::from(uuid("branch", branch)?);
        let period = match (&args.date, &args.month) {
            (Some(d), _) => BranchPeriod::Day(date(d)?),
            (None, Some(m)) => {
                let (year, month) = month(m)?;
                BranchPeriod::Month { year, month }
            }
            (None, None) => bail!("--branch needs --date YYYY-MM-DD or --month YYYY-MM"),
        };
        let d = projections
            .branch_dashboard_as_of(
                id,
                period,
                instant,
                &std::sync::atomic::AtomicBool::new(false),
            )
            .context("replaying the log")?
            .with_context(|| format!("no branch {id} was recorded by {as_of}"))?;
        if args.json {
            let out = json!({ "branchId": id.to_string(), "asOf": as_of, "dashboard": d });
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        println!("{} (branch {id}), {:?}, as of {as_of}", d.name, d.period);
        println!(
            "  customers {}, assets {}, net inflow {}, in profit {:.2}%",
            d.totals.customers,
            d.assets,
            d.net_inflow,
            d.in_profit_bp as f64 / 100.0
        );
        println!(
            "  commission {}, turnover {}, new customers {}, churned {}, contacts {}",
            d.flows.commission,
            d.flows.turnover,
            d.flows.new_customers,
            d.flows.churned,
            d.flows.contacts
        );
        println!(
            "  market share {}, rank {} of {} branches",
            d.market_share_bp
                .map_or("-".to_owned(), |bp| format!("{:.2}‱", bp as f64)),
            d.rank_among_branches,
            d.branches_ranked
        );
        println!("  customers by tier: {:?}", d.customers_by_tier);
        for m in &d.top_managers {
            println!(
                "    {:<12} composite {:.2}, commission {}, customers {}",
                m.name,
                m.kpi.composite_centi as f64 / 100.0,
                m.commission,
                m.customers_served
            );
        }
        return Ok(());
    }
    bail!("name a --customer, --staff or --branch")
}
