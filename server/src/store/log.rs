//! openraft log storage for one region: entries in `raft_log`, vote/committed/purged in
//! `raft_state`, all regions in the one DB and group-committed by the IO thread.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use prost::Message;
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use super::keys::{self, RaftStateKey};
use super::Engine;
use crate::raft::convert;
use crate::raft::{pb, Entry, LogId, TypeConfig, Vote};

#[derive(Clone)]
pub struct LogStore {
    region: u64,
    engine: Arc<Engine>,
    /// The most recently appended entries (contiguous indexes), shared with the readers: the
    /// state machine applies entries right after they are appended, and reading them back
    /// from here skips a RocksDB seek and a decode per batch.
    tail: Arc<Mutex<VecDeque<Entry>>>,
}

/// Entries kept in the tail cache.
const TAIL_ENTRIES: usize = 1024;

fn ioerr(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl LogStore {
    pub fn new(engine: Arc<Engine>, region: u64) -> LogStore {
        LogStore { region, engine, tail: Arc::new(Mutex::new(VecDeque::new())) }
    }

    /// The entries `[start, end)` if the tail cache holds all of them.
    fn tail_range(&self, start: u64, end: Option<u64>) -> Option<Vec<Entry>> {
        let tail = self.tail.lock().expect("log tail lock");
        let first = tail.front()?.log_id.index();
        let last = tail.back()?.log_id.index();
        let end = end.unwrap_or(last + 1);
        if start < first || end > last + 1 {
            return None;
        }
        if start >= end {
            return Some(Vec::new());
        }
        Some(tail.range((start - first) as usize..(end - first) as usize).cloned().collect())
    }

    fn state_get(&self, which: RaftStateKey) -> io::Result<Option<Vec<u8>>> {
        let cf = self.engine.cf(keys::CF_RAFT_STATE);
        self.engine.db.get_cf(cf, keys::raft_state_key(self.region, which)).map_err(ioerr)
    }

    fn read_log_id(&self, which: RaftStateKey) -> io::Result<Option<LogId>> {
        match self.state_get(which)? {
            None => Ok(None),
            Some(raw) => {
                let p = pb::LogId::decode(raw.as_slice()).map_err(ioerr)?;
                Ok(Some(convert::log_id_from_pb(&p)?))
            }
        }
    }

    /// Writes `batch` (readable at once) and waits until it is durable.
    async fn write_durable(&self, batch: WriteBatch) -> io::Result<()> {
        self.engine.db.write(batch).map_err(ioerr)?;
        self.engine.io.sync().await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => Some(e.saturating_add(1)),
            Bound::Excluded(&e) => Some(e),
            Bound::Unbounded => None,
        };
        if let Some(entries) = self.tail_range(start, end) {
            return Ok(entries);
        }
        let cf = self.engine.cf(keys::CF_RAFT_LOG);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(match end {
            Some(e) => keys::raft_log_key(self.region, e).to_vec(),
            None => keys::raft_log_key(self.region + 1, 0).to_vec(),
        });
        let from = keys::raft_log_key(self.region, start);
        let mut out = Vec::new();
        for item in self.engine.db.iterator_cf_opt(cf, ro, IteratorMode::From(&from, Direction::Forward)) {
            let (_, v) = item.map_err(ioerr)?;
            out.push(convert::decode_entry(&v)?);
        }
        Ok(out)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        match self.state_get(RaftStateKey::Vote)? {
            None => Ok(None),
            Some(raw) => {
                let p = pb::Vote::decode(raw.as_slice()).map_err(ioerr)?;
                Ok(Some(convert::vote_from_pb(&p)?))
            }
        }
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let purged = self.read_log_id(RaftStateKey::Purged)?;
        let cf = self.engine.cf(keys::CF_RAFT_LOG);
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(keys::raft_log_key(self.region, 0).to_vec());
        let upper = keys::raft_log_key(self.region, u64::MAX);
        let mut it = self.engine.db.iterator_cf_opt(cf, ro, IteratorMode::From(&upper, Direction::Reverse));
        let last = match it.next() {
            Some(item) => {
                let (_, v) = item.map_err(ioerr)?;
                Some(convert::decode_entry(&v)?.log_id)
            }
            None => None,
        };
        Ok(LogState { last_purged_log_id: purged, last_log_id: last.or(purged) })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let mut b = WriteBatch::default();
        b.put_cf(
            self.engine.cf(keys::CF_RAFT_STATE),
            keys::raft_state_key(self.region, RaftStateKey::Vote),
            convert::vote_to_pb(vote).encode_to_vec(),
        );
        self.write_durable(b).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Not synced on its own: it rides on the next log sync. Losing it only means replaying
        // a little more of the durable log after a crash.
        let cf = self.engine.cf(keys::CF_RAFT_STATE);
        let k = keys::raft_state_key(self.region, RaftStateKey::Committed);
        match committed {
            Some(c) => self.engine.db.put_cf(cf, k, convert::log_id_to_pb(&c).encode_to_vec()),
            None => self.engine.db.delete_cf(cf, k),
        }
        .map_err(ioerr)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        self.read_log_id(RaftStateKey::Committed)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.engine.cf(keys::CF_RAFT_LOG);
        let mut b = WriteBatch::default();
        let entries: Vec<Entry> = entries.into_iter().collect();
        for e in &entries {
            b.put_cf(cf, keys::raft_log_key(self.region, e.log_id.index()), convert::encode_entry(e));
        }
        // Readable now (memtable); durable when the IO thread's next WAL sync completes.
        self.engine.db.write(b).map_err(ioerr)?;
        {
            let mut tail = self.tail.lock().expect("log tail lock");
            for e in entries {
                // Appends continue the log; anything else (a gap) restarts the cache.
                if tail.back().is_some_and(|b| b.log_id.index() + 1 != e.log_id.index()) {
                    tail.clear();
                }
                tail.push_back(e);
            }
            while tail.len() > TAIL_ENTRIES {
                tail.pop_front();
            }
        }
        self.engine.io.after_sync(Box::new(move |r| callback.io_completed(r)));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map(|l| l.index() + 1).unwrap_or(0);
        {
            let mut tail = self.tail.lock().expect("log tail lock");
            while tail.back().is_some_and(|e| e.log_id.index() >= from) {
                tail.pop_back();
            }
        }
        let mut b = WriteBatch::default();
        b.delete_range_cf(
            self.engine.cf(keys::CF_RAFT_LOG),
            keys::raft_log_key(self.region, from),
            keys::raft_log_key(self.region + 1, 0),
        );
        self.write_durable(b).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        {
            let mut tail = self.tail.lock().expect("log tail lock");
            while tail.front().is_some_and(|e| e.log_id.index() <= log_id.index()) {
                tail.pop_front();
            }
        }
        let mut b = WriteBatch::default();
        b.put_cf(
            self.engine.cf(keys::CF_RAFT_STATE),
            keys::raft_state_key(self.region, RaftStateKey::Purged),
            convert::log_id_to_pb(&log_id).encode_to_vec(),
        );
        b.delete_range_cf(
            self.engine.cf(keys::CF_RAFT_LOG),
            keys::raft_log_key(self.region, 0),
            keys::raft_log_key(self.region, log_id.index() + 1),
        );
        self.write_durable(b).await
    }
}

