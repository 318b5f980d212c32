//! XML request bodies, read as Kratos' Go XML decoder reads them into generated structs: child
//! elements whose names are Go field names (`DisplayName`, the field's JSON name with an
//! upper-case initial) set those fields; other elements are ignored; the root element's name
//! is not checked.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Why an XML body could not become form pairs.
#[derive(Debug)]
pub(crate) enum XmlError {
    /// Not well-formed, or an unknown entity.
    Syntax(String),
    /// Elements nested deeper than the limit.
    TooDeep,
    /// The form keys (element paths, one per leaf) add up to more bytes than the limit.
    KeysTooLarge,
}

/// The leaf elements of the document as form pairs: `<A><B>x</B></A>` → `("a.b", "x")` for a
/// root holding `<A>`. Subtrees under names that are not Go field names are skipped.
///
/// Bounded like the body: elements may nest `limits.max_depth` deep (the root included), and
/// the keys, whose length grows with depth, may add up to `limits.max_bytes` bytes. Work is
/// linear in the body plus the keys.
pub(crate) fn to_pairs(
    body: &[u8],
    limits: &crate::codec::DecodeLimits,
) -> Result<Vec<(String, String)>, XmlError> {
    let mut reader = Reader::from_reader(body);
    let mut pairs = Vec::new();
    // Path below the root: (whether the element is a Go field under Go fields, the length of
    // `prefix` before it, has child elements).
    let mut stack: Vec<(bool, usize, bool)> = Vec::new();
    // The key prefix of the innermost element that is a Go field under Go fields (`a.b.`).
    let mut prefix = String::new();
    let mut key_bytes = 0usize;
    let mut depth = 0usize;
    let mut text = String::new();
    let mut buf = Vec::new();
    // A leaf's key, counted against the limit before it is built.
    let mut leaf_key = |parts: [&str; 2]| {
        key_bytes = key_bytes.saturating_add(parts[0].len() + parts[1].len());
        if key_bytes > limits.max_bytes {
            return Err(XmlError::KeysTooLarge);
        }
        Ok(parts.concat())
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| XmlError::Syntax(e.to_string()))?;
        match event {
            Event::Start(start) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(XmlError::TooDeep);
                }
                if depth == 1 {
                    continue;
                }
                let parent_ok = match stack.last_mut() {
                    Some(parent) => {
                        parent.2 = true;
                        parent.0
                    }
                    None => true,
                };
                let before = prefix.len();
                let field = parent_ok
                    && match json_name(start.local_name().as_ref()) {
                        Some(json) => {
                            prefix.push_str(&json);
                            prefix.push('.');
                            true
                        }
                        None => false,
                    };
                stack.push((field, before, false));
                text.clear();
            }
            Event::Empty(start) => {
                if depth == 0 {
                    break;
                }
                let parent_ok = match stack.last_mut() {
                    Some(parent) => {
                        parent.2 = true;
                        parent.0
                    }
                    None => true,
                };
                if parent_ok && let Some(json) = json_name(start.local_name().as_ref()) {
                    pairs.push((leaf_key([&prefix, &json])?, String::new()));
                }
            }
            // Character references come as separate `GeneralRef` events.
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content().into_owned();
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .map(str::to_string)
                    .or_else(|| char_ref(&name).map(String::from))
                    .ok_or_else(|| XmlError::Syntax(format!("unknown entity &{name};")))?;
                text.push_str(&resolved);
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
                if let Some((field, before, has_children)) = stack.pop() {
                    if field && !has_children {
                        // The element's key is the prefix it added: `a.b.` → `a.b`.
                        let key = leaf_key([prefix.strip_suffix('.').unwrap_or(&prefix), ""])?;
                        pairs.push((key, std::mem::take(&mut text)));
                    }
                    prefix.truncate(before);
                }
                text.clear();
            }
            Event::Eof => {
                if depth != 0 {
                    return Err(XmlError::Syntax("unexpected end of the document".into()));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(pairs)
}

/// A Go field name (exported: upper-case initial) as the field's JSON name.
/// The character of a character reference's name (`#65`, `#x41`): `#x` and one or more ASCII
/// hexadecimal digits, or `#` and one or more ASCII decimal digits, naming a Unicode scalar
/// value; `None` for anything else. (`from_str_radix` and `parse` alone would also take a
/// sign: `&#x+41;`, which Go's XML decoder refuses.)
fn char_ref(name: &str) -> Option<char> {
    let (digits, radix) = match name.strip_prefix("#x") {
        Some(hex) => (hex, 16),
        None => (name.strip_prefix('#')?, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let code = digits.chars().try_fold(0u32, |n, c| {
        n.checked_mul(radix)?.checked_add(c.to_digit(radix)?)
    })?;
    char::from_u32(code)
}

fn json_name(go: &str) -> Option<String> {
    let mut chars = go.chars();
    let first = chars.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    Some(first.to_ascii_lowercase().to_string() + chars.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_named_elements_become_form_pairs() {
        let limits = crate::codec::DecodeLimits::default();
        let pairs = to_pairs(
            b"<CreateShelfRequest><Parent>p &amp; q</Parent><Count>3</Count><Tags>a</Tags><Tags>b</Tags>\
              <Shelf><Name>s</Name></Shelf><parent>ignored</parent><Labels/></CreateShelfRequest>",
            &limits,
        )
        .unwrap();
        assert_eq!(
            pairs,
            [
                ("parent".to_string(), "p & q".to_string()),
                ("count".to_string(), "3".to_string()),
                ("tags".to_string(), "a".to_string()),
                ("tags".to_string(), "b".to_string()),
                ("shelf.name".to_string(), "s".to_string()),
                ("labels".to_string(), String::new()),
            ]
        );
        assert!(to_pairs(b"<A><B>x</A>", &limits).is_err());
        assert_eq!(
            to_pairs(b"<Req><lower>1</lower></Req>", &limits).unwrap(),
            []
        );
    }

    #[test]
    fn character_references_are_digits_only() {
        for (name, want) in [
            ("#65", 'A'),
            ("#x41", 'A'),
            ("#x4f60", '你'),
            ("#0065", 'A'),
            ("#x10FFFF", '\u{10FFFF}'),
        ] {
            assert_eq!(char_ref(name), Some(want), "{name}");
        }
        for bad in [
            "#x+41",
            "#+65",
            "#-65",
            "#x-1",
            "#",
            "#x",
            "# 65",
            "#65 ",
            "#x4G",
            "#X41",
            "#6.5",
            "#xD800",
            "#x110000",
            "#99999999999",
            "x41",
            "#\u{663}",
        ] {
            assert_eq!(char_ref(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn depth_and_key_bytes_are_bounded() {
        let limits = crate::codec::DecodeLimits {
            max_bytes: 20,
            max_depth: 3,
        };
        // Three levels, the root included; ignored subtrees count too.
        assert!(to_pairs(b"<R><A><B>x</B></A></R>", &limits).is_ok());
        assert!(matches!(
            to_pairs(b"<R><A><B><C/></B></A></R>", &limits),
            Ok(pairs) if pairs == [("a.b.c".to_string(), String::new())]
        ));
        assert!(matches!(
            to_pairs(b"<R><A><B><C>x</C></B></A></R>", &limits),
            Err(XmlError::TooDeep)
        ));
        assert!(matches!(
            to_pairs(b"<R><a><b><c>x</c></b></a></R>", &limits),
            Err(XmlError::TooDeep)
        ));
        // Keys: "a.b" (3 bytes) six times fits in 20 bytes, seven times does not.
        let leaves = |n: usize| format!("<R><A>{}</A></R>", "<B/>".repeat(n));
        assert_eq!(to_pairs(leaves(6).as_bytes(), &limits).unwrap().len(), 6);
        assert!(matches!(
            to_pairs(leaves(7).as_bytes(), &limits),
            Err(XmlError::KeysTooLarge)
        ));
        // Ignored elements make no keys.
        let ignored = format!("<R><a>{}</a></R>", "<B/>".repeat(100));
        assert_eq!(to_pairs(ignored.as_bytes(), &limits).unwrap(), []);
    }
}
