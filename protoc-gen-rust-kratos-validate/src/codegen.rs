//! Code generation: one `Check` and one `Validate` implementation per message, with the rule
//! checks in Go PGV's order and Go PGV's messages.

use kratos_codegen::names::{ident, oneof_type_name, real_oneof, to_snake, to_upper_camel};
use kratos_codegen::{CodegenError, Result, RustPaths, WktMapping};
use proc_macro2::{Literal, TokenStream};
use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, Value};
use quote::quote;

use crate::gofmt;
use crate::re2;
use crate::rules::{Extensions, R, type_rules};

/// What code generation needs to know about the request.
pub struct Gen<'a> {
    /// Rust paths of prost's types.
    pub paths: &'a RustPaths,
    /// How well-known types are mapped.
    pub wkt: WktMapping,
    /// The `validate.*` extensions.
    pub ext: &'a Extensions,
}

/// Where a violation is reported: the message and field (Go names), the field path and the
/// index or map key of an element.
#[derive(Clone)]
struct Site {
    msg_go: String,
    field_go: String,
    path: String,
    index: Index,
    /// `pkg.Msg.field` for generation errors.
    element: String,
    file: String,
}

#[derive(Clone)]
enum Index {
    None,
    Idx(TokenStream),
    Key(TokenStream, bool),
}

fn esc(s: &str) -> String {
    s.replace('{', "{{").replace('}', "}}")
}

impl Site {
    fn err(&self, rule: &str, reason: impl Into<String>) -> CodegenError {
        CodegenError::proto(
            self.file.clone(),
            format!("field {}", self.element),
            format!("rule `{rule}`: {}", reason.into()),
        )
    }

    fn with_index(&self, index: Index) -> Site {
        let mut s = self.clone();
        s.index = index;
        s
    }

