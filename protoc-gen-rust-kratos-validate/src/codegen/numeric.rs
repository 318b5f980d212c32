//! Numeric rules (`float` ... `sfixed64`): `const`, ranges, `in`/`not_in`.

use kratos_codegen::Result;
use proc_macro2::TokenStream;
use quote::quote;

use crate::rules::R;

use super::Gen;
use super::bounds::{Bound, NumTy, Ranges, check_range, float_lit, in_check, ltgt, num_bound};
use super::site::Site;

impl Gen<'_> {
    pub(super) fn numeric(
        &self,
        ty: NumTy,
        rule: &str,
        r: &R,
        x: &TokenStream,
        site: &Site,
    ) -> Result<TokenStream> {
        let bound = |name: &str| r.get(name).and_then(|v| num_bound(&v, ty));
        let ranges = Ranges {
            lt: bound("lt"),
            lte: bound("lte"),
            gt: bound("gt"),
            gte: bound("gte"),
        };
        let konst = bound("const");
        let ins: Vec<Bound> = r
            .list("in")
            .iter()
            .filter_map(|v| num_bound(v, ty))
            .collect();
        let not_ins: Vec<Bound> = r
            .list("not_in")
            .iter()
            .filter_map(|v| num_bound(v, ty))
            .collect();
        check_range(
            site,
            rule,
            konst.is_some(),
            ins.len(),
            not_ins.len(),
            &ranges,
            ty.is_float(),
        )?;
        let n = quote!(__n);
        let mut body = TokenStream::new();
        if let Some(c) = &konst {
            let l = &c.lit;
            let push = site.push(&format!("value must equal {}", c.go));
            body.extend(quote!(if #n != #l { #push }));
        }
        body.extend(ltgt(&n, &ranges, ty.is_float(), site));
        body.extend(in_check(&n, &ins, &not_ins, site));
        if body.is_empty() {
            return Ok(body);
        }
        let t = ty.rust();
        let inner = quote!({ let __n: #t = *#x; #body });
        if r.flag("ignore_empty") {
            let zero = if ty.is_float() {
                float_lit(0.0, ty)
            } else {
                quote!(0)
            };
            Ok(quote!(if *#x != #zero #inner))
        } else {
            Ok(inner)
        }
    }
}
