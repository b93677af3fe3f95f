//! The customer list projection: a random event history processed live, with restarts (with
//! and without a flush before them, as after a crash) at random points, equals a rebuild from
//! scratch; reads filter, scope and paginate.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use crm_domain::customer::{self, Assignment, CustomerKind, Lifecycle, Profile};
use crm_domain::ids::{AccountId, BranchId, CustomerId, InteractionId, StaffId};
use crm_domain::values::{Channel, IdDocument, OrgName, ResidentIdNumber, ShortText};
use crm_domain::{account, interaction, DomainEvent, Money};
use crm_eventstore::{EventMetadata, EventStore, ExpectedRevision, StoreConfig};
use crm_projections::{CustomerFilter, CustomersProjection, Projected};
use proptest::prelude::*;
use time::macros::{date, datetime};
use uuid::Uuid;

fn cid(n: u8) -> CustomerId {
    CustomerId::from(Uuid::from_u128(0xC000 + u128::from(n)))
}
fn aid(n: u8) -> AccountId {
    AccountId::from(Uuid::from_u128(0xA000 + u128::from(n)))
}

#[derive(Debug, Clone)]
enum Step {
    Register(u8),
    Key(u8, bool),
    Assign(u8, u8),
    Dormant(u8),
    OpenAccount(u8, u8),
    Summary(u8, u8, u16, i64),
    Contact(u8, u8),
    Merge(u8, u8),
    /// Restart the live projection; flush first or not (a crash).
    Restart(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..8).prop_map(Step::Register),
        1 => (0u8..8, any::<bool>()).prop_map(|(c, k)| Step::Key(c, k)),
        2 => (0u8..8, 0u8..3).prop_map(|(c, b)| Step::Assign(c, b)),
        1 => (0u8..8).prop_map(Step::Dormant),
        2 => (0u8..8, 0u8..12).prop_map(|(c, a)| Step::OpenAccount(c, a)),
        3 => (0u8..8, 0u8..12, 0u16..400, 0i64..1_000_000).prop_map(|(c, a, d, m)| Step::Summary(c, a, d, m)),
        1 => (0u8..8, 0u8..200).prop_map(|(c, i)| Step::Contact(c, i)),
        1 => (0u8..8, 0u8..8).prop_map(|(a, b)| Step::Merge(a, b)),
        1 => any::<bool>().prop_map(Step::Restart),
    ]
}

fn resident_id(n: u8) -> ResidentIdNumber {
    ResidentIdNumber::with_check_character(&format!("11010519491231{n:03}")).unwrap()
}

async fn append<E: DomainEvent + serde::Serialize>(store: &EventStore, n: &mut u64, event: E) {
    *n += 1;
    let metadata = EventMetadata {
        actor: "staff-test".into(),
        occurred_at: datetime!(2024-03-01 10:00 +8),
        correlation_id: None,
        causation_id: None,
        command_id: None,
    };
    let new =
        crm_projections::codec::encode(&event, Uuid::from_u128(u128::from(*n)), metadata).unwrap();
    let stream = crm_projections::codec::stream_of(&event).unwrap();
    store
        .append(&stream, ExpectedRevision::Any, vec![new])
        .await
        .unwrap();
}

