//! The free-space guard of the data dir.
//!
//! When RocksDB fails a WAL write (ENOSPC), the Raft group whose append failed stops for good:
//! RocksDB keeps a background error that only reopening the DB clears (the Rust binding has
//! no `Resume`). So writes are refused *before* the disk is full: while the file system holding
//! the data dir has less than `reserve-disk-space` free, proposals answer `-MISCONF` and
//! replication into this node is refused (the leader retries it), and both resume on their
//! own once space is freed. Reads keep working throughout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the free space is read (one `statvfs`).
const POLL: Duration = Duration::from_millis(50);

#[derive(Default)]
pub struct DiskGuard {
    /// Bytes that must stay free; 0: no guard.
    reserve: AtomicU64,
    /// Free bytes at the last poll (u64::MAX before the first).
    free: AtomicU64,
}

impl DiskGuard {
    pub fn new() -> DiskGuard {
        DiskGuard { reserve: AtomicU64::new(0), free: AtomicU64::new(u64::MAX) }
    }

    /// Starts watching the file system of `dir`, keeping `reserve` bytes free (0: off).
    pub fn watch(self: &Arc<Self>, dir: PathBuf, reserve: u64) -> std::io::Result<()> {
        self.reserve.store(reserve, Ordering::Relaxed);
        if reserve == 0 {
            return Ok(());
        }
        self.free.store(free_bytes(&dir)?, Ordering::Relaxed);
        let weak: Weak<DiskGuard> = Arc::downgrade(self);
        std::thread::Builder::new().name("redraft-disk".into()).spawn(move || {
            let mut failing = false;
            while let Some(guard) = weak.upgrade() {
                match free_bytes(&dir) {
                    Ok(free) => {
                        guard.free.store(free, Ordering::Relaxed);
                        failing = false;
                    }
                    // Logged once per run of failures; the last reading stays in force.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!("free space of {}: {e}", dir.display());
                    }
                    Err(_) => {}
                }
                drop(guard);
                std::thread::sleep(POLL);
            }
        })?;
        Ok(())
    }

    /// `Some((free, reserve))` while writes must be refused.
    pub fn low(&self) -> Option<(u64, u64)> {
        let reserve = self.reserve.load(Ordering::Relaxed);
        let free = self.free.load(Ordering::Relaxed);
        (reserve > 0 && free < reserve).then_some((free, reserve))
    }
}

/// Bytes available to this (unprivileged-equivalent) process on the file system of `dir`.
fn free_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `st` is written by statvfs before it is read.
    let rc = unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Ok(st.f_bavail * st.f_frsize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_free_space_and_refuses_below_the_reserve() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).unwrap();
        assert!(free > 0);
        let guard = Arc::new(DiskGuard::new());
        assert_eq!(guard.low(), None, "no reserve: never low");
        guard.watch(dir.path().to_path_buf(), 1).unwrap();
        assert_eq!(guard.low(), None, "{free} bytes free, 1 reserved");
        guard.watch(dir.path().to_path_buf(), u64::MAX).unwrap();
        let (f, r) = guard.low().expect("everything reserved");
        assert!(f > 0 && r == u64::MAX);
    }
}
