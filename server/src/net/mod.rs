//! The RESP listeners (plain and TLS) and client connections.
pub mod connection;
pub mod listener;
pub mod tls;
pub mod txn;
