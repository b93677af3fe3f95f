//! Versioned business rules (规则: contribution formula, tier thresholds, KPI weights, churn
//! and reminder rules), stream `rules-<id>`. A version is proposed with its TOML content and
//! the content's blake3 hash (computed by the caller: the domain has no hashing dependency),
//! approved by a second person (four eyes, 双人复核) or rejected, then activated. Activating an
//! earlier version again is a rollback. Projections rebuild under the active version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::{RuleSetId, StaffId};
use crate::values::ShortText;

/// The company keeps one rule set, so that a version number names one content for ever: a
/// proposal to another rule set than the one the log holds (`company`, the first proposed) is
/// refused. (A read side ignores one that reached the log anyway: a version number belongs to
/// the rule set that proposed it first.)
pub fn check_rule_set(company: Option<RuleSetId>, asked: RuleSetId) -> Result<(), DomainError> {
    match company {
        Some(c) if c != asked => Err(DomainError::Conflict {
            reason: format!(
                "the company's rules are rule set {c}; versions are proposed there, not in {asked}"
            ),
        }),
        _ => Ok(()),
    }
}

/// Largest accepted rule file; rules are parameters, not data.
pub const CONTENT_BYTES_MAX: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionStatus {
    Proposed,
    Approved,
    Rejected,
    Active,
    /// Was active, replaced by a later activation; may be activated again (rollback).
    Superseded,
}

impl VersionStatus {
    fn name(self) -> &'static str {
        match self {
            VersionStatus::Proposed => "proposed",
            VersionStatus::Approved => "approved",
            VersionStatus::Rejected => "rejected",
            VersionStatus::Active => "active",
            VersionStatus::Superseded => "superseded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub status: VersionStatus,
    pub content_hash: String,
    pub proposed_by: StaffId,
    pub approved_by: Option<StaffId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<RuleSetId>,
    /// Content is not kept here: decisions only need hashes and statuses.
    pub versions: BTreeMap<u32, Version>,
    pub active: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Propose {
        rule_set_id: RuleSetId,
        version: u32,
        /// blake3 of `content`, 64 lowercase hex digits.
        content_hash: String,
        /// The rules file, TOML.
        content: String,
        by: StaffId,
        now: OffsetDateTime,
    },
    Approve {
        version: u32,
        by: StaffId,
        now: OffsetDateTime,
    },
    Reject {
        version: u32,
        reason: ShortText,
        by: StaffId,
        now: OffsetDateTime,
    },
    Activate {
        version: u32,
        by: StaffId,
        now: OffsetDateTime,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Propose { .. } => "propose",
            Command::Approve { .. } => "approve",
            Command::Reject { .. } => "reject",
            Command::Activate { .. } => "activate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    RuleSetProposed {
        rule_set_id: RuleSetId,
        version: u32,
        content_hash: String,
        content: String,
        by: StaffId,
        at: OffsetDateTime,
    },
    RuleSetApproved {
        rule_set_id: RuleSetId,
        version: u32,
        by: StaffId,
        at: OffsetDateTime,
    },
    RuleSetRejected {
        rule_set_id: RuleSetId,
        version: u32,
        reason: ShortText,
        by: StaffId,
        at: OffsetDateTime,
    },
    RuleSetActivated {
        rule_set_id: RuleSetId,
        version: u32,
        /// The version it replaces, if any.
        previous: Option<u32>,
        by: StaffId,
        at: OffsetDateTime,
    },
}

crate::aggregate!(RuleSet, category: "rules", id: rule_set_id, events: [
    RuleSetProposed, RuleSetApproved, RuleSetRejected, RuleSetActivated,
]);

fn check_hash(hash: &str) -> Result<(), DomainError> {
    if hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(DomainError::validation(
            "content_hash",
            "must be 64 lowercase hex digits (blake3)",
        ))
    }
}

