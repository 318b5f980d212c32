//! Kratos-style middleware: a function from handler to handler, run in onion order.
//!
//! A [`Handler`] takes the call's [`Context`] and the decoded request as a type-erased
//! [`Message`] and returns the reply or an error. A [`Middleware`] wraps a handler in another;
//! [`chain`] applies a list so that the first is outermost, as Kratos' `middleware.Chain`.
//! Chains are composed once per route or gRPC method when the service is registered, never per
//! request. [`Matcher`] picks which middleware apply to an operation, with Kratos' rules.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::context::Context;
use crate::errors::Error;
use crate::validate::Validator;

pub mod circuitbreaker;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod logging;
mod matcher;
pub mod metadata;
pub mod ratelimit;
mod recovery;
mod select;
mod timeout;

pub use logging::{Logging, logging};
pub use matcher::Matcher;
pub use recovery::{recovered_error, recovery};
pub use select::{SelectBuilder, SelectError, select};
pub(crate) use timeout::bounded;
pub use timeout::{DEFAULT_SERVER_TIMEOUT, TIMEOUT_REASON, timed_out, timeout};

/// A request that could not be bound, passed through the chain so that middleware (logging,
/// metrics) see binding failures too; the innermost handler answers with its error.
#[derive(Debug)]
pub struct BindFailed(pub Error);

pub use crate::BoxFuture;

/// A request or reply with its type erased, as middleware see it. It can be inspected with
/// `Debug`, downcast to the concrete message type, and validated when its type has rules.
pub struct Message(Box<dyn ErasedMessage>, Option<Validator>);

trait ErasedMessage: Any + Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<T: Any + Send + Sync + fmt::Debug> ErasedMessage for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Message {
    /// Erases a message.
    pub fn new<T: Any + Send + Sync + fmt::Debug>(message: T) -> Self {
        Message(Box::new(message), None)
    }

    /// Erases a message whose type has a validator (see [`crate::validate`]).
    pub fn with_validator<T: Any + Send + Sync + fmt::Debug>(
        message: T,
        validator: Option<Validator>,
    ) -> Self {
        Message(Box::new(message), validator)
    }

    /// Checks the message against its validation rules: `Ok` when it has none, else a 400
    /// `VALIDATOR` error with the first violation.
    pub fn validate(&self) -> Result<(), Error> {
        match self.1 {
            Some(validator) => validator(self.inner().as_any()),
            None => Ok(()),
        }
    }

    /// The message as `T`, if it is one.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.inner().as_any().downcast_ref()
    }

    /// The erased message itself. (Calling the trait's methods on the `Box` would reach the
    /// blanket impl for `Box<dyn ErasedMessage>` instead of the message.)
    fn inner(&self) -> &dyn ErasedMessage {
        &*self.0
    }

    /// The message as a mutable `T`, if it is one.
    pub fn downcast_mut<T: Any>(&mut self) -> Option<&mut T> {
        (*self.0).as_any_mut().downcast_mut()
    }

    /// The message as `T`, or itself back when it is not one.
    pub fn downcast<T: Any>(self) -> Result<T, Self> {
        if self.inner().as_any().is::<T>() {
            match self.0.into_any().downcast::<T>() {
                Ok(b) => Ok(*b),
                // Checked just above; unreachable in practice, handled without panicking.
                Err(_) => Err(Message::new(TypeMismatch)),
            }
        } else {
            Err(self)
        }
    }
}

#[derive(Debug)]
struct TypeMismatch;

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The function behind a [`Handler`].
type HandlerFn =
    dyn Fn(Context, Message) -> BoxFuture<'static, Result<Message, Error>> + Send + Sync;

/// A type-erased handler: what a middleware wraps.
#[derive(Clone)]
pub struct Handler(Arc<HandlerFn>);

impl Handler {
    /// A handler from a function.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(Context, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Message, Error>> + Send + 'static,
    {
        Handler(Arc::new(move |ctx, req| Box::pin(f(ctx, req))))
    }

    /// A handler from a function that already returns a boxed future (no second box).
    pub fn from_fn(
        f: impl Fn(Context, Message) -> BoxFuture<'static, Result<Message, Error>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Handler(Arc::new(f))
    }

    /// Calls the handler.
    pub fn call(
        &self,
        ctx: Context,
        request: Message,
    ) -> BoxFuture<'static, Result<Message, Error>> {
        (self.0)(ctx, request)
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handler")
    }
}

