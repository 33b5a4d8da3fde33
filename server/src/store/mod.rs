//! The node's one RocksDB: column families, the group-commit IO thread, Raft log storage,
//! the region state machine and the typed read/write views commands use.

pub mod apply;
pub mod disk;
pub mod io;
pub mod keys;
pub mod local;
pub mod log;
pub mod read;
pub mod sm;
pub mod value;
pub mod view;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, Options, DB};

pub use value::{Coll, DataType, Value};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("unsupported on-disk format version {0} (this build reads {1})")]
    FormatVersion(u32, u32),
    #[error("io thread stopped")]
    IoStopped,
    #[error("WAL sync: {0}")]
    Sync(String),
}

impl From<StoreError> for std::io::Error {
    fn from(e: StoreError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

/// Per-slot key and expiring-key counts, mirrored from the `meta` CF after every apply.
pub struct SlotCounts {
    keys: Vec<AtomicU64>,
    expires: Vec<AtomicU64>,
}

impl SlotCounts {
    fn new() -> SlotCounts {
        SlotCounts {
            keys: (0..keys::SLOTS).map(|_| AtomicU64::new(0)).collect(),
            expires: (0..keys::SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn get(&self, slot: u16) -> (u64, u64) {
        (self.keys[slot as usize].load(Ordering::Relaxed), self.expires[slot as usize].load(Ordering::Relaxed))
    }

    pub fn set(&self, slot: u16, keys: u64, expires: u64) {
        self.keys[slot as usize].store(keys, Ordering::Relaxed);
        self.expires[slot as usize].store(expires, Ordering::Relaxed);
    }

    /// Keys in `[from, to)`, and the slot that halves them: the first slot after which the
    /// slots before it hold at least half (the middle slot when there are no keys). Always in
    /// `(from, to)` for a range of two slots or more.
    pub fn halving(&self, from: u16, to: u32) -> (u64, u32) {
        let (total, _) = self.total(from, to);
        let mut seen = 0;
        let mut at = (from as u32 + to) / 2;
        if total > 0 {
            for s in from as u32..to {
                seen += self.get(s as u16).0;
                if seen * 2 >= total {
                    at = s + 1;
                    break;
                }
            }
        }
        (total, at.clamp(from as u32 + 1, to.saturating_sub(1).max(from as u32 + 1)))
    }

    /// Totals over `[from, to)`.
    pub fn total(&self, from: u16, to: u32) -> (u64, u64) {
        let (mut k, mut e) = (0, 0);
        for s in from as u32..to {
            let (a, b) = self.get(s as u16);
            k += a;
            e += b;
        }
        (k, e)
    }
}

pub fn encode_counts(keys: u64, expires: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&keys.to_be_bytes());
    v[8..].copy_from_slice(&expires.to_be_bytes());
    v
}

fn decode_counts(v: &[u8]) -> (u64, u64) {
    if v.len() != 16 {
        return (0, 0);
    }
    (u64::from_be_bytes(v[..8].try_into().unwrap()), u64::from_be_bytes(v[8..].try_into().unwrap()))
}

const WRITE_BUFFER_SIZE: usize = 8 << 20;
const BLOCK_CACHE_SIZE: usize = 256 << 20;

/// The opened store: the DB, the IO thread, and the in-memory mirrors of `meta`.
pub struct Engine {
    pub db: DB,
    pub io: io::IoHandle,
    pub counts: SlotCounts,
    /// Refuses writes while the data dir's file system is low on space (see disk.rs).
    pub disk: Arc<disk::DiskGuard>,
    /// The regions hosted here: live ranges and applied indexes (see local.rs).
    pub local: local::LocalRegions,
}

impl Engine {
    pub fn open(dir: &Path) -> Result<Arc<Engine>, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt(format!("create {}: {e}", dir.display())))?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Writes land in the WAL buffer; the IO thread makes them durable with one
        // `flush_wal(sync)` per group of appends (see io.rs).
        opts.set_manual_wal_flush(true);
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        opts.set_keep_log_file_num(4);
        opts.set_recycle_log_file_num(4);
        // One block cache for all column families; data CFs get bloom filters because every
        // write reads the key's current metadata first (type, TTL, key counts).
        let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_SIZE);
        let cfs = keys::ALL_CFS.iter().map(|name| {
            let mut o = Options::default();
            let mut table = rocksdb::BlockBasedOptions::default();
            table.set_block_cache(&cache);
            if *name != keys::CF_RAFT_LOG {
                table.set_bloom_filter(10.0, false);
                table.set_whole_key_filtering(true);
                o.set_memtable_whole_key_filtering(true);
                o.set_memtable_prefix_bloom_ratio(0.1);
            }
            o.set_block_based_table_factory(&table);
            o.set_compression_type(rocksdb::DBCompressionType::Lz4);
            // Small memtables: the skiplist stays cache-resident, which measured faster for
            // this write pattern than RocksDB's 64 MB default.
            o.set_write_buffer_size(WRITE_BUFFER_SIZE);
            o.set_max_write_buffer_number(4);
            if *name == keys::CF_RAFT_LOG {
                // Log entries are written once, read soon, deleted in ranges: keep them unsplit.
                o.set_compression_type(rocksdb::DBCompressionType::None);
            }
            ColumnFamilyDescriptor::new(*name, o)
        });
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let db_ref = &db;
        let meta = db_ref.cf_handle(keys::CF_META).expect("meta cf");
        match db.get_cf(meta, keys::FORMAT_VERSION_KEY)? {
            None => {
                db.put_cf(meta, keys::FORMAT_VERSION_KEY, keys::FORMAT_VERSION.to_be_bytes())?;
                db.flush_wal(true)?;
            }
            Some(v) => {
                let ver =
                    u32::from_be_bytes(v.as_slice().try_into().map_err(|_| StoreError::Corrupt("format".into()))?);
                if ver != keys::FORMAT_VERSION {
                    return Err(StoreError::FormatVersion(ver, keys::FORMAT_VERSION));
                }
            }
        }
        let counts = SlotCounts::new();
        let (start, end) = keys::slot_count_range(0, keys::SLOTS as u32);
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_iterate_upper_bound(end);
        let it = db.iterator_cf_opt(meta, ro, rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward));
        for item in it {
            let (k, v) = item?;
            let slot = u16::from_be_bytes([k[1], k[2]]);
            let (a, b) = decode_counts(&v);
            counts.set(slot, a, b);
        }
        let engine = Arc::new_cyclic(|weak| Engine {
            db,
            io: io::IoHandle::start(weak.clone()),
            counts,
            disk: Arc::new(disk::DiskGuard::new()),
            local: Default::default(),
        });
        Ok(engine)
    }

