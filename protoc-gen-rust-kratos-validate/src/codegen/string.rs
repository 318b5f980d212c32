//! String rules, with Go PGV's well-known string formats.

use kratos_codegen::Result;
use proc_macro2::TokenStream;
use prost_reflect::Value;
use quote::quote;

use crate::gofmt;
use crate::re2;
use crate::rules::R;

use super::Gen;
use super::bounds::byte_lengths;
use super::site::Site;

pub(super) const HTTP_HEADER_NAME: &str = "^:?[0-9a-zA-Z!#$%&'*+-.^_|~\u{60}]+$";
pub(super) const HTTP_HEADER_VALUE: &str = "^[^\u{0}-\u{8}\u{A}-\u{1F}\u{7F}]*$";
pub(super) const HEADER_STRING: &str = "^[^\u{0}\u{A}\u{D}]*$";

pub(super) fn strings(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

impl Gen<'_> {
    pub(super) fn string(&self, r: &R, x: &TokenStream, site: &Site) -> Result<TokenStream> {
        let s = quote!(__s);
        let mut body = TokenStream::new();
        let ins = strings(&r.list("in"));
        let not_ins = strings(&r.list("not_in"));
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "string",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let len = r.u64("len");
        let (min_len, max_len) = (r.u64("min_len"), r.u64("max_len"));
        let len_bytes = r.u64("len_bytes");
        let (min_bytes, max_bytes) = (r.u64("min_bytes"), r.u64("max_bytes"));
        if len.is_some() && min_len.is_some() {
            return Err(site.err(
                "string.len",
                "cannot have both `len` and `min_len` rules on the same field",
            ));
        }
        if len.is_some() && max_len.is_some() {
            return Err(site.err(
                "string.len",
                "cannot have both `len` and `max_len` rules on the same field",
            ));
        }
        if len_bytes.is_some() && min_bytes.is_some() {
            return Err(site.err(
                "string.len_bytes",
                "cannot have both `len` and `min_len` rules on the same field",
            ));
        }
        if len_bytes.is_some() && max_bytes.is_some() {
            return Err(site.err(
                "string.len_bytes",
                "cannot have both `len` and `max_len` rules on the same field",
            ));
        }
        if let (Some(a), Some(b)) = (min_len, max_len)
            && a > b
        {
            return Err(site.err("string.min_len", "`min` value is greater than `max` value"));
        }
        if let (Some(a), Some(b)) = (min_bytes, max_bytes)
            && a > b
        {
            return Err(site.err(
                "string.min_bytes",
                "`min` value is greater than `max` value",
            ));
        }
        let prefix = r.string("prefix");
        let suffix = r.string("suffix");
        let contains = r.string("contains");
        if let Some(max) = max_len {
            for (name, v) in [
                ("prefix", &prefix),
                ("suffix", &suffix),
                ("contains", &contains),
            ] {
                if v.as_ref().is_some_and(|v| v.chars().count() as u64 > max) {
                    return Err(site.err(
                        &format!("string.{name}"),
                        format!("`{name}` length exceeds the `max_len`"),
                    ));
                }
            }
            if max_bytes.is_some_and(|mb| mb < max) {
                return Err(site.err("string.max_len", "`max_len` cannot exceed `max_bytes`"));
            }
        }
        if let Some(max) = max_bytes {
            for (name, v) in [
                ("prefix", &prefix),
                ("suffix", &suffix),
                ("contains", &contains),
            ] {
                if v.as_ref().is_some_and(|v| v.len() as u64 > max) {
                    return Err(site.err(
                        &format!("string.{name}"),
                        format!("`{name}` length exceeds the `max_bytes`"),
                    ));
                }
            }
        }
        let mut pattern = r.string("pattern");
        let strict = r.flag_or("strict", true);
        if let Some(wk) = r.enum_number("well_known_regex")
            && wk != 0
        {
            if pattern.is_some() {
                return Err(site.err(
                    "string.well_known_regex",
                    "regex `well_known_regex` and regex `pattern` are incompatible",
                ));
            }
            pattern = Some(
                match (wk, strict) {
                    (_, false) => HEADER_STRING,
                    (1, true) => HTTP_HEADER_NAME,
                    _ => HTTP_HEADER_VALUE,
                }
                .to_string(),
            );
        }
        if pattern.is_some() && !ins.is_empty() {
            return Err(site.err(
                "string.pattern",
                "regex `pattern` and `in` rules are incompatible",
            ));
        }

        // const, in/not_in
        if let Some(c) = r.string("const") {
            let push = site.push(&format!("value must equal {c}"));
            body.extend(quote!(if #s != #c { #push }));
        }
        if !ins.is_empty() {
            let push = site.push(&format!("value must be in list {}", gofmt::list(&ins)));
            body.extend(quote!(if !matches!(#s, #(#ins)|*) { #push }));
        } else if !not_ins.is_empty() {
            let push = site.push(&format!(
                "value must not be in list {}",
                gofmt::list(&not_ins)
            ));
            body.extend(quote!(if matches!(#s, #(#not_ins)|*) { #push }));
        }
        // lengths in runes
        let runes = quote!(::kratos::__codegen::validate::rune_count(#s));
        let eq_min_max = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        };
        if let Some(n) = len.or(eq_min_max(min_len, max_len)) {
            let push = site.push(&format!("value length must be {n} runes"));
            let n = n as usize;
            body.extend(quote!(if #runes != #n { #push }));
        } else if let Some(min) = min_len {
            if let Some(max) = max_len {
                let push = site.push(&format!(
                    "value length must be between {min} and {max} runes, inclusive"
                ));
                let (min, max) = (min as usize, max as usize);
                body.extend(quote!({ let __l = #runes; if __l < #min || __l > #max { #push } }));
            } else {
                let push = site.push(&format!("value length must be at least {min} runes"));
                let min = min as usize;
                body.extend(quote!(if #runes < #min { #push }));
            }
        } else if let Some(max) = max_len {
            let push = site.push(&format!("value length must be at most {max} runes"));
            let max = max as usize;
            body.extend(quote!(if #runes > #max { #push }));
        }
        body.extend(byte_lengths(
            &quote!(#s.len()),
            len_bytes,
            min_bytes,
            max_bytes,
            site,
        ));
        if let Some(p) = &prefix {
            let push = site.push(&format!("value does not have prefix {}", gofmt::quote(p)));
            body.extend(quote!(if !#s.starts_with(#p) { #push }));
        }
        if let Some(p) = &suffix {
            let push = site.push(&format!("value does not have suffix {}", gofmt::quote(p)));
            body.extend(quote!(if !#s.ends_with(#p) { #push }));
        }
        if let Some(p) = &contains {
            let push = site.push(&format!(
                "value does not contain substring {}",
                gofmt::quote(p)
            ));
            body.extend(quote!(if !#s.contains(#p) { #push }));
        }
        if let Some(p) = r.string("not_contains") {
            let push = site.push(&format!("value contains substring {}", gofmt::quote(&p)));
            body.extend(quote!(if #s.contains(#p) { #push }));
        }
        let rt = quote!(::kratos::__codegen::validate);
        if r.flag("ip") {
            let push = site.push("value must be a valid IP address");
            body.extend(quote!(if !#rt::is_ip(#s) { #push }));
        } else if r.flag("ipv4") {
            let push = site.push("value must be a valid IPv4 address");
            body.extend(quote!(if !#rt::is_ipv4(#s) { #push }));
        } else if r.flag("ipv6") {
            let push = site.push("value must be a valid IPv6 address");
            body.extend(quote!(if !#rt::is_ipv6(#s) { #push }));
        } else if r.flag("email") {
            let push = site.push_cause("value must be a valid email address", quote!(__e));
            body.extend(
                quote!(if let ::core::result::Result::Err(__e) = #rt::validate_email(#s) { #push }),
            );
        } else if r.flag("hostname") {
            let push = site.push_cause("value must be a valid hostname", quote!(__e));
            body.extend(quote!(if let ::core::result::Result::Err(__e) = #rt::validate_hostname(#s) { #push }));
        } else if r.flag("address") {
            let push = site.push("value must be a valid hostname, or ip address");
            body.extend(
                quote!(if #rt::validate_hostname(#s).is_err() && !#rt::is_ip(#s) { #push }),
            );
        } else if r.flag("uri") {
            let cause = site.push_cause("value must be a valid URI", quote!(__e));
            let relative = site.push("value must be absolute");
            body.extend(quote! {
                match #rt::validate_uri(#s) {
                    ::core::result::Result::Ok(()) => {}
                    ::core::result::Result::Err(::core::option::Option::Some(__e)) => { #cause }
                    ::core::result::Result::Err(::core::option::Option::None) => { #relative }
                }
            });
        } else if r.flag("uri_ref") {
            let push = site.push_cause("value must be a valid URI", quote!(__e));
            body.extend(quote!(if let ::core::result::Result::Err(__e) = #rt::validate_uri_ref(#s) { #push }));
        } else if r.flag("uuid") {
            let push = site.push_cause("value must be a valid UUID", quote!(__e));
            body.extend(
                quote!(if let ::core::result::Result::Err(__e) = #rt::validate_uuid(#s) { #push }),
            );
        }
        if let Some(p) = &pattern {
            let translated = re2::translate(p);
            if let Err(e) = regex::Regex::new(&translated) {
                return Err(site.err(
                    "string.pattern",
                    format!("unable to parse regex `pattern` {}: {e}", gofmt::quote(p)),
                ));
            }
            let push = site.push(&format!(
                "value does not match regex pattern {}",
                gofmt::quote(p)
            ));
            body.extend(quote! {
                static __PATTERN: #rt::LazyLock<#rt::Pattern> = #rt::LazyLock::new(|| #rt::Pattern::new(#translated));
                if !__PATTERN.is_match(#s) { #push }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        let inner = quote!({ let __s: &str = ::core::convert::AsRef::<str>::as_ref(#x); #body });
        if r.flag("ignore_empty") {
            Ok(quote!(if !::core::convert::AsRef::<str>::as_ref(#x).is_empty() #inner))
        } else {
            Ok(inner)
        }
    }
}