fn propose(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Command::Propose {
        rule_set_id,
        version,
        content_hash,
        content,
        by,
        now,
    } = command
    else {
        return Err(DomainError::NotFound { entity: "rule set" });
    };
    if state.id.is_some_and(|id| id != rule_set_id) {
        return Err(DomainError::validation(
            "rule_set_id",
            "does not match this rule set's stream",
        ));
    }
    check_hash(&content_hash)?;
    if content.trim().is_empty() {
        return Err(DomainError::validation("content", "must not be empty"));
    }
    if content.len() > CONTENT_BYTES_MAX {
        return Err(DomainError::validation(
            "content",
            format!("must be at most {CONTENT_BYTES_MAX} bytes"),
        ));
    }
    if let Some((&latest, existing)) = state.versions.last_key_value() {
        if version == latest && existing.content_hash == content_hash && existing.proposed_by == by
        {
            return Ok(vec![]);
        }
        if version <= latest {
            return Err(DomainError::conflict(format!(
                "version must be greater than {latest}"
            )));
        }
    }
    Ok(vec![Event::RuleSetProposed {
        rule_set_id,
        version,
        content_hash,
        content,
        by,
        at: now,
    }])
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Some(rule_set_id) = state.id else {
        return propose(state, command);
    };
    let name = command.name();
    let version_in = |version: u32, allowed: &[VersionStatus]| -> Result<&Version, DomainError> {
        let v = state.versions.get(&version).ok_or(DomainError::NotFound {
            entity: "rule set version",
        })?;
        if allowed.contains(&v.status) {
            Ok(v)
        } else {
            Err(DomainError::InvalidTransition {
                from: v.status.name(),
                command: name,
            })
        }
    };
    match command {
        Command::Propose { .. } => propose(state, command),
        Command::Approve { version, by, now } => {
            let v = version_in(version, &[VersionStatus::Proposed])?;
            if v.proposed_by == by {
                return Err(DomainError::FourEyesViolation { staff: by });
            }
            Ok(vec![Event::RuleSetApproved {
                rule_set_id,
                version,
                by,
                at: now,
            }])
        }
        Command::Reject {
            version,
            reason,
            by,
            now,
        } => {
            version_in(version, &[VersionStatus::Proposed])?;
            Ok(vec![Event::RuleSetRejected {
                rule_set_id,
                version,
                reason,
                by,
                at: now,
            }])
        }
        Command::Activate { version, by, now } => {
            version_in(
                version,
                &[VersionStatus::Approved, VersionStatus::Superseded],
            )?;
            Ok(vec![Event::RuleSetActivated {
                rule_set_id,
                version,
                previous: state.active,
                by,
                at: now,
            }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    let set_status = |state: &mut State, version: &u32, status| {
        if let Some(v) = state.versions.get_mut(version) {
            v.status = status;
        }
    };
    match event {
        Event::RuleSetProposed {
            rule_set_id,
            version,
            content_hash,
            by,
            ..
        } => {
            state.id = Some(*rule_set_id);
            state.versions.insert(
                *version,
                Version {
                    status: VersionStatus::Proposed,
                    content_hash: content_hash.clone(),
                    proposed_by: *by,
                    approved_by: None,
                },
            );
        }
        Event::RuleSetApproved { version, by, .. } => {
            if let Some(v) = state.versions.get_mut(version) {
                v.status = VersionStatus::Approved;
                v.approved_by = Some(*by);
            }
        }
        Event::RuleSetRejected { version, .. } => {
            set_status(&mut state, version, VersionStatus::Rejected)
        }
        Event::RuleSetActivated { version, .. } => {
            if let Some(previous) = state.active {
                set_status(&mut state, &previous, VersionStatus::Superseded);
            }
            set_status(&mut state, version, VersionStatus::Active);
            state.active = Some(*version);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

    #[test]
    fn proposals_go_to_the_company_rule_set_only() {
        let other = RuleSetId::from_uuid(Uuid::from_u128(2));
        // No rule set yet: any id founds it.
        assert_eq!(check_rule_set(None, other), Ok(()));
        assert_eq!(check_rule_set(Some(rid()), rid()), Ok(()));
        // Another rule set while the company has one: a conflict naming both.
        match check_rule_set(Some(rid()), other) {
            Err(DomainError::Conflict { reason }) => {
                assert!(reason.contains(&rid().to_string()) && reason.contains(&other.to_string()))
            }
            other => panic!("{other:?}"),
        }
    }

    fn rid() -> RuleSetId {
        RuleSetId::from_uuid(Uuid::from_u128(1))
    }
    fn sid(n: u128) -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(n))
    }
    fn hash(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }
    fn proposed(version: u32) -> Event {
        Event::RuleSetProposed {
            rule_set_id: rid(),
            version,
            content_hash: hash('a'),
            content: "[tiers]\ngold = 1000000\n".into(),
            by: sid(1),
            at: NOW,
        }
    }
    fn approved(version: u32) -> Event {
        Event::RuleSetApproved {
            rule_set_id: rid(),
            version,
            by: sid(2),
            at: NOW,
        }
    }
    fn activated(version: u32, previous: Option<u32>) -> Event {
        Event::RuleSetActivated {
            rule_set_id: rid(),
            version,
            previous,
            by: sid(2),
            at: NOW,
        }
    }
    fn propose(version: u32, content_hash: String) -> Command {
        Command::Propose {
            rule_set_id: rid(),
            version,
            content_hash,
            content: "[tiers]\ngold = 1000000\n".into(),
            by: sid(1),
            now: NOW,
        }
    }

    #[test]
    fn it_proposes_a_rule_set_version() {
        given::<RuleSet>([])
            .when(propose(1, hash('a')))
            .then([proposed(1)]);
    }

    #[test]
    fn it_rejects_a_hash_that_is_not_64_lowercase_hex_digits() {
        given::<RuleSet>([])
            .when(propose(1, hash('A')))
            .then_err(DomainError::validation(
                "content_hash",
                "must be 64 lowercase hex digits (blake3)",
            ));
    }

    #[test]
    fn it_rejects_a_version_number_that_does_not_increase() {
        given::<RuleSet>([proposed(2)])
            .when(propose(1, hash('b')))
            .then_err(DomainError::conflict("version must be greater than 2"));
    }

    #[test]
    fn it_approves_a_proposal_by_someone_else() {
        given::<RuleSet>([proposed(1)])
            .when(Command::Approve {
                version: 1,
                by: sid(2),
                now: NOW,
            })
            .then([approved(1)]);
    }

    #[test]
    fn it_rejects_approval_by_the_proposer() {
        given::<RuleSet>([proposed(1)])
            .when(Command::Approve {
                version: 1,
                by: sid(1),
                now: NOW,
            })
            .then_err(DomainError::FourEyesViolation { staff: sid(1) });
    }

    #[test]
    fn it_rejects_a_proposal() {
        let reason = ShortText::parse("weights do not sum to 100").expect("valid");
        given::<RuleSet>([proposed(1)])
            .when(Command::Reject {
                version: 1,
                reason: reason.clone(),
                by: sid(2),
                now: NOW,
            })
            .then([Event::RuleSetRejected {
                rule_set_id: rid(),
                version: 1,
                reason,
                by: sid(2),
                at: NOW,
            }]);
    }

    #[test]
    fn it_rejects_activating_an_unapproved_version() {
        given::<RuleSet>([proposed(1)])
            .when(Command::Activate {
                version: 1,
                by: sid(2),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "proposed",
                command: "activate",
            });
    }

    #[test]
    fn it_activates_an_approved_version_and_supersedes_the_previous_one() {
        let state = given::<RuleSet>([
            proposed(1),
            approved(1),
            activated(1, None),
            proposed(2),
            approved(2),
        ])
        .when(Command::Activate {
            version: 2,
            by: sid(2),
            now: NOW,
        })
        .then([activated(2, Some(1))]);
        assert_eq!(state.active, Some(2));
        assert_eq!(state.versions[&1].status, VersionStatus::Superseded);
    }

    #[test]
    fn it_rolls_back_by_activating_a_superseded_version() {
        given::<RuleSet>([
            proposed(1),
            approved(1),
            activated(1, None),
            proposed(2),
            approved(2),
            activated(2, Some(1)),
        ])
        .when(Command::Activate {
            version: 1,
            by: sid(2),
            now: NOW,
        })
        .then([activated(1, Some(2))]);
    }
}
