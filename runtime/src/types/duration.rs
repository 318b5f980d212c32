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

const MAX_SECONDS: i64 = 315_576_000_000;

impl Duration {
    fn valid(&self) -> bool {
        self.seconds.abs() <= MAX_SECONDS
            && self.nanos.abs() < 1_000_000_000
            && (self.seconds == 0 || self.nanos == 0 || (self.seconds < 0) == (self.nanos < 0))
    }

    /// Parses the JSON form (`1.5s`, `-3s`).
    pub fn parse(text: &str) -> Option<Self> {
        let number = text.strip_suffix('s')?;
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, number),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seconds: i64 = whole.parse().ok()?;
        let mut nanos: i32 = 0;
        if !frac.is_empty() {
            nanos = format!("{frac:0<9}").parse().ok()?;
        }
        let d = if negative {
            Duration {
                seconds: -seconds,
                nanos: -nanos,
            }
        } else {
            Duration { seconds, nanos }
        };
        d.valid().then_some(d)
    }
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
        if !self.valid() {
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
        ] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
    }
}
