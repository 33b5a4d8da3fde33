//! openraft types <-> prost messages. The log, votes and applied state are stored as these
//! messages so the on-disk format is ours, versioned, and readable across upgrades.

use std::collections::{BTreeMap, BTreeSet};

use openraft::impls::leader_id_adv::LeaderId;
use openraft::{BasicNode, EntryPayload};
use prost::Message;

use super::{pb, Entry, LogId, Membership, Proposal, StoredMembership, Vote};
use crate::store::StoreError;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("missing {what}"))
}

pub fn leader_to_pb(l: &LeaderId<u64, u64>) -> pb::LeaderId {
    pb::LeaderId { term: l.term, node_id: l.node_id }
}

pub fn leader_from_pb(l: &pb::LeaderId) -> LeaderId<u64, u64> {
    LeaderId { term: l.term, node_id: l.node_id }
}

pub fn log_id_to_pb(id: &LogId) -> pb::LogId {
    pb::LogId { leader: Some(leader_to_pb(id.committed_leader_id())), index: id.index() }
}

pub fn log_id_from_pb(id: &pb::LogId) -> Result<LogId, StoreError> {
    let leader = id.leader.as_ref().ok_or_else(|| corrupt("leader"))?;
    Ok(LogId::new(leader_from_pb(leader), id.index))
}

pub fn vote_to_pb(v: &Vote) -> pb::Vote {
    pb::Vote { leader: Some(leader_to_pb(&v.leader_id)), committed: v.committed }
}

pub fn vote_from_pb(v: &pb::Vote) -> Result<Vote, StoreError> {
    let l = v.leader.as_ref().ok_or_else(|| corrupt("vote leader"))?;
    Ok(Vote { leader_id: leader_from_pb(l), committed: v.committed })
}

pub fn membership_to_pb(m: &Membership) -> pb::Membership {
    pb::Membership {
        configs: m.get_joint_config().iter().map(|s| pb::VoterSet { ids: s.iter().copied().collect() }).collect(),
        nodes: m.nodes().map(|(id, n)| pb::Member { replica_id: *id, addr: n.addr.clone() }).collect(),
    }
}

pub fn membership_from_pb(m: &pb::Membership) -> Result<Membership, StoreError> {
    let configs: Vec<BTreeSet<u64>> = m.configs.iter().map(|c| c.ids.iter().copied().collect()).collect();
    let nodes: BTreeMap<u64, BasicNode> =
        m.nodes.iter().map(|n| (n.replica_id, BasicNode { addr: n.addr.clone() })).collect();
    Membership::new(configs, nodes).map_err(|e| StoreError::Corrupt(format!("membership: {e}")))
}

pub fn stored_membership_to_pb(m: &StoredMembership) -> pb::StoredMembership {
    pb::StoredMembership {
        log_id: m.log_id().as_ref().map(log_id_to_pb),
        membership: Some(membership_to_pb(m.membership())),
    }
}

pub fn stored_membership_from_pb(m: &pb::StoredMembership) -> Result<StoredMembership, StoreError> {
    let log_id = m.log_id.as_ref().map(log_id_from_pb).transpose()?;
    let membership = match &m.membership {
        Some(mm) => membership_from_pb(mm)?,
        None => Membership::default(),
    };
    Ok(StoredMembership::new(log_id, membership))
}

pub fn entry_to_pb(e: &Entry) -> pb::Entry {
    let payload = match &e.payload {
        EntryPayload::Blank => pb::entry::Payload::Blank(pb::Blank {}),
        EntryPayload::Normal(p) => pb::entry::Payload::Normal(p.0.clone()),
        EntryPayload::Membership(m) => pb::entry::Payload::Membership(membership_to_pb(m)),
    };
    pb::Entry { log_id: Some(log_id_to_pb(&e.log_id)), payload: Some(payload) }
}

pub fn entry_from_pb(e: pb::Entry) -> Result<Entry, StoreError> {
    let log_id = log_id_from_pb(e.log_id.as_ref().ok_or_else(|| corrupt("entry log id"))?)?;
    let payload = match e.payload.ok_or_else(|| corrupt("entry payload"))? {
        pb::entry::Payload::Blank(_) => EntryPayload::Blank,
        pb::entry::Payload::Normal(wb) => EntryPayload::Normal(Proposal(wb)),
        pb::entry::Payload::Membership(m) => EntryPayload::Membership(membership_from_pb(&m)?),
    };
    Ok(Entry { log_id, payload })
}

pub fn encode_entry(e: &Entry) -> Vec<u8> {
    entry_to_pb(e).encode_to_vec()
}

pub fn decode_entry(raw: &[u8]) -> Result<Entry, StoreError> {
    let pb = pb::Entry::decode(raw).map_err(|e| StoreError::Corrupt(format!("log entry: {e}")))?;
    entry_from_pb(pb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_roundtrip() {
        let lid = LogId::new(LeaderId { term: 3, node_id: 1 }, 42);
        let wb = pb::WriteBatch {
            now_ms: 99,
            commands: vec![pb::Command { kind: 0, argv: vec!["SET".into(), "k".into(), "v".into()] }],
        };
        let e = Entry { log_id: lid, payload: EntryPayload::Normal(Proposal(wb)) };
        let back = decode_entry(&encode_entry(&e)).unwrap();
        assert_eq!(back.log_id, e.log_id);
        match (back.payload, e.payload) {
            (EntryPayload::Normal(a), EntryPayload::Normal(b)) => assert_eq!(a, b),
            _ => panic!("payload changed"),
        }
        let mut nodes = BTreeMap::new();
        nodes.insert(1u64, BasicNode { addr: "a:1".into() });
        let m = Membership::new(vec![BTreeSet::from([1u64])], nodes).unwrap();
        let e = Entry { log_id: lid, payload: EntryPayload::Membership(m.clone()) };
        match decode_entry(&encode_entry(&e)).unwrap().payload {
            EntryPayload::Membership(back) => assert_eq!(back, m),
            _ => panic!("payload changed"),
        }
        assert!(decode_entry(b"\xff\xff").is_err());
    }

    #[test]
    fn vote_roundtrip() {
        let v = Vote { leader_id: LeaderId { term: 7, node_id: 2 }, committed: true };
        assert_eq!(vote_from_pb(&vote_to_pb(&v)).unwrap(), v);
    }
}
