//! `google.api.http` path templates.
//!
//! The grammar (from `google/api/http.proto`):
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! [`Template::parse`] validates a template once; [`Template::matches`] then matches request
//! paths without any regex. As Kratos, whose router matches the decoded path, literals, the `:`
//! before a verb and the verb compare with the decoded request text (`%3A` is a `:`), but an
//! encoded slash never splits a segment. Captured values are percent-decoded fully, `%2F`
//! included; and a single-segment variable whose segment holds an encoded slash does not match,
//! since decoded it would be two segments. (The
//! google.api.http text keeps `%2F` encoded in multi-segment captures; Kratos clients and
//! servers decode it, and we follow Kratos on the wire.)

mod decode;
mod matcher;
mod parser;
pub mod percent;
pub mod scan;

pub use decode::{DecodeError, decode_single_segment};
pub use matcher::Captures;
pub use parser::TemplateError;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A literal segment, stored as written (compared with the raw request segment).
    Literal(String),
    /// `*`: exactly one segment.
    Single,
    /// `**`: zero or more segments (only as the last segment).
    Multi,
}

/// A variable: the field path it binds and the segments it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The dotted field path, such as `book.name`.
    pub field_path: String,
    /// Index of the first segment the variable covers.
    pub start: usize,
    /// Index one past the last segment it covers.
    pub end: usize,
}

impl Variable {
    /// The field path split at dots.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.field_path.split('.')
    }
}

/// A parsed, validated path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

impl Template {
    /// Parses and validates a template.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        parser::parse(template)
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The segments (variables expanded into the segments they cover).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The variables, in order of appearance.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The custom verb (`cancel` in `/v1/{name}:cancel`), if any.
    pub fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// How specific the template is, for choosing among several that match one path: more
    /// literal segments first, then a verb, then fewer multi-segment wildcards.
    pub fn specificity(&self) -> (usize, bool, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let multi = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Multi))
            .count();
        (literals, self.verb.is_some(), usize::MAX - multi)
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}
