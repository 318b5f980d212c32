//! Well-known type rules: wrappers, `Duration`, `Timestamp` and `Any`.

use kratos_codegen::Result;
use proc_macro2::{Literal, TokenStream};
use prost_reflect::Value;
use quote::quote;

use crate::gofmt;
use crate::rules::R;

use super::Gen;
use super::bounds::{Bound, Ranges, check_range, ltgt};
use super::site::Site;
use super::string::strings;

/// The scalar rule type a wrapper well-known type accepts.
pub(super) fn wrapper_rule(full_name: &str) -> Option<&'static str> {
    Some(match full_name {
        "google.protobuf.FloatValue" => "float",
        "google.protobuf.DoubleValue" => "double",
        "google.protobuf.Int32Value" => "int32",
        "google.protobuf.Int64Value" => "int64",
        "google.protobuf.UInt32Value" => "uint32",
        "google.protobuf.UInt64Value" => "uint64",
        "google.protobuf.BoolValue" => "bool",
        "google.protobuf.StringValue" => "string",
        "google.protobuf.BytesValue" => "bytes",
        _ => return None,
    })
}

pub(super) fn seconds_nanos(m: &R) -> (i64, i32) {
    let s = match m.get("seconds") {
        Some(Value::I64(s)) => s,
        _ => 0,
    };
    let n = match m.get("nanos") {
        Some(Value::I32(n)) => n,
        _ => 0,
    };
    (s, n)
}

pub(super) fn duration_nanos_of(m: &R) -> i64 {
    let (s, n) = seconds_nanos(m);
    let total = i128::from(s) * 1_000_000_000 + i128::from(n);
    i64::try_from(total).unwrap_or(if s < 0 { i64::MIN } else { i64::MAX })
}

