//! STUB: replaced by the family's implementation.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::store::apply::ApplyCtx;
use crate::store::view::View;

fn todo() -> CmdError {
    CmdError::Other("ERR not implemented".into())
}

pub fn lpush(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn rpush(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lpop(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn rpop(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn llen(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lindex(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lrange(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lpos(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lset(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn linsert(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lrem(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn ltrim(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lmove(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn lmpop(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}
