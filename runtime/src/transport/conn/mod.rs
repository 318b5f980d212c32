//! Serving accepted connections, for both servers: the connection limits, and a graceful stop
//! that no client can hold up.
//!
//! Each connection has a watchdog (the future its task runs) that knows what the connection is
//! doing, from three signals: the bytes its socket read, whether they began with the HTTP/2
//! preface, and how many requests are in flight (counted from the moment hyper hands a request
//! head to the service until the response body has ended or been dropped). From these:
//!
//! - **Fresh** (accepted, no request head and no complete HTTP/2 preface yet) and **next head**
//!   (an idle HTTP/1 connection that has started sending another head): the connection must
//!   finish the head within the header read timeout, or it is closed.
//! - **Busy** (a request in flight): no connection deadline; the body read timeout and the
//!   handler's own limits bound the request.
//! - **Idle** (nothing in flight): after the idle timeout the connection is asked to close
//!   (hyper's graceful shutdown: HTTP/1 closes, HTTP/2 sends GOAWAY); if it is still open after
//!   one more header read timeout, it is closed.
//!
//! With TLS, the handshake runs first, in the connection's task: it must finish within the
//! handshake timeout, and a stop closes a connection still in its handshake at once. The
//! watchdog then watches the decrypted stream as above.
//!
//! Stopping: the listener closes, fresh connections and heads in progress are closed at once,
//! the others are asked to close gracefully (idle ones then close at once); when the stop's
//! deadline comes, the connections still open are closed and reported as cut.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulConnection;
use pin_project_lite::pin_project;
use tokio::net::TcpListener;
#[cfg(feature = "tls")]
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::{Instant, Sleep};

mod counted;

use counted::{Io, Stream, Tracked};

use super::CutConnection;
use super::accept::{Acceptor, Throttle};
use super::limits::{ConnectionLimits, DEFAULT_HEADER_READ_TIMEOUT};

/// What the server asks of its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// Serve.
    Run,
    /// Stop accepting; close what is idle, let what is busy finish.
    Drain,
    /// Close every connection still open now.
    Cut,
}

const RUN: u8 = 0;
const DRAIN: u8 = 1;
const CUT: u8 = 2;

/// The HTTP/2 connection preface a client starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The sniffing state once the first bytes are known not to be the HTTP/2 preface.
const NOT_H2: u8 = u8::MAX;

/// What a connection's watchdog, its socket and its service share.
#[derive(Debug)]
struct ConnState {
    peer: SocketAddr,
    /// Requests in flight.
    active: AtomicUsize,
    /// Requests started so far (one may start and end within one poll of the connection).
    started: AtomicU64,
    /// Bytes read from the socket so far.
    read: AtomicU64,
    /// The connection began with the whole HTTP/2 preface.
    h2: AtomicBool,
    /// The server's [`Command`] (`RUN`, `DRAIN` or `CUT`).
    command: AtomicU8,
    /// The watchdog's waker, woken when the last request in flight ends or a command comes.
    waker: Mutex<Option<Waker>>,
}

