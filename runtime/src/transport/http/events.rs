//! Server-Sent Events, the HTTP form of a server-streaming method (Kratos v3's behaviour):
//! each message is a `data:` event holding its JSON; an error is an `error` event holding the
//! Kratos error body, and ends the stream. The server writes them ([`encode`]) and the typed
//! client reads them back ([`decode`]).

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, header};
use http_body::Body as _;
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_stream::Stream;

use super::body::{Body, StreamingBody};
use crate::codec::{CODEC_REASON, Codec};
use crate::errors::Error;
use crate::stream::BoxStream;

/// The media type of Server-Sent Events.
pub(crate) const CONTENT_TYPE: &str = "text/event-stream";

/// The largest event the client reads (data and unfinished lines); a larger one ends the
/// stream with an error instead of growing the buffer without bound.
pub(crate) const MAX_EVENT_BYTES: usize = 16 << 20;

/// The Server-Sent Events of a server stream: each message as `data: <JSON>`, and an error as
/// `event: error` with the Kratos error body, which ends the stream.
pub(crate) fn encode<Item: Serialize + Send + 'static>(
    reply: &crate::stream::ServerStream<Item>,
) -> Result<StreamingBody, Error> {
    let stream = reply
        .take()
        .ok_or_else(|| Error::new(500, "STREAM", "the reply stream was already taken"))?;
    Ok(http_body_util::StreamBody::new(Box::pin(Frames {
        inner: stream,
        done: false,
    })))
}

/// Frames of Server-Sent Events, ending after the first error.
struct Frames<Item> {
    inner: crate::stream::BoxStream<Item>,
    done: bool,
}

impl<Item: Serialize> Stream for Frames<Item> {
    type Item = Result<http_body::Frame<Bytes>, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let text = match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Ok(message))) => match crate::json::to_string(&message) {
                Ok(json) => format!("data: {json}\n\n"),
                Err(e) => {
                    self.done = true;
                    error_event(&Error::new(500, CODEC_REASON, format!("json marshal: {e}")))
                }
            },
            Poll::Ready(Some(Err(err))) => {
                self.done = true;
                error_event(&err)
            }
        };
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(text)))))
    }
}

fn error_event(err: &Error) -> String {
    format!(
        "event: error\ndata: {}\n\n",
        String::from_utf8_lossy(&Codec::Json.encode_error(err))
    )
}

/// The messages of a Server-Sent Events reply body, decoded from JSON as they arrive.
pub(crate) fn decode<T>(body: Incoming) -> BoxStream<T>
where
    T: DeserializeOwned + prost::Message + Default + Send + 'static,
{
    Box::pin(Messages::<T> {
        body,
        reader: EventReader::default(),
        eof: false,
        done: false,
        message: PhantomData,
    })
}

/// One dispatched event: its type (empty for the default `message`) and its data.
#[derive(Debug, PartialEq)]
struct Event {
    kind: String,
    data: String,
}

/// The event-stream parser of the HTML standard, fed with chunks as they arrive: one leading
/// byte-order mark is skipped; lines end with LF, CRLF or CR; a blank line dispatches the
/// event; `data` lines are joined with newlines; comments and the `id` and `retry` fields are
/// ignored.
///
/// Each byte is scanned for a line end once: a line that arrives in many chunks is not
/// searched again from its start on every chunk (which made reading one long line quadratic).
#[derive(Debug, Default)]
struct EventReader {
    buf: Vec<u8>,
    /// Where the unread lines start.
    pos: usize,
    /// Where to resume looking for a line end (`>= pos`): the bytes before hold none.
    scanned: usize,
    kind: String,
    data: String,
    has_data: bool,
    /// The stream's start has been read past (and a byte-order mark there skipped).
    started: bool,
}

