//! Template parsing and validation.

use crate::{Segment, Template, Variable};

/// Why a template is invalid. The message names the template and the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path template '{template}': {reason}")]
pub struct TemplateError {
    /// The template as written.
    pub template: String,
    /// What is wrong, such as `'**' must be the last segment`.
    pub reason: String,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
}

pub(crate) fn parse(template: &str) -> Result<Template, TemplateError> {
    let fail = |reason: String| TemplateError {
        template: template.to_string(),
        reason,
    };
    if !template.starts_with('/') {
        return Err(fail("must start with '/'".into()));
    }
    let (path, verb) = split_verb(template).map_err(fail)?;
    let mut p = Parser {
        src: path,
        pos: 1,
        segments: Vec::new(),
        variables: Vec::new(),
    };
    if path != "/" {
        p.segments_until(None).map_err(fail)?;
        if p.pos != path.len() {
            return Err(fail(format!("unexpected '{}'", &path[p.pos..])));
        }
    }
    if let Some(i) = p.segments.iter().position(|s| *s == Segment::Multi)
        && i + 1 != p.segments.len()
    {
        return Err(fail("'**' must be the last segment".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for v in &p.variables {
        if !seen.insert(v.field_path.as_str()) {
            return Err(fail(format!("variable '{}' appears twice", v.field_path)));
        }
    }
    Ok(Template {
        source: template.to_string(),
        segments: p.segments,
        variables: p.variables,
        verb: verb.map(str::to_string),
    })
}

/// Splits off `:verb`: the last `:` that is after the last `/` and outside braces.
fn split_verb(template: &str) -> Result<(&str, Option<&str>), String> {
    let mut depth = 0usize;
    let mut colon = None;
    for (i, c) in template.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => colon = None,
            ':' if depth == 0 => colon = Some(i),
            _ => {}
        }
    }
    match colon {
        None => Ok((template, None)),
        Some(i) => {
            let verb = &template[i + 1..];
            if verb.is_empty() {
                return Err("empty verb after ':'".into());
            }
            if let Some(bad) = verb.chars().find(|c| !is_literal_char(*c)) {
                return Err(format!("verb '{verb}' contains '{bad}'"));
            }
            let path = &template[..i];
            if path.ends_with('/') {
                return Err("a verb must follow a segment, not '/'".into());
            }
            Ok((path, Some(verb)))
        }
    }
}

fn is_literal_char(c: char) -> bool {
    !matches!(c, '/' | '{' | '}' | '*' | '=' | ':' | '?' | '#') && !c.is_whitespace()
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// Parses `Segment { "/" Segment }`, stopping at `stop` (`}`) or the end.
    fn segments_until(&mut self, stop: Option<char>) -> Result<(), String> {
        loop {
            self.segment(stop.is_some())?;
            match self.peek() {
                Some('/') => {
                    self.pos += 1;
                }
                c if c == stop => return Ok(()),
                Some(c) => return Err(format!("unexpected '{c}' at offset {}", self.pos)),
                None => return Ok(()),
            }
        }
    }

    fn segment(&mut self, in_variable: bool) -> Result<(), String> {
        let rest = &self.src[self.pos..];
        if rest.starts_with("**") {
            self.pos += 2;
            self.segments.push(Segment::Multi);
        } else if rest.starts_with('*') {
            self.pos += 1;
            self.segments.push(Segment::Single);
        } else if rest.starts_with('{') {
            if in_variable {
                return Err("variables cannot be nested".into());
            }
            self.variable()?;
        } else {
            let len = rest
                .char_indices()
                .find(|(_, c)| !is_literal_char(*c))
                .map_or(rest.len(), |(i, _)| i);
            if len == 0 {
                return Err(match rest.chars().next() {
                    None | Some('/') => format!("empty segment at offset {}", self.pos),
                    Some(c) => format!("unexpected '{c}' at offset {}", self.pos),
                });
            }
            self.segments
                .push(Segment::Literal(rest[..len].to_string()));
            self.pos += len;
        }
        match self.peek() {
            None | Some('/') | Some('}') => Ok(()),
            Some(c) => Err(format!("unexpected '{c}' at offset {}", self.pos)),
        }
    }

    fn variable(&mut self) -> Result<(), String> {
        self.pos += 1; // '{'
        let rest = &self.src[self.pos..];
        let end = rest
            .find(['=', '}'])
            .ok_or_else(|| "unclosed '{'".to_string())?;
        let field_path = rest[..end].trim();
        if field_path.is_empty() {
            return Err("variable without a field path".into());
        }
        for ident in field_path.split('.') {
            let valid = ident
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("'{field_path}' is not a field path"));
            }
        }
        self.pos += end;
        let start = self.segments.len();
        if self.peek() == Some('=') {
            self.pos += 1;
            if self.peek() == Some('}') {
                return Err(format!("variable '{field_path}' has an empty pattern"));
            }
            self.segments_until(Some('}'))?;
        } else {
            self.segments.push(Segment::Single);
        }
        if self.peek() != Some('}') {
            return Err(format!("unclosed variable '{field_path}'"));
        }
        self.pos += 1;
        self.variables.push(Variable {
            field_path: field_path.to_string(),
            start,
            end: self.segments.len(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: &str) -> Template {
        match parse(t) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_the_grammar() {
        let t = ok("/v1/{name=shelves/*/books/*}:cancel");
        assert_eq!(t.verb(), Some("cancel"));
        assert_eq!(t.segments().len(), 5);
        assert_eq!(t.variables()[0].field_path, "name");
        assert_eq!((t.variables()[0].start, t.variables()[0].end), (1, 5));

        let t = ok("/helloworld/{name}");
        assert_eq!(
            t.segments(),
            &[Segment::Literal("helloworld".into()), Segment::Single]
        );

        let t = ok("/v1/{book.name=**}");
        assert_eq!(
            t.variables()[0].fields().collect::<Vec<_>>(),
            ["book", "name"]
        );
        assert_eq!(t.segments()[1], Segment::Multi);

        assert_eq!(ok("/").segments().len(), 0);
        assert_eq!(ok("/v1/*/x:do.it").verb(), Some("do.it"));
    }

    #[test]
    fn rejects_invalid_templates() {
        for bad in [
            "",
            "v1/x",
            "/v1//x",
            "/v1/x/",
            "/v1/{name",
            "/v1/{name=}",
            "/v1/{}",
            "/v1/{a={b}}",
            "/v1/**/x",
            "/v1/{1a}",
            "/v1/{a}/{a}",
            "/v1/x:",
            "/v1/{a}:",
            "/v1/x*",
            "/v1/{a}b",
            "/v1/x/:verb",
            "/:verb",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let err = parse("/v1/**/x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid path template '/v1/**/x': '**' must be the last segment"
        );
    }
}
