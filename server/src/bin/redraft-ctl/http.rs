//! A tiny blocking HTTP/1.1 client: one request per connection (`Connection: close`), the
//! answer read until its Content-Length is complete or, without one, until EOF.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest answer accepted; the admin API's are a few KiB.
const MAX_RESPONSE: usize = 64 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends one request to `addr` (HOST:PORT) and reads the answer. `timeout` bounds the connect
/// (at most 5 s) and each read and write. Errors are messages about the transport or a
/// malformed answer; any HTTP status is an `Ok`.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Response, String> {
    let addrs = addr.to_socket_addrs().map_err(|e| format!("cannot resolve {addr}: {e}"))?;
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout.min(CONNECT_TIMEOUT)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(format!("cannot connect to {addr}: {e}")),
        (None, None) => return Err(format!("cannot resolve {addr}: no addresses")),
    };
    let io = |e: std::io::Error| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => format!("no answer from {addr} within {timeout:?}"),
        _ => format!("talking to {addr}: {e}"),
    };
    stream.set_read_timeout(Some(timeout)).and_then(|_| stream.set_write_timeout(Some(timeout))).map_err(io)?;

    let body = body.unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: redraft-ctl\r\n");
    req.push_str("Accept: application/json\r\nConnection: close\r\n");
    if let Some(secret) = bearer {
        req.push_str(&format!("Authorization: Bearer {secret}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).map_err(io)?;

    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        // Stop at a complete Content-Length body even if the server keeps the connection open.
        if let Some((head, start)) = parse_head(&buf)? {
            if let Some(len) = body_len(&head)? {
                if buf.len() >= start + len {
                    break;
                }
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        }
        if buf.len() > MAX_RESPONSE {
            return Err(format!("answer from {addr} is larger than {MAX_RESPONSE} bytes"));
        }
    }
    if buf.is_empty() {
        return Err(format!("{addr} closed the connection without answering"));
    }
    parse_response(&buf).map_err(|e| format!("bad answer from {addr}: {e}"))
}

/// Parses a whole response: status line, headers, then a Content-Length body or the rest.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let Some((mut resp, start)) = parse_head(raw)? else { return Err("incomplete response head".into()) };
    let rest = &raw[start..];
    resp.body = match body_len(&resp)? {
        Some(len) if rest.len() < len => return Err(format!("body is {} of {len} bytes", rest.len())),
        Some(len) => rest[..len].to_vec(),
        None => rest.to_vec(),
    };
    Ok(resp)
}

/// The status line and headers once the blank line after them has arrived, with the offset
/// of the body; `None` while incomplete. Bare `\n` line ends are accepted.
fn parse_head(raw: &[u8]) -> Result<Option<(Response, usize)>, String> {
    let mut pos = 0;
    let end = loop {
        let Some(i) = raw[pos..].iter().position(|&b| b == b'\n') else { return Ok(None) };
        let line = &raw[pos..pos + i];
        if pos > 0 && (line.is_empty() || line == b"\r") {
            break pos;
        }
        pos += i + 1;
    };
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "response head is not UTF-8")?;
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let (version, rest) = status_line.split_once(' ').ok_or("malformed status line")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if !version.starts_with("HTTP/1.") || code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("malformed status line '{}'", status_line.escape_debug()));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line '{}'", line.escape_debug()));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(format!("malformed header name '{}'", name.escape_debug()));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let status = code.parse().map_err(|_| "malformed status code")?;
    let start = end + if raw[end] == b'\r' { 2 } else { 1 };
    Ok(Some((Response { status, reason: reason.trim().to_string(), headers, body: Vec::new() }, start)))
}

