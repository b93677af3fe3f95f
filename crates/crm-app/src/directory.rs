//! The command side's own lookup tables: which customer holds an identity document, which
//! region each branch belongs to, each staff member's standing (role, scope, left) and the
//! company's rule set. Commands need them to be exact at the moment of deciding
//! (a duplicate identity must be refused even if it was registered a millisecond ago), so the
//! app keeps them itself, caught up from the log before each use, rather than asking a read
//! model that may lag.

use std::collections::HashMap;

use crm_domain::auth::{OrgTree, Standing};
use crm_domain::ids::{CustomerId, RuleSetId, StaffId};
use crm_domain::values::IdDocument;
use crm_domain::{branch, customer, rules, staff, AnyEvent};
use crm_eventstore::{EventStore, Filter, Position, Subscription};

use crate::error::AppError;

/// Events read per catch-up step.
const SYNC_BATCH: usize = 4096;

/// The customer events [`Directory::apply`] reads (the others of the category are skipped
/// undecoded); a test checks that every customer event it matches is named here.
pub(crate) const CUSTOMER_TYPES: &[&str] =
    &["CustomerRegistered", "ProfileUpdated", "CustomerMergedInto"];

#[derive(Debug)]
pub(crate) struct Directory {
    documents: HashMap<IdDocument, CustomerId>,
    document_of: HashMap<CustomerId, IdDocument>,
    org: OrgTree,
    staff: HashMap<StaffId, Standing>,
    /// The first rule set the log records: the company's.
    rule_set: Option<RuleSetId>,
    /// Events applied since the directory was made (for the start-up log).
    pub applied: u64,
    customers: Subscription,
    branches: Subscription,
    staff_events: Subscription,
    rule_events: Subscription,
}

impl Directory {
    pub fn new(store: &EventStore) -> Directory {
        Directory {
            documents: HashMap::new(),
            document_of: HashMap::new(),
            org: OrgTree::default(),
            staff: HashMap::new(),
            rule_set: None,
            applied: 0,
            customers: store.subscribe(Position(0), Filter::Category("customer".into())),
            branches: store.subscribe(Position(0), Filter::Category("branch".into())),
            staff_events: store.subscribe(Position(0), Filter::Category("staff".into())),
            rule_events: store.subscribe(Position(0), Filter::Category("rules".into())),
        }
    }

    /// Reads everything committed since the last call.
    pub fn sync(&mut self) -> Result<(), AppError> {
        loop {
            let mut batch = self.customers.try_next_batch(SYNC_BATCH)?;
            batch.extend(self.branches.try_next_batch(SYNC_BATCH)?);
            batch.extend(self.staff_events.try_next_batch(SYNC_BATCH)?);
            batch.extend(self.rule_events.try_next_batch(SYNC_BATCH)?);
            if batch.is_empty() {
                return Ok(());
            }
            for recorded in &batch {
                // Of a customer's events only these change the directory: the rest (contacts,
                // assignments, lifecycle, … most of the category) are not decoded at all.
                if recorded.category() == "customer"
                    && !CUSTOMER_TYPES.contains(&recorded.event_type.as_str())
                {
                    continue;
                }
                let event = crm_codec::decode(recorded)?;
                self.apply(&event);
                self.applied += 1;
            }
        }
    }

