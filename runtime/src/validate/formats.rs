//! The string formats of protoc-gen-validate (`email`, `hostname`, `ip`, `uri`, `uuid`, ...),
//! checked the way the Go code PGV generates checks them: Go's `net/mail.ParseAddress`,
//! `net.ParseIP` and `net/url.Parse` are reproduced here, including their leniencies (a display
//! name around an email address, `::ffff:1.2.3.4` counting as IPv4), and errors carry Go's text
//! (it appears after `| caused by:` in messages).

use std::borrow::Cow;
use std::net::Ipv6Addr;

use super::golang::quote;

/// PGV's `_validateHostname`.
pub fn validate_hostname(host: &str) -> Result<(), String> {
    if host.len() > 253 {
        return Err("hostname cannot exceed 253 characters".into());
    }
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    // Go lower-cases the name first (strings.ToLower, Unicode-aware).
    let lower: Cow<'_, str> = if trimmed.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        Cow::Owned(trimmed.to_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    };
    for part in lower.split('.') {
        if part.is_empty() || part.len() > 63 {
            return Err("hostname part must be non-empty and cannot exceed 63 characters".into());
        }
        if part.starts_with('-') {
            return Err("hostname parts cannot begin with hyphens".into());
        }
        if part.ends_with('-') {
            return Err("hostname parts cannot end with hyphens".into());
        }
        if let Some(c) = part
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(format!(
                "hostname parts can only contain alphanumeric characters or hyphens, got {}",
                quote(&c.to_string())
            ));
        }
    }
    Ok(())
}

/// PGV's `_validateEmail`: Go's `mail.ParseAddress`, then length limits and the hostname check
/// on the domain.
pub fn validate_email(addr: &str) -> Result<(), String> {
    let address = parse_single_address(addr)?;
    if address.len() > 254 {
        return Err("email addresses cannot exceed 254 characters".into());
    }
    let (local, domain) = address.split_once('@').unwrap_or((address.as_str(), ""));
    if local.len() > 64 {
        return Err("email address local phrase cannot exceed 64 characters".into());
    }
    validate_hostname(domain)
}

/// PGV's `_validateUuid`.
pub fn validate_uuid(uuid: &str) -> Result<(), String> {
    let bytes = uuid.as_bytes();
    let ok = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(())
    } else {
        Err("invalid UUID string".into())
    }
}

/// Go's `net.ParseIP`, as 16 bytes.
fn parse_ip(s: &str) -> Option<[u8; 16]> {
    // netip.ParseAddr picks the family by the first separator.
    let first = s.find(['.', ':'])?;
    if s.as_bytes()[first] == b'.' {
        let v4: std::net::Ipv4Addr = s.parse().ok()?;
        Some(v4.to_ipv6_mapped().octets())
    } else {
        let v6: Ipv6Addr = s.parse().ok()?;
        Some(v6.octets())
    }
}

fn is_v4_in_16(b: &[u8; 16]) -> bool {
    b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff
}

/// `net.ParseIP(s) != nil`.
pub fn is_ip(s: &str) -> bool {
    parse_ip(s).is_some()
}

/// `net.ParseIP(s).To4() != nil` (IPv4-mapped IPv6 addresses count).
pub fn is_ipv4(s: &str) -> bool {
    parse_ip(s).is_some_and(|b| is_v4_in_16(&b))
}

/// `net.ParseIP(s)` parses and `To4() == nil`.
pub fn is_ipv6(s: &str) -> bool {
    parse_ip(s).is_some_and(|b| !is_v4_in_16(&b))
}

/// `net.IP(b).To16() != nil`: 4 or 16 bytes.
pub fn bytes_is_ip(b: &[u8]) -> bool {
    b.len() == 4 || b.len() == 16
}

/// `net.IP(b).To4() != nil`: 4 bytes, or 16 bytes holding an IPv4-mapped address.
pub fn bytes_is_ipv4(b: &[u8]) -> bool {
    match <&[u8; 16]>::try_from(b) {
        Ok(b16) => is_v4_in_16(b16),
        Err(_) => b.len() == 4,
    }
}

