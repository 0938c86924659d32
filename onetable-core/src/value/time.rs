//! Dates and TTLs.
//!
//! As OneTable writes them: dates are epoch milliseconds (`N`) by default, ISO-8601
//! strings when the table sets `iso_dates`; TTL attributes are epoch seconds, the only
//! form DynamoDB's TTL reads. Either date form is accepted on read.

use super::{ListElement, Value};
use crate::{Format, ValueError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch (negative before 1970).
pub(crate) fn to_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// `2024-05-06T07:08:09.010Z`, the form JavaScript's `Date.toISOString` writes.
pub(crate) fn iso_from_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` or with a `+HH:MM` offset into epoch ms.
pub(crate) fn millis_from_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, sec) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hh: i64 = rest.get(1..3)?.parse().ok()?;
            let mm: i64 = rest.get(rest.len() - 2..)?.parse().ok()?;
            sign * (hh * 60 + mm)
        }
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(((days * 24 + h) * 60 + mi - offset_minutes) * 60_000 + sec * 1000 + millis)
}

// Howard Hinnant's proleptic Gregorian calendar algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp as i64 + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads a date in either form: epoch milliseconds or an ISO-8601 string.
pub(crate) fn millis_from_attr(attr: AttributeValue) -> Result<i64, ValueError> {
    match attr {
        AttributeValue::N(n) => n
            .parse::<i64>()
            .or_else(|_| n.parse::<f64>().map(|f| f as i64))
            .map_err(|_| ValueError::Invalid(format!("the number {n} is not epoch milliseconds"))),
        AttributeValue::S(s) => {
            millis_from_iso(&s).ok_or_else(|| ValueError::Invalid(format!("{s:?} is not an ISO-8601 date")))
        }
        other => Err(ValueError::type_of("N", &other)),
    }
}

pub(crate) fn millis_to_attr(ms: i64, format: &Format) -> AttributeValue {
    if format.iso_dates {
        AttributeValue::S(iso_from_millis(ms))
    } else {
        AttributeValue::N(itoa::Buffer::new().format(ms).to_owned())
    }
}

impl Value for SystemTime {
    const ONETABLE_TYPE: &'static str = "date";
    #[inline]
    fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(millis_to_attr(to_millis(*self), format)))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        millis_from_attr(attr).map(from_millis)
    }
}
impl ListElement for SystemTime {}

/// A type that can be a TTL attribute (`#[attr(ttl)]`): stored as epoch seconds.
///
/// Integers are taken as epoch seconds already; times are converted.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a TTL attribute",
    label = "`#[attr(ttl)]` needs a time",
    note = "TTL fields must be epoch seconds (i64, u64) or a time (SystemTime, chrono::DateTime<Utc>), optionally in an Option"
)]
pub trait TtlValue: Sized {
    /// The TTL attribute (epoch seconds), or `None` for no expiry.
    fn to_ttl(&self) -> Option<AttributeValue>;
    /// The value of a TTL attribute.
    fn from_ttl(attr: AttributeValue) -> Result<Self, ValueError>;
    /// The value when the item has no TTL attribute.
    fn ttl_missing() -> Result<Self, ValueError> {
        Err(ValueError::Missing)
    }
    /// The expiry as epoch seconds, if any (to hide expired items).
    fn epoch_seconds(&self) -> Option<i64>;
}

fn seconds_from_attr(attr: AttributeValue) -> Result<i64, ValueError> {
    let text = super::number::number_text(attr)?;
    text.parse::<i64>()
        .or_else(|_| text.parse::<f64>().map(|f| f as i64))
        .map_err(|_| ValueError::Invalid(format!("the TTL {text} is not epoch seconds")))
}

impl TtlValue for i64 {
    #[inline]
    fn to_ttl(&self) -> Option<AttributeValue> {
        Some(AttributeValue::N(itoa::Buffer::new().format(*self).to_owned()))
    }
    #[inline]
    fn from_ttl(attr: AttributeValue) -> Result<Self, ValueError> {
        seconds_from_attr(attr)
    }
    fn epoch_seconds(&self) -> Option<i64> {
        Some(*self)
    }
}

