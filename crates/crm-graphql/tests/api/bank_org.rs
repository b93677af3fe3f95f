//! The county cooperative the bank API tests share: two regions (county unions), three
//! outlets (1 and 2 in region 1, 3 in region 2), the people who manage them, and headquarters
//! sending the commands.

use crm_app::{App, AppCommand, CommandEnvelope};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::{BranchId, RegionId, StaffId};
use crm_domain::values::OrgName;
use crm_domain::{branch, region};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
pub fn region_of(n: u128) -> RegionId {
    RegionId::from(id(0xA_0000 + n))
}
pub fn outlet(n: u128) -> BranchId {
    BranchId::from(id(0xB_0000 + n))
}
pub fn staff(n: u128) -> StaffId {
    StaffId::from(id(0x5_0000 + n))
}
pub fn hq() -> Actor {
    Actor {
        staff_id: staff(1),
        role: Role::Headquarters,
        scope: Scope::Company,
    }
}
pub fn region_manager(r: u128) -> Actor {
    Actor {
        staff_id: staff(10 + r),
        role: Role::RegionManager,
        scope: Scope::Region {
            region: region_of(r),
        },
    }
}
pub fn outlet_manager(b: u128) -> Actor {
    Actor {
        staff_id: staff(100 + b),
        role: Role::BranchManager,
        scope: Scope::Branch { branch: outlet(b) },
    }
}
pub fn customer_manager(b: u128) -> Actor {
    Actor {
        staff_id: staff(1000 + b),
        role: Role::CustomerManager,
        scope: Scope::Book {
            branch: outlet(b),
            team: None,
        },
    }
}

/// Sends `command` as headquarters at `now`; the position it reached.
pub async fn run(app: &App, now: OffsetDateTime, command: AppCommand) -> u64 {
    app.execute(CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor: hq(),
        correlation_id: None,
        causation_id: None,
        occurred_at: now,
        command,
    })
    .await
    .unwrap()
    .position
}

/// 余干县联社 (region 1: outlets 1 and 2) and 万年县联社 (region 2: outlet 3).
pub async fn open_outlets(app: &App, now: OffsetDateTime) {
    for (r, name) in [(1, "余干县联社"), (2, "万年县联社")] {
        let region = region_of(r);
        let command = region::Command::Establish {
            region_id: region,
            name: OrgName::parse(name).unwrap(),
            now,
        };
        run(app, now, AppCommand::Region { region, command }).await;
    }
    for (b, r) in [(1, 1), (2, 1), (3, 2)] {
        let command = branch::Command::Open {
            branch_id: outlet(b),
            region_id: region_of(r),
            name: OrgName::parse(&format!("信用社{b}")).unwrap(),
            kind: branch::BranchKind::CreditCooperative,
            now,
        };
        let branch = outlet(b);
        run(app, now, AppCommand::Branch { branch, command }).await;
    }
}
