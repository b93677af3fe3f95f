//! Care greetings (客户关怀) against the tiered service standards: which occasions a customer is
//! owed a greeting on in a period — their birthday, the `[care]` holidays and market events,
//! when their tier's `[service.<tier>] care` names the occasion — and whether a care contact of
//! that occasion reached them within `[care] window_days` of it (on time), after (late), or
//! not at all once the window closed (overdue).
//!
//! A customer keeps, per occasion, the days a greeting of it was recorded within
//! [`GREETING_SPAN_DAYS`] before the latest one ([`GreetingDays`], a fixed-size bit set, O(1)
//! whatever their history): the calendar and the tiers are the rules' business, applied when
//! the compliance is read, so a rules change needs no rebuild.

use crm_domain::interaction::CareOccasion;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use crate::model::business_date;
use crate::read_models::archive::CustomerRecord;
use crate::read_models::service_plan::Obligations;
use crate::rules::{CareRules, ServiceStandard};

const WORDS: usize = 7;

/// How far back from a customer's latest greeting of an occasion the days are remembered: 64
/// weeks, a year to date read until well into the next year.
pub const GREETING_SPAN_DAYS: i64 = (WORDS * 64) as i64;

/// The days a greeting of one occasion reached the customer: the latest, and which of the
/// [`GREETING_SPAN_DAYS`] days up to it had one (bit `n` is `latest − n` days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GreetingDays {
    pub latest: Option<Date>,
    pub bits: [u64; WORDS],
}

impl GreetingDays {
    /// Records a greeting on `day` (events may come out of date order: a day more than the
    /// span before the latest is forgotten, as it would have been in date order).
    pub(crate) fn record(&mut self, day: Date) {
        let Some(latest) = self.latest else {
            self.latest = Some(day);
            self.bits = [0; WORDS];
            self.bits[0] = 1;
            return;
        };
        if day > latest {
            self.shift((day - latest).whole_days());
            self.latest = Some(day);
            self.bits[0] |= 1;
        } else {
            self.set((latest - day).whole_days());
        }
    }

    /// Ages every remembered day by `n` days.
    fn shift(&mut self, n: i64) {
        let Ok(n) = usize::try_from(n) else {
            return;
        };
        if n >= WORDS * 64 {
            self.bits = [0; WORDS];
            return;
        }
        let (words, bits) = (n / 64, n % 64);
        let old = self.bits;
        for i in (0..WORDS).rev() {
            let mut w = 0;
            if i >= words {
                w = old[i - words] << bits;
                if bits > 0 && i > words {
                    w |= old[i - words - 1] >> (64 - bits);
                }
            }
            self.bits[i] = w;
        }
    }

    fn set(&mut self, age: i64) {
        if let Ok(age) = usize::try_from(age) {
            if age < WORDS * 64 {
                self.bits[age / 64] |= 1 << (age % 64);
            }
        }
    }

    fn has_age(&self, age: usize) -> bool {
        age < WORDS * 64 && self.bits[age / 64] & (1 << (age % 64)) != 0
    }

    /// The earliest remembered greeting day in `from..=to`.
    pub fn first_in(&self, from: Date, to: Date) -> Option<Date> {
        let latest = self.latest?;
        if from > to || from > latest {
            return None;
        }
        let age = |d: Date| (latest - d).whole_days();
        let youngest = usize::try_from(age(to).max(0)).ok()?;
        let oldest = usize::try_from(age(from).min(GREETING_SPAN_DAYS - 1)).ok()?;
        (youngest..=oldest)
            .rev()
            .find(|a| self.has_age(*a))
            .and_then(|a| latest.checked_sub(Duration::days(a as i64)))
    }
}

/// Per occasion, the days greetings of it reached the customer: nothing but a null pointer for
/// a customer never greeted (most of a book), so the resident record does not carry three
/// empty day sets per customer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CareTrack(Option<Box<[GreetingDays; OCCASIONS]>>);

/// Birthday, holiday, market event.
const OCCASIONS: usize = 3;

