//! Command errors and their one mapping to RESP error replies.
//!
//! Every error a client can see is a variant here; `to_reply` is the only place that turns an
//! error into wire text, so the strings clients match on live together.

use crate::resp::Reply;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CmdError {
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand { cmd: String, sub: String },
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR syntax error")]
    Syntax,
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR decrement would overflow")]
    DecrementOverflow,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(String),
    #[error("ERR offset is out of range")]
    OffsetOutOfRange,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("ERR NX and XX, GT or LT options at the same time are not compatible")]
    ExpireNxConflict,
    #[error("ERR GT and LT options at the same time are not compatible")]
    ExpireGtLt,
    #[error("ERR Unsupported option {0}")]
    UnsupportedOption(String),
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    )]
    AuthNotConfigured,
    #[error("NOPROTO unsupported protocol version")]
    NoProto,
    #[error("ERR Protocol version is not an integer or out of range")]
    ProtoNotInteger,
    #[error("ERR Client names cannot contain spaces, newlines or special characters.")]
    BadClientName,
    #[error("ERR Invalid command specified")]
    InvalidCommandSpecified,
    #[error("ERR The command has no key arguments")]
    NoKeyArguments,
    #[error("ERR MULTI calls can not be nested")]
    MultiNested,
    #[error("ERR EXEC without MULTI")]
    ExecWithoutMulti,
    #[error("ERR DISCARD without MULTI")]
    DiscardWithoutMulti,
    #[error("ERR WATCH inside MULTI is not allowed")]
    WatchInMulti,
    #[error("EXECABORT Transaction discarded because of previous errors.")]
    ExecAbort,
    #[error("CROSSSLOT Keys in request don't hash to the same slot")]
    CrossSlot,
    #[error("TRYAGAIN {0}")]
    TryAgain(String),
    /// The slot's region is led by another node: `(slot, "host:port")` of its RESP address.
    #[error("MOVED {0} {1}")]
    Moved(u16, String),
    /// No leader is known for the slot's region right now (an election is running).
    #[error("CLUSTERDOWN The cluster is down")]
    ClusterDown,
    /// A write was proposed but its outcome is unknown (leadership lost or the node stopped after
    /// the proposal). Never mapped to MOVED/TRYAGAIN: a client retry could apply it twice.
    #[error("UNCERTAIN the write was proposed but its outcome is unknown: {0}")]
    Uncertain(String),
    /// The data dir's file system is below `reserve-disk-space`: `(free, reserve)` bytes. The
    /// write was not proposed (Redis answers MISCONF when it cannot persist).
    #[error("MISCONF Disk space is low in the data dir ({0} bytes free, reserve-disk-space is {1}): writes are refused until space is freed")]
    DiskFull(u64, u64),
    /// The storage layer failed; the write was not applied.
    #[error("ERR storage error: {0}")]
    Storage(String),
    /// Any other error whose text is given in full (with its code).
    #[error("{0}")]
    Other(String),
}

impl CmdError {
    pub fn to_reply(&self) -> Reply {
        Reply::Error(self.to_string())
    }

    pub fn unknown_command(name: &[u8], args: &[bytes::Bytes]) -> CmdError {
        // Redis: `'arg' ` per argument while the list is under 128 bytes, each cut to what is left.
        let mut s = String::new();
        for a in args {
            if s.len() >= 128 {
                break;
            }
            let room = 128 - s.len();
            let a = &a[..a.len().min(room)];
            s.push('\'');
            s.push_str(&String::from_utf8_lossy(a));
            s.push_str("' ");
        }
        CmdError::UnknownCommand { name: String::from_utf8_lossy(name).into_owned(), args: s }
    }
}

impl From<crate::store::StoreError> for CmdError {
    fn from(e: crate::store::StoreError) -> Self {
        CmdError::Storage(e.to_string())
    }
}

pub type CmdResult<T = Reply> = Result<T, CmdError>;
