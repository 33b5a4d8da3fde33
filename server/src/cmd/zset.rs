//! STUB: replaced by the family's implementation.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::store::apply::ApplyCtx;
use crate::store::view::View;

fn todo() -> CmdError {
    CmdError::Other("ERR not implemented".into())
}

pub fn zadd(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrem(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zscore(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrank(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrevrank(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zcard(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zcount(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrange(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrangebyscore(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrevrange(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrevrangebyscore(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zincrby(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zrangebylex(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zlexcount(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zpopmin(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zpopmax(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn zscan(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}