/// What a customer never greeted on an occasion has.
static NEVER: GreetingDays = GreetingDays {
    latest: None,
    bits: [0; WORDS],
};

fn slot(occasion: CareOccasion) -> usize {
    match occasion {
        CareOccasion::Birthday => 0,
        CareOccasion::Holiday => 1,
        CareOccasion::MarketEvent => 2,
    }
}

impl CareTrack {
    /// A care contact of `occasion` was recorded on `day`.
    pub(crate) fn record(&mut self, occasion: CareOccasion, day: Date) {
        let days = self.0.get_or_insert_with(Default::default);
        if let Some(d) = days.get_mut(slot(occasion)) {
            d.record(day);
        }
    }

    pub fn of(&self, occasion: CareOccasion) -> &GreetingDays {
        self.0
            .as_ref()
            .and_then(|days| days.get(slot(occasion)))
            .unwrap_or(&NEVER)
    }
}

/// A birthday's day in `year`: 29 February outside leap years is the first of March (the
/// birthday reminder and the care greetings both count it so).
pub fn birthday_in(birthday: Date, year: i32) -> Option<Date> {
    Date::from_calendar_date(year, birthday.month(), birthday.day())
        .or_else(|_| Date::from_calendar_date(year, Month::March, 1))
        .ok()
}

/// Care greetings due in a period, per occasion, and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CareObligations {
    pub birthday: Obligations,
    pub holiday: Obligations,
    pub market_event: Obligations,
}

impl CareObligations {
    /// The three occasions added up.
    pub fn total(&self) -> Obligations {
        let all = [self.birthday, self.holiday, self.market_event];
        Obligations {
            due: all.iter().map(|o| o.due).sum(),
            on_time: all.iter().map(|o| o.on_time).sum(),
            late: all.iter().map(|o| o.late).sum(),
            overdue: all.iter().map(|o| o.overdue).sum(),
        }
    }

    fn of_mut(&mut self, occasion: CareOccasion) -> &mut Obligations {
        match occasion {
            CareOccasion::Birthday => &mut self.birthday,
            CareOccasion::Holiday => &mut self.holiday,
            CareOccasion::MarketEvent => &mut self.market_event,
        }
    }
}

