//! Proto3 JSON on top of serde: what every JSON (and YAML) body the runtime writes goes
//! through.
//!
//! - Non-finite floats. The proto3 JSON mapping writes `float` and `double` values NaN,
//!   Infinity and -Infinity as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`; serde_json
//!   would write `null`, which a Go client rejects or reads as 0. [`Proto3`] wraps any
//!   `Serialize` value so that every `f32`/`f64` it holds, at any depth (fields, lists, map
//!   values, `DoubleValue`/`FloatValue` wrappers), is written that way by whatever serializer
//!   it is given; everything else is passed through unchanged. Reading needs no adapter: the
//!   pbjson-generated deserializers read a float from a number or from a string with Rust's
//!   `f64::from_str`, which takes the three proto3 spellings, and also more (`nan`, `inf`,
//!   `+Infinity`, any letter case) than Go's protojson does; being lenient there costs a Go
//!   client nothing, since it only writes the proto3 spellings.
//! - One field of a message (`response_body`). [`Field`] writes the value of one field of a
//!   message exactly as the message's own serializer writes that field (so int64 as strings,
//!   enums by name, bytes in base64, maps as objects, well-known types in their JSON forms),
//!   and `null` when the message leaves the field out (an unset `optional` field).
//!   [`field_from_slice`] reads such a value back into the message.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::ser::{self, Serialize, Serializer};

/// Writes `value` as JSON with the proto3 spellings of non-finite floats.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&Proto3(value))
}

/// [`to_vec`] into a `String`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(&Proto3(value))
}

/// `value` as a JSON value, non-finite floats as their proto3 strings.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<serde_json::Value> {
    serde_json::to_value(Proto3(value))
}

/// The proto3 JSON text of a non-finite float, `None` for a finite one.
pub fn non_finite_name(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// A value serialized with the proto3 spellings of non-finite floats (see the module
/// documentation), by any serializer.
#[derive(Debug, Clone, Copy)]
pub struct Proto3<'a, T: ?Sized>(pub &'a T);

impl<T: Serialize + ?Sized> Serialize for Proto3<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(ProtoFloats(serializer))
    }
}

/// A serializer writing non-finite floats as proto3 strings and delegating the rest to `S`.
struct ProtoFloats<S>(S);

/// A compound serializer of `S` whose elements are wrapped in [`Proto3`].
struct Compound<C>(C);

impl<S: Serializer> Serializer for ProtoFloats<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        match non_finite_name(f64::from(v)) {
            Some(name) => self.0.serialize_str(name),
            None => self.0.serialize_f32(v),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        match non_finite_name(v) {
            Some(name) => self.0.serialize_str(name),
            None => self.0.serialize_f64(v),
        }
    }

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.0.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.0.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.0.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.0.serialize_u128(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.0.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Proto3(value))
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Proto3(value))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Proto3(value))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Compound)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Compound)
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Compound)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Compound)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Compound)
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Compound)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Compound)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<C: ser::SerializeSeq> ser::SerializeSeq for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_element(&Proto3(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: ser::SerializeTuple> ser::SerializeTuple for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_element(&Proto3(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: ser::SerializeTupleStruct> ser::SerializeTupleStruct for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_field(&Proto3(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: ser::SerializeTupleVariant> ser::SerializeTupleVariant for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_field(&Proto3(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.0.serialize_key(&Proto3(key))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_value(&Proto3(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: ser::SerializeStruct> ser::SerializeStruct for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &Proto3(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: ser::SerializeStructVariant> ser::SerializeStructVariant for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &Proto3(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

/// One field of a message, serialized as the message's serializer writes it, or as `null`
/// when the message leaves it out. The field is found by its JSON name or its proto name (the
/// key the serializer writes it under).
#[derive(Debug, Clone, Copy)]
pub struct Field<'a, T: ?Sized> {
    message: &'a T,
    json_name: &'a str,
    proto_name: &'a str,
}

impl<'a, T: ?Sized> Field<'a, T> {
    /// The field named `json_name` (or `proto_name`) of `message`.
    pub fn new(message: &'a T, json_name: &'a str, proto_name: &'a str) -> Self {
        Self {
            message,
            json_name,
            proto_name,
        }
    }
}

impl<T: Serialize + ?Sized> Serialize for Field<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.message.serialize(Picker {
            inner: serializer,
            names: [self.json_name, self.proto_name],
        })
    }
}

/// A serializer that takes a message (a struct) and writes only the value of the field named
/// by `names` with `inner`.
struct Picker<'n, S> {
    inner: S,
    names: [&'n str; 2],
}

/// The struct serializer of [`Picker`]: `inner` until the field is written, then its result.
struct PickStruct<'n, S: Serializer> {
    inner: Option<S>,
    names: [&'n str; 2],
    written: Option<S::Ok>,
}

fn not_a_message<E: ser::Error>() -> E {
    E::custom("response_body: the reply does not serialize as a message")
}

macro_rules! refuse {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            let _ = ($($arg,)*);
            Err(not_a_message())
        })*
    };
}

impl<'n, S: Serializer> Serializer for Picker<'n, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = ser::Impossible<S::Ok, S::Error>;
    type SerializeTuple = ser::Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = ser::Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = ser::Impossible<S::Ok, S::Error>;
    type SerializeMap = ser::Impossible<S::Ok, S::Error>;
    type SerializeStruct = PickStruct<'n, S>;
    type SerializeStructVariant = ser::Impossible<S::Ok, S::Error>;

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(PickStruct {
            inner: Some(self.inner),
            names: self.names,
            written: None,
        })
    }

    refuse! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<S::Ok, S::Error> {
        Err(not_a_message())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_message())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_message())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(not_a_message())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(not_a_message())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(not_a_message())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(not_a_message())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(not_a_message())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(not_a_message())
    }
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<S: Serializer> ser::SerializeStruct for PickStruct<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        if self.names.contains(&key)
            && let Some(inner) = self.inner.take()
        {
            self.written = Some(value.serialize(inner)?);
        }
        Ok(())
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        match (self.written, self.inner) {
            (Some(ok), _) => Ok(ok),
            (None, Some(inner)) => inner.serialize_none(),
            (None, None) => Err(not_a_message()),
        }
    }
}

/// Reads a message from the JSON value of one of its fields (a `response_body` reply): the
/// message's own deserializer reads `bytes` as the value of the field `json_name`; the other
/// fields keep their defaults.
pub fn field_from_slice<T: DeserializeOwned>(
    bytes: &[u8],
    json_name: &str,
) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let message = T::deserialize(OneField {
        name: json_name,
        value: &mut de,
    })?;
    de.end()?;
    Ok(message)
}

