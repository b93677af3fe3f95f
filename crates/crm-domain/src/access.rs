//! The access log of personal data (个人信息查阅记录), stream `access-<staff id>`: every time a
//! staff member is shown a customer's identity or phone number in full, that view is recorded,
//! so an auditor can ask who saw whose personal data, and when.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::{CustomerId, StaffId};

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
}

crate::aggregate!(AccessLog, category: "access", id: staff_id, events: [PiiViewed]);

/// Longest purpose text kept.
const PURPOSE_LEN_MAX: usize = 200;

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::RecordPiiView {
            staff_id,
            customer_id,
            fields,
            purpose,
            now,
        } => {
            if state.staff_id.is_some_and(|s| s != staff_id) {
                return Err(DomainError::validation(
                    "staffId",
                    "belongs to another access log",
                ));
            }
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
    fn it_rejects_a_view_that_names_no_field() {
        given::<AccessLog>([])
            .when(view(vec![]))
            .then_err(DomainError::validation(
                "fields",
                "name at least one field shown",
            ));
    }
}
