//! Rule-based batch assignment (批量分配), planned purely: "all unassigned customers of branch X
//! with assets above Y, round-robin over team Z's members". The app gathers candidate
//! summaries from a projection, calls [`plan_round_robin`], then sends one customer command per
//! planned row (each may still fail on its own, e.g. if the customer was assigned meanwhile).

use time::OffsetDateTime;

use crate::customer::{Assignment, Command};
use crate::error::DomainError;
use crate::ids::{BranchId, CustomerId, StaffId, TeamId};
use crate::money::Money;
use crate::values::ShortText;

/// What the planner needs to know about one customer (from a projection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidateSummary {
    pub customer_id: CustomerId,
    pub assignment: Option<Assignment>,
    /// Latest end-of-day assets.
    pub assets: Money,
}

/// Which customers a batch takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRule {
    pub branch: BranchId,
    /// Customers with assets strictly above this.
    pub assets_above: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAssignment {
    pub customer_id: CustomerId,
    pub from: Option<Assignment>,
    pub to: Assignment,
}

impl PlannedAssignment {
    /// The customer command that carries out this row: `Assign` for a customer with no
    /// assignment, `Reassign` for one that only has a branch.
    pub fn command(&self, reason: ShortText, by: StaffId, now: OffsetDateTime) -> Command {
        match self.from {
            None => Command::Assign {
                to: self.to,
                by,
                now,
            },
            Some(_) => Command::Reassign {
                to: self.to,
                reason,
                by,
                now,
            },
        }
    }
}

/// Selects customers of `rule.branch` with neither manager nor team and assets above the
/// threshold, richest first (ties by id, so the plan is deterministic), and deals them to
/// `members` in turn, so every member gets a fair share of the largest accounts.
pub fn plan_round_robin(
    candidates: &[CandidateSummary],
    rule: &BatchRule,
    team: TeamId,
    members: &[StaffId],
) -> Result<Vec<PlannedAssignment>, DomainError> {
    if members.is_empty() {
        return Err(DomainError::validation(
            "members",
            "the team has no members to assign to",
        ));
    }
    let mut unique = members.to_vec();
    unique.sort();
    unique.dedup();
    if unique.len() != members.len() {
        return Err(DomainError::validation("members", "lists a member twice"));
    }
    let mut selected: Vec<&CandidateSummary> = candidates
        .iter()
        .filter(|c| c.assets > rule.assets_above)
        .filter(|c| match c.assignment {
            None => true,
            Some(a) => a.branch == rule.branch && a.manager.is_none() && a.team.is_none(),
        })
        .collect();
    // Customers with no assignment at all are taken as given: the projection decides which
    // of them belong to this branch's intake (e.g. by the branch where they opened accounts).
    selected.sort_by(|a, b| {
        b.assets
            .cmp(&a.assets)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    selected.dedup_by_key(|c| c.customer_id);
    Ok(selected
        .into_iter()
        .zip(members.iter().cycle())
        .map(|(c, member)| PlannedAssignment {
            customer_id: c.customer_id,
            from: c.assignment,
            to: Assignment {
                branch: rule.branch,
                manager: Some(*member),
                team: Some(team),
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn it_deals_unassigned_customers_above_the_threshold_round_robin_richest_first() {
        let branch = BranchId::from_uuid(u(1));
        let other = BranchId::from_uuid(u(2));
        let team = TeamId::from_uuid(u(3));
        let members = [StaffId::from_uuid(u(10)), StaffId::from_uuid(u(11))];
        let c = |n, assets, assignment| CandidateSummary {
            customer_id: CustomerId::from_uuid(u(n)),
            assignment,
            assets: Money::from_minor(assets),
        };
        let branch_only = Some(Assignment {
            branch,
            manager: None,
            team: None,
        });
        let candidates = [
            c(100, 500, None),
            c(101, 900, branch_only),
            c(102, 50, None), // below threshold
            c(
                103,
                700,
                Some(Assignment {
                    branch,
                    manager: Some(members[0]),
                    team: None,
                }),
            ), // has a manager
            c(
                104,
                800,
                Some(Assignment {
                    branch: other,
                    manager: None,
                    team: None,
                }),
            ), // other branch
            c(105, 600, None),
        ];
        let plan = plan_round_robin(
            &candidates,
            &BatchRule {
                branch,
                assets_above: Money::from_minor(100),
            },
            team,
            &members,
        )
        .expect("members are valid");
        let rows: Vec<_> = plan.iter().map(|p| (p.customer_id, p.to.manager)).collect();
        assert_eq!(
            rows,
            vec![
                (CustomerId::from_uuid(u(101)), Some(members[0])),
                (CustomerId::from_uuid(u(105)), Some(members[1])),
                (CustomerId::from_uuid(u(100)), Some(members[0])),
            ]
        );
        let reason = ShortText::parse("batch").expect("valid");
        let now = time::macros::datetime!(2024-03-01 10:00 +8);
        assert!(matches!(
            plan[0].command(reason.clone(), members[0], now),
            Command::Reassign { .. }
        ));
        assert!(matches!(
            plan[1].command(reason, members[0], now),
            Command::Assign { .. }
        ));
    }

    #[test]
    fn it_rejects_a_batch_over_a_team_without_members() {
        let rule = BatchRule {
            branch: BranchId::from_uuid(u(1)),
            assets_above: Money::ZERO,
        };
        assert_eq!(
            plan_round_robin(&[], &rule, TeamId::from_uuid(u(3)), &[]),
            Err(DomainError::validation(
                "members",
                "the team has no members to assign to"
            ))
        );
    }
}
