//! The cooperative's organisation: head-office staff, the county as the one region, its
//! outlets with their managers and customer managers in two teams.

use super::*;

/// The outlets: name, kind, and whether it is in the county town (more salaried customers and
/// businesses) or a township (more farm households).
const OUTLETS: &[(&str, branch::BranchKind, bool)] = &[
    ("余干县联社营业部", branch::BranchKind::BankOutlet, true),
    ("玉亭信用社", branch::BranchKind::CreditCooperative, true),
    ("瑞洪信用社", branch::BranchKind::CreditCooperative, false),
    ("康山信用社", branch::BranchKind::CreditCooperative, false),
    ("黄金埠信用社", branch::BranchKind::CreditCooperative, false),
    ("古埠信用社", branch::BranchKind::CreditCooperative, false),
    ("石口信用社", branch::BranchKind::CreditCooperative, false),
    ("乌泥信用社", branch::BranchKind::CreditCooperative, false),
];

/// Customer managers per outlet: the first half in the farm-household team.
const MANAGERS_PER_OUTLET: u64 = 4;

pub(super) struct Outlet {
    pub(super) id: BranchId,
    pub(super) town: bool,
    pub(super) manager: Actor,
    /// The farm-household team's customer managers, then the small-business team's.
    pub(super) farm_managers: Vec<Actor>,
    pub(super) business_managers: Vec<Actor>,
}

pub(super) struct BankOrg {
    pub(super) hq: Actor,
    pub(super) operator: Actor,
    pub(super) outlets: Vec<Outlet>,
}

fn staff_actor(ids: Ids, kind: &[u8], n: u64, role: Role, scope: Scope) -> Actor {
    Actor {
        staff_id: StaffId::from(ids.get(kind, n)),
        role,
        scope,
    }
}

/// Queues the organisation's commands (the caller flushes them).
pub(super) fn organisation<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    founded: OffsetDateTime,
) -> Result<BankOrg, LoadError> {
    let company = Scope::Company;
    let hq = staff_actor(ids, b"bank-staff-hq", 0, Role::Headquarters, company);
    let operator = staff_actor(ids, b"bank-staff-hq", 1, Role::Operator, company);
    let auditor = staff_actor(ids, b"bank-staff-hq", 2, Role::Auditor, company);
    let join = |out: &mut Sender<'_, P>, rng: &mut Rng, who: Actor, name: Option<&str>| {
        join_staff(out, rng, hq, founded, "bank-join", who, name)
    };
    join(out, rng, hq, Some("联社管理员"))?;
    join(out, rng, operator, Some("科技信息部"))?;
    join(out, rng, auditor, None)?;

    let region_id = RegionId::from(ids.get(b"bank-region", 0));
    out.push(
        &format!("region:{region_id}"),
        "bank-region:0",
        hq,
        founded,
        AppCommand::Region {
            region: region_id,
            command: region::Command::Establish {
                region_id,
                name: value("region name", OrgName::parse("余干县农村信用合作联社"))?,
                now: founded,
            },
        },
    );
    let county = staff_actor(
        ids,
        b"bank-staff-region",
        0,
        Role::RegionManager,
        Scope::Region { region: region_id },
    );
    join(out, rng, county, None)?;

    let mut outlets = Vec::new();
    for (b, (name, kind, town)) in OUTLETS.iter().enumerate() {
        let b = b as u64;
        let branch_id = BranchId::from(ids.get(b"bank-outlet", b));
        let lane = format!("branch:{branch_id}");
        out.push(
            &lane,
            &format!("bank-outlet:{b}"),
            hq,
            founded,
            AppCommand::Branch {
                branch: branch_id,
                command: branch::Command::Open {
                    branch_id,
                    region_id,
                    name: value("outlet name", OrgName::parse(name))?,
                    kind: *kind,
                    now: founded,
                },
            },
        );
        let scope = Scope::Branch { branch: branch_id };
        let manager = staff_actor(ids, b"bank-staff-outlet", b, Role::BranchManager, scope);
        join(out, rng, manager, None)?;
        let teams = [
            (TeamId::from(ids.get(b"bank-team", b * 10)), "农户金融组"),
            (
                TeamId::from(ids.get(b"bank-team", b * 10 + 1)),
                "小微金融组",
            ),
        ];
        let mut members: [Vec<Actor>; 2] = [Vec::new(), Vec::new()];
        for m in 0..MANAGERS_PER_OUTLET {
            let t = usize::from(m >= MANAGERS_PER_OUTLET / 2);
            let scope = Scope::Book {
                branch: branch_id,
                team: teams.get(t).map(|(id, _)| *id),
            };
            let actor = staff_actor(
                ids,
                b"bank-staff-cm",
                b * 100 + m,
                Role::CustomerManager,
                scope,
            );
            join(out, rng, actor, None)?;
            if let Some(team) = members.get_mut(t) {
                team.push(actor);
            }
        }
        for (t, (team_id, team_name)) in teams.iter().enumerate() {
            out.push(
                &lane,
                &format!("bank-team:{b}:{t}"),
                hq,
                founded,
                AppCommand::Branch {
                    branch: branch_id,
                    command: branch::Command::FormTeam {
                        team_id: *team_id,
                        name: value("team name", OrgName::parse(team_name))?,
                        lead: members.get(t).and_then(|m| m.first()).map(|a| a.staff_id),
                        now: founded,
                    },
                },
            );
        }
        let [farm_managers, business_managers] = members;
        outlets.push(Outlet {
            id: branch_id,
            town: *town,
            manager,
            farm_managers,
            business_managers,
        });
    }
    Ok(BankOrg {
        hq,
        operator,
        outlets,
    })
}