async fn run(steps: Vec<Step>) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let at = datetime!(2024-03-01 10:00 +8);
    let mut live = Projected::<CustomersProjection>::load(&store).unwrap();
    let mut n = 0;
    for s in steps {
        use customer::Event as E;
        match s {
            Step::Register(c) => {
                let profile = Profile {
                    name: OrgName::parse(&format!("客户{c}")).unwrap(),
                    document: IdDocument::ResidentId {
                        number: resident_id(c),
                    },
                    phone: None,
                    address: None,
                    region: None,
                    birthday: None,
                    occupation: None,
                    source_channel: Channel::App,
                };
                append(
                    &store,
                    &mut n,
                    E::CustomerRegistered {
                        customer_id: cid(c),
                        kind: CustomerKind::Individual,
                        profile,
                        lifecycle: Lifecycle::Active,
                        at,
                    },
                )
                .await
            }
            Step::Key(c, k) => {
                append(
                    &store,
                    &mut n,
                    E::KeyCustomerMarked {
                        customer_id: cid(c),
                        is_key: k,
                        at,
                    },
                )
                .await
            }
            Step::Assign(c, b) => {
                let to = Assignment {
                    branch: BranchId::from(Uuid::from_u128(u128::from(b))),
                    manager: Some(StaffId::from(Uuid::from_u128(0x5000 + u128::from(b)))),
                    team: None,
                };
                append(
                    &store,
                    &mut n,
                    E::CustomerAssigned {
                        customer_id: cid(c),
                        to,
                        by: StaffId::from(Uuid::nil()),
                        at,
                    },
                )
                .await
            }
            Step::Dormant(c) => {
                append(
                    &store,
                    &mut n,
                    E::CustomerBecameDormant {
                        customer_id: cid(c),
                        at,
                    },
                )
                .await
            }
            Step::OpenAccount(c, a) => {
                append(
                    &store,
                    &mut n,
                    E::AccountOpened {
                        customer_id: cid(c),
                        account_id: aid(a),
                        kind: customer::AccountKind::Fund,
                        number: ShortText::parse("A1").unwrap(),
                        at,
                    },
                )
                .await
            }
            Step::Summary(c, a, d, m) => {
                let summary = account::DailyTradeSummary {
                    trade_date: date!(2024 - 01 - 01) + time::Duration::days(i64::from(d)),
                    customer_id: cid(c),
                    turnover: vec![],
                    commission: Money::ZERO,
                    deposits: Money::ZERO,
                    withdrawals: Money::ZERO,
                    end_of_day_assets: Money::from_minor(m),
                    holdings: vec![],
                    realised_pnl: Money::ZERO,
                    unrealised_pnl: Money::ZERO,
                };
                append(
                    &store,
                    &mut n,
                    account::Event::DailyTradeSummaryRecorded {
                        account_id: aid(a),
                        summary,
                        at,
                    },
                )
                .await
            }
            Step::Contact(c, i) => {
                let event = interaction::Event::ContactRecorded {
                    interaction_id: InteractionId::from(Uuid::from_u128(0x1000 + u128::from(i))),
                    customer_id: cid(c),
                    staff_id: StaffId::from(Uuid::nil()),
                    channel: Channel::Phone,
                    direction: interaction::Direction::Outbound,
                    topic: ShortText::parse("回访").unwrap(),
                    outcome: interaction::Outcome::Reached,
                    notes: crm_domain::values::LongText::parse("ok").unwrap(),
                    follow_up_on: None,
                    at: at + time::Duration::minutes(i64::from(i)),
                };
                append(&store, &mut n, event).await
            }
            Step::Merge(a, b) => {
                append(
                    &store,
                    &mut n,
                    E::CustomerMergedInto {
                        customer_id: cid(a),
                        survivor: cid(b),
                        at,
                    },
                )
                .await;
                append(
                    &store,
                    &mut n,
                    E::CustomerMergeAbsorbed {
                        customer_id: cid(b),
                        merged: cid(a),
                        accounts: vec![],
                        at,
                    },
                )
                .await
            }
            Step::Restart(flush) => {
                // Apply what is there; then either flush and restart, or restart without
                // flushing, losing what was applied since the last flush, as a crash would.
                live.catch_up().unwrap();
                if flush {
                    live.flush().unwrap();
                }
                drop(live);
                live = Projected::<CustomersProjection>::load(&store).unwrap();
            }
        }
    }
    live.catch_up().unwrap();
    let live_state = live.read(|s| s.clone());
    assert_eq!(live.position(), store.head().0);

    // A rebuild: a fresh projection over the same log, in another tree.
    let rebuilt = {
        let fresh = tempfile::tempdir().unwrap();
        let copy = EventStore::open(fresh.path(), StoreConfig::default()).unwrap();
        let mut export = Vec::new();
        store.export_jsonl(&mut export).unwrap();
        copy.import_jsonl(&export[..]).await.unwrap();
        let p = Projected::<CustomersProjection>::load(&copy).unwrap();
        p.catch_up().unwrap();
        p.read(|s| s.clone())
    };
    assert_eq!(live_state, rebuilt);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn live_with_restarts_equals_a_rebuild(steps in proptest::collection::vec(step(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(steps));
    }
}

#[tokio::test]
async fn the_list_filters_scopes_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), StoreConfig::default()).unwrap();
    let mut n = 0;
    for c in 0..8u8 {
        let profile = Profile {
            name: OrgName::parse(&format!("客户{c}")).unwrap(),
            document: IdDocument::ResidentId {
                number: resident_id(c),
            },
            phone: None,
            address: None,
            region: None,
            birthday: None,
            occupation: None,
            source_channel: Channel::App,
        };
        let at = datetime!(2024-03-01 10:00 +8);
        append(
            &store,
            &mut n,
            customer::Event::CustomerRegistered {
                customer_id: cid(c),
                kind: CustomerKind::Individual,
                profile,
                lifecycle: Lifecycle::Active,
                at,
            },
        )
        .await;
        let to = Assignment {
            branch: BranchId::from(Uuid::from_u128(u128::from(c % 2))),
            manager: None,
            team: None,
        };
        append(
            &store,
            &mut n,
            customer::Event::CustomerAssigned {
                customer_id: cid(c),
                to,
                by: StaffId::from(Uuid::nil()),
                at,
            },
        )
        .await;
    }
    let p = Projected::<CustomersProjection>::load(&store).unwrap();
    p.catch_up().unwrap();
    let branch0 = CustomerFilter {
        branch: Some(BranchId::from(Uuid::from_u128(0))),
        ..CustomerFilter::default()
    };
    let (page, total) = p.read(|s| s.list(&branch0, |_| true, None, 3));
    assert_eq!((page.len(), total), (3, 4));
    let (rest, _) = p.read(|s| s.list(&branch0, |_| true, Some(page[2].id), 3));
    assert_eq!(rest.len(), 1);
    let named = CustomerFilter {
        text: Some("客户5".into()),
        ..CustomerFilter::default()
    };
    assert_eq!(p.read(|s| s.list(&named, |_| true, None, 10)).1, 1);
    // A scope that sees nothing sees no count either.
    assert_eq!(
        p.read(|s| s.list(&CustomerFilter::default(), |_| false, None, 10)),
        (vec![], 0)
    );
}
