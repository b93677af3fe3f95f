//! Sealed appraisal periods (考核期结算), stream `appraisal-<period>`: the results pay is decided
//! from. Closing a month or a quarter is proposed by one person with the results the read side
//! derived from the log up to a position under the rules then in force, and sealed by a second
//! (four eyes, 双人复核) who approves exactly those results (by their hash). A sealed period is
//! never changed: anyone can derive it again from the log up to its position and must get the
//! same bytes. Facts about a sealed period recorded after its seal never change it: when the
//! next period is closed, what they change in the earlier sealed periods is derived at the
//! same position and recorded with the proposal as adjustments (考核调整), approved with it by
//! their own hash, so pay catches up once, openly, and nothing sealed moves. A team lead is
//! paid on their team's figure, so a proposal also records the team figures derived with the
//! results (团队考核), approved by their own hash too.
//!
//! The results and their hash are computed by the caller (the domain folds no read model and has
//! no hashing dependency); the domain keeps the workflow honest.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::error::{DomainError, ValidationError};
use crate::ids::{BranchId, StaffId, StreamId, TeamId};
use crate::Money;

/// An appraisal period: a calendar month or quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AppraisalPeriod {
    Month { year: i32, month: u8 },
    Quarter { year: i32, quarter: u8 },
}

impl AppraisalPeriod {
    /// `2024-02` or `2024-Q1`.
    pub fn parse(input: &str) -> Result<AppraisalPeriod, ValidationError> {
        let err = || ValidationError::new("period", "must be YYYY-MM or YYYY-Qn (1 to 4)");
        let (year, rest) = input.trim().split_once('-').ok_or_else(err)?;
        let year: i32 = year.parse().map_err(|_| err())?;
        if !(2000..=2999).contains(&year) {
            return Err(ValidationError::new("period", "year must be 2000 to 2999"));
        }
        if let Some(q) = rest.strip_prefix(['Q', 'q']) {
            let quarter: u8 = q.parse().map_err(|_| err())?;
            if !(1..=4).contains(&quarter) {
                return Err(err());
            }
            return Ok(AppraisalPeriod::Quarter { year, quarter });
        }
        if rest.len() != 2 {
            return Err(err());
        }
        let month: u8 = rest.parse().map_err(|_| err())?;
        if !(1..=12).contains(&month) {
            return Err(err());
        }
        Ok(AppraisalPeriod::Month { year, month })
    }

    /// The first and last month (1–12) of the period, in its year.
    pub fn months(self) -> (i32, u8, u8) {
        match self {
            AppraisalPeriod::Month { year, month } => (year, month, month),
            AppraisalPeriod::Quarter { year, quarter } => (year, quarter * 3 - 2, quarter * 3),
        }
    }

    /// The day after the period's last day.
    pub fn end(self) -> Option<Date> {
        let (year, _, last) = self.months();
        let (y, m) = if last == 12 {
            (year + 1, 1)
        } else {
            (year, last + 1)
        };
        Date::from_calendar_date(y, Month::try_from(m).ok()?, 1).ok()
    }
}

impl fmt::Display for AppraisalPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppraisalPeriod::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            AppraisalPeriod::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
        }
    }
}

/// `appraisal-202402`, `appraisal-2024q1`: no hyphen inside the id.
impl StreamId for AppraisalPeriod {
    fn stream_id(&self) -> String {
        match self {
            AppraisalPeriod::Month { year, month } => format!("{year:04}{month:02}"),
            AppraisalPeriod::Quarter { year, quarter } => format!("{year:04}q{quarter}"),
        }
    }
}

/// One appraised person's sealed result: the figures and the points pay is decided from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedResult {
    pub staff: StaffId,
    pub branch: Option<BranchId>,
    pub customers_at_start: i64,
    pub customers_served: i64,
    pub new_customers: i64,
    pub churned: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    pub commission: Money,
    /// Points of the four terms (new, churn, upgrade, profitability), in hundredths.
    pub points_centi: [i64; 4],
    pub composite_centi: i64,
    pub rank_in_company: u32,
}

/// A correction to one person's sealed result in an earlier period: what the facts recorded
/// since that period was sealed (and since any earlier adjustment) change in it, as the period
/// is derived again under the rules it was sealed with. Every figure is a difference (now less
/// as settled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The sealed period corrected.
    pub period: AppraisalPeriod,
    pub staff: StaffId,
    pub branch: Option<BranchId>,
    pub customers_at_start: i64,
    pub customers_served: i64,
    pub new_customers: i64,
    pub churned: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    pub commission: Money,
    pub points_centi: [i64; 4],
    pub composite_centi: i64,
}

