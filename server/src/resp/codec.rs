//! RESP request parser: multibulk and inline requests, with Redis's limits and error texts.
//!
//! Check-then-parse: `parse` never consumes a partial frame; it returns `Ok(None)` when more bytes
//! are needed. Nothing is allocated from a length header: the argv vector grows with the
//! arguments actually received, and a bulk is only sliced once all its bytes are in the buffer.

use bytes::{Bytes, BytesMut};

/// Longest inline request, and longest `*N`/`$N` header line, Redis accepts (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Default `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK: usize = 512 * 1024 * 1024;
/// Redis's multibulk count limit (INT_MAX; checked after parsing).
const MAX_MULTIBULK: i64 = i32::MAX as i64;
/// An argv vector never reserves more than this up front, whatever the header says.
const ARGV_PREALLOC: usize = 16;

/// A protocol violation: the error is sent and the connection closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("invalid multibulk length")]
    MultibulkLength,
    #[error("invalid bulk length")]
    BulkLength,
    #[error("expected '$', got '{0}'")]
    ExpectedDollar(char),
    #[error("too big inline request")]
    InlineTooBig,
    #[error("too big mbulk count string")]
    MbulkCountTooBig,
    #[error("too big bulk count string")]
    BulkCountTooBig,
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("unauthenticated multibulk length")]
    UnauthMultibulk,
    #[error("unauthenticated bulk length")]
    UnauthBulk,
}

impl ProtocolError {
    /// The full RESP error line Redis sends before closing.
    pub fn reply_text(&self) -> String {
        format!("ERR Protocol error: {self}")
    }
}

/// Per-connection parser limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bulk: usize,
    /// Longest inline request and `*N`/`$N` header line (INLINE_MAX; the fuzz target lowers it).
    pub inline_max: usize,
    /// Before AUTH (when a password is set): at most 10 arguments, bulks of at most 16 KB.
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk: DEFAULT_MAX_BULK, inline_max: INLINE_MAX, unauthenticated: false }
    }
}

/// Incremental request parser of one connection. A multibulk request that is still arriving
/// keeps its progress here, so a big request costs one pass over its headers, not one per read.
#[derive(Default)]
pub struct Parser {
    pending: Option<Multibulk>,
}

/// A multibulk request whose `*N` header has been read.
struct Multibulk {
    count: usize,
    /// Offset (from the frame start) of the next argument's `$` header.
    pos: usize,
    /// Spans of the arguments received so far; grows with the data, not with the header.
    spans: Vec<(usize, usize)>,
}

impl Parser {
    /// Parses one request from the front of `buf`. On success the request's bytes are split off
    /// `buf`; an empty argv (blank inline line, `*0`) is returned as `Some(vec![])`.
    pub fn parse(&mut self, buf: &mut BytesMut, limits: Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.pending.is_none() {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf, limits.inline_max);
            }
            let eol = match find_crlf(buf, 0, limits.inline_max) {
                Some(Some(eol)) => eol,
                Some(None) => return Ok(None),
                None => return Err(ProtocolError::MbulkCountTooBig),
            };
            let count = parse_i64(&buf[1..eol]).ok_or(ProtocolError::MultibulkLength)?;
            if count > MAX_MULTIBULK {
                return Err(ProtocolError::MultibulkLength);
            }
            if limits.unauthenticated && count > 10 {
                return Err(ProtocolError::UnauthMultibulk);
            }
            if count <= 0 {
                let _ = buf.split_to(eol + 2);
                return Ok(Some(Vec::new()));
            }
            let count = count as usize;
            self.pending = Some(Multibulk { count, pos: eol + 2, spans: Vec::with_capacity(count.min(ARGV_PREALLOC)) });
        }
        let mb = self.pending.as_mut().expect("pending multibulk");
        while mb.spans.len() < mb.count {
            let pos = mb.pos;
            if pos >= buf.len() {
                return Ok(None);
            }
            if buf[pos] != b'$' {
                self.pending = None;
                return Err(ProtocolError::ExpectedDollar(buf[pos] as char));
            }
            let eol = match find_crlf(buf, pos, limits.inline_max) {
                Some(Some(eol)) => eol,
                Some(None) => return Ok(None),
                None => {
                    self.pending = None;
                    return Err(ProtocolError::BulkCountTooBig);
                }
            };
            let len = match parse_i64(&buf[pos + 1..eol]) {
                Some(l) if l >= 0 && l as u64 <= limits.max_bulk as u64 => l as usize,
                _ => {
                    self.pending = None;
                    return Err(ProtocolError::BulkLength);
                }
            };
            if limits.unauthenticated && len > 16384 {
                self.pending = None;
                return Err(ProtocolError::UnauthBulk);
            }
            let start = eol + 2;
            let end = start + len;
            if end + 2 > buf.len() {
                // Wait for the data; the buffer grows with what arrives, never with the header.
                return Ok(None);
            }
            mb.spans.push((start, end));
            mb.pos = end + 2;
        }
        let mb = self.pending.take().expect("pending multibulk");
        let frame = buf.split_to(mb.pos).freeze();
        Ok(Some(mb.spans.into_iter().map(|(s, e)| frame.slice(s..e)).collect()))
    }
}