impl ConnState {
    fn new(peer: SocketAddr) -> Self {
        ConnState {
            peer,
            active: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            read: AtomicU64::new(0),
            h2: AtomicBool::new(false),
            command: AtomicU8::new(RUN),
            waker: Mutex::new(None),
        }
    }

    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_ref() {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    fn wake(&self) {
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Where a connection is, for its deadlines (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    Busy,
    Idle { read: u64 },
    NextHead,
    Closing,
}

pin_project! {
    /// A connection's deadline, set often (after every request) and rarely reached: the timer
    /// is only moved earlier, never later, so a later deadline costs no timer update until the
    /// earlier timer fires and finds it not yet due.
    struct Deadline {
        #[pin]
        timer: Sleep,
        due: Option<Instant>,
    }
}

impl Deadline {
    fn new(after: Option<Duration>) -> Self {
        let due = after.map(|d| Instant::now() + d);
        Deadline {
            timer: tokio::time::sleep_until(due.unwrap_or_else(Instant::now)),
            due,
        }
    }

    /// Sets the deadline `after` from now (`None`: no deadline).
    fn set(self: Pin<&mut Self>, after: Option<Duration>) {
        let this = self.project();
        *this.due = after.map(|d| Instant::now() + d);
        if let Some(due) = *this.due
            && (this.timer.deadline() > due || this.timer.is_elapsed())
        {
            this.timer.reset(due);
        }
    }

    /// Whether the deadline has come (registering the task to be woken when it does).
    fn poll_due(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let mut this = self.project();
        let Some(due) = *this.due else {
            return false;
        };
        loop {
            if this.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            if Instant::now() >= due {
                return true;
            }
            this.timer.as_mut().reset(due);
        }
    }
}

pin_project! {
    /// A hyper connection under its watchdog.
    struct Watched<C> {
        #[pin]
        conn: C,
        #[pin]
        deadline: Deadline,
        phase: Phase,
        // `state.started` when last looked at.
        started: u64,
        draining: bool,
        state: Arc<ConnState>,
        header_timeout: Option<Duration>,
        idle_timeout: Option<Duration>,
    }
}

impl<C> Watched<C> {
    fn new(
        conn: C,
        state: Arc<ConnState>,
        header_timeout: Option<Duration>,
        idle_timeout: Option<Duration>,
    ) -> Self {
        Watched {
            conn,
            deadline: Deadline::new(header_timeout),
            phase: Phase::Fresh,
            started: 0,
            draining: false,
            state,
            header_timeout,
            idle_timeout,
        }
    }
}

impl<C> Future for Watched<C>
where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        this.state.register(cx.waker());
        match this.state.command.load(Ordering::Acquire) {
            // Dropping the connection closes its socket.
            CUT => return Poll::Ready(()),
            DRAIN if !*this.draining => {
                *this.draining = true;
                if matches!(*this.phase, Phase::Fresh | Phase::NextHead) {
                    return Poll::Ready(());
                }
                this.conn.as_mut().graceful_shutdown();
                if let Phase::Idle { .. } = *this.phase {
                    *this.phase = Phase::Closing;
                    let grace = this.header_timeout.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT);
                    this.deadline.as_mut().set(Some(grace));
                }
            }
            _ => {}
        }
        if let Poll::Ready(result) = this.conn.as_mut().poll(cx) {
            if let Err(e) = result {
                tracing::debug!(peer = %this.state.peer, error = %e, "connection ended with an error");
            }
            return Poll::Ready(());
        }

        let busy = this.state.active.load(Ordering::Acquire) > 0;
        let h2 = this.state.h2.load(Ordering::Acquire);
        let started = this.state.started.load(Ordering::Relaxed);
        // A request may have come and gone since the last look (within one poll of hyper's).
        let progressed = std::mem::replace(this.started, started) != started;
        let idle = || Phase::Idle {
            read: this.state.read.load(Ordering::Relaxed),
        };
        let next = match *this.phase {
            _ if busy => Phase::Busy,
            Phase::Closing => Phase::Closing,
            Phase::Busy => idle(),
            _ if progressed => idle(),
            Phase::Fresh if h2 => idle(),
            // A new HTTP/1 head has begun (HTTP/2 frames such as pings do not end idleness).
            Phase::Idle { read } if !h2 && this.state.read.load(Ordering::Relaxed) != read => {
                Phase::NextHead
            }
            same => same,
        };
        // Once stopping, an idle connection only has to finish closing.
        let next = match next {
            Phase::Idle { .. } if *this.draining => Phase::Closing,
            next => next,
        };
        let restarted = progressed && matches!(next, Phase::Idle { .. });
        if next != *this.phase || restarted {
            *this.phase = next;
            let limit = match next {
                Phase::Busy => None,
                Phase::Idle { .. } => *this.idle_timeout,
                Phase::NextHead | Phase::Fresh => *this.header_timeout,
                Phase::Closing => Some(this.header_timeout.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT)),
            };
            this.deadline.as_mut().set(limit);
            if *this.draining && next == Phase::NextHead {
                return Poll::Ready(());
            }
        }

        if this.deadline.as_mut().poll_due(cx) {
            match *this.phase {
                Phase::Idle { .. } => {
                    tracing::debug!(peer = %this.state.peer, "closing an idle connection");
                    this.conn.as_mut().graceful_shutdown();
                    *this.phase = Phase::Closing;
                    let grace = this.header_timeout.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT);
                    this.deadline.as_mut().set(Some(grace));
                    if this.conn.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    // Registers the new deadline.
                    if this.deadline.as_mut().poll_due(cx) {
                        return Poll::Ready(());
                    }
                }
                Phase::Fresh | Phase::NextHead => {
                    tracing::debug!(peer = %this.state.peer, "closing a connection: request head not received in time");
                    return Poll::Ready(());
                }
                Phase::Closing => return Poll::Ready(()),
                // Busy has no deadline.
                Phase::Busy => {}
            }
        }
        Poll::Pending
    }
}

/// The open connections of a server, for stopping them.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    next_id: AtomicU64,
    emptied: Notify,
}

