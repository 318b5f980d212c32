//! Rule constants and the checks built from them: numeric types, bounds, Go PGV's range
//! template (`ltgt`), `in`/`not_in` and length/count bounds.

use kratos_codegen::Result;
use proc_macro2::{Literal, TokenStream};
use prost_reflect::Value;
use quote::quote;

use crate::gofmt;

use super::site::Site;

/// Numeric field types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum NumTy {
    F32,
    F64,
    I32,
    I64,
    U32,
    U64,
}

impl NumTy {
    pub(super) fn rust(self) -> TokenStream {
        match self {
            NumTy::F32 => quote!(f32),
            NumTy::F64 => quote!(f64),
            NumTy::I32 => quote!(i32),
            NumTy::I64 => quote!(i64),
            NumTy::U32 => quote!(u32),
            NumTy::U64 => quote!(u64),
        }
    }

    pub(super) fn is_float(self) -> bool {
        matches!(self, NumTy::F32 | NumTy::F64)
    }
}

/// A rule constant: its Rust literal, Go rendering and a comparable key.
#[derive(Clone)]
pub(super) struct Bound {
    pub(super) lit: TokenStream,
    pub(super) go: String,
    pub(super) key: f64,
    pub(super) ikey: i128,
}

impl Bound {
    pub(super) fn gt(&self, other: &Bound, float: bool) -> bool {
        if float {
            self.key > other.key
        } else {
            self.ikey > other.ikey
        }
    }

    pub(super) fn same(&self, other: &Bound, float: bool) -> bool {
        if float {
            self.key == other.key
        } else {
            self.ikey == other.ikey
        }
    }
}

