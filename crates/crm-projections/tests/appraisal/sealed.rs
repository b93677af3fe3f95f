//! Sealed appraisal periods (#15 item 2): the results, the team figures and the adjustments a
//! period is sealed with are derived again byte for byte from the log up to the sealed
//! position (`check_sealed`, what `crm replay --period` runs); the sealed CSV lists them all
//! with a stable content hash; a seal recorded before team figures were sealed still reads.

use crm_domain::appraisal::{Adjustments, AppraisalPeriod, Derivation, Event as E, TeamFigures};
use crm_projections::projections::{
    check_sealed, derive_closing, derive_seal, read_sealed, Closing, TeamsCheck,
};
use crm_projections::read_models::appraisal::{content_hash, results_csv, CSV_HEADER};

use super::*;

const fn month(month: u8) -> AppraisalPeriod {
    AppraisalPeriod::Month { year: 2024, month }
}

/// #15 item 2: a sealed period's results are derived again byte for byte from the log up to
/// the sealed position under the rules then in force; facts recorded after the seal (here a
/// back-dated closure in the sealed month) change later derivations, never the sealed one.
#[test]
fn a_sealed_period_is_derived_again_byte_for_byte_and_later_facts_do_not_change_it() {
    runtime().block_on(async {
        let (_dir, store, mut n) = logged(history()).await;
        let feb = month(2);
        let rules = rules();
        let sealed_at = store.head().0;
        let sealed = derive_seal(&store, &rules, feb, sealed_at).unwrap();
        assert_eq!(sealed.position, sealed_at);
        assert_eq!(sealed.rules_version, rules.version);
        assert_eq!(sealed.results_hash.len(), 64);
        // The results are the appraisal of the worked example, in rank order.
        let s0 = sealed.results.iter().find(|r| r.staff == sid(0)).unwrap();
        assert_eq!(
            (
                s0.new_customers,
                s0.churned,
                s0.upgraded,
                s0.composite_centi
            ),
            (2, 2, 2, 4500)
        );
        assert_eq!(sealed.results[0].staff, sid(1));
        // A fact about February recorded after the seal: c4 closed on 20 February.
        append(
            &store,
            &mut n,
            &customer::Event::CustomerClosed {
                customer_id: cid(4),
                reason: ShortText::parse("销户").unwrap(),
                at: at(FEB + 19),
            }
            .into(),
            at(FEB + 19),
        )
        .await;
        let again = derive_seal(&store, &rules, feb, sealed_at).unwrap();
        assert_eq!(again, sealed);
        let later = derive_seal(&store, &rules, feb, store.head().0).unwrap();
        assert_ne!(later.results_hash, sealed.results_hash);
        let s0 = later.results.iter().find(|r| r.staff == sid(0)).unwrap();
        assert_eq!(s0.churned, 3);
        store.close().await.unwrap();
    });
}

/// The seal of `period` with `derivation`, its team figures (None: as recorded before team
/// figures were sealed) and adjustments to earlier periods, as the app records it after a
/// second person's approval.
async fn seal(
    store: &EventStore,
    n: &mut u64,
    period: AppraisalPeriod,
    derivation: &Derivation,
    teams: Option<&TeamFigures>,
    adjustments: Option<&Adjustments>,
    day: u16,
) {
    let sealed = E::AppraisalPeriodSealed {
        period,
        derivation: derivation.clone(),
        proposed_by: sid(0),
        approved_by: sid(1),
        at: at(day),
    };
    append(store, n, &sealed.into(), at(day)).await;
    if let Some(a) = adjustments {
        let e = E::AppraisalAdjustmentsSealed {
            period,
            adjustments: a.clone(),
            proposed_by: sid(0),
            approved_by: sid(1),
            at: at(day),
        };
        append(store, n, &e.into(), at(day)).await;
    }
    if let Some(t) = teams {
        let e = E::AppraisalTeamsSealed {
            period,
            teams: t.clone(),
            proposed_by: sid(0),
            approved_by: sid(1),
            at: at(day),
        };
        append(store, n, &e.into(), at(day)).await;
    }
}