impl EventReader {
    fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanned -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, if the buffered bytes hold one. At `eof` an unfinished event
    /// is dropped, as the standard says.
    fn next_event(&mut self, eof: bool) -> Result<Option<Event>, Error> {
        if !self.started {
            const BOM: &[u8] = "\u{FEFF}".as_bytes();
            let head = &self.buf[self.pos..];
            if head.len() < BOM.len() && BOM.starts_with(head) && !eof {
                // Maybe the start of a mark split across chunks: wait for more.
                return Ok(None);
            }
            if head.starts_with(BOM) {
                self.pos += BOM.len();
                self.scanned = self.scanned.max(self.pos);
            }
            self.started = true;
        }
        while let Some((line_end, next)) = self.line_end(eof) {
            let line = String::from_utf8_lossy(&self.buf[self.pos..line_end]).into_owned();
            self.pos = next;
            if line.is_empty() {
                if !self.has_data {
                    self.kind.clear();
                    continue;
                }
                self.has_data = false;
                if self.data.ends_with('\n') {
                    self.data.pop();
                }
                return Ok(Some(Event {
                    kind: std::mem::take(&mut self.kind),
                    data: std::mem::take(&mut self.data),
                }));
            }
            self.field(&line);
        }
        if self.buf.len() - self.pos + self.data.len() > MAX_EVENT_BYTES {
            return Err(Error::new(
                500,
                CODEC_REASON,
                format!("reply: an event is larger than {MAX_EVENT_BYTES} bytes"),
            ));
        }
        Ok(None)
    }

    /// Where the next line ends and the one after starts. A CR last in the buffer waits for
    /// the next chunk, which may begin with its LF.
    fn line_end(&mut self, eof: bool) -> Option<(usize, usize)> {
        let from = self.scanned.max(self.pos);
        let Some(i) = self.buf[from..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        else {
            self.scanned = self.buf.len();
            return None;
        };
        let end = from + i;
        let found = match (self.buf[end], self.buf.get(end + 1)) {
            (b'\n', _) => Some((end, end + 1)),
            (_, Some(b'\n')) => Some((end, end + 2)),
            (_, Some(_)) => Some((end, end + 1)),
            (_, None) if eof => Some((end, end + 1)),
            (_, None) => None,
        };
        // The next search starts after this line, or at the CR that waits for its LF.
        self.scanned = found.map_or(end, |(_, next)| next);
        found
    }

    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "event" => {
                self.kind.clear();
                self.kind.push_str(value);
            }
            _ => {}
        }
    }
}

/// The typed messages of an event stream.
struct Messages<T> {
    body: Incoming,
    reader: EventReader,
    eof: bool,
    done: bool,
    message: PhantomData<fn() -> T>,
}

impl<T> Messages<T>
where
    T: DeserializeOwned + prost::Message + Default,
{
    /// What an event means: a message, the stream's error, or nothing (an unknown type).
    fn interpret(event: &Event) -> Option<Result<T, Error>> {
        match event.kind.as_str() {
            "" | "message" => Some(super::Client::decode::<T>(
                Codec::Json,
                event.data.as_bytes(),
            )),
            "error" => Some(Err(Codec::Json
                .decode_error(event.data.as_bytes())
                .unwrap_or_else(|| Error::new(500, "", event.data.clone())))),
            _ => None,
        }
    }
}

impl<T> Stream for Messages<T>
where
    T: DeserializeOwned + prost::Message + Default,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.reader.next_event(this.eof) {
                Err(err) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
                Ok(Some(event)) => match Self::interpret(&event) {
                    Some(Ok(message)) => return Poll::Ready(Some(Ok(message))),
                    Some(Err(err)) => {
                        this.done = true;
                        return Poll::Ready(Some(Err(err)));
                    }
                    None => continue,
                },
                Ok(None) if this.eof => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.eof = true,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.reader.push(&data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Error::new(
                        503,
                        "UNAVAILABLE",
                        format!("reading the events: {e}"),
                    )
                    .with_cause(e))));
                }
            }
        }
    }
}

