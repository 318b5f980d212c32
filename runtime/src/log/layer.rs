//! The layer writing log lines: one line per event, formatted into a per-thread buffer and
//! written whole.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::{Arc, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, dispatcher::WeakDispatch};
use tracing_subscriber::layer::Context;

use super::{Format, MakeWriter, Service};

/// Writes each event it is given as one log line (see [`crate::log`]). Usable in a
/// subscriber of one's own through [`super::Logger`]; the type is public for naming only.
pub struct LogLayer {
    format: Format,
    filter_keys: Arc<[String]>,
    /// `service.id`, `service.name` and `service.version`, already formatted for the format.
    service: String,
    writer: MakeWriter,
    /// The subscriber this layer is part of, to find the OpenTelemetry context of the span
    /// an event happens in.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    dispatch: OnceLock<WeakDispatch>,
}

impl fmt::Debug for LogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogLayer")
            .field("format", &self.format)
            .field("filter_keys", &self.filter_keys)
            .finish_non_exhaustive()
    }
}

thread_local! {
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl LogLayer {
    pub(super) fn new(
        format: Format,
        filter_keys: Arc<[String]>,
        service: &Service,
        writer: MakeWriter,
    ) -> Self {
        let mut rendered = String::new();
        for (key, value) in [
            ("service.id", &service.id),
            ("service.name", &service.name),
            ("service.version", &service.version),
        ] {
            push_str_field(&mut rendered, format, key, value);
        }
        LogLayer {
            format,
            filter_keys,
            service: rendered,
            writer,
            dispatch: OnceLock::new(),
        }
    }

    /// The trace and span ids of the OpenTelemetry span the event happens in: its explicit
    /// parent's, else the current span's.
    ///
    /// The current span's context is the OpenTelemetry context attached to the thread: the
    /// call's, which the tracing middleware attaches while the call runs, or that of a
    /// `tracing` span entered inside it (tracing-opentelemetry's context activation); it is
    /// read without looking any span up. A span the OpenTelemetry layer does not trace (one
    /// its filter leaves out) leaves its nearest traced ancestor's there.
    #[cfg(feature = "otel")]
    fn trace_ids(&self, event: &Event<'_>) -> Option<([u8; 16], [u8; 8])> {
        use opentelemetry::trace::TraceContextExt as _;
        let ids = |cx: &opentelemetry::Context| {
            let span = cx.span();
            let sc = span.span_context();
            sc.is_valid()
                .then(|| (sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
        };
        match event.parent() {
            Some(id) => {
                let dispatch = self.dispatch.get()?.upgrade()?;
                ids(&tracing_opentelemetry::get_otel_context(id, &dispatch)?)
            }
            None if event.is_contextual() => opentelemetry::Context::map_current(ids),
            None => None,
        }
    }

    #[cfg(not(feature = "otel"))]
    fn trace_ids(&self, _event: &Event<'_>) -> Option<([u8; 16], [u8; 8])> {
        None
    }

    fn render(&self, event: &Event<'_>, line: &mut String) {
        let meta = event.metadata();
        let level = meta.level().as_str();
        let mut ts_buf = [0u8; TIMESTAMP_LEN];
        let ts = timestamp(std::time::SystemTime::now(), &mut ts_buf);
        match self.format {
            Format::Text => {
                line.push_str(level);
                push_str_field(line, self.format, "ts", ts);
            }
            Format::Json => {
                line.push('{');
                push_json_key(line, "ts", true);
                push_json_str(line, ts);
                push_json_key(line, "level", false);
                push_json_str(line, level);
            }
        }
        push_str_field(line, self.format, "target", meta.target());
        line.push_str(&self.service);
        if let Some((trace, span)) = self.trace_ids(event) {
            let mut buf = [0u8; 32];
            push_str_field(line, self.format, "trace.id", hex(&trace, &mut buf));
            push_str_field(line, self.format, "span.id", hex(&span, &mut buf));
        }
        let mut visitor = Fields {
            line,
            format: self.format,
            filter_keys: &self.filter_keys,
        };
        // The message first (Kratos' `msg`), then the other fields in their order.
        event.record(&mut MessageOnly(&mut visitor));
        event.record(&mut visitor);
        if self.format == Format::Json {
            line.push('}');
        }
        line.push('\n');
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for LogLayer {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        LINE.with(|line| {
            // A line being formatted on this thread already (an event emitted while
            // formatting, by a Debug impl): format this one in a buffer of its own.
            let mut own = String::new();
            let mut borrowed = line.try_borrow_mut();
            let line = match borrowed.as_deref_mut() {
                Ok(line) => line,
                Err(_) => &mut own,
            };
            line.clear();
            self.render(event, line);
            // A log line that cannot be written is dropped: logging must not fail the call.
            let _ = (self.writer)().write_all(line.as_bytes());
            if line.capacity() > 64 * 1024 {
                *line = String::new();
            }
        });
    }
}

/// `bytes` as lower-case hex (an OpenTelemetry id as W3C writes it), in `buf`.
fn hex<'b>(bytes: &[u8], buf: &'b mut [u8; 32]) -> &'b str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = bytes.len().min(16) * 2;
    for (i, b) in bytes.iter().take(16).enumerate() {
        buf[2 * i] = DIGITS[usize::from(b >> 4)];
        buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    std::str::from_utf8(&buf[..n]).unwrap_or_default()
}

/// The length of a [`timestamp`]: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
const TIMESTAMP_LEN: usize = crate::rfc3339::DATE_TIME_LEN + 8;

/// `time` in UTC as RFC 3339 with microseconds (`2026-12-02T08:38:43.123456Z`), written into
/// `buf` without allocating: every log line has one. A time before 1970 (a clock far off) is
/// written as 1970's start.
fn timestamp(time: std::time::SystemTime, buf: &mut [u8; TIMESTAMP_LEN]) -> &str {
    use crate::rfc3339::{DATE_TIME_LEN, MAX_SECONDS, date_time, put_digits};
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (seconds, micros) = match i64::try_from(since.as_secs()) {
        Ok(s) if s <= MAX_SECONDS => (s, since.subsec_micros()),
        _ => (MAX_SECONDS, 999_999),
    };
    if let Ok(head) = <&mut [u8; DATE_TIME_LEN]>::try_from(&mut buf[..DATE_TIME_LEN]) {
        date_time(seconds, head);
    }
    buf[DATE_TIME_LEN] = b'.';
    put_digits(
        &mut buf[DATE_TIME_LEN + 1..DATE_TIME_LEN + 7],
        u64::from(micros),
    );
    buf[DATE_TIME_LEN + 7] = b'Z';
    std::str::from_utf8(buf).unwrap_or_default()
}

/// Writes each field as `key=value` (text) or `,"key":value` (JSON), the message under `msg`.
struct Fields<'a> {
    line: &'a mut String,
    format: Format,
    filter_keys: &'a [String],
}

impl Fields<'_> {
    fn key(&self, field: &Field) -> &'static str {
        match field.name() {
            "message" => "msg",
            name => name,
        }
    }

    fn redacted(&self, field: &Field) -> bool {
        !self.filter_keys.is_empty() && self.filter_keys.iter().any(|k| k == field.name())
    }

    fn str(&mut self, field: &Field, value: &str) {
        let key = self.key(field);
        if self.redacted(field) {
            push_str_field(self.line, self.format, key, "***");
        } else {
            push_str_field(self.line, self.format, key, value);
        }
    }

    /// A value written bare (numbers, booleans).
    fn bare(&mut self, field: &Field, value: impl fmt::Display) {
        if self.redacted(field) {
            return self.str(field, "");
        }
        let key = self.key(field);
        push_key(self.line, self.format, key);
        let _ = write!(self.line, "{value}");
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() != "message" {
            self.str(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            return;
        }
        if self.redacted(field) {
            return self.str(field, "");
        }
        let text = format!("{value:?}");
        self.str(field, &text);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = value.to_string();
        self.str(field, &text);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.bare(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.bare(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.bare(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.bare(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.bare(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.bare(field, value);
        } else {
            // JSON has no NaN or infinities.
            let text = value.to_string();
            self.str(field, &text);
        }
    }
}

/// Writes only the `message` field.
struct MessageOnly<'a, 'b>(&'a mut Fields<'b>);

impl Visit for MessageOnly<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            push_str_field(self.0.line, self.0.format, "msg", value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let text = format!("{value:?}");
            push_str_field(self.0.line, self.0.format, "msg", &text);
        }
    }
}

fn push_key(line: &mut String, format: Format, key: &str) {
    match format {
        Format::Text => {
            line.push(' ');
            line.push_str(key);
            line.push('=');
        }
        Format::Json => push_json_key(line, key, false),
    }
}

/// Appends one string-valued field.
fn push_str_field(line: &mut String, format: Format, key: &str, value: &str) {
    push_key(line, format, key);
    match format {
        Format::Text => push_text_value(line, value),
        Format::Json => push_json_str(line, value),
    }
}

/// A text value: bare when it is one word, else quoted with Rust's string escapes (so a line
/// is always one record, whatever the value holds).
fn push_text_value(line: &mut String, value: &str) {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
    if plain {
        line.push_str(value);
    } else {
        let _ = write!(line, "{value:?}");
    }
}

fn push_json_key(line: &mut String, key: &str, first: bool) {
    if !first {
        line.push(',');
    }
    push_json_str(line, key);
    line.push(':');
}

/// A JSON string with the escapes JSON requires. Only ASCII bytes are escaped (quote,
/// backslash, control characters), so the runs between them are copied whole: every cut is on
/// a character boundary.
fn push_json_str(line: &mut String, value: &str) {
    line.reserve(value.len() + 2);
    line.push('"');
    let bytes = value.as_bytes();
    // Most values need no escape: one pass over the bytes decides, without an early exit so
    // that it runs on whole vectors of bytes.
    if !bytes
        .iter()
        .fold(false, |any, &b| any | (ESCAPE[usize::from(b)] != 0))
    {
        line.push_str(value);
        line.push('"');
        return;
    }
    // Runs of plain bytes are copied whole; an escaped byte is ASCII, so every cut is on a
    // character boundary.
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        line.push_str(&value[run..i]);
        line.push('\\');
        if escape == b'u' {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            line.push_str("u00");
            line.push(char::from(DIGITS[usize::from(b >> 4)]));
            line.push(char::from(DIGITS[usize::from(b & 0xf)]));
        } else {
            line.push(char::from(escape));
        }
        run = i + 1;
    }
    line.push_str(&value[run..]);
    line.push('"');
}

/// For each byte, 0 when JSON writes it as it is, else the letter of its escape after the
/// backslash (`u` for `\u00XX`): quotes, backslashes and control characters.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{TIMESTAMP_LEN, hex, push_json_str, timestamp};

    /// Ids are written as W3C writes them: lower-case hex, two digits a byte, leading zeros kept.
    /// The timestamp is chrono's RFC 3339 form with microseconds, for dates across leap
    /// years, century rules, month ends and the ends of the range.
    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        use std::time::{Duration, UNIX_EPOCH};
        let mut secs: Vec<u64> = vec![
            0,
            59,
            86_399,
            86_400,
            951_782_400,   // 2000-02-29 (a leap century)
            4_107_542_400, // 2100-03-01 (a century that is not a leap year)
            1_709_164_800, // 2024-02-29
            1_735_689_599, // 2024-12-31T23:59:59
            253_402_300_799,
        ];
        // And a day every 97 days, at varying times, from 1970 to 2200.
        secs.extend((0..900u64).map(|i| i * 97 * 86_400 + i * 3_607 % 86_400));
        for s in secs {
            for micros in [0u32, 1, 999_999, 123_456] {
                let t = UNIX_EPOCH + Duration::new(s, micros * 1000 + 999);
                let want = chrono::DateTime::<chrono::Utc>::from(t)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                let mut buf = [0u8; TIMESTAMP_LEN];
                assert_eq!(timestamp(t, &mut buf), want, "{s} s {micros} µs");
            }
        }
        // Before 1970 and after 9999: the ends of the range.
        let mut buf = [0u8; TIMESTAMP_LEN];
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(timestamp(before, &mut buf), "1970-01-01T00:00:00.000000Z");
        let after = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(timestamp(after, &mut buf), "9999-12-31T23:59:59.999999Z");
    }

    #[test]
    fn ids_are_lower_case_hex() {
        let mut buf = [0u8; 32];
        assert_eq!(hex(&[0x00, 0x0a, 0xff, 0x10], &mut buf), "000aff10");
        let trace: [u8; 16] = std::array::from_fn(|i| (i * 17) as u8);
        let expected: String = trace.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&trace, &mut buf), expected);
        #[cfg(feature = "otel")]
        {
            let id = opentelemetry::trace::TraceId::from_bytes(trace);
            assert_eq!(hex(&trace, &mut buf), id.to_string());
            let span = opentelemetry::trace::SpanId::from_bytes([1, 2, 3, 4, 5, 6, 7, 0xfe]);
            assert_eq!(hex(&span.to_bytes(), &mut buf), span.to_string());
        }
    }

    /// Every string comes out as a JSON string literal that reads back as itself: control
    /// characters, quotes and backslashes escaped wherever they are, everything else (multi-byte
    /// characters included) copied as it is.
    #[test]
    fn json_strings_read_back_as_themselves() {
        let mut cases: Vec<String> = [
            "",
            "plain",
            "\"",
            "\\",
            "a\"b\\c",
            "line\nbreak\r\ttab",
            "ends with quote\"",
            "\u{7f} and é, 中文, 🦀",
            "🦀\n🦀\"",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Each control character alone, and between multi-byte characters.
        for b in 0u8..0x20 {
            let c = char::from(b);
            cases.push(c.to_string());
            cases.push(format!("é{c}🦀{c}"));
        }
        for case in cases {
            let mut line = String::from("x");
            push_json_str(&mut line, &case);
            let literal = &line[1..];
            let back: String = serde_json::from_str(literal).unwrap();
            assert_eq!(back, case, "{literal}");
            assert!(
                !literal.chars().any(|c| (c as u32) < 0x20),
                "raw control character in {literal:?}"
            );
        }
    }
}
