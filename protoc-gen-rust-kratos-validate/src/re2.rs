//! Go (RE2) regular expressions as `regex` crate patterns with the same meaning.
//!
//! The syntaxes are nearly the same; the differences that change verdicts are rewritten:
//!
//! - `\d \w \s \b` (and negations) are ASCII in Go, Unicode in Rust: they become explicit ASCII
//!   classes (`[0-9]`, `[0-9A-Za-z_]`, `[\t\n\f\r ]`) and `(?-u:\b)`;
//! - inside a character class Rust gives `[`, `&&`, `--` and `~~` a meaning (nested classes and
//!   set operations) where Go reads literal characters: they are escaped.
//!
//! Go-only syntax (`\Q...\E`, `\C`, octal escapes) is left as is and rejected by the `regex`
//! crate, which the generator reports as an error naming the field.

/// Go's `\d \w \s` inside a class.
fn class_body(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'w' => "0-9A-Za-z_",
        's' => "\\t\\n\\f\\r ",
        'D' => "\\x00-/:-\\x{10FFFF}",
        'W' => "\\x00-/:-@\\[-\\^`\\{-\\x{10FFFF}",
        'S' => "\\x00-\\x08\\x0B\\x0E-\\x1F!-\\x{10FFFF}",
        _ => return None,
    })
}

/// Translates a Go pattern to the `regex` crate's syntax.
pub fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    // Position inside the current class, to recognise a leading `]` or `^]`.
    let mut class_start = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            if in_class {
                match class_body(n) {
                    Some(body) => out.push_str(body),
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            } else {
                match n {
                    'd' | 'w' | 's' | 'D' | 'W' | 'S' => {
                        let body = class_body(n.to_ascii_lowercase()).unwrap_or_default();
                        out.push('[');
                        if n.is_ascii_uppercase() {
                            out.push('^');
                        }
                        out.push_str(body);
                        out.push(']');
                    }
                    'b' => out.push_str("(?-u:\\b)"),
                    'B' => out.push_str("(?-u:\\B)"),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            i += 2;
            continue;
        }
        if in_class {
            let leading = i == class_start;
            match c {
                ']' if !leading => {
                    in_class = false;
                    out.push(']');
                }
                ']' => out.push_str("\\]"),
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class such as [:alpha:], copied whole.
                    let rest: String = chars[i..].iter().collect();
                    match rest.find(":]") {
                        Some(end) if end > 1 => {
                            out.push_str(&rest[..end + 2]);
                            i += rest[..end + 2].chars().count();
                            continue;
                        }
                        _ => out.push_str("\\["),
                    }
                }
                '[' => out.push_str("\\["),
                '&' => out.push_str("\\&"),
                '~' => out.push_str("\\~"),
                '-' if out.ends_with('-') && !out.ends_with("\\-") => out.push_str("\\-"),
                c => out.push(c),
            }
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            out.push('[');
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            class_start = i;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(go: &str, s: &str) -> bool {
        let re = regex::Regex::new(&translate(go));
        match re {
            Ok(re) => re.is_match(s),
            Err(e) => panic!("{go} -> {}: {e}", translate(go)),
        }
    }

    #[test]
    fn ascii_classes_like_go() {
        assert!(matches("^\\d+$", "123"));
        assert!(!matches("^\\d+$", "١٢٣"));
        assert!(!matches("^\\w+$", "é"));
        assert!(matches("^[\\w.]+$", "a.b_c"));
        assert!(!matches("^[\\w]+$", "é"));
        assert!(matches("\\* \\\\ \\w", "* \\ x"));
        assert!(!matches("^\\s$", "\u{a0}"));
        assert!(matches("^[^\\d]$", "x"));
        assert!(matches("^[\\D]$", "x"));
        assert!(!matches("^[\\D]$", "1"));
        assert!(matches("^[\\W]$", "é"));
        assert!(!matches("^[\\W]$", "a"));
    }

    #[test]
    fn class_quirks_like_go() {
        // HTTP_HEADER_NAME: `+-.` is a range, so `,` matches.
        let header = "^:?[0-9a-zA-Z!#$%&'*+-.^_|~\u{60}]+$";
        assert!(matches(header, "!+#&.%"));
        assert!(matches(header, "a,b"));
        assert!(!matches(header, "a b"));
        assert!(matches("^[a&&b]+$", "&&"));
        assert!(matches("^[[]$", "["));
        assert!(matches("^[]a]+$", "]a"));
        assert!(matches("^[[:alpha:]]+$", "abc"));
        assert!(matches("^[!--]$", ","));
        assert!(matches("(?i)^[a-z0-9]+$", "Foo123"));
    }
}
