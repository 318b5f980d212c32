//! The limits of a YAML body, checked before yaml_serde decodes it (see `codec/limits.rs`).
//!
//! Two things cost more than the body's size in libyaml/yaml_serde, and both are bounded here:
//!
//! - **flow nesting**: libyaml walks its list of possible simple keys, one per open flow
//!   collection, for every token, so a body of nested `[` or `{` costs its size times its depth.
//!   [`flow_depth_within`] tokenises the body in one pass, as libyaml does, and refuses flow
//!   collections nested deeper than the limit before libyaml sees them.
//! - **aliases**: yaml_serde expands an alias each time it is read, so a small body naming a
//!   large anchor many times becomes gigabytes. [`expansion_within`] walks the document as
//!   decoding will, aliases expanded, counting scalar bytes plus one per node, and stops at the
//!   limit; nothing is copied. It only runs when the body can hold an alias (a `*`).
//!
//! Go Kratos (yaml.v3) expands aliases too, and so does this codec, within the limit. Go's
//! YAML encoder (and ours) never writes aliases or anchors for a message, so what a client
//! marshals always decodes.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::codec::DecodeLimits;
use crate::errors::Error;

/// Checks a YAML body against the limits: flow nesting, then the expanded size of aliases.
pub(crate) fn check(bytes: &[u8], limits: &DecodeLimits) -> Result<(), Error> {
    flow_depth_within(bytes, limits.max_depth)
        .map_err(|()| limits.too_deep("YAML flow collections"))?;
    if bytes.contains(&b'*') {
        expansion_within(bytes, limits.max_bytes)
            .map_err(|()| limits.too_large("YAML aliases expanded"))?;
    }
    Ok(())
}

/// Whether the flow collections of `bytes` nest at most `max` deep. The tokens are libyaml's:
/// comments, quoted scalars, plain scalars (which may hold `[` in block context and continue on
/// more-indented lines) and block scalars (whose lines are text) are skipped as libyaml skips
/// them, so only brackets libyaml would open count. Where the body is not valid YAML the scan
/// goes on, treating each doubtful character as a token of its own: it may then count brackets
/// libyaml would not, never fewer.
fn flow_depth_within(bytes: &[u8], max: usize) -> Result<(), ()> {
    FlowScan {
        bytes,
        pos: 0,
        line_start: 0,
        flow: 0,
        indents: Vec::new(),
        last_node: None,
        key_allowed: true,
        max,
    }
    .run()
}

struct FlowScan<'a> {
    bytes: &'a [u8],
    pos: usize,
    line_start: usize,
    /// Open flow collections.
    flow: usize,
    /// Block indentation levels (libyaml's indent stack; empty means -1).
    indents: Vec<usize>,
    /// Line start and column of the possible simple key in block context (libyaml rolls the
    /// block indentation to its column at the `:` that follows it).
    last_node: Option<(usize, usize)>,
    /// Whether a simple key may start here (libyaml's `simple_key_allowed`).
    key_allowed: bool,
    max: usize,
}