    /// The field path expression (`&str`).
    fn field_expr(&self) -> TokenStream {
        match &self.index {
            Index::None => {
                let p = &self.path;
                quote!(#p)
            }
            Index::Idx(i) | Index::Key(i, _) => {
                let f = format!("{}[{{}}]", esc(&self.path));
                quote!(::std::format!(#f, #i))
            }
        }
    }

    /// The head of the message (`invalid Msg.Field[{}]: `) as a format string, with its
    /// arguments.
    fn head(&self) -> (String, Vec<TokenStream>) {
        match &self.index {
            Index::None => (
                format!("invalid {}.{}: ", self.msg_go, self.field_go),
                vec![],
            ),
            Index::Idx(i) => (
                format!("invalid {}.{}[{{}}]: ", self.msg_go, self.field_go),
                vec![i.clone()],
            ),
            Index::Key(k, on_key) => (
                format!(
                    "invalid {}{}.{}[{{}}]: ",
                    if *on_key { "key for " } else { "" },
                    self.msg_go,
                    self.field_go
                ),
                vec![k.clone()],
            ),
        }
    }

    /// Records a violation with a constant reason.
    fn push(&self, reason: &str) -> TokenStream {
        let field = self.field_expr();
        let (head, args) = self.head();
        let message = if args.is_empty() {
            let m = format!("{head}{reason}");
            quote!(#m)
        } else {
            let f = format!("{head}{}", esc(reason));
            quote!(::std::format!(#f, #(#args),*))
        };
        quote! {
            __v.push(#field, #message);
            if __v.done() { return; }
        }
    }

    /// Records a violation with a cause (`reason | caused by: cause`).
    fn push_cause(&self, reason: &str, cause: TokenStream) -> TokenStream {
        let field = self.field_expr();
        let (head, args) = self.head();
        let f = format!("{head}{} | caused by: {{}}", esc(reason));
        quote! {
            __v.push(#field, ::std::format!(#f, #(#args,)* #cause));
            if __v.done() { return; }
        }
    }

    /// Records the violations of an embedded message held in `__sub`.
    fn embed(&self) -> TokenStream {
        let field = self.field_expr();
        let (head, args) = self.head();
        let reason = "embedded message failed validation | caused by: ";
        let prefix = if args.is_empty() {
            let m = format!("{head}{reason}");
            quote!(#m)
        } else {
            let f = format!("{head}{}", esc(reason));
            quote!(&::std::format!(#f, #(#args),*))
        };
        let field = match self.index {
            Index::None => field,
            _ => quote!(&#field),
        };
        quote! {
            if !__sub.is_empty() {
                __v.embed(#field, #prefix, __sub);
                if __v.done() { return; }
            }
        }
    }
}

/// Numeric field types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NumTy {
    F32,
    F64,
    I32,
    I64,
    U32,
    U64,
}

impl NumTy {
    fn rust(self) -> TokenStream {
        match self {
            NumTy::F32 => quote!(f32),
            NumTy::F64 => quote!(f64),
            NumTy::I32 => quote!(i32),
            NumTy::I64 => quote!(i64),
            NumTy::U32 => quote!(u32),
            NumTy::U64 => quote!(u64),
        }
    }

    fn is_float(self) -> bool {
        matches!(self, NumTy::F32 | NumTy::F64)
    }
}

/// A rule constant: its Rust literal, Go rendering and a comparable key.
#[derive(Clone)]
struct Bound {
    lit: TokenStream,
    go: String,
    key: f64,
    ikey: i128,
}

impl Bound {
    fn gt(&self, other: &Bound, float: bool) -> bool {
        if float {
            self.key > other.key
        } else {
            self.ikey > other.ikey
        }
    }

    fn same(&self, other: &Bound, float: bool) -> bool {
        if float {
            self.key == other.key
        } else {
            self.ikey == other.ikey
        }
    }
}

fn float_lit(v: f64, ty: NumTy) -> TokenStream {
    let t = ty.rust();
    if v.is_nan() {
        quote!(#t::NAN)
    } else if v.is_infinite() {
        if v > 0.0 {
            quote!(#t::INFINITY)
        } else {
            quote!(#t::NEG_INFINITY)
        }
    } else if ty == NumTy::F32 {
        let l = Literal::f32_suffixed(v as f32);
        quote!(#l)
    } else {
        let l = Literal::f64_suffixed(v);
        quote!(#l)
    }
}

fn num_bound(v: &Value, ty: NumTy) -> Option<Bound> {
    let (f, i): (f64, i128) = match v {
        Value::F32(x) => (f64::from(*x), 0),
        Value::F64(x) => (*x, 0),
        Value::I32(x) => (0.0, i128::from(*x)),
        Value::I64(x) => (0.0, i128::from(*x)),
        Value::U32(x) => (0.0, i128::from(*x)),
        Value::U64(x) => (0.0, i128::from(*x)),
        _ => return None,
    };
    let (lit, go) = match ty {
        NumTy::F32 => (float_lit(f, ty), gofmt::float(f, true)),
        NumTy::F64 => (float_lit(f, ty), gofmt::float(f, false)),
        NumTy::I32 => {
            let l = Literal::i32_suffixed(i32::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
        NumTy::I64 => {
            let l = Literal::i64_suffixed(i64::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
        NumTy::U32 => {
            let l = Literal::u32_suffixed(u32::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
        NumTy::U64 => {
            let l = Literal::u64_suffixed(u64::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
    };
    Some(Bound {
        lit,
        go,
        key: f,
        ikey: i,
    })
}

/// The generation-time checks on a range (Go PGV's `checkNums`).
#[allow(clippy::too_many_arguments)]
fn check_range(
    site: &Site,
    rule: &str,
    has_const: bool,
    other_rules: bool,
    in_len: usize,
    not_in_len: usize,
    b: &Ranges,
    float: bool,
) -> Result<()> {
    if in_len > 0 && not_in_len > 0 {
        return Err(site.err(
            rule,
            "cannot have both `in` and `not_in` rules on the same field",
        ));
    }
    let any_range = b.lt.is_some() || b.lte.is_some() || b.gt.is_some() || b.gte.is_some();
    if has_const && (in_len > 0 || not_in_len > 0 || any_range || other_rules) {
        return Err(site.err(rule, "`const` can be the only rule on a field"));
    }
    if in_len > 0 && any_range {
        return Err(site.err(
            rule,
            "cannot have both `in` and range constraint rules on the same field",
        ));
    }
    if b.lt.is_some() && b.lte.is_some() {
        return Err(site.err(
            rule,
            "cannot have both `lt` and `lte` rules on the same field",
        ));
    }
    if b.gt.is_some() && b.gte.is_some() {
        return Err(site.err(
            rule,
            "cannot have both `gt` and `gte` rules on the same field",
        ));
    }
    let eq = |a: &Option<Bound>, c: &Option<Bound>| match (a, c) {
        (Some(a), Some(c)) => a.same(c, float),
        _ => false,
    };
    if b.lt.is_some() {
        if eq(&b.lt, &b.gt) {
            return Err(site.err(
                rule,
                "cannot have equal `gt` and `lt` rules on the same field",
            ));
        }
        if eq(&b.lt, &b.gte) {
            return Err(site.err(
                rule,
                "cannot have equal `gte` and `lt` rules on the same field",
            ));
        }
    } else if b.lte.is_some() {
        if eq(&b.lte, &b.gt) {
            return Err(site.err(
                rule,
                "cannot have equal `gt` and `lte` rules on the same field",
            ));
        }
        if eq(&b.lte, &b.gte) {
            return Err(site.err(rule, "use `const` instead of equal `lte` and `gte` rules"));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Ranges {
    lt: Option<Bound>,
    lte: Option<Bound>,
    gt: Option<Bound>,
    gte: Option<Bound>,
}

/// Go PGV's `ltgt` template over `val` (an expression comparable with the bounds' literals).
fn ltgt(val: &TokenStream, b: &Ranges, float: bool, site: &Site) -> TokenStream {
    let check = |cond: TokenStream, reason: String| {
        let push = site.push(&reason);
        quote!(if #cond { #push })
    };
    if let Some(lt) = &b.lt {
        let l = &lt.lit;
        if let Some(gt) = &b.gt {
            let g = &gt.lit;
            if lt.gt(gt, float) {
                check(
                    quote!(#val <= #g || #val >= #l),
                    format!("value must be inside range ({}, {})", gt.go, lt.go),
                )
            } else {
                check(
                    quote!(#val >= #l && #val <= #g),
                    format!("value must be outside range [{}, {}]", lt.go, gt.go),
                )
            }
        } else if let Some(gte) = &b.gte {
            let g = &gte.lit;
            if lt.gt(gte, float) {
                check(
                    quote!(#val < #g || #val >= #l),
                    format!("value must be inside range [{}, {})", gte.go, lt.go),
                )
            } else {
                check(
                    quote!(#val >= #l && #val < #g),
                    format!("value must be outside range [{}, {})", lt.go, gte.go),
                )
            }
        } else {
            check(
                quote!(#val >= #l),
                format!("value must be less than {}", lt.go),
            )
        }
    } else if let Some(lte) = &b.lte {
        let l = &lte.lit;
        if let Some(gt) = &b.gt {
            let g = &gt.lit;
            if lte.gt(gt, float) {
                check(
                    quote!(#val <= #g || #val > #l),
                    format!("value must be inside range ({}, {}]", gt.go, lte.go),
                )
            } else {
                check(
                    quote!(#val > #l && #val <= #g),
                    format!("value must be outside range ({}, {}]", lte.go, gt.go),
                )
            }
        } else if let Some(gte) = &b.gte {
            let g = &gte.lit;
            if lte.gt(gte, float) {
                check(
                    quote!(#val < #g || #val > #l),
                    format!("value must be inside range [{}, {}]", gte.go, lte.go),
                )
            } else {
                check(
                    quote!(#val > #l && #val < #g),
                    format!("value must be outside range ({}, {})", lte.go, gte.go),
                )
            }
        } else {
            check(
                quote!(#val > #l),
                format!("value must be less than or equal to {}", lte.go),
            )
        }
    } else if let Some(gt) = &b.gt {
        let g = &gt.lit;
        check(
            quote!(#val <= #g),
            format!("value must be greater than {}", gt.go),
        )
    } else if let Some(gte) = &b.gte {
        let g = &gte.lit;
        check(
            quote!(#val < #g),
            format!("value must be greater than or equal to {}", gte.go),
        )
    } else {
        TokenStream::new()
    }
}

/// The rule type that fits a scalar kind.
fn scalar_rule(kind: &Kind) -> &'static str {
    match kind {
        Kind::Float => "float",
        Kind::Double => "double",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Enum(_) => "enum",
        Kind::Message(_) => "message",
    }
}

fn num_ty(rule: &str) -> Option<NumTy> {
    Some(match rule {
        "float" => NumTy::F32,
        "double" => NumTy::F64,
        "int32" | "sint32" | "sfixed32" => NumTy::I32,
        "int64" | "sint64" | "sfixed64" => NumTy::I64,
        "uint32" | "fixed32" => NumTy::U32,
        "uint64" | "fixed64" => NumTy::U64,
        _ => return None,
    })
}

/// The scalar rule type a wrapper well-known type accepts.
fn wrapper_rule(full_name: &str) -> Option<&'static str> {
    Some(match full_name {
        "google.protobuf.FloatValue" => "float",
        "google.protobuf.DoubleValue" => "double",
        "google.protobuf.Int32Value" => "int32",
        "google.protobuf.Int64Value" => "int64",
        "google.protobuf.UInt32Value" => "uint32",
        "google.protobuf.UInt64Value" => "uint64",
        "google.protobuf.BoolValue" => "bool",
        "google.protobuf.StringValue" => "string",
        "google.protobuf.BytesValue" => "bytes",
        _ => return None,
    })
}

/// How an embedded message value is reached.
enum MsgVal {
    /// `&Option<T>` (or `&Option<Box<T>>`): a singular field, which may be unset.
    Opt(TokenStream),
    /// `&Option<T>` of a proto3 `optional` field: checked only when set (Go renders these
    /// fields inside `if m.Field != nil`), so `required` cannot fail.
    OptionalSet(TokenStream),
    /// `&T` (or `&Box<T>`): an element or an active oneof member.
    Present(TokenStream),
}

const HTTP_HEADER_NAME: &str = "^:?[0-9a-zA-Z!#$%&'*+-.^_|~\u{60}]+$";
const HTTP_HEADER_VALUE: &str = "^[^\u{0}-\u{8}\u{A}-\u{1F}\u{7F}]*$";
const HEADER_STRING: &str = "^[^\u{0}\u{A}\u{D}]*$";

impl Gen<'_> {
    fn rust_type(&self, full_name: &str, package: &str) -> Result<TokenStream> {
        let path = self.paths.resolve(full_name, package);
        syn_type(&path)
    }

    /// `impl Check` and `impl Validate` for `msg`, or nothing when it is `ignored`.
    pub fn message(&self, msg: &MessageDescriptor, file: &str) -> Result<TokenStream> {
        let options = msg.options();
        if Extensions::flag(&self.ext.ignored, &options) {
            return Ok(TokenStream::new());
        }
        let package = msg.package_name().to_string();
        let ty = self.rust_type(msg.full_name(), &package)?;
        let disabled = Extensions::flag(&self.ext.disabled, &options);
        let relative = msg
            .full_name()
            .strip_prefix(&format!("{package}."))
            .unwrap_or(msg.full_name());
        let msg_go = gofmt::camel_case(relative);
        let mut body = TokenStream::new();
        if !disabled {
            // Go order: fields outside oneofs (declaration order), real oneofs, then proto3
            // optional fields.
            let declared: Vec<FieldDescriptor> = msg
                .descriptor_proto()
                .field
                .iter()
                .filter_map(|f| msg.get_field_by_name(f.name()))
                .collect();
            let mut optional = Vec::new();
            for field in &declared {
                if real_oneof(field).is_some() {
                    continue;
                }
                if field.containing_oneof().is_some() {
                    optional.push(field.clone());
                    continue;
                }
                body.extend(self.field(&msg_go, field, file, &package)?);
            }
            for oneof in msg.oneofs().filter(|o| !o.is_synthetic()) {
                body.extend(self.oneof(msg, &msg_go, &oneof, file, &package)?);
            }
            for field in &optional {
                body.extend(self.field(&msg_go, field, file, &package)?);
            }
        }
        let doc_check = format!(
            " Validation of `{}` against its protoc-gen-validate rules.",
            msg.full_name()
        );
        Ok(quote! {
            #[doc = #doc_check]
            impl ::kratos::validate::rt::Check for #ty {
                #[allow(unused_variables, unused_imports, clippy::all)]
                fn kratos_check(&self, __v: &mut ::kratos::validate::rt::Violations) {
                    use ::kratos::validate::rt::{ViaCheck as _, ViaNothing as _};
                    #body
                }
            }
            impl ::kratos::validate::Validate for #ty {
                fn validate(&self) -> ::core::result::Result<(), ::kratos::validate::ValidationError> {
                    let mut v = ::kratos::validate::rt::Violations::new(false);
                    ::kratos::validate::rt::Check::kratos_check(self, &mut v);
                    v.into_first()
                }
                fn validate_all(&self) -> ::core::result::Result<(), ::std::vec::Vec<::kratos::validate::ValidationError>> {
                    let mut v = ::kratos::validate::rt::Violations::new(true);
                    ::kratos::validate::rt::Check::kratos_check(self, &mut v);
                    v.into_all()
                }
            }
        })
    }

    fn site(&self, msg_go: &str, field: &FieldDescriptor, file: &str) -> Site {
        Site {
            msg_go: msg_go.to_string(),
            field_go: gofmt::camel_case(field.name()),
            path: field.name().to_string(),
            index: Index::None,
            element: field.full_name().to_string(),
            file: file.to_string(),
        }
    }

    fn oneof(
        &self,
        msg: &MessageDescriptor,
        msg_go: &str,
        oneof: &prost_reflect::OneofDescriptor,
        file: &str,
        package: &str,
    ) -> Result<TokenStream> {
        let required = Extensions::flag(&self.ext.required, &oneof.options());
        let msg_path = self.paths.resolve(msg.full_name(), package);
        let module = match msg_path.rsplit_once("::") {
            Some((prefix, _)) => format!("{prefix}::{}", to_snake(msg.name())),
            None => to_snake(msg.name()),
        };
        let enum_path = syn_path(&format!("{module}::{}", oneof_type_name(oneof)))?;
        let field_name = to_snake(oneof.name());
        let field_ident = ident(&field_name);
        let mut arms = TokenStream::new();
        let mut any = false;
        for field in oneof.fields() {
            let variant = ident(&to_upper_camel(field.name()));
            let site = self.site(msg_go, &field, file);
            let rules = self.rules_of(&field);
            let body = self.singular_value(&field, rules.as_ref(), &site, package, true)?;
            if !body.is_empty() {
                any = true;
                arms.extend(
                    quote!(::core::option::Option::Some(#enum_path::#variant(__x)) => { #body }),
                );
            }
        }
        if !any && !required {
            return Ok(TokenStream::new());
        }
        let none = if required {
            let site = Site {
                msg_go: msg_go.to_string(),
                field_go: gofmt::camel_case(oneof.name()),
                path: oneof.name().to_string(),
                index: Index::None,
                element: oneof.full_name().to_string(),
                file: file.to_string(),
            };
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        Ok(quote! {
            match &self.#field_ident {
                #arms
                ::core::option::Option::None => { #none }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        })
    }

    fn rules_of(&self, field: &FieldDescriptor) -> Option<R> {
        self.ext.field_rules(&field.options())
    }

    fn field(
        &self,
        msg_go: &str,
        field: &FieldDescriptor,
        file: &str,
        package: &str,
    ) -> Result<TokenStream> {
        let site = self.site(msg_go, field, file);
        let rules = self.rules_of(field);
        let ident = ident(&to_snake(field.name()));
        if field.is_map() {
            return self.map(field, rules.as_ref(), &site, package, quote!(&self.#ident));
        }
        if field.is_list() {
            return self.repeated(field, rules.as_ref(), &site, package, quote!(&self.#ident));
        }
        if let Some(r) = &rules
            && (r.has("repeated") || r.has("map"))
        {
            let t = if r.has("map") { "map" } else { "repeated" };
            return Err(site.err(
                t,
                format!(
                    "field is not a {}",
                    if t == "map" { "map" } else { "repeated field" }
                ),
            ));
        }
        let body = self.singular_value(field, rules.as_ref(), &site, package, false)?;
        if body.is_empty() {
            return Ok(body);
        }
        if matches!(field.kind(), Kind::Message(_)) {
            // singular_value reads `&self.field` itself for messages.
            return Ok(quote!({ #body }));
        }
        if field.supports_presence() {
            // Proto3 `optional` (and proto2 optional): checked only when set.
            Ok(quote! {
                if let ::core::option::Option::Some(__x) = &self.#ident { #body }
            })
        } else {
            Ok(quote!({ let __x = &self.#ident; #body }))
        }
    }

    /// The checks of a singular value. For scalars the value is `__x: &T`; for messages the
    /// field is read here (from `__x` when `in_oneof`, else `&self.field`).
    fn singular_value(
        &self,
        field: &FieldDescriptor,
        rules: Option<&R>,
        site: &Site,
        package: &str,
        in_oneof: bool,
    ) -> Result<TokenStream> {
        match field.kind() {
            Kind::Message(desc) => {
                let val = if in_oneof {
                    MsgVal::Present(quote!(__x))
                } else {
                    let ident = ident(&to_snake(field.name()));
                    if field.containing_oneof().is_some() {
                        MsgVal::OptionalSet(quote!(&self.#ident))
                    } else {
                        MsgVal::Opt(quote!(&self.#ident))
                    }
                };
                self.message_value(&desc, rules, val, site, package)
            }
            kind => {
                if let Some(r) = rules
                    && r.has("message")
                {
                    return Err(site.err("message", "field is not embedded but got message rules"));
                }
                self.scalar(&kind, rules, &quote!(__x), site)
            }
        }
    }

    /// Scalar rules on `x` (an expression of type `&T`).
    fn scalar(
        &self,
        kind: &Kind,
        rules: Option<&R>,
        x: &TokenStream,
        site: &Site,
    ) -> Result<TokenStream> {
        let Some(rules) = rules else {
            return Ok(TokenStream::new());
        };
        let Some((rule, r)) = type_rules(rules) else {
            return Ok(TokenStream::new());
        };
        let expected = scalar_rule(kind);
        if rule != expected {
            return Err(site.err(
                rule,
                format!("expected rules for {expected} but got {rule}"),
            ));
        }
        if let Some(ty) = num_ty(rule) {
            return self.numeric(ty, rule, &r, x, site);
        }
        match kind {
            Kind::Bool => Ok(match r.get("const") {
                Some(Value::Bool(b)) => {
                    let push = site.push(&format!("value must equal {b}"));
                    quote!(if *#x != #b { #push })
                }
                _ => TokenStream::new(),
            }),
            Kind::String => self.string(&r, x, site),
            Kind::Bytes => self.bytes(&r, x, site),
            Kind::Enum(e) => self.enumeration(e, &r, x, site),
            _ => Ok(TokenStream::new()),
        }
    }

    fn numeric(
        &self,
        ty: NumTy,
        rule: &str,
        r: &R,
        x: &TokenStream,
        site: &Site,
    ) -> Result<TokenStream> {
        let bound = |name: &str| r.get(name).and_then(|v| num_bound(&v, ty));
        let ranges = Ranges {
            lt: bound("lt"),
            lte: bound("lte"),
            gt: bound("gt"),
            gte: bound("gte"),
        };
        let konst = bound("const");
        let ins: Vec<Bound> = r
            .list("in")
            .iter()
            .filter_map(|v| num_bound(v, ty))
            .collect();
        let not_ins: Vec<Bound> = r
            .list("not_in")
            .iter()
            .filter_map(|v| num_bound(v, ty))
            .collect();
        check_range(
            site,
            rule,
            konst.is_some(),
            false,
            ins.len(),
            not_ins.len(),
            &ranges,
            ty.is_float(),
        )?;
        let n = quote!(__n);
        let mut body = TokenStream::new();
        if let Some(c) = &konst {
            let l = &c.lit;
            let push = site.push(&format!("value must equal {}", c.go));
            body.extend(quote!(if #n != #l { #push }));
        }
        body.extend(ltgt(&n, &ranges, ty.is_float(), site));
        body.extend(in_check(&n, &ins, &not_ins, site));
        if body.is_empty() {
            return Ok(body);
        }
        let t = ty.rust();
        let inner = quote!({ let __n: #t = *#x; #body });
        if r.flag("ignore_empty") {
            let zero = if ty.is_float() {
                float_lit(0.0, ty)
            } else {
                quote!(0)
            };
            Ok(quote!(if *#x != #zero #inner))
        } else {
            Ok(inner)
        }
    }

    fn string(&self, r: &R, x: &TokenStream, site: &Site) -> Result<TokenStream> {
        let s = quote!(__s);
        let mut body = TokenStream::new();
        let ins = strings(&r.list("in"));
        let not_ins = strings(&r.list("not_in"));
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "string",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let len = r.u64("len");
        let (min_len, max_len) = (r.u64("min_len"), r.u64("max_len"));
        let len_bytes = r.u64("len_bytes");
        let (min_bytes, max_bytes) = (r.u64("min_bytes"), r.u64("max_bytes"));
        if len.is_some() && min_len.is_some() {
            return Err(site.err(
                "string.len",
                "cannot have both `len` and `min_len` rules on the same field",
            ));
        }
        if len.is_some() && max_len.is_some() {
            return Err(site.err(
                "string.len",
                "cannot have both `len` and `max_len` rules on the same field",
            ));
        }
        if len_bytes.is_some() && min_bytes.is_some() {
            return Err(site.err(
                "string.len_bytes",
                "cannot have both `len` and `min_len` rules on the same field",
            ));
        }
        if len_bytes.is_some() && max_bytes.is_some() {
            return Err(site.err(
                "string.len_bytes",
                "cannot have both `len` and `max_len` rules on the same field",
            ));
        }
        if let (Some(a), Some(b)) = (min_len, max_len)
            && a > b
        {
            return Err(site.err("string.min_len", "`min` value is greater than `max` value"));
        }
        if let (Some(a), Some(b)) = (min_bytes, max_bytes)
            && a > b
        {
            return Err(site.err(
                "string.min_bytes",
                "`min` value is greater than `max` value",
            ));
        }
        let prefix = r.string("prefix");
        let suffix = r.string("suffix");
        let contains = r.string("contains");
        if let Some(max) = max_len {
            for (name, v) in [
                ("prefix", &prefix),
                ("suffix", &suffix),
                ("contains", &contains),
            ] {
                if v.as_ref().is_some_and(|v| v.chars().count() as u64 > max) {
                    return Err(site.err(
                        &format!("string.{name}"),
                        format!("`{name}` length exceeds the `max_len`"),
                    ));
                }
            }
            if max_bytes.is_some_and(|mb| mb < max) {
                return Err(site.err("string.max_len", "`max_len` cannot exceed `max_bytes`"));
            }
        }
        if let Some(max) = max_bytes {
            for (name, v) in [
                ("prefix", &prefix),
                ("suffix", &suffix),
                ("contains", &contains),
            ] {
                if v.as_ref().is_some_and(|v| v.len() as u64 > max) {
                    return Err(site.err(
                        &format!("string.{name}"),
                        format!("`{name}` length exceeds the `max_bytes`"),
                    ));
                }
            }
        }
        let mut pattern = r.string("pattern");
        let strict = r.flag_or("strict", true);
        if let Some(wk) = r.enum_number("well_known_regex")
            && wk != 0
        {
            if pattern.is_some() {
                return Err(site.err(
                    "string.well_known_regex",
                    "regex `well_known_regex` and regex `pattern` are incompatible",
                ));
            }
            pattern = Some(
                match (wk, strict) {
                    (_, false) => HEADER_STRING,
                    (1, true) => HTTP_HEADER_NAME,
                    _ => HTTP_HEADER_VALUE,
                }
                .to_string(),
            );
        }
        if pattern.is_some() && !ins.is_empty() {
            return Err(site.err(
                "string.pattern",
                "regex `pattern` and `in` rules are incompatible",
            ));
        }

        // const, in/not_in
        if let Some(c) = r.string("const") {
            let push = site.push(&format!("value must equal {c}"));
            body.extend(quote!(if #s != #c { #push }));
        }
        if !ins.is_empty() {
            let push = site.push(&format!("value must be in list {}", gofmt::list(&ins)));
            body.extend(quote!(if !matches!(#s, #(#ins)|*) { #push }));
        } else if !not_ins.is_empty() {
            let push = site.push(&format!(
                "value must not be in list {}",
                gofmt::list(&not_ins)
            ));
            body.extend(quote!(if matches!(#s, #(#not_ins)|*) { #push }));
        }
        // lengths in runes
        let runes = quote!(::kratos::validate::rt::rune_count(#s));
        let eq_min_max = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        };
        if let Some(n) = len.or(eq_min_max(min_len, max_len)) {
            let push = site.push(&format!("value length must be {n} runes"));
            let n = n as usize;
            body.extend(quote!(if #runes != #n { #push }));
        } else if let Some(min) = min_len {
            if let Some(max) = max_len {
                let push = site.push(&format!(
                    "value length must be between {min} and {max} runes, inclusive"
                ));
                let (min, max) = (min as usize, max as usize);
                body.extend(quote!({ let __l = #runes; if __l < #min || __l > #max { #push } }));
            } else {
                let push = site.push(&format!("value length must be at least {min} runes"));
                let min = min as usize;
                body.extend(quote!(if #runes < #min { #push }));
            }
        } else if let Some(max) = max_len {
            let push = site.push(&format!("value length must be at most {max} runes"));
            let max = max as usize;
            body.extend(quote!(if #runes > #max { #push }));
        }
        body.extend(byte_lengths(
            &quote!(#s.len()),
            len_bytes,
            min_bytes,
            max_bytes,
            site,
        ));
        if let Some(p) = &prefix {
            let push = site.push(&format!("value does not have prefix {}", gofmt::quote(p)));
            body.extend(quote!(if !#s.starts_with(#p) { #push }));
        }
        if let Some(p) = &suffix {
            let push = site.push(&format!("value does not have suffix {}", gofmt::quote(p)));
            body.extend(quote!(if !#s.ends_with(#p) { #push }));
        }
        if let Some(p) = &contains {
            let push = site.push(&format!(
                "value does not contain substring {}",
                gofmt::quote(p)
            ));
            body.extend(quote!(if !#s.contains(#p) { #push }));
        }
        if let Some(p) = r.string("not_contains") {
            let push = site.push(&format!("value contains substring {}", gofmt::quote(&p)));
            body.extend(quote!(if #s.contains(#p) { #push }));
        }
        let rt = quote!(::kratos::validate::rt);
        if r.flag("ip") {
            let push = site.push("value must be a valid IP address");
            body.extend(quote!(if !#rt::is_ip(#s) { #push }));
        } else if r.flag("ipv4") {
            let push = site.push("value must be a valid IPv4 address");
            body.extend(quote!(if !#rt::is_ipv4(#s) { #push }));
        } else if r.flag("ipv6") {
            let push = site.push("value must be a valid IPv6 address");
            body.extend(quote!(if !#rt::is_ipv6(#s) { #push }));
        } else if r.flag("email") {
            let push = site.push_cause("value must be a valid email address", quote!(__e));
            body.extend(
                quote!(if let ::core::result::Result::Err(__e) = #rt::validate_email(#s) { #push }),
            );
        } else if r.flag("hostname") {
            let push = site.push_cause("value must be a valid hostname", quote!(__e));
            body.extend(quote!(if let ::core::result::Result::Err(__e) = #rt::validate_hostname(#s) { #push }));
        } else if r.flag("address") {
            let push = site.push("value must be a valid hostname, or ip address");
            body.extend(
                quote!(if #rt::validate_hostname(#s).is_err() && !#rt::is_ip(#s) { #push }),
            );
        } else if r.flag("uri") {
            let cause = site.push_cause("value must be a valid URI", quote!(__e));
            let relative = site.push("value must be absolute");
            body.extend(quote! {
                match #rt::validate_uri(#s) {
                    ::core::result::Result::Ok(()) => {}
                    ::core::result::Result::Err(::core::option::Option::Some(__e)) => { #cause }
                    ::core::result::Result::Err(::core::option::Option::None) => { #relative }
                }
            });
        } else if r.flag("uri_ref") {
            let push = site.push_cause("value must be a valid URI", quote!(__e));
            body.extend(quote!(if let ::core::result::Result::Err(__e) = #rt::validate_uri_ref(#s) { #push }));
        } else if r.flag("uuid") {
            let push = site.push_cause("value must be a valid UUID", quote!(__e));
            body.extend(
                quote!(if let ::core::result::Result::Err(__e) = #rt::validate_uuid(#s) { #push }),
            );
        }
        if let Some(p) = &pattern {
            let translated = re2::translate(p);
            if let Err(e) = regex::Regex::new(&translated) {
                return Err(site.err(
                    "string.pattern",
                    format!("unable to parse regex `pattern` {}: {e}", gofmt::quote(p)),
                ));
            }
            let push = site.push(&format!(
                "value does not match regex pattern {}",
                gofmt::quote(p)
            ));
            body.extend(quote! {
                static __PATTERN: #rt::LazyLock<#rt::Pattern> = #rt::LazyLock::new(|| #rt::Pattern::new(#translated));
                if !__PATTERN.is_match(#s) { #push }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        let inner = quote!({ let __s: &str = ::core::convert::AsRef::<str>::as_ref(#x); #body });
        if r.flag("ignore_empty") {
            Ok(quote!(if !::core::convert::AsRef::<str>::as_ref(#x).is_empty() #inner))
        } else {
            Ok(inner)
        }
    }

    fn bytes(&self, r: &R, x: &TokenStream, site: &Site) -> Result<TokenStream> {
        let b = quote!(__b);
        let mut body = TokenStream::new();
        let ins = byte_list(&r.list("in"));
        let not_ins = byte_list(&r.list("not_in"));
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "bytes",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let len = r.u64("len");
        let (min_len, max_len) = (r.u64("min_len"), r.u64("max_len"));
        if let (Some(a), Some(m)) = (min_len, max_len)
            && a > m
        {
            return Err(site.err("bytes.min_len", "`min` value is greater than `max` value"));
        }
        let prefix = r.bytes("prefix");
        let suffix = r.bytes("suffix");
        let contains = r.bytes("contains");
        if let Some(max) = max_len {
            for (name, v) in [
                ("prefix", &prefix),
                ("suffix", &suffix),
                ("contains", &contains),
            ] {
                if v.as_ref().is_some_and(|v| v.len() as u64 > max) {
                    return Err(site.err(
                        &format!("bytes.{name}"),
                        format!("`{name}` length exceeds the `max_len`"),
                    ));
                }
            }
        }
        let pattern = r.string("pattern");
        if pattern.is_some() && !ins.is_empty() {
            return Err(site.err(
                "bytes.pattern",
                "regex `pattern` and `in` rules are incompatible",
            ));
        }
        body.extend(byte_lengths(&quote!(#b.len()), len, min_len, max_len, site));
        if let Some(p) = &prefix {
            let push = site.push(&format!(
                "value does not have prefix {}",
                gofmt::byte_str(p)
            ));
            let l = Literal::byte_string(p);
            body.extend(quote!(if !#b.starts_with(#l) { #push }));
        }
        if let Some(p) = &suffix {
            let push = site.push(&format!(
                "value does not have suffix {}",
                gofmt::byte_str(p)
            ));
            let l = Literal::byte_string(p);
            body.extend(quote!(if !#b.ends_with(#l) { #push }));
        }
        if let Some(p) = &contains {
            let push = site.push(&format!("value does not contain {}", gofmt::byte_str(p)));
            let l = Literal::byte_string(p);
            let n = p.len();
            let cond = if p.is_empty() {
                quote!(false)
            } else {
                quote!(!#b.windows(#n).any(|__w| __w == #l))
            };
            body.extend(quote!(if #cond { #push }));
        }
        let in_lits = |l: &[Vec<u8>]| -> Vec<TokenStream> {
            l.iter()
                .map(|v| {
                    let lit = Literal::byte_string(v);
                    quote!(&#lit[..])
                })
                .collect()
        };
        let go_list = |l: &[Vec<u8>]| -> String {
            gofmt::list(&l.iter().map(|v| gofmt::byte_slice(v)).collect::<Vec<_>>())
        };
        if !ins.is_empty() {
            let lits = in_lits(&ins);
            let push = site.push(&format!("value must be in list {}", go_list(&ins)));
            body.extend(quote!(if ![#(#lits),*].contains(&#b) { #push }));
        } else if !not_ins.is_empty() {
            let lits = in_lits(&not_ins);
            let push = site.push(&format!("value must not be in list {}", go_list(&not_ins)));
            body.extend(quote!(if [#(#lits),*].contains(&#b) { #push }));
        }
        // Go's template tests `if $r.Const`: an empty constant is no rule.
        if let Some(c) = r.bytes("const").filter(|c| !c.is_empty()) {
            let push = site.push(&format!("value must equal {}", gofmt::byte_slice(&c)));
            let l = Literal::byte_string(&c);
            body.extend(quote!(if #b != &#l[..] { #push }));
        }
        let rt = quote!(::kratos::validate::rt);
        if r.flag("ip") {
            let push = site.push("value must be a valid IP address");
            body.extend(quote!(if !#rt::bytes_is_ip(#b) { #push }));
        } else if r.flag("ipv4") {
            let push = site.push("value must be a valid IPv4 address");
            body.extend(quote!(if !#rt::bytes_is_ipv4(#b) { #push }));
        } else if r.flag("ipv6") {
            let push = site.push("value must be a valid IPv6 address");
            body.extend(quote!(if !#rt::bytes_is_ipv6(#b) { #push }));
        }
        if let Some(p) = &pattern {
            let translated = re2::translate(p);
            if let Err(e) = regex::bytes::Regex::new(&translated) {
                return Err(site.err(
                    "bytes.pattern",
                    format!("unable to parse regex `pattern` {}: {e}", gofmt::quote(p)),
                ));
            }
            let push = site.push(&format!(
                "value does not match regex pattern {}",
                gofmt::quote(p)
            ));
            body.extend(quote! {
                static __PATTERN: #rt::LazyLock<#rt::BytesPattern> = #rt::LazyLock::new(|| #rt::BytesPattern::new(#translated));
                if !__PATTERN.is_match(#b) { #push }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        let inner = quote!({ let __b: &[u8] = ::core::convert::AsRef::<[u8]>::as_ref(#x); #body });
        if r.flag("ignore_empty") {
            Ok(quote!(if !::core::convert::AsRef::<[u8]>::as_ref(#x).is_empty() #inner))
        } else {
            Ok(inner)
        }
    }

    fn enumeration(
        &self,
        e: &EnumDescriptor,
        r: &R,
        x: &TokenStream,
        site: &Site,
    ) -> Result<TokenStream> {
        let ins: Vec<i32> = r.list("in").iter().filter_map(value_i32).collect();
        let not_ins: Vec<i32> = r.list("not_in").iter().filter_map(value_i32).collect();
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "enum",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let defined: Vec<i32> = {
            let mut d: Vec<i32> = e.values().map(|v| v.number()).collect();
            d.sort_unstable();
            d.dedup();
            d
        };
        let defined_only = r.flag("defined_only");
        if defined_only && let Some(bad) = ins.iter().find(|v| !defined.contains(v)) {
            return Err(site.err(
                "enum.in",
                format!("undefined `in` value ({bad}) conflicts with `defined_only` rule"),
            ));
        }
        let mut body = TokenStream::new();
        if let Some(Value::I32(c)) = r.get("const") {
            let push = site.push(&format!("value must equal {c}"));
            body.extend(quote!(if __e != #c { #push }));
        }
        let go = |l: &[i32]| gofmt::list(&l.iter().map(i32::to_string).collect::<Vec<_>>());
        if !ins.is_empty() {
            let push = site.push(&format!("value must be in list {}", go(&ins)));
            body.extend(quote!(if !matches!(__e, #(#ins)|*) { #push }));
        } else if !not_ins.is_empty() {
            let push = site.push(&format!("value must not be in list {}", go(&not_ins)));
            body.extend(quote!(if matches!(__e, #(#not_ins)|*) { #push }));
        }
        if defined_only {
            let push = site.push("value must be one of the defined enum values");
            body.extend(quote!(if !matches!(__e, #(#defined)|*) { #push }));
        }
        if body.is_empty() {
            return Ok(body);
        }
        Ok(quote!({ let __e: i32 = *#x; #body }))
    }

    /// An embedded message: wrappers, Duration, Timestamp, Any, or a message validated
    /// recursively.
    fn message_value(
        &self,
        desc: &MessageDescriptor,
        rules: Option<&R>,
        val: MsgVal,
        site: &Site,
        package: &str,
    ) -> Result<TokenStream> {
        let full = desc.full_name();
        let ty = self.rust_type(full, package)?;
        let typed = rules.and_then(type_rules);
        let msg_rules = rules.and_then(|r| r.msg("message"));
        let required = msg_rules.as_ref().is_some_and(|m| m.flag("required"));
        let skip = msg_rules.as_ref().is_some_and(|m| m.flag("skip"));
        if msg_rules.is_some() {
            match full {
                "google.protobuf.Any" => {
                    return Err(site.err("message", "Any rules should be used for Any fields"));
                }
                "google.protobuf.Duration" => {
                    return Err(site.err(
                        "message",
                        "Duration rules should be used for Duration fields",
                    ));
                }
                "google.protobuf.Timestamp" => {
                    return Err(site.err(
                        "message",
                        "Timestamp rules should be used for Timestamp fields",
                    ));
                }
                _ => {}
            }
            if typed.is_some() && skip {
                return Err(site.err(
                    "message.skip",
                    "Skip should not be used with WKT scalar rules",
                ));
            }
        }
        let (body, none) = match (&typed, full) {
            (Some((rule, r)), _) => {
                let expected = match full {
                    "google.protobuf.Duration" => "duration",
                    "google.protobuf.Timestamp" => "timestamp",
                    "google.protobuf.Any" => "any",
                    f => wrapper_rule(f).unwrap_or("message"),
                };
                if *rule != expected {
                    return Err(site.err(
                        rule,
                        format!("expected rules for {expected} but got {rule}"),
                    ));
                }
                match *rule {
                    "duration" => self.duration(r, site)?,
                    "timestamp" => self.timestamp(r, site)?,
                    "any" => self.any(r, site)?,
                    _ => {
                        // A wrapper: scalar rules on its value.
                        let inner = match self.wkt {
                            WktMapping::Pbjson => quote!(&__m.value),
                            WktMapping::Prost => quote!(__m),
                        };
                        let kind = desc
                            .get_field_by_name("value")
                            .map(|f| f.kind())
                            .unwrap_or(Kind::Bool);
                        let scalar = self.scalar(&kind, rules, &quote!(__x), site)?;
                        let body = if scalar.is_empty() {
                            scalar
                        } else {
                            quote!({ let __x = #inner; #scalar })
                        };
                        let none = if required {
                            site.push("value is required and must not be nil.")
                        } else {
                            TokenStream::new()
                        };
                        (body, none)
                    }
                }
            }
            (None, _) => {
                let none = if required {
                    site.push("value is required")
                } else {
                    TokenStream::new()
                };
                let body = if skip || full.starts_with("google.protobuf.") {
                    TokenStream::new()
                } else {
                    let embed = site.embed();
                    quote! {
                        let mut __sub = __v.nested();
                        (&&::kratos::validate::rt::MaybeCheck(__m)).kratos_maybe_check(&mut __sub);
                        #embed
                    }
                };
                (body, none)
            }
        };
        let none = if matches!(val, MsgVal::OptionalSet(_)) {
            TokenStream::new()
        } else {
            none
        };
        if body.is_empty() && none.is_empty() {
            return Ok(TokenStream::new());
        }
        Ok(match val {
            MsgVal::Opt(expr) | MsgVal::OptionalSet(expr) => {
                let none = if none.is_empty() {
                    TokenStream::new()
                } else {
                    quote!(else { #none })
                };
                quote! {
                    if let ::core::option::Option::Some(__m) = #expr {
                        let __m: &#ty = __m;
                        #body
                    } #none
                }
            }
            MsgVal::Present(expr) => quote!({ let __m: &#ty = #expr; #body }),
        })
    }

    fn duration(&self, r: &R, site: &Site) -> Result<(TokenStream, TokenStream)> {
        let none = if r.flag("required") {
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        let dur = |name: &str| -> Option<Bound> {
            let m = r.msg(name)?;
            Some(duration_bound(&m))
        };
        let ranges = Ranges {
            lt: dur("lt"),
            lte: dur("lte"),
            gt: dur("gt"),
            gte: dur("gte"),
        };
        let konst = dur("const");
        let list = |name: &str| -> Vec<Bound> {
            r.list(name)
                .iter()
                .filter_map(|v| match v {
                    Value::Message(m) => Some(duration_bound(&R(m.clone()))),
                    _ => None,
                })
                .collect()
        };
        let ins = list("in");
        let not_ins = list("not_in");
        check_range(
            site,
            "duration",
            konst.is_some(),
            false,
            ins.len(),
            not_ins.len(),
            &ranges,
            false,
        )?;
        let mut cmp = TokenStream::new();
        let d = quote!(__d);
        if let Some(c) = &konst {
            let l = &c.lit;
            let push = site.push(&format!("value must equal {}", c.go));
            cmp.extend(quote!(if #d != #l { #push }));
        }
        cmp.extend(ltgt(&d, &ranges, false, site));
        // Go prints the rule's Duration messages in the list (prototext).
        let lits = |b: &[Bound]| b.iter().map(|x| x.lit.clone()).collect::<Vec<_>>();
        let texts = |name: &str| -> Vec<String> {
            r.list(name)
                .iter()
                .filter_map(|v| match v {
                    Value::Message(m) => Some(proto_text_seconds_nanos(&R(m.clone()))),
                    _ => None,
                })
                .collect()
        };
        if !ins.is_empty() {
            let l = lits(&ins);
            let push = site.push(&format!(
                "value must be in list {}",
                gofmt::list(&texts("in"))
            ));
            cmp.extend(quote!(if ![#(#l),*].contains(&#d) { #push }));
        } else if !not_ins.is_empty() {
            let l = lits(&not_ins);
            let push = site.push(&format!(
                "value must not be in list {}",
                gofmt::list(&texts("not_in"))
            ));
            cmp.extend(quote!(if [#(#l),*].contains(&#d) { #push }));
        }
        if cmp.is_empty() {
            return Ok((TokenStream::new(), none));
        }
        let rt = quote!(::kratos::validate::rt);
        let invalid = site.push_cause("value is not a valid duration", quote!(__e));
        let body = quote! {
            match #rt::duration_check_valid(__m.seconds, __m.nanos) {
                ::core::result::Result::Err(__e) => { #invalid }
                ::core::result::Result::Ok(()) => {
                    let __d: i64 = #rt::duration_nanos(__m.seconds, __m.nanos);
                    #cmp
                }
            }
        };
        Ok((body, none))
    }

    fn timestamp(&self, r: &R, site: &Site) -> Result<(TokenStream, TokenStream)> {
        let none = if r.flag("required") {
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        let ts = |name: &str| -> Option<Bound> {
            let m = r.msg(name)?;
            Some(timestamp_bound(&m))
        };
        let ranges = Ranges {
            lt: ts("lt"),
            lte: ts("lte"),
            gt: ts("gt"),
            gte: ts("gte"),
        };
        let konst = ts("const");
        check_range(
            site,
            "timestamp",
            konst.is_some(),
            false,
            0,
            0,
            &ranges,
            false,
        )?;
        let lt_now = r.has("lt_now");
        let gt_now = r.has("gt_now");
        let within = r.msg("within");
        let absolute = ranges.lt.is_some()
            || ranges.lte.is_some()
            || ranges.gt.is_some()
            || ranges.gte.is_some();
        if (lt_now || gt_now) && absolute {
            return Err(site.err(
                "timestamp.lt_now",
                "`now` rules cannot be mixed with absolute `lt/gt` rules",
            ));
        }
        if within.is_some() && absolute {
            return Err(site.err(
                "timestamp.within",
                "`within` rule cannot be used with absolute `lt/gt` rules",
            ));
        }
        if lt_now && gt_now {
            return Err(site.err(
                "timestamp.lt_now",
                "both `now` rules cannot be used together",
            ));
        }
        let within_nanos = within.as_ref().map(duration_nanos_of);
        if within_nanos.is_some_and(|w| w <= 0) {
            return Err(site.err(
                "timestamp.within",
                "`within` rule must be positive and non-zero",
            ));
        }
        // Presence-based, like Go's template (`lt_now: false` still counts).
        let lt_now = lt_now && r.flag("lt_now");
        let gt_now = gt_now && r.flag("gt_now");
        let t = quote!(__t);
        let mut cmp = TokenStream::new();
        if let Some(c) = &konst {
            let l = &c.lit;
            let push = site.push(&format!("value must equal {}", c.go));
            cmp.extend(quote!(if #t != #l { #push }));
        }
        let range_code = ltgt(&t, &ranges, false, site);
        let now_needed = lt_now || gt_now || within.is_some();
        let w = within_nanos.unwrap_or(0);
        let w_lit = Literal::i128_suffixed(i128::from(w));
        let w_str = gofmt::duration(w);
        if !range_code.is_empty() {
            cmp.extend(range_code);
        } else if lt_now {
            if within.is_some() {
                let push = site.push(&format!("value must be less than now within {w_str}"));
                cmp.extend(quote!(if #t >= __now || #t < __now - #w_lit { #push }));
            } else {
                let push = site.push("value must be less than now");
                cmp.extend(quote!(if #t >= __now { #push }));
            }
        } else if gt_now {
            if within.is_some() {
                let push = site.push(&format!("value must be greater than now within {w_str}"));
                cmp.extend(quote!(if #t <= __now || #t > __now + #w_lit { #push }));
            } else {
                let push = site.push("value must be greater than now");
                cmp.extend(quote!(if #t <= __now { #push }));
            }
        } else if within.is_some() {
            let push = site.push(&format!("value must be within {w_str} of now"));
            cmp.extend(quote!(if #t >= __now + #w_lit || #t <= __now - #w_lit { #push }));
        }
        if cmp.is_empty() {
            return Ok((TokenStream::new(), none));
        }
        let rt = quote!(::kratos::validate::rt);
        let now = if now_needed {
            quote!(let __now: i128 = #rt::now_nanos();)
        } else {
            TokenStream::new()
        };
        let invalid = site.push_cause("value is not a valid timestamp", quote!(__e));
        let body = quote! {
            match #rt::timestamp_check_valid(__m.seconds, __m.nanos) {
                ::core::result::Result::Err(__e) => { #invalid }
                ::core::result::Result::Ok(()) => {
                    let __t: i128 = #rt::timestamp_nanos(__m.seconds, __m.nanos);
                    #now
                    #cmp
                }
            }
        };
        Ok((body, none))
    }

    fn any(&self, r: &R, site: &Site) -> Result<(TokenStream, TokenStream)> {
        let none = if r.flag("required") {
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        let ins = strings(&r.list("in"));
        let not_ins = strings(&r.list("not_in"));
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "any",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let body = if !ins.is_empty() {
            let push = site.push(&format!("type URL must be in list {}", gofmt::list(&ins)));
            quote!(if !matches!(__m.type_url.as_str(), #(#ins)|*) { #push })
        } else if !not_ins.is_empty() {
            let push = site.push(&format!(
                "type URL must not be in list {}",
                gofmt::list(&not_ins)
            ));
            quote!(if matches!(__m.type_url.as_str(), #(#not_ins)|*) { #push })
        } else {
            TokenStream::new()
        };
        Ok((body, none))
    }

    fn repeated(
        &self,
        field: &FieldDescriptor,
        rules: Option<&R>,
        site: &Site,
        package: &str,
        expr: TokenStream,
    ) -> Result<TokenStream> {
        let rep = match rules.and_then(type_rules) {
            Some(("repeated", r)) => Some(r),
            Some((other, _)) => {
                return Err(site.err(other, "repeated rule should be used for repeated fields"));
            }
            None => None,
        };
        if rules.is_some_and(|r| r.has("message")) {
            return Err(site.err("message", "field is not embedded but got message rules"));
        }
        let items = rep.as_ref().and_then(|r| r.msg("items"));
        let min = rep.as_ref().and_then(|r| r.u64("min_items"));
        let max = rep.as_ref().and_then(|r| r.u64("max_items"));
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(site.err(
                "repeated.min_items",
                "`min` value is greater than `max` value",
            ));
        }
        let unique = rep.as_ref().is_some_and(|r| r.flag("unique"));
        let kind = field.kind();
        if unique && matches!(kind, Kind::Message(_)) {
            return Err(site.err(
                "repeated.unique",
                "unique rule is only applicable for scalar types",
            ));
        }
        let mut body = TokenStream::new();
        body.extend(counts(min, max, "item(s)", "items", site));
        let elem_site = site.with_index(Index::Idx(quote!(__idx)));
        let elem = match &kind {
            Kind::Message(desc) => self.message_value(
                desc,
                items.as_ref(),
                MsgVal::Present(quote!(__item)),
                &elem_site,
                package,
            )?,
            k => {
                if items.as_ref().is_some_and(|r| r.has("message")) {
                    return Err(site.err(
                        "repeated.items.message",
                        "field is not embedded but got message rules",
                    ));
                }
                self.scalar(k, items.as_ref(), &quote!(__item), &elem_site)?
            }
        };
        let mut seen_decl = TokenStream::new();
        let mut seen_check = TokenStream::new();
        if unique {
            let key = match &kind {
                Kind::String => quote!(::core::option::Option::Some(
                    ::core::convert::AsRef::<str>::as_ref(__item)
                )),
                Kind::Bytes => quote!(::core::option::Option::Some(
                    ::core::convert::AsRef::<[u8]>::as_ref(__item)
                )),
                Kind::Float | Kind::Double => {
                    quote!(::kratos::validate::rt::f64_key(f64::from(*__item)))
                }
                _ => quote!(::core::option::Option::Some(*__item)),
            };
            let push = elem_site.push("repeated value must contain unique items");
            seen_decl =
                quote!(let mut __seen = ::kratos::validate::rt::HashSet::with_capacity(__f.len()););
            seen_check = quote! {
                if let ::core::option::Option::Some(__k) = #key {
                    if !__seen.insert(__k) { #push }
                }
            };
        }
        if !elem.is_empty() || unique {
            body.extend(quote! {
                #seen_decl
                for (__idx, __item) in __f.iter().enumerate() {
                    #seen_check
                    #elem
                }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        if rep.as_ref().is_some_and(|r| r.flag("ignore_empty")) {
            Ok(quote!({ let __f = #expr; if !__f.is_empty() { #body } }))
        } else {
            Ok(quote!({ let __f = #expr; #body }))
        }
    }

    fn map(
        &self,
        field: &FieldDescriptor,
        rules: Option<&R>,
        site: &Site,
        package: &str,
        expr: TokenStream,
    ) -> Result<TokenStream> {
        let m = match rules.and_then(type_rules) {
            Some(("map", r)) => Some(r),
            Some((other, _)) => {
                return Err(site.err(other, "map rules should be used for map fields"));
            }
            None => None,
        };
        let Kind::Message(entry) = field.kind() else {
            return Ok(TokenStream::new());
        };
        let key_field = entry.map_entry_key_field();
        let value_field = entry.map_entry_value_field();
        let min = m.as_ref().and_then(|r| r.u64("min_pairs"));
        let max = m.as_ref().and_then(|r| r.u64("max_pairs"));
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(site.err("map.min_pairs", "`min` value is greater than `max` value"));
        }
        if m.as_ref().is_some_and(|r| r.flag("no_sparse"))
            && !matches!(value_field.kind(), Kind::Message(_))
        {
            return Err(site.err(
                "map.no_sparse",
                "no_sparse rule is only applicable for embedded message types",
            ));
        }
        let keys = m.as_ref().and_then(|r| r.msg("keys"));
        let values = m.as_ref().and_then(|r| r.msg("values"));
        let mut body = counts(min, max, "pair(s)", "pairs", site);
        let key_site = site.with_index(Index::Key(quote!(__key), true));
        let val_site = site.with_index(Index::Key(quote!(__key), false));
        let key_code = self.scalar(&key_field.kind(), keys.as_ref(), &quote!(__key), &key_site)?;
        let val_code = match value_field.kind() {
            Kind::Message(desc) => self.message_value(
                &desc,
                values.as_ref(),
                MsgVal::Present(quote!(__val)),
                &val_site,
                package,
            )?,
            k => self.scalar(&k, values.as_ref(), &quote!(__val), &val_site)?,
        };
        if !key_code.is_empty() || !val_code.is_empty() {
            // Keys in order, as Go PGV (it sorts them), so the first violation is stable.
            body.extend(quote! {
                let mut __entries: ::std::vec::Vec<_> = __f.iter().collect();
                __entries.sort_unstable_by(|__a, __b| __a.0.cmp(__b.0));
                for (__key, __val) in __entries {
                    #key_code
                    #val_code
                }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        if m.as_ref().is_some_and(|r| r.flag("ignore_empty")) {
            Ok(quote!({ let __f = #expr; if !__f.is_empty() { #body } }))
        } else {
            Ok(quote!({ let __f = #expr; #body }))
        }
    }
}

fn counts(min: Option<u64>, max: Option<u64>, unit: &str, units: &str, site: &Site) -> TokenStream {
    // Go tests `$r.GetMinItems` (non-zero) and `$r.MaxItems` (set).
    let min = min.filter(|m| *m > 0);
    if let Some(min) = min {
        let n = min as usize;
        if Some(min) == max {
            let push = site.push(&format!("value must contain exactly {min} {unit}"));
            quote!(if __f.len() != #n { #push })
        } else if let Some(max) = max {
            let push = site.push(&format!(
                "value must contain between {min} and {max} {units}, inclusive"
            ));
            let m = max as usize;
            quote!(if __f.len() < #n || __f.len() > #m { #push })
        } else {
            let push = site.push(&format!("value must contain at least {min} {unit}"));
            quote!(if __f.len() < #n { #push })
        }
    } else if let Some(max) = max {
        let m = max as usize;
        let push = site.push(&format!("value must contain no more than {max} {unit}"));
        quote!(if __f.len() > #m { #push })
    } else {
        TokenStream::new()
    }
}

fn byte_lengths(
    len_expr: &TokenStream,
    len: Option<u64>,
    min: Option<u64>,
    max: Option<u64>,
    site: &Site,
) -> TokenStream {
    let exact = len.or(match (min, max) {
        (Some(a), Some(b)) if a == b => Some(a),
        _ => None,
    });
    if let Some(n) = exact {
        let push = site.push(&format!("value length must be {n} bytes"));
        let n = n as usize;
        quote!(if #len_expr != #n { #push })
    } else if let Some(min) = min {
        if let Some(max) = max {
            let push = site.push(&format!(
                "value length must be between {min} and {max} bytes, inclusive"
            ));
            let (a, b) = (min as usize, max as usize);
            quote!({ let __l = #len_expr; if __l < #a || __l > #b { #push } })
        } else {
            let push = site.push(&format!("value length must be at least {min} bytes"));
            let a = min as usize;
            quote!(if #len_expr < #a { #push })
        }
    } else if let Some(max) = max {
        let push = site.push(&format!("value length must be at most {max} bytes"));
        let b = max as usize;
        quote!(if #len_expr > #b { #push })
    } else {
        TokenStream::new()
    }
}

fn in_check(n: &TokenStream, ins: &[Bound], not_ins: &[Bound], site: &Site) -> TokenStream {
    let go = |l: &[Bound]| gofmt::list(&l.iter().map(|b| b.go.clone()).collect::<Vec<_>>());
    if !ins.is_empty() {
        let lits: Vec<&TokenStream> = ins.iter().map(|b| &b.lit).collect();
        let push = site.push(&format!("value must be in list {}", go(ins)));
        quote!(if ![#(#lits),*].contains(&#n) { #push })
    } else if !not_ins.is_empty() {
        let lits: Vec<&TokenStream> = not_ins.iter().map(|b| &b.lit).collect();
        let push = site.push(&format!("value must not be in list {}", go(not_ins)));
        quote!(if [#(#lits),*].contains(&#n) { #push })
    } else {
        TokenStream::new()
    }
}

fn strings(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn byte_list(list: &[Value]) -> Vec<Vec<u8>> {
    list.iter()
        .filter_map(|v| match v {
            Value::Bytes(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect()
}

fn value_i32(v: &Value) -> Option<i32> {
    match v {
        Value::I32(x) => Some(*x),
        Value::EnumNumber(x) => Some(*x),
        _ => None,
    }
}

fn seconds_nanos(m: &R) -> (i64, i32) {
    let s = match m.get("seconds") {
        Some(Value::I64(s)) => s,
        _ => 0,
    };
    let n = match m.get("nanos") {
        Some(Value::I32(n)) => n,
        _ => 0,
    };
    (s, n)
}

fn duration_nanos_of(m: &R) -> i64 {
    let (s, n) = seconds_nanos(m);
    let total = i128::from(s) * 1_000_000_000 + i128::from(n);
    i64::try_from(total).unwrap_or(if s < 0 { i64::MIN } else { i64::MAX })
}

fn duration_bound(m: &R) -> Bound {
    let n = duration_nanos_of(m);
    let l = Literal::i64_suffixed(n);
    Bound {
        lit: quote!(#l),
        go: gofmt::duration(n),
        key: 0.0,
        ikey: i128::from(n),
    }
}

fn timestamp_bound(m: &R) -> Bound {
    let (s, n) = seconds_nanos(m);
    let v = i128::from(s) * 1_000_000_000 + i128::from(n);
    let l = Literal::i128_suffixed(v);
    Bound {
        lit: quote!(#l),
        go: gofmt::timestamp(s, n),
        key: 0.0,
        ikey: v,
    }
}

/// Go's `%v` of a Duration message (compact prototext): `seconds:1 nanos:1000`.
fn proto_text_seconds_nanos(m: &R) -> String {
    match seconds_nanos(m) {
        (0, 0) => String::new(),
        (s, 0) => format!("seconds:{s}"),
        (0, n) => format!("nanos:{n}"),
        (s, n) => format!("seconds:{s} nanos:{n}"),
    }
}

fn syn_type(path: &str) -> Result<TokenStream> {
    let ty: syn_lite::Type = syn_lite::parse(path)?;
    Ok(ty.0)
}

fn syn_path(path: &str) -> Result<TokenStream> {
    syn_type(path)
}

/// Parsing Rust paths into tokens without a syn dependency: the token stream parser of
/// proc-macro2 is enough for paths such as `super::a::B` and `r#type`.
mod syn_lite {
    use kratos_codegen::{CodegenError, Result};
    use proc_macro2::TokenStream;

    pub struct Type(pub TokenStream);

    pub fn parse(path: &str) -> Result<Type> {
        path.parse::<TokenStream>()
            .map(Type)
            .map_err(|e| CodegenError::Format {
                file: path.to_string(),
                reason: e.to_string(),
            })
    }
}
