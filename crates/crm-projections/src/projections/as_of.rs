//! Replay as of an instant: the read models as the log knew them then, folded from the log's
//! prefix under the rules in force at the time (auditors' questions, seals).

use std::sync::atomic::AtomicBool;

use crm_domain::ids::{BranchId, CustomerId, StaffId};
use crm_eventstore::EventStore;
use time::OffsetDateTime;

use super::{CustomerAsOf, Projections};
use crate::error::ProjectionError;
use crate::replay;
use crate::rules::RuleBook;
use crate::views::{
    self, BankDashboard, BankScope, BranchDashboard, BranchPeriod, Period, StaffPerformance,
};

impl Projections {
    /// The read models as the log knew them at `instant` (recorded time), under the rules in
    /// force then. Folds the log's prefix: seconds per million events.
    pub fn model_as_of(
        &self,
        instant: OffsetDateTime,
        customer: Option<CustomerId>,
    ) -> Result<replay::ModelAsOf, ProjectionError> {
        self.model_as_of_unless(instant, customer, &AtomicBool::new(false))
    }

    /// [`Projections::model_as_of`] that stops with [`ProjectionError::Cancelled`] once
    /// `cancel` is set.
    pub fn model_as_of_unless(
        &self,
        instant: OffsetDateTime,
        customer: Option<CustomerId>,
        cancel: &AtomicBool,
    ) -> Result<replay::ModelAsOf, ProjectionError> {
        let position = replay::position_at(&self.inner.store, instant)?;
        replay::model_at_leaving(
            &self.inner.store,
            position,
            &self.inner.configured,
            customer,
            crate::checkpoints::GAP,
            cancel,
        )
    }

    /// A customer's archive and event timeline as of `instant`, from the log alone.
    pub fn customer_as_of(
        &self,
        id: CustomerId,
        instant: OffsetDateTime,
    ) -> Result<CustomerAsOf, ProjectionError> {
        let at = self.model_as_of(instant, Some(id))?;
        let day = at.model.meta.log_date;
        Ok(CustomerAsOf {
            instant,
            position: at.position,
            rules_version: at.rules.version,
            rules_hash: at.rules.hash.clone(),
            archive: views::customer_360(&at.model, &at.rules, id, day),
            timeline: at.timeline,
        })
    }

    /// The results of appraisal `period` derived from the log up to `position` (everything up
    /// to it, nothing after) under the rules in force there: what a seal proposal records, and
    /// what anyone re-deriving a sealed period must get byte for byte. Folds the log's prefix.
    pub fn derive_seal(
        &self,
        period: crm_domain::appraisal::AppraisalPeriod,
        position: u64,
    ) -> Result<crm_domain::appraisal::Derivation, ProjectionError> {
        derive_seal(&self.inner.store, &self.inner.configured, period, position)
    }

    /// [`Projections::derive_seal`] with the team figures and the adjustments to earlier
    /// sealed periods derived at the same position ([`derive_closing`]): what a seal proposal
    /// records.
    pub fn derive_closing(
        &self,
        period: crm_domain::appraisal::AppraisalPeriod,
        position: u64,
    ) -> Result<Closing, ProjectionError> {
        derive_closing(&self.inner.store, &self.inner.configured, period, position)
    }

    /// A staff member's performance in `period` as the log knew it at `instant`; the replay
    /// stops (Cancelled) once `cancel` is set.
    pub fn staff_performance_as_of(
        &self,
        staff: StaffId,
        period: Period,
        instant: OffsetDateTime,
        cancel: &AtomicBool,
    ) -> Result<Option<StaffPerformance>, ProjectionError> {
        let at = self.model_as_of_unless(instant, None, cancel)?;
        Ok(views::staff_performance(
            &at.model, &at.rules, staff, period,
        ))
    }

