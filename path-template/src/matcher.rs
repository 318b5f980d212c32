//! Matching request paths against a template.

use crate::decode::{DecodeError, decode_single_segment};
use crate::{Segment, Template};

/// The raw (still percent-encoded) extent of each variable in a matched path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captures<'p> {
    raw: Vec<(usize, &'p str)>,
}

impl<'p> Captures<'p> {
    /// The raw text captured for variable `index` (in [`Template::variables`] order).
    pub fn raw(&self, index: usize) -> Option<&'p str> {
        self.raw.iter().find(|(i, _)| *i == index).map(|(_, s)| *s)
    }

    /// The decoded values, in [`Template::variables`] order.
    pub fn decode_values(&self, template: &Template) -> Result<Vec<String>, DecodeError> {
        Ok(self.decode(template)?.into_iter().map(|(_, v)| v).collect())
    }

    /// The decoded values, paired with the variables' field paths.
    pub fn decode<'t>(
        &self,
        template: &'t Template,
    ) -> Result<Vec<(&'t str, String)>, DecodeError> {
        self.raw
            .iter()
            .map(|(i, raw)| {
                let var = &template.variables[*i];
                Ok((var.field_path.as_str(), decode_single_segment(raw)?))
            })
            .collect()
    }
}

impl Template {
    /// Matches a request path (the raw path of the URI, starting with `/`, without the query).
    /// Returns the variables' raw captures, or `None` when the path does not match.
    ///
    /// As Kratos, whose router matches the decoded path: literal segments, the `:` before a
    /// custom verb and the verb compare with the request's text percent-decoded (`%3A` is a
    /// `:`), except that an encoded slash (`%2F`) never splits a segment.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Captures<'p>> {
        let path = path.strip_prefix('/')?;
        // Without escapes (most paths), the raw text is the decoded text.
        let encoded = path.contains('%');
        // Most routes differ in their first literal: reject them before any allocation.
        if let Some(Segment::Literal(first)) = self.segments.first() {
            let rest = if encoded {
                strip_decoded_prefix(path, first)?
            } else {
                path.strip_prefix(first.as_str())?
            };
            let verb_next = rest.starts_with(':') || (encoded && verb_separator(rest).is_some());
            if !(rest.is_empty() || rest.starts_with('/') || verb_next) {
                return None;
            }
        }
        let path = match &self.verb {
            Some(verb) if encoded => strip_verb(path, verb)?,
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        // Byte offsets of each segment of `path`.
        let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(self.segments.len() + 1);
        if !path.is_empty() {
            let mut start = 0;
            for (i, b) in path.bytes().enumerate() {
                if b == b'/' {
                    bounds.push((start, i));
                    start = i + 1;
                }
            }
            bounds.push((start, path.len()));
        }
        let has_multi = matches!(self.segments.last(), Some(Segment::Multi));
        let fixed = if has_multi {
            self.segments.len() - 1
        } else {
            self.segments.len()
        };
        if bounds.len() < fixed || (!has_multi && bounds.len() != fixed) {
            return None;
        }
        for (seg, &(s, e)) in self.segments.iter().zip(bounds.iter()).take(fixed) {
            let text = &path[s..e];
            match seg {
                Segment::Literal(lit) if !encoded && lit != text => return None,
                Segment::Literal(lit) if encoded && strip_decoded_prefix(text, lit) != Some("") => {
                    return None;
                }
                Segment::Single if text.is_empty() => return None,
                _ => {}
            }
        }
        // Segment index → byte offset in `path` (end of the path for an empty `**`).
        let start_of = |seg: usize| bounds.get(seg).map_or(path.len(), |b| b.0);
        let end_of = |seg_end: usize| {
            if has_multi && seg_end == self.segments.len() {
                path.len()
            } else {
                bounds
                    .get(seg_end.wrapping_sub(1))
                    .map_or(path.len(), |b| b.1)
            }
        };
        let mut raw = Vec::with_capacity(self.variables.len());
        for (i, v) in self.variables.iter().enumerate() {
            let s = start_of(v.start).min(path.len());
            let e = end_of(v.end).max(s);
            let text = &path[s..e];
            // As Kratos (gorilla/mux matches the decoded path): an encoded slash in a
            // single-segment variable splits it, so the route does not match.
            let single = v.end - v.start == 1 && self.segments[v.start] == Segment::Single;
            if single && contains_encoded_slash(text) {
                return None;
            }
            raw.push((i, text));
        }
        Some(Captures { raw })
    }
}

/// The byte at `i` of a raw path, percent-decoded, and how many raw bytes it takes (`%XX` is
/// one decoded byte; a `%` without two hexadecimal digits stands for itself).
fn decoded_byte(raw: &[u8], i: usize) -> Option<(u8, usize)> {
    let b = *raw.get(i)?;
    match crate::percent::escape_at(raw, i) {
        Some(decoded) => Some((decoded, 3)),
        None => Some((b, 1)),
    }
}

/// `raw` without a prefix that decodes to `want`, or `None` when `raw` does not start so.
/// (`want` is a literal of the template, which holds no `/`, so an encoded slash never matches.)
fn strip_decoded_prefix<'a>(raw: &'a str, want: &str) -> Option<&'a str> {
    // Most paths hold no escapes: compare bytes directly (a `%` in the literal itself must
    // be matched decoded, from `%25`).
    if let Some(rest) = raw.strip_prefix(want)
        && !want.contains('%')
    {
        return Some(rest);
    }
    if !raw.contains('%') {
        return None;
    }
    let bytes = raw.as_bytes();
    let mut i = 0;
    for &w in want.as_bytes() {
        let (b, len) = decoded_byte(bytes, i)?;
        if b != w {
            return None;
        }
        i += len;
    }
    raw.get(i..)
}