impl Registry {
    fn insert(&self, state: Arc<ConnState>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, state);
        id
    }

    fn remove(&self, id: u64) {
        let mut conns = self.lock();
        conns.remove(&id);
        if conns.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `command` to every open connection; returns them as they are now.
    fn command(&self, kind: &'static str, command: u8) -> Vec<CutConnection> {
        let conns = self.lock();
        conns
            .values()
            .map(|state| {
                state.command.store(command, Ordering::Release);
                state.wake();
                CutConnection {
                    server: kind,
                    peer: state.peer,
                    in_flight: state.active.load(Ordering::Acquire),
                }
            })
            .collect()
    }

    /// Completes when no connection is open.
    async fn empty(&self) {
        loop {
            let notified = self.emptied.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.lock().is_empty() {
                return;
            }
            notified.await;
        }
    }
}

/// How a server's connections are served.
pub(crate) struct ServeOptions {
    /// `http` or `grpc`, for the log and the stop report.
    pub(crate) kind: &'static str,
    /// The limits.
    pub(crate) limits: ConnectionLimits,
    /// HTTP/2 only (gRPC), else HTTP/1 (with upgrades) and HTTP/2.
    pub(crate) http2_only: bool,
    /// TLS on every connection.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsAccept>,
}

/// Accepts connections from `listener` and serves each with the service `make` returns for it
/// (given the peer and local addresses), until `control` leaves [`Command::Run`]; then stops as
/// the module documentation says and returns the connections it cut.
pub(crate) async fn serve<M, S, B>(
    listener: TcpListener,
    options: ServeOptions,
    make: M,
    mut control: watch::Receiver<Command>,
) -> Vec<CutConnection>
where
    M: Fn(SocketAddr, Option<SocketAddr>) -> S,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let ServeOptions {
        kind,
        limits,
        http2_only,
        #[cfg(feature = "tls")]
        tls,
    } = options;
    let builder = Arc::new(limits.builder(http2_only));
    let local = listener.local_addr().ok();
    let permits = limits.max_connections.map(|n| Arc::new(Semaphore::new(n)));
    let registry = Arc::new(Registry::default());
    let mut acceptor = Acceptor::new(listener, kind);
    let mut at_limit = Throttle::default();
    'accept: loop {
        let permit = match &permits {
            Some(permits) => {
                if permits.available_permits() == 0
                    && let Some(times) = at_limit.event(Instant::now())
                {
                    tracing::warn!(
                        server = kind,
                        max_connections = limits.max_connections,
                        times,
                        "connection limit reached; new clients wait"
                    );
                }
                tokio::select! {
                    permit = permits.clone().acquire_owned() => permit.ok(),
                    _ = control.changed() => break 'accept,
                }
            }
            None => None,
        };
        let (stream, peer) = tokio::select! {
            accepted = acceptor.accept() => accepted,
            _ = control.changed() => break 'accept,
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::new(ConnState::new(peer));
        let id = registry.insert(state.clone());
        let service = Tracked {
            inner: make(peer, local),
            state: state.clone(),
        };
        let registry = registry.clone();
        let end = move || {
            registry.remove(id);
            drop(permit);
        };
        let connection = Connection {
            builder: builder.clone(),
            http2_only,
            state,
            header_timeout: limits.header_read_timeout,
            idle_timeout: limits.idle_timeout,
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = &tls {
            let tls = tls.clone();
            tokio::spawn(async move {
                if let Some(stream) = handshake(&tls, stream, &connection.state).await {
                    connection
                        .serve(Stream::Tls(Box::new(stream)), service)
                        .await;
                }
                end();
            });
            continue;
        }
        tokio::spawn(async move {
            connection.serve(Stream::Plain(stream), service).await;
            end();
        });
    }
    drop(acceptor);

    registry.command(kind, DRAIN);
    while *control.borrow_and_update() != Command::Cut {
        tokio::select! {
            _ = registry.empty() => return Vec::new(),
            changed = control.changed() => {
                if changed.is_err() {
                    // The server was dropped without a deadline: let the connections finish.
                    registry.empty().await;
                    return Vec::new();
                }
            }
        }
    }
    let cut = registry.command(kind, CUT);
    registry.empty().await;
    cut
}

/// One accepted connection, ready to be served.
struct Connection {
    builder: Arc<hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>>,
    http2_only: bool,
    state: Arc<ConnState>,
    header_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl Connection {
    /// Serves the connection on `stream` with `service` under its watchdog, until it closes.
    async fn serve<S, B>(self, stream: Stream, service: Tracked<S>)
    where
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let io = TokioIo::new(Io {
            inner: stream,
            state: self.state.clone(),
            sniffed: 0,
        });
        let (header, idle) = (self.header_timeout, self.idle_timeout);
        if self.http2_only {
            let conn = self.builder.serve_connection(io, service).into_owned();
            Watched::new(conn, self.state, header, idle).await;
        } else {
            let conn = self
                .builder
                .serve_connection_with_upgrades(io, service)
                .into_owned();
            Watched::new(conn, self.state, header, idle).await;
        }
    }
}

