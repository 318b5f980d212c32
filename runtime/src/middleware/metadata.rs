//! Kratos' metadata middleware: the server side reads prefixed request headers into the call's
//! [`Metadata`]; the client side sends the call's metadata and the
//! serving call's global keys as request headers. The same over HTTP headers and gRPC
//! metadata.

use std::sync::Arc;

use http::{HeaderName, HeaderValue};

use super::{Handler, Middleware};
use crate::context::{Context, Side};
use crate::metadata::Metadata;

/// The prefix of the headers the server middleware reads by default.
pub const DEFAULT_PREFIX: &str = "x-md-";
/// The prefix of the server metadata keys the client middleware propagates by default.
pub const GLOBAL_PREFIX: &str = "x-md-global-";

fn lowered(prefixes: &[&str]) -> Arc<[String]> {
    prefixes.iter().map(|p| p.to_ascii_lowercase()).collect()
}

fn has_prefix(prefixes: &[String], key: &str) -> bool {
    prefixes.iter().any(|p| key.starts_with(p.as_str()))
}

/// The server middleware with the default prefix `x-md-` (Kratos' `metadata.Server()`).
///
/// ```
/// use kratos::middleware::{Handler, Message, chain, metadata};
/// use kratos::{Context, Kind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handler = chain(
///     &[metadata::server()],
///     Handler::new(|ctx: Context, request: Message| async move {
///         assert_eq!(ctx.metadata().get("x-md-global-tenant"), Some("acme"));
///         Ok(request)
///     }),
/// );
/// let mut headers = ::http::HeaderMap::new();
/// headers.insert("x-md-global-tenant", "acme".parse()?);
/// headers.insert("authorization", "Bearer abc".parse()?); // no `x-md-` prefix: not metadata
/// let ctx = Context::new(Kind::Http, "/shop.v1.Cart/Add", headers);
/// handler.call(ctx.clone(), Message::new(())).await?;
/// assert_eq!(ctx.metadata().len(), 1);
/// # Ok(())
/// # }
/// ```
pub fn server() -> Middleware {
    server_with_prefixes(&[DEFAULT_PREFIX])
}

/// The server middleware: every request header whose (lower-case) name starts with one of
/// `prefixes` (compared case-insensitively) is added, with each of its values, to the call's
/// server metadata. Values that are not visible ASCII are skipped. Runs only on server calls.
pub fn server_with_prefixes(prefixes: &[&str]) -> Middleware {
    let prefixes = lowered(prefixes);
    Middleware::new(move |next: Handler| {
        let prefixes = prefixes.clone();
        Handler::from_fn(move |ctx, req| {
            if ctx.side() == Side::Server {
                let headers = ctx.request_headers();
                let mut md = ctx.metadata();
                for (name, value) in headers {
                    if has_prefix(&prefixes, name.as_str())
                        && let Ok(value) = value.to_str()
                    {
                        md.add(name.as_str(), value);
                    }
                }
            }
            next.call(ctx, req)
        })
    })
}

/// The client middleware propagating keys with the prefix `x-md-global-` (Kratos'
/// `metadata.Client()`).
pub fn client() -> Middleware {
    client_with_prefixes(&[GLOBAL_PREFIX])
}

/// The client middleware: adds to the outgoing request headers every value of the call's
/// client metadata, then every value of the keys of the current server call's metadata
/// ([`Context::current_server`]) that start with one of `prefixes`. Keys or values that are
/// not valid in a header are skipped. The server call is the one current when the client
/// call is made (its future created), which is the case for any call awaited in a handler.
/// Runs only on client calls.
pub fn client_with_prefixes(prefixes: &[&str]) -> Middleware {
    let prefixes = lowered(prefixes);
    Middleware::new(move |next: Handler| {
        let prefixes = prefixes.clone();
        Handler::from_fn(move |ctx, req| {
            if ctx.side() == Side::Client {
                let mut headers = ctx.outgoing_headers();
                append(&mut headers, &ctx.metadata(), |_| true);
                if let Some(server) = Context::current_server() {
                    append(&mut headers, &server.metadata(), |k| {
                        has_prefix(&prefixes, k)
                    });
                }
            }
            next.call(ctx, req)
        })
    })
}

