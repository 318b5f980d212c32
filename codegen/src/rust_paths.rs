//! Rust paths to prost-generated types, relative to the module a generated file is included in.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use prost_reflect::OneofDescriptor;

use crate::error::{CodegenError, Result};
use crate::names::{ident, oneof_type_name, to_snake, to_upper_camel};
use crate::params::{ParamSpec, Params};

/// How the well-known types (`google.protobuf.*`) are mapped to Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WktMapping {
    /// `::pbjson_types::*` for every well-known type. This is what the kratos build
    /// integration configures (pbjson needs its own WKT types for canonical JSON).
    #[default]
    Pbjson,
    /// prost-build's default: `::prost_types::*`, with wrappers as Rust primitives
    /// (`StringValue` → `String`) and `Empty` as `()`.
    Prost,
}

/// The parameters [`RustPaths::from_params`] reads, for a plugin's parameter list.
pub const RUST_PATH_PARAMS: [ParamSpec; 2] =
    [ParamSpec::single("wkt"), ParamSpec::repeated("extern_path")];

/// Resolves fully qualified proto type names (`.pkg.Msg.Nested`) to Rust paths the way
/// prost-build does: `super::` up to the common ancestor module, then snake-case modules for
/// packages and parent messages, then the UpperCamel type name. Extern paths take precedence.
#[derive(Debug, Clone)]
pub struct RustPaths {
    /// How the well-known types are mapped.
    wkt: WktMapping,
    /// Proto path prefix (`.google.protobuf`) → Rust path (`::pbjson_types`).
    externs: BTreeMap<String, String>,
}

impl Default for RustPaths {
    fn default() -> Self {
        RustPaths::new(WktMapping::default())
    }
}

impl RustPaths {
    /// Paths with the given well-known type mapping and no other extern paths.
    pub fn new(wkt: WktMapping) -> Self {
        let mut externs = BTreeMap::new();
        match wkt {
            WktMapping::Pbjson => {
                externs.insert(".google.protobuf".into(), "::pbjson_types".into());
            }
            WktMapping::Prost => {
                externs.insert(".google.protobuf".into(), "::prost_types".into());
                for (name, ty) in [
                    ("BoolValue", "bool"),
                    ("BytesValue", "::prost::alloc::vec::Vec<u8>"),
                    ("DoubleValue", "f64"),
                    ("Empty", "()"),
                    ("FloatValue", "f32"),
                    ("Int32Value", "i32"),
                    ("Int64Value", "i64"),
                    ("StringValue", "::prost::alloc::string::String"),
                    ("UInt32Value", "u32"),
                    ("UInt64Value", "u64"),
                ] {
                    externs.insert(format!(".google.protobuf.{name}"), ty.into());
                }
            }
        }
        RustPaths { wkt, externs }
    }

    /// The paths given by the parameters every Rust generator of the suite takes:
    /// `wkt=pbjson|prost` (default `pbjson`) and `extern_path=.proto.path=::rust::path`
    /// (repeatable), in prost-build's meaning.
    pub fn from_params(params: &Params) -> Result<Self> {
        let wkt = match params.choice("wkt", &["pbjson", "prost"], "pbjson")? {
            "prost" => WktMapping::Prost,
            _ => WktMapping::Pbjson,
        };
        let mut paths = RustPaths::new(wkt);
        for value in params.all("extern_path") {
            paths.add_extern_param(value)?;
        }
        Ok(paths)
    }

    /// How the well-known types are mapped.
    pub fn wkt(&self) -> WktMapping {
        self.wkt
    }

    /// Adds an extern path, in prost-build's form: `.my.pkg` → `::my_crate::pkg`.
    pub fn add_extern(&mut self, proto_path: &str, rust_path: &str) -> Result<()> {
        let valid = proto_path.starts_with('.') && !proto_path[1..].split('.').any(str::is_empty);
        if !valid {
            return Err(CodegenError::parameter(
                "extern_path",
                format!("'{proto_path}' must be a fully qualified proto path such as .my.pkg"),
            ));
        }
        if rust_path.is_empty() {
            return Err(CodegenError::parameter(
                "extern_path",
                format!("'{proto_path}' has an empty Rust path"),
            ));
        }
        // Every path `resolve` returns must be Rust tokens (see `type_tokens`).
        if let Err(e) = rust_path.parse::<TokenStream>() {
            return Err(CodegenError::parameter(
                "extern_path",
                format!("'{rust_path}' is not a Rust path: {e}"),
            ));
        }
        self.externs.insert(proto_path.into(), rust_path.into());
        Ok(())
    }