impl TtlValue for u64 {
    #[inline]
    fn to_ttl(&self) -> Option<AttributeValue> {
        Some(AttributeValue::N(itoa::Buffer::new().format(*self).to_owned()))
    }
    #[inline]
    fn from_ttl(attr: AttributeValue) -> Result<Self, ValueError> {
        let s = seconds_from_attr(attr)?;
        u64::try_from(s).map_err(|_| ValueError::Invalid(format!("the TTL {s} is negative")))
    }
    fn epoch_seconds(&self) -> Option<i64> {
        i64::try_from(*self).ok()
    }
}

impl TtlValue for SystemTime {
    #[inline]
    fn to_ttl(&self) -> Option<AttributeValue> {
        to_millis(*self).div_euclid(1000).to_ttl()
    }
    #[inline]
    fn from_ttl(attr: AttributeValue) -> Result<Self, ValueError> {
        seconds_from_attr(attr).map(|s| from_millis(s.saturating_mul(1000)))
    }
    fn epoch_seconds(&self) -> Option<i64> {
        Some(to_millis(*self).div_euclid(1000))
    }
}

impl<T: TtlValue> TtlValue for Option<T> {
    #[inline]
    fn to_ttl(&self) -> Option<AttributeValue> {
        self.as_ref().and_then(T::to_ttl)
    }
    #[inline]
    fn from_ttl(attr: AttributeValue) -> Result<Self, ValueError> {
        match attr {
            AttributeValue::Null(_) => Ok(None),
            other => T::from_ttl(other).map(Some),
        }
    }
    fn ttl_missing() -> Result<Self, ValueError> {
        Ok(None)
    }
    fn epoch_seconds(&self) -> Option<i64> {
        self.as_ref().and_then(T::epoch_seconds)
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn from_ms(ms: i64) -> Result<DateTime<Utc>, ValueError> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .ok_or_else(|| ValueError::Invalid(format!("{ms} ms is outside chrono's date range")))
    }

    impl Value for DateTime<Utc> {
        const ONETABLE_TYPE: &'static str = "date";
        #[inline]
        fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
            Ok(Some(millis_to_attr(self.timestamp_millis(), format)))
        }
        #[inline]
        fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
            from_ms(millis_from_attr(attr)?)
        }
    }
    impl ListElement for DateTime<Utc> {}

    impl TtlValue for DateTime<Utc> {
        #[inline]
        fn to_ttl(&self) -> Option<AttributeValue> {
            self.timestamp().to_ttl()
        }
        #[inline]
        fn from_ttl(attr: AttributeValue) -> Result<Self, ValueError> {
            from_ms(seconds_from_attr(attr)?.saturating_mul(1000))
        }
        fn epoch_seconds(&self) -> Option<i64> {
            Some(self.timestamp())
        }
    }

    impl crate::KeyValue for DateTime<Utc> {
        #[inline]
        fn write_key(&self, out: &mut String) -> bool {
            out.push_str(&iso_from_millis(self.timestamp_millis()));
            true
        }
    }
}

impl crate::KeyValue for SystemTime {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        out.push_str(&iso_from_millis(to_millis(*self)));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips_and_matches_javascript() {
        // new Date(1715000000123).toISOString()
        assert_eq!(iso_from_millis(1_715_000_000_123), "2024-05-06T12:53:20.123Z");
        assert_eq!(iso_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_from_millis(-1), "1969-12-31T23:59:59.999Z");
        for ms in [0, -1, 1, 951_782_400_000, 1_715_000_000_123, -62_135_596_800_000, 253_402_300_799_999] {
            assert_eq!(millis_from_iso(&iso_from_millis(ms)), Some(ms), "{ms}");
        }
        assert_eq!(millis_from_iso("2024-05-06T14:53:20.123+02:00"), Some(1_715_000_000_123));
        assert_eq!(millis_from_iso("2024-05-06T12:53:20Z"), Some(1_715_000_000_000));
        assert_eq!(millis_from_iso("2024-13-06T12:53:20Z"), None);
        assert_eq!(millis_from_iso("yesterday"), None);
    }
}
