//! Reading `validate.*` options through prost-reflect.

use prost_reflect::{DynamicMessage, ExtensionDescriptor, Value};

/// A rules message (`FieldRules`, `StringRules`, ...) with typed accessors that respect
/// presence (proto2: a field is set only when written in the proto file).
#[derive(Debug, Clone)]
pub struct R(pub DynamicMessage);

impl R {
    /// Whether the rule is set.
    pub fn has(&self, name: &str) -> bool {
        self.0.has_field_by_name(name)
    }

    /// The rule's value, if set.
    pub fn get(&self, name: &str) -> Option<Value> {
        if self.has(name) {
            self.0.get_field_by_name(name).map(|v| v.into_owned())
        } else {
            None
        }
    }

    /// A bool rule (false when unset).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Value::Bool(true)))
    }

    /// A bool rule with its default when unset.
    pub fn flag_or(&self, name: &str, default: bool) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => b,
            _ => default,
        }
    }

    /// A `uint64` rule.
    pub fn u64(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(Value::U64(v)) => Some(v),
            _ => None,
        }
    }

    /// A string rule.
    pub fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::String(v)) => Some(v),
            _ => None,
        }
    }

    /// A bytes rule.
    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        match self.get(name) {
            Some(Value::Bytes(v)) => Some(v.to_vec()),
            _ => None,
        }
    }

    /// An enum rule, as its number.
    pub fn enum_number(&self, name: &str) -> Option<i32> {
        match self.get(name) {
            Some(Value::EnumNumber(v)) => Some(v),
            _ => None,
        }
    }

    /// A repeated rule (empty when unset).
    pub fn list(&self, name: &str) -> Vec<Value> {
        match self.get(name) {
            Some(Value::List(l)) => l,
            _ => Vec::new(),
        }
    }

    /// A message rule.
    pub fn msg(&self, name: &str) -> Option<R> {
        match self.get(name) {
            Some(Value::Message(m)) => Some(R(m)),
            _ => None,
        }
    }
}

/// The rule types of `FieldRules.type`, in field-number order.
pub const TYPES: &[&str] = &[
    "float",
    "double",
    "int32",
    "int64",
    "uint32",
    "uint64",
    "sint32",
    "sint64",
    "fixed32",
    "fixed64",
    "sfixed32",
    "sfixed64",
    "bool",
    "string",
    "bytes",
    "enum",
    "repeated",
    "map",
    "any",
    "duration",
    "timestamp",
];

/// The type rules of a `FieldRules` (its `type` oneof), if any.
pub fn type_rules(rules: &R) -> Option<(&'static str, R)> {
    TYPES.iter().find_map(|t| rules.msg(t).map(|r| (*t, r)))
}

/// The `validate.*` extensions, when the request's files import `validate/validate.proto`.
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    /// `validate.rules` on fields.
    pub rules: Option<ExtensionDescriptor>,
    /// `validate.disabled` on messages.
    pub disabled: Option<ExtensionDescriptor>,
    /// `validate.ignored` on messages.
    pub ignored: Option<ExtensionDescriptor>,
    /// `validate.required` on oneofs.
    pub required: Option<ExtensionDescriptor>,
}

impl Extensions {
    /// Looks the extensions up in the pool.
    pub fn new(pool: &prost_reflect::DescriptorPool) -> Self {
        Extensions {
            rules: pool.get_extension_by_name("validate.rules"),
            disabled: pool.get_extension_by_name("validate.disabled"),
            ignored: pool.get_extension_by_name("validate.ignored"),
            required: pool.get_extension_by_name("validate.required"),
        }
    }

    /// The `FieldRules` of a field, if it has any.
    pub fn field_rules(&self, options: &DynamicMessage) -> Option<R> {
        let ext = self.rules.as_ref()?;
        if !options.has_extension(ext) {
            return None;
        }
        match options.get_extension(ext).into_owned() {
            Value::Message(m) => Some(R(m)),
            _ => None,
        }
    }

    /// A bool option of a message or oneof.
    pub fn flag(ext: &Option<ExtensionDescriptor>, options: &DynamicMessage) -> bool {
        match ext {
            Some(ext) if options.has_extension(ext) => {
                matches!(options.get_extension(ext).as_ref(), Value::Bool(true))
            }
            _ => false,
        }
    }
}
