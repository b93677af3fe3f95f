//! The branch aggregate (营业部; a bank outlet 网点 or a rural credit cooperative 信用社),
//! stream `branch-<id>`, holding its service points (服务部) and teams (客户经理小组).
//!
//! Teams live inside the branch because a team never spans branches and its only invariants
//! (unique id, not dissolved twice, branch still open) are the branch's; membership is recorded
//! on each staff member's stream, so a team change never contends with a staff move.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::{BranchId, RegionId, ServicePointId, StaffId, TeamId};
use crate::values::OrgName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BranchKind {
    /// 证券营业部
    BrokerageBranch,
    /// 银行网点
    BankOutlet,
    /// 信用社
    CreditCooperative,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePoint {
    pub name: OrgName,
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub name: OrgName,
    pub lead: Option<StaffId>,
    pub dissolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<BranchId>,
    pub region: Option<RegionId>,
    pub name: Option<OrgName>,
    pub kind: Option<BranchKind>,
    pub closed: bool,
    pub service_points: BTreeMap<ServicePointId, ServicePoint>,
    pub teams: BTreeMap<TeamId, Team>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Open {
        branch_id: BranchId,
        region_id: RegionId,
        name: OrgName,
        kind: BranchKind,
        now: OffsetDateTime,
    },
    Rename {
        name: OrgName,
        now: OffsetDateTime,
    },
    MoveToRegion {
        region_id: RegionId,
        now: OffsetDateTime,
    },
    AddServicePoint {
        service_point_id: ServicePointId,
        name: OrgName,
        now: OffsetDateTime,
    },
    CloseServicePoint {
        service_point_id: ServicePointId,
        now: OffsetDateTime,
    },
    FormTeam {
        team_id: TeamId,
        name: OrgName,
        lead: Option<StaffId>,
        now: OffsetDateTime,
    },
    ChangeTeamLead {
        team_id: TeamId,
        lead: Option<StaffId>,
        now: OffsetDateTime,
    },
    DissolveTeam {
        team_id: TeamId,
        now: OffsetDateTime,
    },
    /// `assigned_customer_count` is the app's lookup of customers still assigned to the branch.
    Close {
        assigned_customer_count: u32,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    BranchOpened {
        branch_id: BranchId,
        region_id: RegionId,
        name: OrgName,
        kind: BranchKind,
        at: OffsetDateTime,
    },
    BranchRenamed {
        branch_id: BranchId,
        name: OrgName,
        at: OffsetDateTime,
    },
    BranchMovedToRegion {
        branch_id: BranchId,
        from: RegionId,
        to: RegionId,
        at: OffsetDateTime,
    },
    ServicePointAdded {
        branch_id: BranchId,
        service_point_id: ServicePointId,
        name: OrgName,
        at: OffsetDateTime,
    },
    ServicePointClosed {
        branch_id: BranchId,
        service_point_id: ServicePointId,
        at: OffsetDateTime,
    },
    TeamFormed {
        branch_id: BranchId,
        team_id: TeamId,
        name: OrgName,
        lead: Option<StaffId>,
        at: OffsetDateTime,
    },
    TeamLeadChanged {
        branch_id: BranchId,
        team_id: TeamId,
        lead: Option<StaffId>,
        at: OffsetDateTime,
    },
    TeamDissolved {
        branch_id: BranchId,
        team_id: TeamId,
        at: OffsetDateTime,
    },
    BranchClosed {
        branch_id: BranchId,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Branch, category: "branch", id: branch_id, events: [
    BranchOpened, BranchRenamed, BranchMovedToRegion, ServicePointAdded, ServicePointClosed,
    TeamFormed, TeamLeadChanged, TeamDissolved, BranchClosed,
]);

fn active_team(state: &State, team_id: TeamId) -> Result<&Team, DomainError> {
    match state.teams.get(&team_id) {
        Some(t) if !t.dissolved => Ok(t),
        Some(_) => Err(DomainError::InvalidTransition {
            from: "team dissolved",
            command: "change a team",
        }),
        None => Err(DomainError::NotFound { entity: "team" }),
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (Some(branch_id), Some(region)) = (state.id, state.region) else {
        return match command {
            Command::Open {
                branch_id,
                region_id,
                name,
                kind,
                now,
            } => Ok(vec![Event::BranchOpened {
                branch_id,
                region_id,
                name,
                kind,
                at: now,
            }]),
            _ => Err(DomainError::NotFound { entity: "branch" }),
        };
    };
    if state.closed {
        return Err(DomainError::InvalidTransition {
            from: "closed",
            command: "change a branch",
        });
    }
    let one = |e| Ok(vec![e]);
    match command {
        Command::Open { .. } => Err(DomainError::AlreadyExists { entity: "branch" }),
        Command::Rename { name, now } => {
            if state.name.as_ref() == Some(&name) {
                return Ok(vec![]);
            }
            one(Event::BranchRenamed {
                branch_id,
                name,
                at: now,
            })
        }
        Command::MoveToRegion { region_id, now } => {
            if region == region_id {
                return Ok(vec![]);
            }
            one(Event::BranchMovedToRegion {
                branch_id,
                from: region,
                to: region_id,
                at: now,
            })
        }
        Command::AddServicePoint {
            service_point_id,
            name,
            now,
        } => {
            if state.service_points.contains_key(&service_point_id) {
                return Err(DomainError::AlreadyExists {
                    entity: "service point",
                });
            }
            one(Event::ServicePointAdded {
                branch_id,
                service_point_id,
                name,
                at: now,
            })
        }
        Command::CloseServicePoint {
            service_point_id,
            now,
        } => match state.service_points.get(&service_point_id) {
            None => Err(DomainError::NotFound {
                entity: "service point",
            }),
            Some(p) if !p.open => Ok(vec![]),
            Some(_) => one(Event::ServicePointClosed {
                branch_id,
                service_point_id,
                at: now,
            }),
        },
        Command::FormTeam {
            team_id,
            name,
            lead,
            now,
        } => {
            if state.teams.contains_key(&team_id) {
                return Err(DomainError::AlreadyExists { entity: "team" });
            }
            one(Event::TeamFormed {
                branch_id,
                team_id,
                name,
                lead,
                at: now,
            })
        }
        Command::ChangeTeamLead { team_id, lead, now } => {
            if active_team(state, team_id)?.lead == lead {
                return Ok(vec![]);
            }
            one(Event::TeamLeadChanged {
                branch_id,
                team_id,
                lead,
                at: now,
            })
        }
        Command::DissolveTeam { team_id, now } => {
            active_team(state, team_id)?;
            one(Event::TeamDissolved {
                branch_id,
                team_id,
                at: now,
            })
        }
        Command::Close {
            assigned_customer_count,
            now,
        } => {
            if assigned_customer_count > 0 {
                return Err(DomainError::conflict(format!(
                    "{assigned_customer_count} customers are still assigned to the branch"
                )));
            }
            one(Event::BranchClosed { branch_id, at: now })
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::BranchOpened {
            branch_id,
            region_id,
            name,
            kind,
            ..
        } => {
            state.id = Some(*branch_id);
            state.region = Some(*region_id);
            state.name = Some(name.clone());
            state.kind = Some(*kind);
        }
        Event::BranchRenamed { name, .. } => state.name = Some(name.clone()),
        Event::BranchMovedToRegion { to, .. } => state.region = Some(*to),
        Event::ServicePointAdded {
            service_point_id,
            name,
            ..
        } => {
            state.service_points.insert(
                *service_point_id,
                ServicePoint {
                    name: name.clone(),
                    open: true,
                },
            );
        }
        Event::ServicePointClosed {
            service_point_id, ..
        } => {
            if let Some(p) = state.service_points.get_mut(service_point_id) {
                p.open = false;
            }
        }
        Event::TeamFormed {
            team_id,
            name,
            lead,
            ..
        } => {
            state.teams.insert(
                *team_id,
                Team {
                    name: name.clone(),
                    lead: *lead,
                    dissolved: false,
                },
            );
        }
        Event::TeamLeadChanged { team_id, lead, .. } => {
            if let Some(t) = state.teams.get_mut(team_id) {
                t.lead = *lead;
            }
        }
        Event::TeamDissolved { team_id, .. } => {
            if let Some(t) = state.teams.get_mut(team_id) {
                t.dissolved = true;
            }
        }
        Event::BranchClosed { .. } => state.closed = true,
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    fn bid() -> BranchId {
        BranchId::from_uuid(u(1))
    }
    fn tid() -> TeamId {
        TeamId::from_uuid(u(3))
    }
    fn name(s: &str) -> OrgName {
        OrgName::parse(s).expect("test literal is valid")
    }
    fn opened() -> Event {
        Event::BranchOpened {
            branch_id: bid(),
            region_id: RegionId::from_uuid(u(2)),
            name: name("深圳福田营业部"),
            kind: BranchKind::BrokerageBranch,
            at: NOW,
        }
    }
    fn team_formed() -> Event {
        Event::TeamFormed {
            branch_id: bid(),
            team_id: tid(),
            name: name("财富一组"),
            lead: None,
            at: NOW,
        }
    }

    #[test]
    fn it_opens_a_branch_in_a_region() {
        given::<Branch>([])
            .when(Command::Open {
                branch_id: bid(),
                region_id: RegionId::from_uuid(u(2)),
                name: name("深圳福田营业部"),
                kind: BranchKind::BrokerageBranch,
                now: NOW,
            })
            .then([opened()]);
    }

    #[test]
    fn it_renames_a_branch() {
        given::<Branch>([opened()])
            .when(Command::Rename {
                name: name("深圳福田路营业部"),
                now: NOW,
            })
            .then([Event::BranchRenamed {
                branch_id: bid(),
                name: name("深圳福田路营业部"),
                at: NOW,
            }]);
    }

    #[test]
    fn it_moves_a_branch_to_another_region() {
        given::<Branch>([opened()])
            .when(Command::MoveToRegion {
                region_id: RegionId::from_uuid(u(9)),
                now: NOW,
            })
            .then([Event::BranchMovedToRegion {
                branch_id: bid(),
                from: RegionId::from_uuid(u(2)),
                to: RegionId::from_uuid(u(9)),
                at: NOW,
            }]);
    }

    #[test]
    fn it_adds_and_closes_a_service_point() {
        let sp = ServicePointId::from_uuid(u(4));
        let added = Event::ServicePointAdded {
            branch_id: bid(),
            service_point_id: sp,
            name: name("车公庙服务部"),
            at: NOW,
        };
        given::<Branch>([opened()])
            .when(Command::AddServicePoint {
                service_point_id: sp,
                name: name("车公庙服务部"),
                now: NOW,
            })
            .then([added.clone()]);
        given::<Branch>([opened(), added])
            .when(Command::CloseServicePoint {
                service_point_id: sp,
                now: NOW,
            })
            .then([Event::ServicePointClosed {
                branch_id: bid(),
                service_point_id: sp,
                at: NOW,
            }]);
    }

    #[test]
    fn it_forms_a_team() {
        given::<Branch>([opened()])
            .when(Command::FormTeam {
                team_id: tid(),
                name: name("财富一组"),
                lead: None,
                now: NOW,
            })
            .then([team_formed()]);
    }

    #[test]
    fn it_rejects_forming_a_team_twice() {
        given::<Branch>([opened(), team_formed()])
            .when(Command::FormTeam {
                team_id: tid(),
                name: name("x"),
                lead: None,
                now: NOW,
            })
            .then_err(DomainError::AlreadyExists { entity: "team" });
    }

    #[test]
    fn it_changes_a_team_lead() {
        let lead = Some(StaffId::from_uuid(u(7)));
        given::<Branch>([opened(), team_formed()])
            .when(Command::ChangeTeamLead {
                team_id: tid(),
                lead,
                now: NOW,
            })
            .then([Event::TeamLeadChanged {
                branch_id: bid(),
                team_id: tid(),
                lead,
                at: NOW,
            }]);
    }

    #[test]
    fn it_dissolves_a_team_once() {
        let dissolved = Event::TeamDissolved {
            branch_id: bid(),
            team_id: tid(),
            at: NOW,
        };
        given::<Branch>([opened(), team_formed()])
            .when(Command::DissolveTeam {
                team_id: tid(),
                now: NOW,
            })
            .then([dissolved.clone()]);
        given::<Branch>([opened(), team_formed(), dissolved])
            .when(Command::DissolveTeam {
                team_id: tid(),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "team dissolved",
                command: "change a team",
            });
    }

    #[test]
    fn it_rejects_closing_a_branch_that_still_has_customers() {
        given::<Branch>([opened()])
            .when(Command::Close {
                assigned_customer_count: 3,
                now: NOW,
            })
            .then_err(DomainError::conflict(
                "3 customers are still assigned to the branch",
            ));
    }

    #[test]
    fn it_closes_an_empty_branch() {
        given::<Branch>([opened()])
            .when(Command::Close {
                assigned_customer_count: 0,
                now: NOW,
            })
            .then([Event::BranchClosed {
                branch_id: bid(),
                at: NOW,
            }]);
    }
}
