//! Proto3 enums are open: a message may carry an enum number its enum does not declare (a
//! newer peer's value, or any number a protobuf body sent). protojson writes such a number as
//! a JSON number and a known one as its name; [`OpenEnum`] does the same for every serde
//! format (JSON, YAML), so echoing such a message never fails. Reading, it accepts a number
//! (declared or not) and keeps it; a name is read by `E`'s own deserialiser (so an unknown
//! name follows the build's `ignore_unknown_enum_variants` setting).

use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// An enum field's raw number, serialised as the name of `E`'s variant when `E` declares the
/// number and as the number itself otherwise.
pub struct OpenEnum<E> {
    number: i32,
    kind: PhantomData<fn() -> E>,
}

impl<E> OpenEnum<E> {
    /// Wraps an enum field's raw number.
    pub fn new(number: i32) -> Self {
        Self {
            number,
            kind: PhantomData,
        }
    }
}

impl<E> OpenEnum<E> {
    /// The raw number.
    pub fn number(&self) -> i32 {
        self.number
    }
}

impl<'de, E> Deserialize<'de> for OpenEnum<E>
where
    E: Deserialize<'de> + Into<i32>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OpenEnumVisitor(PhantomData))
    }
}

struct OpenEnumVisitor<E>(PhantomData<fn() -> E>);

impl<'de, E> Visitor<'de> for OpenEnumVisitor<E>
where
    E: Deserialize<'de> + Into<i32>,
{
    type Value = OpenEnum<E>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an enum name or a 32-bit enum number")
    }

    fn visit_i64<Er: de::Error>(self, v: i64) -> Result<Self::Value, Er> {
        i32::try_from(v)
            .map(OpenEnum::new)
            .map_err(|_| Er::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<Er: de::Error>(self, v: u64) -> Result<Self::Value, Er> {
        i32::try_from(v)
            .map(OpenEnum::new)
            .map_err(|_| Er::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<Er: de::Error>(self, v: &str) -> Result<Self::Value, Er> {
        let known = E::deserialize(de::value::StrDeserializer::<Er>::new(v))?;
        Ok(OpenEnum::new(known.into()))
    }
}

impl<E> Serialize for OpenEnum<E>
where
    E: TryFrom<i32> + Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match E::try_from(self.number) {
            Ok(known) => known.serialize(serializer),
            Err(_) => serializer.serialize_i32(self.number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OpenEnum;

    #[derive(serde::Serialize, serde::Deserialize)]
    enum Colour {
        #[serde(rename = "RED")]
        Red,
    }

    impl TryFrom<i32> for Colour {
        type Error = ();
        fn try_from(n: i32) -> Result<Self, ()> {
            if n == 1 { Ok(Colour::Red) } else { Err(()) }
        }
    }

    impl From<Colour> for i32 {
        fn from(_: Colour) -> i32 {
            1
        }
    }

    #[test]
    fn numbers_are_read_as_given_and_names_through_the_enum() -> Result<(), serde_json::Error> {
        let read: Vec<OpenEnum<Colour>> = serde_json::from_str(r#"["RED",7,-3,0]"#)?;
        assert_eq!(
            read.iter().map(OpenEnum::number).collect::<Vec<_>>(),
            [1, 7, -3, 0]
        );
        assert!(serde_json::from_str::<OpenEnum<Colour>>("4294967296").is_err());
        assert!(serde_json::from_str::<OpenEnum<Colour>>(r#""BLUE""#).is_err());
        Ok(())
    }

    #[test]
    fn known_numbers_are_names_and_unknown_ones_numbers() -> Result<(), serde_json::Error> {
        let values = [1, 7, -3, 0].map(OpenEnum::<Colour>::new);
        assert_eq!(serde_json::to_string(&values)?, r#"["RED",7,-3,0]"#);
        Ok(())
    }
}
