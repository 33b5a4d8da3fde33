//! The IO thread: group commit for every region's log writes.
//!
//! Callers write their entries into RocksDB first (a memtable insert; with manual WAL flush no
//! syscall happens), so the entries are readable at once, then hand a completion to this thread.
//! The thread takes every completion waiting, makes the WAL durable with ONE `flush_wal(true)`
//! and then fires them all. A sync covers every write made before it, so one fsync acknowledges
//! the appends of all regions and all clients that arrived while the previous sync ran.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Weak};

use super::Engine;

/// What to run once the WAL is durable.
pub type Done = Box<dyn FnOnce(std::io::Result<()>) + Send>;

pub struct IoHandle {
    tx: mpsc::Sender<Done>,
    pub stats: Arc<IoStats>,
}

#[derive(Default)]
pub struct IoStats {
    pub syncs: AtomicU64,
    pub synced_requests: AtomicU64,
    /// Time spent in `flush_wal(sync)`, in microseconds.
    pub sync_usec: AtomicU64,
    /// Entries applied by state machines, and the time spent applying them.
    pub applied_entries: AtomicU64,
    pub apply_usec: AtomicU64,
    /// Snapshots installed from a leader (a replica behind the purged log catching up).
    pub snapshots_installed: AtomicU64,
}

impl IoHandle {
    pub(super) fn start(engine: Weak<Engine>) -> IoHandle {
        let (tx, rx) = mpsc::channel::<Done>();
        let stats = Arc::new(IoStats::default());
        let st = stats.clone();
        std::thread::Builder::new()
            .name("redraft-io".into())
            .spawn(move || run(engine, rx, st))
            .expect("spawn io thread");
        IoHandle { tx, stats }
    }

    /// Runs `done` after every write made before this call is durable.
    pub fn after_sync(&self, done: Done) {
        if let Err(mpsc::SendError(done)) = self.tx.send(done) {
            done(Err(std::io::Error::other("io thread stopped")));
        }
    }

    /// Waits until every write made before this call is durable.
    pub async fn sync(&self) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.after_sync(Box::new(move |r| {
            let _ = tx.send(r);
        }));
        rx.await.map_err(|_| std::io::Error::other("io thread stopped"))?
    }
}

const MAX_GROUP: usize = 8192;

fn run(engine: Weak<Engine>, rx: mpsc::Receiver<Done>, stats: Arc<IoStats>) {
    let mut group: Vec<Done> = Vec::with_capacity(256);
    while let Ok(first) = rx.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(d) => group.push(d),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = match engine.upgrade() {
            Some(e) => e.db.flush_wal(true).map_err(|e| e.into_string()),
            None => Err("store closed".to_string()),
        };
        stats.sync_usec.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        stats.syncs.fetch_add(1, Ordering::Relaxed);
        stats.synced_requests.fetch_add(group.len() as u64, Ordering::Relaxed);
        for done in group.drain(..) {
            done(result.clone().map_err(std::io::Error::other));
        }
    }
}
