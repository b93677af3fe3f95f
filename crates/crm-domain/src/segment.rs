//! Saved segments (客户分群), stream `segment-<id>`: a named filter over the customer list,
//! saved so a campaign can aim at it and its target list can be frozen at launch.
//!
//! Why an aggregate of its own rather than part of the campaign: a segment is defined once
//! and reused by many campaigns (and previewed before any campaign exists), so it has its own
//! identity and history; a campaign only names the segment it aims at
//! (`campaign::Event::CampaignAimed`) and freezes what the segment selected when it launches.
//!
//! The filter is data: the same criteria the customer list takes (`customers(filter:)`),
//! evaluated by the read side. The domain validates its shape; which customers it selects is
//! the read side's answer at the time it is asked.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::customer::{CustomerKind, Lifecycle};
use crate::error::DomainError;
use crate::ids::{BranchId, RegionId, SegmentId, StaffId, TeamId};
use crate::money::Money;
use crate::values::OrgName;

/// 客户等级, as a criterion (the read side derives a customer's tier from the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    Standard,
    Silver,
    Gold,
    Diamond,
}

/// 风险偏好 inferred from trading, as a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskPreference {
    Conservative,
    Balanced,
    Aggressive,
    Unknown,
}

/// 流失风险, as a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChurnRisk {
    Low,
    Medium,
    High,
    Churned,
}

/// The longest `text` criterion, in characters.
pub const TEXT_MAX_CHARS: usize = 100;

/// Which customers a segment selects: every criterion given narrows. The customer list's
/// filter without its `asOf`: a saved segment is evaluated on the day it is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub branch: Option<BranchId>,
    pub region: Option<RegionId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub tier: Option<Tier>,
    pub risk_preference: Option<RiskPreference>,
    pub churn_risk: Option<ChurnRisk>,
    pub lifecycle: Option<Lifecycle>,
    pub kind: Option<CustomerKind>,
    pub key_customer: Option<bool>,
    /// Assets of at least this much.
    pub min_assets: Option<Money>,
    /// Part of the name, the name in pinyin, or the start of the customer id.
    pub text: Option<String>,
}