/// The TLS handshake of an accepted connection: `None` when it failed, did not finish within
/// the handshake timeout, or the server began to stop meanwhile.
#[cfg(feature = "tls")]
async fn handshake(
    tls: &crate::tls::TlsAccept,
    stream: TcpStream,
    state: &ConnState,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let stopping = std::future::poll_fn(|cx| {
        state.register(cx.waker());
        if state.command.load(Ordering::Acquire) == RUN {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    });
    tokio::select! {
        done = tokio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(stream)) => match done {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(e)) => {
                tracing::debug!(peer = %state.peer, error = %e, "tls handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(peer = %state.peer, "tls handshake not finished in time");
                None
            }
        },
        () = stopping => None,
    }
}

/// A server's serving task, as [`serve`] runs it.
pub(crate) struct Running {
    control: watch::Sender<Command>,
    task: tokio::task::JoinHandle<Vec<CutConnection>>,
}

impl Running {
    /// Spawns [`serve`] on `listener`.
    pub(crate) fn spawn<M, S, B>(listener: TcpListener, options: ServeOptions, make: M) -> Self
    where
        M: Fn(SocketAddr, Option<SocketAddr>) -> S + Send + 'static,
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (control, commands) = watch::channel(Command::Run);
        let task = tokio::spawn(serve(listener, options, make, commands));
        Running { control, task }
    }

    /// Stops serving: waits for the connections to finish, for at most `grace` when given,
    /// then cuts those still open and returns them.
    pub(crate) async fn stop(
        mut self,
        kind: &'static str,
        grace: Option<Duration>,
    ) -> Result<Vec<CutConnection>, super::TransportError> {
        let _ = self.control.send(Command::Drain);
        let finished = match grace {
            None => (&mut self.task).await,
            Some(grace) => match tokio::time::timeout(grace, &mut self.task).await {
                Ok(finished) => finished,
                Err(_) => {
                    let _ = self.control.send(Command::Cut);
                    (&mut self.task).await
                }
            },
        };
        let cut = finished.map_err(|e| super::TransportError::Serve {
            kind,
            reason: format!("serving task failed: {e}"),
        })?;
        if cut.is_empty() {
            tracing::info!(server = kind, "server stopped");
        } else {
            tracing::warn!(
                server = kind,
                cut = cut.len(),
                "server stopped, cutting the connections still open"
            );
        }
        Ok(cut)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use tokio::net::TcpStream;

    /// Feeds `chunks` to the preface sniffer of a fresh connection; whether it saw HTTP/2.
    async fn sniffs_h2(chunks: &[&[u8]]) -> bool {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let state = Arc::new(ConnState::new(client.local_addr().unwrap()));
        let mut io = Io {
            inner: Stream::Plain(client),
            state: state.clone(),
            sniffed: 0,
        };
        for chunk in chunks {
            io.sniff(chunk);
        }
        state.h2.load(Ordering::Acquire)
    }

    /// The rule: a connection is HTTP/2 when its first 24 bytes are the preface, however they
    /// are split across reads; any other first bytes make it HTTP/1 for good.
    #[tokio::test]
    async fn the_http2_preface_is_recognized_across_reads_and_nothing_else_is() {
        assert!(sniffs_h2(&[H2_PREFACE]).await);
        assert!(sniffs_h2(&[b"PRI * HTTP/2.0\r\n", b"\r\nSM\r\n\r\n"]).await);
        let bytes: Vec<&[u8]> = H2_PREFACE.chunks(1).collect();
        assert!(sniffs_h2(&bytes).await);
        // The preface followed by frames in the same read.
        let mut with_frames = H2_PREFACE.to_vec();
        with_frames.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        assert!(sniffs_h2(&[&with_frames]).await);
        assert!(!sniffs_h2(&[b"PRI * HTTP/2.0\r\n"]).await);
        assert!(!sniffs_h2(&[b"GET / HTTP/1.1\r\n\r\n"]).await);
        assert!(!sniffs_h2(&[b"PRI * HTTP/1.1\r\n", &H2_PREFACE[16..]]).await);
        // Once HTTP/1, later bytes that look like the preface change nothing.
        assert!(!sniffs_h2(&[b"G", H2_PREFACE]).await);
    }
}
