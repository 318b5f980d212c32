//! Bytes rules.

use kratos_codegen::Result;
use proc_macro2::{Literal, TokenStream};
use prost_reflect::Value;
use quote::quote;

use crate::gofmt;
use crate::re2;
use crate::rules::R;

use super::Gen;
use super::bounds::byte_lengths;
use super::site::Site;

pub(super) fn byte_list(list: &[Value]) -> Vec<Vec<u8>> {
    list.iter()
        .filter_map(|v| match v {
            Value::Bytes(b) => Some(b.to_vec()),
            _ => None,
        })
        .collect()
}

impl Gen<'_> {
    pub(super) fn bytes(&self, r: &R, x: &TokenStream, site: &Site) -> Result<TokenStream> {
        let b = quote!(__b);
        let mut body = TokenStream::new();
        let ins = byte_list(&r.list("in"));
        let not_ins = byte_list(&r.list("not_in"));
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "bytes",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let len = r.u64("len");
        let (min_len, max_len) = (r.u64("min_len"), r.u64("max_len"));
        if let (Some(a), Some(m)) = (min_len, max_len)
            && a > m
        {
            return Err(site.err("bytes.min_len", "`min` value is greater than `max` value"));
        }
        let prefix = r.bytes("prefix");
        let suffix = r.bytes("suffix");
        let contains = r.bytes("contains");
        if let Some(max) = max_len {
            for (name, v) in [
                ("prefix", &prefix),
                ("suffix", &suffix),
                ("contains", &contains),
            ] {
                if v.as_ref().is_some_and(|v| v.len() as u64 > max) {
                    return Err(site.err(
                        &format!("bytes.{name}"),
                        format!("`{name}` length exceeds the `max_len`"),
                    ));
                }
            }
        }
        let pattern = r.string("pattern");
        if pattern.is_some() && !ins.is_empty() {
            return Err(site.err(
                "bytes.pattern",
                "regex `pattern` and `in` rules are incompatible",
            ));
        }
        body.extend(byte_lengths(&quote!(#b.len()), len, min_len, max_len, site));
        if let Some(p) = &prefix {
            let push = site.push(&format!(
                "value does not have prefix {}",
                gofmt::byte_str(p)
            ));
            let l = Literal::byte_string(p);
            body.extend(quote!(if !#b.starts_with(#l) { #push }));
        }
        if let Some(p) = &suffix {
            let push = site.push(&format!(
                "value does not have suffix {}",
                gofmt::byte_str(p)
            ));
            let l = Literal::byte_string(p);
            body.extend(quote!(if !#b.ends_with(#l) { #push }));
        }
        if let Some(p) = &contains {
            let push = site.push(&format!("value does not contain {}", gofmt::byte_str(p)));
            let l = Literal::byte_string(p);
            let n = p.len();
            let cond = if p.is_empty() {
                quote!(false)
            } else {
                quote!(!#b.windows(#n).any(|__w| __w == #l))
            };
            body.extend(quote!(if #cond { #push }));
        }
        let in_lits = |l: &[Vec<u8>]| -> Vec<TokenStream> {
            l.iter()
                .map(|v| {
                    let lit = Literal::byte_string(v);
                    quote!(&#lit[..])
                })
                .collect()
        };
        let go_list = |l: &[Vec<u8>]| -> String {
            gofmt::list(&l.iter().map(|v| gofmt::byte_slice(v)).collect::<Vec<_>>())
        };
        if !ins.is_empty() {
            let lits = in_lits(&ins);
            let push = site.push(&format!("value must be in list {}", go_list(&ins)));
            body.extend(quote!(if ![#(#lits),*].contains(&#b) { #push }));
        } else if !not_ins.is_empty() {
            let lits = in_lits(&not_ins);
            let push = site.push(&format!("value must not be in list {}", go_list(&not_ins)));
            body.extend(quote!(if [#(#lits),*].contains(&#b) { #push }));
        }
        // Go's template tests `if $r.Const`: an empty constant is no rule.
        if let Some(c) = r.bytes("const").filter(|c| !c.is_empty()) {
            let push = site.push(&format!("value must equal {}", gofmt::byte_slice(&c)));
            let l = Literal::byte_string(&c);
            body.extend(quote!(if #b != &#l[..] { #push }));
        }
        let rt = quote!(::kratos::__codegen::validate);
        if r.flag("ip") {
            let push = site.push("value must be a valid IP address");
            body.extend(quote!(if !#rt::bytes_is_ip(#b) { #push }));
        } else if r.flag("ipv4") {
            let push = site.push("value must be a valid IPv4 address");
            body.extend(quote!(if !#rt::bytes_is_ipv4(#b) { #push }));
        } else if r.flag("ipv6") {
            let push = site.push("value must be a valid IPv6 address");
            body.extend(quote!(if !#rt::bytes_is_ipv6(#b) { #push }));
        }
        if let Some(p) = &pattern {
            let translated = re2::translate(p);
            if let Err(e) = regex::bytes::Regex::new(&translated) {
                return Err(site.err(
                    "bytes.pattern",
                    format!("unable to parse regex `pattern` {}: {e}", gofmt::quote(p)),
                ));
            }
            let push = site.push(&format!(
                "value does not match regex pattern {}",
                gofmt::quote(p)
            ));
            body.extend(quote! {
                static __PATTERN: #rt::LazyLock<#rt::BytesPattern> = #rt::LazyLock::new(|| #rt::BytesPattern::new(#translated));
                if !__PATTERN.is_match(#b) { #push }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        let inner = quote!({ let __b: &[u8] = ::core::convert::AsRef::<[u8]>::as_ref(#x); #body });
        if r.flag("ignore_empty") {
            Ok(quote!(if !::core::convert::AsRef::<[u8]>::as_ref(#x).is_empty() #inner))
        } else {
            Ok(inner)
        }
    }
}
