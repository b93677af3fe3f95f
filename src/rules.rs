//! `crm rules`: rule sets (规则) in the log through crm-app's command path — propose a rules
//! file, approve or reject a version (four eyes: never by its proposer), activate an approved
//! version, and list every version with its hash and state.
//!
//! The acting staff member (`--by`) must be in the organisation the log records; their
//! recorded role is what crm-app authorizes (proposing needs an operator, approving an
//! operator or headquarters).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use crm_app::{App, AppCommand, AppError, CommandEnvelope};
use crm_domain::auth::Actor;
use crm_domain::ids::{RuleSetId, StaffId};
use crm_domain::rules::{self, Command as RulesCmd};
use crm_domain::values::ShortText;
use crm_domain::{staff, AnyEvent, DomainError};
use crm_eventstore::{AllStart, Direction, EventStore, Filter, StreamName, StreamStart};
use crm_projections::RuleBook;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Propose a rules file (TOML, schema/rules.md) as the version it declares; an operator.
    ///
    /// Example: crm rules propose rules-v2.toml --by 0192f0c4-…
    Propose {
        file: PathBuf,
        /// The proposing staff member's id (an operator in the organisation).
        #[arg(long, value_name = "STAFF_UUID")]
        by: String,
    },
    /// Approve a proposed version; an operator or headquarters, not the proposer (four eyes).
    ///
    /// Example: crm rules approve 2 --by 0192f0c4-…
    Approve {
        version: u32,
        #[arg(long, value_name = "STAFF_UUID")]
        by: String,
    },
    /// Reject a proposed version, with a reason.
    ///
    /// Example: crm rules reject 2 --by 0192f0c4-… --reason "gold threshold too low"
    Reject {
        version: u32,
        #[arg(long, value_name = "STAFF_UUID")]
        by: String,
        #[arg(long)]
        reason: String,
    },
    /// Activate an approved version (or an earlier one again: a rollback of the rules); then
    /// `crm rebuild` builds the read models under it.
    ///
    /// Example: crm rules activate 2 --by 0192f0c4-…
    Activate {
        version: u32,
        #[arg(long, value_name = "STAFF_UUID")]
        by: String,
    },
    /// List every version in the log: state, content hash, proposer and approver.
    ///
    /// Example: crm rules list
    List,
}

/// One version as the log records it.
#[derive(Debug, Clone)]
struct VersionInfo {
    rule_set: RuleSetId,
    version: u32,
    hash: String,
    description: String,
    status: rules::VersionStatus,
    proposed_by: StaffId,
    approved_by: Option<StaffId>,
    proposed_at: OffsetDateTime,
}

/// Every rule-set event in the log (the `rules` category), folded per rule set.
fn versions(store: &EventStore) -> anyhow::Result<Vec<VersionInfo>> {
    const PAGE: usize = 1000;
    let filter = Filter::Category("rules".into());
    let mut states: BTreeMap<RuleSetId, rules::State> = BTreeMap::new();
    let mut proposals: BTreeMap<(RuleSetId, u32), (String, OffsetDateTime)> = BTreeMap::new();
    let mut from = AllStart::Start;
    loop {
        let page = store.read_filtered(&filter, from, Direction::Forwards, PAGE)?;
        for recorded in &page {
            let AnyEvent::Rules(event) = crm_codec::decode(recorded)? else {
                continue;
            };
            let id = match &event {
                rules::Event::RuleSetProposed { rule_set_id, .. }
                | rules::Event::RuleSetApproved { rule_set_id, .. }
                | rules::Event::RuleSetRejected { rule_set_id, .. }
                | rules::Event::RuleSetActivated { rule_set_id, .. } => *rule_set_id,
            };
            if let rules::Event::RuleSetProposed {
                version,
                content,
                at,
                ..
            } = &event
            {
                let description = RuleBook::parse(content)
                    .map(|b| b.description)
                    .unwrap_or_else(|e| format!("(does not parse: {e})"));
                proposals.insert((id, *version), (description, *at));
            }
            let state = states.remove(&id).unwrap_or_default();
            states.insert(id, rules::evolve(state, &event));
        }
        match page.last() {
            Some(last) if page.len() == PAGE => from = AllStart::Position(last.position.next()),
            _ => break,
        }
    }
    let mut out = Vec::new();
    for (id, state) in states {
        for (version, v) in state.versions {
            let (description, proposed_at) = proposals
                .get(&(id, version))
                .cloned()
                .unwrap_or((String::new(), OffsetDateTime::UNIX_EPOCH));
            out.push(VersionInfo {
                rule_set: id,
                version,
                hash: v.content_hash,
                description,
                status: v.status,
                proposed_by: v.proposed_by,
                approved_by: v.approved_by,
                proposed_at,
            });
        }
    }
    Ok(out)
}

/// The company's rule set: the one the log already has, else a fixed id.
fn rule_set_id(known: &[VersionInfo]) -> RuleSetId {
    match known.iter().max_by_key(|v| v.proposed_at) {
        Some(v) => v.rule_set,
        None => RuleSetId::from(crm_load::ids::derive(&[b"rule-set", b"company"])),
    }
}