    /// Adds an extern path given as a plugin parameter value: `.my.pkg=::my_crate::pkg`.
    pub fn add_extern_param(&mut self, value: &str) -> Result<()> {
        let (proto, rust) = value.split_once('=').ok_or_else(|| {
            CodegenError::parameter(
                "extern_path",
                format!("'{value}' must have the form .proto.path=::rust::path"),
            )
        })?;
        self.add_extern(proto, rust)
    }

    /// The Rust path of the type `fq_name` (a full name with or without the leading dot),
    /// as seen from the module of proto package `from_package`.
    pub fn resolve(&self, fq_name: &str, from_package: &str) -> String {
        let dotted = if fq_name.starts_with('.') {
            fq_name.to_string()
        } else {
            format!(".{fq_name}")
        };
        if let Some(path) = self.resolve_extern(&dotted) {
            return path;
        }
        let mut local = from_package.split('.').filter(|s| !s.is_empty()).peekable();
        let mut ident: Vec<&str> = dotted[1..].split('.').collect();
        let type_name = ident.pop().unwrap_or_default();
        let mut ident = ident.into_iter().peekable();
        while local.peek().is_some() && local.peek() == ident.peek() {
            local.next();
            ident.next();
        }
        local
            .map(|_| "super".to_string())
            .chain(ident.map(to_snake))
            .chain(std::iter::once(to_upper_camel(type_name)))
            .collect::<Vec<_>>()
            .join("::")
    }

    /// The Rust type of `fq_name` as tokens, as seen from the module of `from_package`: the
    /// one way generators turn a proto type into a Rust type. Paths come from prost's naming
    /// rules (escaped identifiers) or from extern paths, which [`RustPaths::add_extern`] checks
    /// are Rust tokens, so the parse cannot fail; were it to, the tokens are a
    /// `compile_error!` naming the path rather than a panic.
    pub fn type_tokens(&self, fq_name: &str, from_package: &str) -> TokenStream {
        path_tokens(&self.resolve(fq_name, from_package))
    }

    /// The module prost puts the nested items (oneof enums, nested messages) of message
    /// `fq_name` in: the message's path with its last segment in snake case
    /// (`super::a::Outer` → `super::a::outer`).
    pub fn nested_module(&self, fq_name: &str, from_package: &str) -> String {
        let name = fq_name.rsplit('.').next().unwrap_or(fq_name);
        match self.resolve(fq_name, from_package).rsplit_once("::") {
            Some((parent, _)) => format!("{parent}::{}", to_snake(name)),
            None => to_snake(name),
        }
    }

    /// [`RustPaths::nested_module`] as tokens.
    pub fn nested_module_tokens(&self, fq_name: &str, from_package: &str) -> TokenStream {
        path_tokens(&self.nested_module(fq_name, from_package))
    }

