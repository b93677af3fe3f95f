//! Batch assignment (客户批量分配): what a rule-based batch deals, read from the customer
//! archive and the org tree, for the pure planner (`crm_domain::assignment::plan_round_robin`)
//! — the customers of a branch with their assignment and assets, and a team's members — and
//! the hash of a plan, which a run names so that what runs is what was previewed.

use crm_domain::assignment::{CandidateSummary, PlannedAssignment};
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, StaffId, TeamId};

use crate::model::Model;

/// The customers of `branch` a batch may deal (not merged, not closed), with their assignment
/// and latest assets. The planner keeps those with neither manager nor team.
pub fn batch_candidates(m: &Model, branch: BranchId) -> Vec<CandidateSummary> {
    m.customers
        .values()
        .filter(|c| c.branch() == Some(branch))
        .filter(|c| !matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed))
        .map(|c| CandidateSummary {
            customer_id: c.id,
            assignment: c.assignment,
            assets: c.assets,
        })
        .collect()
}

/// The members of `team` (not dissolved, of `branch`) who have not left, in id order; `None`
/// when there is no such team in that branch.
pub fn team_members(m: &Model, branch: BranchId, team: TeamId) -> Option<Vec<StaffId>> {
    let roster = crate::read_models::org::team_rosters(m, Some(branch))
        .into_iter()
        .find(|r| r.id == team)?;
    let mut members: Vec<StaffId> = roster.members.iter().map(|s| s.id).collect();
    members.sort();
    members.dedup();
    Some(members)
}

/// blake3 of a plan's rows (customer, from, to, in plan order), 64 lowercase hex digits: what
/// a preview shows and a run names.
pub fn plan_hash(plan: &[PlannedAssignment]) -> String {
    let mut h = blake3::Hasher::new();
    let id = |h: &mut blake3::Hasher, s: Option<String>| {
        h.update(s.unwrap_or_default().as_bytes());
        h.update(b"\x1f");
    };
    for row in plan {
        id(&mut h, Some(row.customer_id.to_string()));
        for a in [row.from, Some(row.to)] {
            id(&mut h, a.map(|a| a.branch.to_string()));
            id(&mut h, a.and_then(|a| a.manager).map(|s| s.to_string()));
            id(&mut h, a.and_then(|a| a.team).map(|t| t.to_string()));
        }
        h.update(b"\x1e");
    }
    h.finalize().to_hex().to_string()
}
