//! STUB: replaced by the family's implementation.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::store::apply::ApplyCtx;
use crate::store::view::View;

fn todo() -> CmdError {
    CmdError::Other("ERR not implemented".into())
}

pub fn sadd(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn srem(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn smembers(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sismember(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn smismember(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn scard(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn srandmember(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn prepare_spop(argv: &[Bytes], _now: u64) -> CmdResult<Vec<Bytes>> {
    Ok(argv.to_vec())
}

pub fn spop(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sscan(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sinter(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sunion(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sdiff(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sintercard(_view: &dyn View, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn smove(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sinterstore(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sunionstore(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn sdiffstore(_ctx: &mut ApplyCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}