    /// The enum prost generates for a (real) oneof, as tokens: `<nested module>::<Enum>`.
    pub fn oneof_enum_tokens(&self, oneof: &OneofDescriptor, from_package: &str) -> TokenStream {
        let module = self.nested_module_tokens(oneof.parent_message().full_name(), from_package);
        let enum_ident = ident(&oneof_type_name(oneof));
        quote::quote! { #module::#enum_ident }
    }

    fn resolve_extern(&self, dotted: &str) -> Option<String> {
        if let Some(path) = self.externs.get(dotted) {
            return Some(path.clone());
        }
        for (idx, _) in dotted.rmatch_indices('.') {
            if let Some(base) = self.externs.get(&dotted[..idx]) {
                let mut rest: Vec<&str> = dotted[idx + 1..].split('.').collect();
                let type_name = rest.pop().map(to_upper_camel).unwrap_or_default();
                let mut parts: Vec<String> = vec![base.clone()];
                parts.extend(rest.into_iter().map(to_snake));
                parts.push(type_name);
                return Some(parts.join("::"));
            }
        }
        None
    }
}

/// A Rust path as tokens (see [`RustPaths::type_tokens`]).
fn path_tokens(path: &str) -> TokenStream {
    path.parse().unwrap_or_else(|_| {
        let message = format!("unrepresentable type path {path}");
        quote::quote! { compile_error!(#message) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_prost_build() {
        let paths = RustPaths::default();
        assert_eq!(
            paths.resolve(".helloworld.v1.HelloRequest", "helloworld.v1"),
            "HelloRequest"
        );
        assert_eq!(paths.resolve(".a.b.Outer.Inner", "a.b"), "outer::Inner");
        assert_eq!(paths.resolve(".a.c.Msg", "a.b"), "super::c::Msg");
        assert_eq!(
            paths.resolve(".other.Msg", "a.b"),
            "super::super::other::Msg"
        );
        assert_eq!(paths.resolve(".Top", ""), "Top");
        assert_eq!(paths.resolve(".pkg.Top", ""), "pkg::Top");
        assert_eq!(paths.resolve(".type.Self", "x"), "super::r#type::Self_");
    }

    #[test]
    fn type_and_module_tokens_follow_the_paths() {
        let paths = RustPaths::default();
        let text = |t: TokenStream| t.to_string().replace(' ', "");
        assert_eq!(
            text(paths.type_tokens(".a.b.Outer.Inner", "a.b")),
            "outer::Inner"
        );
        assert_eq!(
            text(paths.type_tokens(".type.Self", "x")),
            "super::r#type::Self_"
        );
        assert_eq!(paths.nested_module(".a.b.Outer", "a.b"), "outer");
        assert_eq!(
            paths.nested_module(".a.b.Outer.Type", "a.c"),
            "super::b::outer::r#type"
        );
        assert_eq!(
            paths.nested_module("google.protobuf.Value", "a"),
            "::pbjson_types::value"
        );
    }

    #[test]
    fn well_known_types_follow_the_mapping() {
        let pbjson = RustPaths::new(WktMapping::Pbjson);
        assert_eq!(
            pbjson.resolve(".google.protobuf.Timestamp", "a"),
            "::pbjson_types::Timestamp"
        );
        assert_eq!(
            pbjson.resolve(".google.protobuf.StringValue", "a"),
            "::pbjson_types::StringValue"
        );
        let prost = RustPaths::new(WktMapping::Prost);
        assert_eq!(
            prost.resolve(".google.protobuf.Timestamp", "a"),
            "::prost_types::Timestamp"
        );
        assert_eq!(
            prost.resolve(".google.protobuf.StringValue", "a"),
            "::prost::alloc::string::String"
        );
        assert_eq!(prost.resolve(".google.protobuf.Empty", "a"), "()");
    }

    #[test]
    fn parameters_give_the_mapping_and_extern_paths() {
        let spec = &RUST_PATH_PARAMS;
        let paths =
            RustPaths::from_params(&Params::parse("wkt=prost,extern_path=.a=::x", spec).unwrap())
                .unwrap();
        assert_eq!(paths.wkt(), WktMapping::Prost);
        assert_eq!(paths.resolve(".a.B", "c"), "::x::B");
        assert_eq!(paths.resolve(".google.protobuf.Empty", "c"), "()");
        let default = RustPaths::from_params(&Params::parse("", spec).unwrap()).unwrap();
        assert_eq!(default.wkt(), WktMapping::Pbjson);
        assert!(RustPaths::from_params(&Params::parse("wkt=gogo", spec).unwrap()).is_err());
        assert!(RustPaths::from_params(&Params::parse("extern_path=a", spec).unwrap()).is_err());
    }

    #[test]
    fn extern_paths_take_precedence() {
        let mut paths = RustPaths::default();
        paths.add_extern_param(".common.v1=::common::v1").unwrap();
        assert_eq!(
            paths.resolve(".common.v1.Page.Token", "x"),
            "::common::v1::page::Token"
        );
        assert!(paths.add_extern_param("common=::c").is_err());
        assert!(paths.add_extern_param(".common=::c::\"").is_err());
        assert!(paths.add_extern_param(".common").is_err());
    }
}