/// The body length the head announces; `None` means read to EOF.
fn body_len(resp: &Response) -> Result<Option<usize>, String> {
    if resp.status / 100 == 1 || resp.status == 204 || resp.status == 304 {
        return Ok(Some(0));
    }
    if resp.header("transfer-encoding").is_some_and(|v| !v.eq_ignore_ascii_case("identity")) {
        return Err("chunked transfer encoding is not supported".into());
    }
    let mut len = None;
    for (_, v) in resp.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        let n = match v.bytes().all(|b| b.is_ascii_digit()) {
            true => v.parse::<usize>().ok(),
            false => None,
        };
        let n = n.ok_or_else(|| format!("malformed Content-Length '{v}'"))?;
        if len.is_some_and(|l| l != n) {
            return Err("conflicting Content-Length headers".into());
        }
        len = Some(n);
    }
    match len {
        Some(n) if n > MAX_RESPONSE => Err(format!("Content-Length {n} is too large")),
        _ => Ok(len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;

    #[test]
    fn status_line_and_case_insensitive_headers() {
        let raw = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\nCONTENT-LENGTH: 9\r\n\r\n{\"op\": 5}";
        let r = parse_response(raw).unwrap();
        assert_eq!((r.status, r.reason.as_str()), (202, "Accepted"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("content-length"), Some("9"));
        assert_eq!(r.header("x-missing"), None);
        assert_eq!(r.body, b"{\"op\": 5}");
    }

    #[test]
    fn content_length_body_ignores_trailing_bytes() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage").unwrap();
        assert_eq!(r.body, b"{}");
        // A status without a reason phrase, bare LF line ends.
        let r = parse_response(b"HTTP/1.0 404\nContent-Length: 0\n\n").unwrap();
        assert_eq!((r.status, r.reason.as_str(), r.body.len()), (404, "", 0));
    }

    #[test]
    fn body_to_eof_without_content_length() {
        let r = parse_response(b"HTTP/1.1 409 Conflict\r\nX-A: b\r\n\r\n{\"error\": \"busy\"}\n").unwrap();
        assert_eq!(r.status, 409);
        assert_eq!(r.body, b"{\"error\": \"busy\"}\n");
        let r = parse_response(b"HTTP/1.1 204 No Content\r\n\r\nignored").unwrap();
        assert!(r.body.is_empty());
    }

    #[test]
    fn malformed_responses_are_errors() {
        let bad: &[&[u8]] = &[
            b"",
            b"\r\n\r\n",
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/2 200 OK\r\n\r\n",
            b"SMTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            b"HTTP/1.1 200 \xff\r\n\r\n",
        ];
        for raw in bad {
            assert!(parse_response(raw).is_err(), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    /// Serves one canned answer on a local port and hands back the request it received.
    fn serve_once(answer: &'static [u8], close: bool) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            // Head, then the Content-Length body this client always sends.
            while !String::from_utf8_lossy(&req).split_once("\r\n\r\n").is_some_and(|(h, body)| {
                let len = h.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().parse::<usize>();
                body.len() >= len.unwrap()
            }) {
                let n = s.read(&mut b).unwrap();
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(answer).unwrap();
            let _ = tx.send(String::from_utf8(req).unwrap());
            if !close {
                // Keep the connection open: the client must stop at Content-Length anyway.
                thread::sleep(Duration::from_secs(5));
            }
        });
        (addr, rx)
    }

    #[test]
    fn round_trip_over_tcp() {
        let (addr, rx) = serve_once(b"HTTP/1.1 202 Accepted\r\nContent-Length: 8\r\n\r\n{\"op\":5}", false);
        let started = std::time::Instant::now();
        let body = br#"{"at_slot":100}"#;
        let r = request(&addr, "POST", "/admin/regions/1/split", Some("s3"), Some(body), Duration::from_secs(3));
        let r = r.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "waited for EOF");
        assert_eq!((r.status, r.body.as_slice()), (202, &b"{\"op\":5}"[..]));
        let req = rx.recv().unwrap();
        assert!(req.starts_with("POST /admin/regions/1/split HTTP/1.1\r\n"), "{req}");
        for line in ["Connection: close", "Authorization: Bearer s3", "Content-Length: 15", &format!("Host: {addr}")] {
            assert!(req.contains(&format!("\r\n{line}\r\n")), "{line} in {req}");
        }
        assert!(req.ends_with("\r\n\r\n{\"at_slot\":100}"), "{req}");

        // No Content-Length: the body runs to EOF.
        let (addr, rx) = serve_once(b"HTTP/1.1 404 Not Found\r\n\r\n{\"error\":\"no op 9\"}", true);
        let r = request(&addr, "GET", "/admin/ops/9", None, None, Duration::from_secs(3)).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &br#"{"error":"no op 9"}"#[..]));
        let req = rx.recv().unwrap();
        assert!(req.contains("\r\nContent-Length: 0\r\n") && !req.contains("Authorization"), "{req}");
    }

    #[test]
    fn transport_failures_are_errors() {
        // A port nothing listens on (bound, then closed).
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        let e = request(&addr, "GET", "/admin/ops", None, None, Duration::from_secs(1)).unwrap_err();
        assert!(e.starts_with(&format!("cannot connect to {addr}")), "{e}");
        let (addr, _rx) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", true);
        let e = request(&addr, "GET", "/admin/ops", None, None, Duration::from_secs(1)).unwrap_err();
        assert!(e.starts_with(&format!("bad answer from {addr}")), "{e}");
    }
}
