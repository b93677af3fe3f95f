//! The CRM's domain: what a brokerage or bank records about its customers, organisation and work.
//!
//! Pure by design: no IO, no tokio, no sled, no clock. Each aggregate exposes
//! `decide(&state, command) -> Result<Vec<Event>, DomainError>` and `evolve(state, &event)`;
//! whatever a decision needs from outside (the time, new ids, lookups) arrives in the command.
//!
//! # Map
//! - values: [`ids`], [`money`], [`values`], [`risk`]; errors: [`error`].
//! - aggregates (one stream per instance, named `category-id`, see [`stream_name`]):
//!   [`customer`] (profile, lifecycle, accounts, suitability, assignment, merge),
//!   [`account`] (daily trade summaries), [`market`] (market-wide totals per trade date),
//!   [`ticket`], [`region`], [`branch`] (with service points and teams), [`staff`],
//!   [`interaction`] (contacts, care, visits), [`opportunity`], [`campaign`], [`segment`]
//!   (saved customer-list filters campaigns aim at), [`product`],
//!   [`article`] (knowledge base and announcements), [`rules`]; for banks [`deposit`] (deposit
//!   accounts and daily balances), [`loan`] (contracts, disbursements, schedules, daily
//!   positions, five-category classification), [`bank_services`] (cards, e-banking sign-ups,
//!   wealth products held) and [`fee_income`] (intermediate-business fee income per day).
//! - [`auth`]: who may send which command, decided from plain data before `decide` runs.
//! - [`assignment`]: pure planning of rule-based batch assignments.
//!
//! # Invariants
//! - `evolve` is total: it never panics and ignores events that do not fit the state (the log
//!   is the truth; a projection must be able to fold any prefix of it).
//! - Events are a contract kept forever: each has a stable [`DomainEvent::event_type`] and a
//!   [`DomainEvent::schema_version`]; never rename a variant or change a field's meaning — add a
//!   new event or a new version instead. Event payloads use only plain serde derives (no
//!   `skip_serializing_if`, `flatten` or untagged enums) so non-self-describing codecs such as
//!   bincode can read them. Every event is at schema version 1; the catalogue of names,
//!   fields and units is `schema/events.md`, checked against the code by a test.
//! - Money is fixed-point ([`Money`], 1/10000 CNY in an `i64`), never a float.

pub mod access;
pub mod account;
mod any;
pub mod appraisal;
pub mod article;
pub mod assignment;
pub mod auth;
pub mod bank_services;
pub mod branch;
pub mod campaign;
pub mod customer;
mod daily;
pub mod deposit;
pub mod error;
pub mod fee_income;
pub mod ids;
pub mod interaction;
pub mod loan;
pub mod market;
pub mod money;
pub mod opportunity;
pub mod product;
pub mod read_policy;
pub mod region;
pub mod risk;
pub mod rules;
pub mod segment;
pub mod staff;
pub mod ticket;
pub mod values;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod proptests_bank;
#[cfg(test)]
mod testing;

pub use any::{AnyEvent, PayloadDecoder};
pub use error::{DomainError, ValidationError};
pub use ids::StreamId;
pub use money::{Money, Rate};

/// What every stored event exposes to the event store and the projections.
pub trait DomainEvent {
    /// Stable name, e.g. `"CustomerRegistered"`; part of the storage contract.
    fn event_type(&self) -> &'static str;
    /// Version of this event's payload schema; bumped (with an upcaster) when a payload changes.
    fn schema_version(&self) -> u16;
    /// Stream category, e.g. `"customer"`; never contains `-`.
    fn category(&self) -> &'static str;
    /// The aggregate instance this event belongs to (the part after the first `-`).
    fn stream_id(&self) -> String;
    /// `category-id`, the stream the event is appended to.
    fn stream_name(&self) -> String {
        format!("{}-{}", self.category(), self.stream_id())
    }
}

/// The stream of one aggregate instance: `category-id`, where the id is the UUID in simple form
/// (32 lowercase hex digits, no hyphens) or, for per-day streams, `YYYYMMDD`. Neither part
/// contains `-`, so splitting at the first `-` recovers the category.
pub fn stream_name(category: &str, id: &impl StreamId) -> String {
    format!("{category}-{}", id.stream_id())
}

/// One aggregate as a type, so generic code (the app's command loop, the test harness) can
/// drive any of them. Each module also exposes `decide`/`evolve` as free functions.
pub trait Aggregate {
    type State: Default + Clone + std::fmt::Debug + PartialEq;
    type Command: std::fmt::Debug;
    /// Serializable both ways: the event store encodes events with serde.
    type Event: DomainEvent
        + Clone
        + std::fmt::Debug
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned;
    /// The stream category of this aggregate's events.
    const CATEGORY: &'static str;

    /// An append-only journal: [`Aggregate::decide`] never depends on the stream's earlier
    /// events (what it checks is fixed by the stream's name), such as a staff member's access
    /// log. The command side then decides from the default state and appends without an
    /// expected revision: concurrent records never conflict, and recording one never reads
    /// a stream that grows with every view.
    const JOURNAL: bool = false;

    fn decide(state: &Self::State, command: Self::Command)
        -> Result<Vec<Self::Event>, DomainError>;
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// The revision of one of the stream's own events that [`Aggregate::decide`] needs in full
    /// for `command` and `state` no longer holds (a state keeps what stays bounded as the
    /// stream grows); `None` for most commands and aggregates. The command side reads that
    /// event and hands it to [`Aggregate::recall`] before deciding.
    fn recall_needed(_state: &Self::State, _command: &Self::Command) -> Option<u64> {
        None
    }

