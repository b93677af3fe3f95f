//! When a scheduled report is due: pure functions of the schedule, the last run and "now".
//!
//! A schedule is `daily` at HH:MM or `monthly` on day N (1–31; a month without that day runs
//! on its last day) at HH:MM, at a fixed UTC offset (UTC by default, `+08:00` for China
//! Standard Time). A run covers the period just ended: a daily run the day before, a monthly
//! run the month before. Only the latest run time at or before "now" is ever due, so a server
//! that was down catches up one missed run, not each one.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{ReportError, ReportKind, ReportPeriod};

/// How often a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Daily { at: Time },
    Monthly { day: u8, at: Time },
}

/// A schedule at a UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub schedule: Schedule,
    pub offset: UtcOffset,
}

impl When {
    /// `day` only for a monthly schedule (1–31), `at` as HH:MM, `offset` as ±HH:MM.
    pub fn parse(
        schedule: &str,
        day: Option<u8>,
        at: &str,
        offset: Option<&str>,
    ) -> Result<When, ReportError> {
        let at = Time::parse(
            at.trim(),
            time::macros::format_description!("[hour]:[minute]"),
        )
        .map_err(|_| ReportError::Invalid(format!("at = '{at}' is not a time like 06:30")))?;
        let schedule = match (schedule.trim(), day) {
            ("daily", None) => Schedule::Daily { at },
            ("daily", Some(_)) => {
                return Err(ReportError::Invalid(
                    "a daily schedule takes no day (day is for monthly)".into(),
                ))
            }
            ("monthly", Some(day)) if (1..=31).contains(&day) => Schedule::Monthly { day, at },
            ("monthly", _) => {
                return Err(ReportError::Invalid(
                    "a monthly schedule needs day = 1 to 31".into(),
                ))
            }
            (other, _) => {
                return Err(ReportError::Invalid(format!(
                    "schedule = '{other}': daily or monthly"
                )))
            }
        };
        let offset = match offset {
            None => UtcOffset::UTC,
            Some(o) => UtcOffset::parse(
                o.trim(),
                time::macros::format_description!("[offset_hour]:[offset_minute]"),
            )
            .map_err(|_| {
                ReportError::Invalid(format!("utc_offset = '{o}' is not an offset like +08:00"))
            })?,
        };
        Ok(When { schedule, offset })
    }
}

fn month_after(year: i32, month: Month) -> (i32, Month) {
    match month {
        Month::December => (year + 1, Month::January),
        m => (year, m.next()),
    }
}

fn month_before(year: i32, month: Month) -> (i32, Month) {
    match month {
        Month::January => (year - 1, Month::December),
        m => (year, m.previous()),
    }
}

/// Day `day` of a month, or its last day if it has fewer.
fn day_in(year: i32, month: Month, day: u8) -> Date {
    let day = day.clamp(1, month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
}

fn instant(when: &When, date: Date, at: Time) -> OffsetDateTime {
    PrimitiveDateTime::new(date, at).assume_offset(when.offset)
}

/// The latest run time at or before `now`.
pub fn latest_run(when: &When, now: OffsetDateTime) -> OffsetDateTime {
    let local = now.to_offset(when.offset).date();
    match when.schedule {
        Schedule::Daily { at } => {
            let today = instant(when, local, at);
            if today <= now {
                today
            } else {
                instant(when, local.previous_day().unwrap_or(local), at)
            }
        }
        Schedule::Monthly { day, at } => {
            let this = instant(when, day_in(local.year(), local.month(), day), at);
            if this <= now {
                this
            } else {
                let (y, m) = month_before(local.year(), local.month());
                instant(when, day_in(y, m, day), at)
            }
        }
    }
}

/// The first run time after `now`.
pub fn next_run(when: &When, now: OffsetDateTime) -> OffsetDateTime {
    let local = now.to_offset(when.offset).date();
    match when.schedule {
        Schedule::Daily { at } => {
            let today = instant(when, local, at);
            if today > now {
                today
            } else {
                instant(when, local.next_day().unwrap_or(local), at)
            }
        }
        Schedule::Monthly { day, at } => {
            let this = instant(when, day_in(local.year(), local.month(), day), at);
            if this > now {
                this
            } else {
                let (y, m) = month_after(local.year(), local.month());
                instant(when, day_in(y, m, day), at)
            }
        }
    }
}

/// What a scheduler does at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The run time to write a report for now, if one is due.
    pub run: Option<OffsetDateTime>,
    /// When the next run falls after `now`.
    pub next: OffsetDateTime,
}

