//! Writing instants as RFC 3339 text in UTC without allocating: log lines' timestamps and
//! `google.protobuf.Timestamp`'s JSON form share it.

/// The length of [`date_time`]'s text: `YYYY-MM-DDTHH:MM:SS`.
pub(crate) const DATE_TIME_LEN: usize = 19;

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants four-digit years can write.
pub(crate) const MIN_SECONDS: i64 = -62_135_596_800;
pub(crate) const MAX_SECONDS: i64 = 253_402_300_799;

/// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS` (UTC, proleptic Gregorian
/// calendar) in `buf`; seconds outside [`MIN_SECONDS`]..=[`MAX_SECONDS`] are taken as the
/// nearest end of that range.
pub(crate) fn date_time(seconds: i64, buf: &mut [u8; DATE_TIME_LEN]) -> &str {
    let seconds = seconds.clamp(MIN_SECONDS, MAX_SECONDS);
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400).unsigned_abs();
    let (year, month, day) = civil_from_days(days);
    put_digits(&mut buf[0..4], u64::from(year));
    put_digits(&mut buf[5..7], u64::from(month));
    put_digits(&mut buf[8..10], u64::from(day));
    put_digits(&mut buf[11..13], in_day / 3600);
    put_digits(&mut buf[14..16], in_day / 60 % 60);
    put_digits(&mut buf[17..19], in_day % 60);
    for (at, sep) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        buf[at] = sep;
    }
    std::str::from_utf8(buf).unwrap_or_default()
}

/// Writes the last `out.len()` decimal digits of `value`, zero-padded.
pub(crate) fn put_digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The date of `days` after 1970-01-01 for years 1 to 9999 (the civil-from-days rule: eras of
/// 400 years of 146,097 days, each year counted from March so that the leap day is last).
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    // Days since 0000-03-01, non-negative in the range written.
    let z = (days + 719_468).max(0).unsigned_abs();
    let era = z / 146_097;
    let doe = z % 146_097; // day of the era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of the era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year
    let mp = (5 * doy + 2) / 153; // month counted from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // In range: year <= 9999, month <= 12, day <= 31.
    (
        u32::try_from(year).unwrap_or(9999),
        u32::try_from(month).unwrap_or(12),
        u32::try_from(day).unwrap_or(31),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The text is chrono's, across the whole range: leap years and century rules, month
    /// ends, before and after 1970, both ends.
    #[test]
    fn date_times_are_chronos_across_the_range() {
        let mut seconds: Vec<i64> = vec![
            MIN_SECONDS,
            MIN_SECONDS + 86_399,
            -1,
            0,
            59,
            86_399,
            86_400,
            951_782_400,    // 2000-02-29, a leap century
            4_107_542_400,  // 2100-03-01, a century that is not a leap year
            -2_203_891_200, // 1900-03-01
            1_709_164_800,  // 2024-02-29
            MAX_SECONDS,
        ];
        // A day every 97 days at varying times, from year 1 to 9999.
        let step = 97 * 86_400 + 3_607;
        seconds.extend(
            (0..)
                .map(|i| MIN_SECONDS + i * step)
                .take_while(|s| *s <= MAX_SECONDS),
        );
        let mut buf = [0u8; DATE_TIME_LEN];
        for s in seconds {
            let want = chrono::DateTime::from_timestamp(s, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            assert_eq!(date_time(s, &mut buf), want, "{s}");
        }
        assert_eq!(date_time(MIN_SECONDS - 1, &mut buf), "0001-01-01T00:00:00");
        assert_eq!(date_time(i64::MAX, &mut buf), "9999-12-31T23:59:59");
    }
}