/// A closing sealed as derived.
async fn seal_closing(
    store: &EventStore,
    n: &mut u64,
    period: AppraisalPeriod,
    c: &Closing,
    day: u16,
) {
    seal(
        store,
        n,
        period,
        &c.derivation,
        Some(&c.teams),
        c.adjustments.as_ref(),
        day,
    )
    .await;
}

/// #15 item 2: facts about a sealed period recorded after its seal never change it; they show
/// as adjustments proposed and sealed with the next period, each the difference between the
/// period derived again and what was settled (sealed, plus adjustments sealed since), so a
/// correction is settled once, and a later one only adds what is new.
#[test]
fn late_facts_about_a_sealed_period_are_adjustments_sealed_with_the_next_one() {
    let (feb, mar, apr) = (month(2), month(3), month(4));
    runtime().block_on(async {
        let (_dir, store, mut n) = logged(history()).await;
        let rules = rules();
        // February sealed; nothing sealed before it, so nothing to adjust.
        let feb_closing = derive_closing(&store, &rules, feb, store.head().0).unwrap();
        assert_eq!(feb_closing.adjustments, None);
        let feb_sealed = feb_closing.derivation.clone();
        assert_eq!(
            feb_sealed,
            derive_seal(&store, &rules, feb, store.head().0).unwrap()
        );
        seal_closing(&store, &mut n, feb, &feb_closing, FEB + 30).await;
        // Closing March with nothing new about February: no adjustments.
        let none = derive_closing(&store, &rules, mar, store.head().0).unwrap();
        assert_eq!(none.adjustments, None);

        // Recorded in March about February: c4 closed on 20 February.
        let closed = |c: u8, day: u16| {
            (
                customer::Event::CustomerClosed {
                    customer_id: cid(c),
                    reason: ShortText::parse("销户").unwrap(),
                    at: at(day),
                }
                .into(),
                at(day),
            )
        };
        let (e, t): (AnyEvent, OffsetDateTime) = closed(4, FEB + 19);
        append(&store, &mut n, &e, t).await;
        let head = store.head().0;
        let mar_closing = derive_closing(&store, &rules, mar, head).unwrap();
        let mar_derived = mar_closing.derivation.clone();
        let adjustments = mar_closing.adjustments.clone().expect("February moved");
        assert_eq!(adjustments.position, mar_derived.position);
        assert_eq!(adjustments.adjustments_hash.len(), 64);
        // Each adjustment is February derived again less February as sealed.
        let feb_now = derive_seal(&store, &rules, feb, head).unwrap();
        for a in &adjustments.adjustments {
            assert_eq!(a.period, feb);
            let was = feb_sealed.results.iter().find(|r| r.staff == a.staff);
            let now = feb_now.results.iter().find(|r| r.staff == a.staff);
            let get = |r: Option<&crm_domain::appraisal::SealedResult>| {
                r.map_or((0, 0, 0), |r| {
                    (r.churned, r.composite_centi, r.customers_served)
                })
            };
            let (w, v) = (get(was), get(now));
            assert_eq!(
                (a.churned, a.composite_centi, a.customers_served),
                (v.0 - w.0, v.1 - w.1, v.2 - w.2),
                "{a:?}"
            );
        }
        let s0 = adjustments
            .adjustments
            .iter()
            .find(|a| a.staff == sid(0))
            .expect("s0's February moved");
        assert_eq!(s0.churned, 1, "{s0:?}");
        // February's seal does not move: derived again at its position it is the same.
        assert_eq!(
            derive_seal(&store, &rules, feb, feb_sealed.position).unwrap(),
            feb_sealed
        );

        // March sealed with the adjustments: April has nothing more to settle about February.
        seal_closing(&store, &mut n, mar, &mar_closing, FEB + 60).await;
        let none = derive_closing(&store, &rules, apr, store.head().0).unwrap();
        assert_eq!(none.adjustments, None, "an adjustment is settled once");
        // March's closing derived again at its position gives the same adjustments (what
        // `crm replay --period` checks).
        let again = derive_closing(&store, &rules, mar, mar_derived.position).unwrap();
        assert_eq!(again, mar_closing);
        let check = check_sealed(&store, &rules, mar).unwrap().unwrap();
        assert!(
            check.identical() && check.adjustments_identical(),
            "{check:?}"
        );

        // Another late fact about February: April adjusts only what is new.
        let (e, t) = closed(0, FEB + 20);
        append(&store, &mut n, &e, t).await;
        let later = derive_closing(&store, &rules, apr, store.head().0)
            .unwrap()
            .adjustments
            .expect("February moved again");
        let s0 = later
            .adjustments
            .iter()
            .find(|a| a.staff == sid(0))
            .expect("s0's February moved again");
        assert_eq!(s0.churned, 1, "only the new loss: {s0:?}");
        store.close().await.unwrap();
    });
}

