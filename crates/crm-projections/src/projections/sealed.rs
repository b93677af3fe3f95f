//! A sealed appraisal period read from its stream, and checked against the log: what `crm
//! replay --period` runs and what the sealed CSV is made from. The period's stream holds a
//! handful of events; nothing here reads a read model, so a sealed period is exactly what its
//! events say whatever the fold becomes.

use crm_domain::appraisal::{self, Appraisal, AppraisalPeriod};
use crm_domain::{Aggregate, AnyEvent};
use crm_eventstore::{Direction, EventStore, StreamName, StreamStart};

use super::as_of::{derive_closing, Closing};
use crate::error::ProjectionError;
use crate::read_models::appraisal::SealedPeriod;
use crate::rules::RuleBook;

/// Events read from a period's stream at once.
const PAGE: usize = 1000;

/// The seal of `period` as its stream records it: the derivation, and the team figures and
/// adjustments sealed with it; None when the period is not sealed.
pub fn read_sealed(
    store: &EventStore,
    period: AppraisalPeriod,
) -> Result<Option<SealedPeriod>, ProjectionError> {
    let stream = StreamName::parse(crm_domain::stream_name(Appraisal::CATEGORY, &period))?;
    let mut sealed: Option<SealedPeriod> = None;
    let mut from = StreamStart::Start;
    loop {
        let page = store.read_stream(&stream, from, Direction::Forwards, PAGE)?;
        for r in &page {
            let AnyEvent::Appraisal(e) = crm_codec::decode(r)? else {
                continue;
            };
            match (e, sealed.as_mut()) {
                (
                    appraisal::Event::AppraisalPeriodSealed {
                        derivation,
                        proposed_by,
                        approved_by,
                        ..
                    },
                    _,
                ) => {
                    sealed = Some(SealedPeriod {
                        period,
                        sealed_at: r.position.0,
                        derivation,
                        teams: None,
                        adjustments: None,
                        proposed_by,
                        approved_by,
                    });
                }
                // Each follows the seal it belongs to.
                (appraisal::Event::AppraisalAdjustmentsSealed { adjustments, .. }, Some(s)) => {
                    s.adjustments = Some(adjustments);
                }
                (appraisal::Event::AppraisalTeamsSealed { teams, .. }, Some(s)) => {
                    s.teams = Some(teams);
                }
                _ => {}
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => {
                from = StreamStart::Revision(last.revision.saturating_add(1))
            }
            _ => break,
        }
    }
    Ok(sealed)
}

/// How a sealed period's team figures compare with the figures derived again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamsCheck {
    Identical,
    Differ,
    /// The period was proposed before team figures were sealed: it carries none to compare.
    NotSealed,
}

/// A sealed period beside the same closing derived again from the log up to its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealCheck {
    pub sealed: SealedPeriod,
    pub again: Closing,
}

impl SealCheck {
    pub fn results_identical(&self) -> bool {
        self.again.derivation == self.sealed.derivation
    }

    pub fn adjustments_identical(&self) -> bool {
        self.again.adjustments == self.sealed.adjustments
    }

    pub fn teams(&self) -> TeamsCheck {
        match &self.sealed.teams {
            None => TeamsCheck::NotSealed,
            Some(t) if *t == self.again.teams => TeamsCheck::Identical,
            Some(_) => TeamsCheck::Differ,
        }
    }

    /// Everything the seal carries follows from the log, byte for byte.
    pub fn identical(&self) -> bool {
        self.results_identical()
            && self.adjustments_identical()
            && self.teams() != TeamsCheck::Differ
    }
}

/// `period`'s seal checked against the log: its closing derived again at the sealed position
/// under the rules in force there (`configured` where the log activated none), compared with
/// what was sealed. None when the period is not sealed. Folds the log's prefix.
pub fn check_sealed(
    store: &EventStore,
    configured: &RuleBook,
    period: AppraisalPeriod,
) -> Result<Option<SealCheck>, ProjectionError> {
    let Some(sealed) = read_sealed(store, period)? else {
        return Ok(None);
    };
    let again = derive_closing(store, configured, period, sealed.derivation.position)?;
    Ok(Some(SealCheck { sealed, again }))
}
