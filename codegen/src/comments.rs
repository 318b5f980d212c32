//! Source comments, turned into Rust documentation.

use std::collections::HashMap;

use prost_reflect::FileDescriptor;
use prost_types::source_code_info::Location;

/// The comments of one file, indexed by descriptor path.
///
/// prost-reflect has no comments API, so the file's `source_code_info` is matched against each
/// descriptor's `path()` here. Files compiled without source info simply have no comments.
#[derive(Debug, Clone, Default)]
pub struct FileComments {
    by_path: HashMap<Vec<i32>, Location>,
}

impl FileComments {
    /// Indexes the comments of `file`.
    pub fn new(file: &FileDescriptor) -> Self {
        let by_path = file
            .file_descriptor_proto()
            .source_code_info
            .iter()
            .flat_map(|info| info.location.iter())
            .filter(|loc| loc.leading_comments.is_some() || loc.trailing_comments.is_some())
            .map(|loc| (loc.path.clone(), loc.clone()))
            .collect();
        FileComments { by_path }
    }

    /// The leading comment, then the trailing comment, of the element at `path`, as lines
    /// (each without its `//`). Empty when the element has none.
    pub fn lines(&self, path: &[i32]) -> Vec<String> {
        let Some(loc) = self.by_path.get(path) else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        for text in [&loc.leading_comments, &loc.trailing_comments]
            .into_iter()
            .flatten()
        {
            let text = text.strip_suffix('\n').unwrap_or(text);
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.extend(text.split('\n').map(|l| l.trim_end().to_string()));
        }
        lines
    }

    /// The comment of the element at `path` as `#[doc = "..."]` attributes, which prettyplease
    /// prints as `///` lines.
    pub fn doc_attrs(&self, path: &[i32]) -> proc_macro2::TokenStream {
        doc_attrs(&self.lines(path))
    }
}

/// `#[doc = "..."]` attributes for the given lines. Brackets are escaped so that rustdoc does
/// not read proto comments as intra-doc links.
pub fn doc_attrs(lines: &[String]) -> proc_macro2::TokenStream {
    lines
        .iter()
        .map(|line| {
            let text = line.replace('[', "\\[").replace(']', "\\]");
            let text = if text.is_empty() || text.starts_with(' ') {
                text
            } else {
                format!(" {text}")
            };
            quote::quote!(#[doc = #text])
        })
        .collect()
}
