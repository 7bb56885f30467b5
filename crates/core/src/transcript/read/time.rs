//! Times as transcripts write them: seconds, clock times and date-times.

/// `12`, `12.5`, `12,5` (a `;`-separated export from a Spanish spreadsheet writes a decimal comma).
pub(super) fn parse_seconds(value: &str) -> Option<f64> {
    let value = value.replacen(',', ".", 1);
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let points = value.bytes().filter(|&b| b == b'.').count();
    (digits > 0 && points <= 1 && digits + points == value.len())
        .then(|| value.parse::<f64>().ok())
        .flatten()
        .filter(|t| t.is_finite())
}

/// A time into the call as people write it in a spreadsheet: seconds (`12.5`) or a clock (`1:02`).
pub fn parse_offset(value: &str) -> Option<f64> {
    let value = value.trim();
    parse_seconds(value).or_else(|| parse_clock(value))
}

/// `[h…:]m:ss[.fff]`, `,` also as the decimal mark (SRT). Minutes may run past 59 when there are no hours
/// (other tools write `62:05`; guion writes `1:02:05`).
pub(super) fn parse_clock(value: &str) -> Option<f64> {
    let (whole, fraction) = match value.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let number = |digits: &str| -> Option<u64> {
        (!digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    };
    let parts = whole.split(':').map(number).collect::<Option<Vec<u64>>>()?;
    let (hours, minutes, seconds) = match parts[..] {
        [m, s] => (0, m, s),
        [h, m, s] if m < 60 => (h, m, s),
        _ => return None,
    };
    if seconds >= 60 {
        return None;
    }
    let fraction = match fraction {
        Some(f) => number(f)? as f64 / 10f64.powi(f.len() as i32),
        None => 0.0,
    };
    Some((hours * 3600 + minutes * 60 + seconds) as f64 + fraction)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` or `YYYY-MM-DD HH:MM:SS` → seconds since 1970-01-01 (in UTC
/// when a zone is given; zone-less times are only ever compared with each other).
pub(super) fn parse_datetime(value: &str) -> Option<f64> {
    let b = value.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if b.len() < 19
        || !separators.iter().all(|&(i, c)| b[i] == c)
        || !matches!(b[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    // The first 19 bytes are ASCII, so 19 is a character boundary.
    let mut rest = &value[19..];
    let mut fraction = 0.0;
    if let Some(after) = rest.strip_prefix(['.', ',']) {
        let len = after.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 || len > 9 {
            return None;
        }
        fraction = after[..len].parse::<f64>().ok()? / 10f64.powi(len as i32);
        rest = &after[len..];
    }
    let offset = zone_offset(rest)?;
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second - offset) as f64 + fraction)
}

/// Seconds east of UTC: ``, `Z`, `±HH:MM`, `±HHMM`, `±HH`.
fn zone_offset(zone: &str) -> Option<i64> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, hhmm) = match zone.as_bytes()[0] {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = hhmm.chars().filter(|&c| c != ':').collect();
    // Checked before slicing: every byte is then a character.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let colon_at_2 = hhmm.len() == 5 && hhmm.as_bytes()[2] == b':';
    let (h, m) = match (digits.len(), hhmm.len()) {
        (2, 2) => (&digits[..], "0"),
        (4, 4) => (&digits[..2], &digits[2..]),
        (4, 5) if colon_at_2 => (&digits[..2], &digits[2..]),
        _ => return None,
    };
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_date_time_parsers() {
        assert_eq!(parse_clock("01:02:03.5"), Some(3723.5));
        assert_eq!(parse_clock("75:00"), Some(4500.0));
        assert_eq!(parse_clock("00:01,250"), Some(1.25));
        for bad in [
            "1:60",
            "1:60:00",
            "12",
            "a:00",
            "",
            ":",
            "1::2",
            "00:01.",
            "-1:00",
            "1:00:00:00",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_datetime("1969-12-31 23:59:59"), Some(-1.0));
        assert_eq!(
            parse_datetime("2000-03-01T00:00:00+00:00"),
            Some(951_868_800.0)
        );
        assert_eq!(
            parse_datetime("2024-02-29T14:00:00.5+02:00"),
            Some(1_709_208_000.5)
        );
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00-0130"),
            Some(1_709_213_400.0)
        );
        for bad in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-01-01T24:00:00",
            "2024-01-01T00:00:00Zx",
            "2024-01-01T00:00:00+1é1",
            "2024-01-01T00:00:00.",
            "2024-01-01",
            "2024/01/01 00:00:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(parse_seconds("12,5"), Some(12.5));
        assert_eq!(parse_seconds("1.2.3"), None);
        assert_eq!(parse_seconds("1e3"), None);
        assert_eq!(parse_seconds(&"9".repeat(400)), None);
    }
}
