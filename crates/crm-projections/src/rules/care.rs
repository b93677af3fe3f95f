//! `[care]` — 客户关怀 calendar: the holidays and market events the company greets its customers
//! on, and how far from the occasion a greeting still counts. Which tiers are greeted on which
//! occasions is `[service.<tier>] care`. Format in `schema/rules.md`.
//!
//! Holidays are dates in the file, not computed: the lunar holidays (春节, 端午, 中秋) fall on
//! another day each year, and which days a company greets on is its own decision.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::Date;

use crate::error::ProjectionError;

/// The care calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareRules {
    /// The holidays greeted on (春节, 国庆, …), sorted.
    pub holidays: BTreeSet<Date>,
    /// The market events greeted on (a crash, a major policy change), sorted.
    pub market_events: BTreeSet<Date>,
    /// A greeting counts on time this many days either side of the occasion.
    pub window_days: u32,
}

/// Days either side of an occasion a greeting is on time, when `[care]` does not say.
pub const CARE_WINDOW_DAYS: u32 = 3;

/// The widest window accepted: a greeting a month away is no longer about the occasion.
pub const CARE_WINDOW_DAYS_MAX: u32 = 30;

impl Default for CareRules {
    /// No holidays or market events (the company lists its own), a window of three days.
    fn default() -> Self {
        CareRules {
            holidays: BTreeSet::new(),
            market_events: BTreeSet::new(),
            window_days: CARE_WINDOW_DAYS,
        }
    }
}

fn invalid(reason: impl Into<String>) -> ProjectionError {
    ProjectionError::Rules(reason.into())
}

/// A list of dates: strings `"YYYY-MM-DD"` or TOML dates, each refused by its index when it
/// is neither.
fn dates(field: &str, value: &toml::Value) -> Result<BTreeSet<Date>, ProjectionError> {
    let Some(list) = value.as_array() else {
        return Err(invalid(format!(
            "{field} must be a list of dates (YYYY-MM-DD)"
        )));
    };
    let format = format_description!("[year]-[month]-[day]");
    let mut out = BTreeSet::new();
    for (i, v) in list.iter().enumerate() {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => other.to_string(),
        };
        let day = Date::parse(&text, format)
            .map_err(|_| invalid(format!("{field}[{i}]: '{text}' is not a date (YYYY-MM-DD)")))?;
        out.insert(day);
    }
    Ok(out)
}

/// `[care]`; None (no table) gives the defaults. An unknown key, a date that is not one or a
/// window out of range is refused by name.
pub(crate) fn care_rules(table: Option<toml::Table>) -> Result<CareRules, ProjectionError> {
    let mut rules = CareRules::default();
    let Some(table) = table else {
        return Ok(rules);
    };
    for (key, value) in &table {
        let field = format!("care.{key}");
        match key.as_str() {
            "holidays" => rules.holidays = dates(&field, value)?,
            "market_events" => rules.market_events = dates(&field, value)?,
            "window_days" => {
                let n = value
                    .as_integer()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n <= CARE_WINDOW_DAYS_MAX)
                    .ok_or_else(|| {
                        invalid(format!(
                            "{field} must be 0 to {CARE_WINDOW_DAYS_MAX} days, got {value}"
                        ))
                    })?;
                rules.window_days = n;
            }
            _ => {
                return Err(invalid(format!(
                    "{field}: unknown key (the keys are holidays, market_events, window_days)"
                )))
            }
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    fn parse(text: &str) -> Result<CareRules, ProjectionError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        care_rules(table.get("care").and_then(|v| v.as_table()).cloned())
    }

    fn refused(text: &str) -> String {
        match parse(text) {
            Err(ProjectionError::Rules(reason)) => reason,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn absent_care_has_no_dates_and_a_three_day_window() {
        let r = care_rules(None).unwrap();
        assert!(r.holidays.is_empty() && r.market_events.is_empty());
        assert_eq!(r.window_days, 3);
    }

    #[test]
    fn holidays_and_market_events_are_dates_written_either_way() {
        // Given strings and TOML dates, repeated and out of order, then the calendar holds
        // each day once, sorted.
        let r = parse(
            "[care]\nholidays = [\"2025-10-01\", 2025-01-29, \"2025-01-29\"]\n\
             market_events = [\"2025-04-07\"]\nwindow_days = 0\n",
        )
        .unwrap();
        assert_eq!(
            r.holidays.into_iter().collect::<Vec<_>>(),
            [date!(2025 - 01 - 29), date!(2025 - 10 - 01)]
        );
        assert_eq!(
            r.market_events.into_iter().collect::<Vec<_>>(),
            [date!(2025 - 04 - 07)]
        );
        assert_eq!(r.window_days, 0);
    }

    #[test]
    fn malformed_dates_unknown_keys_and_wide_windows_are_named() {
        let reason = refused("[care]\nholidays = [\"2025-10-01\", \"2025-13-01\"]\n");
        assert!(
            reason.contains("care.holidays[1]") && reason.contains("2025-13-01"),
            "{reason}"
        );
        let reason = refused("[care]\nmarket_events = [20250407]\n");
        assert!(reason.contains("care.market_events[0]"), "{reason}");
        let reason = refused("[care]\nholidays = \"2025-10-01\"\n");
        assert!(reason.contains("care.holidays"), "{reason}");
        let reason = refused("[care]\nholiday = [\"2025-10-01\"]\n");
        assert!(
            reason.contains("care.holiday") && reason.contains("unknown key"),
            "{reason}"
        );
        let reason = refused("[care]\nwindow_days = 31\n");
        assert!(reason.contains("care.window_days"), "{reason}");
        let reason = refused("[care]\nwindow_days = -1\n");
        assert!(reason.contains("care.window_days"), "{reason}");
    }
}