fn add(d: Date, days: i64) -> Date {
    d.checked_add(Duration::days(days))
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

/// Tallies one greeting due on `day`: on time if one reached the customer within `window`
/// days of it; late if the first after the window came before `next_opens` (the window of the
/// occasion's next day, which a later greeting is for); overdue if none and the window closed
/// before `on`; otherwise still open (due, nothing else).
fn tally_one(
    t: &mut Obligations,
    days: &GreetingDays,
    day: Date,
    window: i64,
    next_opens: Option<Date>,
    on: Date,
) {
    t.due += 1;
    let closes = add(day, window);
    if days.first_in(add(day, -window), closes).is_some() {
        t.on_time += 1;
        return;
    }
    let late_until = next_opens.map_or(Date::MAX, |d| add(d, -1));
    if late_until > closes && days.first_in(add(closes, 1), late_until).is_some() {
        t.late += 1;
        return;
    }
    if closes < on {
        t.overdue += 1;
    }
}

/// The care greetings customer `c` (served to `standard`) is owed in `from..=to`, added to
/// `out`: their birthday and each `[care]` holiday and market event in the period, for the
/// occasions the standard names, on or after their registration day. Returns whether one is
/// overdue at `on`.
pub fn tally_care(
    out: &mut CareObligations,
    c: &CustomerRecord,
    standard: &ServiceStandard,
    care: &CareRules,
    (from, to): (Date, Date),
    on: Date,
) -> bool {
    let registered = business_date(c.registered_at);
    let window = i64::from(care.window_days);
    let mut overdue = false;
    for occasion in &standard.care {
        let t = out.of_mut(*occasion);
        let before = t.overdue;
        let days = c.care.of(*occasion);
        let mut each = |day: Date, next: Option<Date>| {
            if day >= registered && from <= day && day <= to {
                tally_one(t, days, day, window, next.map(|n| add(n, -window)), on);
            }
        };
        match occasion {
            CareOccasion::Birthday => {
                let Some(b) = c.profile.birthday else {
                    continue;
                };
                for year in from.year()..=to.year() {
                    if let Some(day) = birthday_in(b, year) {
                        each(day, birthday_in(b, year + 1));
                    }
                }
            }
            CareOccasion::Holiday | CareOccasion::MarketEvent => {
                let calendar = match occasion {
                    CareOccasion::Holiday => &care.holidays,
                    _ => &care.market_events,
                };
                for day in calendar.range(from..=to) {
                    let next = calendar.range(add(*day, 1)..).next().copied();
                    each(*day, next);
                }
            }
        }
        overdue |= t.overdue > before;
    }
    overdue
}

/// The holiday and market-event greetings customer `c` (served to `standard`) is owed from
/// `ahead` days before the occasion until its window closes, not yet made: what their manager's
/// to-do list shows (`CareGreetingDue`). Birthdays have their own reminder.
pub fn greetings_owed(
    c: &CustomerRecord,
    standard: &ServiceStandard,
    care: &CareRules,
    today: Date,
    ahead: u32,
) -> Vec<(CareOccasion, Date)> {
    let registered = business_date(c.registered_at);
    let window = i64::from(care.window_days);
    let (from, to) = (add(today, -window), add(today, i64::from(ahead)));
    let mut out = Vec::new();
    for occasion in &standard.care {
        let calendar = match occasion {
            CareOccasion::Birthday => continue,
            CareOccasion::Holiday => &care.holidays,
            CareOccasion::MarketEvent => &care.market_events,
        };
        let days = c.care.of(*occasion);
        for day in calendar.range(from.max(registered)..=to) {
            if days
                .first_in(add(*day, -window), add(*day, window))
                .is_none()
            {
                out.push((*occasion, *day));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::derive::tests::customer;
    use crate::derive::Tier;
    use crate::rules::ServiceRules;
    use time::macros::date;

    #[test]
    fn greeting_days_are_remembered_in_any_order_within_the_span() {
        let mut g = GreetingDays::default();
        g.record(date!(2024 - 03 - 10));
        g.record(date!(2024 - 01 - 01));
        g.record(date!(2024 - 05 - 01));
        // Out of order, still kept: 2024-03-10 is 52 days before the latest.
        g.record(date!(2024 - 04 - 30));
        let all = (date!(2023 - 01 - 01), date!(2025 - 01 - 01));
        assert_eq!(g.first_in(all.0, all.1), Some(date!(2024 - 01 - 01)));
        assert_eq!(
            g.first_in(date!(2024 - 01 - 02), date!(2024 - 04 - 30)),
            Some(date!(2024 - 03 - 10))
        );
        assert_eq!(
            g.first_in(date!(2024 - 03 - 11), date!(2024 - 04 - 29)),
            None
        );
        assert_eq!(
            g.first_in(date!(2024 - 04 - 30), date!(2024 - 04 - 30)),
            Some(date!(2024 - 04 - 30))
        );
        // A greeting 500 days later forgets everything older than the span (448 days).
        g.record(date!(2025 - 09 - 13));
        assert_eq!(
            g.first_in(all.0, date!(2025 - 12 - 31)),
            Some(date!(2025 - 09 - 13))
        );
        // Shifts across word boundaries keep the days: 70 and 130 days before.
        let mut g = GreetingDays::default();
        g.record(date!(2024 - 01 - 01));
        g.record(date!(2024 - 03 - 01));
        g.record(date!(2024 - 05 - 10));
        assert_eq!(g.first_in(all.0, all.1), Some(date!(2024 - 01 - 01)));
        assert_eq!(
            g.first_in(date!(2024 - 01 - 02), all.1),
            Some(date!(2024 - 03 - 01))
        );
    }

    /// The care greetings of one customer of `tier`, born on `birthday`, registered 1 January
    /// 2024, greeted on `greetings`, over `period`, measured at `on`, under `care`.
    fn greeted(
        tier: Tier,
        greetings: &[(CareOccasion, Date)],
        care: &CareRules,
        period: (Date, Date),
        on: Date,
    ) -> (CareObligations, bool) {
        let mut c = customer();
        c.profile.birthday = Some(date!(1980 - 06 - 15));
        for (o, d) in greetings {
            c.care.record(*o, *d);
        }
        let rules = ServiceRules::default();
        let mut out = CareObligations::default();
        let overdue = tally_care(
            &mut out,
            &c,
            rules.for_tier(tier).unwrap(),
            care,
            period,
            on,
        );
        (out, overdue)
    }

    fn counts(o: Obligations) -> (i64, i64, i64, i64) {
        (o.due, o.on_time, o.late, o.overdue)
    }

    const JUNE: (Date, Date) = (date!(2024 - 06 - 01), date!(2024 - 06 - 30));

    #[test]
    fn a_birthday_greeted_two_days_early_is_on_time() {
        // Given a gold customer born 15 June, greeted on 13 June (window 3 days),
        // when June's compliance is read at its end, then the birthday was met on time.
        let (o, overdue) = greeted(
            Tier::Gold,
            &[(CareOccasion::Birthday, date!(2024 - 06 - 13))],
            &CareRules::default(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.birthday), (1, 1, 0, 0));
        assert!(!overdue);
    }

    #[test]
    fn a_birthday_greeted_ten_days_later_is_late_and_unwished_overdue() {
        // Greeted on 25 June, after the window closed on the 18th: late.
        let (o, overdue) = greeted(
            Tier::Gold,
            &[(CareOccasion::Birthday, date!(2024 - 06 - 25))],
            &CareRules::default(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.birthday), (1, 0, 1, 0));
        assert!(!overdue);
        // Last year's greeting does not count: not greeted, overdue at the month's end...
        let (o, overdue) = greeted(
            Tier::Gold,
            &[(CareOccasion::Birthday, date!(2023 - 06 - 15))],
            &CareRules::default(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.birthday), (1, 0, 0, 1));
        assert!(overdue);
        // ...but only due on the 17th, the window still open.
        let (o, overdue) = greeted(
            Tier::Gold,
            &[],
            &CareRules::default(),
            JUNE,
            date!(2024 - 06 - 17),
        );
        assert_eq!(counts(o.birthday), (1, 0, 0, 0));
        assert!(!overdue);
        // A holiday greeting is no birthday greeting.
        let (o, _) = greeted(
            Tier::Gold,
            &[(CareOccasion::Holiday, date!(2024 - 06 - 15))],
            &CareRules::default(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.birthday), (1, 0, 0, 1));
    }

    fn calendar() -> CareRules {
        CareRules {
            holidays: [date!(2024 - 06 - 10), date!(2024 - 06 - 20)].into(),
            market_events: [date!(2024 - 06 - 03)].into(),
            ..CareRules::default()
        }
    }

    #[test]
    fn a_holiday_a_silver_customers_tier_does_not_ask_for_is_not_due() {
        // Given the default standards (silver: no occasions), nothing is due for silver.
        let (o, overdue) = greeted(Tier::Silver, &[], &calendar(), JUNE, date!(2024 - 06 - 30));
        assert_eq!(o, CareObligations::default());
        assert!(!overdue);
        // Gold is greeted on the birthday and both holidays, not on market events.
        let (o, _) = greeted(
            Tier::Gold,
            &[
                (CareOccasion::Holiday, date!(2024 - 06 - 08)),
                (CareOccasion::MarketEvent, date!(2024 - 06 - 03)),
            ],
            &calendar(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.holiday), (2, 1, 0, 1));
        assert_eq!(o.market_event, Obligations::default());
        assert_eq!(counts(o.total()), (3, 1, 0, 2));
        // Diamond is greeted on market events too.
        let (o, _) = greeted(
            Tier::Diamond,
            &[(CareOccasion::MarketEvent, date!(2024 - 06 - 04))],
            &calendar(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.market_event), (1, 1, 0, 0));
    }

    #[test]
    fn a_late_holiday_greeting_is_for_the_holiday_before_the_next_ones_window() {
        // 14 June is after the 10th's window (7–13) and before the 20th's (17–23): late for
        // the 10th; nothing for the 20th, overdue.
        let (o, _) = greeted(
            Tier::Gold,
            &[(CareOccasion::Holiday, date!(2024 - 06 - 14))],
            &calendar(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.holiday), (2, 0, 1, 1));
        // 18 June is on time for the 20th, not late for the 10th.
        let (o, _) = greeted(
            Tier::Gold,
            &[(CareOccasion::Holiday, date!(2024 - 06 - 18))],
            &calendar(),
            JUNE,
            date!(2024 - 06 - 30),
        );
        assert_eq!(counts(o.holiday), (2, 1, 0, 1));
    }

    #[test]
    fn an_occasion_before_registration_or_outside_the_period_is_not_due() {
        let mut care = calendar();
        care.holidays.insert(date!(2023 - 10 - 01));
        care.holidays.insert(date!(2024 - 07 - 01));
        // The customer registered 1 January 2024: 1 October 2023 is before them.
        let year = (date!(2023 - 01 - 01), date!(2023 - 12 - 31));
        let (o, _) = greeted(Tier::Gold, &[], &care, year, date!(2023 - 12 - 31));
        assert_eq!(o.holiday.due, 0);
        assert_eq!(o.birthday.due, 0);
        let (o, _) = greeted(Tier::Gold, &[], &care, JUNE, date!(2024 - 06 - 30));
        assert_eq!(o.holiday.due, 2);
    }

    #[test]
    fn a_holiday_greeting_is_owed_from_the_reminder_until_its_window_closes_unless_made() {
        // Given a gold customer, the holidays of 10 and 20 June, a window of 3 days and the
        // reminder 7 days ahead.
        let gold = ServiceRules::default();
        let gold = gold.for_tier(Tier::Gold).unwrap();
        let mut c = customer();
        let owed = |c: &CustomerRecord, today: Date| greetings_owed(c, gold, &calendar(), today, 7);
        let holiday = |d: Date| (CareOccasion::Holiday, d);
        // Then on 2 June nothing is owed yet; on the 3rd the 10th is; on the 13th (its window's
        // last day) both; on the 14th only the 20th.
        assert!(owed(&c, date!(2024 - 06 - 02)).is_empty());
        assert_eq!(
            owed(&c, date!(2024 - 06 - 03)),
            [holiday(date!(2024 - 06 - 10))]
        );
        assert_eq!(
            owed(&c, date!(2024 - 06 - 13)),
            [
                holiday(date!(2024 - 06 - 10)),
                holiday(date!(2024 - 06 - 20))
            ]
        );
        assert_eq!(
            owed(&c, date!(2024 - 06 - 14)),
            [holiday(date!(2024 - 06 - 20))]
        );
        // When the 10th is greeted on the 8th, it is owed no more.
        c.care.record(CareOccasion::Holiday, date!(2024 - 06 - 08));
        assert_eq!(
            owed(&c, date!(2024 - 06 - 13)),
            [holiday(date!(2024 - 06 - 20))]
        );
        // A silver customer owes no greeting; nor does anyone a birthday here.
        let silver = ServiceRules::default();
        let silver = silver.for_tier(Tier::Silver).unwrap();
        assert!(greetings_owed(&c, silver, &calendar(), date!(2024 - 06 - 13), 7).is_empty());
    }

    #[test]
    fn a_birthday_on_29_february_is_greeted_on_1_march_outside_leap_years() {
        assert_eq!(
            birthday_in(date!(1980 - 02 - 29), 2023),
            Some(date!(2023 - 03 - 01))
        );
        assert_eq!(
            birthday_in(date!(1980 - 02 - 29), 2024),
            Some(date!(2024 - 02 - 29))
        );
    }
}