/// The adjustments a proposal records: derived at the proposal's own position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustments {
    /// The log position they were derived at: the proposal's derivation position.
    pub position: u64,
    /// By period corrected, then by staff member.
    pub adjustments: Vec<Adjustment>,
    /// blake3 of the adjustments' canonical encoding, lowercase hex (computed by the caller).
    pub adjustments_hash: String,
}

/// One team's sealed figure (团队考核): the four measures over the union of its members' books,
/// scored with the team lead's weights against the company's teams. A team lead's pay follows
/// it, so it is sealed with the people's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedTeamResult {
    pub team: TeamId,
    /// The team's name when derived (names change; the id does not).
    pub name: String,
    pub lead: Option<StaffId>,
    /// The staff whose books make the team's figure: its members and its lead.
    pub members: Vec<StaffId>,
    pub customers_at_start: i64,
    pub customers_served: i64,
    pub new_customers: i64,
    pub churned: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    pub commission: Money,
    /// Points of the four terms (new, churn, upgrade, profitability), in hundredths.
    pub points_centi: [i64; 4],
    pub composite_centi: i64,
    /// Rank among the company's teams by composite.
    pub rank: u32,
}

/// The team figures a proposal records: derived with its results, at the same position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamFigures {
    /// The log position they were derived at: the proposal's derivation position.
    pub position: u64,
    /// In rank order; empty when no team lead is appraised.
    pub teams: Vec<SealedTeamResult>,
    /// blake3 of the teams' canonical encoding, lowercase hex (computed by the caller).
    pub teams_hash: String,
}

/// What a proposal or a seal says was derived: where, under which rules, and the results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derivation {
    /// The log position the results were derived at (everything up to it, nothing after).
    pub position: u64,
    pub rules_version: u32,
    pub rules_hash: String,
    pub results: Vec<SealedResult>,
    /// blake3 of the results' canonical encoding, lowercase hex (computed by the caller).
    pub results_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub period: Option<AppraisalPeriod>,
    pub proposal: Option<(StaffId, Derivation)>,
    /// The adjustments recorded with the current proposal, if it corrects earlier periods.
    pub proposal_adjustments: Option<Adjustments>,
    /// The team figures recorded with the current proposal (None for a proposal recorded
    /// before team figures were sealed).
    pub proposal_teams: Option<TeamFigures>,
    pub sealed: Option<Derivation>,
    pub sealed_adjustments: Option<Adjustments>,
    pub sealed_teams: Option<TeamFigures>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Propose closing the period with these results. A later proposal replaces an earlier
    /// one (facts arrived meanwhile) until the period is sealed.
    ProposeSeal {
        period: AppraisalPeriod,
        derivation: Derivation,
        /// The team figures derived with the results (always recorded, none or some, so a
        /// seal says whether it carries them).
        teams: TeamFigures,
        /// Corrections to earlier sealed periods derived at the same position (none: `None`
        /// or empty).
        adjustments: Option<Adjustments>,
        by: StaffId,
        now: OffsetDateTime,
    },
    /// Seal the proposed results, named by their hash, and the team figures and adjustments
    /// proposed with them, each named by theirs when there are any: the approver approves
    /// what they saw.
    ApproveSeal {
        period: AppraisalPeriod,
        results_hash: String,
        adjustments_hash: Option<String>,
        teams_hash: Option<String>,
        by: StaffId,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    AppraisalSealProposed {
        period: AppraisalPeriod,
        derivation: Derivation,
        by: StaffId,
        at: OffsetDateTime,
    },
    AppraisalPeriodSealed {
        period: AppraisalPeriod,
        derivation: Derivation,
        proposed_by: StaffId,
        approved_by: StaffId,
        at: OffsetDateTime,
    },
    /// Recorded right after the `AppraisalSealProposed` it belongs to.
    AppraisalAdjustmentsProposed {
        period: AppraisalPeriod,
        adjustments: Adjustments,
        by: StaffId,
        at: OffsetDateTime,
    },
    /// Recorded right after the `AppraisalPeriodSealed` it belongs to.
    AppraisalAdjustmentsSealed {
        period: AppraisalPeriod,
        adjustments: Adjustments,
        proposed_by: StaffId,
        approved_by: StaffId,
        at: OffsetDateTime,
    },
    /// Recorded with every proposal since team figures are sealed, after the
    /// `AppraisalSealProposed` it belongs to (and its adjustments).
    AppraisalTeamsProposed {
        period: AppraisalPeriod,
        teams: TeamFigures,
        by: StaffId,
        at: OffsetDateTime,
    },
    /// Recorded with the seal of a proposal that carried team figures, after the
    /// `AppraisalPeriodSealed` it belongs to (and its adjustments).
    AppraisalTeamsSealed {
        period: AppraisalPeriod,
        teams: TeamFigures,
        proposed_by: StaffId,
        approved_by: StaffId,
        at: OffsetDateTime,
    },
}