/// Given the run time of the last report written (`None`: none known), what is due at `now`:
/// the latest run time at or before `now` unless it was written. Earlier missed runs are not
/// due (one missed run is caught up, not each).
pub fn plan(when: &When, last_run: Option<OffsetDateTime>, now: OffsetDateTime) -> Plan {
    let latest = latest_run(when, now);
    Plan {
        run: last_run.is_none_or(|last| last < latest).then_some(latest),
        next: next_run(when, now),
    }
}

/// The period a run at `run` covers: the day before it (daily) or the month before it
/// (monthly), in the schedule's offset.
pub fn covered(when: &When, run: OffsetDateTime) -> ReportPeriod {
    let local = run.to_offset(when.offset).date();
    match when.schedule {
        Schedule::Daily { .. } => ReportPeriod::Day(local.previous_day().unwrap_or(local)),
        Schedule::Monthly { .. } => {
            let (year, month) = month_before(local.year(), local.month());
            ReportPeriod::Month {
                year,
                month: u8::from(month),
            }
        }
    }
}

/// The period a report of `kind` covering `covered` is of: a leaderboard of a day is of the
/// month to that day; kinds without a period have none.
pub fn report_period(kind: ReportKind, covered: ReportPeriod) -> Option<ReportPeriod> {
    match (kind, covered) {
        (ReportKind::Leaderboard, ReportPeriod::Day(d)) => Some(ReportPeriod::month_of(d)),
        (k, p) if k.has_period() => Some(p),
        _ => None,
    }
}

/// The file name of a scheduled report: its name (by default its kind) and the covered
/// period, e.g. `branch-ranking-2026-11.xlsx`.
pub fn file_name(name: &str, covered: ReportPeriod, extension: &str) -> String {
    format!("{name}-{covered}.{extension}")
}

