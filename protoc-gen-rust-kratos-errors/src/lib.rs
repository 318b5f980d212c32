//! `protoc-gen-rust-kratos-errors`: Kratos-style error helpers for Rust, from error-reason
//! enums annotated with `(errors.default_code)` and `(errors.code)`.
//!
//! For every top-level enum of the files to generate, each value gets an effective code: its
//! own `(errors.code)` when not 0, else the enum's `(errors.default_code)`. Each value whose
//! effective code is not 0 gets two functions, and each enum with at least one such value gets
//! methods:
//!
//! ```text
//! /// The user does not exist.            <- the value's leading (else trailing) comment
//! pub fn error_user_not_found(message: impl Into<String>) -> ::kratos::errors::Error;
//! pub fn is_user_not_found(err: &(dyn std::error::Error + 'static)) -> bool;
//!
//! impl ErrorReason {
//!     pub const fn code(&self) -> i32;
//!     pub const fn reason(&self) -> &'static str;
//!     pub fn error(&self, message: impl Into<String>) -> ::kratos::errors::Error;
//!     pub fn is(&self, err: &(dyn std::error::Error + 'static)) -> bool;
//! }
//! ```
//!
//! The output is one file per proto package, `<package>.kratos_errors.rs`, to be `include!`d
//! in the module that holds prost's output for the package. See the README for the details
//! and the differences from Kratos' `protoc-gen-go-errors`.

use std::collections::{BTreeMap, HashMap};

use kratos_codegen::names::{enum_variant, ident, to_upper_camel};
use kratos_codegen::prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, ExtensionDescriptor, FileDescriptor,
};
use kratos_codegen::{
    CodegenError, GeneratedFile, GeneratorOutput, Params, Plugin, PluginRequest, Result,
    package_file_name,
};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

mod case;

/// The plugin: binary name, version and generation function.
pub const PLUGIN: Plugin = kratos_codegen::plugin!(generate);

/// The suffix of the output files: `<package>.kratos_errors.rs`.
pub const FILE_SUFFIX: &str = "kratos_errors";

/// The highest code an error reason may have, as in Kratos.
pub const MAX_CODE: i32 = 600;

/// Generates the error helpers for the files of `request`.
///
/// The plugin takes no parameter: any parameter is an error, as in Kratos. A code outside
/// `0..=600` is an error naming the file, the enum and the value (Kratos panics). Files
/// without a qualifying enum produce no output.
pub fn generate(request: &PluginRequest) -> Result<GeneratorOutput> {
    Params::parse(request.parameter(), &[])?;
    request.check_rust_names()?;
    let options = ErrorOptions::of(request.pool());
    let mut packages: BTreeMap<String, Package> = BTreeMap::new();
    for file in request.files_to_generate() {
        let enums = error_enums(&file, &options)?;
        if enums.is_empty() {
            continue;
        }
        let package = packages.entry(file.package_name().to_string()).or_default();
        package.add(&file, enums)?;
    }
    let mut output = GeneratorOutput::default();
    for (name, package) in packages {
        output.files.push(package.into_file(&name)?);
    }
    Ok(output)
}

/// The two extensions, when the request's files import `errors/errors.proto`.
struct ErrorOptions {
    default_code: Option<ExtensionDescriptor>,
    code: Option<ExtensionDescriptor>,
}

impl ErrorOptions {
    fn of(pool: &DescriptorPool) -> Self {
        ErrorOptions {
            default_code: pool.get_extension_by_name("errors.default_code"),
            code: pool.get_extension_by_name("errors.code"),
        }
    }
}

/// An `int32` extension value, 0 when absent.
fn int_option(options: &DynamicMessage, ext: Option<&ExtensionDescriptor>) -> i32 {
    ext.filter(|ext| options.has_extension(ext))
        .and_then(|ext| options.get_extension(ext).as_i32())
        .unwrap_or(0)
}