    /// `state` with what `event` (read for [`Aggregate::recall_needed`]) holds put back.
    fn recall(state: Self::State, _event: &Self::Event) -> Self::State {
        state
    }

    /// Folds events from the empty state.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::State::default(), Self::evolve)
    }
}

/// Implements [`DomainEvent`] (all versions 1) and [`Aggregate`] for a module whose events are
/// all struct variants carrying the aggregate's id in the same field.
macro_rules! aggregate {
    (
        $marker:ident, category: $category:literal, id: $idfield:ident,
        events: [$($variant:ident),+ $(,)?] $(, recall: $recall:ident)? $(, journal: $journal:literal)?
    ) => {
        /// This module's aggregate as a type (see [`crate::Aggregate`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $marker;

        impl $crate::Aggregate for $marker {
            type State = State;
            type Command = Command;
            type Event = Event;
            const CATEGORY: &'static str = $category;
            $(const JOURNAL: bool = $journal;)?

            fn decide(state: &State, command: Command) -> Result<Vec<Event>, $crate::DomainError> {
                decide(state, command)
            }

            fn evolve(state: State, event: &Event) -> State {
                evolve(state, event)
            }

            $(
                fn recall_needed(state: &State, command: &Command) -> Option<u64> {
                    $recall::needed(state, command)
                }

                fn recall(state: State, event: &Event) -> State {
                    $recall::recall(state, event)
                }
            )?
        }

        impl $crate::DomainEvent for Event {
            fn event_type(&self) -> &'static str {
                match self {
                    $(Event::$variant { .. } => stringify!($variant),)+
                }
            }

            fn schema_version(&self) -> u16 {
                1
            }

            fn category(&self) -> &'static str {
                $category
            }

            fn stream_id(&self) -> String {
                match self {
                    $(Event::$variant { $idfield, .. } => $crate::StreamId::stream_id($idfield),)+
                }
            }
        }

        impl Event {
            /// Every event type this aggregate emits, for the catalogue and the codec registry.
            pub const EVENT_TYPES: &'static [&'static str] = &[$(stringify!($variant)),+];
        }
    };
}
pub(crate) use aggregate;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every aggregate's category and event types, for the contract checks below.
    fn all_event_types() -> Vec<(&'static str, &'static [&'static str])> {
        vec![
            (customer::Customer::CATEGORY, customer::Event::EVENT_TYPES),
            (account::Account::CATEGORY, account::Event::EVENT_TYPES),
            (market::MarketDay::CATEGORY, market::Event::EVENT_TYPES),
            (ticket::Ticket::CATEGORY, ticket::Event::EVENT_TYPES),
            (region::Region::CATEGORY, region::Event::EVENT_TYPES),
            (branch::Branch::CATEGORY, branch::Event::EVENT_TYPES),
            (staff::Staff::CATEGORY, staff::Event::EVENT_TYPES),
            (
                interaction::Interaction::CATEGORY,
                interaction::Event::EVENT_TYPES,
            ),
            (
                opportunity::Opportunity::CATEGORY,
                opportunity::Event::EVENT_TYPES,
            ),
            (campaign::Campaign::CATEGORY, campaign::Event::EVENT_TYPES),
            (segment::Segment::CATEGORY, segment::Event::EVENT_TYPES),
            (product::Product::CATEGORY, product::Event::EVENT_TYPES),
            (article::Article::CATEGORY, article::Event::EVENT_TYPES),
            (rules::RuleSet::CATEGORY, rules::Event::EVENT_TYPES),
            (access::AccessLog::CATEGORY, access::Event::EVENT_TYPES),
            (
                appraisal::Appraisal::CATEGORY,
                appraisal::Event::EVENT_TYPES,
            ),
            (deposit::Deposit::CATEGORY, deposit::Event::EVENT_TYPES),
            (loan::Loan::CATEGORY, loan::Event::EVENT_TYPES),
            (
                bank_services::BankServices::CATEGORY,
                bank_services::Event::EVENT_TYPES,
            ),
            (
                fee_income::FeeIncome::CATEGORY,
                fee_income::Event::EVENT_TYPES,
            ),
        ]
    }

    #[test]
    fn event_types_are_unique_across_aggregates_and_categories_have_no_hyphen() {
        let mut seen = BTreeSet::new();
        let mut categories = BTreeSet::new();
        for (category, types) in all_event_types() {
            assert!(!category.contains('-'), "{category}");
            assert!(categories.insert(category), "duplicate category {category}");
            for t in types {
                assert!(seen.insert(*t), "event type {t} is used twice");
            }
        }
    }

    #[test]
    fn catalogue_lists_every_event_type() {
        let catalogue = include_str!("../../../schema/events.md");
        for (category, types) in all_event_types() {
            assert!(
                catalogue.contains(&format!("## {category} — `{category}-")),
                "section for {category}"
            );
            for t in types {
                assert!(
                    catalogue.contains(&format!("| `{t}` | 1 |")),
                    "schema/events.md lacks {t}"
                );
            }
        }
    }

    #[test]
    fn stream_names_split_at_the_first_hyphen_into_category_and_id() {
        let id = ids::CustomerId::from_uuid(uuid::Uuid::from_u128(0xabc));
        let name = stream_name("customer", &id);
        assert_eq!(
            name.split_once('-'),
            Some(("customer", "00000000000000000000000000000abc"))
        );
        let day = time::macros::date!(2024 - 03 - 01);
        assert_eq!(stream_name("market", &day), "market-20240301");
    }
}