fn append(headers: &mut http::HeaderMap, md: &Metadata, keep: impl Fn(&str) -> bool) {
    for (key, values) in md.iter().filter(|(k, _)| keep(k)) {
        let Ok(name) = HeaderName::from_bytes(key.as_bytes()) else {
            continue;
        };
        for value in values {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.append(name.clone(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::Kind;
    use crate::middleware::{Message, chain};

    fn echo_metadata() -> Handler {
        Handler::new(|ctx: Context, _req| async move {
            let md = ctx.metadata().clone();
            let headers = ctx.outgoing_headers().clone();
            Ok(Message::new((md, headers)))
        })
    }

    #[tokio::test]
    async fn the_server_reads_prefixed_headers_only() {
        let mut headers = http::HeaderMap::new();
        headers.append("x-md-global-tenant", "t1".parse().unwrap());
        headers.append("x-md-local-x", "a".parse().unwrap());
        headers.append("x-md-local-x", "b".parse().unwrap());
        headers.append("x-custom-k", "c".parse().unwrap());
        headers.append("authorization", "secret".parse().unwrap());
        for (prefixes, expected) in [
            (&[DEFAULT_PREFIX][..], 2),
            (&["X-Custom-", "x-md-global-"][..], 2),
            (&["none-"][..], 0),
        ] {
            let h = chain(&[server_with_prefixes(prefixes)], echo_metadata());
            let ctx = Context::new(Kind::Http, "/a.B/C", headers.clone());
            let reply = h.call(ctx, Message::new(())).await.unwrap();
            let (md, _) = reply.downcast::<(Metadata, http::HeaderMap)>().unwrap();
            assert_eq!(md.len(), expected, "{prefixes:?}: {md:?}");
            assert!(md.get("authorization").is_none());
            if prefixes == [DEFAULT_PREFIX] {
                assert_eq!(md.values("x-md-local-x"), ["a", "b"]);
            }
        }
    }

    #[tokio::test]
    async fn the_client_sends_its_metadata_and_the_servers_global_keys() {
        let mut server_headers = http::HeaderMap::new();
        server_headers.insert("x-md-global-tenant", "t1".parse().unwrap());
        server_headers.insert("x-md-local-x", "a".parse().unwrap());
        let server = Context::new(Kind::Grpc, "/a.B/C", server_headers);
        let serve = chain(
            &[super::server()],
            Handler::new(|_, req| async move { Ok(req) }),
        );
        serve.call(server.clone(), Message::new(())).await.unwrap();

        let mut client_md = Metadata::new();
        client_md.add("x-md-local-y", "b");
        client_md.add("bad key", "skipped");
        let h = chain(&[client()], echo_metadata());
        let call = Context::client(Kind::Http, "/d.E/F", http::HeaderMap::new(), client_md);
        // The server call is the one current when the client call is made.
        let reply = server
            .scope(async { h.call(call, Message::new(())).await })
            .await
            .unwrap();
        let (_, sent) = reply.downcast::<(Metadata, http::HeaderMap)>().unwrap();
        assert_eq!(sent.get("x-md-global-tenant").unwrap(), "t1");
        assert_eq!(sent.get("x-md-local-y").unwrap(), "b");
        assert!(sent.get("x-md-local-x").is_none(), "{sent:?}");
        assert_eq!(sent.len(), 2);

        // Outside a server call only the client metadata goes out.
        let call = Context::client(
            Kind::Grpc,
            "/d.E/F",
            http::HeaderMap::new(),
            Metadata::new(),
        );
        let reply = h.call(call, Message::new(())).await.unwrap();
        let (_, sent) = reply.downcast::<(Metadata, http::HeaderMap)>().unwrap();
        assert!(sent.is_empty());
    }
}
