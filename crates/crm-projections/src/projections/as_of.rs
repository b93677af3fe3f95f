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
