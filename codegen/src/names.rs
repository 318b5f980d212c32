//! Rust identifiers exactly as prost-build produces them.
//!
//! prost-build keeps these helpers private, and generated code that names prost's items must
//! agree with it to the letter (`HelloRequest`, `r#type`, `Self_`, stripped enum prefixes), so
//! the rules are reproduced here and pinned by tests against prost's own cases.

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_reflect::{FieldDescriptor, Kind, OneofDescriptor};

/// Escapes a Rust keyword or reserved word the way prost-build does: `r#type`, `self_`, `_0x`.
pub fn sanitize_identifier(ident: &str) -> String {
    match ident {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident.to_string(),
    }
}

/// The Rust identifier `text`, escaped as prost-build escapes a whole identifier: a keyword
/// that can be raw becomes raw (`type` → `r#type`), `self`/`Self`/`super`/`crate`/`extern`/`_`
/// get a `_` suffix, a leading digit gets a `_` prefix; text already written `r#...` stays raw.
///
/// This is the one place the generators make identifiers from proto names. A longer identifier
/// that embeds a name (`register_type_http_server`) is built from the *unescaped* word
/// ([`snake_word`], [`upper_camel_word`]) and then passed here whole, so it is raw only if the
/// whole identifier is a keyword. Never panics: an empty text (a name made only of
/// underscores, which [`check_rust_names`] refuses first) gives `_`, which then fails the
/// syntax check of the output instead.
pub fn ident(text: &str) -> proc_macro2::Ident {
    let span = proc_macro2::Span::call_site();
    let escaped = match text.strip_prefix("r#") {
        Some(raw) => format!("r#{raw}"),
        None => sanitize_identifier(text),
    };
    match escaped.strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, span),
        None if escaped.is_empty() => proc_macro2::Ident::new("_", span),
        None => proc_macro2::Ident::new(&escaped, span),
    }
}

/// `FooBar` → `foo_bar`, unescaped: the word embedded in longer identifiers.
pub fn snake_word(s: &str) -> String {
    s.to_snake_case()
}

/// `foo_bar` → `FooBar`, unescaped: the word embedded in longer identifiers.
pub fn upper_camel_word(s: &str) -> String {
    s.to_upper_camel_case()
}

/// Checks that every message, field, oneof, enum, enum value, service and method of `file` has
/// a Rust name. A name made only of underscores has none: prost-build and tonic-build turn it
/// into an empty identifier (prost-build 0.14 then panics on its own output), so no generated
/// code can refer to it. Every other legal proto name has one (see [`ident`]).
pub fn check_rust_names(file: &prost_reflect::FileDescriptor) -> crate::Result<()> {
    fn unnamed(name: &str) -> bool {
        name.chars().all(|c| c == '_')
    }
    let fail = |element: String| {
        Err(crate::CodegenError::proto(
            file.name(),
            element,
            "a name made only of underscores has no Rust name (prost-build and tonic-build \
             generate an empty identifier for it); rename it",
        ))
    };
    let check_enum = |e: &prost_reflect::EnumDescriptor| {
        if unnamed(e.name()) {
            return fail(format!("enum {}", e.full_name()));
        }
        for value in e.values() {
            if unnamed(value.name()) {
                return fail(format!("enum {} value {}", e.full_name(), value.name()));
            }
        }
        Ok(())
    };
    // Depth first in declaration order, so that the first offending element is reported.
    let mut messages: Vec<prost_reflect::MessageDescriptor> = file.messages().collect();
    messages.reverse();
    while let Some(message) = messages.pop() {
        if unnamed(message.name()) {
            return fail(format!("message {}", message.full_name()));
        }
        for field in message.fields() {
            if unnamed(field.name()) {
                return fail(format!("field {}", field.full_name()));
            }
        }
        for oneof in message.oneofs() {
            if unnamed(oneof.name()) {
                return fail(format!("oneof {}", oneof.full_name()));
            }
        }
        for e in message.child_enums() {
            check_enum(&e)?;
        }
        let mut children: Vec<prost_reflect::MessageDescriptor> =
            message.child_messages().collect();
        children.reverse();
        messages.extend(children);
    }
    for e in file.enums() {
        check_enum(&e)?;
    }
    for service in file.services() {
        if unnamed(service.name()) {
            return fail(format!("service {}", service.full_name()));
        }
        for method in service.methods() {
            if unnamed(method.name()) {
                return fail(format!("method {}", method.full_name()));
            }
        }
    }
    Ok(())
}