crate::aggregate!(
    Appraisal,
    category: "appraisal",
    id: period,
    events: [
        AppraisalSealProposed,
        AppraisalPeriodSealed,
        AppraisalAdjustmentsProposed,
        AppraisalAdjustmentsSealed,
        AppraisalTeamsProposed,
        AppraisalTeamsSealed,
    ]
);

/// Business dates are in China Standard Time.
fn business_offset() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn check_hash(field: &'static str, hash: &str) -> Result<(), DomainError> {
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(DomainError::validation(
            field,
            "must be 64 lowercase hex digits",
        ));
    }
    Ok(())
}

/// Adjustments worth recording: derived where the results were, each about an earlier period.
fn check_adjustments(
    period: AppraisalPeriod,
    derivation: &Derivation,
    adjustments: Option<Adjustments>,
) -> Result<Option<Adjustments>, DomainError> {
    let Some(a) = adjustments.filter(|a| !a.adjustments.is_empty()) else {
        return Ok(None);
    };
    check_hash("adjustmentsHash", &a.adjustments_hash)?;
    if a.position != derivation.position {
        return Err(DomainError::validation(
            "adjustments.position",
            format!(
                "adjustments derived at position {} go with results derived there, not at {}",
                a.position, derivation.position
            ),
        ));
    }
    if let Some(bad) = a.adjustments.iter().find(|x| x.period == period) {
        return Err(DomainError::validation(
            "adjustments.period",
            format!(
                "{} is the period being closed, not an earlier one",
                bad.period
            ),
        ));
    }
    Ok(Some(a))
}