/// One-shot parse: like `Parser::parse` with no saved progress.
#[cfg(test)]
pub fn parse(buf: &mut BytesMut, limits: Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    Parser::default().parse(buf, limits)
}

/// Finds the end of a header line starting at `from`: `Some(Some(i))` with `i` the index of its
/// '\r' once the "\r\n" is complete, `Some(None)` when more bytes are needed, `None` when the
/// line is `max` bytes or longer. The limit holds whether or not the line end has arrived, so
/// the outcome does not depend on how the bytes were split into reads.
fn find_crlf(buf: &[u8], from: usize, max: usize) -> Option<Option<usize>> {
    let pos = memchr::memchr(b'\r', &buf[from..]).map_or(buf.len(), |rel| from + rel);
    if pos - from >= max {
        None
    } else if pos + 1 < buf.len() {
        Some(Some(pos))
    } else {
        Some(None)
    }
}

/// Redis's string2ll: optional '-', no '+', no spaces, no leading zeros, fits in i64. Used for the
/// `*N`/`$N` headers here and for integer arguments by the commands (`cmd::args`).
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = if b[0] == b'-' { (true, &b[1..]) } else { (false, b) };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

fn parse_inline(buf: &mut BytesMut, inline_max: usize) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    // As for headers, a line longer than the limit is refused even when its end is here.
    let nl = memchr::memchr(b'\n', buf);
    if nl.unwrap_or(buf.len()) > inline_max {
        return Err(ProtocolError::InlineTooBig);
    }
    let Some(nl) = nl else { return Ok(None) };
    let line = buf.split_to(nl + 1);
    let mut end = nl;
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    // Redis splits the line as a C string: a NUL byte ends it.
    if let Some(nul) = memchr::memchr(0, &line[..end]) {
        end = nul;
    }
    split_args(&line[..end]).map(Some).ok_or(ProtocolError::UnbalancedQuotes)
}