pub(super) fn duration_bound(m: &R) -> Bound {
    let n = duration_nanos_of(m);
    let l = Literal::i64_suffixed(n);
    Bound {
        lit: quote!(#l),
        go: gofmt::duration(n),
        key: 0.0,
        ikey: i128::from(n),
    }
}

pub(super) fn timestamp_bound(m: &R) -> Bound {
    let (s, n) = seconds_nanos(m);
    let v = i128::from(s) * 1_000_000_000 + i128::from(n);
    let l = Literal::i128_suffixed(v);
    Bound {
        lit: quote!(#l),
        go: gofmt::timestamp(s, n),
        key: 0.0,
        ikey: v,
    }
}

/// Go's `%v` of a Duration message (compact prototext): `seconds:1 nanos:1000`.
pub(super) fn proto_text_seconds_nanos(m: &R) -> String {
    match seconds_nanos(m) {
        (0, 0) => String::new(),
        (s, 0) => format!("seconds:{s}"),
        (0, n) => format!("nanos:{n}"),
        (s, n) => format!("seconds:{s} nanos:{n}"),
    }
}

impl Gen<'_> {
    pub(super) fn duration(&self, r: &R, site: &Site) -> Result<(TokenStream, TokenStream)> {
        let none = if r.flag("required") {
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        let dur = |name: &str| -> Option<Bound> {
            let m = r.msg(name)?;
            Some(duration_bound(&m))
        };
        let ranges = Ranges {
            lt: dur("lt"),
            lte: dur("lte"),
            gt: dur("gt"),
            gte: dur("gte"),
        };
        let konst = dur("const");
        let list = |name: &str| -> Vec<Bound> {
            r.list(name)
                .iter()
                .filter_map(|v| match v {
                    Value::Message(m) => Some(duration_bound(&R(m.clone()))),
                    _ => None,
                })
                .collect()
        };
        let ins = list("in");
        let not_ins = list("not_in");
        check_range(
            site,
            "duration",
            konst.is_some(),
            ins.len(),
            not_ins.len(),
            &ranges,
            false,
        )?;
        let mut cmp = TokenStream::new();
        let d = quote!(__d);
        if let Some(c) = &konst {
            let l = &c.lit;
            let push = site.push(&format!("value must equal {}", c.go));
            cmp.extend(quote!(if #d != #l { #push }));
        }
        cmp.extend(ltgt(&d, &ranges, false, site));
        // Go prints the rule's Duration messages in the list (prototext).
        let lits = |b: &[Bound]| b.iter().map(|x| x.lit.clone()).collect::<Vec<_>>();
        let texts = |name: &str| -> Vec<String> {
            r.list(name)
                .iter()
                .filter_map(|v| match v {
                    Value::Message(m) => Some(proto_text_seconds_nanos(&R(m.clone()))),
                    _ => None,
                })
                .collect()
        };
        if !ins.is_empty() {
            let l = lits(&ins);
            let push = site.push(&format!(
                "value must be in list {}",
                gofmt::list(&texts("in"))
            ));
            cmp.extend(quote!(if ![#(#l),*].contains(&#d) { #push }));
        } else if !not_ins.is_empty() {
            let l = lits(&not_ins);
            let push = site.push(&format!(
                "value must not be in list {}",
                gofmt::list(&texts("not_in"))
            ));
            cmp.extend(quote!(if [#(#l),*].contains(&#d) { #push }));
        }
        if cmp.is_empty() {
            return Ok((TokenStream::new(), none));
        }
        let rt = quote!(::kratos::__codegen::validate);
        let invalid = site.push_cause("value is not a valid duration", quote!(__e));
        let body = quote! {
            match #rt::duration_check_valid(__m.seconds, __m.nanos) {
                ::core::result::Result::Err(__e) => { #invalid }
                ::core::result::Result::Ok(()) => {
                    let __d: i64 = #rt::duration_nanos(__m.seconds, __m.nanos);
                    #cmp
                }
            }
        };
        Ok((body, none))
    }
    pub(super) fn timestamp(&self, r: &R, site: &Site) -> Result<(TokenStream, TokenStream)> {
        let none = if r.flag("required") {
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        let ts = |name: &str| -> Option<Bound> {
            let m = r.msg(name)?;
            Some(timestamp_bound(&m))
        };
        let ranges = Ranges {
            lt: ts("lt"),
            lte: ts("lte"),
            gt: ts("gt"),
            gte: ts("gte"),
        };
        let konst = ts("const");
        check_range(site, "timestamp", konst.is_some(), 0, 0, &ranges, false)?;
        let lt_now = r.has("lt_now");
        let gt_now = r.has("gt_now");
        let within = r.msg("within");
        let absolute = ranges.lt.is_some()
            || ranges.lte.is_some()
            || ranges.gt.is_some()
            || ranges.gte.is_some();
        if (lt_now || gt_now) && absolute {
            return Err(site.err(
                "timestamp.lt_now",
                "`now` rules cannot be mixed with absolute `lt/gt` rules",
            ));
        }
        if within.is_some() && absolute {
            return Err(site.err(
                "timestamp.within",
                "`within` rule cannot be used with absolute `lt/gt` rules",
            ));
        }
        if lt_now && gt_now {
            return Err(site.err(
                "timestamp.lt_now",
                "both `now` rules cannot be used together",
            ));
        }
        let within_nanos = within.as_ref().map(duration_nanos_of);
        if within_nanos.is_some_and(|w| w <= 0) {
            return Err(site.err(
                "timestamp.within",
                "`within` rule must be positive and non-zero",
            ));
        }
        // Presence-based, like Go's template (`lt_now: false` still counts).
        let lt_now = lt_now && r.flag("lt_now");
        let gt_now = gt_now && r.flag("gt_now");
        let t = quote!(__t);
        let mut cmp = TokenStream::new();
        if let Some(c) = &konst {
            let l = &c.lit;
            let push = site.push(&format!("value must equal {}", c.go));
            cmp.extend(quote!(if #t != #l { #push }));
        }
        let range_code = ltgt(&t, &ranges, false, site);
        let now_needed = lt_now || gt_now || within.is_some();
        let w = within_nanos.unwrap_or(0);
        let w_lit = Literal::i128_suffixed(i128::from(w));
        let w_str = gofmt::duration(w);
        if !range_code.is_empty() {
            cmp.extend(range_code);
        } else if lt_now {
            if within.is_some() {
                let push = site.push(&format!("value must be less than now within {w_str}"));
                cmp.extend(quote!(if #t >= __now || #t < __now - #w_lit { #push }));
            } else {
                let push = site.push("value must be less than now");
                cmp.extend(quote!(if #t >= __now { #push }));
            }
        } else if gt_now {
            if within.is_some() {
                let push = site.push(&format!("value must be greater than now within {w_str}"));
                cmp.extend(quote!(if #t <= __now || #t > __now + #w_lit { #push }));
            } else {
                let push = site.push("value must be greater than now");
                cmp.extend(quote!(if #t <= __now { #push }));
            }
        } else if within.is_some() {
            let push = site.push(&format!("value must be within {w_str} of now"));
            cmp.extend(quote!(if #t >= __now + #w_lit || #t <= __now - #w_lit { #push }));
        }
        if cmp.is_empty() {
            return Ok((TokenStream::new(), none));
        }
        let rt = quote!(::kratos::__codegen::validate);
        let now = if now_needed {
            quote!(let __now: i128 = #rt::now_nanos();)
        } else {
            TokenStream::new()
        };
        let invalid = site.push_cause("value is not a valid timestamp", quote!(__e));
        let body = quote! {
            match #rt::timestamp_check_valid(__m.seconds, __m.nanos) {
                ::core::result::Result::Err(__e) => { #invalid }
                ::core::result::Result::Ok(()) => {
                    let __t: i128 = #rt::timestamp_nanos(__m.seconds, __m.nanos);
                    #now
                    #cmp
                }
            }
        };
        Ok((body, none))
    }
    pub(super) fn any(&self, r: &R, site: &Site) -> Result<(TokenStream, TokenStream)> {
        let none = if r.flag("required") {
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        let ins = strings(&r.list("in"));
        let not_ins = strings(&r.list("not_in"));
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "any",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let body = if !ins.is_empty() {
            let push = site.push(&format!("type URL must be in list {}", gofmt::list(&ins)));
            quote!(if !matches!(__m.type_url.as_str(), #(#ins)|*) { #push })
        } else if !not_ins.is_empty() {
            let push = site.push(&format!(
                "type URL must not be in list {}",
                gofmt::list(&not_ins)
            ));
            quote!(if matches!(__m.type_url.as_str(), #(#not_ins)|*) { #push })
        } else {
            TokenStream::new()
        };
        Ok((body, none))
    }
}
