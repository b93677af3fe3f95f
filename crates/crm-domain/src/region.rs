//! The region aggregate (分公司 / 地区), stream `region-<id>`. Headquarters is the implicit root
//! and has no stream; branches name their region (see [`crate::branch`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::RegionId;
use crate::values::OrgName;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<RegionId>,
    pub name: Option<OrgName>,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Establish {
        region_id: RegionId,
        name: OrgName,
        now: OffsetDateTime,
    },
    Rename {
        name: OrgName,
        now: OffsetDateTime,
    },
    /// `open_branch_count` is the app's lookup of branches still open in the region.
    Close {
        open_branch_count: u32,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    RegionEstablished {
        region_id: RegionId,
        name: OrgName,
        at: OffsetDateTime,
    },
    RegionRenamed {
        region_id: RegionId,
        name: OrgName,
        at: OffsetDateTime,
    },
    RegionClosed {
        region_id: RegionId,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Region, category: "region", id: region_id, events: [
    RegionEstablished, RegionRenamed, RegionClosed,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Some(region_id) = state.id else {
        return match command {
            Command::Establish {
                region_id,
                name,
                now,
            } => Ok(vec![Event::RegionEstablished {
                region_id,
                name,
                at: now,
            }]),
            _ => Err(DomainError::NotFound { entity: "region" }),
        };
    };
    if state.closed {
        return Err(DomainError::InvalidTransition {
            from: "closed",
            command: "change a region",
        });
    }
    match command {
        Command::Establish { .. } => Err(DomainError::AlreadyExists { entity: "region" }),
        Command::Rename { name, now } => {
            if state.name.as_ref() == Some(&name) {
                return Ok(vec![]);
            }
            Ok(vec![Event::RegionRenamed {
                region_id,
                name,
                at: now,
            }])
        }
        Command::Close {
            open_branch_count,
            now,
        } => {
            if open_branch_count > 0 {
                return Err(DomainError::conflict(format!(
                    "{open_branch_count} branches are still open in the region"
                )));
            }
            Ok(vec![Event::RegionClosed { region_id, at: now }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::RegionEstablished {
            region_id, name, ..
        } => {
            state.id = Some(*region_id);
            state.name = Some(name.clone());
        }
        Event::RegionRenamed { name, .. } => state.name = Some(name.clone()),
        Event::RegionClosed { .. } => state.closed = true,
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

    fn rid() -> RegionId {
        RegionId::from_uuid(Uuid::from_u128(1))
    }
    fn name(s: &str) -> OrgName {
        OrgName::parse(s).expect("test literal is valid")
    }
    fn established() -> Event {
        Event::RegionEstablished {
            region_id: rid(),
            name: name("华南分公司"),
            at: NOW,
        }
    }

    #[test]
    fn it_establishes_a_region() {
        given::<Region>([])
            .when(Command::Establish {
                region_id: rid(),
                name: name("华南分公司"),
                now: NOW,
            })
            .then([established()]);
    }

    #[test]
    fn it_renames_a_region() {
        given::<Region>([established()])
            .when(Command::Rename {
                name: name("广东分公司"),
                now: NOW,
            })
            .then([Event::RegionRenamed {
                region_id: rid(),
                name: name("广东分公司"),
                at: NOW,
            }]);
    }

    #[test]
    fn it_rejects_closing_a_region_with_open_branches() {
        given::<Region>([established()])
            .when(Command::Close {
                open_branch_count: 2,
                now: NOW,
            })
            .then_err(DomainError::conflict(
                "2 branches are still open in the region",
            ));
    }

    #[test]
    fn it_closes_an_empty_region_and_then_refuses_changes() {
        let closed = Event::RegionClosed {
            region_id: rid(),
            at: NOW,
        };
        given::<Region>([established()])
            .when(Command::Close {
                open_branch_count: 0,
                now: NOW,
            })
            .then([closed.clone()]);
        given::<Region>([established(), closed])
            .when(Command::Rename {
                name: name("x"),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "closed",
                command: "change a region",
            });
    }
}
