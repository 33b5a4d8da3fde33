//! STUB: replaced by the family's implementation.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use super::ConnCtx;

fn todo() -> CmdError {
    CmdError::Other("ERR not implemented".into())
}

pub fn multi(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn exec(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn discard(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn watch(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}

pub fn unwatch(_ctx: &mut ConnCtx, _argv: &[Bytes]) -> CmdResult {
    Err(todo())
}
