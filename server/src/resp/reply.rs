//! Replies and their RESP2 / RESP3 encodings.
//!
//! Handlers build a `Reply` once; the connection encodes it in the protocol it negotiated
//! (HELLO 2|3). RESP3-only types degrade the way Redis degrades them for RESP2 clients.

use bytes::{BufMut, Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+text` (status).
    Status(&'static str),
    /// `-text`; the text includes the error code (`ERR ...`, `WRONGTYPE ...`).
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// Null bulk (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// Null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    Array(Vec<Reply>),
    /// A map in RESP3, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set in RESP3, an array in RESP2.
    Set(Vec<Reply>),
    /// Pairs (ZRANGE WITHSCORES, HRANDFIELD WITHVALUES): an array of 2-element arrays in RESP3,
    /// one flat array in RESP2.
    Pairs(Vec<(Reply, Reply)>),
    /// A double in RESP3, a bulk string in RESP2.
    Double(f64),
    /// A boolean in RESP3, the integer 1 or 0 in RESP2. No command of the 98 replies one in
    /// Redis 7.0 (its encoding is tested below for the commands that will).
    #[allow(dead_code)]
    Bool(bool),
    /// A verbatim string (`=len\r\ntxt:...`) in RESP3, a bulk string in RESP2.
    Verbatim(Bytes),
}

impl Reply {
    pub const OK: Reply = Reply::Status("OK");

    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn opt_bulk(b: Option<Bytes>) -> Reply {
        b.map(Reply::Bulk).unwrap_or(Reply::Nil)
    }

    /// Roughly the bytes this reply takes on the wire (for the output buffer limit).
    pub fn approx_len(&self) -> usize {
        match self {
            Reply::Bulk(b) | Reply::Verbatim(b) => b.len() + 16,
            Reply::Error(e) => e.len() + 3,
            Reply::Array(v) | Reply::Set(v) => 8 + v.iter().map(Reply::approx_len).sum::<usize>(),
            Reply::Map(v) | Reply::Pairs(v) => {
                8 + v.iter().map(|(k, x)| k.approx_len() + x.approx_len()).sum::<usize>()
            }
            _ => 16,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Appends the encoding of `self` for protocol version `proto` (2 or 3).
    pub fn encode(&self, proto: u8, out: &mut BytesMut) {
        match self {
            Reply::Status(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(e) => line(out, b'-', sanitize(e).as_bytes()),
            Reply::Int(i) => {
                out.put_u8(b':');
                put_int(out, *i);
                out.put_slice(b"\r\n");
            }
            Reply::Bulk(b) => bulk(out, b),
            Reply::Nil => out.put_slice(if proto >= 3 { b"_\r\n" } else { b"$-1\r\n" }),
            Reply::NilArray => out.put_slice(if proto >= 3 { b"_\r\n" } else { b"*-1\r\n" }),
            Reply::Array(items) => {
                header(out, b'*', items.len());
                for r in items {
                    r.encode(proto, out);
                }
            }
            Reply::Set(items) => {
                header(out, if proto >= 3 { b'~' } else { b'*' }, items.len());
                for r in items {
                    r.encode(proto, out);
                }
            }
            Reply::Map(pairs) => {
                if proto >= 3 {
                    header(out, b'%', pairs.len());
                } else {
                    header(out, b'*', pairs.len() * 2);
                }
                for (k, v) in pairs {
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
            Reply::Pairs(pairs) => {
                header(out, b'*', if proto >= 3 { pairs.len() } else { pairs.len() * 2 });
                for (k, v) in pairs {
                    if proto >= 3 {
                        header(out, b'*', 2);
                    }
                    k.encode(proto, out);
                    v.encode(proto, out);
                }
            }
            Reply::Double(d) => {
                let s = format_double(*d);
                if proto >= 3 {
                    line(out, b',', s.as_bytes());
                } else {
                    bulk(out, s.as_bytes());
                }
            }
            Reply::Bool(b) => {
                if proto >= 3 {
                    out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
                } else {
                    out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" });
                }
            }
            Reply::Verbatim(b) => {
                if proto >= 3 {
                    header(out, b'=', b.len() + 4);
                    out.put_slice(b"txt:");
                    out.put_slice(b);
                    out.put_slice(b"\r\n");
                } else {
                    bulk(out, b);
                }
            }
        }
    }
}

/// Error and status lines must not contain CR or LF (Redis replaces them with spaces).
fn sanitize(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\r', '\n']) {
        s.replace(['\r', '\n'], " ").into()
    } else {
        s.into()
    }
}

fn line(out: &mut BytesMut, prefix: u8, s: &[u8]) {
    out.reserve(s.len() + 3);
    out.put_u8(prefix);
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

fn header(out: &mut BytesMut, prefix: u8, n: usize) {
    out.put_u8(prefix);
    put_int(out, n as i64);
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut BytesMut, b: &[u8]) {
    out.reserve(b.len() + 16);
    header(out, b'$', b.len());
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

fn put_int(out: &mut BytesMut, i: i64) {
    let mut buf = itoa::Buffer::new();
    out.put_slice(buf.format(i).as_bytes());
}

extern "C" {
    fn redraft_fmt_double(d: f64, out: *mut u8, outcap: usize) -> i32;
}

/// A double the way Redis 7.0.15 replies it: `inf` / `-inf`, else C's `%.17g`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        let mut buf = [0u8; 64];
        // SAFETY: the buffer outlives the call and its size is passed; snprintf NUL-terminates.
        let n = unsafe { redraft_fmt_double(d, buf.as_mut_ptr(), buf.len()) };
        String::from_utf8_lossy(&buf[..(n.max(0) as usize).min(buf.len() - 1)]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Reply, proto: u8) -> String {
        let mut b = BytesMut::new();
        r.encode(proto, &mut b);
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn resp2_and_resp3_encodings() {
        assert_eq!(enc(&Reply::OK, 2), "+OK\r\n");
        assert_eq!(enc(&Reply::Nil, 2), "$-1\r\n");
        assert_eq!(enc(&Reply::Nil, 3), "_\r\n");
        assert_eq!(enc(&Reply::NilArray, 2), "*-1\r\n");
        assert_eq!(enc(&Reply::Int(-5), 3), ":-5\r\n");
        assert_eq!(enc(&Reply::bulk("ab"), 2), "$2\r\nab\r\n");
        let m = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        assert_eq!(enc(&m, 2), "*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&m, 3), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&Reply::Double(1.5), 3), ",1.5\r\n");
        let pairs = Reply::Pairs(vec![(Reply::Int(1), Reply::Int(2))]);
        assert_eq!(enc(&pairs, 3), "*1\r\n*2\r\n:1\r\n:2\r\n");
        assert_eq!(enc(&pairs, 2), "*2\r\n:1\r\n:2\r\n");
        assert_eq!(enc(&Reply::Double(1.5), 2), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Bool(true), 2), ":1\r\n");
        assert_eq!(enc(&Reply::Verbatim(Bytes::from_static(b"x")), 3), "=5\r\ntxt:x\r\n");
        assert_eq!(enc(&Reply::Error("ERR a\r\nb".into()), 2), "-ERR a  b\r\n");
    }

    #[test]
    fn doubles_like_redis() {
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e300), "1.0000000000000001e+300");
        assert_eq!(format_double(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(format_double(3.0e-5), "3.0000000000000001e-05");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(-2.5), "-2.5");
    }
}
