//! Maintenance windows at an instant: open (until when) or closed (until when), in the
//! window's own time zone, daylight saving time included (jiff, bundled tz database).
//!
//! A window opens on each listed day at `start` local time and closes at `end` the same day,
//! or the next day when `end` is at or before `start`. A local time that does not exist (the
//! hour skipped when clocks go forward) moves forward by the gap (02:30 becomes 03:30), and one
//! that exists twice (clocks go back) is the first of the two; so a 01:00–05:00 window lasts
//! four hours on an ordinary night, three when clocks go forward and five when they go back.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use migplan_parser::WindowSpec;

/// Where a window stands at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowState {
    /// Open now; closes at this instant.
    Open {
        /// When it closes.
        closes_at: Zoned,
    },
    /// Closed now; opens next at this instant.
    Closed {
        /// When it opens next.
        opens_at: Zoned,
    },
}

/// Where `w` stands at `now`. `None` when its time zone is unknown (the parser refuses those).
pub fn window_state(w: &WindowSpec, now: Timestamp) -> Option<WindowState> {
    let tz = TimeZone::get(&w.timezone).ok()?;
    let here = now.to_zoned(tz.clone());
    let today = here.date();
    let mut next_open: Option<Zoned> = None;
    // An opening yesterday may still be open (across midnight); a week and a day ahead always
    // holds the next opening of a window open at least one day a week.
    for offset in -1i32..=8 {
        let day = today.checked_add(offset.days()).ok()?;
        if !opens_on(w, day) {
            continue;
        }
        let opens = local(day, w.start.hour(), w.start.minute(), &tz)?;
        let close_day = if w.crosses_midnight() {
            day.checked_add(1.day()).ok()?
        } else {
            day
        };
        let closes = local(close_day, w.end.hour(), w.end.minute(), &tz)?;
        let (t_open, t_close) = (opens.timestamp(), closes.timestamp());
        if t_open <= now && now < t_close {
            return Some(WindowState::Open { closes_at: closes });
        }
        if t_open > now && next_open.as_ref().is_none_or(|n| t_open < n.timestamp()) {
            next_open = Some(opens);
        }
    }
    next_open.map(|opens_at| WindowState::Closed { opens_at })
}

fn opens_on(w: &WindowSpec, day: Date) -> bool {
    let index = day.weekday().to_monday_zero_offset();
    w.days.iter().any(|d| d.index() as i8 == index)
}

/// `day` at `hh:mm` local time in `tz`: a skipped time moves forward by the gap, a repeated
/// one takes the earlier instant (jiff's compatible disambiguation).
fn local(day: Date, hour: i8, minute: i8, tz: &TimeZone) -> Option<Zoned> {
    let time = Time::new(hour, minute, 0, 0).ok()?;
    day.to_datetime(time).to_zoned(tz.clone()).ok()
}