/// `To16() != nil && To4() == nil`: 16 bytes, not IPv4-mapped.
pub fn bytes_is_ipv6(b: &[u8]) -> bool {
    <&[u8; 16]>::try_from(b).is_ok_and(|b16| !is_v4_in_16(b16))
}

/// `uri`: Go's `url.Parse` succeeds and the URL is absolute (has a scheme). The error is Go's
/// text, or `None` when the URI parses but is relative.
pub fn validate_uri(s: &str) -> Result<(), Option<String>> {
    match parse_url(s) {
        Ok(true) => Ok(()),
        Ok(false) => Err(None),
        Err(e) => Err(Some(e)),
    }
}

/// `uri_ref`: Go's `url.Parse` succeeds.
pub fn validate_uri_ref(s: &str) -> Result<(), String> {
    parse_url(s).map(|_| ())
}

// ---- net/url -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn url_error(op_input: &str, reason: String) -> String {
    format!("parse {}: {reason}", quote(op_input))
}

/// Go's `url.Parse`; `Ok(true)` when the URL has a scheme.
fn parse_url(raw: &str) -> Result<bool, String> {
    let (u, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let absolute = parse_url_inner(u).map_err(|e| url_error(u, e))?;
    if let Some(frag) = frag.filter(|f| !f.is_empty()) {
        unescape(frag, Encoding::Fragment).map_err(|e| url_error(raw, e))?;
    }
    Ok(absolute)
}

fn parse_url_inner(raw: &str) -> Result<bool, String> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    if raw == "*" {
        return Ok(false);
    }
    let (scheme, rest) = get_scheme(raw)?;
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(r, _)| r)
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            // Opaque URL such as mailto:x.
            return Ok(true);
        }
        let segment = rest.split_once('/').map_or(rest, |(s, _)| s);
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if (!scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, p) = match authority_and_path.find('/') {
            Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
            None => (authority_and_path, ""),
        };
        parse_authority(authority)?;
        path = p;
    }
    unescape(path, Encoding::Path)?;
    Ok(!scheme.is_empty())
}

fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_authority(authority: &str) -> Result<(), String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    parse_host(host)?;
    if let Some(userinfo) = userinfo {
        if !valid_userinfo(userinfo) {
            return Err("net/url: invalid userinfo".into());
        }
        match userinfo.split_once(':') {
            None => unescape(userinfo, Encoding::UserPassword)?,
            Some((user, password)) => {
                unescape(user, Encoding::UserPassword)?;
                unescape(password, Encoding::UserPassword)?;
            }
        }
    }
    Ok(())
}

fn parse_host(host: &str) -> Result<(), String> {
    if host.starts_with('[') {
        let i = host
            .rfind(']')
            .ok_or_else(|| "missing ']' in host".to_string())?;
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", quote(colon_port)));
        }
        if let Some(zone) = host[..i].find("%25") {
            unescape(&host[..zone], Encoding::Host)?;
            unescape(&host[zone..i], Encoding::Zone)?;
            unescape(&host[i..], Encoding::Host)?;
            return Ok(());
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", quote(colon_port)));
        }
    }
    unescape(host, Encoding::Host)
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

fn should_escape(c: u8, mode: Encoding) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Encoding::Host | Encoding::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Encoding::Path => c == b'?',
                Encoding::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Encoding::Fragment => false,
                Encoding::Host | Encoding::Zone => true,
            };
        }
        _ => {}
    }
    if mode == Encoding::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

