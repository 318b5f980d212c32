//! Map field rules: pair counts, `no_sparse` and the rules of each key and value.

use kratos_codegen::Result;
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, Kind};
use quote::quote;

use crate::rules::{R, type_rules};

use super::bounds::counts;
use super::site::{Index, Site};
use super::{Gen, MsgVal};

impl Gen<'_> {
    pub(super) fn map(
        &self,
        field: &FieldDescriptor,
        rules: Option<&R>,
        site: &Site,
        package: &str,
        expr: TokenStream,
    ) -> Result<TokenStream> {
        let m = match rules.and_then(type_rules) {
            Some(("map", r)) => Some(r),
            Some((other, _)) => {
                return Err(site.err(other, "map rules should be used for map fields"));
            }
            None => None,
        };
        let Kind::Message(entry) = field.kind() else {
            return Ok(TokenStream::new());
        };
        let key_field = entry.map_entry_key_field();
        let value_field = entry.map_entry_value_field();
        let min = m.as_ref().and_then(|r| r.u64("min_pairs"));
        let max = m.as_ref().and_then(|r| r.u64("max_pairs"));
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(site.err("map.min_pairs", "`min` value is greater than `max` value"));
        }
        if m.as_ref().is_some_and(|r| r.flag("no_sparse"))
            && !matches!(value_field.kind(), Kind::Message(_))
        {
            return Err(site.err(
                "map.no_sparse",
                "no_sparse rule is only applicable for embedded message types",
            ));
        }
        let keys = m.as_ref().and_then(|r| r.msg("keys"));
        let values = m.as_ref().and_then(|r| r.msg("values"));
        let mut body = counts(min, max, "pair(s)", "pairs", site);
        let key_site = site.with_index(Index::Key(quote!(__key), true));
        let val_site = site.with_index(Index::Key(quote!(__key), false));
        let key_code = self.scalar(&key_field.kind(), keys.as_ref(), &quote!(__key), &key_site)?;
        let val_code = match value_field.kind() {
            Kind::Message(desc) => self.message_value(
                &desc,
                values.as_ref(),
                MsgVal::Present(quote!(__val)),
                &val_site,
                package,
            )?,
            k => self.scalar(&k, values.as_ref(), &quote!(__val), &val_site)?,
        };
        if !key_code.is_empty() || !val_code.is_empty() {
            // Keys in order, as Go PGV (it sorts them), so the first violation is stable.
            body.extend(quote! {
                let mut __entries: ::std::vec::Vec<_> = __f.iter().collect();
                __entries.sort_unstable_by(|__a, __b| __a.0.cmp(__b.0));
                for (__key, __val) in __entries {
                    #key_code
                    #val_code
                }
            });
        }
        if body.is_empty() {
            return Ok(body);
        }
        if m.as_ref().is_some_and(|r| r.flag("ignore_empty")) {
            Ok(quote!({ let __f = #expr; if !__f.is_empty() { #body } }))
        } else {
            Ok(quote!({ let __f = #expr; #body }))
        }
    }
}
