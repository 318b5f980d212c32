//! Enum rules: `const`, `defined_only`, `in`/`not_in`.

use kratos_codegen::Result;
use proc_macro2::TokenStream;
use prost_reflect::{EnumDescriptor, Value};
use quote::quote;

use crate::gofmt;
use crate::rules::R;

use super::Gen;
use super::site::Site;

pub(super) fn value_i32(v: &Value) -> Option<i32> {
    match v {
        Value::I32(x) => Some(*x),
        Value::EnumNumber(x) => Some(*x),
        _ => None,
    }
}

impl Gen<'_> {
    pub(super) fn enumeration(
        &self,
        e: &EnumDescriptor,
        r: &R,
        x: &TokenStream,
        site: &Site,
    ) -> Result<TokenStream> {
        let ins: Vec<i32> = r.list("in").iter().filter_map(value_i32).collect();
        let not_ins: Vec<i32> = r.list("not_in").iter().filter_map(value_i32).collect();
        if !ins.is_empty() && !not_ins.is_empty() {
            return Err(site.err(
                "enum",
                "cannot have both `in` and `not_in` rules on the same field",
            ));
        }
        let defined: Vec<i32> = {
            let mut d: Vec<i32> = e.values().map(|v| v.number()).collect();
            d.sort_unstable();
            d.dedup();
            d
        };
        let defined_only = r.flag("defined_only");
        if defined_only && let Some(bad) = ins.iter().find(|v| !defined.contains(v)) {
            return Err(site.err(
                "enum.in",
                format!("undefined `in` value ({bad}) conflicts with `defined_only` rule"),
            ));
        }
        let mut body = TokenStream::new();
        if let Some(Value::I32(c)) = r.get("const") {
            let push = site.push(&format!("value must equal {c}"));
            body.extend(quote!(if __e != #c { #push }));
        }
        let go = |l: &[i32]| gofmt::list(&l.iter().map(i32::to_string).collect::<Vec<_>>());
        if !ins.is_empty() {
            let push = site.push(&format!("value must be in list {}", go(&ins)));
            body.extend(quote!(if !matches!(__e, #(#ins)|*) { #push }));
        } else if !not_ins.is_empty() {
            let push = site.push(&format!("value must not be in list {}", go(&not_ins)));
            body.extend(quote!(if matches!(__e, #(#not_ins)|*) { #push }));
        }
        if defined_only {
            let push = site.push("value must be one of the defined enum values");
            body.extend(quote!(if !matches!(__e, #(#defined)|*) { #push }));
        }
        if body.is_empty() {
            return Ok(body);
        }
        Ok(quote!({ let __e: i32 = *#x; #body }))
    }
}
