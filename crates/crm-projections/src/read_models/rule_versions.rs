//! Rule versions as the log records them: proposed, approved, rejected, active, superseded.
//!
//! A version number belongs to the rule set that proposed it first: a later proposal of the
//! same number (in another rule set: the command side refuses one in the same) never replaces
//! its content, and approvals, rejections and activations of another rule set's number are
//! ignored, so no one can swap the content of an approved or active version.

use crate::model::Model;
use crm_domain::ids::{RuleSetId, StaffId};
use crm_domain::rules;
use serde::{Deserialize, Serialize};

/// A rules version as the log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleVersionRecord {
    pub rule_set_id: RuleSetId,
    pub version: u32,
    pub content_hash: String,
    pub content: String,
    /// proposed, approved, rejected, active, superseded
    pub status: String,
    pub proposed_by: StaffId,
    pub approved_by: Option<StaffId>,
    pub proposed_position: u64,
    pub activated_position: Option<u64>,
}

/// Whether `e` is about the version its number names: a first proposal of the number, or a
/// decision of the rule set that proposed it. `first` is that rule set, if any.
pub fn owns_version(first: Option<RuleSetId>, e: &rules::Event) -> bool {
    use rules::Event as E;
    match (first, e) {
        (None, E::RuleSetProposed { .. }) => true,
        // A second proposal of a number never replaces the first, even in its own set.
        (Some(_), E::RuleSetProposed { .. }) | (None, _) => false,
        (
            Some(owner),
            E::RuleSetApproved { rule_set_id, .. }
            | E::RuleSetRejected { rule_set_id, .. }
            | E::RuleSetActivated { rule_set_id, .. },
        ) => owner == *rule_set_id,
    }
}

pub(crate) fn version_of(e: &rules::Event) -> u32 {
    use rules::Event as E;
    match e {
        E::RuleSetProposed { version, .. }
        | E::RuleSetApproved { version, .. }
        | E::RuleSetRejected { version, .. }
        | E::RuleSetActivated { version, .. } => *version,
    }
}

/// Every rules version the log records, by number.
pub fn rule_versions(m: &Model) -> impl Iterator<Item = &RuleVersionRecord> {
    m.meta.rule_versions.values()
}

pub(crate) fn apply_rules(m: &mut Model, p: u64, e: &rules::Event) {
    let first = m
        .meta
        .rule_versions
        .get(&version_of(e))
        .map(|v| v.rule_set_id);
    if !owns_version(first, e) {
        return;
    }
    let touched = [Some(version_of(e)), m.meta.active_rules];
    change_version(m, p, e);
    // An activation supersedes the version active before: both may leave the proposed.
    for v in touched.into_iter().flatten() {
        m.todo_index
            .file_rule_version(v, m.meta.rule_versions.get(&v));
    }
}

fn change_version(m: &mut Model, p: u64, e: &rules::Event) {
    use rules::Event as E;
    match e {
        E::RuleSetProposed {
            rule_set_id,
            version,
            content_hash,
            content,
            by,
            ..
        } => {
            m.meta.rule_versions.insert(
                *version,
                RuleVersionRecord {
                    rule_set_id: *rule_set_id,
                    version: *version,
                    content_hash: content_hash.clone(),
                    content: content.clone(),
                    status: "proposed".into(),
                    proposed_by: *by,
                    approved_by: None,
                    proposed_position: p,
                    activated_position: None,
                },
            );
        }
        E::RuleSetApproved { version, by, .. } => {
            if let Some(v) = m.meta.rule_versions.get_mut(version) {
                v.status = "approved".into();
                v.approved_by = Some(*by);
            }
        }
        E::RuleSetRejected { version, .. } => {
            if let Some(v) = m.meta.rule_versions.get_mut(version) {
                v.status = "rejected".into();
            }
        }
        E::RuleSetActivated { version, .. } => {
            if let Some(prev) = m.meta.active_rules {
                if let Some(v) = m.meta.rule_versions.get_mut(&prev) {
                    v.status = "superseded".into();
                }
            }
            if let Some(v) = m.meta.rule_versions.get_mut(version) {
                v.status = "active".into();
                v.activated_position = Some(p);
            }
            m.meta.active_rules = Some(*version);
        }
    }
}
