//! Commands: the table, argument helpers, and one file per family. Handlers never touch
//! RocksDB: writes get an `ApplyCtx`, reads a `View` (a `ReadCtx`, or the `ApplyCtx` inside
//! MULTI), connection commands a `ConnCtx`.

pub mod args;
pub mod cluster;
pub mod coll;
pub mod command;
pub mod glob;
pub mod hash;
pub mod keys;
pub mod list;
pub mod server;
pub mod set;
pub mod string;
pub mod table;
pub mod zset;

use bytes::Bytes;

use crate::node::Node;

/// Per-connection state.
pub struct Session {
    pub id: u64,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// RESP protocol version chosen with HELLO (2 until then).
    pub proto: u8,
    pub authenticated: bool,
    /// Close the connection once the pending replies are written (QUIT).
    pub close: bool,
    pub last_cmd: &'static str,
    /// READONLY: this connection may read from replicas (cluster mode).
    pub readonly: bool,
    /// ASKING: the next command may touch a slot being imported (cluster mode).
    pub asking: bool,
    /// Inside MULTI: the queued commands.
    pub multi: Option<crate::net::txn::Multi>,
    /// WATCHed keys and the modification stamps they had.
    pub watched: Vec<crate::net::txn::Watched>,
}

impl Session {
    pub fn new(id: u64, auth_required: bool) -> Session {
        Session {
            id,
            name: None,
            lib_name: None,
            lib_ver: None,
            proto: 2,
            authenticated: !auth_required,
            close: false,
            last_cmd: "NULL",
            readonly: false,
            asking: false,
            multi: None,
            watched: Vec::new(),
        }
    }
}

/// What connection and server commands see.
pub struct ConnCtx<'a> {
    pub session: &'a mut Session,
    pub node: &'a Node,
}
