//! RESP encoding of commands and parsing of replies (RESP2, plus the RESP3 types a server may
//! still send, mapped onto their RESP2 shapes).

use std::io::{self, BufRead};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Int(i64),
    /// Bulk and simple strings (redis-py returns both as bytes / str).
    Data(Vec<u8>),
    /// An error reply, without the leading '-'.
    Error(Vec<u8>),
    Array(Vec<Value>),
    /// RESP3 double, kept as its text.
    Double(Vec<u8>),
}

/// Largest bulk string or aggregate accepted from a server (sanity bound).
const MAX_LEN: i64 = 512 << 20;

pub fn encode_into(buf: &mut Vec<u8>, args: &[Vec<u8>]) {
    buf.push(b'*');
    push_num(buf, args.len() as i64);
    for a in args {
        buf.push(b'$');
        push_num(buf, a.len() as i64);
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

fn push_num(buf: &mut Vec<u8>, n: i64) {
    let mut tmp = itoa_buf(n);
    buf.append(&mut tmp);
    buf.extend_from_slice(b"\r\n");
}

fn itoa_buf(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("protocol error: {msg}"))
}

fn read_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    let n = r.read_until(b'\n', line)?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed by server"));
    }
    if line.len() < 2 || line[line.len() - 2] != b'\r' {
        return Err(bad("line without CRLF"));
    }
    line.truncate(line.len() - 2);
    Ok(())
}

fn parse_int(s: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(s).ok().and_then(|t| t.parse::<i64>().ok()).ok_or_else(|| bad("bad integer"))
}

/// Reads one complete reply.
pub fn read_value<R: BufRead>(r: &mut R) -> io::Result<Value> {
    let mut line = Vec::with_capacity(64);
    read_value_with(r, &mut line)
}

fn read_value_with<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> io::Result<Value> {
    read_line(r, line)?;
    if line.is_empty() {
        return Err(bad("empty line"));
    }
    let t = line[0];
    let body = &line[1..];
    match t {
        b'+' => Ok(Value::Data(body.to_vec())),
        b'-' => Ok(Value::Error(body.to_vec())),
        b':' => Ok(Value::Int(parse_int(body)?)),
        b'_' => Ok(Value::Nil),
        b',' => Ok(Value::Double(body.to_vec())),
        b'#' => Ok(Value::Int(i64::from(body == b"t"))),
        b'(' => Ok(Value::Data(body.to_vec())),
        b'$' | b'=' | b'!' => {
            let n = parse_int(body)?;
            if n < 0 {
                return Ok(Value::Nil);
            }
            if n > MAX_LEN {
                return Err(bad("bulk too long"));
            }
            let mut data = vec![0u8; n as usize + 2];
            r.read_exact(&mut data)?;
            if &data[n as usize..] != b"\r\n" {
                return Err(bad("bulk without CRLF"));
            }
            data.truncate(n as usize);
            if t == b'!' {
                Ok(Value::Error(data))
            } else {
                Ok(Value::Data(data))
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = parse_int(body)?;
            if n < 0 {
                return Ok(Value::Nil);
            }
            if n > MAX_LEN {
                return Err(bad("aggregate too long"));
            }
            let count = if t == b'%' { n * 2 } else { n } as usize;
            let mut items = Vec::with_capacity(count.min(4096));
            for _ in 0..count {
                items.push(read_value_with(r, line)?);
            }
            Ok(Value::Array(items))
        }
        _ => Err(bad("unknown reply type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_replies() {
        let raw = b"*3\r\n$3\r\nfoo\r\n:-5\r\n*2\r\n$-1\r\n-ERR x\r\n+OK\r\n";
        let mut r = &raw[..];
        assert_eq!(
            read_value(&mut r).unwrap(),
            Value::Array(vec![
                Value::Data(b"foo".to_vec()),
                Value::Int(-5),
                Value::Array(vec![Value::Nil, Value::Error(b"ERR x".to_vec())]),
            ])
        );
        assert_eq!(read_value(&mut r).unwrap(), Value::Data(b"OK".to_vec()));
        assert!(read_value(&mut r).is_err());
    }

    #[test]
    fn encodes_multibulk() {
        let mut b = Vec::new();
        encode_into(&mut b, &[b"GET".to_vec(), b"".to_vec()]);
        assert_eq!(b, b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
    }
}