/// Whether `deprecated = true` is set in these options.
fn deprecated(options: &DynamicMessage) -> bool {
    options
        .get_field_by_name("deprecated")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// An enum with at least one value that gets helpers.
struct ErrorEnum {
    /// `pkg.ErrorReason`.
    full_name: String,
    /// prost's Rust name of the enum.
    rust_name: String,
    /// One per prost variant (aliases skipped, as prost does).
    variants: Vec<Variant>,
    /// One per value with a non-zero effective code, in declaration order.
    helpers: Vec<Helper>,
}

/// A variant of the prost enum.
struct Variant {
    rust_name: String,
    reason: String,
    code: i32,
    deprecated: bool,
}

/// The functions generated for one enum value.
struct Helper {
    /// `ERROR_REASON` value name as written.
    value_name: String,
    /// The reason string: the value's name, or for an alias the name of the first value with
    /// the same number (what Go's `String()` returns).
    reason: String,
    code: i32,
    /// `user_not_found`.
    stem: String,
    doc: Vec<String>,
    deprecated: bool,
}

/// The qualifying top-level enums of `file`, in declaration order.
fn error_enums(file: &FileDescriptor, options: &ErrorOptions) -> Result<Vec<ErrorEnum>> {
    if options.default_code.is_none() && options.code.is_none() {
        return Ok(Vec::new());
    }
    let comments = Comments::new(file);
    let mut out = Vec::new();
    for enum_desc in file.enums() {
        if let Some(e) = error_enum(file, &enum_desc, options, &comments)? {
            out.push(e);
        }
    }
    Ok(out)
}

fn out_of_range(file: &FileDescriptor, element: String, what: &str, code: i32) -> CodegenError {
    CodegenError::proto(
        file.name(),
        element,
        format!("{what} {code} is outside 0..={MAX_CODE}"),
    )
}

fn error_enum(
    file: &FileDescriptor,
    enum_desc: &EnumDescriptor,
    options: &ErrorOptions,
    comments: &Comments,
) -> Result<Option<ErrorEnum>> {
    let default_code = int_option(&enum_desc.options(), options.default_code.as_ref());
    if !(0..=MAX_CODE).contains(&default_code) {
        return Err(out_of_range(
            file,
            format!("enum {}", enum_desc.full_name()),
            "default_code",
            default_code,
        ));
    }
    let rust_name = to_upper_camel(enum_desc.name());
    let mut variants = Vec::new();
    let mut helpers = Vec::new();
    // Number → name of the first value with it (prost's variant, Go's String()).
    let mut first_by_number: HashMap<i32, String> = HashMap::new();
    // prost-reflect yields values by number; prost and Kratos use declaration order.
    let mut values: Vec<_> = enum_desc.values().collect();
    values.sort_by(|a, b| a.path().cmp(b.path()));
    for value in values {
        let value_options = value.options();
        let own_code = int_option(&value_options, options.code.as_ref());
        if !(0..=MAX_CODE).contains(&own_code) {
            return Err(out_of_range(
                file,
                format!("enum {} value {}", enum_desc.full_name(), value.name()),
                "code",
                own_code,
            ));
        }
        let code = if own_code != 0 {
            own_code
        } else {
            default_code
        };
        let is_deprecated = deprecated(&value_options);
        let reason = match first_by_number.get(&value.number()) {
            Some(first) => first.clone(),
            None => {
                first_by_number.insert(value.number(), value.name().to_string());
                let rust_name = enum_variant(enum_desc.name(), value.name());
                variants.push(Variant {
                    rust_name,
                    reason: value.name().to_string(),
                    code,
                    deprecated: is_deprecated,
                });
                value.name().to_string()
            }
        };
        if code == 0 {
            continue;
        }
        helpers.push(Helper {
            value_name: value.name().to_string(),
            reason,
            code,
            stem: case::function_stem(value.name()),
            doc: comments.lines(value.path()),
            deprecated: is_deprecated,
        });
    }
    if helpers.is_empty() {
        return Ok(None);
    }
    Ok(Some(ErrorEnum {
        full_name: enum_desc.full_name().to_string(),
        rust_name,
        variants,
        helpers,
    }))
}

/// Leading comments, else trailing comments, by descriptor path (Kratos copies the leading
/// comment of a value, or its trailing comment when it has none).
struct Comments {
    by_path: HashMap<Vec<i32>, String>,
}

impl Comments {
    fn new(file: &FileDescriptor) -> Self {
        let by_path = file
            .file_descriptor_proto()
            .source_code_info
            .iter()
            .flat_map(|info| info.location.iter())
            .filter_map(|loc| {
                let text = loc
                    .leading_comments
                    .as_ref()
                    .filter(|c| !c.trim().is_empty())
                    .or(loc.trailing_comments.as_ref())?;
                Some((loc.path.clone(), text.clone()))
            })
            .collect();
        Comments { by_path }
    }

    /// The comment at `path` as lines without `//`, trailing blanks removed.
    fn lines(&self, path: &[i32]) -> Vec<String> {
        let Some(text) = self.by_path.get(path) else {
            return Vec::new();
        };
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut lines: Vec<String> = text.split('\n').map(|l| l.trim_end().to_string()).collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }
}

/// The output of one proto package.
#[derive(Default)]
struct Package {
    sources: Vec<String>,
    items: Vec<TokenStream>,
    /// Function stem → the value that generated it, to report clashes.
    stems: HashMap<String, String>,
}

impl Package {
    fn add(&mut self, file: &FileDescriptor, enums: Vec<ErrorEnum>) -> Result<()> {
        self.sources.push(file.name().to_string());
        for e in enums {
            for helper in &e.helpers {
                let origin = format!("enum {} value {}", e.full_name, helper.value_name);
                if let Some(previous) = self.stems.insert(helper.stem.clone(), origin.clone()) {
                    return Err(CodegenError::proto(
                        file.name(),
                        origin,
                        format!(
                            "generates error_{stem} and is_{stem}, which {previous} \
                             of the same package also generates",
                            stem = helper.stem
                        ),
                    ));
                }
            }
            self.items.push(enum_tokens(&e));
        }
        Ok(())
    }

    fn into_file(self, package: &str) -> Result<GeneratedFile> {
        let mut header = vec![format!("Code generated by {}. DO NOT EDIT.", PLUGIN.name)];
        header.extend(self.sources.iter().map(|s| format!("source: {s}")));
        let items = self.items;
        GeneratedFile::rust(
            package_file_name(package, FILE_SUFFIX),
            &header,
            quote!(#(#items)*),
        )
    }
}

fn doc(lines: &[String]) -> TokenStream {
    kratos_codegen::comments::doc_attrs(lines)
}

/// The value's comment, a blank line, then our sentence.
fn helper_doc(comment: &[String], sentences: &[String]) -> TokenStream {
    let mut lines = comment.to_vec();
    if !lines.is_empty() {
        lines.push(String::new());
    }
    lines.extend_from_slice(sentences);
    doc(&lines)
}

fn enum_tokens(e: &ErrorEnum) -> TokenStream {
    let enum_ident = ident(&e.rust_name);
    let code_arms = e.variants.iter().map(|v| {
        let allow = v.deprecated.then(|| quote!(#[allow(deprecated)]));
        let variant = ident(&v.rust_name);
        let code = Literal::i32_unsuffixed(v.code);
        quote!(#allow Self::#variant => #code,)
    });
    let reason_arms = e.variants.iter().map(|v| {
        let allow = v.deprecated.then(|| quote!(#[allow(deprecated)]));
        let variant = ident(&v.rust_name);
        let reason = &v.reason;
        quote!(#allow Self::#variant => #reason,)
    });
    let impl_doc = doc(&[format!(
        "Kratos error helpers for `{}` (see `kratos::errors`).",
        e.full_name
    )]);
    let code_doc = doc(&[
        "The error code of this reason: the value's `(errors.code)`, else the enum's".into(),
        "`(errors.default_code)`, else 0 (values with code 0 have no `error_*`/`is_*` functions)."
            .into(),
    ]);
    let reason_doc =
        doc(&["The reason string of this value, as sent over the wire: its proto name.".into()]);
    let error_doc = doc(&["A new error of this reason (with its code) and `message`.".into()]);
    let is_doc = doc(&[
        "Whether `err` is an error of this reason: code and reason both equal, found through"
            .into(),
        "wrapped errors and gRPC statuses as `kratos::errors::Error::from_error` finds it.".into(),
    ]);
    let helpers = e.helpers.iter().map(helper_tokens);
    quote! {
        #impl_doc
        impl #enum_ident {
            #code_doc
            pub const fn code(&self) -> i32 {
                match self {
                    #(#code_arms)*
                }
            }

            #reason_doc
            pub const fn reason(&self) -> &'static str {
                match self {
                    #(#reason_arms)*
                }
            }

            #error_doc
            pub fn error(
                &self,
                message: impl ::core::convert::Into<::std::string::String>,
            ) -> ::kratos::errors::Error {
                ::kratos::errors::Error::new(self.code(), self.reason(), message)
            }

            #is_doc
            pub fn is(&self, err: &(dyn ::std::error::Error + 'static)) -> bool {
                ::kratos::errors::is_code_and_reason(err, self.code(), self.reason())
            }
        }

        #(#helpers)*
    }
}

fn helper_tokens(h: &Helper) -> TokenStream {
    let error_fn = ident(&format!("error_{}", h.stem));
    let is_fn = ident(&format!("is_{}", h.stem));
    let code = h.code;
    let code_lit = Literal::i32_unsuffixed(code);
    let reason = &h.reason;
    let deprecated = h.deprecated.then(|| quote!(#[deprecated]));
    let error_doc = helper_doc(
        &h.doc,
        &[format!(
            "A new error with code {code}, reason `{reason}` and `message`."
        )],
    );
    let is_doc = helper_doc(
        &h.doc,
        &[
            format!("Whether `err` is an error with code {code} and reason `{reason}`,"),
            "found through wrapped errors and gRPC statuses.".to_string(),
        ],
    );
    quote! {
        #error_doc
        #deprecated
        pub fn #error_fn(
            message: impl ::core::convert::Into<::std::string::String>,
        ) -> ::kratos::errors::Error {
            ::kratos::errors::Error::new(#code_lit, #reason, message)
        }

        #is_doc
        #deprecated
        pub fn #is_fn(err: &(dyn ::std::error::Error + 'static)) -> bool {
            ::kratos::errors::is_code_and_reason(err, #code_lit, #reason)
        }
    }
}