/// How long to wait from `now` until `t` (zero if it has passed).
pub fn wait(now: OffsetDateTime, t: OffsetDateTime) -> std::time::Duration {
    let d: Duration = t - now;
    std::time::Duration::try_from(d).unwrap_or(std::time::Duration::ZERO)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;
    use time::macros::datetime;

    fn monthly(day: u8) -> When {
        When::parse("monthly", Some(day), "06:30", Some("+08:00")).unwrap()
    }

    #[test]
    fn a_monthly_run_is_due_once_at_its_time_in_its_offset() {
        let w = monthly(1);
        // 1 Dec 06:30 in +08:00 is 30 Nov 22:30 UTC.
        let run = datetime!(2026-11-30 22:30 UTC);
        assert_eq!(latest_run(&w, run), run);
        assert_eq!(
            latest_run(&w, run - Duration::minutes(1)),
            datetime!(2026-10-31 22:30 UTC)
        );
        assert_eq!(next_run(&w, run), datetime!(2026-12-31 22:30 UTC));
        assert_eq!(next_run(&w, run - Duration::seconds(1)), run);
        // Before the time: nothing new is due once the previous run was written.
        let before = plan(
            &w,
            Some(datetime!(2026-10-31 22:30 UTC)),
            run - Duration::minutes(1),
        );
        assert_eq!(before.run, None);
        assert_eq!(before.next, run);
        // At and after the time: due, until written.
        let at = plan(
            &w,
            Some(datetime!(2026-10-31 22:30 UTC)),
            run + Duration::hours(5),
        );
        assert_eq!(at.run, Some(run));
        assert_eq!(plan(&w, Some(run), run + Duration::hours(5)).run, None);
        assert_eq!(
            covered(&w, run),
            ReportPeriod::Month {
                year: 2026,
                month: 11
            }
        );
        assert_eq!(
            file_name(ReportKind::BranchRanking.name(), covered(&w, run), "xlsx"),
            "branch-ranking-2026-11.xlsx"
        );
    }

    #[test]
    fn a_server_down_for_months_catches_up_one_run_the_latest() {
        let w = monthly(1);
        let now = datetime!(2027-03-15 00:00 UTC);
        let p = plan(&w, Some(datetime!(2026-11-30 22:30 UTC)), now);
        assert_eq!(p.run, Some(datetime!(2027-02-28 22:30 UTC)));
        assert_eq!(p.next, datetime!(2027-03-31 22:30 UTC));
        // Nothing known written (a first start): the latest run is due.
        assert_eq!(
            plan(&w, None, now).run,
            Some(datetime!(2027-02-28 22:30 UTC))
        );
        assert_eq!(
            covered(&w, datetime!(2027-02-28 22:30 UTC)),
            ReportPeriod::Month {
                year: 2027,
                month: 2
            }
        );
    }

    #[test]
    fn day_31_runs_on_the_last_day_of_shorter_months_and_january_covers_december() {
        let w = When::parse("monthly", Some(31), "00:00", None).unwrap();
        assert_eq!(
            next_run(&w, datetime!(2027-02-01 00:00 UTC)),
            datetime!(2027-02-28 00:00 UTC)
        );
        assert_eq!(
            next_run(&w, datetime!(2028-02-01 00:00 UTC)),
            datetime!(2028-02-29 00:00 UTC)
        );
        assert_eq!(
            next_run(&w, datetime!(2026-12-31 00:00 UTC)),
            datetime!(2027-01-31 00:00 UTC)
        );
        let w = monthly(1);
        assert_eq!(
            covered(&w, datetime!(2027-01-01 06:30 +8)),
            ReportPeriod::Month {
                year: 2026,
                month: 12
            }
        );
    }

    #[test]
    fn a_daily_run_covers_the_day_before_in_its_offset() {
        let w = When::parse("daily", None, "01:00", Some("+08:00")).unwrap();
        // 3 Dec 01:00 in +08:00 is 2 Dec 17:00 UTC.
        let now = datetime!(2026-12-02 18:00 UTC);
        let run = datetime!(2026-12-02 17:00 UTC);
        assert_eq!(latest_run(&w, now), run);
        assert_eq!(next_run(&w, now), datetime!(2026-12-03 17:00 UTC));
        assert_eq!(
            latest_run(&w, run - Duration::seconds(1)),
            datetime!(2026-12-01 17:00 UTC)
        );
        let day = covered(&w, run);
        assert_eq!(day.to_string(), "2026-12-02");
        assert_eq!(report_period(ReportKind::BranchRanking, day), Some(day));
        assert_eq!(
            report_period(ReportKind::Leaderboard, day),
            Some(ReportPeriod::Month {
                year: 2026,
                month: 12
            })
        );
        assert_eq!(report_period(ReportKind::Customers, day), None);
        assert_eq!(wait(now, run), std::time::Duration::ZERO);
        assert_eq!(wait(run, now), std::time::Duration::from_secs(3600));
    }

    #[test]
    fn schedules_that_make_no_sense_are_refused() {
        for (s, day, at, off) in [
            ("weekly", None, "06:00", None),
            ("monthly", None, "06:00", None),
            ("monthly", Some(0), "06:00", None),
            ("monthly", Some(32), "06:00", None),
            ("daily", Some(1), "06:00", None),
            ("daily", None, "25:00", None),
            ("daily", None, "6", None),
            ("daily", None, "06:00", Some("CST")),
        ] {
            assert!(
                When::parse(s, day, at, off).is_err(),
                "{s} {day:?} {at} {off:?}"
            );
        }
    }
}
