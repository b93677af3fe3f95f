//! Given/when/then tests of the appraisal aggregate (`super`): proposing and sealing a
//! period, its adjustments and its team figures.
use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::testing::given;

const NOW: OffsetDateTime = datetime!(2024-03-01 09:00 +8);
const FEB: AppraisalPeriod = AppraisalPeriod::Month {
    year: 2024,
    month: 2,
};

fn sid(n: u128) -> StaffId {
    StaffId::from_uuid(Uuid::from_u128(n))
}

fn derivation(hash: char) -> Derivation {
    Derivation {
        position: 42,
        rules_version: 1,
        rules_hash: "r".repeat(64),
        results: vec![SealedResult {
            staff: sid(9),
            branch: None,
            customers_at_start: 5,
            customers_served: 5,
            new_customers: 2,
            churned: 2,
            upgraded: 2,
            downgraded: 0,
            commission: Money::ZERO,
            points_centi: [1800, 0, 2700, 0],
            composite_centi: 4500,
            rank_in_company: 2,
        }],
        results_hash: hash.to_string().repeat(64),
    }
}

fn proposed(by: u128) -> Event {
    Event::AppraisalSealProposed {
        period: FEB,
        derivation: derivation('a'),
        by: sid(by),
        at: NOW,
    }
}

fn team(n: u128, composite_centi: i64, rank: u32) -> SealedTeamResult {
    SealedTeamResult {
        team: TeamId::from_uuid(Uuid::from_u128(n)),
        name: "甲组".into(),
        lead: Some(sid(9)),
        members: vec![sid(9), sid(8)],
        customers_at_start: 7,
        customers_served: 8,
        new_customers: 3,
        churned: 2,
        upgraded: 3,
        downgraded: 0,
        commission: Money::ZERO,
        points_centi: [1000, 0, 3000, 0],
        composite_centi,
        rank,
    }
}

/// One team's figure, hashed as `hash`.
fn teams(hash: char) -> TeamFigures {
    TeamFigures {
        position: 42,
        teams: vec![team(0x7EA0, 4000, 1)],
        teams_hash: hash.to_string().repeat(64),
    }
}

/// No team lead appraised: the figures are recorded, and empty.
fn no_teams() -> TeamFigures {
    TeamFigures {
        position: 42,
        teams: vec![],
        teams_hash: "e".repeat(64),
    }
}

fn teams_proposed(by: u128, teams: TeamFigures) -> Event {
    Event::AppraisalTeamsProposed {
        period: FEB,
        teams,
        by: sid(by),
        at: NOW,
    }
}

#[test]
fn periods_parse_and_name_their_streams() {
    assert_eq!(AppraisalPeriod::parse("2024-02"), Ok(FEB));
    assert_eq!(
        AppraisalPeriod::parse("2024-q1"),
        Ok(AppraisalPeriod::Quarter {
            year: 2024,
            quarter: 1
        })
    );
    for bad in ["2024-13", "2024-Q5", "24-01", "2024-1", "2024", "x-01"] {
        assert!(AppraisalPeriod::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(FEB.stream_id(), "202402");
    assert_eq!(FEB.to_string(), "2024-02");
    assert_eq!(
        AppraisalPeriod::Quarter {
            year: 2024,
            quarter: 4
        }
        .end(),
        Some(time::macros::date!(2025 - 01 - 01))
    );
}

#[test]
fn a_period_is_proposed_once_it_has_ended_and_sealed_by_a_second_person() {
    given::<Appraisal>([])
        .when(Command::ProposeSeal {
            period: FEB,
            derivation: derivation('a'),
            teams: no_teams(),
            adjustments: None,
            by: sid(1),
            now: NOW,
        })
        .then([proposed(1), teams_proposed(1, no_teams())]);
    given::<Appraisal>([proposed(1)])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then([Event::AppraisalPeriodSealed {
            period: FEB,
            derivation: derivation('a'),
            proposed_by: sid(1),
            approved_by: sid(2),
            at: NOW,
        }]);
}

#[test]
fn the_proposer_does_not_seal_and_the_approver_approves_what_they_saw() {
    given::<Appraisal>([proposed(1)])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(1),
            now: NOW,
        })
        .then_err(DomainError::FourEyesViolation { staff: sid(1) });
    given::<Appraisal>([proposed(1)])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "b".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then_err(DomainError::conflict(format!(
            "the proposal's results are {}, not {}: read the proposal again",
            "a".repeat(64),
            "b".repeat(64)
        )));
    given::<Appraisal>([])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then_err(DomainError::NotFound {
            entity: "appraisal seal proposal",
        });
}

