//! Message rules: `skip`, `required`, well-known types and embedded messages.

use kratos_codegen::{Result, WktMapping};
use proc_macro2::TokenStream;
use prost_reflect::{Kind, MessageDescriptor};
use quote::quote;

use crate::rules::{R, type_rules};

use super::site::Site;
use super::wkt::wrapper_rule;
use super::{Gen, MsgVal};

impl Gen<'_> {
    /// An embedded message: wrappers, Duration, Timestamp, Any, or a message validated
    /// recursively.
    pub(super) fn message_value(
        &self,
        desc: &MessageDescriptor,
        rules: Option<&R>,
        val: MsgVal,
        site: &Site,
        package: &str,
    ) -> Result<TokenStream> {
        let full = desc.full_name();
        let ty = self.paths.type_tokens(full, package);
        let typed = rules.and_then(type_rules);
        let msg_rules = rules.and_then(|r| r.msg("message"));
        let required = msg_rules.as_ref().is_some_and(|m| m.flag("required"));
        let skip = msg_rules.as_ref().is_some_and(|m| m.flag("skip"));
        if msg_rules.is_some() {
            match full {
                "google.protobuf.Any" => {
                    return Err(site.err("message", "Any rules should be used for Any fields"));
                }
                "google.protobuf.Duration" => {
                    return Err(site.err(
                        "message",
                        "Duration rules should be used for Duration fields",
                    ));
                }
                "google.protobuf.Timestamp" => {
                    return Err(site.err(
                        "message",
                        "Timestamp rules should be used for Timestamp fields",
                    ));
                }
                _ => {}
            }
            if typed.is_some() && skip {
                return Err(site.err(
                    "message.skip",
                    "Skip should not be used with WKT scalar rules",
                ));
            }
        }
        let (body, none) = match (&typed, full) {
            (Some((rule, r)), _) => {
                let expected = match full {
                    "google.protobuf.Duration" => "duration",
                    "google.protobuf.Timestamp" => "timestamp",
                    "google.protobuf.Any" => "any",
                    f => wrapper_rule(f).unwrap_or("message"),
                };
                if *rule != expected {
                    return Err(site.err(
                        rule,
                        format!("expected rules for {expected} but got {rule}"),
                    ));
                }
                match *rule {
                    "duration" => self.duration(r, site)?,
                    "timestamp" => self.timestamp(r, site)?,
                    "any" => self.any(r, site)?,
                    _ => {
                        // A wrapper: scalar rules on its value.
                        let inner = match self.wkt {
                            WktMapping::Pbjson => quote!(&__m.value),
                            WktMapping::Prost => quote!(__m),
                        };
                        let kind = desc
                            .get_field_by_name("value")
                            .map(|f| f.kind())
                            .unwrap_or(Kind::Bool);
                        let scalar = self.scalar(&kind, rules, &quote!(__x), site)?;
                        let body = if scalar.is_empty() {
                            scalar
                        } else {
                            quote!({ let __x = #inner; #scalar })
                        };
                        let none = if required {
                            site.push("value is required and must not be nil.")
                        } else {
                            TokenStream::new()
                        };
                        (body, none)
                    }
                }
            }
            (None, _) => {
                let none = if required {
                    site.push("value is required")
                } else {
                    TokenStream::new()
                };
                let body = if skip || full.starts_with("google.protobuf.") {
                    TokenStream::new()
                } else {
                    let embed = site.embed();
                    quote! {
                        let mut __sub = __v.nested();
                        (&&::kratos::__codegen::validate::MaybeCheck(__m)).kratos_maybe_check(&mut __sub);
                        #embed
                    }
                };
                (body, none)
            }
        };
        let none = if matches!(val, MsgVal::OptionalSet(_)) {
            TokenStream::new()
        } else {
            none
        };
        if body.is_empty() && none.is_empty() {
            return Ok(TokenStream::new());
        }
        Ok(match val {
            MsgVal::Opt(expr) | MsgVal::OptionalSet(expr) => {
                let none = if none.is_empty() {
                    TokenStream::new()
                } else {
                    quote!(else { #none })
                };
                quote! {
                    if let ::core::option::Option::Some(__m) = #expr {
                        let __m: &#ty = __m;
                        #body
                    } #none
                }
            }
            MsgVal::Present(expr) => quote!({ let __m: &#ty = #expr; #body }),
        })
    }
}