/// Team figures worth recording: derived where the results were, each team once.
fn check_teams(derivation: &Derivation, teams: &TeamFigures) -> Result<(), DomainError> {
    check_hash("teamsHash", &teams.teams_hash)?;
    if teams.position != derivation.position {
        return Err(DomainError::validation(
            "teams.position",
            format!(
                "team figures derived at position {} go with results derived there, not at {}",
                teams.position, derivation.position
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = teams.teams.iter().find(|t| !seen.insert(t.team)) {
        return Err(DomainError::validation(
            "teams.team",
            format!("team {} has one figure, not two", twice.team),
        ));
    }
    Ok(())
}

/// The approver names the proposal's adjustments by their hash, and names none when there are
/// none.
fn check_named_adjustments(state: &State, named: Option<&str>) -> Result<(), DomainError> {
    match (&state.proposal_adjustments, named) {
        (None, None) => Ok(()),
        (Some(a), Some(h)) if a.adjustments_hash == h => Ok(()),
        (Some(a), named) => Err(DomainError::conflict(format!(
            "the proposal corrects earlier sealed periods with adjustments {}, not {}: read \
             the proposal again",
            a.adjustments_hash,
            named.unwrap_or("none")
        ))),
        (None, Some(h)) => Err(DomainError::conflict(format!(
            "the proposal has no adjustments, not {h}: read the proposal again"
        ))),
    }
}

/// The approver names the proposal's team figures by their hash when there are teams, and
/// names none when there are none (no team lead appraised, or a proposal recorded before team
/// figures were sealed).
fn check_named_teams(state: &State, named: Option<&str>) -> Result<(), DomainError> {
    let proposed = state
        .proposal_teams
        .as_ref()
        .filter(|t| !t.teams.is_empty());
    match (proposed, named) {
        (None, None) => Ok(()),
        (Some(t), Some(h)) if t.teams_hash == h => Ok(()),
        (Some(t), named) => Err(DomainError::conflict(format!(
            "the proposal's team figures are {}, not {}: read the proposal again",
            t.teams_hash,
            named.unwrap_or("none")
        ))),
        (None, Some(h)) => Err(DomainError::conflict(format!(
            "the proposal has no team figures, not {h}: read the proposal again"
        ))),
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::ProposeSeal {
            period,
            derivation,
            teams,
            adjustments,
            by,
            now,
        } => {
            if let Some(sealed) = &state.sealed {
                return Err(DomainError::conflict(format!(
                    "period {period} was sealed at log position {}; a sealed period never \
                     changes",
                    sealed.position
                )));
            }
            let today = now.to_offset(business_offset()).date();
            if period.end().is_none_or(|end| today < end) {
                return Err(DomainError::validation(
                    "period",
                    format!("{period} has not ended yet (today is {today})"),
                ));
            }
            check_hash("resultsHash", &derivation.results_hash)?;
            check_teams(&derivation, &teams)?;
            let adjustments = check_adjustments(period, &derivation, adjustments)?;
            let mut events = vec![Event::AppraisalSealProposed {
                period,
                derivation,
                by,
                at: now,
            }];
            if let Some(adjustments) = adjustments {
                events.push(Event::AppraisalAdjustmentsProposed {
                    period,
                    adjustments,
                    by,
                    at: now,
                });
            }
            events.push(Event::AppraisalTeamsProposed {
                period,
                teams,
                by,
                at: now,
            });
            Ok(events)
        }
        Command::ApproveSeal {
            period,
            results_hash,
            adjustments_hash,
            teams_hash,
            by,
            now,
        } => {
            if state.sealed.is_some() {
                return Err(DomainError::conflict(format!(
                    "period {period} is sealed already"
                )));
            }
            let Some((proposed_by, derivation)) = &state.proposal else {
                return Err(DomainError::NotFound {
                    entity: "appraisal seal proposal",
                });
            };
            if *proposed_by == by {
                return Err(DomainError::FourEyesViolation { staff: by });
            }
            if derivation.results_hash != results_hash {
                return Err(DomainError::conflict(format!(
                    "the proposal's results are {}, not {results_hash}: read the proposal again",
                    derivation.results_hash
                )));
            }
            check_named_adjustments(state, adjustments_hash.as_deref())?;
            check_named_teams(state, teams_hash.as_deref())?;
            let mut events = vec![Event::AppraisalPeriodSealed {
                period,
                derivation: derivation.clone(),
                proposed_by: *proposed_by,
                approved_by: by,
                at: now,
            }];
            if let Some(a) = &state.proposal_adjustments {
                events.push(Event::AppraisalAdjustmentsSealed {
                    period,
                    adjustments: a.clone(),
                    proposed_by: *proposed_by,
                    approved_by: by,
                    at: now,
                });
            }
            if let Some(t) = &state.proposal_teams {
                events.push(Event::AppraisalTeamsSealed {
                    period,
                    teams: t.clone(),
                    proposed_by: *proposed_by,
                    approved_by: by,
                    at: now,
                });
            }
            Ok(events)
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::AppraisalSealProposed {
            period,
            derivation,
            by,
            ..
        } => {
            state.period = Some(*period);
            state.proposal = Some((*by, derivation.clone()));
            state.proposal_adjustments = None;
            state.proposal_teams = None;
        }
        Event::AppraisalPeriodSealed {
            period, derivation, ..
        } => {
            state.period = Some(*period);
            state.proposal = None;
            state.proposal_adjustments = None;
            state.proposal_teams = None;
            state.sealed = Some(derivation.clone());
        }
        Event::AppraisalAdjustmentsProposed { adjustments, .. } => {
            if state.proposal.is_some() {
                state.proposal_adjustments = Some(adjustments.clone());
            }
        }
        Event::AppraisalAdjustmentsSealed { adjustments, .. } => {
            state.sealed_adjustments = Some(adjustments.clone());
        }
        Event::AppraisalTeamsProposed { teams, .. } => {
            if state.proposal.is_some() {
                state.proposal_teams = Some(teams.clone());
            }
        }
        Event::AppraisalTeamsSealed { teams, .. } => {
            state.sealed_teams = Some(teams.clone());
        }
    }
    state
}

#[cfg(test)]
#[path = "appraisal_tests.rs"]
mod tests;
