//! Server streaming: what a server-streaming method returns, served as Server-Sent Events over
//! HTTP (Kratos v3's behaviour) and as a gRPC server stream.

use std::pin::Pin;
use std::sync::Mutex;

pub use tokio_stream::{Stream, StreamExt};

use crate::errors::Error;

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