/// `2026-11-28T01:00+01:00`: minutes and the offset, as shown to people and stored in plans.
pub fn show(z: &Zoned) -> String {
    z.strftime("%Y-%m-%dT%H:%M%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_parser::{TimeOfDay, Weekday};

    fn window(days: &[Weekday], start: &str, end: &str, tz: &str) -> WindowSpec {
        WindowSpec {
            name: "w".into(),
            days: days.to_vec(),
            start: TimeOfDay::parse(start).unwrap(),
            end: TimeOfDay::parse(end).unwrap(),
            timezone: tz.into(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn state(w: &WindowSpec, now: &str) -> String {
        match window_state(w, at(now)).unwrap() {
            WindowState::Open { closes_at } => format!("open until {}", show(&closes_at)),
            WindowState::Closed { opens_at } => format!("closed until {}", show(&opens_at)),
        }
    }

    const WEEKEND: [Weekday; 2] = [Weekday::Sat, Weekday::Sun];

    #[test]
    fn a_weekend_night_window_in_berlin() {
        let w = window(&WEEKEND, "01:00", "05:00", "Europe/Berlin");
        // Wednesday 2026-11-25 noon UTC: next opening Saturday 01:00 CET (+01:00).
        assert_eq!(
            state(&w, "2026-11-25T12:00:00Z"),
            "closed until 2026-11-28T01:00+01:00"
        );
        // Saturday 02:30 CET = 01:30 UTC: open until 05:00 CET.
        assert_eq!(
            state(&w, "2026-11-28T01:30:00Z"),
            "open until 2026-11-28T05:00+01:00"
        );
        // Opening instant is inside, closing instant outside.
        assert_eq!(
            state(&w, "2026-11-28T00:00:00Z"),
            "open until 2026-11-28T05:00+01:00"
        );
        assert_eq!(
            state(&w, "2026-11-28T04:00:00Z"),
            "closed until 2026-11-29T01:00+01:00"
        );
        // Sunday after closing: next Saturday.
        assert_eq!(
            state(&w, "2026-11-29T10:00:00Z"),
            "closed until 2026-12-05T01:00+01:00"
        );
    }

    #[test]
    fn a_window_across_midnight_opens_on_its_day_and_closes_the_next() {
        let w = window(&[Weekday::Fri], "22:00", "02:00", "UTC");
        // Friday 2026-11-27 23:00: open until Saturday 02:00.
        assert_eq!(
            state(&w, "2026-11-27T23:00:00Z"),
            "open until 2026-11-28T02:00+00:00"
        );
        // Saturday 01:59: still the Friday opening.
        assert_eq!(
            state(&w, "2026-11-28T01:59:00Z"),
            "open until 2026-11-28T02:00+00:00"
        );
        // Saturday 02:00: closed until next Friday 22:00 (Saturday is not a listed day).
        assert_eq!(
            state(&w, "2026-11-28T02:00:00Z"),
            "closed until 2026-12-04T22:00+00:00"
        );
        // Friday 21:00: opens within the hour.
        assert_eq!(
            state(&w, "2026-11-27T21:00:00Z"),
            "closed until 2026-11-27T22:00+00:00"
        );
    }

    #[test]
    fn daylight_saving_changes_move_the_instants_not_the_local_times() {
        let w = window(&[Weekday::Sun], "01:00", "05:00", "Europe/Berlin");
        // 2026-03-29: clocks go forward at 02:00 CET. Opens 01:00+01:00, closes 05:00+02:00:
        // three hours.
        let Some(WindowState::Open { closes_at }) = window_state(&w, at("2026-03-29T00:30:00Z"))
        else {
            panic!("open")
        };
        assert_eq!(show(&closes_at), "2026-03-29T05:00+02:00");
        assert_eq!(
            closes_at.timestamp().as_second() - at("2026-03-29T00:00:00Z").as_second(),
            3 * 3600
        );
        // 2026-10-25: clocks go back at 03:00 CEST. Opens 01:00+02:00, closes 05:00+01:00:
        // five hours.
        let Some(WindowState::Open { closes_at }) = window_state(&w, at("2026-10-25T00:30:00Z"))
        else {
            panic!("open")
        };
        assert_eq!(show(&closes_at), "2026-10-25T05:00+01:00");
        assert_eq!(
            closes_at.timestamp().as_second() - at("2026-10-24T23:00:00Z").as_second(),
            5 * 3600
        );
        // The Saturday before the change: opens Sunday 01:00 in winter time.
        assert_eq!(
            state(&w, "2026-10-24T12:00:00Z"),
            "closed until 2026-10-25T01:00+02:00"
        );
    }

    #[test]
    fn a_skipped_local_opening_time_opens_after_the_gap() {
        // 02:30 does not exist in Berlin on 2026-03-29: the window opens an hour later, 03:30.
        let w = window(&[Weekday::Sun], "02:30", "04:00", "Europe/Berlin");
        assert_eq!(
            state(&w, "2026-03-28T12:00:00Z"),
            "closed until 2026-03-29T03:30+02:00"
        );
    }
}
