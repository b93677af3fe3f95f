//! The import rule every daily flow from the core banking system shares with the securities
//! trade summaries ([`crate::account`]): the same key (an account-day, a customer-day-fee type)
//! with identical content is idempotent; different content for a recorded key is a conflict
//! unless sent as an explicit correction, which supersedes the earlier figures; a correction of
//! a key never recorded is a conflict too.

use std::collections::BTreeMap;
use std::fmt::Display;

use crate::error::DomainError;

/// What recording one keyed daily fact comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DayOutcome<T> {
    /// The same content is already recorded: no event.
    Unchanged,
    Recorded(T),
    Corrected {
        previous: T,
        current: T,
    },
}

/// Decides how `value` for `key` relates to what `days` holds; `what` names the fact in the
/// conflict messages (e.g. "balance").
pub(crate) fn record_day<K: Ord + Display, T: PartialEq + Clone>(
    days: &BTreeMap<K, T>,
    key: &K,
    value: T,
    correction: bool,
    what: &str,
) -> Result<DayOutcome<T>, DomainError> {
    match days.get(key) {
        Some(existing) if *existing == value => Ok(DayOutcome::Unchanged),
        Some(existing) if correction => Ok(DayOutcome::Corrected {
            previous: existing.clone(),
            current: value,
        }),
        Some(_) => Err(DomainError::conflict(format!(
            "a different {what} for {key} is already recorded; send it as a correction"
        ))),
        None if correction => Err(DomainError::conflict(format!(
            "no {what} for {key} to correct"
        ))),
        None => Ok(DayOutcome::Recorded(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days() -> BTreeMap<u32, i64> {
        BTreeMap::from([(1, 10)])
    }

    #[test]
    fn identical_content_is_unchanged_and_new_content_is_recorded() {
        assert_eq!(
            record_day(&days(), &1, 10, false, "x"),
            Ok(DayOutcome::Unchanged)
        );
        assert_eq!(
            record_day(&days(), &2, 7, false, "x"),
            Ok(DayOutcome::Recorded(7))
        );
    }

    #[test]
    fn different_content_needs_a_correction_and_a_correction_needs_a_record() {
        assert_eq!(
            record_day(&days(), &1, 11, false, "x"),
            Err(DomainError::conflict(
                "a different x for 1 is already recorded; send it as a correction"
            ))
        );
        assert_eq!(
            record_day(&days(), &1, 11, true, "x"),
            Ok(DayOutcome::Corrected {
                previous: 10,
                current: 11
            })
        );
        assert_eq!(
            record_day(&days(), &2, 11, true, "x"),
            Err(DomainError::conflict("no x for 2 to correct"))
        );
    }
}