/// The staff member `by` as the organisation in the log records them.
pub(crate) fn actor(store: &EventStore, by: &str) -> anyhow::Result<Actor> {
    let id = StaffId::from(
        Uuid::parse_str(by.trim()).with_context(|| format!("--by '{by}' is not a staff uuid"))?,
    );
    let stream = StreamName::parse(crm_domain::stream_name("staff", &id))?;
    let mut state = staff::State::default();
    for recorded in
        store.read_stream(&stream, StreamStart::Revision(0), Direction::Forwards, 1000)?
    {
        if let AnyEvent::Staff(e) = crm_codec::decode(&recorded)? {
            state = staff::evolve(state, &e);
        }
    }
    match (state.role, state.scope) {
        _ if state.left => bail!("staff {id} has left the organisation"),
        (Some(role), Some(scope)) => Ok(Actor {
            staff_id: id,
            role,
            scope,
        }),
        _ => bail!(
            "staff {id} is not in the organisation the log records; add them first (e.g. `crm \
             import organisation` with an operator row)"
        ),
    }
}

pub async fn run(data_dir: &Path, command: &RulesCommand) -> anyhow::Result<ExitCode> {
    let store = crate::open(data_dir)?;
    let result = run_on(&store, command).await;
    store.close().await.context("closing the store")?;
    result
}

async fn run_on(store: &EventStore, command: &RulesCommand) -> anyhow::Result<ExitCode> {
    let known = versions(store)?;
    let rule_set = rule_set_id(&known);
    let now = OffsetDateTime::now_utc();
    let (by, cmd, what) = match command {
        RulesCommand::List => {
            print_list(&known)?;
            return Ok(ExitCode::SUCCESS);
        }
        RulesCommand::Propose { file, by } => {
            let content = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let book = RuleBook::parse(&content)
                .with_context(|| format!("the rules file {}", file.display()))?;
            let actor = actor(store, by)?;
            (
                actor,
                RulesCmd::Propose {
                    rule_set_id: rule_set,
                    version: book.version,
                    content_hash: book.hash.clone(),
                    content,
                    by: actor.staff_id,
                    now,
                },
                format!(
                    "proposed rules version {} (hash {})",
                    book.version, book.hash
                ),
            )
        }
        RulesCommand::Approve { version, by } => {
            let actor = actor(store, by)?;
            (
                actor,
                RulesCmd::Approve {
                    version: *version,
                    by: actor.staff_id,
                    now,
                },
                format!("approved rules version {version}"),
            )
        }
        RulesCommand::Reject {
            version,
            by,
            reason,
        } => {
            let actor = actor(store, by)?;
            let reason = ShortText::parse(reason).context("--reason")?;
            (
                actor,
                RulesCmd::Reject {
                    version: *version,
                    reason,
                    by: actor.staff_id,
                    now,
                },
                format!("rejected rules version {version}"),
            )
        }
        RulesCommand::Activate { version, by } => {
            let actor = actor(store, by)?;
            (
                actor,
                RulesCmd::Activate {
                    version: *version,
                    by: actor.staff_id,
                    now,
                },
                format!(
                    "activated rules version {version}; run `crm rebuild` to build the read \
                     models under it"
                ),
            )
        }
    };
    let app = App::new(store.clone()).context("starting the command side")?;
    let envelope = CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor: by,
        correlation_id: None,
        causation_id: None,
        occurred_at: now,
        command: AppCommand::Rules {
            rule_set,
            command: cmd,
        },
    };
    match app.execute(envelope).await {
        Ok(outcome) if outcome.events.is_empty() => {
            println!(
                "nothing to do: the log already records this (position {})",
                outcome.position
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(outcome) => {
            println!(
                "{what} (rule set {rule_set}, position {})",
                outcome.position
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Domain(refusal)) => {
            let kind = match &refusal {
                DomainError::FourEyesViolation { .. } => "four eyes",
                DomainError::Forbidden { .. } => "forbidden",
                DomainError::InvalidTransition { .. } => "invalid transition",
                DomainError::NotFound { .. } => "not found",
                _ => "refused",
            };
            eprintln!("refused ({kind}): {refusal}; nothing was written");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e).context("the rules command"),
    }
}

fn print_list(known: &[VersionInfo]) -> anyhow::Result<()> {
    if known.is_empty() {
        println!(
            "no rule sets in the log: the read models use the built-in defaults (or CRM_RULES)"
        );
        return Ok(());
    }
    println!(
        "{:<8} {:<11} {:<64} {:<25} {:<36} {:<36} description",
        "version", "state", "content hash (blake3)", "proposed at", "proposed by", "approved by"
    );
    for v in known {
        println!(
            "{:<8} {:<11} {:<64} {:<25} {:<36} {:<36} {}",
            v.version,
            format!("{:?}", v.status).to_lowercase(),
            v.hash,
            v.proposed_at.format(&Rfc3339)?,
            v.proposed_by.to_string(),
            v.approved_by.map_or("-".to_owned(), |s| s.to_string()),
            v.description
        );
    }
    Ok(())
}
