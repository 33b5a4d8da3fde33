//! The server's code under fuzzing, included by path with the module layout it expects
//! (`crate::resp`, `crate::raft::{pb, types, convert}`), and an allocator that records the
//! largest allocation a check makes.
#![allow(dead_code, unused_imports)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// A path on an inline module names the directory of its children: the server's own folders.
#[path = "../../src/resp"]
pub mod resp {
    #[path = "codec.rs"]
    pub mod codec;
    /// The Raft response type (`TypeConfig::R` is `Vec<Reply>`); no reply is built here, and
    /// the real one needs the server's C helper.
    #[derive(Debug, Clone)]
    pub struct Reply;
}

#[path = "../../src/raft"]
pub mod raft {
    pub mod pb {
        #![allow(clippy::all, clippy::pedantic)]
        include!(concat!(env!("OUT_DIR"), "/redraft.v1.rs"));
    }
    #[path = "types.rs"]
    pub mod types;
    pub use types::*;
    #[path = "convert.rs"]
    pub mod convert;
}

#[path = "../../src/fuzzing.rs"]
pub mod fuzzing;

/// System malloc that records, per thread, the largest allocation while `peak` runs.
struct Counting;

thread_local! {
    static PEAK: Cell<Option<usize>> = const { Cell::new(None) };
}

fn record(size: usize) {
    let _ = PEAK.try_with(|p| {
        if let Some(most) = p.get() {
            p.set(Some(most.max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`; returns the largest single allocation it made.
pub fn peak(f: &mut dyn FnMut()) -> usize {
    PEAK.with(|p| p.set(Some(0)));
    f();
    PEAK.with(|p| p.replace(None)).unwrap_or(0)
}
