//! The access log of personal data (个人信息查阅记录), stream `access-<staff id>`: every time a
//! staff member is shown a customer's identity or phone number in full, that view is recorded,
//! so an auditor can ask who saw whose personal data, and when. An attempt to register (or
//! change a profile to) an identity document another customer holds is recorded here too: the
//! answer tells whether that document is registered, which is itself personal data.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::{CustomerId, StaffId};

/// What a customer was looked up by at the point of contact (`customerLookup`). The value
/// itself is not recorded: the log would become a second copy of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LookupKey {
    IdDocument,
    Phone,
    AccountNumber,
}

/// Which personal data was shown in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PiiField {
    IdDocument,
    Phone,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub staff_id: Option<StaffId>,
    pub views: u64,
    pub duplicate_attempts: u64,
    pub lookups: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RecordPiiView {
        staff_id: StaffId,
        customer_id: CustomerId,
        fields: Vec<PiiField>,
        /// Where it was shown (the API operation), for the auditor.
        purpose: String,
        now: OffsetDateTime,
    },
    /// Recorded by the command side when it refuses a command because another customer holds
    /// the identity document.
    RecordDuplicateIdentityAttempt {
        staff_id: StaffId,
        /// The customer who holds the document.
        holder: CustomerId,
        /// The customer the refused command was for.
        attempted_for: CustomerId,
        /// Whether the refusal named the holder (the staff member may read them).
        disclosed: bool,
        /// The refused command.
        purpose: String,
        now: OffsetDateTime,
    },
    /// A lookup by identity document, phone or account number (a counter or call-centre
    /// "who is calling"): recorded whether or not it found anyone, since the answer tells
    /// whether the number belongs to a customer.
    RecordLookup {
        staff_id: StaffId,
        by: LookupKey,
        /// The customers shown (those the staff member may read), none when none.
        found: Vec<CustomerId>,
        /// Why, as the staff member gave it.
        purpose: String,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    PiiViewed {
        staff_id: StaffId,
        customer_id: CustomerId,
        fields: Vec<PiiField>,
        purpose: String,
        at: OffsetDateTime,
    },
    /// A command by `staff_id` was refused because `holder` already holds the identity
    /// document it gave. (Appended last: variants are encoded by index.)
    DuplicateIdentityAttempted {
        staff_id: StaffId,
        holder: CustomerId,
        attempted_for: CustomerId,
        disclosed: bool,
        purpose: String,
        at: OffsetDateTime,
    },
    /// A staff member looked a customer up by a number. (Appended last: variants are encoded
    /// by index.)
    CustomerLookedUp {
        staff_id: StaffId,
        by: LookupKey,
        found: Vec<CustomerId>,
        purpose: String,
        at: OffsetDateTime,
    },
}

crate::aggregate!(
    AccessLog,
    category: "access",
    id: staff_id,
    events: [PiiViewed, DuplicateIdentityAttempted, CustomerLookedUp],
    journal: true
);

/// Longest purpose text kept.
const PURPOSE_LEN_MAX: usize = 200;

