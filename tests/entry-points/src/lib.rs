//! The keyword fixture (`testdata/keywords`): every Rust keyword as a service, method,
//! message, field, enum and enum value name, compiled through `kratos::build` (build.rs), with
//! a service that echoes every request so that tests can serve its routes.

/// Generated code for the fixture's packages.
pub mod keywords {
    /// `keywords.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all, non_camel_case_types, non_snake_case)]
        kratos::include_proto!("keywords.v1");
    }
    /// `keywords.nogrpc.v1`.
    pub mod nogrpc {
        /// `keywords.nogrpc.v1`.
        pub mod v1 {
            #![allow(missing_docs, clippy::all)]
            kratos::include_proto!("keywords.nogrpc.v1");
        }
    }
}

use keywords::v1 as pb;

/// Answers every method with its request. `Keywords.return` answers the error `RETURN`
/// instead, and validation runs before any of them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

/// Implements `$service` for [`Echo`]: each method returns its request. The method names are
/// the ones prost and tonic derive from the proto names, so this only compiles if the
/// generated trait uses exactly them.
macro_rules! echo {
    ($service:path, $message:ty: $($method:ident),* $(,)?) => {
        impl $service for Echo {
            $(
                async fn $method(
                    &self,
                    _ctx: kratos::Context,
                    request: $message,
                ) -> Result<$message, kratos::errors::Error> {
                    Ok(request)
                }
            )*
        }
    };
}

echo!(pb::Type, pb::Fields: r#type);
echo!(pb::Match, pb::Fields: r#match);
echo!(pb::Use, pb::Fields: r#use);
echo!(pb::Loop, pb::Fields: r#loop);
echo!(pb::Async, pb::Fields: r#async);
echo!(pb::Fn, pb::Fields: r#fn);
echo!(pb::Self_, pb::Fields: self_);
echo!(keywords::nogrpc::v1::Box, pb::Fields: r#box);

/// The `Keywords` methods that echo.
macro_rules! echo_methods {
    ($message:ty: $($method:ident),* $(,)?) => {
        $(
            async fn $method(
                &self,
                _ctx: kratos::Context,
                request: $message,
            ) -> Result<$message, kratos::errors::Error> {
                Ok(request)
            }
        )*
    };
}

impl pb::Keywords for Echo {
    async fn r#return(
        &self,
        _ctx: kratos::Context,
        request: pb::Refs,
    ) -> Result<pb::Refs, kratos::errors::Error> {
        let _ = request;
        Err(pb::error_return("returned as asked"))
    }

    echo_methods!(pb::Refs: r#as, r#async, r#await, r#box, r#break, r#const, r#continue, crate_, r#dyn, r#else, r#enum, extern_, r#false, r#fn, r#for, r#gen, r#if, r#impl, r#in, r#let, r#loop, r#match, r#mod, r#move, r#mut, r#priv, r#pub, r#ref, self_, r#static, r#struct, super_, r#trait, r#true, r#try, r#type, r#typeof, r#unsafe, r#unsized, r#use, r#virtual, r#where, r#while, r#yield, r#abstract, r#become, r#do, r#final, r#macro, r#override, union, macro_rules, raw, safe);
}