#[cfg(test)]
mod tests {
    use openraft::impls::leader_id_adv::LeaderId;
    use openraft::EntryPayload;

    use super::*;

    fn entry(term: u64, index: u64) -> Entry {
        Entry { log_id: LogId::new(LeaderId { term, node_id: 1 }, index), payload: EntryPayload::Blank }
    }

    fn indexes(es: &[Entry]) -> Vec<u64> {
        es.iter().map(|e| e.log_id.index()).collect()
    }

    #[tokio::test]
    async fn append_read_truncate_purge_and_vote() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let mut a = LogStore::new(engine.clone(), 1);
        let mut b = LogStore::new(engine.clone(), 2);
        a.append((1..=5).map(|i| entry(1, i)), IOFlushed::noop()).await.unwrap();
        b.append((1..=3).map(|i| entry(7, i)), IOFlushed::noop()).await.unwrap();
        engine.io.sync().await.unwrap();
        assert_eq!(indexes(&a.try_get_log_entries(2..4).await.unwrap()), vec![2, 3]);
        assert_eq!(indexes(&a.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3, 4, 5]);
        assert_eq!(indexes(&b.try_get_log_entries(..=2).await.unwrap()), vec![1, 2], "regions do not mix");
        let st = a.get_log_state().await.unwrap();
        assert_eq!(st.last_log_id.unwrap().index(), 5);
        assert!(st.last_purged_log_id.is_none());

        // The same reads from RocksDB alone (a fresh handle has an empty tail cache).
        let mut cold = LogStore::new(engine.clone(), 1);
        assert_eq!(indexes(&cold.try_get_log_entries(2..4).await.unwrap()), vec![2, 3]);
        assert_eq!(indexes(&cold.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3, 4, 5]);

        a.truncate_after(Some(entry(1, 3).log_id)).await.unwrap();
        assert_eq!(indexes(&a.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3]);
        a.purge(entry(1, 2).log_id).await.unwrap();
        assert_eq!(indexes(&a.try_get_log_entries(..).await.unwrap()), vec![3]);
        let st = a.get_log_state().await.unwrap();
        assert_eq!(st.last_purged_log_id.unwrap().index(), 2);
        assert_eq!(st.last_log_id.unwrap().index(), 3);
        a.purge(entry(1, 3).log_id).await.unwrap();
        let st = a.get_log_state().await.unwrap();
        assert_eq!(st.last_log_id.unwrap().index(), 3, "all purged: last = purged");

        let v = Vote { leader_id: LeaderId { term: 9, node_id: 2 }, committed: false };
        a.save_vote(&v).await.unwrap();
        assert_eq!(a.read_vote().await.unwrap(), Some(v));
        assert_eq!(b.read_vote().await.unwrap(), None);
        assert_eq!(indexes(&b.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3]);
    }
}