impl Filter {
    /// Checks the filter's shape; the error names the filter field at fault (as the API spells
    /// it, under `filter.`).
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.min_assets.is_some_and(|m| m.is_negative()) {
            return Err(DomainError::validation(
                "filter.minAssets",
                "must not be negative",
            ));
        }
        if let Some(text) = &self.text {
            let t = text.trim();
            if t.is_empty() {
                return Err(DomainError::validation(
                    "filter.text",
                    "must not be blank (leave it out to match every name)",
                ));
            }
            if t.chars().count() > TEXT_MAX_CHARS {
                return Err(DomainError::validation(
                    "filter.text",
                    format!("must have at most {TEXT_MAX_CHARS} characters"),
                ));
            }
            if t.chars().any(char::is_control) {
                return Err(DomainError::validation(
                    "filter.text",
                    "must not contain control characters",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<SegmentId>,
    pub name: Option<OrgName>,
    /// The branch whose campaigns use it (None: company-wide); fixed at the first save.
    pub branch: Option<BranchId>,
    pub filter: Filter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Saves a new segment, or redefines (renames, refilters) a saved one.
    Save {
        segment_id: SegmentId,
        name: OrgName,
        /// None: company-wide.
        branch: Option<BranchId>,
        filter: Filter,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    SegmentSaved {
        segment_id: SegmentId,
        name: OrgName,
        branch: Option<BranchId>,
        filter: Filter,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Segment, category: "segment", id: segment_id, events: [SegmentSaved]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::Save {
            segment_id,
            name,
            branch,
            filter,
            now,
        } => {
            filter.validate()?;
            let filter = Filter {
                text: filter.text.map(|t| t.trim().to_string()),
                ..filter
            };
            if state.id.is_some() {
                if state.branch != branch {
                    return Err(DomainError::validation(
                        "branchId",
                        "a saved segment keeps the branch it was first saved for",
                    ));
                }
                if state.name.as_ref() == Some(&name) && state.filter == filter {
                    return Ok(vec![]);
                }
            }
            Ok(vec![Event::SegmentSaved {
                segment_id,
                name,
                branch,
                filter,
                at: now,
            }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::SegmentSaved {
            segment_id,
            name,
            branch,
            filter,
            ..
        } => {
            if state.id.is_none() {
                state.id = Some(*segment_id);
                state.branch = *branch;
            }
            state.name = Some(name.clone());
            state.filter = filter.clone();
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

    fn id() -> SegmentId {
        SegmentId::from_uuid(Uuid::from_u128(7))
    }
    fn branch() -> BranchId {
        BranchId::from_uuid(Uuid::from_u128(8))
    }
    fn name(n: &str) -> OrgName {
        OrgName::parse(n).expect("valid")
    }
    fn gold() -> Filter {
        Filter {
            tier: Some(Tier::Gold),
            min_assets: Some(Money::from_minor(1_000_000_000)),
            ..Filter::default()
        }
    }
    fn save(filter: Filter, branch: Option<BranchId>) -> Command {
        Command::Save {
            segment_id: id(),
            name: name("金卡客户"),
            branch,
            filter,
            now: NOW,
        }
    }
    fn saved(filter: Filter) -> Event {
        Event::SegmentSaved {
            segment_id: id(),
            name: name("金卡客户"),
            branch: Some(branch()),
            filter,
            at: NOW,
        }
    }

    #[test]
    fn it_saves_a_named_filter() {
        given::<Segment>([])
            .when(save(gold(), Some(branch())))
            .then([saved(gold())]);
    }

    #[test]
    fn it_redefines_a_saved_segment_and_ignores_an_unchanged_save() {
        let broader = Filter {
            tier: Some(Tier::Silver),
            ..Filter::default()
        };
        given::<Segment>([saved(gold())])
            .when(save(broader.clone(), Some(branch())))
            .then([saved(broader)]);
        given::<Segment>([saved(gold())])
            .when(save(gold(), Some(branch())))
            .then([]);
    }

    #[test]
    fn it_keeps_the_branch_of_the_first_save() {
        given::<Segment>([saved(gold())])
            .when(save(gold(), None))
            .then_err(DomainError::validation(
                "branchId",
                "a saved segment keeps the branch it was first saved for",
            ));
    }

    #[test]
    fn it_rejects_negative_minimum_assets_naming_the_field() {
        let bad = Filter {
            min_assets: Some(Money::from_minor(-1)),
            ..Filter::default()
        };
        given::<Segment>([])
            .when(save(bad, Some(branch())))
            .then_err(DomainError::validation(
                "filter.minAssets",
                "must not be negative",
            ));
    }

    #[test]
    fn it_rejects_a_blank_or_overlong_text_naming_the_field() {
        let blank = Filter {
            text: Some("  ".into()),
            ..Filter::default()
        };
        given::<Segment>([])
            .when(save(blank, None))
            .then_err(DomainError::validation(
                "filter.text",
                "must not be blank (leave it out to match every name)",
            ));
        let long = Filter {
            text: Some("张".repeat(TEXT_MAX_CHARS + 1)),
            ..Filter::default()
        };
        given::<Segment>([])
            .when(save(long, None))
            .then_err(DomainError::validation(
                "filter.text",
                format!("must have at most {TEXT_MAX_CHARS} characters"),
            ));
    }

    #[test]
    fn it_stores_the_text_trimmed() {
        let padded = Filter {
            text: Some(" zs ".into()),
            ..Filter::default()
        };
        let trimmed = Filter {
            text: Some("zs".into()),
            ..Filter::default()
        };
        given::<Segment>([])
            .when(save(padded, None))
            .then([Event::SegmentSaved {
                segment_id: id(),
                name: name("金卡客户"),
                branch: None,
                filter: trimmed,
                at: NOW,
            }]);
    }
}
