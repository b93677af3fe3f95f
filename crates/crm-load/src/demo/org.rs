//! The demo's organisation: headquarters staff, regions, branches with their teams and staff,
//! and the product shelf, all founded half a year before the daily data starts.

use super::*;

/// Who the later phases act as, and what they draw from.
pub(super) struct Org {
    pub(super) hq: Actor,
    pub(super) operator: Actor,
    pub(super) agents: Vec<Actor>,
    pub(super) branches: Vec<BranchInfo>,
    pub(super) products: Vec<(ProductId, ProductRisk)>,
}

/// Queues the organisation's commands (the caller flushes them).
pub(super) fn organisation<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    founded: OffsetDateTime,
) -> Result<Org, LoadError> {
    let id = |kind: &[u8], n: u64| ids.get(kind, n);

    // Headquarters: its head, an operator (back-office feeds), service agents, an auditor.
    let hq = Actor {
        staff_id: StaffId::from(id(b"staff-hq", 0)),
        role: Role::Headquarters,
        scope: Scope::Company,
    };
    let operator = Actor {
        staff_id: StaffId::from(id(b"staff-hq", 1)),
        role: Role::Operator,
        scope: Scope::Company,
    };
    let auditor = Actor {
        staff_id: StaffId::from(id(b"staff-hq", 2)),
        role: Role::Auditor,
        scope: Scope::Company,
    };
    let agents: Vec<Actor> = (0..SERVICE_AGENTS)
        .map(|n| Actor {
            staff_id: StaffId::from(id(b"staff-agent", n)),
            role: Role::ServiceAgent,
            scope: Scope::Company,
        })
        .collect();
    let join = |out: &mut Sender<'_, P>, rng: &mut Rng, who: Actor, name: Option<&str>| {
        join_staff(out, rng, hq, founded, "join", who, name)
    };
    join(out, rng, hq, Some("总部管理员"))?;
    join(out, rng, operator, Some("系统运维"))?;
    join(out, rng, auditor, None)?;
    for agent in &agents {
        join(out, rng, *agent, None)?;
    }

    // Regions, branches with teams, and their staff.
    let mut branches: Vec<BranchInfo> = Vec::new();
    let mut region_ids = Vec::new();
    for (r, (region_name, branch_list)) in ORGANISATION.iter().enumerate() {
        let region_id = RegionId::from(id(b"region", r as u64));
        region_ids.push(region_id);
        out.push(
            &format!("region:{region_id}"),
            &format!("region:{r}"),
            hq,
            founded,
            AppCommand::Region {
                region: region_id,
                command: region::Command::Establish {
                    region_id,
                    name: value("region name", OrgName::parse(region_name))?,
                    now: founded,
                },
            },
        );
        let region_manager = Actor {
            staff_id: StaffId::from(id(b"staff-region", r as u64)),
            role: Role::RegionManager,
            scope: Scope::Region { region: region_id },
        };
        join(out, rng, region_manager, None)?;
        for (name, area) in branch_list.iter() {
            let b = branches.len() as u64;
            let branch_id = BranchId::from(id(b"branch", b));
            let lane = format!("branch:{branch_id}");
            out.push(
                &lane,
                &format!("branch:{b}"),
                hq,
                founded,
                AppCommand::Branch {
                    branch: branch_id,
                    command: branch::Command::Open {
                        branch_id,
                        region_id,
                        name: value("branch name", OrgName::parse(name))?,
                        kind: branch::BranchKind::BrokerageBranch,
                        now: founded,
                    },
                },
            );
            let manager = Actor {
                staff_id: StaffId::from(id(b"staff-branch", b)),
                role: Role::BranchManager,
                scope: Scope::Branch { branch: branch_id },
            };
            join(out, rng, manager, None)?;
            let teams: Vec<TeamId> = (0..TEAMS_PER_BRANCH)
                .map(|t| TeamId::from(id(b"team", b * 100 + t)))
                .collect();
            let mut book_holders = Vec::new();
            for m in 0..MANAGERS_PER_BRANCH + BROKERS_PER_BRANCH {
                let role = if m < MANAGERS_PER_BRANCH {
                    Role::CustomerManager
                } else {
                    Role::Broker
                };
                let actor = Actor {
                    staff_id: StaffId::from(id(b"staff-book", b * 100 + m)),
                    role,
                    scope: Scope::Book {
                        branch: branch_id,
                        team: teams.get((m % TEAMS_PER_BRANCH) as usize).copied(),
                    },
                };
                join(out, rng, actor, None)?;
                book_holders.push(actor);
            }
            for (t, team_id) in teams.iter().enumerate() {
                let lead = book_holders.get(t).map(|a| a.staff_id);
                out.push(
                    &lane,
                    &format!("team:{b}:{t}"),
                    hq,
                    founded,
                    AppCommand::Branch {
                        branch: branch_id,
                        command: branch::Command::FormTeam {
                            team_id: *team_id,
                            name: value(
                                "team name",
                                OrgName::parse(&format!("财富管理{}组", t + 1)),
                            )?,
                            lead,
                            now: founded,
                        },
                    },
                );
            }
            branches.push(BranchInfo {
                id: branch_id,
                area,
                book_holders,
            });
        }
    }
    let mut products = Vec::new();
    for (p, (name, kind, risk)) in PRODUCTS.iter().enumerate() {
        let product_id = ProductId::from(id(b"product", p as u64));
        products.push((product_id, *risk));
        out.push(
            &format!("product:{product_id}"),
            &format!("product:{p}"),
            hq,
            founded,
            AppCommand::Product {
                product: product_id,
                command: product::Command::Launch {
                    product_id,
                    name: value("product name", OrgName::parse(name))?,
                    kind: *kind,
                    risk: *risk,
                    now: founded,
                },
            },
        );
    }
    Ok(Org {
        hq,
        operator,
        agents,
        branches,
        products,
    })
}
