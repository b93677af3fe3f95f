//! The staff aggregate, stream `staff-<id>`: one per employee (customer manager 客户经理,
//! broker 经纪人, service agent, branch/region manager, HQ, auditor, operator). Joins, moves
//! between branches and teams, role changes and leaving. The role and scope recorded here are
//! what the app turns into an [`Actor`](crate::auth::Actor) for authorization.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::auth::{Role, Scope};
use crate::error::DomainError;
use crate::ids::StaffId;
use crate::values::{PersonName, ShortText};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<StaffId>,
    pub name: Option<PersonName>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub left: bool,
    /// Tokens issued before this instant are refused (a revocation).
    pub tokens_valid_from: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Join {
        staff_id: StaffId,
        name: PersonName,
        role: Role,
        scope: Scope,
        now: OffsetDateTime,
    },
    /// Move to another branch and/or team (or region, for a region manager), same role.
    Move { to: Scope, now: OffsetDateTime },
    ChangeRole {
        role: Role,
        scope: Scope,
        now: OffsetDateTime,
    },
    Leave {
        reason: ShortText,
        now: OffsetDateTime,
    },
    /// Revoke every token issued to the staff member until now (a lost device, a suspected
    /// leak, "sign out everywhere"): the API refuses them from the next request on.
    RevokeTokens {
        reason: ShortText,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    StaffJoined {
        staff_id: StaffId,
        name: PersonName,
        role: Role,
        scope: Scope,
        at: OffsetDateTime,
    },
    StaffMoved {
        staff_id: StaffId,
        from: Scope,
        to: Scope,
        at: OffsetDateTime,
    },
    StaffRoleChanged {
        staff_id: StaffId,
        role: Role,
        scope: Scope,
        at: OffsetDateTime,
    },
    StaffLeft {
        staff_id: StaffId,
        reason: ShortText,
        at: OffsetDateTime,
    },
    /// Tokens issued to the staff member before `issued_before` are no longer accepted.
    /// (Appended last: variants are encoded by index.)
    StaffTokensRevoked {
        staff_id: StaffId,
        issued_before: OffsetDateTime,
        reason: ShortText,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Staff, category: "staff", id: staff_id, events: [
    StaffJoined, StaffMoved, StaffRoleChanged, StaffLeft, StaffTokensRevoked,
]);

fn check_scope(role: Role, scope: Scope) -> Result<(), DomainError> {
    if scope.fits(role) {
        Ok(())
    } else {
        Err(DomainError::validation(
            "scope",
            format!("{scope:?} does not fit the role {role:?}"),
        ))
    }
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (Some(staff_id), Some(role), Some(scope)) = (state.id, state.role, state.scope) else {
        return match command {
            Command::Join {
                staff_id,
                name,
                role,
                scope,
                now,
            } => {
                check_scope(role, scope)?;
                Ok(vec![Event::StaffJoined {
                    staff_id,
                    name,
                    role,
                    scope,
                    at: now,
                }])
            }
            _ => Err(DomainError::NotFound {
                entity: "staff member",
            }),
        };
    };
    if state.left {
        return Err(DomainError::InvalidTransition {
            from: "left",
            command: "change a staff member",
        });
    }
    match command {
        Command::Join { .. } => Err(DomainError::AlreadyExists {
            entity: "staff member",
        }),
        Command::Move { to, now } => {
            check_scope(role, to)?;
            if to == scope {
                return Ok(vec![]);
            }
            Ok(vec![Event::StaffMoved {
                staff_id,
                from: scope,
                to,
                at: now,
            }])
        }
        Command::ChangeRole {
            role: new_role,
            scope: new_scope,
            now,
        } => {
            check_scope(new_role, new_scope)?;
            if (new_role, new_scope) == (role, scope) {
                return Ok(vec![]);
            }
            Ok(vec![Event::StaffRoleChanged {
                staff_id,
                role: new_role,
                scope: new_scope,
                at: now,
            }])
        }
        Command::Leave { reason, now } => Ok(vec![Event::StaffLeft {
            staff_id,
            reason,
            at: now,
        }]),
        Command::RevokeTokens { reason, now } => Ok(vec![Event::StaffTokensRevoked {
            staff_id,
            issued_before: now,
            reason,
            at: now,
        }]),
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::StaffJoined {
            staff_id,
            name,
            role,
            scope,
            ..
        } => {
            state.id = Some(*staff_id);
            state.name = Some(name.clone());
            state.role = Some(*role);
            state.scope = Some(*scope);
        }
        Event::StaffMoved { to, .. } => state.scope = Some(*to),
        Event::StaffRoleChanged { role, scope, .. } => {
            state.role = Some(*role);
            state.scope = Some(*scope);
        }
        Event::StaffLeft { .. } => state.left = true,
        Event::StaffTokensRevoked { issued_before, .. } => {
            state.tokens_valid_from = state.tokens_valid_from.max(Some(*issued_before));
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::ids::{BranchId, TeamId};
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

    fn sid() -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(1))
    }
    fn book(branch: u128, team: Option<u128>) -> Scope {
        Scope::Book {
            branch: BranchId::from_uuid(Uuid::from_u128(branch)),
            team: team.map(|t| TeamId::from_uuid(Uuid::from_u128(t))),
        }
    }
    fn name() -> PersonName {
        PersonName::parse("李四").expect("test literal is valid")
    }
    fn joined() -> Event {
        Event::StaffJoined {
            staff_id: sid(),
            name: name(),
            role: Role::CustomerManager,
            scope: book(10, None),
            at: NOW,
        }
    }

    #[test]
    fn it_lets_a_customer_manager_join_a_branch() {
        given::<Staff>([])
            .when(Command::Join {
                staff_id: sid(),
                name: name(),
                role: Role::CustomerManager,
                scope: book(10, None),
                now: NOW,
            })
            .then([joined()]);
    }

    #[test]
    fn it_rejects_a_scope_that_does_not_fit_the_role() {
        given::<Staff>([])
            .when(Command::Join {
                staff_id: sid(),
                name: name(),
                role: Role::BranchManager,
                scope: book(10, None),
                now: NOW,
            })
            .then_err(DomainError::validation(
                "scope",
                format!("{:?} does not fit the role BranchManager", book(10, None)),
            ));
    }

    #[test]
    fn it_moves_a_customer_manager_to_another_branch_and_team() {
        given::<Staff>([joined()])
            .when(Command::Move {
                to: book(20, Some(3)),
                now: NOW,
            })
            .then([Event::StaffMoved {
                staff_id: sid(),
                from: book(10, None),
                to: book(20, Some(3)),
                at: NOW,
            }]);
    }

    #[test]
    fn it_changes_a_role() {
        let scope = Scope::Branch {
            branch: BranchId::from_uuid(Uuid::from_u128(10)),
        };
        given::<Staff>([joined()])
            .when(Command::ChangeRole {
                role: Role::BranchManager,
                scope,
                now: NOW,
            })
            .then([Event::StaffRoleChanged {
                staff_id: sid(),
                role: Role::BranchManager,
                scope,
                at: NOW,
            }]);
    }

    #[test]
    fn it_records_leaving_and_then_refuses_changes() {
        let reason = ShortText::parse("resigned").expect("valid");
        let left = Event::StaffLeft {
            staff_id: sid(),
            reason: reason.clone(),
            at: NOW,
        };
        given::<Staff>([joined()])
            .when(Command::Leave { reason, now: NOW })
            .then([left.clone()]);
        given::<Staff>([joined(), left])
            .when(Command::Move {
                to: book(20, None),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "left",
                command: "change a staff member",
            });
    }

    #[test]
    fn it_revokes_tokens_issued_until_now_and_not_after_leaving() {
        let reason = ShortText::parse("lost phone").expect("valid");
        let revoked = Event::StaffTokensRevoked {
            staff_id: sid(),
            issued_before: NOW,
            reason: reason.clone(),
            at: NOW,
        };
        let state = given::<Staff>([joined()])
            .when(Command::RevokeTokens {
                reason: reason.clone(),
                now: NOW,
            })
            .then([revoked]);
        assert_eq!(state.tokens_valid_from, Some(NOW));
        let left = Event::StaffLeft {
            staff_id: sid(),
            reason: reason.clone(),
            at: NOW,
        };
        given::<Staff>([joined(), left])
            .when(Command::RevokeTokens { reason, now: NOW })
            .then_err(DomainError::InvalidTransition {
                from: "left",
                command: "change a staff member",
            });
    }
}
