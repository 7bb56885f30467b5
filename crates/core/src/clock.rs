//! Calendar dates and UTC timestamps from Unix seconds (the caller reads the clock): night labels
//! and the time a review was given.

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn date(unix_s: i64) -> String {
    let (y, m, d) = civil(unix_s.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
pub fn timestamp(unix_s: i64) -> String {
    let s = unix_s.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(unix_s),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), by Howard Hinnant's civil-from-days.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_timestamps() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::timestamp(951_782_400 + 3661), "2000-02-29T01:01:01Z");
        assert_eq!(super::date(1_798_761_599), "2026-12-31");
    }
}