/// `FooBar` → `foo_bar`, escaped (prost's field and module names).
pub fn to_snake(s: &str) -> String {
    sanitize_identifier(&s.to_snake_case())
}

/// `foo_bar` → `FooBar`, escaped (prost's type and variant names).
pub fn to_upper_camel(s: &str) -> String {
    sanitize_identifier(&s.to_upper_camel_case())
}

/// Strips the enum's name from the front of a variant name, as prost-build does by default,
/// unless what remains would not start with an upper-case letter.
pub fn strip_enum_prefix(prefix: &str, name: &str) -> String {
    let stripped = name.strip_prefix(prefix).unwrap_or(name);
    let stripped = if stripped.chars().next().is_some_and(char::is_uppercase) {
        stripped
    } else {
        name
    };
    sanitize_identifier(stripped)
}

/// The Rust variant name prost generates for an enum value (`ERROR_REASON_USER_NOT_FOUND` of
/// enum `ErrorReason` → `UserNotFound`).
pub fn enum_variant(enum_name: &str, value_name: &str) -> String {
    strip_enum_prefix(&to_upper_camel(enum_name), &to_upper_camel(value_name))
}

/// The Rust name of a message field (`r#type` for `type`).
pub fn field_ident(field: &FieldDescriptor) -> String {
    to_snake(field.name())
}

/// The Rust name of the enum prost generates for a oneof, inside the message's module
/// (`OneOf` is appended when a nested type has the same name).
pub fn oneof_type_name(oneof: &OneofDescriptor) -> String {
    let parent = oneof.parent_message();
    let name = to_upper_camel(oneof.name());
    let conflict = parent
        .child_messages()
        .map(|m| to_upper_camel(m.name()))
        .chain(parent.child_enums().map(|e| to_upper_camel(e.name())))
        .any(|n| n == name);
    if conflict {
        format!("{name}OneOf")
    } else {
        name
    }
}

/// How prost represents a singular field: directly (`T`), or as `Option<T>`.
///
/// Message fields are always `Option<T>`; scalars and enums are `Option<T>` when they have
/// explicit presence (proto3 `optional`, proto2 `optional`). Oneof members live in the oneof's
/// enum instead; repeated and map fields are `Vec`/`HashMap`.
pub fn is_option_field(field: &FieldDescriptor) -> bool {
    if field.is_list() || field.is_map() || real_oneof(field).is_some() {
        return false;
    }
    matches!(field.kind(), Kind::Message(_)) || field.supports_presence()
}

