//! What the command tests share: actors, ids, a small organisation with one assigned customer.
// Each test binary uses some of these.
#![allow(dead_code, clippy::unwrap_used)] // a test that cannot unwrap has failed

use crm_app::{App, AppCommand, AppError, CommandEnvelope};
use crm_domain::auth::{Actor, Right, Role, Scope};
use crm_domain::customer::{self, Assignment, CustomerKind, Profile};
use crm_domain::ids::{BranchId, CustomerId, RegionId, StaffId};
use crm_domain::values::{Channel, IdDocument, OrgName, Phone, ResidentIdNumber};
use crm_domain::{branch, region, DomainError};
use crm_eventstore::{EventStore, StoreConfig};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;

pub const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}
pub fn staff(n: u128) -> StaffId {
    StaffId::from(id(0x5_0000 + n))
}
pub fn branch_id(n: u128) -> BranchId {
    BranchId::from(id(0xB_0000 + n))
}
pub fn region_id(n: u128) -> RegionId {
    RegionId::from(id(0xA_0000 + n))
}
pub fn customer_id(n: u128) -> CustomerId {
    CustomerId::from(id(0xC_0000 + n))
}

pub fn hq() -> Actor {
    Actor {
        staff_id: staff(1),
        role: Role::Headquarters,
        scope: Scope::Company,
    }
}
pub fn branch_manager(b: u128) -> Actor {
    Actor {
        staff_id: staff(100 + b),
        role: Role::BranchManager,
        scope: Scope::Branch {
            branch: branch_id(b),
        },
    }
}
pub fn customer_manager(n: u128, b: u128) -> Actor {
    Actor {
        staff_id: staff(1000 + n),
        role: Role::CustomerManager,
        scope: Scope::Book {
            branch: branch_id(b),
            team: None,
        },
    }
}
pub fn auditor() -> Actor {
    Actor {
        staff_id: staff(7),
        role: Role::Auditor,
        scope: Scope::Company,
    }
}

/// A valid PRC resident ID number (GB 11643) for sequence `n`.
pub fn resident_id(n: u32) -> ResidentIdNumber {
    ResidentIdNumber::with_check_character(&format!("11010519491231{:03}", n % 1000)).unwrap()
}

pub fn profile(n: u32) -> Profile {
    Profile {
        name: OrgName::parse("张三").unwrap(),
        document: IdDocument::ResidentId {
            number: resident_id(n),
        },
        phone: Phone::parse("13812345678").ok(),
        address: None,
        region: None,
        birthday: Some(date!(1949 - 12 - 31)),
        occupation: None,
        source_channel: Channel::Counter,
    }
}

pub fn envelope(actor: Actor, command: AppCommand) -> CommandEnvelope {
    CommandEnvelope {
        command_id: Uuid::now_v7(),
        actor,
        correlation_id: None,
        causation_id: None,
        occurred_at: NOW,
        command,
    }
}

pub struct World {
    pub _dir: tempfile::TempDir,
    pub app: App,
}

impl World {
    /// A store with one region, branches 1 and 2, and customer `c` = 1 registered by HQ and
    /// assigned to customer manager 1 in branch 1.
    pub async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let app = App::new(store).unwrap();
        let w = World { _dir: dir, app };
        w.ok(
            hq(),
            AppCommand::Region {
                region: region_id(1),
                command: region::Command::Establish {
                    region_id: region_id(1),
                    name: OrgName::parse("华东").unwrap(),
                    now: NOW,
                },
            },
        )
        .await;
        for b in [1, 2] {
            w.ok(
                hq(),
                AppCommand::Branch {
                    branch: branch_id(b),
                    command: branch::Command::Open {
                        branch_id: branch_id(b),
                        region_id: region_id(1),
                        name: OrgName::parse(&format!("营业部{b}")).unwrap(),
                        kind: branch::BranchKind::BrokerageBranch,
                        now: NOW,
                    },
                },
            )
            .await;
        }
        w.register(hq(), 1).await.unwrap();
        w.ok(
            hq(),
            assign(
                1,
                Assignment {
                    branch: branch_id(1),
                    manager: Some(customer_manager(1, 1).staff_id),
                    team: None,
                },
                staff(1),
            ),
        )
        .await;
        w
    }

    pub async fn run(
        &self,
        actor: Actor,
        command: AppCommand,
    ) -> Result<crm_app::CommandOutcome, AppError> {
        self.app.execute(envelope(actor, command)).await
    }

    pub async fn ok(&self, actor: Actor, command: AppCommand) -> crm_app::CommandOutcome {
        match self.run(actor, command).await {
            Ok(o) => o,
            Err(e) => panic!("command refused: {e}"),
        }
    }

    pub async fn register(
        &self,
        actor: Actor,
        n: u32,
    ) -> Result<crm_app::CommandOutcome, AppError> {
        self.run(
            actor,
            AppCommand::Customer {
                customer: customer_id(u128::from(n)),
                command: customer::Command::Register {
                    customer_id: customer_id(u128::from(n)),
                    kind: CustomerKind::Individual,
                    profile: profile(n),
                    as_prospect: false,
                    existing_customer_with_same_document: None,
                    now: NOW,
                },
            },
        )
        .await
    }

    pub fn customer(&self, n: u128) -> customer::State {
        let stream = crm_app::stream_of::<customer::Customer>(&customer_id(n)).unwrap();
        self.app.load::<customer::Customer>(&stream).unwrap().0
    }
}

pub fn assign(n: u128, to: Assignment, by: StaffId) -> AppCommand {
    AppCommand::Customer {
        customer: customer_id(n),
        command: customer::Command::Assign { to, by, now: NOW },
    }
}

pub fn forbidden(result: Result<crm_app::CommandOutcome, AppError>) -> Right {
    match result {
        Err(AppError::Domain(DomainError::Forbidden { missing_right })) => missing_right,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}