fn is_blank_or_end(b: Option<u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl FlowScan<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn column(&self) -> usize {
        self.pos - self.line_start
    }

    /// libyaml's current block indentation plus one: the least column of text that belongs
    /// to the current block node.
    fn block_indent(&self) -> usize {
        self.indents.last().map_or(0, |i| i + 1)
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line_start = self.pos;
    }

    fn roll_indent(&mut self, column: usize) {
        if self.flow == 0 && self.indents.last().is_none_or(|top| *top < column) {
            self.indents.push(column);
        }
    }

    fn run(mut self) -> Result<(), ()> {
        loop {
            // Whitespace, line breaks and comments between tokens.
            match self.at(self.pos) {
                None => return Ok(()),
                Some(b' ' | b'\t' | b'\r') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'\n') => {
                    self.newline();
                    if self.flow == 0 {
                        self.key_allowed = true;
                    }
                    continue;
                }
                Some(b'#') => {
                    self.skip_line();
                    continue;
                }
                Some(_) => {}
            }
            let column = self.column();
            if self.flow == 0 {
                while self.indents.last().is_some_and(|top| *top > column) {
                    self.indents.pop();
                }
            }
            let c = self.bytes[self.pos];
            let next = self.at(self.pos + 1);
            match c {
                b'%' if column == 0 => self.skip_line(),
                b'-' | b'.'
                    if column == 0
                        && self.bytes[self.pos..].starts_with(&[c, c, c])
                        && is_blank_or_end(self.at(self.pos + 3)) =>
                {
                    // libyaml leaves its flow level as it is here (the parser fails instead).
                    if self.flow == 0 {
                        self.indents.clear();
                    }
                    self.key_allowed = false;
                    self.pos += 3;
                }
                b'[' | b'{' => {
                    self.save_key(column);
                    self.flow += 1;
                    if self.flow > self.max {
                        return Err(());
                    }
                    self.key_allowed = true;
                    self.pos += 1;
                }
                b']' | b'}' => {
                    self.flow = self.flow.saturating_sub(1);
                    self.key_allowed = false;
                    self.pos += 1;
                }
                // A flow entry is a token in block context too.
                // These three remove the possible simple key of their level.
                b',' => {
                    self.remove_block_key();
                    self.key_allowed = true;
                    self.pos += 1;
                }
                b'-' if is_blank_or_end(next) => {
                    self.remove_block_key();
                    self.roll_indent(column);
                    self.key_allowed = true;
                    self.pos += 1;
                }
                b'?' if self.flow > 0 || is_blank_or_end(next) => {
                    self.remove_block_key();
                    self.roll_indent(column);
                    self.key_allowed = self.flow == 0;
                    self.pos += 1;
                }
                b':' if self.flow > 0 || is_blank_or_end(next) => {
                    match self.last_node {
                        Some((line, key_column)) if line == self.line_start => {
                            self.roll_indent(key_column);
                        }
                        _ => self.roll_indent(column),
                    }
                    self.last_node = None;
                    self.key_allowed = self.flow == 0;
                    self.pos += 1;
                }
                b'*' | b'&' => {
                    self.save_key(column);
                    self.key_allowed = false;
                    self.pos += 1;
                    while self
                        .at(self.pos)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    {
                        self.pos += 1;
                    }
                }
                b'!' => {
                    self.save_key(column);
                    self.key_allowed = false;
                    self.tag();
                }
                b'|' | b'>' if self.flow == 0 => {
                    self.last_node = None;
                    self.block_scalar();
                    self.key_allowed = true;
                }
                b'\'' => {
                    self.save_key(column);
                    self.key_allowed = false;
                    self.single_quoted();
                }
                b'"' => {
                    self.save_key(column);
                    self.key_allowed = false;
                    self.double_quoted();
                }
                _ => {
                    self.save_key(column);
                    // A plain scalar over several lines allows a key after it.
                    self.key_allowed = self.plain();
                }
            }
        }
    }

    /// A token that may start a simple key, as libyaml's `save_simple_key`: the key is where
    /// the first such token stands while keys are allowed.
    fn save_key(&mut self, column: usize) {
        if self.flow == 0 && self.key_allowed {
            self.last_node = Some((self.line_start, column));
        }
    }

    fn remove_block_key(&mut self) {
        if self.flow == 0 {
            self.last_node = None;
        }
    }

    /// A tag: `!<uri>` (verbatim, may hold `[`, `]` and `,`) or `!handle!suffix`, which ends
    /// at a blank or a flow indicator.
    fn tag(&mut self) {
        self.pos += 1;
        if self.at(self.pos) == Some(b'<') {
            while self
                .at(self.pos)
                .is_some_and(|b| b != b'>' && !is_blank_or_end(Some(b)))
            {
                self.pos += 1;
            }
            if self.at(self.pos) == Some(b'>') {
                self.pos += 1;
            }
            return;
        }
        while self
            .at(self.pos)
            .is_some_and(|b| !is_blank_or_end(Some(b)) && !is_flow_indicator(b))
        {
            self.pos += 1;
        }
    }

    /// To the end of the line (the line break is left for the caller).
    fn skip_line(&mut self) {
        while self.at(self.pos).is_some_and(|b| b != b'\n') {
            self.pos += 1;
        }
    }

    fn single_quoted(&mut self) {
        self.pos += 1;
        while let Some(b) = self.at(self.pos) {
            match b {
                b'\'' if self.at(self.pos + 1) == Some(b'\'') => self.pos += 2,
                b'\'' => {
                    self.pos += 1;
                    return;
                }
                b'\n' => self.newline(),
                _ => self.pos += 1,
            }
        }
    }

    fn double_quoted(&mut self) {
        self.pos += 1;
        while let Some(b) = self.at(self.pos) {
            match b {
                b'\\' if self.at(self.pos + 1) == Some(b'\n') => {
                    self.pos += 1;
                    self.newline();
                }
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\n' => self.newline(),
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.bytes.len());
    }

    /// A plain scalar: in flow context it ends at a flow indicator; in both contexts at `: `
    /// and ` #`; in block context it continues on following lines indented past the current
    /// block (libyaml's rule), and `[` inside it is text.
    fn plain(&mut self) -> bool {
        self.pos += 1;
        let mut lines = false;
        loop {
            let Some(b) = self.at(self.pos) else {
                return lines;
            };
            let next = self.at(self.pos + 1);
            match b {
                b':' if is_blank_or_end(next)
                    || (self.flow > 0 && next.is_some_and(is_flow_indicator)) =>
                {
                    return lines;
                }
                _ if self.flow > 0 && is_flow_indicator(b) => return lines,
                b' ' | b'\t' | b'\r' if next == Some(b'#') => return lines,
                b'\n' => {
                    // The scalar goes on if the next non-empty line is indented enough (always,
                    // in flow context) and is not a document marker.
                    let mut i = self.pos;
                    let mut line_start = self.pos + 1;
                    while let Some(b) = self.at(i) {
                        match b {
                            b'\n' => {
                                line_start = i + 1;
                                i += 1;
                            }
                            b' ' | b'\t' | b'\r' => i += 1,
                            _ => break,
                        }
                    }
                    let column = i - line_start;
                    let marker = column == 0
                        && (self.bytes[i..].starts_with(b"---")
                            || self.bytes[i..].starts_with(b"..."))
                        && is_blank_or_end(self.at(i + 3));
                    let comment = self.at(i) == Some(b'#');
                    if self.at(i).is_none()
                        || marker
                        || comment
                        || (self.flow == 0 && column < self.block_indent())
                    {
                        return lines;
                    }
                    lines = true;
                    self.pos = i;
                    self.line_start = line_start;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A block scalar (`|` or `>`): its header line, then every line indented at least as the
    /// scalar's content (explicit, or that of its first non-empty line, and past the current
    /// block), or empty.
    fn block_scalar(&mut self) {
        let explicit = self.bytes[self.pos + 1..]
            .iter()
            .take_while(|b| matches!(b, b'+' | b'-' | b'0'..=b'9'))
            .find(|b| b.is_ascii_digit())
            .map(|d| usize::from(d - b'0'));
        self.skip_line();
        let base = self.indents.last().map_or(0, |i| i + 1);
        let mut indent = explicit.map(|d| self.indents.last().map_or(d, |i| i + d));
        // Without an explicit indentation, libyaml takes the widest of the leading empty
        // lines and the first non-empty one.
        let mut widest_empty = 0;
        while self.at(self.pos) == Some(b'\n') {
            let start = self.pos + 1;
            let mut i = start;
            while self.at(i) == Some(b' ') {
                i += 1;
            }
            let column = i - start;
            let empty = matches!(self.at(i), None | Some(b'\n' | b'\r'));
            if empty {
                widest_empty = widest_empty.max(column);
            } else {
                let need = *indent.get_or_insert(column.max(widest_empty).max(base).max(1));
                if column < need {
                    return;
                }
            }
            self.pos = start;
            self.line_start = start;
            self.skip_line();
        }
    }
}

/// Whether the document, aliases expanded, is at most `max` units: one per node plus the bytes
/// of each scalar. Walks the document as decoding will (yaml_serde expands aliases on the
/// fly) and stops at the limit. A syntax error is not this check's to report: decoding
/// reports it.
fn expansion_within(bytes: &[u8], max: usize) -> Result<(), ()> {
    let mut budget = Budget {
        left: max,
        exceeded: false,
    };
    let de = yaml_serde::Deserializer::from_slice(bytes);
    // Any other error (a syntax error) is decoding's to report.
    let _ = (&mut budget).deserialize(de);
    if budget.exceeded { Err(()) } else { Ok(()) }
}

struct Budget {
    left: usize,
    exceeded: bool,
}

impl Budget {
    fn spend<E: de::Error>(&mut self, units: usize) -> Result<(), E> {
        match self.left.checked_sub(units.max(1)) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.exceeded = true;
                Err(E::custom("decoded size limit exceeded"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for &mut Budget {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Budget {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.spend(v.len())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<(), E> {
        self.spend(v.len())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend(1)?;
        while seq.next_element_seed(&mut *self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend(1)?;
        while map.next_key_seed(&mut *self)?.is_some() {
            map.next_value_seed(&mut *self)?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged node (`!tag value`): the tag, then the value, whatever its shape.
        let ((), variant) = data.variant_seed(&mut *self)?;
        de::VariantAccess::newtype_variant_seed(variant, &mut *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(yaml: &str, max: usize) -> bool {
        flow_depth_within(yaml.as_bytes(), max).is_ok()
    }

    #[test]
    fn flow_depth_counts_only_libyaml_flow_collections() {
        assert!(depth_ok("a: [[[1]]]", 3));
        assert!(!depth_ok("a: [[[1]]]", 2));
        assert!(!depth_ok("{a: {b: [c]}}", 2));
        assert!(depth_ok("[[1], [2], [3], [4]]", 2));
        // Brackets that are text: in quoted scalars, comments, block plain scalars (also on
        // their continuation lines) and block scalars.
        assert!(depth_ok("a: \"[[[[\"\nb: '[[[['' [['\n# [[[[\n", 1));
        assert!(depth_ok("a: x[[[[\n  [[[[ more\nb: 1", 0));
        assert!(depth_ok("a: |\n  [[[[\n  [[[[\nb: >-\n    {{{{\n", 0));
        assert!(depth_ok("- key: |\n    [[[[\n", 0));
        // Brackets that libyaml reads as flow collections (each checked against libyaml's
        // scanner): after a plain scalar that ends, a block scalar whose content is wider or
        // empty, a verbatim tag holding `]`, a key that is a tag, a key removed by `,`.
        assert!(!depth_ok("a: x\n  \"\nb: [[[[", 3));
        assert!(!depth_ok("a: x\n,[[[[", 3));
        assert!(!depth_ok("a: |\nb: [[[[", 3));
        assert!(!depth_ok("a: >\n    \n  [[[[", 3));
        assert!(!depth_ok("[a '[[[[", 4));
        assert!(!depth_ok("[a #x\n[[[", 3));
        assert!(!depth_ok("[!<]]]]> [[[", 3));
        assert!(!depth_ok("!t : x\n  y\n- [[[[", 3));
        assert!(!depth_ok("*a,: x\n    y\n  [[[[", 3));
        assert!(!depth_ok(&"[".repeat(10_000), 100));
        assert!(depth_ok(&"[".repeat(100), 100));
    }

    #[test]
    fn alias_expansion_is_counted() {
        let anchor = "x".repeat(1000);
        let body = format!("name: &a {anchor}\ntags: [{}]\n", vec!["*a"; 50].join(", "));
        assert!(expansion_within(body.as_bytes(), 60_000).is_ok());
        assert!(expansion_within(body.as_bytes(), 40_000).is_err());
        // Nested anchors multiply: each level doubles (the 11 keys hold 2047 copies of 1000 bytes).
        let mut doc = format!("a0: &a0 [{anchor}]\n");
        for i in 1..=10 {
            doc.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
        }
        assert!(expansion_within(doc.as_bytes(), 2_100_000).is_ok());
        assert!(expansion_within(doc.as_bytes(), 2_000_000).is_err());
        // Syntax errors are left to decoding.
        assert!(expansion_within(b"a: [*b", 10).is_ok());
    }

    #[test]
    fn error_bodies_are_read_within_the_limit() {
        use crate::codec::Codec;
        let body = "status:\n    code: 404\n    reason: &r NOT_FOUND\n    message: *r\n";
        let err = Codec::Yaml.decode_error(body.as_bytes()).unwrap();
        assert_eq!((err.code(), err.message()), (404, "NOT_FOUND"));
        // A reply (here an error body) that expands past the default limit is not read.
        let bomb = format!(
            "status:\n    code: 500\n    reason: &r {}\n    metadata: {{{}}}\n",
            "x".repeat(100_000),
            (0..100)
                .map(|i| format!("k{i}: *r"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert_eq!(Codec::Yaml.decode_error(bomb.as_bytes()), None);
    }
}