#[test]
fn a_sealed_period_never_changes_and_an_open_one_cannot_be_proposed() {
    let sealed = Event::AppraisalPeriodSealed {
        period: FEB,
        derivation: derivation('a'),
        proposed_by: sid(1),
        approved_by: sid(2),
        at: NOW,
    };
    given::<Appraisal>([proposed(1), sealed.clone()])
        .when(Command::ProposeSeal {
            period: FEB,
            derivation: derivation('c'),
            teams: no_teams(),
            adjustments: None,
            by: sid(3),
            now: NOW,
        })
        .then_err(DomainError::conflict(
            "period 2024-02 was sealed at log position 42; a sealed period never changes",
        ));
    given::<Appraisal>([proposed(1), sealed])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then_err(DomainError::conflict("period 2024-02 is sealed already"));
    given::<Appraisal>([])
        .when(Command::ProposeSeal {
            period: AppraisalPeriod::Month {
                year: 2024,
                month: 3,
            },
            derivation: derivation('a'),
            teams: no_teams(),
            adjustments: None,
            by: sid(1),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "period",
            "2024-03 has not ended yet (today is 2024-03-01)",
        ));
    given::<Appraisal>([])
        .when(Command::ProposeSeal {
            period: FEB,
            derivation: derivation('z'),
            teams: no_teams(),
            adjustments: None,
            by: sid(1),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "resultsHash",
            "must be 64 lowercase hex digits",
        ));
}

fn adjustment(period: AppraisalPeriod, new_customers: i64) -> Adjustment {
    Adjustment {
        period,
        staff: sid(9),
        branch: None,
        customers_at_start: 0,
        customers_served: 0,
        new_customers,
        churned: 0,
        upgraded: 0,
        downgraded: 0,
        commission: Money::ZERO,
        points_centi: [600, 0, 0, 0],
        composite_centi: 600,
    }
}

const JAN: AppraisalPeriod = AppraisalPeriod::Month {
    year: 2024,
    month: 1,
};

fn adjustments(hash: char) -> Adjustments {
    Adjustments {
        position: 42,
        adjustments: vec![adjustment(JAN, 1)],
        adjustments_hash: hash.to_string().repeat(64),
    }
}

fn adjustments_proposed(by: u128) -> Event {
    Event::AppraisalAdjustmentsProposed {
        period: FEB,
        adjustments: adjustments('c'),
        by: sid(by),
        at: NOW,
    }
}

#[test]
fn corrections_to_an_earlier_sealed_period_are_proposed_and_sealed_with_the_results() {
    given::<Appraisal>([])
        .when(Command::ProposeSeal {
            period: FEB,
            derivation: derivation('a'),
            teams: no_teams(),
            adjustments: Some(adjustments('c')),
            by: sid(1),
            now: NOW,
        })
        .then([
            proposed(1),
            adjustments_proposed(1),
            teams_proposed(1, no_teams()),
        ]);
    // No corrections: nothing but the results.
    for none in [
        None,
        Some(Adjustments {
            adjustments: vec![],
            ..adjustments('c')
        }),
    ] {
        given::<Appraisal>([])
            .when(Command::ProposeSeal {
                period: FEB,
                derivation: derivation('a'),
                teams: no_teams(),
                adjustments: none,
                by: sid(1),
                now: NOW,
            })
            .then([proposed(1), teams_proposed(1, no_teams())]);
    }
    given::<Appraisal>([proposed(1), adjustments_proposed(1)])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: Some("c".repeat(64)),
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then([
            Event::AppraisalPeriodSealed {
                period: FEB,
                derivation: derivation('a'),
                proposed_by: sid(1),
                approved_by: sid(2),
                at: NOW,
            },
            Event::AppraisalAdjustmentsSealed {
                period: FEB,
                adjustments: adjustments('c'),
                proposed_by: sid(1),
                approved_by: sid(2),
                at: NOW,
            },
        ]);
}

