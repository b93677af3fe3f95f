//! Given/when/then harness for aggregate tests: `given([events]).when(cmd).then([events])`.

use std::fmt::Debug;

use crate::{Aggregate, DomainError};

pub(crate) struct Given<A: Aggregate> {
    state: A::State,
}

pub(crate) struct When<A: Aggregate> {
    state: A::State,
    result: Result<Vec<A::Event>, DomainError>,
}

pub(crate) fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let state = events
        .into_iter()
        .fold(A::State::default(), |s, e| A::evolve(s, &e));
    Given { state }
}

impl<A: Aggregate> Given<A> {
    pub(crate) fn when(self, command: A::Command) -> When<A> {
        let result = A::decide(&self.state, command);
        When {
            state: self.state,
            result,
        }
    }
}

impl<A: Aggregate> When<A>
where
    A::Event: Debug,
{
    /// Asserts the emitted events; returns the state after applying them for further checks.
    #[track_caller]
    pub(crate) fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A::State {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "unexpected events");
                events.iter().fold(self.state, A::evolve)
            }
            Err(e) => panic!("expected events {expected:?}, got error {e:?}"),
        }
    }

    /// Asserts success without spelling out the events; returns the resulting state.
    #[track_caller]
    pub(crate) fn then_ok(self) -> A::State {
        match self.result {
            Ok(events) => events.iter().fold(self.state, A::evolve),
            Err(e) => panic!("expected success, got error {e:?}"),
        }
    }

    #[track_caller]
    pub(crate) fn then_err(self, expected: DomainError) {
        match self.result {
            Ok(events) => panic!("expected error {expected:?}, got events {events:?}"),
            Err(e) => assert_eq!(e, expected),
        }
    }
}