/// The validation half of Go's `unescape`.
fn unescape(s: &str, mode: Encoding) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let Some(v) = kratos_path_template::percent::escape_at(b, i) else {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {}",
                        quote(&String::from_utf8_lossy(&b[i..end]))
                    ));
                };
                let escape = &s[i..i + 3];
                if mode == Encoding::Host && v < 0x80 && escape != "%25" {
                    return Err(format!("invalid URL escape {}", quote(escape)));
                }
                if mode == Encoding::Zone
                    && escape != "%25"
                    && v != b' '
                    && should_escape(v, Encoding::Host)
                {
                    return Err(format!("invalid URL escape {}", quote(escape)));
                }
                i += 3;
            }
            c => {
                if matches!(mode, Encoding::Host | Encoding::Zone)
                    && c < 0x80
                    && should_escape(c, mode)
                {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&(c as char).to_string())
                    ));
                }
                i += 1;
            }
        }
    }
    Ok(())
}

// ---- net/mail ------------------------------------------------------------------------------

struct AddrParser<'a> {
    s: &'a str,
}

fn parse_single_address(address: &str) -> Result<String, String> {
    let mut p = AddrParser { s: address };
    let addr = p.parse_address()?;
    if !p.skip_cfws() {
        return Err("mail: misformatted parenthetical comment".into());
    }
    if !p.s.is_empty() {
        return Err(format!("mail: expected single address, got {}", quote(p.s)));
    }
    Ok(addr)
}

fn is_vchar(c: char) -> bool {
    ('!'..='~').contains(&c) || (c as u32) >= 0x80
}

fn is_atext(c: char, dot: bool) -> bool {
    match c {
        '.' => dot,
        '(' | ')' | '<' | '>' | '[' | ']' | ':' | ';' | '@' | '\\' | ',' | '"' => false,
        c => is_vchar(c),
    }
}

