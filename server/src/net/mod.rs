//! The RESP listener and client connections.
pub mod connection;
pub mod listener;
pub mod txn;
