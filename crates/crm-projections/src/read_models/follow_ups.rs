//! Follow-up timeliness (跟进及时率): a contact or a visit may set a follow-up date; the
//! follow-up is met on time when a later contact that reached the customer (any outcome but
//! "not reached", a completed visit included) happened on or before that date, late when after
//! it, and overdue while none has by the period's end (or today if earlier).
//!
//! A customer keeps the follow-up open now and the last one met ([`FollowUpTrack`], O(1)
//! whatever their history), as the service plan keeps the last two contacts: a past period
//! shows the follow-ups those two tell about. The to-do (`FollowUpDue`) reads the customer's
//! latest follow-up date instead, which any later contact replaces.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::read_models::service_plan::Obligations;

/// A follow-up date a contact set and no reaching contact has met yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFollowUp {
    /// The day of the contact that set it.
    pub set_on: Date,
    pub due: Date,
}

/// A follow-up a reaching contact met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetFollowUp {
    pub due: Date,
    /// The day of the contact that met it.
    pub met_on: Date,
}

/// The follow-up open now and the last one met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FollowUpTrack {
    pub open: Option<OpenFollowUp>,
    pub met: Option<MetFollowUp>,
}

impl FollowUpTrack {
    /// A contact (or a completed visit) on `day`, in log order: if it reached the customer it
    /// meets the open follow-up (set by an earlier contact, on that day or before); a follow-up
    /// date it sets opens the next one. A contact that did not reach the customer meets
    /// nothing, and the date it sets does not put off one still open: the earlier promise
    /// stands (else an unanswered call would postpone any follow-up at will).
    pub(crate) fn contact(&mut self, day: Date, reached: bool, follow_up_on: Option<Date>) {
        if reached {
            if let Some(o) = self.open.filter(|o| o.set_on <= day) {
                self.met = Some(MetFollowUp {
                    due: o.due,
                    met_on: day,
                });
                self.open = None;
            }
        }
        if let Some(due) = follow_up_on {
            if reached || self.open.is_none() {
                self.open = Some(OpenFollowUp { set_on: day, due });
            }
        }
    }
}

/// Tallies the follow-ups `track` tells about the period `from..=to`: the last one met, if it
/// was due or met in the period (on time or late), and the one open now, if it was set by the
/// period's end and due by then (overdue once its date is before `on`). Returns whether one is
/// overdue at `on`.
pub fn tally_follow_ups(
    t: &mut Obligations,
    track: &FollowUpTrack,
    (from, to): (Date, Date),
    on: Date,
) -> bool {
    let in_period = |d: Date| from <= d && d <= to;
    if let Some(m) = track.met {
        if in_period(m.due) || in_period(m.met_on) {
            t.due += 1;
            if m.met_on <= m.due {
                t.on_time += 1;
            } else {
                t.late += 1;
            }
        }
    }
    if let Some(o) = track.open {
        if o.set_on <= to && o.due <= to {
            t.due += 1;
            if o.due < on {
                t.overdue += 1;
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const MARCH: (Date, Date) = (date!(2024 - 03 - 01), date!(2024 - 03 - 31));

    fn tallied(track: &FollowUpTrack, on: Date) -> ((i64, i64, i64, i64), bool) {
        let mut t = Obligations::default();
        let overdue = tally_follow_ups(&mut t, track, MARCH, on);
        ((t.due, t.on_time, t.late, t.overdue), overdue)
    }

    /// A contact on 5 March that set a follow-up for 15 March.
    fn set() -> FollowUpTrack {
        let mut f = FollowUpTrack::default();
        f.contact(date!(2024 - 03 - 05), true, Some(date!(2024 - 03 - 15)));
        f
    }

    #[test]
    fn a_follow_up_met_the_day_before_its_date_is_on_time() {
        // Given the follow-up for 15 March, when a reaching contact comes on the 14th, then it
        // is met on time and nothing is open.
        let mut f = set();
        f.contact(date!(2024 - 03 - 14), true, None);
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((1, 1, 0, 0), false));
        assert_eq!(f.open, None);
    }

    #[test]
    fn a_follow_up_met_the_day_after_its_date_is_late() {
        let mut f = set();
        f.contact(date!(2024 - 03 - 16), true, None);
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((1, 0, 1, 0), false));
        // Met in April, it is still March's follow-up, late.
        let mut f = set();
        f.contact(date!(2024 - 04 - 02), true, None);
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((1, 0, 1, 0), false));
    }

    #[test]
    fn a_follow_up_nothing_came_for_is_overdue_once_its_date_passed() {
        let f = set();
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((1, 0, 0, 1), true));
        // Read on its date, it is due and not yet overdue.
        assert_eq!(tallied(&f, date!(2024 - 03 - 15)), ((1, 0, 0, 0), false));
        // An unanswered call neither meets it nor puts it off.
        let mut f = set();
        f.contact(date!(2024 - 03 - 14), false, Some(date!(2024 - 03 - 28)));
        assert_eq!(
            f.open,
            Some(OpenFollowUp {
                set_on: date!(2024 - 03 - 05),
                due: date!(2024 - 03 - 15)
            })
        );
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((1, 0, 0, 1), true));
    }

    #[test]
    fn a_reaching_contact_meets_one_follow_up_and_may_open_the_next() {
        // Met on the 14th, which sets the next for 10 April: March has the met one only;
        // April the open one.
        let mut f = set();
        f.contact(date!(2024 - 03 - 14), true, Some(date!(2024 - 04 - 10)));
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((1, 1, 0, 0), false));
        let mut t = Obligations::default();
        let april = (date!(2024 - 04 - 01), date!(2024 - 04 - 30));
        assert!(tally_follow_ups(&mut t, &f, april, date!(2024 - 04 - 30)));
        assert_eq!((t.due, t.overdue), (1, 1));
        // A contact without a follow-up date opens nothing; nor does one before it meet it.
        let mut f = FollowUpTrack::default();
        f.contact(date!(2024 - 03 - 05), true, None);
        assert_eq!(tallied(&f, date!(2024 - 03 - 31)), ((0, 0, 0, 0), false));
        let mut f = set();
        f.contact(date!(2024 - 03 - 04), true, None);
        assert!(f.met.is_none() && f.open.is_some());
    }
}