    /// The number of regions this store was created with; records `wanted` on first use.
    pub fn region_count(&self, wanted: u16) -> Result<u16, StoreError> {
        let meta = self.cf(keys::CF_META);
        match self.db.get_cf(meta, keys::REGION_COUNT_KEY)? {
            Some(v) if v.len() == 2 => Ok(u16::from_be_bytes([v[0], v[1]])),
            Some(_) => Err(StoreError::Corrupt("region count".into())),
            None => {
                // A store from before this key existed has data of one region at most.
                let has_regions = self.db.get_cf(meta, keys::region_applied_key(1))?.is_some();
                let n = if has_regions { 1 } else { wanted };
                self.db.put_cf(meta, keys::REGION_COUNT_KEY, n.to_be_bytes())?;
                self.db.flush_wal(true)?;
                Ok(n)
            }
        }
    }

    /// Whether this store belongs to a cluster node (it has a meta group); a new store is
    /// marked as `cluster` says, a used one keeps what it is.
    pub fn is_cluster_store(&self, cluster: bool) -> Result<bool, StoreError> {
        let meta = self.cf(keys::CF_META);
        if self.db.get_cf(meta, keys::CLUSTER_STORE_KEY)?.is_some() {
            return Ok(true);
        }
        let used = self.db.get_cf(meta, keys::REGION_COUNT_KEY)?.is_some()
            || self.db.get_cf(meta, keys::region_applied_key(1))?.is_some();
        if used || !cluster {
            return Ok(false);
        }
        self.db.put_cf(meta, keys::CLUSTER_STORE_KEY, b"meta-group")?;
        self.db.flush_wal(true)?;
        Ok(true)
    }

    pub fn cf(&self, name: &str) -> &ColumnFamily {
        self.db.cf_handle(name).expect("column family exists: created at open")
    }
}