/// A middleware: turns a handler into another that runs code before and after it.
///
/// ```
/// use kratos::middleware::{Handler, Middleware};
/// let tag_reply = Middleware::new(|next: Handler| {
///     Handler::new(move |ctx, req| {
///         let next = next.clone();
///         async move {
///             let reply = next.call(ctx.clone(), req).await;
///             ctx.reply_headers().insert("x-served-by", "kratos".parse().unwrap());
///             reply
///         }
///     })
/// });
/// # let _ = tag_reply;
/// ```
#[derive(Clone)]
pub struct Middleware(Arc<dyn Fn(Handler) -> Handler + Send + Sync>);

impl Middleware {
    /// A middleware from a function that wraps a handler.
    pub fn new(f: impl Fn(Handler) -> Handler + Send + Sync + 'static) -> Self {
        Middleware(Arc::new(f))
    }

    /// Wraps `next`.
    pub fn wrap(&self, next: Handler) -> Handler {
        (self.0)(next)
    }
}

impl fmt::Debug for Middleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Middleware")
    }
}

/// Applies `middleware` to `handler`, the first outermost (onion order).
///
/// The servers and clients chain the middleware they are given this way; calling `chain`
/// directly is how a middleware can be tried without a server:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use kratos::middleware::{Handler, Message, Middleware, chain};
/// use kratos::{Context, Kind};
///
/// /// Notes each call passing in and out.
/// fn trace(name: &'static str, seen: Arc<Mutex<Vec<String>>>) -> Middleware {
///     Middleware::new(move |next: Handler| {
///         let seen = seen.clone();
///         Handler::new(move |ctx, request| {
///             let (next, seen) = (next.clone(), seen.clone());
///             async move {
///                 seen.lock().unwrap().push(format!("{name} in"));
///                 let reply = next.call(ctx, request).await;
///                 seen.lock().unwrap().push(format!("{name} out"));
///                 reply
///             }
///         })
///     })
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kratos::errors::Error> {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let echo = Handler::new(|_ctx, request: Message| async move { Ok(request) });
/// let handler = chain(&[trace("outer", seen.clone()), trace("inner", seen.clone())], echo);
///
/// let ctx = Context::new(Kind::Http, "/echo.v1.Echo/Echo", Default::default());
/// let reply = handler.call(ctx, Message::new(String::from("ping"))).await?;
/// assert_eq!(reply.downcast_ref::<String>().map(String::as_str), Some("ping"));
/// assert_eq!(*seen.lock().unwrap(), ["outer in", "inner in", "inner out", "outer out"]);
/// # Ok(())
/// # }
/// ```
pub fn chain(middleware: &[Middleware], handler: Handler) -> Handler {
    middleware
        .iter()
        .rev()
        .fold(handler, |next, m| m.wrap(next))
}

type Direct<Req, Rep> =
    Arc<dyn Fn(Context, Req) -> BoxFuture<'static, Result<Rep, Error>> + Send + Sync>;

/// A service method with its middleware chain, typed on both ends. Generated code builds one
/// per route and per gRPC method at registration time.
pub struct Endpoint<Req, Rep> {
    inner: EndpointInner<Req, Rep>,
}

enum EndpointInner<Req, Rep> {
    /// No middleware: the method is called directly, nothing is erased.
    Direct(Direct<Req, Rep>),
    /// Middleware apply: the request and reply cross the chain erased.
    Chained(Handler, Option<Validator>, PhantomData<fn(Req) -> Rep>),
}

impl<Req, Rep> Clone for Endpoint<Req, Rep> {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            EndpointInner::Direct(d) => EndpointInner::Direct(d.clone()),
            EndpointInner::Chained(h, v, p) => EndpointInner::Chained(h.clone(), *v, *p),
        };
        Endpoint { inner }
    }
}

impl<Req, Rep> fmt::Debug for Endpoint<Req, Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.inner {
            EndpointInner::Direct(_) => "Endpoint(direct)",
            EndpointInner::Chained(..) => "Endpoint(chained)",
        })
    }
}

