//! Go's duration syntax (`time.ParseDuration`): an optional sign, then one or more decimal
//! numbers each followed by a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), e.g. `300ms`,
//! `1.5h`, `1h2m3s`; a bare `0` is zero.

use std::time::Duration;

/// Parses a Go duration with the runtime's one parser ([`crate::go_duration`]); negative
/// durations are errors (a [`Duration`] is never negative), `-0` is zero as in Go.
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let nanos = crate::go_duration::parse(text).map_err(|e| e.to_string())?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("negative duration {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ok: &[(&str, Duration)] = &[
            ("0", Duration::ZERO),
            ("1s", Duration::from_secs(1)),
            ("0.2s", Duration::from_millis(200)),
            ("300ms", Duration::from_millis(300)),
            ("1h2m3s", Duration::from_secs(3723)),
            ("1.5h", Duration::from_secs(5400)),
            ("10us", Duration::from_micros(10)),
            ("10µs", Duration::from_micros(10)),
            ("7ns", Duration::from_nanos(7)),
            (".5s", Duration::from_millis(500)),
            ("+2m", Duration::from_secs(120)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_go_duration(text), Ok(*want), "{text}");
        }
        for bad in [
            "",
            "1",
            "s",
            "1x",
            "-1s",
            "1.2.3s",
            "1.5.5s",
            "1.-5s",
            "abc",
            "99999999999999999999h",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}
