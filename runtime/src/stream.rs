//! Streaming: what a server-streaming method returns ([`ServerStream`], served as Server-Sent
//! Events over HTTP, Kratos v3's behaviour, and as a gRPC server stream), and what a client- or
//! bidirectional-streaming method receives ([`RequestStream`], over gRPC).

use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

pub use tokio_stream::{Stream, StreamExt};

use crate::errors::Error;
use crate::validate::Validator;

/// A boxed stream of messages or errors.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'static>>;

/// The reply of a server-streaming method: the messages to send, in order. An error ends the
/// stream (as an `error` event over HTTP, as the call's status over gRPC).
pub struct ServerStream<T> {
    inner: Mutex<Option<BoxStream<T>>>,
}

impl<T> ServerStream<T> {
    /// A reply streaming the items of `stream`.
    pub fn new(stream: impl Stream<Item = Result<T, Error>> + Send + 'static) -> Self {
        ServerStream {
            inner: Mutex::new(Some(Box::pin(stream))),
        }
    }

    /// A reply streaming `items`.
    pub fn from_items(items: impl IntoIterator<Item = T, IntoIter: Send + 'static>) -> Self
    where
        T: Send + 'static,
    {
        Self::new(tokio_stream::iter(items.into_iter().map(Ok)))
    }

    /// The stream (once: a reply is sent once).
    pub fn take(&self) -> Option<BoxStream<T>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl<T> std::fmt::Debug for ServerStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerStream")
    }
}

/// The messages a client streams to a client- or bidirectional-streaming method, in order.
/// Read it as a [`Stream`] (`while let Some(message) = request.next().await`). A transport
/// failure, or a message that fails validation, is the stream's last item.
///
/// With the validation middleware installed ([`crate::validate::middleware`]), every message
/// is checked against its type's rules as it arrives; a failure is a 400 `VALIDATOR` error, as
/// for a unary request.
pub struct RequestStream<T> {
    inner: Mutex<BoxStream<T>>,
    validator: Option<Validator>,
    validate: AtomicBool,
    done: bool,
}

impl<T: 'static> RequestStream<T> {
    /// The messages of `stream`; `validator` is the message type's validator, if it has rules.
    pub fn new(
        stream: impl Stream<Item = Result<T, Error>> + Send + 'static,
        validator: Option<Validator>,
    ) -> Self {
        RequestStream {
            inner: Mutex::new(Box::pin(stream)),
            validator,
            validate: AtomicBool::new(false),
            done: false,
        }
    }

    /// A stream of `items`, as a test would send them.
    pub fn from_items(items: impl IntoIterator<Item = T, IntoIter: Send + 'static>) -> Self
    where
        T: Send,
    {
        Self::new(tokio_stream::iter(items.into_iter().map(Ok)), None)
    }

    /// What the validation middleware calls on a request stream: from then on every message
    /// is validated as it arrives. (The middleware sees the stream before any message.)
    pub(crate) fn validate_messages(request: &dyn std::any::Any) -> Result<(), Error> {
        if let Some(stream) = request.downcast_ref::<Self>() {
            stream.validate.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl<T: 'static> Stream for RequestStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let inner = this
            .inner
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let item = match inner.as_mut().poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Ready(Some(item)) => item,
        };
        let item = match (item, this.validator) {
            (Ok(message), Some(validator)) if this.validate.load(Ordering::Relaxed) => {
                validator(&message).map(|()| message)
            }
            (item, _) => item,
        };
        this.done = item.is_err();
        Poll::Ready(Some(item))
    }
}

impl<T> std::fmt::Debug for RequestStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestStream")
    }
}