/// A deserializer presenting `value` as the only entry, `name`, of a map: a message's
/// deserializer then reads `value` as that field.
pub(crate) struct OneField<'n, D> {
    pub(crate) name: &'n str,
    pub(crate) value: D,
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for OneField<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_map(OneEntry {
            name: Some(self.name),
            value: Some(self.value),
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct OneEntry<'n, D> {
    name: Option<&'n str>,
    value: Option<D>,
}

impl<'de, D: de::Deserializer<'de>> MapAccess<'de> for OneEntry<'_, D> {
    type Error = D::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, D::Error> {
        match self.name.take() {
            Some(name) => seed
                .deserialize(IntoDeserializer::<D::Error>::into_deserializer(name))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, D::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("the field's value was read twice")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(usize::from(self.name.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        score: f64,
        ratios: Vec<f32>,
        weights: std::collections::BTreeMap<String, f64>,
        nested: Option<Box<Sample>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe: Option<f64>,
        big: String,
    }

    fn sample() -> Sample {
        Sample {
            score: f64::NAN,
            ratios: vec![1.5, f32::INFINITY, f32::NEG_INFINITY],
            weights: [("a".to_string(), f64::NEG_INFINITY)].into(),
            nested: Some(Box::new(Sample {
                score: f64::INFINITY,
                ratios: vec![],
                weights: Default::default(),
                nested: None,
                maybe: None,
                big: "1".into(),
            })),
            maybe: None,
            big: "9007199254740993".into(),
        }
    }

    #[test]
    fn non_finite_floats_are_proto3_strings_at_any_depth() {
        let json = to_string(&sample()).unwrap();
        assert_eq!(
            json,
            r#"{"score":"NaN","ratios":[1.5,"Infinity","-Infinity"],"weights":{"a":"-Infinity"},"nested":{"score":"Infinity","ratios":[],"weights":{},"nested":null,"big":"1"},"big":"9007199254740993"}"#
        );
        assert_eq!(to_value(&f32::NAN).unwrap(), serde_json::json!("NaN"));
        assert_eq!(to_vec(&2.5f64).unwrap(), b"2.5");
        let yaml = yaml_serde::to_string(&Proto3(&vec![f64::INFINITY, 0.5])).unwrap();
        assert_eq!(yaml, "- Infinity\n- 0.5\n");
    }

    #[test]
    fn one_field_is_written_as_the_message_writes_it() {
        let s = sample();
        let field = |json: &str, proto: &str| to_string(&Field::new(&s, json, proto)).unwrap();
        assert_eq!(field("ratios", "ratios"), r#"[1.5,"Infinity","-Infinity"]"#);
        assert_eq!(field("weights", "weights"), r#"{"a":"-Infinity"}"#);
        assert_eq!(field("big", "big"), r#""9007199254740993""#);
        assert_eq!(field("score", "score"), r#""NaN""#);
        // Left out by the message: null.
        assert_eq!(field("maybe", "maybe"), "null");
        // Found by the other name.
        assert_eq!(field("bigValue", "big"), r#""9007199254740993""#);
        assert!(to_string(&Field::new(&5, "x", "x")).is_err());
    }

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    struct Target {
        titles: Vec<String>,
        other: String,
    }

    #[test]
    fn one_field_reads_back_into_the_message() {
        let t: Target = field_from_slice(br#" ["a","b"] "#, "titles").unwrap();
        assert_eq!(
            t,
            Target {
                titles: vec!["a".into(), "b".into()],
                other: String::new()
            }
        );
        assert!(field_from_slice::<Target>(br#"["a"] x"#, "titles").is_err());
        assert!(field_from_slice::<Target>(br#"[1]"#, "titles").is_err());
    }
}