#[test]
fn the_approver_names_the_corrections_they_saw() {
    let with = [proposed(1), adjustments_proposed(1)];
    given::<Appraisal>(with.clone())
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then_err(DomainError::conflict(format!(
            "the proposal corrects earlier sealed periods with adjustments {}, not none: \
             read the proposal again",
            "c".repeat(64)
        )));
    given::<Appraisal>(with)
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: Some("d".repeat(64)),
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then_err(DomainError::conflict(format!(
            "the proposal corrects earlier sealed periods with adjustments {}, not {}: \
             read the proposal again",
            "c".repeat(64),
            "d".repeat(64)
        )));
    given::<Appraisal>([proposed(1)])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: Some("d".repeat(64)),
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then_err(DomainError::conflict(format!(
            "the proposal has no adjustments, not {}: read the proposal again",
            "d".repeat(64)
        )));
    // A later proposal without corrections replaces one with them.
    given::<Appraisal>([proposed(1), adjustments_proposed(1), proposed(3)])
        .when(Command::ApproveSeal {
            period: FEB,
            results_hash: "a".repeat(64),
            adjustments_hash: None,
            teams_hash: None,
            by: sid(2),
            now: NOW,
        })
        .then([Event::AppraisalPeriodSealed {
            period: FEB,
            derivation: derivation('a'),
            proposed_by: sid(3),
            approved_by: sid(2),
            at: NOW,
        }]);
}

#[test]
fn corrections_are_derived_with_the_results_and_about_earlier_periods() {
    let propose = |a: Adjustments| Command::ProposeSeal {
        period: FEB,
        derivation: derivation('a'),
        teams: no_teams(),
        adjustments: Some(a),
        by: sid(1),
        now: NOW,
    };
    given::<Appraisal>([])
        .when(propose(Adjustments {
            position: 41,
            ..adjustments('c')
        }))
        .then_err(DomainError::validation(
            "adjustments.position",
            "adjustments derived at position 41 go with results derived there, not at 42",
        ));
    given::<Appraisal>([])
        .when(propose(Adjustments {
            adjustments: vec![adjustment(FEB, 1)],
            ..adjustments('c')
        }))
        .then_err(DomainError::validation(
            "adjustments.period",
            "2024-02 is the period being closed, not an earlier one",
        ));
    given::<Appraisal>([])
        .when(propose(Adjustments {
            adjustments_hash: "C".repeat(64),
            ..adjustments('c')
        }))
        .then_err(DomainError::validation(
            "adjustmentsHash",
            "must be 64 lowercase hex digits",
        ));
}

