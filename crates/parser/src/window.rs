//! Maintenance windows: the times a resource's irreversible steps (cutover, clear, stopping a
//! sync) may start. A window opens on the listed days at `start` and closes at `end` in its
//! time zone; an `end` at or before `start` closes on the next day (a window across midnight).
//!
//! This module holds the validated form and the checks of its parts; when a window is open
//! at a given instant is the planner's decision.

use schemars::JsonSchema;
use serde::Serialize;

/// A day of the week a window opens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// Every day, Monday first.
    pub const ALL: [(&'static str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];

    /// Days after Monday (Monday = 0).
    pub fn index(self) -> u8 {
        self as u8
    }

    /// `mon` … `sun`.
    pub fn parse(s: &str) -> Option<Weekday> {
        Weekday::ALL.iter().find(|(n, _)| *n == s).map(|(_, d)| *d)
    }
}

/// A time of day, in minutes after midnight (0 to 1439).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TimeOfDay(pub u16);

impl TimeOfDay {
    /// `HH:MM`, 24-hour clock.
    pub fn parse(s: &str) -> Option<TimeOfDay> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let h: u16 = h.parse().ok()?;
        let m: u16 = m.parse().ok()?;
        (h < 24 && m < 60).then_some(TimeOfDay(h * 60 + m))
    }

    /// Hours.
    pub fn hour(self) -> i8 {
        (self.0 / 60) as i8
    }

    /// Minutes past the hour.
    pub fn minute(self) -> i8 {
        (self.0 % 60) as i8
    }
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

/// A validated maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowSpec {
    /// Window name, referred to by `window:` on entries, defaults and waves.
    pub name: String,
    /// Days it opens on, Monday first, no repeats.
    pub days: Vec<Weekday>,
    /// Opening time.
    pub start: TimeOfDay,
    /// Closing time; at or before `start`: on the next day.
    pub end: TimeOfDay,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: String,
}

impl WindowSpec {
    /// Whether it closes on the day after it opens.
    pub fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }
}

/// Whether `name` is a time zone migplan knows (its bundled IANA database), or why not.
pub(crate) fn check_timezone(name: &str) -> Result<(), String> {
    match jiff::tz::TimeZone::get(name) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "`{name}` is not a time zone name from the IANA database"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_two_digit_hours_and_minutes() {
        assert_eq!(TimeOfDay::parse("01:00"), Some(TimeOfDay(60)));
        assert_eq!(TimeOfDay::parse("23:59"), Some(TimeOfDay(1439)));
        assert_eq!(TimeOfDay::parse("00:00"), Some(TimeOfDay(0)));
        for bad in [
            "24:00", "1:00", "01:60", "0100", "", "ab:cd", "01:00:00", "-1:00",
        ] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
        assert_eq!(TimeOfDay(5 * 60 + 7).to_string(), "05:07");
    }

    #[test]
    fn days_are_three_letter_lowercase_names() {
        assert_eq!(Weekday::parse("sat"), Some(Weekday::Sat));
        assert_eq!(Weekday::parse("Sat"), None);
        assert_eq!(Weekday::Mon.index(), 0);
        assert_eq!(Weekday::Sun.index(), 6);
    }

    #[test]
    fn time_zones_come_from_the_bundled_database() {
        assert!(check_timezone("Europe/Berlin").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(check_timezone("Mars/Olympus").is_err());
    }
}