impl<Req, Rep> Endpoint<Req, Rep>
where
    Req: Any + Send + Sync + fmt::Debug,
    Rep: Any + Send + Sync + fmt::Debug,
{
    /// The method `f` behind `middleware` (first outermost).
    pub fn new<F, Fut>(middleware: &[Middleware], f: F) -> Self
    where
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
    {
        Self::with_validator(middleware, None, f)
    }

    /// The method `f` behind `middleware`, with the request type's validator (if it has one)
    /// attached to each request for the validation middleware.
    pub fn with_validator<F, Fut>(
        middleware: &[Middleware],
        validator: Option<Validator>,
        f: F,
    ) -> Self
    where
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
    {
        if middleware.is_empty() {
            return Endpoint {
                inner: EndpointInner::Direct(Arc::new(move |ctx: Context, req| {
                    Box::pin(ctx.clone().scope(f(ctx, req)))
                })),
            };
        }
        let f = Arc::new(f);
        let inner = Handler::new(move |ctx, req: Message| {
            let f = f.clone();
            async move {
                let req = match req.downcast::<Req>() {
                    Ok(req) => req,
                    Err(other) => {
                        return Err(match other.downcast::<BindFailed>() {
                            Ok(BindFailed(err)) => err,
                            Err(other) => Error::new(
                                500,
                                "MIDDLEWARE",
                                format!(
                                    "a middleware replaced the request with a value of another type: {other:?}"
                                ),
                            ),
                        });
                    }
                };
                f(ctx, req).await.map(Message::new)
            }
        });
        Endpoint {
            inner: EndpointInner::Chained(chain(middleware, inner), validator, PhantomData),
        }
    }

    /// Calls the method through its middleware with the outcome of binding: a binding error
    /// also runs the chain (as a [`BindFailed`] request) and comes back as the call's error.
    pub fn call_bound(
        &self,
        ctx: Context,
        request: Result<Req, Error>,
    ) -> BoxFuture<'static, Result<Rep, Error>> {
        match (request, &self.inner) {
            (Ok(req), _) => self.call(ctx, req),
            (Err(err), EndpointInner::Direct(_)) => Box::pin(async move { Err(err) }),
            (Err(err), EndpointInner::Chained(h, _, _)) => {
                let fut = ctx
                    .clone()
                    .scope(h.call(ctx, Message::new(BindFailed(err))));
                Box::pin(async move {
                    fut.await?.downcast::<Rep>().map_err(|other| {
                        Error::new(
                            500,
                            "MIDDLEWARE",
                            format!("a middleware answered a failed binding with {other:?}"),
                        )
                    })
                })
            }
        }
    }

    /// Calls the method through its middleware, with `ctx` as [`Context::current_server`]
    /// while the chain runs (so client calls made by the method see the server call).
    pub fn call(&self, ctx: Context, request: Req) -> BoxFuture<'static, Result<Rep, Error>> {
        match &self.inner {
            EndpointInner::Direct(f) => f(ctx, request),
            EndpointInner::Chained(h, validator, _) => {
                let fut = ctx
                    .clone()
                    .scope(h.call(ctx, Message::with_validator(request, *validator)));
                Box::pin(async move {
                    fut.await?.downcast::<Rep>().map_err(|other| {
                        Error::new(
                            500,
                            "MIDDLEWARE",
                            format!(
                                "a middleware replaced the reply with a value of another type: {other:?}"
                            ),
                        )
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::Kind;
    use std::sync::Mutex;

    fn recorder(log: Arc<Mutex<Vec<String>>>, name: &'static str) -> Middleware {
        Middleware::new(move |next: Handler| {
            let log = log.clone();
            Handler::new(move |ctx, req| {
                let next = next.clone();
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(format!("{name} before"));
                    let reply = next.call(ctx, req).await;
                    log.lock().unwrap().push(format!("{name} after"));
                    reply
                }
            })
        })
    }

    #[tokio::test]
    async fn chains_run_in_onion_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let inner_log = log.clone();
        let endpoint = Endpoint::new(
            &[recorder(log.clone(), "a"), recorder(log.clone(), "b")],
            move |_ctx, req: String| {
                let log = inner_log.clone();
                async move {
                    log.lock().unwrap().push("handler".into());
                    Ok(req.len())
                }
            },
        );
        let ctx = Context::new(Kind::Http, "/x.Y/Z", Default::default());
        assert_eq!(endpoint.call(ctx, "four".into()).await.unwrap(), 4);
        assert_eq!(
            *log.lock().unwrap(),
            ["a before", "b before", "handler", "b after", "a after"]
        );
    }

    #[tokio::test]
    async fn a_middleware_that_swaps_types_gets_an_error_not_a_panic() {
        let swap = Middleware::new(|next: Handler| {
            Handler::new(move |ctx, _req| next.call(ctx, Message::new(42u8)))
        });
        let endpoint = Endpoint::new(&[swap], |_ctx, req: String| async move { Ok(req) });
        let ctx = Context::new(Kind::Grpc, "/x.Y/Z", Default::default());
        let err = endpoint.call(ctx, "x".into()).await.unwrap_err();
        assert_eq!(err.code(), 500);
        assert!(err.message().contains("another type"), "{err}");
    }
}
