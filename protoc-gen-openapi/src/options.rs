//! Plugin parameters.

use kratos_codegen::{CodegenError, ParamSpec, Params, Result};

/// The largest `depth` accepted.
///
/// gnostic's `depth` ("depth of recursion for circular messages", default 2, "usually 2 is
/// enough") is how many times one field may appear when a message field of a request is
/// flattened into `parent.child` query parameters: with a recursive message, how many times the
/// cycle is followed. Each extra turn of a cycle makes every parameter below it one segment
/// longer and adds parameters, so the document grows with the square of `depth`; beyond 100
/// turns a parameter name is hundreds of segments long, which no client writes. The bound keeps
/// the largest document a small multiple of what the proto itself describes.
pub const MAX_DEPTH: i64 = 100;

/// The parameters this plugin accepts: gnostic's nine, plus `format`.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::single("version"),
    ParamSpec::single("title"),
    ParamSpec::single("description"),
    ParamSpec::single("naming"),
    ParamSpec::single("fq_schema_naming"),
    ParamSpec::single("enum_type"),
    ParamSpec::single("depth"),
    ParamSpec::single("default_response"),
    ParamSpec::single("output_mode"),
    ParamSpec::single("format"),
];

/// How property, parameter and schema names are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `json_name` of each field (lowerCamelCase unless overridden); schema names start upper-case.
    Json,
    /// The field names as written in the `.proto` file.
    Proto,
}

/// The output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `openapi.json` (the default).
    Json,
    /// `openapi.yaml`.
    Yaml,
}

/// The plugin's options, parsed from the parameter string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `info.version` (default `0.0.1`).
    pub version: String,
    /// `info.title`; when empty and exactly one service is documented, `<Service> API`.
    pub title: String,
    /// `info.description`; when empty and exactly one service is documented, its comment.
    pub description: String,
    /// Field and schema naming (default `json`).
    pub naming: Naming,
    /// Schema names prefixed with the proto package (default `false`).
    pub fq_schema_naming: bool,
    /// Enums as `{type: string, enum: [...]}` instead of `{type: integer}` (default `false`).
    pub enum_as_string: bool,
    /// How many times a message field may recur when flattening query parameters (default 2,
    /// `0..=`[`MAX_DEPTH`]).
    pub depth: i64,
    /// A `default` response referring to `google.rpc.Status` on every operation (default `true`).
    pub default_response: bool,
    /// One document per input file (`source_relative`) instead of one for all (`merged`).
    pub source_relative: bool,
    /// JSON (default) or YAML output.
    pub format: Format,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version: "0.0.1".into(),
            title: String::new(),
            description: String::new(),
            naming: Naming::Json,
            fq_schema_naming: false,
            enum_as_string: false,
            depth: 2,
            default_response: true,
            source_relative: false,
            format: Format::Json,
        }
    }
}

impl Options {
    /// Parses the plugin parameter string (`k=v,k=v`).
    pub fn parse(parameter: &str) -> Result<Self> {
        let params = Params::parse(parameter, PARAMS)?;
        let defaults = Options::default();
        let depth = match params.get("depth") {
            None => defaults.depth,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (0..=MAX_DEPTH).contains(&n) => n,
                _ => {
                    return Err(CodegenError::parameter(
                        "depth",
                        format!("'{v}' is not an integer from 0 to {MAX_DEPTH}"),
                    ));
                }
            },
        };
        Ok(Options {
            version: params.string("version", &defaults.version),
            title: params.string("title", ""),
            description: params.string("description", ""),
            naming: match params.choice("naming", &["json", "proto"], "json")? {
                "proto" => Naming::Proto,
                _ => Naming::Json,
            },
            fq_schema_naming: params.bool("fq_schema_naming", false)?,
            enum_as_string: params.choice("enum_type", &["integer", "string"], "integer")?
                == "string",
            depth,
            default_response: params.bool("default_response", true)?,
            source_relative: params.choice(
                "output_mode",
                &["merged", "source_relative"],
                "merged",
            )? == "source_relative",
            format: match params.choice("format", &["json", "yaml"], "json")? {
                "yaml" => Format::Yaml,
                _ => Format::Json,
            },
        })
    }
}
