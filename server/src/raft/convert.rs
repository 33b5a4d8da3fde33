//! openraft types <-> prost messages. The log, votes and applied state are stored as these
//! messages so the on-disk format is ours, versioned, and readable across upgrades; the Raft
//! RPCs between nodes are these messages too.

use std::collections::{BTreeMap, BTreeSet};

use openraft::impls::leader_id_adv::LeaderId;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, EntryPayload};
use prost::Message;

use super::pb;
use super::types::{Entry, LogId, Membership, Proposal, SnapshotMeta, StoredMembership, TypeConfig, Vote};

/// A message that does not convert: undecodable bytes, or a field missing or invalid. It reads
/// as the storage layer's "corrupt data" (a log or state record) and is a bad request on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt data: {0}")]
pub struct DecodeError(pub String);

impl From<DecodeError> for std::io::Error {
    fn from(e: DecodeError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

fn corrupt(what: &str) -> DecodeError {
    DecodeError(format!("missing {what}"))
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

pub fn log_id_from_pb(id: &pb::LogId) -> Result<LogId, DecodeError> {
    let leader = id.leader.as_ref().ok_or_else(|| corrupt("leader"))?;
    Ok(LogId::new(leader_from_pb(leader), id.index))
}

pub fn vote_to_pb(v: &Vote) -> pb::Vote {
    pb::Vote { leader: Some(leader_to_pb(&v.leader_id)), committed: v.committed }
}

pub fn vote_from_pb(v: &pb::Vote) -> Result<Vote, DecodeError> {
    let l = v.leader.as_ref().ok_or_else(|| corrupt("vote leader"))?;
    Ok(Vote { leader_id: leader_from_pb(l), committed: v.committed })
}

pub fn membership_to_pb(m: &Membership) -> pb::Membership {
    pb::Membership {
        configs: m.get_joint_config().iter().map(|s| pb::VoterSet { ids: s.iter().copied().collect() }).collect(),
        nodes: m.nodes().map(|(id, n)| pb::Member { replica_id: *id, addr: n.addr.clone() }).collect(),
    }
}

pub fn membership_from_pb(m: &pb::Membership) -> Result<Membership, DecodeError> {
    let configs: Vec<BTreeSet<u64>> = m.configs.iter().map(|c| c.ids.iter().copied().collect()).collect();
    let nodes: BTreeMap<u64, BasicNode> =
        m.nodes.iter().map(|n| (n.replica_id, BasicNode { addr: n.addr.clone() })).collect();
    Membership::new(configs, nodes).map_err(|e| DecodeError(format!("membership: {e}")))
}

pub fn stored_membership_to_pb(m: &StoredMembership) -> pb::StoredMembership {
    pb::StoredMembership {
        log_id: m.log_id().as_ref().map(log_id_to_pb),
        membership: Some(membership_to_pb(m.membership())),
    }
}

pub fn stored_membership_from_pb(m: &pb::StoredMembership) -> Result<StoredMembership, DecodeError> {
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

/// `entry_to_pb` without copying the payload.
pub fn entry_into_pb(e: Entry) -> pb::Entry {
    let payload = match e.payload {
        EntryPayload::Blank => pb::entry::Payload::Blank(pb::Blank {}),
        EntryPayload::Normal(p) => pb::entry::Payload::Normal(p.0),
        EntryPayload::Membership(m) => pb::entry::Payload::Membership(membership_to_pb(&m)),
    };
    pb::Entry { log_id: Some(log_id_to_pb(&e.log_id)), payload: Some(payload) }
}

pub fn entry_from_pb(e: pb::Entry) -> Result<Entry, DecodeError> {
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

pub fn decode_entry(raw: &[u8]) -> Result<Entry, DecodeError> {
    let pb = pb::Entry::decode(raw).map_err(|e| DecodeError(format!("log entry: {e}")))?;
    entry_from_pb(pb)
}

fn opt_log_id_from_pb(id: &Option<pb::LogId>) -> Result<Option<LogId>, DecodeError> {
    id.as_ref().map(log_id_from_pb).transpose()
}

fn req_vote(v: &Option<pb::Vote>) -> Result<Vote, DecodeError> {
    vote_from_pb(v.as_ref().ok_or_else(|| corrupt("vote"))?)
}

// ---- Raft RPCs ------------------------------------------------------------------------------

pub fn vote_request_to_pb(region: u64, r: &VoteRequest<TypeConfig>, pre_vote: bool) -> pb::VoteRequest {
    pb::VoteRequest {
        region_id: region,
        vote: Some(vote_to_pb(&r.vote)),
        last_log_id: r.last_log_id.as_ref().map(log_id_to_pb),
        pre_vote,
        leadership_transfer: r.leadership_transfer,
    }
}

pub fn vote_request_from_pb(r: &pb::VoteRequest) -> Result<VoteRequest<TypeConfig>, DecodeError> {
    let mut req = VoteRequest::new(req_vote(&r.vote)?, opt_log_id_from_pb(&r.last_log_id)?);
    req.leadership_transfer = r.leadership_transfer;
    Ok(req)
}

pub fn vote_response_to_pb(r: &VoteResponse<TypeConfig>) -> pb::VoteResponse {
    pb::VoteResponse {
        vote: Some(vote_to_pb(&r.vote)),
        vote_granted: r.vote_granted,
        last_log_id: r.last_log_id.as_ref().map(log_id_to_pb),
    }
}

pub fn vote_response_from_pb(r: &pb::VoteResponse) -> Result<VoteResponse<TypeConfig>, DecodeError> {
    Ok(VoteResponse::new(req_vote(&r.vote)?, opt_log_id_from_pb(&r.last_log_id)?, r.vote_granted))
}

pub fn append_request_to_pb(region: u64, r: AppendEntriesRequest<TypeConfig>) -> pb::AppendRequest {
    pb::AppendRequest {
        region_id: region,
        vote: Some(vote_to_pb(&r.vote)),
        prev_log_id: r.prev_log_id.as_ref().map(log_id_to_pb),
        entries: r.entries.into_iter().map(entry_into_pb).collect(),
        leader_commit: r.leader_commit.as_ref().map(log_id_to_pb),
    }
}

pub fn append_request_from_pb(r: pb::AppendRequest) -> Result<AppendEntriesRequest<TypeConfig>, DecodeError> {
    Ok(AppendEntriesRequest {
        vote: req_vote(&r.vote)?,
        prev_log_id: opt_log_id_from_pb(&r.prev_log_id)?,
        leader_commit: opt_log_id_from_pb(&r.leader_commit)?,
        entries: r.entries.into_iter().map(entry_from_pb).collect::<Result<_, _>>()?,
    })
}

pub fn append_response_to_pb(r: &AppendEntriesResponse<TypeConfig>) -> pb::AppendResponse {
    use pb::append_response::Result as R;
    let result = match r {
        AppendEntriesResponse::Success => R::Success(pb::Blank {}),
        AppendEntriesResponse::PartialSuccess(Some(id)) => R::PartialSuccess(log_id_to_pb(id)),
        AppendEntriesResponse::PartialSuccess(None) => R::PartialSuccessNone(pb::Blank {}),
        AppendEntriesResponse::Conflict => R::Conflict(pb::Blank {}),
        AppendEntriesResponse::HigherVote(v) => R::HigherVote(vote_to_pb(v)),
    };
    pb::AppendResponse { result: Some(result) }
}

pub fn append_response_from_pb(r: &pb::AppendResponse) -> Result<AppendEntriesResponse<TypeConfig>, DecodeError> {
    use pb::append_response::Result as R;
    Ok(match r.result.as_ref().ok_or_else(|| corrupt("append result"))? {
        R::Success(_) => AppendEntriesResponse::Success,
        R::PartialSuccess(id) => AppendEntriesResponse::PartialSuccess(Some(log_id_from_pb(id)?)),
        R::PartialSuccessNone(_) => AppendEntriesResponse::PartialSuccess(None),
        R::Conflict(_) => AppendEntriesResponse::Conflict,
        R::HigherVote(v) => AppendEntriesResponse::HigherVote(vote_from_pb(v)?),
    })
}

pub fn snapshot_meta_to_pb(m: &SnapshotMeta) -> pb::SnapshotMeta {
    pb::SnapshotMeta {
        last_log_id: m.last_log_id.as_ref().map(log_id_to_pb),
        last_membership: Some(stored_membership_to_pb(&m.last_membership)),
        snapshot_id: String::new(),
    }
}

pub fn snapshot_meta_from_pb(m: &pb::SnapshotMeta) -> Result<SnapshotMeta, DecodeError> {
    let membership = m.last_membership.as_ref().ok_or_else(|| corrupt("snapshot membership"))?;
    Ok(SnapshotMeta {
        last_log_id: opt_log_id_from_pb(&m.last_log_id)?,
        last_membership: stored_membership_from_pb(membership)?,
    })
}

pub fn snapshot_response_from_pb(r: &pb::SnapshotResponse) -> Result<SnapshotResponse<TypeConfig>, DecodeError> {
    Ok(SnapshotResponse::new(req_vote(&r.vote)?))
}

pub fn transfer_leader_request_to_pb(region: u64, r: &TransferLeaderRequest<TypeConfig>) -> pb::TransferLeaderRequest {
    pb::TransferLeaderRequest {
        region_id: region,
        from_leader: Some(vote_to_pb(r.from_leader())),
        to: *r.to_node_id(),
        last_log_id: r.last_log_id().map(log_id_to_pb),
    }
}

pub fn transfer_leader_request_from_pb(
    r: &pb::TransferLeaderRequest,
) -> Result<TransferLeaderRequest<TypeConfig>, DecodeError> {
    Ok(TransferLeaderRequest::new(req_vote(&r.from_leader)?, r.to, opt_log_id_from_pb(&r.last_log_id)?))
}

pub fn transfer_leader_response_to_pb(r: &TransferLeaderResponse<TypeConfig>) -> pb::TransferLeaderResponse {
    use openraft::raft::TransferLeaderError as E;
    use pb::transfer_leader_response::Result as R;
    let result = match r {
        Ok(()) => R::Ok(pb::Blank {}),
        Err(E::VoteChanged { expected, actual }) => {
            R::VoteChanged(pb::VoteChanged { expected: Some(vote_to_pb(expected)), actual: Some(vote_to_pb(actual)) })
        }
        Err(E::LogNotFlushed { expected, actual }) => R::LogNotFlushed(pb::LogNotFlushed {
            expected: expected.as_ref().map(log_id_to_pb),
            actual: actual.as_ref().map(log_id_to_pb),
        }),
    };
    pb::TransferLeaderResponse { result: Some(result) }
}

pub fn transfer_leader_response_from_pb(
    r: &pb::TransferLeaderResponse,
) -> Result<TransferLeaderResponse<TypeConfig>, DecodeError> {
    use openraft::raft::TransferLeaderError as E;
    use pb::transfer_leader_response::Result as R;
    Ok(match &r.result {
        None | Some(R::Ok(_)) => Ok(()),
        Some(R::VoteChanged(v)) => {
            Err(E::VoteChanged { expected: req_vote(&v.expected)?, actual: req_vote(&v.actual)? })
        }
        Some(R::LogNotFlushed(l)) => {
            Err(E::LogNotFlushed { expected: opt_log_id_from_pb(&l.expected)?, actual: opt_log_id_from_pb(&l.actual)? })
        }
    })
}

// ---- Cluster messages -----------------------------------------------------------------------

/// Slots of the key space (`store::keys::SLOTS`; a test checks they agree).
const SLOTS: u32 = 16384;

/// What the readers of a cluster map index by: every region's slots `[slot_from, slot_to)` are
/// non-empty, inside the key space and disjoint from the other regions', and region ids are
/// unique and not the meta group's 0.
pub fn check_cluster_map(map: &pb::ClusterMap) -> Result<(), DecodeError> {
    let mut ranges = Vec::with_capacity(map.regions.len());
    let mut ids = BTreeSet::new();
    for r in &map.regions {
        if r.slot_from >= r.slot_to || r.slot_to > SLOTS {
            return Err(DecodeError(format!(
                "cluster map: region {} has slots {}..{}",
                r.region_id, r.slot_from, r.slot_to
            )));
        }
        if r.region_id == 0 || !ids.insert(r.region_id) {
            return Err(DecodeError(format!("cluster map: region id {} is 0 or repeated", r.region_id)));
        }
        ranges.push((r.slot_from, r.slot_to));
    }
    ranges.sort_unstable();
    if ranges.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err(DecodeError("cluster map: regions overlap".into()));
    }
    Ok(())
}

/// The cluster map of a CLUSTER_MAP command, decoded and checked (`check_cluster_map`).
pub fn cluster_map_from_bytes(raw: &[u8]) -> Result<pb::ClusterMap, DecodeError> {
    let map = pb::ClusterMap::decode(raw).map_err(|e| DecodeError(format!("cluster map: {e}")))?;
    check_cluster_map(&map)?;
    Ok(map)
}

/// The joining node of a Join request: a node id other than 0, a 40-hex Redis Cluster id, a
/// TCP port and a gRPC address, as the map will record them.
pub fn join_request_from_pb(r: pb::JoinRequest) -> Result<pb::NodeInfo, DecodeError> {
    let n = r.node.ok_or_else(|| corrupt("node"))?;
    if n.node_id == 0 || n.id40.len() != 40 || !n.id40.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(DecodeError(format!("join: node id {} / {:?}", n.node_id, n.id40)));
    }
    if n.resp_port > u16::MAX as u32 || n.grpc_addr.is_empty() {
        return Err(DecodeError(format!("join: address {:?}, port {}", n.grpc_addr, n.resp_port)));
    }
    Ok(n)
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
    fn rpc_roundtrip() {
        let leader = LeaderId { term: 4, node_id: 3 };
        let vote = Vote { leader_id: leader, committed: true };
        let lid = |i| LogId::new(leader, i);
        let wb = pb::WriteBatch { now_ms: 5, commands: vec![pb::Command { kind: 0, argv: vec!["PING".into()] }] };
        let entries = vec![
            Entry { log_id: lid(8), payload: EntryPayload::Blank },
            Entry { log_id: lid(9), payload: EntryPayload::Normal(Proposal(wb)) },
        ];
        let req = AppendEntriesRequest::<TypeConfig> {
            vote,
            prev_log_id: Some(lid(7)),
            entries: entries.clone(),
            leader_commit: None,
        };
        let pb = append_request_to_pb(11, req.clone());
        assert_eq!(pb.region_id, 11);
        let back = append_request_from_pb(pb).unwrap();
        assert_eq!((back.vote, back.prev_log_id, back.leader_commit), (req.vote, req.prev_log_id, req.leader_commit));
        assert_eq!(
            back.entries.iter().map(encode_entry).collect::<Vec<_>>(),
            entries.iter().map(encode_entry).collect::<Vec<_>>()
        );
        for r in [
            AppendEntriesResponse::Success,
            AppendEntriesResponse::PartialSuccess(Some(lid(3))),
            AppendEntriesResponse::PartialSuccess(None),
            AppendEntriesResponse::Conflict,
            AppendEntriesResponse::HigherVote(vote),
        ] {
            assert_eq!(append_response_from_pb(&append_response_to_pb(&r)).unwrap(), r);
        }
        let mut vr = VoteRequest::<TypeConfig>::new(vote, Some(lid(2)));
        vr.leadership_transfer = true;
        let pb = vote_request_to_pb(11, &vr, true);
        assert!(pb.pre_vote);
        assert_eq!(vote_request_from_pb(&pb).unwrap(), vr);
        let resp = VoteResponse::<TypeConfig>::new(vote, None, true);
        assert_eq!(vote_response_from_pb(&vote_response_to_pb(&resp)).unwrap(), resp);
        let tl = TransferLeaderRequest::<TypeConfig>::new(vote, 2, Some(lid(6)));
        assert_eq!(transfer_leader_request_from_pb(&transfer_leader_request_to_pb(11, &tl)).unwrap(), tl);
        let refused: TransferLeaderResponse<TypeConfig> =
            Err(openraft::raft::TransferLeaderError::LogNotFlushed { expected: Some(lid(6)), actual: None });
        for r in [Ok(()), refused] {
            assert_eq!(transfer_leader_response_from_pb(&transfer_leader_response_to_pb(&r)).unwrap(), r);
        }
        assert!(append_response_from_pb(&pb::AppendResponse::default()).is_err());
    }

    #[test]
    fn cluster_maps_and_joins_are_checked() {
        assert_eq!(SLOTS as usize, crate::store::keys::SLOTS);
        let map = crate::cluster::initial_map(&[(1, "a:1".into()), (2, "b:1".into())], 4);
        assert_eq!(cluster_map_from_bytes(&map.encode_to_vec()).unwrap(), map);
        let bad = |f: &dyn Fn(&mut pb::ClusterMap)| {
            let mut m = map.clone();
            f(&mut m);
            assert!(cluster_map_from_bytes(&m.encode_to_vec()).is_err(), "{m:?}");
        };
        bad(&|m| m.regions[0].slot_to = m.regions[0].slot_from);
        bad(&|m| m.regions[3].slot_to = SLOTS + 1);
        bad(&|m| m.regions[1].slot_from -= 1);
        bad(&|m| m.regions[1].region_id = 1);
        bad(&|m| m.regions[1].region_id = 0);
        assert!(cluster_map_from_bytes(b"\xff").is_err());

        let info = pb::NodeInfo {
            node_id: 4,
            id40: "0123456789abcdef0123456789abcdef01234567".into(),
            resp_host: "127.0.0.1".into(),
            resp_port: 7004,
            grpc_addr: "127.0.0.1:17004".into(),
            leads: vec![],
        };
        let join = |n: &pb::NodeInfo| join_request_from_pb(pb::JoinRequest { node: Some(n.clone()) });
        assert_eq!(join(&info).unwrap(), info);
        assert!(join(&pb::NodeInfo { node_id: 0, ..info.clone() }).is_err());
        assert!(join(&pb::NodeInfo { id40: "xyz".into(), ..info.clone() }).is_err());
        assert!(join(&pb::NodeInfo { resp_port: 70000, ..info.clone() }).is_err());
        assert!(join(&pb::NodeInfo { grpc_addr: String::new(), ..info.clone() }).is_err());
        assert!(join_request_from_pb(pb::JoinRequest { node: None }).is_err());
    }

    #[test]
    fn vote_roundtrip() {
        let v = Vote { leader_id: LeaderId { term: 7, node_id: 2 }, committed: true };
        assert_eq!(vote_from_pb(&vote_to_pb(&v)).unwrap(), v);
    }
}