/// The length of the verb separator at the start of `raw`: `:` or its escape `%3A`.
fn verb_separator(raw: &str) -> Option<usize> {
    match decoded_byte(raw.as_bytes(), 0)? {
        (b':', len) => Some(len),
        _ => None,
    }
}

/// `path` without its `:verb` suffix (either written encoded or not), or `None` when the last
/// segment does not end with the verb. The rightmost separator wins, as a greedy match would.
fn strip_verb<'p>(path: &'p str, verb: &str) -> Option<&'p str> {
    let last_start = path.rfind('/').map_or(0, |i| i + 1);
    let last = &path[last_start..];
    last.char_indices()
        .rev()
        .filter(|&(_, c)| c == ':' || c == '%')
        .find_map(|(i, _)| {
            let len = verb_separator(&last[i..])?;
            strip_decoded_prefix(&last[i + len..], verb)?
                .is_empty()
                .then_some(last_start + i)
        })
        .map(|end| &path[..end])
}

fn contains_encoded_slash(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'2' && (w[2] == b'F' || w[2] == b'f'))
}

#[cfg(test)]
mod tests {
    use crate::Template;

    fn capture(t: &str, path: &str) -> Option<Vec<(String, String)>> {
        let t = Template::parse(t).unwrap();
        let c = t.matches(path)?;
        Some(
            c.decode(&t)
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn matches_literals_and_variables() {
        assert_eq!(
            capture("/helloworld/{name}", "/helloworld/kratos"),
            pairs(&[("name", "kratos")])
        );
        assert_eq!(capture("/helloworld/{name}", "/helloworld/"), None);
        assert_eq!(capture("/helloworld/{name}", "/helloworld/a/b"), None);
        assert_eq!(capture("/say_hello", "/say_hello"), pairs(&[]));
        assert_eq!(capture("/", "/"), pairs(&[]));
        assert_eq!(capture("/", "/x"), None);
    }

    #[test]
    fn multi_segment_variables_decode_fully_and_single_ones_refuse_encoded_slashes() {
        assert_eq!(
            capture(
                "/v1/{name=shelves/*/books/*}",
                "/v1/shelves/s%201/books/b%2F2"
            ),
            pairs(&[("name", "shelves/s 1/books/b/2")])
        );
        assert_eq!(
            capture("/files/{path=**}", "/files/a%2Fb/%20c"),
            pairs(&[("path", "a/b/ c")])
        );
        assert_eq!(capture("/v1/{name}", "/v1/a%2Fb"), None);
        assert_eq!(capture("/v1/{name}", "/v1/a%2fb"), None);
        assert_eq!(
            capture("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books"),
            None
        );
        assert_eq!(
            capture("/files/{path=**}", "/files/a/b/c"),
            pairs(&[("path", "a/b/c")])
        );
        assert_eq!(
            capture("/files/{path=**}", "/files"),
            pairs(&[("path", "")])
        );
    }

    #[test]
    fn literals_and_verbs_compare_decoded_but_an_encoded_slash_never_splits() {
        assert_eq!(
            capture("/v1/{name=shelves/*}:archive", "/v1/shelves/s1%3Aarchive"),
            pairs(&[("name", "shelves/s1")])
        );
        assert_eq!(
            capture("/v1/{name}:archive", "/v1/s1%3aarchive"),
            pairs(&[("name", "s1")])
        );
        assert_eq!(
            capture("/v1/{name}:archive", "/v1/s1%3A%61rchive"),
            pairs(&[("name", "s1")])
        );
        // The rightmost separator followed by the verb splits; earlier colons stay in the value.
        assert_eq!(
            capture("/v1/{name}:archive", "/v1/a:b%3Aarchive"),
            pairs(&[("name", "a:b")])
        );
        assert_eq!(
            capture("/v1/{name}:archive", "/v1/a%3Aarchive:archive"),
            pairs(&[("name", "a:archive")])
        );
        assert_eq!(capture("/v1/{name}:archive", "/v1/s1%3Aarchived"), None);
        assert_eq!(capture("/v1/{name}:archive", "/v1/s1%2Farchive"), None);
        assert_eq!(capture("/a:foo", "/a%3Afoo"), pairs(&[]));
        assert_eq!(
            capture("/v1/shelves/{id}", "/v1/%73helves/1"),
            pairs(&[("id", "1")])
        );
        assert_eq!(capture("/v1/shelves/{id}", "/v1%2Fshelves/1"), None);
        assert_eq!(capture("/v1/shelves/{id}", "/v1/shelves%2F1"), None);
        assert_eq!(capture("/v1/{name}", "/v1/a%2Fb%3Aarchive"), None);
    }

    #[test]
    fn verbs_are_matched_and_stripped() {
        assert_eq!(
            capture("/v1/{name}:cancel", "/v1/op1:cancel"),
            pairs(&[("name", "op1")])
        );
        assert_eq!(capture("/v1/{name}:cancel", "/v1/op1"), None);
        assert_eq!(capture("/v1/{name}:cancel", "/v1/op1:undo"), None);
        // Without a verb in the template the colon is part of the value.
        assert_eq!(
            capture("/v1/{name}", "/v1/op1:cancel"),
            pairs(&[("name", "op1:cancel")])
        );
    }
}