/// Redis's sdssplitargs: whitespace-separated words, "double quotes" with C escapes and
/// \xHH, 'single quotes' with \' only. A closing quote must be followed by a space or the end.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' && is_hex(line[i + 2]) && is_hex(line[i + 3]) {
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(Bytes::from(cur));
    }
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut b = BytesMut::from(input);
        parse(&mut b, Limits::default())
    }

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn multibulk_complete_and_consumed() {
        let mut b = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"[..]);
        assert_eq!(parse(&mut b, Limits::default()).unwrap(), Some(argv(&["GET", "k"])));
        assert_eq!(parse(&mut b, Limits::default()).unwrap(), Some(argv(&["PING"])));
        assert!(b.is_empty());
    }

    #[test]
    fn split_input_at_every_byte_is_incomplete_until_the_end() {
        let frame = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
        for cut in 0..frame.len() {
            let mut b = BytesMut::from(&frame[..cut]);
            assert_eq!(parse(&mut b, Limits::default()).unwrap(), None, "cut at {cut}");
            assert_eq!(b.len(), cut, "partial input must not be consumed");
        }
        assert_eq!(p(frame).unwrap(), Some(argv(&["SET", "key", "va\r\nl"])));
    }

    #[test]
    fn huge_multibulk_count_is_rejected_without_allocating() {
        assert_eq!(p(b"*3000000000\r\n"), Err(ProtocolError::MultibulkLength));
        // A big but legal count waits for data; nothing is reserved for it.
        assert_eq!(p(b"*2000000000\r\n$1\r\na\r\n").unwrap(), None);
    }

    #[test]
    fn bad_bulk_lengths() {
        assert_eq!(p(b"*1\r\n$-10\r\n"), Err(ProtocolError::BulkLength));
        assert_eq!(p(b"*1\r\n$abc\r\n"), Err(ProtocolError::BulkLength));
        assert_eq!(p(b"*1\r\n$2000000000\r\n"), Err(ProtocolError::BulkLength));
        assert_eq!(p(b"*x\r\n"), Err(ProtocolError::MultibulkLength));
    }

    #[test]
    fn expected_dollar() {
        let e = p(b"*1\r\nfoo\r\n").unwrap_err();
        assert_eq!(e.reply_text(), "ERR Protocol error: expected '$', got 'f'");
    }

    #[test]
    fn zero_and_negative_counts_are_empty_requests() {
        assert_eq!(p(b"*0\r\n").unwrap(), Some(vec![]));
        assert_eq!(p(b"*-1\r\n").unwrap(), Some(vec![]));
    }

    #[test]
    fn oversized_headers_and_inline() {
        let mut big = vec![b'*'];
        big.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
        assert_eq!(p(&big), Err(ProtocolError::MbulkCountTooBig));
        let mut inline = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(p(&inline), Err(ProtocolError::InlineTooBig));
        inline.truncate(100);
        assert_eq!(p(&inline).unwrap(), None);
    }

    #[test]
    fn long_lines_are_refused_however_the_bytes_arrive() {
        // Found by the resp_parser fuzz target: a header line over the limit whose end came in
        // the same read was parsed (and refused as a bad length) instead of refused as too big.
        let mut line = vec![b'*'];
        line.extend(std::iter::repeat_n(b'1', INLINE_MAX));
        line.extend_from_slice(b"\r\n");
        assert_eq!(p(&line), Err(ProtocolError::MbulkCountTooBig));
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX));
        bulk.extend_from_slice(b"\r\n");
        assert_eq!(p(&bulk), Err(ProtocolError::BulkCountTooBig));
        let mut inline = vec![b'a'; INLINE_MAX + 1];
        inline.push(b'\n');
        assert_eq!(p(&inline), Err(ProtocolError::InlineTooBig));
        inline.drain(..1);
        assert_eq!(p(&inline).unwrap().unwrap().len(), 1, "a line of exactly the limit is accepted");
    }

    #[test]
    fn unauthenticated_limits() {
        let lim = Limits { unauthenticated: true, ..Limits::default() };
        let mut b = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(parse(&mut b, lim), Err(ProtocolError::UnauthMultibulk));
        let mut b = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(parse(&mut b, lim), Err(ProtocolError::UnauthBulk));
    }

    #[test]
    fn nul_bytes_end_an_inline_line() {
        assert_eq!(p(b"PING\x00 x\r\n").unwrap(), Some(argv(&["PING"])));
        assert_eq!(p(b"\x00\n").unwrap(), Some(vec![]));
        assert_eq!(split_args(b"a\x00b").unwrap(), argv(&["a\x00b"]), "inside a word NUL is a byte");
    }

    #[test]
    fn headers_are_strict_integers() {
        assert_eq!(p(b"*1\r\n$04\r\nPING\r\n"), Err(ProtocolError::BulkLength));
        assert_eq!(p(b"*-0\r\n"), Err(ProtocolError::MultibulkLength));
        assert_eq!(p(b"*01\r\n"), Err(ProtocolError::MultibulkLength));
    }

    #[test]
    fn progress_is_kept_between_reads() {
        let frame = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n";
        let mut parser = Parser::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in frame.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(a) = parser.parse(&mut buf, Limits::default()).unwrap() {
                got.push(a);
            }
        }
        assert_eq!(got, vec![argv(&["SET", "k", "value"]), argv(&["PING"])]);
        assert!(buf.is_empty());
    }

    #[test]
    fn inline_requests() {
        assert_eq!(p(b"PING\r\n").unwrap(), Some(argv(&["PING"])));
        assert_eq!(p(b"set k  v\n").unwrap(), Some(argv(&["set", "k", "v"])));
        assert_eq!(p(b"\r\n").unwrap(), Some(vec![]));
        assert_eq!(p(b"set \"a b\" 'c\\'d'\r\n").unwrap(), Some(argv(&["set", "a b", "c'd"])));
        assert_eq!(p(b"set \"\\x41\\n\" x\r\n").unwrap(), Some(argv(&["set", "A\n", "x"])));
        assert_eq!(p(b"set \"k v\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(p(b"set \"k\"v\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(p(b"PING").unwrap(), None);
    }
}
