//! The HTTP `Date` header (RFC 7231 §7.1.1.1 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`):
//! the emulator sends its virtual time in it, and the client reads the cloud's time from it.
//!
//! Only IMF-fixdate is read: it is what senders must generate (and what Huawei's gateways
//! send); the obsolete RFC 850 and asctime forms give `None`, like any other text.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const IMF_FIXDATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Formats `epoch_ms` (truncated to the second) as an IMF-fixdate. `None` outside the years
/// 1..=9999, which the format cannot express.
pub fn format_http_date(epoch_ms: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(epoch_ms.div_euclid(1000)).ok()?;
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
    t.format(IMF_FIXDATE).ok()
}

/// Reads an IMF-fixdate into epoch milliseconds (a whole second). `None` for anything else,
/// including a weekday that does not match the date.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let value = value.trim();
    // Bounded before parsing: a header value from the network may be anything.
    if value.len() != 29 {
        return None;
    }
    let parsed = time::PrimitiveDateTime::parse(value, IMF_FIXDATE).ok()?;
    let t = parsed.assume_utc();
    let weekday = value.get(..3)?;
    if !t.weekday().to_string().starts_with(weekday) {
        return None;
    }
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_round_trips() {
        // RFC 7231 §7.1.1.1: Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s.
        assert_eq!(
            format_http_date(784_111_777_000).as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(
            parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "),
            Some(784_111_777_000)
        );
    }

    #[test]
    fn milliseconds_are_truncated_to_the_second() {
        let s = format_http_date(784_111_777_999).unwrap();
        assert_eq!(parse_http_date(&s), Some(784_111_777_000));
        assert_eq!(
            format_http_date(-1).as_deref(),
            Some("Wed, 31 Dec 1969 23:59:59 GMT")
        );
    }

    #[test]
    fn other_forms_and_garbage_are_refused() {
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMTX",
            "Sun, 06 Nov 1994 08:49:37 GMT\u{1}",
            "ééééééééééééééé",
            &"x".repeat(100_000),
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn out_of_range_times_are_not_formatted() {
        assert_eq!(format_http_date(i64::MAX), None);
        assert_eq!(format_http_date(i64::MIN), None);
        assert_eq!(format_http_date(i64::MAX / 4), None);
        assert!(format_http_date(253_402_300_799_000).is_some()); // 9999-12-31T23:59:59Z
    }
}
