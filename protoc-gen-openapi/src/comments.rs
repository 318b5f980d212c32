//! Leading comments as descriptions, with gnostic's filtering.

use std::collections::HashMap;

use prost_reflect::FileDescriptor;

/// The leading comments of the files of a request, by file name and descriptor path.
#[derive(Debug, Default)]
pub(crate) struct Comments {
    files: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Comments {
    /// The description for the element at `path` of `file`: its leading comment, with API
    /// linter blocks `(-- ... --)` removed and outer whitespace trimmed. Empty when none.
    pub(crate) fn description(&mut self, file: &FileDescriptor, path: &[i32]) -> String {
        let by_path = self
            .files
            .entry(file.name().to_string())
            .or_insert_with(|| {
                file.file_descriptor_proto()
                    .source_code_info
                    .iter()
                    .flat_map(|info| info.location.iter())
                    .filter_map(|loc| {
                        loc.leading_comments
                            .as_ref()
                            .map(|c| (loc.path.clone(), c.clone()))
                    })
                    .collect()
            });
        by_path.get(path).map(|c| filter(c)).unwrap_or_default()
    }
}

/// Removes `(-- ... --)` blocks and trims.
fn filter(comment: &str) -> String {
    let mut out = String::with_capacity(comment.len());
    let mut rest = comment;
    while let Some(start) = rest.find("(--") {
        match rest[start + 3..].find("--)") {
            Some(end) => {
                out.push_str(&rest[..start]);
                rest = &rest[start + 3 + end + 3..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn linter_blocks_and_outer_space_are_removed() {
        assert_eq!(
            filter(
                " Gets a book.\n (-- api-linter: core::0131=disabled\n  aip.dev/not-precedent --)\n"
            ),
            "Gets a book."
        );
        assert_eq!(filter(" a\n b\n"), "a\n b");
    }
}
