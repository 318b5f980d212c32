//! `google.protobuf.Timestamp` with its canonical JSON form.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range proto3 JSON allows.
use crate::rfc3339::{MAX_SECONDS, MIN_SECONDS};

/// `google.protobuf.Timestamp`: seconds and nanoseconds since the Unix epoch, UTC. In JSON an
/// RFC 3339 string in UTC with `Z` and 0, 3, 6 or 9 fractional digits
/// (`2023-11-14T22:13:20.123Z`), as protojson writes it; any offset is accepted on input.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Non-negative fractions of a second, 0..=999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Whether the value is one the proto definition allows, and so one RFC 3339 text can
    /// carry: from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, `nanos` in
    /// `0..10^9`. Every reader refuses other values and every writer fails on them (as Go's
    /// protojson does) rather than write a wrong text.
    pub fn is_valid(&self) -> bool {
        (MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds)
            && (0..1_000_000_000).contains(&self.nanos)
    }

    /// The RFC 3339 form, or `None` when the value is outside the range JSON can represent.
    pub fn to_rfc3339(&self) -> Option<String> {
        if !self.is_valid() {
            return None;
        }
        let nanos = u32::try_from(self.nanos).ok()?;
        let mut buf = [0u8; crate::rfc3339::DATE_TIME_LEN];
        let mut text = String::with_capacity(30);
        text.push_str(crate::rfc3339::date_time(self.seconds, &mut buf));
        text.push_str(&fraction(nanos));
        text.push('Z');
        Some(text)
    }

    /// Parses RFC 3339 (any offset), as protojson reads timestamps: `None` for any other text,
    /// for a leap second (`23:59:60`, which Go refuses too) and for instants outside the
    /// range of [`Timestamp::is_valid`].
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        Self::read_rfc3339(text).ok()
    }

    /// [`Timestamp::parse_rfc3339`], saying why a text is refused.
    pub(crate) fn read_rfc3339(text: &str) -> Result<Self, String> {
        let t = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| e.to_string())?;
        // chrono reads a leap second as a second of more than 10^9 nanoseconds.
        let nanos = i32::try_from(t.timestamp_subsec_nanos())
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .ok_or("second out of range")?;
        let ts = Timestamp {
            seconds: t.timestamp(),
            nanos,
        };
        if !ts.is_valid() {
            return Err("outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z".to_string());
        }
        Ok(ts)
    }
}

/// `.123`, `.123456`, `.123456789` or nothing: the shortest of 0, 3, 6, 9 digits.
pub(crate) fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

impl From<std::time::SystemTime> for Timestamp {
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
            },
            Err(e) => {
                let d = e.duration();
                let mut seconds = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                let mut nanos = i32::try_from(d.subsec_nanos()).unwrap_or(0);
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Timestamp { seconds, nanos }
            }
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.to_rfc3339() {
            Some(text) => serializer.serialize_str(&text),
            None => Err(serde::ser::Error::custom(format!(
                "timestamp {}s {}ns is outside the range of RFC 3339",
                self.seconds, self.nanos
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(v).ok_or_else(|| {
                    E::custom(format!("invalid google.protobuf.Timestamp value {v:?}"))
                })
            }
        }
        deserializer.deserialize_str(TimestampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_rfc3339_in_utc_with_z() {
        let t = Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_000_000,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2023-11-14T22:13:20.123Z""#
        );
        let t = Timestamp {
            seconds: 0,
            nanos: 1_000,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""1970-01-01T00:00:00.000001Z""#
        );
        let t = Timestamp {
            seconds: 0,
            nanos: 0,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""1970-01-01T00:00:00Z""#
        );
        let parsed: Timestamp = serde_json::from_str(r#""2023-01-02T03:04:05.5+02:00""#).unwrap();
        assert_eq!(
            parsed,
            Timestamp {
                seconds: 1_672_621_445,
                nanos: 500_000_000
            }
        );
        assert!(serde_json::from_str::<Timestamp>(r#""2024-13-45""#).is_err());
        assert!(
            serde_json::to_string(&Timestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_err()
        );
    }

    #[test]
    fn the_range_ends_are_read_and_written_and_nothing_beyond() {
        for (t, text) in [
            (
                Timestamp {
                    seconds: MIN_SECONDS,
                    nanos: 0,
                },
                "0001-01-01T00:00:00Z",
            ),
            (
                Timestamp {
                    seconds: MAX_SECONDS,
                    nanos: 999_999_999,
                },
                "9999-12-31T23:59:59.999999999Z",
            ),
        ] {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{text}\""));
            assert_eq!(Timestamp::parse_rfc3339(text), Some(t));
        }
        for bad in [
            "0000-12-31T23:59:59Z",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2023-01-02T03:04:05.x5Z",
            "2023-01-02T03:04:05.+5Z",
            "2023-01-02T03:04:05.Z",
            "2023-01-02T03:04:5Z",
            "2023-01-02T24:00:00Z",
            "2023-02-30T00:00:00Z",
            "+2023-01-02T03:04:05Z",
            "2023-01-02T03:04:05",
            "2023-01-02T03:04:05+1:00",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
        for (seconds, nanos) in [
            (MIN_SECONDS - 1, 999_999_999),
            (MAX_SECONDS + 1, 0),
            (i64::MIN, 0),
            (i64::MAX, 0),
            (0, -1),
            (0, 1_000_000_000),
            (0, i32::MIN),
        ] {
            let t = Timestamp { seconds, nanos };
            assert!(!t.is_valid(), "{t:?}");
            assert!(serde_json::to_string(&t).is_err(), "{t:?}");
            assert!(yaml_serde::to_string(&t).is_err(), "{t:?}");
        }
    }
}
