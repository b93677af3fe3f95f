//! The staff directory and team rosters (#16 item 6): given the fixed organisation of
//! `support::setup` (operators 运维0/1 at the company; 经理0/1 in 营业部0, 经理2/3 and the
//! branch manager 负责人 in 营业部1), then a team 财富一组 formed in 营业部0 led by 经理0,
//! 经理0 and 经理1 moved into it, and 经理3 leaving on day 20:
//! the directory lists staff by branch name (staff without a branch first), then name; pages
//! continue after the last key; who left appears only when asked, with the day they left.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::TeamId;
use crm_domain::values::{OrgName, ShortText};
use crm_domain::{branch, staff, AnyEvent};
use crm_eventstore::EventStore;
use crm_projections::views::{DirectoryEntry, DirectoryFilter};
use crm_projections::{Projections, RuleBook};
use support::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn team() -> TeamId {
    TeamId::from(Uuid::from_u128(0x7EA0))
}

fn history() -> Vec<(AnyEvent, OffsetDateTime)> {
    let mut h = setup();
    let t = at(5);
    h.push((
        branch::Event::TeamFormed {
            branch_id: bid(0),
            team_id: team(),
            name: OrgName::parse("财富一组").unwrap(),
            lead: Some(sid(0)),
            at: t,
        }
        .into(),
        t,
    ));
    for s in [0, 1] {
        h.push((
            staff::Event::StaffMoved {
                staff_id: sid(s),
                from: Scope::Book {
                    branch: bid(0),
                    team: None,
                },
                to: Scope::Book {
                    branch: bid(0),
                    team: Some(team()),
                },
                at: t,
            }
            .into(),
            t,
        ));
    }
    let t = at(20);
    h.push((
        staff::Event::StaffLeft {
            staff_id: sid(3),
            reason: ShortText::parse("离职").unwrap(),
            at: t,
        }
        .into(),
        t,
    ));
    h
}

fn names(entries: &[DirectoryEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

async fn logged() -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let mut n = 0;
    for (e, t) in history() {
        append(&store, &mut n, &e, t).await;
    }
    (dir, store)
}

#[test]
fn the_directory_lists_staff_by_branch_then_name_in_pages() {
    runtime().block_on(async {
        let (_dir, store) = logged().await;
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let all = DirectoryFilter::default();

        // Page one: the company's operators first, then 营业部0.
        let one = p.staff_directory(&all, None, 3);
        assert_eq!(names(&one.entries), ["运维0", "运维1", "经理0"]);
        assert!(one.has_next);
        assert_eq!(one.total, 6);
        let e0 = &one.entries[2];
        assert_eq!(e0.role, Role::CustomerManager);
        assert_eq!(e0.branch, Some((bid(0), "营业部0".to_string())));
        assert_eq!(e0.region, Some((rid(), "华东".to_string())));
        assert_eq!(e0.team, Some((team(), "财富一组".to_string())));
        assert_eq!(e0.since, Some(BASE - Duration::days(10)));
        assert_eq!(e0.left, None);
        assert_eq!(one.entries[0].branch, None);

        // Page two continues after the last key: 经理3 left and is not listed.
        let two = p.staff_directory(&all, Some(&e0.key()), 3);
        assert_eq!(names(&two.entries), ["经理1", "经理2", "负责人"]);
        assert!(!two.has_next);

        // Who left, when asked for, with the day they left.
        let with_left = DirectoryFilter {
            include_left: true,
            branch: Some(bid(1)),
            ..DirectoryFilter::default()
        };
        let b1 = p.staff_directory(&with_left, None, 10);
        assert_eq!(names(&b1.entries), ["经理2", "经理3", "负责人"]);
        assert_eq!(b1.entries[1].left, Some(BASE + Duration::days(20)));
        assert_eq!(b1.total, 3);

        // Filters by role and team.
        let brokers = DirectoryFilter {
            role: Some(Role::Broker),
            include_left: true,
            ..DirectoryFilter::default()
        };
        assert_eq!(
            names(&p.staff_directory(&brokers, None, 10).entries),
            ["经理1", "经理3"]
        );
        let in_team = DirectoryFilter {
            team: Some(team()),
            ..DirectoryFilter::default()
        };
        assert_eq!(
            names(&p.staff_directory(&in_team, None, 10).entries),
            ["经理0", "经理1"]
        );

        // The roster: the team with its lead and members.
        let rosters = p.team_rosters(Some(bid(0)));
        assert_eq!(rosters.len(), 1);
        assert_eq!(rosters[0].name, "财富一组");
        assert_eq!(rosters[0].lead.as_ref().map(|l| l.id), Some(sid(0)));
        assert_eq!(names(&rosters[0].members), ["经理0", "经理1"]);
        assert!(p.team_rosters(Some(bid(1))).is_empty());
        drop(p);
        store.close().await.unwrap();
    });
}
