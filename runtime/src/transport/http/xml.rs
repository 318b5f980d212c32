//! XML request bodies, read as Kratos' Go XML decoder reads them into generated structs: child
//! elements whose names are Go field names (`DisplayName`, the field's JSON name with an
//! upper-case initial) set those fields; other elements are ignored; the root element's name
//! is not checked.

use quick_xml::Reader;
use quick_xml::events::Event;

/// The leaf elements of the document as form pairs: `<A><B>x</B></A>` → `("a.b", "x")` for a
/// root holding `<A>`. Subtrees under names that are not Go field names are skipped.
pub(crate) fn to_pairs(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut reader = Reader::from_reader(body);
    let mut pairs = Vec::new();
    // Path below the root: (json name or None when ignored, has child elements).
    let mut stack: Vec<(Option<String>, bool)> = Vec::new();
    let mut depth = 0usize;
    let mut text = String::new();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?;
        match event {
            Event::Start(start) => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
                if let Some(parent) = stack.last_mut() {
                    parent.1 = true;
                }
                let name = start.local_name().as_ref().to_string();
                let parent_ok = stack.iter().all(|(n, _)| n.is_some());
                stack.push((if parent_ok { json_name(&name) } else { None }, false));
                text.clear();
            }
            Event::Empty(start) => {
                if depth == 0 {
                    break;
                }
                if let Some(parent) = stack.last_mut() {
                    parent.1 = true;
                }
                let name = start.local_name().as_ref().to_string();
                if stack.iter().all(|(n, _)| n.is_some())
                    && let Some(json) = json_name(&name)
                {
                    pairs.push((path_key(&stack, &json), String::new()));
                }
            }
            // Character references come as separate `GeneralRef` events.
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content().into_owned();
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .map(str::to_string)
                    .or_else(|| {
                        let code = name
                            .strip_prefix("#x")
                            .map(|h| u32::from_str_radix(h, 16))
                            .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))?
                            .ok()?;
                        char::from_u32(code).map(String::from)
                    })
                    .ok_or_else(|| format!("unknown entity &{name};"))?;
                text.push_str(&resolved);
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
                if let Some((name, has_children)) = stack.pop() {
                    let parent_ok = stack.iter().all(|(n, _)| n.is_some());
                    if let (Some(json), false, true) = (name, has_children, parent_ok) {
                        pairs.push((path_key(&stack, &json), std::mem::take(&mut text)));
                    }
                }
                text.clear();
            }
            Event::Eof => {
                if depth != 0 {
                    return Err("unexpected end of the document".into());
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(pairs)
}

fn path_key(stack: &[(Option<String>, bool)], leaf: &str) -> String {
    let mut key = String::new();
    for (name, _) in stack {
        if let Some(n) = name {
            key.push_str(n);
            key.push('.');
        }
    }
    key.push_str(leaf);
    key
}

/// A Go field name (exported: upper-case initial) as the field's JSON name.
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
        let pairs = to_pairs(
            b"<CreateShelfRequest><Parent>p &amp; q</Parent><Count>3</Count><Tags>a</Tags><Tags>b</Tags>\
              <Shelf><Name>s</Name></Shelf><parent>ignored</parent><Labels/></CreateShelfRequest>",
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
        assert!(to_pairs(b"<A><B>x</A>").is_err());
        assert_eq!(to_pairs(b"<Req><lower>1</lower></Req>").unwrap(), []);
    }
}
