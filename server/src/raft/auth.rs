//! Who may talk to this node's gRPC port: the cluster secret every request between nodes
//! carries (`x-redraft-secret`), checked by an interceptor before any handler touches Raft,
//! and the mutual-TLS settings of the gRPC server and channels (`tls-cluster`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{ClientTlsConfig, ServerTlsConfig};
use tonic::{Request, Status};

/// The metadata key of the cluster secret.
pub const SECRET_HEADER: &str = "x-redraft-secret";
/// A refused peer is logged at most once per this many seconds (with the count since).
const LOG_EVERY_SECS: u64 = 10;

/// How this node proves itself to peers and checks them.
#[derive(Clone, Default)]
pub struct PeerAuth {
    secret: Option<MetadataValue<Ascii>>,
    /// Mutual TLS between nodes; None: plain HTTP/2.
    pub tls: Option<GrpcTls>,
}

/// The gRPC TLS configurations: what the server presents and whom it accepts (certificates
/// signed by the CA), and the same for the channels this node dials.
#[derive(Clone)]
pub struct GrpcTls {
    pub server: ServerTlsConfig,
    pub client: ClientTlsConfig,
}

impl PeerAuth {
    /// `secret` must be a valid header value: printable ASCII.
    pub fn new(secret: Option<&str>, tls: Option<GrpcTls>) -> Result<PeerAuth, String> {
        let secret = match secret {
            None => None,
            Some(s) if s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => {
                Some(MetadataValue::try_from(s).map_err(|_| "cluster-secret must be printable ASCII".to_string())?)
            }
            Some(_) => return Err("cluster-secret must be printable ASCII".into()),
        };
        Ok(PeerAuth { secret, tls })
    }

    /// The interceptor of the channels: adds the secret to every request.
    pub fn stamp(&self) -> Stamp {
        Stamp(self.secret.clone())
    }

    /// The interceptor of the server: refuses requests without the secret.
    pub fn check(&self) -> Check {
        Check { secret: self.secret.clone(), refused: Arc::default(), last_log: Arc::default() }
    }
}

/// Adds the cluster secret (if any) to an outgoing request.
#[derive(Clone)]
pub struct Stamp(Option<MetadataValue<Ascii>>);

impl Interceptor for Stamp {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(s) = &self.0 {
            req.metadata_mut().insert(SECRET_HEADER, s.clone());
        }
        Ok(req)
    }
}

/// Refuses, as `unauthenticated`, an incoming request that lacks the secret (when one is set).
#[derive(Clone)]
pub struct Check {
    secret: Option<MetadataValue<Ascii>>,
    refused: Arc<AtomicU64>,
    last_log: Arc<AtomicU64>,
}

impl Interceptor for Check {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let Some(secret) = &self.secret else { return Ok(req) };
        let given = req.metadata().get(SECRET_HEADER);
        if given.is_some_and(|g| ct_eq(g.as_bytes(), secret.as_bytes())) {
            return Ok(req);
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let last = self.last_log.load(Ordering::Relaxed);
        if now >= last + LOG_EVERY_SECS
            && self.last_log.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            let peer = req.remote_addr().map(|a| a.to_string()).unwrap_or_else(|| "an unknown address".into());
            let why = if given.is_some() { "a wrong" } else { "no" };
            let n = self.refused.swap(0, Ordering::Relaxed);
            tracing::warn!(
                "refused a gRPC request from {peer} with {why} cluster secret ({n} refused since last logged)"
            );
        }
        Err(Status::unauthenticated("wrong or missing cluster secret"))
    }
}

/// Compares without returning early, so the time taken does not tell how much of a guess
/// was right (only whether the length was).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_wants_the_exact_secret() {
        let auth = PeerAuth::new(Some("s3cret"), None).unwrap();
        let mut check = auth.check();
        let stamped = auth.stamp().call(Request::new(())).unwrap();
        assert!(check.call(stamped).is_ok());
        let bare = check.call(Request::new(())).unwrap_err();
        assert_eq!(bare.code(), tonic::Code::Unauthenticated);
        let wrong = PeerAuth::new(Some("s3creT"), None).unwrap().stamp().call(Request::new(())).unwrap();
        assert_eq!(check.call(wrong).unwrap_err().code(), tonic::Code::Unauthenticated);
        let longer = PeerAuth::new(Some("s3cret!"), None).unwrap().stamp().call(Request::new(())).unwrap();
        assert!(check.call(longer).is_err());
        // Without a secret everything passes and nothing is added.
        let open = PeerAuth::default();
        let req = open.stamp().call(Request::new(())).unwrap();
        assert!(req.metadata().get(SECRET_HEADER).is_none());
        assert!(open.check().call(req).is_ok());
        assert!(PeerAuth::new(Some("tab\there"), None).is_err());
    }
}