/// The oneof a field belongs to, ignoring the synthetic oneof of a proto3 `optional` field.
pub fn real_oneof(field: &FieldDescriptor) -> Option<OneofDescriptor> {
    field.containing_oneof().filter(|o| !o.is_synthetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prost_identifiers() {
        assert_eq!(sanitize_identifier("type"), "r#type");
        assert_eq!(sanitize_identifier("gen"), "r#gen");
        assert_eq!(sanitize_identifier("self"), "self_");
        assert_eq!(sanitize_identifier("Self"), "Self_");
        assert_eq!(sanitize_identifier("0foo"), "_0foo");
        assert_eq!(to_snake("FooBarBAZ"), "foo_bar_baz");
        assert_eq!(to_snake("XMLHttpRequest"), "xml_http_request");
        assert_eq!(to_snake("While"), "r#while");
        assert_eq!(to_snake("FUZZ_BUSTER"), "fuzz_buster");
        assert_eq!(to_upper_camel("foo_bar"), "FooBar");
        assert_eq!(to_upper_camel("self"), "Self_");
        assert_eq!(to_upper_camel("hello_request"), "HelloRequest");
    }

    #[test]
    fn whole_identifiers_are_escaped_embedded_words_are_not() {
        let text = |s: &str| ident(s).to_string();
        for keyword in [
            "as", "async", "await", "box", "break", "const", "continue", "dyn", "else", "enum",
            "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move",
            "mut", "priv", "pub", "ref", "return", "static", "struct", "trait", "true", "try",
            "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
            "abstract", "become", "do", "final", "macro", "override",
        ] {
            assert_eq!(text(keyword), format!("r#{keyword}"));
            assert_eq!(text(&format!("r#{keyword}")), format!("r#{keyword}"));
            assert_eq!(text(&to_snake(keyword)), format!("r#{keyword}"));
            let embedded = format!("register_{}_http_server", snake_word(keyword));
            assert_eq!(text(&embedded), embedded);
        }
        for (name, escaped) in [
            ("self", "self_"),
            ("Self", "Self_"),
            ("super", "super_"),
            ("crate", "crate_"),
            ("extern", "extern_"),
            ("union", "union"),
            ("macro_rules", "macro_rules"),
            ("raw", "raw"),
            ("safe", "safe"),
            ("1x", "_1x"),
            ("", "_"),
        ] {
            assert_eq!(text(name), escaped, "{name}");
        }
        assert_eq!(snake_word("Self"), "self");
        assert_eq!(upper_camel_word("type"), "Type");
        assert_eq!(snake_word("__"), "");
    }

    #[test]
    fn strips_enum_prefixes_like_prost() {
        assert_eq!(
            enum_variant("ErrorReason", "ERROR_REASON_USER_NOT_FOUND"),
            "UserNotFound"
        );
        assert_eq!(
            enum_variant("ErrorReason", "USER_NOT_FOUND"),
            "UserNotFound"
        );
        // What remains must start with an upper-case letter, else the name is kept.
        assert_eq!(strip_enum_prefix("Foo", "FooBar"), "Bar");
        assert_eq!(strip_enum_prefix("Foo", "Foo"), "Foo");
        assert_eq!(strip_enum_prefix("Foo", "Foobar"), "Foobar");
        assert_eq!(strip_enum_prefix("Foo", "Foo1"), "Foo1");
        assert_eq!(enum_variant("Kind", "KIND_SELF"), "Self_");
    }
}

/// `SayHello` → `SAY_HELLO` (constant names).
pub fn to_shouty_snake(s: &str) -> String {
    heck::ToShoutySnakeCase::to_shouty_snake_case(s)
}

/// tonic-build's module name for a service (`GreeterService` → `greeter_service`): lower-case,
/// with `_` before each upper-case letter that follows another character. Its generated server
/// lives in `<this>_server`.
pub fn tonic_snake(upper_camel: &str) -> String {
    let mut out = String::new();
    let mut chars = upper_camel.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|n| n.is_uppercase()) {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tonic_naming_tests {
    use super::*;

    #[test]
    fn matches_tonic_build() {
        assert_eq!(tonic_snake("Greeter"), "greeter");
        assert_eq!(tonic_snake("GreeterService"), "greeter_service");
        assert_eq!(tonic_snake("HTTPBin"), "h_t_t_p_bin");
        assert_eq!(to_shouty_snake("SayHello"), "SAY_HELLO");
    }
}

/// protoc-gen-go's `GoCamelCase`: the Go name of a field or message (`display_name` →
/// `DisplayName`, `_x` → `XX`, `a.b` → `AB`), as Go's encoders see generated structs.
pub fn go_camel_case(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next_lower = bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        if c == b'.' && next_lower {
            // Skip a '.' before a lower-case letter.
        } else if c == b'.' {
            out.push('_');
        } else if c == b'_' && (i == 0 || bytes[i - 1] == b'.') {
            out.push('X');
        } else if c == b'_' && next_lower {
            // Skip a '_' before a lower-case letter.
        } else if c.is_ascii_digit() {
            out.push(char::from(c));
        } else {
            out.push(char::from(c.to_ascii_uppercase()));
            while bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase) {
                i += 1;
                out.push(char::from(bytes[i]));
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod go_naming_tests {
    use super::go_camel_case;

    #[test]
    fn matches_protoc_gen_go() {
        assert_eq!(go_camel_case("display_name"), "DisplayName");
        assert_eq!(go_camel_case("id"), "Id");
        assert_eq!(go_camel_case("camel_case_field"), "CamelCaseField");
        assert_eq!(go_camel_case("_foo"), "XFoo");
        assert_eq!(go_camel_case("x_1"), "X_1");
        assert_eq!(go_camel_case("big_ids"), "BigIds");
        assert_eq!(go_camel_case("fooBar"), "FooBar");
        assert_eq!(go_camel_case("Foo.bar"), "FooBar");
        // Service and method names, as gnostic's OpenAPI operation ids use them.
        assert_eq!(go_camel_case("SayHello"), "SayHello");
        assert_eq!(go_camel_case("say_hello"), "SayHello");
        assert_eq!(go_camel_case("_x"), "XX");
        assert_eq!(go_camel_case("a2b"), "A2B");
    }
}