fn is_qtext(c: char) -> bool {
    c != '\\' && c != '"' && is_vchar(c)
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_dtext(c: char) -> bool {
    c != '[' && c != ']' && c != '\\' && is_vchar(c)
}

fn go_quote_rune(c: char) -> String {
    let q = quote(&c.to_string());
    format!("'{}'", &q[1..q.len() - 1])
}

impl AddrParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().first().copied()
    }

    fn consume(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.s = &self.s[1..];
            true
        } else {
            false
        }
    }

    fn skip_space(&mut self) {
        self.s = self.s.trim_start_matches([' ', '\t']);
    }

    fn skip_cfws(&mut self) -> bool {
        self.skip_space();
        while self.consume(b'(') {
            if self.consume_comment().is_none() {
                return false;
            }
            self.skip_space();
        }
        true
    }

    fn consume_comment(&mut self) -> Option<String> {
        let mut depth = 1;
        let mut comment = String::new();
        while depth > 0 {
            let mut chars = self.s.chars();
            let Some(mut c) = chars.next() else { break };
            if c == '\\' && self.s.len() > 1 {
                self.s = &self.s[1..];
                c = self.s.chars().next().unwrap_or('\\');
            } else if c == '(' {
                depth += 1;
            } else if c == ')' {
                depth -= 1;
            }
            if depth > 0 {
                comment.push(c);
            }
            self.s = &self.s[c.len_utf8()..];
        }
        (depth == 0).then_some(comment)
    }

    fn parse_address(&mut self) -> Result<String, String> {
        self.skip_space();
        if self.s.is_empty() {
            return Err("mail: no address".into());
        }
        if let Ok(spec) = self.consume_addr_spec() {
            self.skip_space();
            if self.peek() == Some(b'(') {
                self.consume(b'(');
                if self.consume_comment().is_none() {
                    return Err("mail: misformatted parenthetical comment".into());
                }
            }
            return Ok(spec);
        }
        let mut display_name = String::new();
        if self.peek() != Some(b'<') {
            display_name = self.consume_phrase()?;
        }
        self.skip_space();
        if self.consume(b':') {
            // A group ("undisclosed-recipients:;") is never a single address.
            return Err("mail: expected single address, got group".into());
        }
        if !self.consume(b'<') {
            if display_name.chars().all(|c| is_atext(c, true)) {
                return Err("mail: missing '@' or angle-addr".into());
            }
            return Err("mail: no angle-addr".into());
        }
        let spec = self.consume_addr_spec()?;
        if !self.consume(b'>') {
            return Err("mail: unclosed angle-addr".into());
        }
        Ok(spec)
    }

    fn consume_addr_spec(&mut self) -> Result<String, String> {
        let orig = self.s;
        let result = self.consume_addr_spec_inner();
        if result.is_err() {
            self.s = orig;
        }
        result
    }

    fn consume_addr_spec_inner(&mut self) -> Result<String, String> {
        self.skip_space();
        if self.s.is_empty() {
            return Err("mail: no addr-spec".into());
        }
        let local = if self.peek() == Some(b'"') {
            let q = self.consume_quoted_string()?;
            if q.is_empty() {
                return Err("mail: empty quoted-string in addr-spec".into());
            }
            q
        } else {
            self.consume_atom(true, false)?
        };
        if !self.consume(b'@') {
            return Err("mail: missing @ in addr-spec".into());
        }
        self.skip_space();
        if self.s.is_empty() {
            return Err("mail: no domain in addr-spec".into());
        }
        let domain = if self.peek() == Some(b'[') {
            self.consume_domain_literal()?
        } else {
            self.consume_atom(true, false)?
        };
        Ok(format!("{local}@{domain}"))
    }

    fn consume_phrase(&mut self) -> Result<String, String> {
        let mut words: Vec<String> = Vec::new();
        let mut last_err = None;
        loop {
            if !words.is_empty() && !self.skip_cfws() {
                return Err("mail: misformatted parenthetical comment".into());
            }
            self.skip_space();
            if self.s.is_empty() {
                break;
            }
            let word = if self.peek() == Some(b'"') {
                self.consume_quoted_string()
            } else {
                self.consume_atom(true, true)
            };
            match word {
                Ok(w) => words.push(w),
                Err(e) => {
                    last_err = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = last_err.filter(|_| words.is_empty()) {
            return Err(format!("mail: missing word in phrase: {e}"));
        }
        Ok(words.join(" "))
    }

    fn consume_quoted_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut escaped = false;
        let mut iter = self.s.char_indices().skip(1);
        loop {
            let Some((i, c)) = iter.next() else {
                return Err("mail: unclosed quoted-string".into());
            };
            if escaped {
                if !is_vchar(c) && !is_wsp(c) {
                    return Err(format!(
                        "mail: bad character in quoted-string: {}",
                        go_quote_rune(c)
                    ));
                }
                out.push(c);
                escaped = false;
            } else if is_qtext(c) || is_wsp(c) {
                out.push(c);
            } else if c == '"' {
                self.s = &self.s[i + 1..];
                return Ok(out);
            } else if c == '\\' {
                escaped = true;
            } else {
                return Err(format!(
                    "mail: bad character in quoted-string: {}",
                    go_quote_rune(c)
                ));
            }
        }
    }

    fn consume_atom(&mut self, dot: bool, permissive: bool) -> Result<String, String> {
        let end = self
            .s
            .char_indices()
            .find(|&(_, c)| !is_atext(c, dot))
            .map_or(self.s.len(), |(i, _)| i);
        if end == 0 {
            return Err("mail: invalid string".into());
        }
        let atom = &self.s[..end];
        if !permissive {
            if atom.starts_with('.') {
                return Err("mail: leading dot in atom".into());
            }
            if atom.contains("..") {
                return Err("mail: double dot in atom".into());
            }
            if atom.ends_with('.') {
                return Err("mail: trailing dot in atom".into());
            }
        }
        self.s = &self.s[end..];
        Ok(atom.to_string())
    }

    fn consume_domain_literal(&mut self) -> Result<String, String> {
        if !self.consume(b'[') {
            return Err("mail: missing \"[\" in domain-literal".into());
        }
        let mut dtext = String::new();
        loop {
            let Some(c) = self.s.chars().next() else {
                return Err("mail: unclosed domain-literal".into());
            };
            if c == ']' {
                break;
            }
            if !is_dtext(c) {
                return Err(format!(
                    "mail: bad character in domain-literal: {}",
                    go_quote_rune(c)
                ));
            }
            dtext.push(c);
            self.s = &self.s[c.len_utf8()..];
        }
        self.consume(b']');
        if parse_ip(&dtext).is_none() {
            return Err(format!(
                "mail: invalid IP address in domain-literal: {}",
                quote(&dtext)
            ));
        }
        Ok(format!("[{dtext}]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(validate_hostname("example.com").is_ok());
        assert!(validate_hostname("ASD.example.com.").is_ok());
        assert!(validate_hostname("1.2.3.4").is_ok());
        assert!(validate_hostname("foo_bar.com").is_err());
        assert!(validate_hostname("asd..asd.com").is_err());
        assert!(validate_hostname("你好.com").is_err());
        assert_eq!(
            validate_hostname("a_b").unwrap_err(),
            "hostname parts can only contain alphanumeric characters or hyphens, got \"_\""
        );
        assert!(validate_hostname("-a.com").is_err());
    }

    #[test]
    fn emails() {
        assert!(validate_email("foo@bar.com").is_ok());
        assert!(validate_email("John Smith <foo@bar.com>").is_ok());
        assert!(validate_email("\"John\" <foo@bar.com>").is_ok());
        assert!(validate_email("foo@bar.com (comment)").is_ok());
        assert_eq!(
            validate_email("foobar").unwrap_err(),
            "mail: missing '@' or angle-addr"
        );
        assert_eq!(validate_email("").unwrap_err(), "mail: no address");
        assert!(validate_email("foo@-bar.com").is_err());
        assert!(validate_email("a..b@c.com").is_err());
        assert!(validate_email("foo@[127.0.0.1]").is_err()); // "[" is not a hostname char
        assert!(validate_email("John <foo@bar.com").is_err());
    }

    #[test]
    fn ips() {
        assert!(is_ip("192.168.0.1") && is_ipv4("192.168.0.1") && !is_ipv6("192.168.0.1"));
        assert!(is_ipv6("3e::99") && !is_ipv4("3e::99"));
        assert!(is_ipv4("::ffff:1.2.3.4") && !is_ipv6("::ffff:1.2.3.4"));
        assert!(!is_ip("256.0.0.0") && !is_ip("ff::fff::0b") && !is_ip("fe80::1%eth0"));
        assert!(!is_ip("01.2.3.4") && !is_ip("[::1]") && !is_ip(""));
        assert!(bytes_is_ipv4(&[1, 2, 3, 4]) && !bytes_is_ipv6(&[1, 2, 3, 4]));
        let mapped = Ipv6Addr::from([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]).octets();
        assert!(bytes_is_ipv4(&mapped) && !bytes_is_ipv6(&mapped) && bytes_is_ip(&mapped));
    }

    #[test]
    fn uris() {
        assert!(validate_uri("http://example.com/foo/bar?baz=quux").is_ok());
        assert_eq!(validate_uri("/foo/bar?baz=quux"), Err(None));
        assert!(validate_uri_ref("/foo/bar?baz=quux").is_ok());
        assert!(validate_uri_ref("!@#$%^&*%$#").is_err());
        assert!(validate_uri("mailto:a@b.c").is_ok());
        assert!(validate_uri("http://[::1]:80/").is_ok());
        assert!(validate_uri("http://host:port/").is_err());
        assert!(validate_uri_ref("a:b").is_ok()); // scheme "a"
        assert!(validate_uri_ref("1a:b").is_err()); // colon in first segment
        assert!(validate_uri("http://a b/").is_err());
        assert!(validate_uri("http://x/%zz").is_err());
        assert!(validate_uri(":foo").is_err());
        assert!(validate_uri_ref("a\nb").is_err());
    }

    #[test]
    fn uuids() {
        assert!(validate_uuid("8b208305-00e8-4460-a440-5e0dcd83bb0a").is_ok());
        assert!(validate_uuid("ffffffff-ffff-ffff-ffff-fffffffffffff").is_err());
        assert!(validate_uuid("8b208305x00e8-4460-a440-5e0dcd83bb0a").is_err());
    }
}