/// The seal of February sealed as derived, read back from its stream.
async fn sealed_february(
    store: &EventStore,
    n: &mut u64,
    rules: &RuleBook,
) -> (
    Closing,
    crm_projections::read_models::appraisal::SealedPeriod,
) {
    let feb = month(2);
    let closing = derive_closing(store, rules, feb, store.head().0).unwrap();
    seal_closing(store, n, feb, &closing, FEB + 30).await;
    let sealed = read_sealed(store, feb)
        .unwrap()
        .expect("February is sealed");
    (closing, sealed)
}

/// #15: a team lead is paid on their team's figure, so it is sealed with the results and
/// derived again byte for byte at the sealed position: the worked example's team A (s0's and
/// s1's books: 7 at the start, 3 new, 2 lost, 3 upgraded; 40.00, first) and team B (s3's:
/// 33.94, second). A later fact about February changes later derivations, not the seal.
#[test]
fn a_period_sealed_with_a_team_leads_team_is_derived_again_with_its_team_figures() {
    use crm_projections::read_models::appraisal::teams_hash;
    let (h, team_a, team_b) = team_history();
    let rules = team_rules();
    runtime().block_on(async {
        let (_dir, store, mut n) = logged(h).await;
        let (closing, sealed) = sealed_february(&store, &mut n, &rules).await;
        let teams = &closing.teams;
        assert_eq!(teams.position, closing.derivation.position);
        assert_eq!(teams.teams_hash, teams_hash(&teams.teams).unwrap());
        let figures: Vec<_> = teams
            .teams
            .iter()
            .map(|t| {
                (
                    t.team,
                    t.lead,
                    t.rank,
                    (t.customers_at_start, t.new_customers, t.churned, t.upgraded),
                    t.points_centi,
                    t.composite_centi,
                )
            })
            .collect();
        assert_eq!(
            figures,
            [
                (
                    team_a,
                    Some(sid(0)),
                    1,
                    (7, 3, 2, 3),
                    [1000, 0, 3000, 0],
                    4000
                ),
                (
                    team_b,
                    Some(sid(3)),
                    2,
                    (4, 1, 1, 1),
                    [458, 1562, 1374, 0],
                    3394
                ),
            ]
        );
        assert_eq!(teams.teams[0].members, [sid(0), sid(1)]);
        assert_eq!(sealed.teams.as_ref(), Some(teams));

        // A fact about February recorded after the seal: c4 (s0's, team A) closed on 20 Feb.
        let closed = customer::Event::CustomerClosed {
            customer_id: cid(4),
            reason: ShortText::parse("销户").unwrap(),
            at: at(FEB + 19),
        };
        append(&store, &mut n, &closed.into(), at(FEB + 19)).await;
        let check = check_sealed(&store, &rules, month(2)).unwrap().unwrap();
        assert_eq!(check.teams(), TeamsCheck::Identical, "{check:?}");
        assert!(check.identical(), "{check:?}");
        assert_eq!(&check.again.teams, teams);
        let later = derive_closing(&store, &rules, month(2), store.head().0).unwrap();
        let a_now = later.teams.teams.iter().find(|t| t.team == team_a).unwrap();
        assert_eq!((a_now.churned, a_now.rank), (3, 2), "{later:?}");
        store.close().await.unwrap();
    });
}