fn check_owner(state: &State, staff_id: StaffId) -> Result<(), DomainError> {
    if state.staff_id.is_some_and(|s| s != staff_id) {
        return Err(DomainError::validation(
            "staffId",
            "belongs to another access log",
        ));
    }
    Ok(())
}

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::RecordLookup {
            staff_id,
            by,
            found,
            purpose,
            now,
        } => {
            check_owner(state, staff_id)?;
            let purpose: String = purpose.trim().chars().take(PURPOSE_LEN_MAX).collect();
            if purpose.is_empty() {
                return Err(DomainError::validation(
                    "purpose",
                    "say why the customer is looked up",
                ));
            }
            Ok(vec![Event::CustomerLookedUp {
                staff_id,
                by,
                found,
                purpose,
                at: now,
            }])
        }
        Command::RecordDuplicateIdentityAttempt {
            staff_id,
            holder,
            attempted_for,
            disclosed,
            purpose,
            now,
        } => {
            check_owner(state, staff_id)?;
            Ok(vec![Event::DuplicateIdentityAttempted {
                staff_id,
                holder,
                attempted_for,
                disclosed,
                purpose: purpose.chars().take(PURPOSE_LEN_MAX).collect(),
                at: now,
            }])
        }
        Command::RecordPiiView {
            staff_id,
            customer_id,
            fields,
            purpose,
            now,
        } => {
            check_owner(state, staff_id)?;
            if fields.is_empty() {
                return Err(DomainError::validation(
                    "fields",
                    "name at least one field shown",
                ));
            }
            let purpose: String = purpose.chars().take(PURPOSE_LEN_MAX).collect();
            Ok(vec![Event::PiiViewed {
                staff_id,
                customer_id,
                fields,
                purpose,
                at: now,
            }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::PiiViewed { staff_id, .. } => {
            state.staff_id = Some(*staff_id);
            state.views += 1;
        }
        Event::DuplicateIdentityAttempted { staff_id, .. } => {
            state.staff_id = Some(*staff_id);
            state.duplicate_attempts += 1;
        }
        Event::CustomerLookedUp { staff_id, .. } => {
            state.staff_id = Some(*staff_id);
            state.lookups += 1;
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

    fn view(fields: Vec<PiiField>) -> Command {
        Command::RecordPiiView {
            staff_id: StaffId::from_uuid(Uuid::from_u128(1)),
            customer_id: CustomerId::from_uuid(Uuid::from_u128(2)),
            fields,
            purpose: "customerHistory".into(),
            now: NOW,
        }
    }

    #[test]
    fn it_records_a_lookup_with_its_purpose_and_refuses_one_without() {
        let lookup = |purpose: &str| Command::RecordLookup {
            staff_id: StaffId::from_uuid(Uuid::from_u128(1)),
            by: LookupKey::Phone,
            found: vec![CustomerId::from_uuid(Uuid::from_u128(2))],
            purpose: purpose.into(),
            now: NOW,
        };
        given::<AccessLog>([])
            .when(lookup(" 来电 "))
            .then([Event::CustomerLookedUp {
                staff_id: StaffId::from_uuid(Uuid::from_u128(1)),
                by: LookupKey::Phone,
                found: vec![CustomerId::from_uuid(Uuid::from_u128(2))],
                purpose: "来电".into(),
                at: NOW,
            }]);
        given::<AccessLog>([])
            .when(lookup("  "))
            .then_err(DomainError::validation(
                "purpose",
                "say why the customer is looked up",
            ));
    }

    #[test]
    fn it_records_a_full_view_of_personal_data() {
        given::<AccessLog>([])
            .when(view(vec![PiiField::IdDocument, PiiField::Phone]))
            .then([Event::PiiViewed {
                staff_id: StaffId::from_uuid(Uuid::from_u128(1)),
                customer_id: CustomerId::from_uuid(Uuid::from_u128(2)),
                fields: vec![PiiField::IdDocument, PiiField::Phone],
                purpose: "customerHistory".into(),
                at: NOW,
            }]);
    }

    #[test]
    fn it_records_an_attempt_to_register_a_document_another_customer_holds() {
        given::<AccessLog>([])
            .when(Command::RecordDuplicateIdentityAttempt {
                staff_id: StaffId::from_uuid(Uuid::from_u128(1)),
                holder: CustomerId::from_uuid(Uuid::from_u128(2)),
                attempted_for: CustomerId::from_uuid(Uuid::from_u128(3)),
                disclosed: false,
                purpose: "Register".into(),
                now: NOW,
            })
            .then([Event::DuplicateIdentityAttempted {
                staff_id: StaffId::from_uuid(Uuid::from_u128(1)),
                holder: CustomerId::from_uuid(Uuid::from_u128(2)),
                attempted_for: CustomerId::from_uuid(Uuid::from_u128(3)),
                disclosed: false,
                purpose: "Register".into(),
                at: NOW,
            }]);
    }

    #[test]
    fn it_rejects_a_view_that_names_no_field() {
        given::<AccessLog>([])
            .when(view(vec![]))
            .then_err(DomainError::validation(
                "fields",
                "name at least one field shown",
            ));
    }
}
