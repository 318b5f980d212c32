//! Accepting connections, for both servers: accept errors (such as too many open files) never
//! end a server; the loop backs off and the log says so at most once a second.
//!
//! The rule: after a failed accept the next attempt waits [`FIRST_PAUSE`], doubling after each
//! further failure up to [`MAX_PAUSE`]; one success resets it. The first failure is logged at
//! once; later ones are counted and logged with their count when at least a second has passed
//! since the last line, and the first success after failures logs how many there were since.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The pause after the first failed accept.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between failed accepts.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(1);
/// The shortest interval between two log lines about failed accepts.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Where connections come from: a TCP listener, or in tests a scripted source.
pub(crate) trait Accept {
    /// The accepted connection.
    type Conn;

    /// Polls for the next connection.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Conn, SocketAddr)>>;
}

impl Accept for tokio::net::TcpListener {
    type Conn = tokio::net::TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Conn, SocketAddr)>> {
        tokio::net::TcpListener::poll_accept(self, cx)
    }
}

/// Exponential backoff between failed attempts.
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// The pause after one more failure.
    fn failed(&mut self) -> Duration {
        let pause = match self.next {
            None => FIRST_PAUSE,
            Some(previous) => (previous * 2).min(MAX_PAUSE),
        };
        self.next = Some(pause);
        pause
    }

    fn succeeded(&mut self) {
        self.next = None;
    }
}

/// Counts events and lets one through per [`LOG_INTERVAL`], with the count since the last.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
    pending: u64,
}

impl Throttle {
    /// Records one event; returns how many to report now (this one included), if it is time.
    pub(crate) fn event(&mut self, now: Instant) -> Option<u64> {
        self.pending += 1;
        match self.last {
            Some(last) if now.duration_since(last) < LOG_INTERVAL => None,
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.pending))
            }
        }
    }

    /// The events not reported yet, and forgets them.
    fn flush(&mut self) -> u64 {
        std::mem::take(&mut self.pending)
    }
}

/// A connection source whose errors are retried with backoff and logged with a limit.
pub(crate) struct Acceptor<A> {
    source: A,
    kind: &'static str,
    backoff: Backoff,
    pause: Option<Pin<Box<Sleep>>>,
    throttle: Throttle,
    failing: bool,
}

impl<A: Accept> Acceptor<A> {
    /// Accepts from `source` for the `kind` server (`http` or `grpc`, for the log).
    pub(crate) fn new(source: A, kind: &'static str) -> Self {
        Acceptor {
            source,
            kind,
            backoff: Backoff::default(),
            pause: None,
            throttle: Throttle::default(),
            failing: false,
        }
    }

    /// The next connection; errors are retried, so this only ever yields connections.
    pub(crate) fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<(A::Conn, SocketAddr)> {
        loop {
            if let Some(pause) = self.pause.as_mut() {
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.pause = None;
            }
            match self.source.poll_accept(cx) {
                Poll::Ready(Ok(accepted)) => {
                    if self.failing {
                        self.failing = false;
                        self.backoff.succeeded();
                        let unreported = self.throttle.flush();
                        tracing::warn!(
                            server = self.kind,
                            failures_since_last_report = unreported,
                            "accepting connections again"
                        );
                    }
                    return Poll::Ready(accepted);
                }
                Poll::Ready(Err(e)) => {
                    self.failing = true;
                    let pause = self.backoff.failed();
                    if let Some(count) = self.throttle.event(Instant::now()) {
                        tracing::warn!(
                            server = self.kind,
                            error = %e,
                            failures = count,
                            retry_in = ?pause,
                            "accept failed; backing off"
                        );
                    }
                    self.pause = Some(Box::pin(tokio::time::sleep(pause)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// [`Acceptor::poll_accept`] as a future.
    pub(crate) async fn accept(&mut self) -> (A::Conn, SocketAddr) {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn backoff_doubles_to_the_cap_and_resets_on_success() {
        let mut b = Backoff::default();
        let pauses: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), FIRST_PAUSE);
    }

    #[test]
    fn throttle_lets_one_event_a_second_through_with_the_count() {
        let start = Instant::now();
        let mut t = Throttle::default();
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(t.event(at(0)), Some(1));
        assert_eq!(t.event(at(10)), None);
        assert_eq!(t.event(at(500)), None);
        assert_eq!(t.event(at(999)), None);
        assert_eq!(t.event(at(1000)), Some(4));
        assert_eq!(t.event(at(1500)), None);
        assert_eq!(t.flush(), 1);
        assert_eq!(t.event(at(3000)), Some(1));
    }

    /// Fails `failures` times, then yields one connection; counts the attempts.
    struct Scripted {
        failures: usize,
        attempts: Arc<Mutex<Vec<Instant>>>,
    }

    impl Accept for Scripted {
        type Conn = ();

        fn poll_accept(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<((), SocketAddr)>> {
            let mut attempts = self.attempts.lock().unwrap();
            attempts.push(Instant::now());
            if attempts.len() <= self.failures {
                return Poll::Ready(Err(io::Error::from_raw_os_error(24)));
            }
            Poll::Ready(Ok(((), SocketAddr::from(([127, 0, 0, 1], 1)))))
        }
    }

    /// The log lines written while the test runs.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            String::from_utf8_lossy(&self.0.lock().unwrap())
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    /// With accept failing continuously for ten seconds (as when file descriptors run out),
    /// the loop retries a few times a second at most, and logs about once a second with the
    /// number of failures, then once more when accepting works again.
    #[tokio::test(start_paused = true)]
    async fn failing_accepts_back_off_and_are_logged_once_a_second_with_a_count() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let attempts = Arc::new(Mutex::new(Vec::new()));
        // Failing for 10 s of (paused, virtual) time: 5 ms doubling to 1 s is 9 attempts in
        // the first 2.3 s, then one a second.
        let failures = 17;
        let mut acceptor = Acceptor::new(
            Scripted {
                failures,
                attempts: attempts.clone(),
            },
            "test",
        );
        let start = Instant::now();
        let ((), _) = acceptor.accept().await;
        let elapsed = start.elapsed();
        let attempts = attempts.lock().unwrap().clone();
        assert_eq!(attempts.len(), failures + 1);
        // Without backoff 17 failures would take 0 s (or 170 ms with the old fixed 10 ms).
        assert!(
            elapsed >= Duration::from_secs(9),
            "17 failures took {elapsed:?}"
        );
        let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
        assert!(gaps.iter().all(|g| *g <= MAX_PAUSE), "{gaps:?}");

        let lines = captured.lines();
        let failed: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("accept failed"))
            .collect();
        // At most one line per second of failing (plus the first), each with its count, and
        // the counts add up to every failure.
        assert!(failed.len() <= 1 + elapsed.as_secs() as usize, "{lines:#?}");
        assert!(failed.len() >= 2, "{lines:#?}");
        let count = |line: &str, key: &str| -> u64 {
            let at = line.find(key).unwrap() + key.len();
            line[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap()
        };
        let logged: u64 = failed.iter().map(|l| count(l, "failures=")).sum();
        let again: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("accepting connections again"))
            .collect();
        assert_eq!(again.len(), 1, "{lines:#?}");
        let tail = count(again[0], "failures_since_last_report=");
        assert_eq!(logged + tail, failures as u64, "{lines:#?}");
        assert!(failed[0].contains("Too many open files"), "{lines:#?}");
    }
}