    /// A branch dashboard as the log knew it at `instant`; the replay stops (Cancelled) once
    /// `cancel` is set.
    pub fn branch_dashboard_as_of(
        &self,
        branch: BranchId,
        period: BranchPeriod,
        instant: OffsetDateTime,
        cancel: &AtomicBool,
    ) -> Result<Option<BranchDashboard>, ProjectionError> {
        let at = self.model_as_of_unless(instant, None, cancel)?;
        Ok(views::branch_dashboard(
            &at.model, &at.rules, branch, period,
        ))
    }

    /// A bank dashboard (an outlet's, a region's, the company's) as the log knew it at
    /// `instant`; the replay stops (Cancelled) once `cancel` is set.
    pub fn bank_dashboard_as_of(
        &self,
        scope: BankScope,
        period: BranchPeriod,
        instant: OffsetDateTime,
        cancel: &AtomicBool,
    ) -> Result<Option<BankDashboard>, ProjectionError> {
        let at = self.model_as_of_unless(instant, None, cancel)?;
        Ok(views::bank_dashboard(
            &at.model,
            Some(&at.rules),
            scope,
            period,
        ))
    }
}

/// What the log held about sealed appraisal periods up to a position: each sealed period's
/// derivation, and the adjustments to it sealed with later periods.
#[derive(Debug, Default)]
struct SealedPeriods {
    /// Period → (the position the seal was recorded at, its derivation, the adjustments
    /// sealed to it since).
    periods: std::collections::BTreeMap<
        crm_domain::appraisal::AppraisalPeriod,
        (
            u64,
            crm_domain::appraisal::Derivation,
            Vec<crm_domain::appraisal::Adjustment>,
        ),
    >,
}

fn sealed_periods(store: &EventStore, position: u64) -> Result<SealedPeriods, ProjectionError> {
    use crm_domain::appraisal::{Appraisal, Event as E};
    use crm_domain::{Aggregate, AnyEvent};
    use crm_eventstore::{AllStart, Direction, Filter};
    let filter = Filter::Category(Appraisal::CATEGORY.into());
    let mut out = SealedPeriods::default();
    let mut late: Vec<crm_domain::appraisal::Adjustment> = Vec::new();
    let mut from = AllStart::Start;
    'read: loop {
        let page = store.read_filtered(&filter, from, Direction::Forwards, 1000)?;
        let Some(last) = page.last().map(|r| r.position) else {
            break;
        };
        for r in &page {
            if r.position.0 > position {
                break 'read;
            }
            match crm_codec::decode(r)? {
                AnyEvent::Appraisal(E::AppraisalPeriodSealed {
                    period, derivation, ..
                }) => {
                    out.periods
                        .insert(period, (r.position.0, derivation, Vec::new()));
                }
                AnyEvent::Appraisal(E::AppraisalAdjustmentsSealed { adjustments, .. }) => {
                    late.extend(adjustments.adjustments);
                }
                _ => {}
            }
        }
        if page.len() < 1000 {
            break;
        }
        from = AllStart::Position(last.next());
    }
    for a in late {
        if let Some((_, _, adjustments)) = out.periods.get_mut(&a.period) {
            adjustments.push(a);
        }
    }
    Ok(out)
}

/// What closing a period records, all derived at one position: the results, the team figures
/// and the adjustments to earlier sealed periods (None when nothing moved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub derivation: crm_domain::appraisal::Derivation,
    pub teams: crm_domain::appraisal::TeamFigures,
    pub adjustments: Option<crm_domain::appraisal::Adjustments>,
}

