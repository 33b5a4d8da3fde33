//! The RESP wire protocol: request parsing (`codec`) and reply encoding (`reply`).
pub mod codec;
pub mod reply;

pub use reply::Reply;