/// A Server-Sent Events reply (200, `text/event-stream`) streaming `body`.
pub(crate) fn response(body: StreamingBody, headers: HeaderMap) -> Response<Body> {
    let mut response = Response::new(http_body_util::Either::Right(body));
    *response.headers_mut() = headers;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<Event> {
        let mut reader = EventReader::default();
        let mut out = Vec::new();
        for chunk in chunks {
            reader.push(chunk);
            while let Some(event) = reader.next_event(false).unwrap() {
                out.push(event);
            }
        }
        while let Some(event) = reader.next_event(true).unwrap() {
            out.push(event);
        }
        out
    }

    fn event(kind: &str, data: &str) -> Event {
        Event {
            kind: kind.into(),
            data: data.into(),
        }
    }

    #[tokio::test]
    async fn events_write_non_finite_floats_as_proto3_strings() {
        use http_body_util::BodyExt as _;
        let reply = crate::stream::ServerStream::from_items(vec![
            vec![f64::NAN, 1.5],
            vec![f64::INFINITY, f64::NEG_INFINITY],
        ]);
        let body = encode(&reply).unwrap().collect().await.unwrap().to_bytes();
        assert_eq!(
            body,
            "data: [\"NaN\",1.5]\n\ndata: [\"Infinity\",\"-Infinity\"]\n\n"
        );
    }

    #[test]
    fn reads_what_the_server_writes() {
        let got = events(&[b"data: {\"a\":1}\n\nevent: error\ndata: {\"code\":500}\n\n"]);
        assert_eq!(
            got,
            [event("", "{\"a\":1}"), event("error", "{\"code\":500}")]
        );
    }

    #[test]
    fn events_split_anywhere_across_chunks() {
        let whole: &[u8] = b"data: one\r\n\r\nevent: x\rdata: two\r\rdata:three\n\n";
        let expected = [event("", "one"), event("x", "two"), event("", "three")];
        for cut in 0..whole.len() {
            let (a, b) = whole.split_at(cut);
            assert_eq!(events(&[a, b]), expected, "cut at {cut}");
        }
    }

    #[test]
    fn one_leading_byte_order_mark_is_skipped_even_when_split() {
        let whole = "\u{FEFF}data: a\n\n\u{FEFF}data: b\n\n".as_bytes();
        for cut in 0..6 {
            let (a, b) = whole.split_at(cut);
            // A mark later in the stream is part of the field name, so that event is ignored.
            assert_eq!(events(&[a, b]), [event("", "a")], "cut at {cut}");
        }
        assert_eq!(events(&["\u{FEFF}\u{FEFF}data: x\n\n".as_bytes()]), []);
        assert_eq!(events(&[b"\xEF\xBBdata: y\n\n"]), []);
        assert_eq!(events(&[b"\xEF", b"\xBB"]), []);
    }

    #[test]
    fn multi_line_data_comments_and_other_fields() {
        let got = events(&[b": keep-alive\nid: 7\nretry: 10\ndata: a\ndata\ndata: b\n\n"]);
        assert_eq!(got, [event("", "a\n\nb")]);
    }

    #[test]
    fn an_event_with_no_data_is_not_dispatched_and_an_unfinished_one_is_dropped() {
        assert_eq!(
            events(&[b"event: x\n\ndata: y\n\ndata: z"]),
            [event("", "y")]
        );
    }

    #[test]
    fn a_long_line_in_small_chunks_is_scanned_once() {
        // 4 MiB of one line in 64-byte chunks: rescanning the line on every chunk would take
        // about 10^11 byte comparisons; scanning each byte once takes a few million. The
        // generous bound only catches the quadratic reading.
        let reader = std::thread::spawn(|| {
            let mut reader = EventReader::default();
            reader.push(b"data: ");
            let chunk = [b'x'; 64];
            for _ in 0..(4 << 20) / 64 {
                reader.push(&chunk);
                assert_eq!(reader.next_event(false).unwrap(), None);
            }
            reader.push(b"\r");
            assert_eq!(reader.next_event(false).unwrap(), None);
            reader.push(b"\n\n");
            reader.next_event(false).unwrap()
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !reader.is_finished() {
            assert!(
                std::time::Instant::now() < deadline,
                "reading a 4 MiB line in 64-byte chunks did not finish within 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let event = reader.join().unwrap().unwrap();
        assert_eq!(event.data.len(), 4 << 20);
    }

    #[test]
    fn an_endless_line_is_an_error_not_an_ever_growing_buffer() {
        let mut reader = EventReader::default();
        let chunk = vec![b'x'; 1 << 20];
        let mut failed = false;
        for _ in 0..17 {
            reader.push(&chunk);
            if let Err(err) = reader.next_event(false) {
                assert_eq!(err.reason(), CODEC_REASON);
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