    fn apply(&mut self, event: &AnyEvent) {
        match event {
            AnyEvent::Customer(customer::Event::CustomerRegistered {
                customer_id,
                profile,
                ..
            })
            | AnyEvent::Customer(customer::Event::ProfileUpdated {
                customer_id,
                profile,
                ..
            }) => {
                if let Some(old) = self
                    .document_of
                    .insert(*customer_id, profile.document.clone())
                {
                    if self.documents.get(&old) == Some(customer_id) {
                        self.documents.remove(&old);
                    }
                }
                self.documents
                    .insert(profile.document.clone(), *customer_id);
            }
            AnyEvent::Customer(customer::Event::CustomerMergedInto {
                customer_id,
                survivor,
                ..
            }) => {
                // The duplicate's document now identifies the survivor.
                if let Some(doc) = self.document_of.remove(customer_id) {
                    self.documents.insert(doc, *survivor);
                }
            }
            AnyEvent::Branch(branch::Event::BranchOpened {
                branch_id,
                region_id,
                ..
            }) => {
                self.org.branch_regions.insert(*branch_id, *region_id);
            }
            AnyEvent::Branch(branch::Event::BranchMovedToRegion { branch_id, to, .. }) => {
                self.org.branch_regions.insert(*branch_id, *to);
            }
            AnyEvent::Branch(
                branch::Event::TeamFormed { team_id, lead, .. }
                | branch::Event::TeamLeadChanged { team_id, lead, .. },
            ) => match lead {
                Some(lead) => {
                    self.org.team_leads.insert(*team_id, *lead);
                }
                None => {
                    self.org.team_leads.remove(team_id);
                }
            },
            AnyEvent::Branch(branch::Event::TeamDissolved { team_id, .. }) => {
                self.org.team_leads.remove(team_id);
            }
            AnyEvent::Staff(staff::Event::StaffJoined {
                staff_id,
                role,
                scope,
                ..
            })
            | AnyEvent::Staff(staff::Event::StaffRoleChanged {
                staff_id,
                role,
                scope,
                ..
            }) => {
                let left = self.staff.get(staff_id).is_some_and(|s| s.left);
                self.staff.insert(
                    *staff_id,
                    Standing {
                        role: *role,
                        scope: *scope,
                        left,
                    },
                );
            }
            AnyEvent::Staff(staff::Event::StaffMoved { staff_id, to, .. }) => {
                if let Some(s) = self.staff.get_mut(staff_id) {
                    s.scope = *to;
                }
            }
            AnyEvent::Staff(staff::Event::StaffLeft { staff_id, .. }) => {
                if let Some(s) = self.staff.get_mut(staff_id) {
                    s.left = true;
                }
            }
            AnyEvent::Rules(rules::Event::RuleSetProposed { rule_set_id, .. }) => {
                self.rule_set.get_or_insert(*rule_set_id);
            }
            _ => {}
        }
    }

    pub fn customer_with_document(&self, document: &IdDocument) -> Option<CustomerId> {
        self.documents.get(document).copied()
    }

    pub fn org(&self) -> &OrgTree {
        &self.org
    }

    /// A staff member's standing as the log records it now.
    pub fn standing(&self, staff: &StaffId) -> Option<Standing> {
        self.staff.get(staff).copied()
    }

    /// The company's rule set: the first the log records.
    pub fn rule_set(&self) -> Option<RuleSetId> {
        self.rule_set
    }
}

#[cfg(test)]
mod tests {
    use super::CUSTOMER_TYPES;

    /// Every customer event `apply` matches is one the sync decodes: a new arm without its
    /// name in `CUSTOMER_TYPES` would never see its events.
    #[test]
    fn every_customer_event_the_directory_applies_is_decoded() {
        let source = include_str!("directory.rs");
        let body = &source[source.find("fn apply(").unwrap_or(0)..];
        let body = &body[..body
            .find("pub fn customer_with_document")
            .unwrap_or(body.len())];
        let marker = "AnyEvent::Customer(customer::Event::";
        let matched: Vec<&str> = body
            .match_indices(marker)
            .map(|(i, _)| {
                let rest = &body[i + marker.len()..];
                let end = rest
                    .find(|c: char| !c.is_alphanumeric() && c != '_')
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect();
        assert!(matched.len() >= 3, "found the arms: {matched:?}");
        for name in matched {
            assert!(
                CUSTOMER_TYPES.contains(&name),
                "{name} is not in CUSTOMER_TYPES"
            );
        }
    }
}