pub(super) fn float_lit(v: f64, ty: NumTy) -> TokenStream {
    let t = ty.rust();
    if v.is_nan() {
        quote!(#t::NAN)
    } else if v.is_infinite() {
        if v > 0.0 {
            quote!(#t::INFINITY)
        } else {
            quote!(#t::NEG_INFINITY)
        }
    } else if ty == NumTy::F32 {
        let l = Literal::f32_suffixed(v as f32);
        quote!(#l)
    } else {
        let l = Literal::f64_suffixed(v);
        quote!(#l)
    }
}

pub(super) fn num_bound(v: &Value, ty: NumTy) -> Option<Bound> {
    let (f, i): (f64, i128) = match v {
        Value::F32(x) => (f64::from(*x), 0),
        Value::F64(x) => (*x, 0),
        Value::I32(x) => (0.0, i128::from(*x)),
        Value::I64(x) => (0.0, i128::from(*x)),
        Value::U32(x) => (0.0, i128::from(*x)),
        Value::U64(x) => (0.0, i128::from(*x)),
        _ => return None,
    };
    let (lit, go) = match ty {
        NumTy::F32 => (float_lit(f, ty), gofmt::float(f, true)),
        NumTy::F64 => (float_lit(f, ty), gofmt::float(f, false)),
        NumTy::I32 => {
            let l = Literal::i32_suffixed(i32::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
        NumTy::I64 => {
            let l = Literal::i64_suffixed(i64::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
        NumTy::U32 => {
            let l = Literal::u32_suffixed(u32::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
        NumTy::U64 => {
            let l = Literal::u64_suffixed(u64::try_from(i).ok()?);
            (quote!(#l), i.to_string())
        }
    };
    Some(Bound {
        lit,
        go,
        key: f,
        ikey: i,
    })
}

/// The generation-time checks on a range (Go PGV's `checkNums`).
pub(super) fn check_range(
    site: &Site,
    rule: &str,
    has_const: bool,
    in_len: usize,
    not_in_len: usize,
    b: &Ranges,
    float: bool,
) -> Result<()> {
    if in_len > 0 && not_in_len > 0 {
        return Err(site.err(
            rule,
            "cannot have both `in` and `not_in` rules on the same field",
        ));
    }
    let any_range = b.lt.is_some() || b.lte.is_some() || b.gt.is_some() || b.gte.is_some();
    if has_const && (in_len > 0 || not_in_len > 0 || any_range) {
        return Err(site.err(rule, "`const` can be the only rule on a field"));
    }
    if in_len > 0 && any_range {
        return Err(site.err(
            rule,
            "cannot have both `in` and range constraint rules on the same field",
        ));
    }
    if b.lt.is_some() && b.lte.is_some() {
        return Err(site.err(
            rule,
            "cannot have both `lt` and `lte` rules on the same field",
        ));
    }
    if b.gt.is_some() && b.gte.is_some() {
        return Err(site.err(
            rule,
            "cannot have both `gt` and `gte` rules on the same field",
        ));
    }
    let eq = |a: &Option<Bound>, c: &Option<Bound>| match (a, c) {
        (Some(a), Some(c)) => a.same(c, float),
        _ => false,
    };
    if b.lt.is_some() {
        if eq(&b.lt, &b.gt) {
            return Err(site.err(
                rule,
                "cannot have equal `gt` and `lt` rules on the same field",
            ));
        }
        if eq(&b.lt, &b.gte) {
            return Err(site.err(
                rule,
                "cannot have equal `gte` and `lt` rules on the same field",
            ));
        }
    } else if b.lte.is_some() {
        if eq(&b.lte, &b.gt) {
            return Err(site.err(
                rule,
                "cannot have equal `gt` and `lte` rules on the same field",
            ));
        }
        if eq(&b.lte, &b.gte) {
            return Err(site.err(rule, "use `const` instead of equal `lte` and `gte` rules"));
        }
    }
    Ok(())
}

#[derive(Default)]
pub(super) struct Ranges {
    pub(super) lt: Option<Bound>,
    pub(super) lte: Option<Bound>,
    pub(super) gt: Option<Bound>,
    pub(super) gte: Option<Bound>,
}

/// Go PGV's `ltgt` template over `val` (an expression comparable with the bounds' literals).
pub(super) fn ltgt(val: &TokenStream, b: &Ranges, float: bool, site: &Site) -> TokenStream {
    let check = |cond: TokenStream, reason: String| {
        let push = site.push(&reason);
        quote!(if #cond { #push })
    };
    if let Some(lt) = &b.lt {
        let l = &lt.lit;
        if let Some(gt) = &b.gt {
            let g = &gt.lit;
            if lt.gt(gt, float) {
                check(
                    quote!(#val <= #g || #val >= #l),
                    format!("value must be inside range ({}, {})", gt.go, lt.go),
                )
            } else {
                check(
                    quote!(#val >= #l && #val <= #g),
                    format!("value must be outside range [{}, {}]", lt.go, gt.go),
                )
            }
        } else if let Some(gte) = &b.gte {
            let g = &gte.lit;
            if lt.gt(gte, float) {
                check(
                    quote!(#val < #g || #val >= #l),
                    format!("value must be inside range [{}, {})", gte.go, lt.go),
                )
            } else {
                check(
                    quote!(#val >= #l && #val < #g),
                    format!("value must be outside range [{}, {})", lt.go, gte.go),
                )
            }
        } else {
            check(
                quote!(#val >= #l),
                format!("value must be less than {}", lt.go),
            )
        }
    } else if let Some(lte) = &b.lte {
        let l = &lte.lit;
        if let Some(gt) = &b.gt {
            let g = &gt.lit;
            if lte.gt(gt, float) {
                check(
                    quote!(#val <= #g || #val > #l),
                    format!("value must be inside range ({}, {}]", gt.go, lte.go),
                )
            } else {
                check(
                    quote!(#val > #l && #val <= #g),
                    format!("value must be outside range ({}, {}]", lte.go, gt.go),
                )
            }
        } else if let Some(gte) = &b.gte {
            let g = &gte.lit;
            if lte.gt(gte, float) {
                check(
                    quote!(#val < #g || #val > #l),
                    format!("value must be inside range [{}, {}]", gte.go, lte.go),
                )
            } else {
                check(
                    quote!(#val > #l && #val < #g),
                    format!("value must be outside range ({}, {})", lte.go, gte.go),
                )
            }
        } else {
            check(
                quote!(#val > #l),
                format!("value must be less than or equal to {}", lte.go),
            )
        }
    } else if let Some(gt) = &b.gt {
        let g = &gt.lit;
        check(
            quote!(#val <= #g),
            format!("value must be greater than {}", gt.go),
        )
    } else if let Some(gte) = &b.gte {
        let g = &gte.lit;
        check(
            quote!(#val < #g),
            format!("value must be greater than or equal to {}", gte.go),
        )
    } else {
        TokenStream::new()
    }
}

pub(super) fn num_ty(rule: &str) -> Option<NumTy> {
    Some(match rule {
        "float" => NumTy::F32,
        "double" => NumTy::F64,
        "int32" | "sint32" | "sfixed32" => NumTy::I32,
        "int64" | "sint64" | "sfixed64" => NumTy::I64,
        "uint32" | "fixed32" => NumTy::U32,
        "uint64" | "fixed64" => NumTy::U64,
        _ => return None,
    })
}

pub(super) fn counts(
    min: Option<u64>,
    max: Option<u64>,
    unit: &str,
    units: &str,
    site: &Site,
) -> TokenStream {
    // Go tests `$r.GetMinItems` (non-zero) and `$r.MaxItems` (set).
    let min = min.filter(|m| *m > 0);
    if let Some(min) = min {
        let n = min as usize;
        if Some(min) == max {
            let push = site.push(&format!("value must contain exactly {min} {unit}"));
            quote!(if __f.len() != #n { #push })
        } else if let Some(max) = max {
            let push = site.push(&format!(
                "value must contain between {min} and {max} {units}, inclusive"
            ));
            let m = max as usize;
            quote!(if __f.len() < #n || __f.len() > #m { #push })
        } else {
            let push = site.push(&format!("value must contain at least {min} {unit}"));
            quote!(if __f.len() < #n { #push })
        }
    } else if let Some(max) = max {
        let m = max as usize;
        let push = site.push(&format!("value must contain no more than {max} {unit}"));
        quote!(if __f.len() > #m { #push })
    } else {
        TokenStream::new()
    }
}

pub(super) fn byte_lengths(
    len_expr: &TokenStream,
    len: Option<u64>,
    min: Option<u64>,
    max: Option<u64>,
    site: &Site,
) -> TokenStream {
    let exact = len.or(match (min, max) {
        (Some(a), Some(b)) if a == b => Some(a),
        _ => None,
    });
    if let Some(n) = exact {
        let push = site.push(&format!("value length must be {n} bytes"));
        let n = n as usize;
        quote!(if #len_expr != #n { #push })
    } else if let Some(min) = min {
        if let Some(max) = max {
            let push = site.push(&format!(
                "value length must be between {min} and {max} bytes, inclusive"
            ));
            let (a, b) = (min as usize, max as usize);
            quote!({ let __l = #len_expr; if __l < #a || __l > #b { #push } })
        } else {
            let push = site.push(&format!("value length must be at least {min} bytes"));
            let a = min as usize;
            quote!(if #len_expr < #a { #push })
        }
    } else if let Some(max) = max {
        let push = site.push(&format!("value length must be at most {max} bytes"));
        let b = max as usize;
        quote!(if #len_expr > #b { #push })
    } else {
        TokenStream::new()
    }
}

pub(super) fn in_check(
    n: &TokenStream,
    ins: &[Bound],
    not_ins: &[Bound],
    site: &Site,
) -> TokenStream {
    let go = |l: &[Bound]| gofmt::list(&l.iter().map(|b| b.go.clone()).collect::<Vec<_>>());
    if !ins.is_empty() {
        let lits: Vec<&TokenStream> = ins.iter().map(|b| &b.lit).collect();
        let push = site.push(&format!("value must be in list {}", go(ins)));
        quote!(if ![#(#lits),*].contains(&#n) { #push })
    } else if !not_ins.is_empty() {
        let lits: Vec<&TokenStream> = not_ins.iter().map(|b| &b.lit).collect();
        let push = site.push(&format!("value must not be in list {}", go(not_ins)));
        quote!(if [#(#lits),*].contains(&#n) { #push })
    } else {
        TokenStream::new()
    }
}
