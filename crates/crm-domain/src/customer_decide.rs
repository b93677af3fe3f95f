//! The customer aggregate's `decide`: each command checked against the current state and
//! turned into events (split from `customer.rs` to keep each file readable; the types, the
//! event list and `evolve` stay there).

use super::*;

fn check_profile(kind: CustomerKind, profile: &Profile) -> Result<(), DomainError> {
    match kind {
        CustomerKind::Individual => {
            if !profile.document.is_for_individuals() {
                return Err(DomainError::validation(
                    "document",
                    "an individual needs a resident ID or a passport",
                ));
            }
            if profile.name.as_str().chars().count() > PersonName::MAX_CHARS {
                return Err(DomainError::validation(
                    "name",
                    format!("must have at most {} characters", PersonName::MAX_CHARS),
                ));
            }
            if let (IdDocument::ResidentId { number }, Some(birthday)) =
                (&profile.document, profile.birthday)
            {
                if number.birth_date() != Some(birthday) {
                    return Err(DomainError::validation(
                        "birthday",
                        "does not match the resident ID number",
                    ));
                }
            }
        }
        CustomerKind::Institutional => {
            if profile.document.is_for_individuals() {
                return Err(DomainError::validation(
                    "document",
                    "an institution needs a business licence (unified social credit code)",
                ));
            }
        }
    }
    Ok(())
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    if let Some(into) = state.merged_into {
        return Err(DomainError::AlreadyMerged { into });
    }
    let (customer_id, lifecycle, kind) = match (state.id, state.lifecycle, state.kind) {
        (Some(id), Some(l), Some(k)) => (id, l, k),
        _ => {
            return match command {
                Command::Register {
                    customer_id,
                    kind,
                    profile,
                    as_prospect,
                    existing_customer_with_same_document,
                    now,
                } => {
                    if let Some(existing) = existing_customer_with_same_document {
                        if existing != customer_id {
                            return Err(DomainError::DuplicateIdentity { existing });
                        }
                    }
                    check_profile(kind, &profile)?;
                    let lifecycle = if as_prospect {
                        Lifecycle::Prospect
                    } else {
                        Lifecycle::Active
                    };
                    Ok(vec![Event::CustomerRegistered {
                        customer_id,
                        kind,
                        profile,
                        lifecycle,
                        at: now,
                    }])
                }
                _ => Err(DomainError::NotFound { entity: "customer" }),
            };
        }
    };
    let command_name = command.name();
    let invalid = || DomainError::InvalidTransition {
        from: lifecycle.name(),
        command: command_name,
    };
    if lifecycle == Lifecycle::Closed {
        return Err(invalid());
    }
    use Lifecycle::*;
    let at_in = |allowed: &[Lifecycle]| {
        if allowed.contains(&lifecycle) {
            Ok(())
        } else {
            Err(invalid())
        }
    };
    let one = |e: Event| Ok(vec![e]);
    match command {
        Command::Register { .. } => Err(DomainError::AlreadyExists { entity: "customer" }),
        Command::UpdateProfile {
            profile,
            existing_customer_with_same_document,
            now,
        } => {
            if let Some(existing) = existing_customer_with_same_document {
                if existing != customer_id {
                    return Err(DomainError::DuplicateIdentity { existing });
                }
            }
            check_profile(kind, &profile)?;
            if state.profile.as_ref() == Some(&profile) {
                return Ok(vec![]);
            }
            one(Event::ProfileUpdated {
                customer_id,
                profile,
                at: now,
            })
        }
        Command::MarkKeyCustomer { is_key, now } => {
            if state.key_customer == is_key {
                return Ok(vec![]);
            }
            one(Event::KeyCustomerMarked {
                customer_id,
                is_key,
                at: now,
            })
        }
        Command::MarkGroupCustomer { is_group, now } => {
            if kind != CustomerKind::Institutional && is_group {
                return Err(DomainError::validation(
                    "is_group",
                    "only institutions form groups",
                ));
            }
            if state.group_customer == is_group {
                return Ok(vec![]);
            }
            one(Event::GroupCustomerMarked {
                customer_id,
                is_group,
                at: now,
            })
        }
        Command::LinkGroupMember { member, now } => {
            if !state.group_customer {
                return Err(DomainError::conflict(
                    "only a group customer can link members",
                ));
            }
            if member == customer_id {
                return Err(DomainError::validation(
                    "member",
                    "a customer cannot be its own group member",
                ));
            }
            if state.group_members.contains(&member) {
                return Ok(vec![]);
            }
            one(Event::GroupMemberLinked {
                customer_id,
                member,
                at: now,
            })
        }
        Command::UnlinkGroupMember { member, now } => {
            if !state.group_members.contains(&member) {
                return Err(DomainError::NotFound {
                    entity: "group member",
                });
            }
            one(Event::GroupMemberUnlinked {
                customer_id,
                member,
                at: now,
            })
        }
        Command::Activate { now } => {
            at_in(&[Prospect])?;
            one(Event::CustomerActivated {
                customer_id,
                at: now,
            })
        }
        Command::MarkDormant { now } => {
            at_in(&[Active])?;
            one(Event::CustomerBecameDormant {
                customer_id,
                at: now,
            })
        }
        Command::MarkChurned { reason, note, now } => {
            at_in(&[Active, Dormant])?;
            one(Event::CustomerChurned {
                customer_id,
                reason,
                note,
                at: now,
            })
        }
        Command::RecordWinBackAttempt {
            by,
            channel,
            note,
            now,
        } => {
            at_in(&[Dormant, Churned])?;
            one(Event::WinBackAttempted {
                customer_id,
                by,
                channel,
                note,
                at: now,
            })
        }
        Command::FlagAtRisk {
            reason,
            note,
            by,
            now,
        } => {
            at_in(&[Active, Dormant])?;
            if let Some(flag) = &state.at_risk {
                return Err(DomainError::conflict(format!(
                    "already flagged at risk by {} ({:?}); clear the flag to change it",
                    flag.by, flag.reason
                )));
            }
            one(Event::CustomerFlaggedAtRisk {
                customer_id,
                reason,
                note,
                by,
                at: now,
            })
        }
        Command::ClearAtRiskFlag { by, now } => {
            if state.at_risk.is_none() {
                return Ok(vec![]);
            }
            one(Event::CustomerAtRiskFlagCleared {
                customer_id,
                by,
                at: now,
            })
        }
        Command::Reactivate { now } => {
            at_in(&[Dormant, Churned])?;
            one(Event::CustomerReactivated {
                customer_id,
                at: now,
            })
        }
        Command::Close { reason, now } => {
            if let Some((id, _)) = state.accounts.iter().find(|(_, a)| a.is_open()) {
                return Err(DomainError::conflict(format!(
                    "account {id} is still open; close all accounts first"
                )));
            }
            one(Event::CustomerClosed {
                customer_id,
                reason,
                at: now,
            })
        }
        Command::OpenAccount {
            account_id,
            kind,
            number,
            now,
        } => {
            at_in(&[Prospect, Active, Dormant])?;
            if state.accounts.contains_key(&account_id) {
                return Err(DomainError::AlreadyExists { entity: "account" });
            }
            one(Event::AccountOpened {
                customer_id,
                account_id,
                kind,
                number,
                at: now,
            })
        }
        Command::CloseAccount { account_id, now } => match state.accounts.get(&account_id) {
            None => Err(DomainError::NotFound { entity: "account" }),
            Some(a) if !a.is_open() => Err(DomainError::InvalidTransition {
                from: "account closed",
                command: command_name,
            }),
            Some(_) => one(Event::AccountClosed {
                customer_id,
                account_id,
                at: now,
            }),
        },
        Command::RecordSuitability {
            level,
            assessed_on,
            expires_on,
            now,
        } => {
            if expires_on <= assessed_on {
                return Err(DomainError::validation(
                    "expires_on",
                    "must be after the assessment date",
                ));
            }
            if assessed_on > now.date() {
                return Err(DomainError::validation(
                    "assessed_on",
                    "must not be in the future",
                ));
            }
            let assessment = SuitabilityAssessment {
                level,
                assessed_on,
                expires_on,
            };
            one(Event::SuitabilityAssessed {
                customer_id,
                assessment,
                at: now,
            })
        }
        Command::RecommendProduct {
            product_id,
            product_risk,
            by,
            now,
        } => {
            let customer_level = check_suitability(
                customer_id,
                state.suitability.as_ref(),
                product_risk,
                now.date(),
            )?;
            one(Event::ProductRecommended {
                customer_id,
                product_id,
                product_risk,
                customer_level,
                by,
                at: now,
            })
        }
        Command::RecordProductSale {
            product_id,
            product_risk,
            amount,
            by,
            now,
        } => {
            at_in(&[Active])?;
            if amount.minor() <= 0 {
                return Err(DomainError::validation("amount", "must be positive"));
            }
            let customer_level = check_suitability(
                customer_id,
                state.suitability.as_ref(),
                product_risk,
                now.date(),
            )?;
            one(Event::ProductSold {
                customer_id,
                product_id,
                product_risk,
                customer_level,
                amount,
                by,
                at: now,
            })
        }
        Command::Assign { to, by, now } => {
            if state.assignment.is_some() {
                return Err(DomainError::conflict(
                    "customer is already assigned; reassign instead",
                ));
            }
            one(Event::CustomerAssigned {
                customer_id,
                to,
                by,
                at: now,
            })
        }
        Command::Reassign {
            to,
            reason,
            by,
            now,
        } => {
            let from = state.assignment.ok_or(DomainError::conflict(
                "customer is not assigned yet; assign instead",
            ))?;
            if from.branch != to.branch {
                return Err(DomainError::conflict(
                    "moving a customer to another branch needs a transfer request",
                ));
            }
            if from == to {
                return Ok(vec![]);
            }
            one(Event::CustomerReassigned {
                customer_id,
                from,
                to,
                reason,
                by,
                approved_by: None,
                at: now,
            })
        }
        Command::RequestTransfer {
            to,
            reason,
            by,
            now,
        } => {
            let from = state.assignment.ok_or(DomainError::conflict(
                "customer is not assigned yet; assign instead",
            ))?;
            if from.branch == to.branch {
                return Err(DomainError::conflict("same branch: reassign instead"));
            }
            if state.pending_transfer.is_some() {
                return Err(DomainError::conflict(
                    "a transfer request is already pending",
                ));
            }
            one(Event::TransferRequested {
                customer_id,
                from,
                to,
                reason,
                by,
                at: now,
            })
        }
        Command::ApproveTransfer { approver, now } => {
            let (request, from) = pending(state)?;
            check_receiving_manager(&approver, request.to.branch)?;
            Ok(vec![
                Event::TransferApproved {
                    customer_id,
                    to: request.to,
                    by: approver.staff_id,
                    at: now,
                },
                Event::CustomerReassigned {
                    customer_id,
                    from,
                    to: request.to,
                    reason: request.reason.clone(),
                    by: request.requested_by,
                    approved_by: Some(approver.staff_id),
                    at: now,
                },
            ])
        }
        Command::RejectTransfer {
            approver,
            reason,
            now,
        } => {
            let (request, _) = pending(state)?;
            check_receiving_manager(&approver, request.to.branch)?;
            one(Event::TransferRejected {
                customer_id,
                to: request.to,
                reason,
                by: approver.staff_id,
                at: now,
            })
        }
        Command::MergeInto { survivor, now } => {
            if survivor == customer_id {
                return Err(DomainError::validation(
                    "survivor",
                    "a customer cannot be merged into itself",
                ));
            }
            one(Event::CustomerMergedInto {
                customer_id,
                survivor,
                at: now,
            })
        }
        Command::AbsorbMerged {
            merged,
            accounts,
            now,
        } => {
            if merged == customer_id {
                return Err(DomainError::validation(
                    "merged",
                    "a customer cannot absorb itself",
                ));
            }
            if state.absorbed.contains(&merged) {
                return Ok(vec![]);
            }
            if let Some((id, _)) = accounts
                .iter()
                .find(|(id, _)| state.accounts.contains_key(id))
            {
                return Err(DomainError::conflict(format!(
                    "account {id} already belongs to the survivor"
                )));
            }
            one(Event::CustomerMergeAbsorbed {
                customer_id,
                merged,
                accounts,
                at: now,
            })
        }
        Command::RecordBankSegment { segment, now } => {
            super::bank::record_segment(state, customer_id, kind, segment, now)
        }
        Command::MarkMultiBank { is_multi_bank, now } => {
            if state.multi_bank == is_multi_bank {
                return Ok(vec![]);
            }
            one(Event::MultiBankCustomerMarked {
                customer_id,
                is_multi_bank,
                at: now,
            })
        }
        Command::RecordExternalFact { record, now } => {
            super::bank::record_external_fact(state, customer_id, record, now)
        }
    }
}