/// #15: a sealed team figure that the log does not give (here team A's churn, sealed one
/// lower, its hash made to match) fails the check `crm replay --period` runs, while the
/// people's results still match.
#[test]
fn a_tampered_team_figure_fails_the_check() {
    use crm_projections::read_models::appraisal::teams_hash;
    let (h, _, _) = team_history();
    let rules = team_rules();
    runtime().block_on(async {
        let (_dir, store, mut n) = logged(h).await;
        let feb = month(2);
        let closing = derive_closing(&store, &rules, feb, store.head().0).unwrap();
        let mut tampered = closing.teams.clone();
        tampered.teams[0].churned -= 1;
        tampered.teams_hash = teams_hash(&tampered.teams).unwrap();
        seal(
            &store,
            &mut n,
            feb,
            &closing.derivation,
            Some(&tampered),
            None,
            FEB + 30,
        )
        .await;
        let check = check_sealed(&store, &rules, feb).unwrap().unwrap();
        assert!(check.results_identical(), "{check:?}");
        assert_eq!(check.teams(), TeamsCheck::Differ);
        assert!(!check.identical());
        store.close().await.unwrap();
    });
}

/// The CSV's rows as records (header excluded), each a map from column to value.
fn csv_rows(bytes: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, CSV_HEADER);
    r.records()
        .map(|row| {
            let row = row.unwrap();
            header
                .iter()
                .cloned()
                .zip(row.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// #15 item 2: a sealed period's export is CSV with a header, one row per appraised person in
/// rank order, each naming the derivation; made from the seal's events, so the same seal
/// gives the same bytes.
#[test]
fn a_sealed_period_exports_as_csv_with_a_stable_content_hash() {
    runtime().block_on(async {
        let (_dir, store, mut n) = logged(history()).await;
        let (closing, sealed) = sealed_february(&store, &mut n, &rules()).await;
        let d = &closing.derivation;
        let bytes = results_csv(&sealed).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER.join(","));
        // No team lead: the results alone.
        assert!(closing.teams.teams.is_empty());
        assert_eq!(lines.len(), 1 + d.results.len());
        // s1 first (67.50 points), then s0 (45.00): new, churned, upgraded and the points.
        let s1 = format!("2024-02,1,{},", sid(1));
        assert!(lines[1].starts_with(&s1), "{}", lines[1]);
        assert!(
            lines[1].contains(",15.00,30.00,22.50,0.00,67.50,"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains(",5,5,2,2,2,0,"), "{}", lines[2]);
        // The first twenty columns end with the results' hash, as before; the appended ones
        // say what the row is, and name no teams and no adjustments.
        let hash_then = format!(",{},result,,,,,,,,", d.results_hash);
        assert!(lines[2].ends_with(&hash_then), "{}", lines[2]);
        assert_eq!(
            content_hash(&results_csv(&sealed).unwrap()),
            content_hash(&bytes)
        );
        store.close().await.unwrap();
    });
}

/// #15 item 2: the CSV of a period sealed with adjustments lists its results, then its team
/// figures, then the adjustments sealed with it (the period adjusted, the person, the
/// differences); its hash is the same after a restart, and the same again from the period
/// derived anew from the log.
#[test]
fn the_csv_of_a_period_sealed_with_adjustments_lists_them_and_survives_a_restart() {
    let (h, team_a, _) = team_history();
    let rules = team_rules();
    runtime().block_on(async {
        let (dir, store, mut n) = logged(h).await;
        sealed_february(&store, &mut n, &rules).await;
        // Recorded in March about February: c4 (s0's) closed on 20 February.
        let closed = customer::Event::CustomerClosed {
            customer_id: cid(4),
            reason: ShortText::parse("销户").unwrap(),
            at: at(FEB + 19),
        };
        append(&store, &mut n, &closed.into(), at(FEB + 19)).await;
        let mar = month(3);
        let closing = derive_closing(&store, &rules, mar, store.head().0).unwrap();
        let adjustments = closing.adjustments.clone().expect("February moved");
        seal_closing(&store, &mut n, mar, &closing, FEB + 60).await;
        let sealed = read_sealed(&store, mar).unwrap().unwrap();
        let bytes = results_csv(&sealed).unwrap();
        let rows = csv_rows(&bytes);
        let kinds: Vec<&str> = rows.iter().map(|r| r["record"].as_str()).collect();
        let (people, teams, adjusted) = (
            closing.derivation.results.len(),
            closing.teams.teams.len(),
            adjustments.adjustments.len(),
        );
        assert_eq!(teams, 2);
        assert_eq!(
            kinds,
            [
                vec!["result"; people],
                vec!["team"; teams],
                vec!["adjustment"; adjusted]
            ]
            .concat()
        );
        for r in &rows {
            assert_eq!(r["period"], "2024-03");
            assert_eq!(r["results_hash"], closing.derivation.results_hash);
            assert_eq!(r["teams_hash"], closing.teams.teams_hash);
            assert_eq!(r["adjustments_hash"], adjustments.adjustments_hash);
        }
        let a = &rows[people];
        assert_eq!(
            (
                a["team_id"].as_str(),
                a["team_lead_id"].as_str(),
                a["rank_among_teams"].as_str()
            ),
            (
                team_a.to_string().as_str(),
                sid(0).to_string().as_str(),
                "1"
            )
        );
        assert_eq!(a["team_members"], format!("{};{}", sid(0), sid(1)));
        assert_eq!(a["staff_id"], "");
        let s0 = rows[people + teams..]
            .iter()
            .find(|r| r["staff_id"] == sid(0).to_string())
            .expect("s0's February adjusted");
        assert_eq!(
            (s0["adjusted_period"].as_str(), s0["churned"].as_str()),
            ("2024-02", "1")
        );
        assert_eq!(s0["rank_in_company"], "");
        let hash = content_hash(&bytes);

        // A restart: the same seal, the same bytes.
        store.close().await.unwrap();
        drop(store);
        let store = EventStore::open(dir.path(), config()).unwrap();
        let again = read_sealed(&store, mar).unwrap().unwrap();
        assert_eq!(content_hash(&results_csv(&again).unwrap()), hash);
        // Derived anew from the log: the same CSV.
        let check = check_sealed(&store, &rules, mar).unwrap().unwrap();
        assert!(check.identical(), "{check:?}");
        let derived = crm_projections::read_models::appraisal::SealedPeriod {
            derivation: check.again.derivation.clone(),
            teams: Some(check.again.teams.clone()),
            adjustments: check.again.adjustments.clone(),
            ..again
        };
        assert_eq!(content_hash(&results_csv(&derived).unwrap()), hash);
        store.close().await.unwrap();
    });
}

/// A February seal as the build before team figures recorded it (bincode, pinned): the
/// proposal, the seal and the adjustments sealed with it.
const OLD_PROPOSED: &str = concat!(
    "010000fbd00f022a034061626162616261626162616261626162616261626162616261626162616261626162",
    "6162616261626162616261626162616261626162616261626162616261620110000000000000000000000000",
    "0000000501100000000000000000000000000000000b0a0a04040400fb7260fb100e00fb181500fb28230240",
    "6364636463646364636463646364636463646364636463646364636463646364636463646364636463646364",
    "63646364636463646364636463646364636463641000000000000000000000000000000001fbd00f3d090000",
    "00080000",
);
const OLD_SEALED: &str = concat!(
    "010100fbd00f022a034061626162616261626162616261626162616261626162616261626162616261626162",
    "6162616261626162616261626162616261626162616261626162616261620110000000000000000000000000",
    "0000000501100000000000000000000000000000000b0a0a04040400fb7260fb100e00fb181500fb28230240",
    "6364636463646364636463646364636463646364636463646364636463646364636463646364636463646364",
    "6364636463646364636463646364636463646364100000000000000000000000000000000110000000000000",
    "00000000000000000002fbd00f3d09000000080000",
);
const OLD_ADJUSTMENTS_SEALED: &str = concat!(
    "010300fbd00f022a0100fbd00f011000000000000000000000000000000005000001000200000000fbaf0400",
    "00fbaf0440656665666566656665666566656665666566656665666566656665666566656665666566656665",
    "6665666566656665666566656665666566656665666566656610000000000000000000000000000000011000",
    "000000000000000000000000000002fbd00f3d09000000080000",
);

fn recorded(hex: &str, event_type: &str) -> crm_eventstore::RecordedEvent {
    let payload = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    crm_eventstore::RecordedEvent {
        position: crm_eventstore::Position(1),
        stream: "appraisal-202402".into(),
        revision: 0,
        event_id: uuid::Uuid::from_u128(9),
        event_type: event_type.into(),
        schema_version: 1,
        metadata: crm_eventstore::EventMetadata {
            actor: "staff-test".into(),
            occurred_at: at(FEB + 30),
            correlation_id: None,
            causation_id: None,
            command_id: None,
        },
        recorded_at: at(FEB + 30),
        payload,
        hash: [0; 32],
    }
}

/// #15: seals recorded before team figures were sealed stay readable as they were (the team
/// figures are events of their own, so no old payload changed): the pinned payloads decode to
/// what they said, and such a seal checks as carrying no team figures, its results and
/// adjustments compared as before, its CSV without team rows.
#[test]
fn a_seal_recorded_before_team_figures_still_reads_and_checks() {
    use crm_domain::appraisal::{Adjustment, SealedResult};
    use crm_domain::ids::BranchId;
    let staff = |n: u128| crm_domain::ids::StaffId::from(uuid::Uuid::from_u128(n));
    let derivation = Derivation {
        position: 42,
        rules_version: 3,
        rules_hash: "ab".repeat(32),
        results: vec![SealedResult {
            staff: staff(5),
            branch: Some(BranchId::from(uuid::Uuid::from_u128(0xB))),
            customers_at_start: 5,
            customers_served: 5,
            new_customers: 2,
            churned: 2,
            upgraded: 2,
            downgraded: 0,
            commission: Money::from_minor(12345),
            points_centi: [1800, 0, 2700, 0],
            composite_centi: 4500,
            rank_in_company: 2,
        }],
        results_hash: "cd".repeat(32),
    };
    let t = time::macros::datetime!(2024-03-01 09:00 +8);
    let expected = [
        (
            OLD_PROPOSED,
            "AppraisalSealProposed",
            E::AppraisalSealProposed {
                period: month(2),
                derivation: derivation.clone(),
                by: staff(1),
                at: t,
            },
        ),
        (
            OLD_SEALED,
            "AppraisalPeriodSealed",
            E::AppraisalPeriodSealed {
                period: month(2),
                derivation,
                proposed_by: staff(1),
                approved_by: staff(2),
                at: t,
            },
        ),
        (
            OLD_ADJUSTMENTS_SEALED,
            "AppraisalAdjustmentsSealed",
            E::AppraisalAdjustmentsSealed {
                period: month(2),
                adjustments: Adjustments {
                    position: 42,
                    adjustments: vec![Adjustment {
                        period: month(1),
                        staff: staff(5),
                        branch: None,
                        customers_at_start: 0,
                        customers_served: -1,
                        new_customers: 0,
                        churned: 1,
                        upgraded: 0,
                        downgraded: 0,
                        commission: Money::ZERO,
                        points_centi: [0, -600, 0, 0],
                        composite_centi: -600,
                    }],
                    adjustments_hash: "ef".repeat(32),
                },
                proposed_by: staff(1),
                approved_by: staff(2),
                at: t,
            },
        ),
    ];
    for (hex, event_type, event) in expected {
        let decoded = crm_codec::decode(&recorded(hex, event_type)).unwrap();
        assert_eq!(decoded, AnyEvent::Appraisal(event), "{event_type}");
    }

    // Such a seal in a log with team leads: no team figures sealed, nothing else changed.
    let (h, _, _) = team_history();
    let rules = team_rules();
    runtime().block_on(async {
        let (_dir, store, mut n) = logged(h).await;
        let feb = month(2);
        let closing = derive_closing(&store, &rules, feb, store.head().0).unwrap();
        seal(
            &store,
            &mut n,
            feb,
            &closing.derivation,
            None,
            None,
            FEB + 30,
        )
        .await;
        let check = check_sealed(&store, &rules, feb).unwrap().unwrap();
        assert_eq!(check.sealed.teams, None);
        assert_eq!(check.teams(), TeamsCheck::NotSealed);
        assert_eq!(check.again.teams.teams.len(), 2);
        assert!(check.identical(), "{check:?}");
        let rows = csv_rows(&results_csv(&check.sealed).unwrap());
        assert_eq!(rows.len(), closing.derivation.results.len());
        assert!(rows
            .iter()
            .all(|r| r["record"] == "result" && r["teams_hash"].is_empty()));
        store.close().await.unwrap();
    });
}
