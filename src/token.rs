//! `crm token`: a development token (minted by `crate::server::token`), and
//! `crm token revoke`: every token issued to a staff member until now refused, through
//! crm-app's command path (the decision and authorization `revokeStaffTokens` makes).
//!
//! The actor of a revocation is `--by` (a staff member as the log records them, as for
//! `crm rules`), else a fixed system identity with headquarters' role and company scope, as
//! `crm import` uses one: the operator at the server's machine revokes on the company's behalf.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use crm_app::{App, AppCommand, AppError, CommandEnvelope};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::StaffId;
use crm_domain::values::ShortText;
use crm_domain::{staff, DomainError};
use crm_eventstore::EventStore;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: Option<TokenCommand>,
    /// hq, region, branch-manager, customer-manager, broker, service-agent, auditor, operator
    #[arg(long, required = true)]
    pub role: Option<String>,
    /// The region or branch id; for customer managers and brokers `BRANCH[/TEAM]`.
    #[arg(long)]
    pub scope: Option<String>,
    /// The staff id the token stands for; a new one if omitted.
    #[arg(long)]
    pub staff: Option<String>,
    #[arg(long, default_value_t = 12)]
    pub hours: u64,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke every token issued to a staff member until now (a lost device, a suspected
    /// leak): a server started afterwards refuses them (401, TOKEN_REVOKED) long before they
    /// expire. Run with the server stopped (or use the API's revokeStaffTokens while it runs).
    ///
    /// Example: crm token revoke --data-dir /var/lib/crm --staff 0192f0c4-… --reason "手机丢失"
    Revoke {
        /// The staff member whose tokens are revoked.
        #[arg(long, value_name = "STAFF_UUID")]
        staff: String,
        /// Why (kept in the log with the revocation).
        #[arg(long, default_value = "revoked with crm token revoke")]
        reason: String,
        /// The staff id of the person revoking (their recorded role is authorized); a fixed
        /// headquarters system identity if omitted.
        #[arg(long, value_name = "STAFF_UUID")]
        by: Option<String>,
    },
}

/// The actor CLI revocations use without `--by`: one fixed identity, so the log tells them
/// apart from the API's.
fn system_actor() -> Actor {
    Actor {
        staff_id: StaffId::from(crm_load::ids::derive(&[b"cli-actor", b"token-revoke"])),
        role: Role::Headquarters,
        scope: Scope::Company,
    }
}

pub async fn revoke(
    data_dir: &Path,
    staff: &str,
    reason: &str,
    by: Option<&str>,
) -> anyhow::Result<ExitCode> {
    // Checked before the store is opened: a mistyped id or reason is a usage error.
    let staff_id = StaffId::from(
        Uuid::parse_str(staff.trim())
            .with_context(|| format!("--staff '{staff}' is not a staff uuid"))?,
    );
    let reason = ShortText::parse(reason).context("--reason")?;
    // Refused while a server holds the directory (DataDirLocked names its process).
    let store = crate::open(data_dir)?;
    let result = revoke_on(&store, staff_id, reason, by).await;
    store.close().await.context("closing the store")?;
    result
}

async fn revoke_on(
    store: &EventStore,
    staff_id: StaffId,
    reason: ShortText,
    by: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let actor = match by {
        Some(by) => crate::rules::actor(store, by)?,
        None => system_actor(),
    };
    let now = OffsetDateTime::now_utc();
    let app = App::new(store.clone()).context("starting the command side")?;
    let envelope = CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor,
        correlation_id: None,
        causation_id: None,
        occurred_at: now,
        command: AppCommand::Staff {
            staff: staff_id,
            command: staff::Command::RevokeTokens { reason, now },
        },
    };
    match app.execute(envelope).await {
        Ok(outcome) => {
            println!(
                "revoked every token issued to staff {staff_id} until {} (position {}): a \
                 server started now refuses them (401, TOKEN_REVOKED)",
                now.format(&time::format_description::well_known::Rfc3339)?,
                outcome.position
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(AppError::Domain(refusal)) => {
            let kind = match &refusal {
                DomainError::NotFound { .. } => "not found",
                DomainError::Forbidden { .. } => "forbidden",
                DomainError::InvalidTransition { .. } => "invalid transition",
                _ => "refused",
            };
            eprintln!("error: refused ({kind}): {refusal} (staff {staff_id}); nothing was written");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e).context("revoking the tokens"),
    }
}