/// Plans a merge (客户合并) of `merged` into `survivor` from both customers' current states:
/// returns the command for the survivor's stream (`AbsorbMerged`, carrying the merged
/// customer's open accounts) and the one for the merged customer's stream (`MergeInto`). The
/// app appends both; each stream's `decide` re-checks its own side.
pub fn plan_merge(
    survivor: &State,
    merged: &State,
    now: OffsetDateTime,
) -> Result<(Command, Command), DomainError> {
    let (Some(survivor_id), Some(merged_id)) = (survivor.id, merged.id) else {
        return Err(DomainError::NotFound { entity: "customer" });
    };
    for state in [survivor, merged] {
        if let Some(into) = state.merged_into {
            return Err(DomainError::AlreadyMerged { into });
        }
    }
    if survivor_id == merged_id {
        return Err(DomainError::validation(
            "merged",
            "a customer cannot absorb itself",
        ));
    }
    if survivor.kind != merged.kind {
        return Err(DomainError::conflict(
            "an individual and an institution cannot be the same party",
        ));
    }
    let accounts = merged
        .accounts
        .iter()
        .filter(|(_, a)| a.is_open())
        .map(|(id, a)| (*id, a.clone()))
        .collect();
    Ok((
        Command::AbsorbMerged {
            merged: merged_id,
            accounts,
            now,
        },
        Command::MergeInto {
            survivor: survivor_id,
            now,
        },
    ))
}

fn pending(state: &State) -> Result<(&TransferRequest, Assignment), DomainError> {
    match (&state.pending_transfer, state.assignment) {
        (Some(r), Some(a)) => Ok((r, a)),
        _ => Err(DomainError::NotFound {
            entity: "transfer request",
        }),
    }
}

/// Only a branch manager of the receiving branch may decide a transfer into it.
fn check_receiving_manager(approver: &Actor, to_branch: BranchId) -> Result<(), DomainError> {
    if approver.role == Role::BranchManager
        && approver.scope == (Scope::Branch { branch: to_branch })
    {
        Ok(())
    } else {
        Err(DomainError::Forbidden {
            missing_right: Right::ApproveTransfer,
        })
    }
}
