//! `google.protobuf.Timestamp` with its canonical JSON form.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range proto3 JSON allows.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

impl Timestamp {
    /// The RFC 3339 form, or `None` when the value is outside the range JSON can represent.
    pub fn to_rfc3339(&self) -> Option<String> {
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds)
            || !(0..1_000_000_000).contains(&self.nanos)
        {
            return None;
        }
        let nanos = u32::try_from(self.nanos).ok()?;
        let t = chrono::DateTime::from_timestamp(self.seconds, nanos)?;
        let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
        Some(format!("{base}{}Z", fraction(nanos)))
    }

    /// Parses RFC 3339 (any offset), as protojson reads timestamps.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        let seconds = t.timestamp();
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return None;
        }
        Some(Timestamp {
            seconds,
            nanos: i32::try_from(t.timestamp_subsec_nanos()).ok()?,
        })
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
}
