//! Finding a customer by identity document, phone or account number (#16 item 1): through the
//! keyed-hash index, before and after a flush and a restart, following phone changes and
//! merges, and with no number in plain in the index.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::customer::{self, CustomerKind, Lifecycle, Profile};
use crm_domain::values::{Channel, IdDocument, OrgName, Phone, ResidentIdNumber, ShortText};
use crm_domain::AnyEvent;
use crm_eventstore::EventStore;
use crm_projections::views::LookupValue;
use crm_projections::{Projections, RuleBook};
use support::*;
use time::OffsetDateTime;

type Timed = (AnyEvent, OffsetDateTime);

fn document(c: u8) -> IdDocument {
    let number = ResidentIdNumber::with_check_character(&format!(
        "11010519{:02}0{}15{:03}",
        60 + c,
        1 + c % 9,
        c
    ))
    .unwrap();
    IdDocument::ResidentId { number }
}

fn profile(c: u8, phone: &str) -> Profile {
    let document = document(c);
    let birthday = match &document {
        IdDocument::ResidentId { number } => number.birth_date(),
        _ => None,
    };
    Profile {
        name: OrgName::parse(&format!("客户{c}")).unwrap(),
        document,
        phone: Some(Phone::parse(phone).unwrap()),
        address: None,
        region: Some(rid()),
        birthday,
        occupation: None,
        source_channel: Channel::Counter,
    }
}

fn register(c: u8, phone: &str) -> Timed {
    let t = at(1);
    (
        customer::Event::CustomerRegistered {
            customer_id: cid(c),
            kind: CustomerKind::Individual,
            profile: profile(c, phone),
            lifecycle: Lifecycle::Active,
            at: t,
        }
        .into(),
        t,
    )
}

fn event(e: customer::Event) -> Timed {
    (e.into(), at(2))
}

fn phone(p: &str) -> LookupValue {
    LookupValue::phone(&Phone::parse(p).unwrap())
}

#[test]
fn customers_are_found_by_document_phone_and_account_number_through_a_keyed_index() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path(), config()).unwrap();
        let mut n = 0;
        let mut history = setup();
        history.push(register(0, "13800000000"));
        // A family sharing a phone.
        history.push(register(1, "13811111111"));
        history.push(register(2, "13811111111"));
        history.push(event(customer::Event::AccountOpened {
            customer_id: cid(0),
            account_id: aid(0, 0),
            kind: customer::AccountKind::Fund,
            number: ShortText::parse("F880001").unwrap(),
            at: at(2),
        }));
        for (e, t) in &history {
            append(&store, &mut n, e, *t).await;
        }
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let check = |p: &Projections| {
            assert_eq!(
                p.customer_lookup(&LookupValue::id_document(&document(0)))
                    .unwrap(),
                vec![cid(0)]
            );
            assert_eq!(
                p.customer_lookup(&phone("+86 138 0000 0000")).unwrap(),
                vec![cid(0)]
            );
            let mut family = vec![cid(1), cid(2)];
            family.sort_unstable();
            assert_eq!(p.customer_lookup(&phone("13811111111")).unwrap(), family);
            assert_eq!(
                p.customer_lookup(&LookupValue::account_number(" F880001 "))
                    .unwrap(),
                vec![cid(0)]
            );
            assert!(p.customer_lookup(&phone("13899999999")).unwrap().is_empty());
        };
        // Before any flush: found through the changed set.
        check(&p);
        p.flush().unwrap();
        // After it: found through the tree.
        check(&p);

        // A changed phone: the old number finds no one, the new one finds them.
        let more = [
            event(customer::Event::ProfileUpdated {
                customer_id: cid(0),
                profile: profile(0, "13900000000"),
                at: at(3),
            }),
            // c2 merged into c1: the shared phone answers the survivor once.
            event(customer::Event::CustomerMergedInto {
                customer_id: cid(2),
                survivor: cid(1),
                at: at(3),
            }),
        ];
        for (e, t) in &more {
            append(&store, &mut n, e, *t).await;
        }
        p.catch_up().unwrap();
        for round in 0..2 {
            assert!(
                p.customer_lookup(&phone("13800000000")).unwrap().is_empty(),
                "round {round}"
            );
            assert_eq!(
                p.customer_lookup(&phone("13900000000")).unwrap(),
                vec![cid(0)]
            );
            assert_eq!(
                p.customer_lookup(&phone("13811111111")).unwrap(),
                vec![cid(1)]
            );
            p.flush().unwrap();
        }
        drop(p);

        // After a restart the index is read from the tree; no number is stored in plain in it.
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        check_after_restart(&p);
        let mut plain = 0;
        for name in store.sled().tree_names() {
            let tree = store.sled().open_tree(&name).unwrap();
            for kv in tree.scan_prefix([crm_projections::read_models::lookup::TAG_LOOKUP]) {
                let (k, _) = kv.unwrap();
                for needle in [&b"13900000000"[..], b"F880001", b"110105"] {
                    if k.windows(needle.len()).any(|w| w == needle) {
                        plain += 1;
                    }
                }
            }
        }
        assert_eq!(plain, 0);
        drop(p);
        store.close().await.unwrap();
    });
}

fn check_after_restart(p: &Projections) {
    assert_eq!(
        p.customer_lookup(&phone("13900000000")).unwrap(),
        vec![cid(0)]
    );
    assert_eq!(
        p.customer_lookup(&LookupValue::account_number("F880001"))
            .unwrap(),
        vec![cid(0)]
    );
    assert_eq!(
        p.customer_lookup(&phone("13811111111")).unwrap(),
        vec![cid(1)]
    );
}
