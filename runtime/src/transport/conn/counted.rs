//! A connection's stream and service, counted for its watchdog: the bytes the socket read and
//! whether they began with the HTTP/2 preface ([`Io`]), and the requests in flight, from the
//! request head to the end of the response body ([`Tracked`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{ConnState, H2_PREFACE, NOT_H2};

/// One request in flight on a connection, from its head to the end of its response.
pub(super) struct InFlight(Arc<ConnState>);

impl InFlight {
    fn new(state: &Arc<ConnState>) -> Self {
        state.active.fetch_add(1, Ordering::AcqRel);
        state.started.fetch_add(1, Ordering::Relaxed);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            // HTTP/2 responses end in their own tasks: the watchdog must hear of it.
            self.0.wake();
        }
    }
}

/// A server connection's stream: TCP, or TLS over TCP.
pub(super) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Stream {
    fn pin(&mut self) -> Pin<&mut (dyn AsyncReadWrite + Unpin)> {
        match self {
            Stream::Plain(s) => Pin::new(s),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(&mut **s),
        }
    }
}

/// What [`Stream`] delegates to.
pub(super) trait AsyncReadWrite: AsyncRead + AsyncWrite {
    fn vectored(&self) -> bool;
}

impl<T: AsyncRead + AsyncWrite> AsyncReadWrite for T {
    fn vectored(&self) -> bool {
        self.is_write_vectored()
    }
}

/// The stream of a connection: counts what it reads and recognizes the HTTP/2 preface.
pub(super) struct Io {
    pub(super) inner: Stream,
    pub(super) state: Arc<ConnState>,
    /// Bytes of the HTTP/2 preface matched so far, or [`NOT_H2`].
    pub(super) sniffed: u8,
}

impl Io {
    /// Takes the next bytes read into account (nothing once decided).
    pub(super) fn sniff(&mut self, new: &[u8]) {
        let Some(want) = H2_PREFACE.get(usize::from(self.sniffed)..) else {
            return;
        };
        if want.is_empty() {
            return;
        }
        let n = new.len().min(want.len());
        if new[..n] == want[..n] {
            // n ≤ 24.
            self.sniffed += n as u8;
            if usize::from(self.sniffed) == H2_PREFACE.len() {
                self.state.h2.store(true, Ordering::Release);
            }
        } else {
            self.sniffed = NOT_H2;
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(this.inner.pin().poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            this.state
                .read
                .fetch_add(new.len() as u64, Ordering::Relaxed);
            if usize::from(this.sniffed) < H2_PREFACE.len() {
                this.sniff(new);
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.pin().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.pin().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Stream::Plain(s) => s.vectored(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.pin().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.pin().poll_shutdown(cx)
    }
}

/// A service that counts its requests in flight on the connection's state.
#[derive(Clone)]
pub(super) struct Tracked<S> {
    pub(super) inner: S,
    pub(super) state: Arc<ConnState>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let guard = InFlight::new(&self.state);
        TrackedFuture {
            inner: self.inner.call(request),
            guard: Some(guard),
        }
    }
}

pin_project! {
    /// A request's response future, holding the request's place in flight.
    pub(super) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        guard: Option<InFlight>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let guard = this.guard.take();
        Poll::Ready(result.map(|response| response.map(|inner| TrackedBody { inner, guard })))
    }
}

pin_project! {
    /// A response body, holding its request's place in flight until it ends.
    pub(super) struct TrackedBody<B> {
        #[pin]
        inner: B,
        guard: Option<InFlight>,
    }
}

impl<B: http_body::Body> http_body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if frame.is_none() {
            this.guard.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
