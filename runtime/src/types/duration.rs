//! `google.protobuf.Duration` with its canonical JSON form.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::timestamp::fraction;

/// `google.protobuf.Duration`: signed seconds and nanoseconds (both with the same sign). In
/// JSON a decimal number of seconds with an `s` suffix and 0, 3, 6 or 9 fractional digits
/// (`1.500s`, `-0.010s`), as protojson writes it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Duration {
    /// Whole seconds, -315,576,000,000..=315,576,000,000.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Fractions of a second, with the sign of `seconds`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The largest magnitude of `seconds`: 10,000 years, as the proto definition states.
const MAX_SECONDS: u64 = 315_576_000_000;

impl Duration {
    /// Whether the value is one the proto definition allows, and so one that JSON, YAML and
    /// form text can carry: `|seconds| <= 315,576,000,000`, `|nanos| < 10^9`, and `nanos` of
    /// the sign of `seconds` when both are non-zero. Every reader refuses other values and
    /// every writer fails on them (as Go's protojson does) rather than write a wrong text.
    pub fn is_valid(&self) -> bool {
        self.seconds.unsigned_abs() <= MAX_SECONDS
            && self.nanos.unsigned_abs() < 1_000_000_000
            && (self.seconds == 0 || self.nanos == 0 || (self.seconds < 0) == (self.nanos < 0))
    }

    /// The duration of a signed count of nanoseconds (seconds and nanos of one sign), `None`
    /// outside the range [`Duration::is_valid`] allows.
    pub fn from_nanos(nanos: i128) -> Option<Self> {
        let d = Duration {
            seconds: i64::try_from(nanos / 1_000_000_000).ok()?,
            nanos: i32::try_from(nanos % 1_000_000_000).ok()?,
        };
        d.is_valid().then_some(d)
    }

    /// Parses the JSON form (`1.5s`, `-3s`): an optional `-`, ASCII digits, optionally a point
    /// and up to nine ASCII digits, then `s`; `None` for anything else and for values outside
    /// [`Duration::is_valid`].
    pub fn parse(text: &str) -> Option<Self> {
        let number = text.strip_suffix('s')?;
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, number),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((whole, frac)) if !frac.is_empty() => (whole, frac),
            Some(_) => return None,
            None => (digits, ""),
        };
        if whole.is_empty() || frac.len() > 9 {
            return None;
        }
        let seconds = ascii_decimal(whole)?;
        // The fraction's digits, scaled to nanoseconds.
        let nanos = ascii_decimal(frac)? * 10u64.pow(9 - frac.len() as u32);
        let magnitude = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        Duration::from_nanos(if negative { -magnitude } else { magnitude })
    }
}

/// The value of a run of ASCII digits, `None` for any other byte or past `u64`.
fn ascii_decimal(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |n, d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.is_valid() {
            return Err(serde::ser::Error::custom(format!(
                "duration {}s {}ns is out of range",
                self.seconds, self.nanos
            )));
        }
        let negative = self.seconds < 0 || self.nanos < 0;
        let sign = if negative { "-" } else { "" };
        let frac = fraction(self.nanos.unsigned_abs());
        serializer.serialize_str(&format!("{sign}{}{frac}s", self.seconds.unsigned_abs()))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).ok_or_else(|| {
                    E::custom(format!("invalid google.protobuf.Duration value {v:?}"))
                })
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_seconds_with_s() {
        let cases = [
            (
                Duration {
                    seconds: 90,
                    nanos: 0,
                },
                "90s",
            ),
            (
                Duration {
                    seconds: 1,
                    nanos: 500_000_000,
                },
                "1.500s",
            ),
            (
                Duration {
                    seconds: 0,
                    nanos: -10_000_000,
                },
                "-0.010s",
            ),
            (
                Duration {
                    seconds: -2,
                    nanos: -1,
                },
                "-2.000000001s",
            ),
        ];
        for (d, text) in cases {
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<Duration>(&format!("\"{text}\"")).unwrap(),
                d
            );
        }
        assert_eq!(
            Duration::parse("1.5s"),
            Some(Duration {
                seconds: 1,
                nanos: 500_000_000
            })
        );
        for bad in [
            "1",
            "s",
            "1.5",
            "abc",
            "1.0000000001s",
            "-s",
            "999999999999s",
            "315576000001s",
            "-315576000001s",
            "1.0000000000s",
            "--9223372036854775808s",
            "-9223372036854775808s",
            "+1s",
            "1.+5s",
            "1.-5s",
            "1.5.5s",
            " 1s",
            "1.s",
            ".5s",
            "1e3s",
        ] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
        // The ends of the range are read and written.
        for (d, text) in [
            (
                Duration {
                    seconds: 315_576_000_000,
                    nanos: 999_999_999,
                },
                "315576000000.999999999s",
            ),
            (
                Duration {
                    seconds: -315_576_000_000,
                    nanos: -999_999_999,
                },
                "-315576000000.999999999s",
            ),
        ] {
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{text}\""));
            assert_eq!(Duration::parse(text), Some(d));
        }
    }

    #[test]
    fn values_outside_the_range_are_never_written() {
        for (seconds, nanos) in [
            (i64::MIN, 0),
            (i64::MIN, -1),
            (i64::MAX, 0),
            (315_576_000_001, 0),
            (-315_576_000_001, 0),
            (0, 1_000_000_000),
            (0, i32::MIN),
            (0, i32::MAX),
            (1, -1),
            (-1, 1),
        ] {
            let d = Duration { seconds, nanos };
            assert!(!d.is_valid(), "{d:?}");
            assert!(serde_json::to_string(&d).is_err(), "{d:?}");
            assert!(yaml_serde::to_string(&d).is_err(), "{d:?}");
        }
        assert_eq!(
            Duration::from_nanos(-1_500_000_000),
            Some(Duration {
                seconds: -1,
                nanos: -500_000_000
            })
        );
        assert_eq!(
            Duration::from_nanos(i128::from(i64::MIN)),
            Some(Duration {
                seconds: -9_223_372_036,
                nanos: -854_775_808
            })
        );
        assert_eq!(Duration::from_nanos(315_576_000_001 * 1_000_000_000), None);
    }
}