/// A seal proposal's derivation at `position` (as [`derive_seal`]), the team figures derived
/// with its results, and the adjustments to earlier sealed periods derived at the same
/// position: each of the
/// [`ADJUSTED_PERIODS_MAX`](crate::read_models::appraisal::ADJUSTED_PERIODS_MAX) periods sealed
/// most recently is derived again under the rules it was sealed with (the proposal's own fold
/// when they are the same rules) and compared with its sealed results plus the adjustments to
/// it sealed since; `None` when nothing moved.
pub fn derive_closing(
    store: &EventStore,
    configured: &RuleBook,
    period: crm_domain::appraisal::AppraisalPeriod,
    position: u64,
) -> Result<Closing, ProjectionError> {
    use crate::read_models::appraisal::{
        adjustments_hash, results_hash, seal_figures, seal_results, teams_hash, Settled,
        ADJUSTED_PERIODS_MAX,
    };
    let at = replay::model_at(store, position, configured, None)?;
    let (results, teams) = seal_figures(&at.model, &at.rules, period);
    let derivation = crm_domain::appraisal::Derivation {
        position: at.position,
        rules_version: at.rules.version,
        rules_hash: at.rules.hash.clone(),
        results_hash: results_hash(&results)?,
        results,
    };
    let teams = crm_domain::appraisal::TeamFigures {
        position: at.position,
        teams_hash: teams_hash(&teams)?,
        teams,
    };
    let sealed = sealed_periods(store, at.position)?;
    let mut recent: Vec<_> = sealed
        .periods
        .iter()
        .filter(|(p, _)| **p != period)
        .collect();
    recent.sort_by_key(|(_, (sealed_at, _, _))| std::cmp::Reverse(*sealed_at));
    recent.truncate(ADJUSTED_PERIODS_MAX);
    recent.sort_by_key(|(p, _)| **p);
    // Folds under other rules than the proposal's, one per rule set.
    let mut others: std::collections::BTreeMap<String, replay::ModelAsOf> = Default::default();
    let never = AtomicBool::new(false);
    let mut adjustments = Vec::new();
    for (q, (_, d, since)) in recent {
        let rules = replay::rules_at(store, d.position, configured)?;
        if rules.hash != d.rules_hash {
            // Sealed under the configured rules file, which has changed since: the period
            // cannot be derived under its own rules again, so it gets no adjustment (and
            // `crm replay --period` reports the same).
            tracing::warn!(period = %q, sealed = %d.rules_hash, now = %rules.hash,
                "a sealed period's rules are no longer what the log yields: no adjustment derived");
            continue;
        }
        let now = if rules.hash == at.rules.hash {
            seal_results(&at.model, &at.rules, *q)
        } else {
            let hash = rules.hash.clone();
            if !others.contains_key(&hash) {
                let model = replay::model_under(
                    store,
                    at.position,
                    rules,
                    None,
                    crate::checkpoints::GAP,
                    &never,
                )?;
                others.insert(hash.clone(), model);
            }
            match others.get(&hash) {
                Some(m) => seal_results(&m.model, &m.rules, *q),
                None => continue,
            }
        };
        let mut settled = Settled::sealed(*q, &d.results);
        for a in since {
            settled.add(a);
        }
        adjustments.extend(settled.adjustments(*q, &now));
    }
    let adjustments = if adjustments.is_empty() {
        None
    } else {
        Some(crm_domain::appraisal::Adjustments {
            position: at.position,
            adjustments_hash: adjustments_hash(&adjustments)?,
            adjustments,
        })
    };
    Ok(Closing {
        derivation,
        teams,
        adjustments,
    })
}

/// [`Projections::derive_seal`] without a running read side (`crm replay --period`).
pub fn derive_seal(
    store: &EventStore,
    configured: &RuleBook,
    period: crm_domain::appraisal::AppraisalPeriod,
    position: u64,
) -> Result<crm_domain::appraisal::Derivation, ProjectionError> {
    let at = replay::model_at(store, position, configured, None)?;
    let results = crate::read_models::appraisal::seal_results(&at.model, &at.rules, period);
    Ok(crm_domain::appraisal::Derivation {
        position: at.position,
        rules_version: at.rules.version,
        rules_hash: at.rules.hash.clone(),
        results_hash: crate::read_models::appraisal::results_hash(&results)?,
        results,
    })
}
