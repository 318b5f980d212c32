//! Repeated field rules: item counts, `unique` and the rules of each item.

use kratos_codegen::Result;
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, Kind};
use quote::quote;

use crate::rules::{R, type_rules};

use super::bounds::counts;
use super::site::{Index, Site};
use super::{Gen, MsgVal};

impl Gen<'_> {
    pub(super) fn repeated(
        &self,
        field: &FieldDescriptor,
        rules: Option<&R>,
        site: &Site,
        package: &str,
        expr: TokenStream,
    ) -> Result<TokenStream> {
        let rep = match rules.and_then(type_rules) {
            Some(("repeated", r)) => Some(r),
            Some((other, _)) => {
                return Err(site.err(other, "repeated rule should be used for repeated fields"));
            }
            None => None,
        };
        if rules.is_some_and(|r| r.has("message")) {
            return Err(site.err("message", "field is not embedded but got message rules"));
        }
        let items = rep.as_ref().and_then(|r| r.msg("items"));
        let min = rep.as_ref().and_then(|r| r.u64("min_items"));
        let max = rep.as_ref().and_then(|r| r.u64("max_items"));
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(site.err(
                "repeated.min_items",
                "`min` value is greater than `max` value",
            ));
        }
        let unique = rep.as_ref().is_some_and(|r| r.flag("unique"));
        let kind = field.kind();
        if unique && matches!(kind, Kind::Message(_)) {
            return Err(site.err(
                "repeated.unique",
                "unique rule is only applicable for scalar types",
            ));
        }
        let mut body = TokenStream::new();
        body.extend(counts(min, max, "item(s)", "items", site));
        let elem_site = site.with_index(Index::Idx(quote!(__idx)));
        let elem = match &kind {
            Kind::Message(desc) => self.message_value(
                desc,
                items.as_ref(),
                MsgVal::Present(quote!(__item)),
                &elem_site,
                package,
            )?,
            k => {
                if items.as_ref().is_some_and(|r| r.has("message")) {
                    return Err(site.err(
                        "repeated.items.message",
                        "field is not embedded but got message rules",
                    ));
                }
                self.scalar(k, items.as_ref(), &quote!(__item), &elem_site)?
            }
        };
        let mut seen_decl = TokenStream::new();
        let mut seen_check = TokenStream::new();
        if unique {
            let key = match &kind {
                Kind::String => quote!(::core::option::Option::Some(
                    ::core::convert::AsRef::<str>::as_ref(__item)
                )),
                Kind::Bytes => quote!(::core::option::Option::Some(
                    ::core::convert::AsRef::<[u8]>::as_ref(__item)
                )),
                Kind::Float | Kind::Double => {
                    quote!(::kratos::__codegen::validate::f64_key(f64::from(*__item)))
                }
                _ => quote!(::core::option::Option::Some(*__item)),
            };
            let push = elem_site.push("repeated value must contain unique items");
            seen_decl = quote!(let mut __seen = ::kratos::__codegen::validate::HashSet::with_capacity(__f.len()););
            seen_check = quote! {
                if let ::core::option::Option::Some(__k) = #key {
                    if !__seen.insert(__k) { #push }
                }
            };
        }
        if !elem.is_empty() || unique {
            body.extend(quote! {
                #seen_decl
                for (__idx, __item) in __f.iter().enumerate() {
                    #seen_check
                    #elem
                }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        if rep.as_ref().is_some_and(|r| r.flag("ignore_empty")) {
            Ok(quote!({ let __f = #expr; if !__f.is_empty() { #body } }))
        } else {
            Ok(quote!({ let __f = #expr; #body }))
        }
    }
}