#[test]
fn team_figures_are_proposed_and_sealed_with_the_results_named_by_their_hash() {
    given::<Appraisal>([])
        .when(Command::ProposeSeal {
            period: FEB,
            derivation: derivation('a'),
            teams: teams('b'),
            adjustments: None,
            by: sid(1),
            now: NOW,
        })
        .then([proposed(1), teams_proposed(1, teams('b'))]);
    let approve = |teams_hash: Option<String>| Command::ApproveSeal {
        period: FEB,
        results_hash: "a".repeat(64),
        adjustments_hash: None,
        teams_hash,
        by: sid(2),
        now: NOW,
    };
    let with = [proposed(1), teams_proposed(1, teams('b'))];
    given::<Appraisal>(with.clone())
        .when(approve(Some("b".repeat(64))))
        .then([
            Event::AppraisalPeriodSealed {
                period: FEB,
                derivation: derivation('a'),
                proposed_by: sid(1),
                approved_by: sid(2),
                at: NOW,
            },
            Event::AppraisalTeamsSealed {
                period: FEB,
                teams: teams('b'),
                proposed_by: sid(1),
                approved_by: sid(2),
                at: NOW,
            },
        ]);
    // The approver names the team figures they saw.
    given::<Appraisal>(with.clone())
        .when(approve(None))
        .then_err(DomainError::conflict(format!(
            "the proposal's team figures are {}, not none: read the proposal again",
            "b".repeat(64)
        )));
    given::<Appraisal>(with)
        .when(approve(Some("d".repeat(64))))
        .then_err(DomainError::conflict(format!(
            "the proposal's team figures are {}, not {}: read the proposal again",
            "b".repeat(64),
            "d".repeat(64)
        )));
    // No team lead appraised: nothing to name, and the seal still says so.
    let none = [proposed(1), teams_proposed(1, no_teams())];
    given::<Appraisal>(none.clone())
        .when(approve(Some("e".repeat(64))))
        .then_err(DomainError::conflict(format!(
            "the proposal has no team figures, not {}: read the proposal again",
            "e".repeat(64)
        )));
    given::<Appraisal>(none).when(approve(None)).then([
        Event::AppraisalPeriodSealed {
            period: FEB,
            derivation: derivation('a'),
            proposed_by: sid(1),
            approved_by: sid(2),
            at: NOW,
        },
        Event::AppraisalTeamsSealed {
            period: FEB,
            teams: no_teams(),
            proposed_by: sid(1),
            approved_by: sid(2),
            at: NOW,
        },
    ]);
    // A proposal recorded before team figures were sealed is sealed without them.
    given::<Appraisal>([proposed(1)])
        .when(approve(Some("b".repeat(64))))
        .then_err(DomainError::conflict(format!(
            "the proposal has no team figures, not {}: read the proposal again",
            "b".repeat(64)
        )));
    // A later proposal replaces the earlier one's team figures.
    given::<Appraisal>([
        proposed(1),
        teams_proposed(1, teams('b')),
        proposed(3),
        teams_proposed(3, teams('c')),
    ])
    .when(approve(Some("b".repeat(64))))
    .then_err(DomainError::conflict(format!(
        "the proposal's team figures are {}, not {}: read the proposal again",
        "c".repeat(64),
        "b".repeat(64)
    )));
}

#[test]
fn team_figures_are_derived_with_the_results_each_team_once() {
    let propose = |t: TeamFigures| Command::ProposeSeal {
        period: FEB,
        derivation: derivation('a'),
        teams: t,
        adjustments: None,
        by: sid(1),
        now: NOW,
    };
    given::<Appraisal>([])
        .when(propose(TeamFigures {
            position: 41,
            ..teams('b')
        }))
        .then_err(DomainError::validation(
            "teams.position",
            "team figures derived at position 41 go with results derived there, not at 42",
        ));
    given::<Appraisal>([])
        .when(propose(TeamFigures {
            teams_hash: "B".repeat(64),
            ..teams('b')
        }))
        .then_err(DomainError::validation(
            "teamsHash",
            "must be 64 lowercase hex digits",
        ));
    given::<Appraisal>([])
        .when(propose(TeamFigures {
            teams: vec![team(0x7EA0, 4000, 1), team(0x7EA0, 3000, 2)],
            ..teams('b')
        }))
        .then_err(DomainError::validation(
            "teams.team",
            format!(
                "team {} has one figure, not two",
                TeamId::from_uuid(Uuid::from_u128(0x7EA0))
            ),
        ));
}
