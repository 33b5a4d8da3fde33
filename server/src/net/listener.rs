//! Accepts RESP clients, in plain text on `port` and over TLS on `tls-port`, until shutdown.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::connection;
use crate::clients::ClientInfo;
use crate::cmd::Session;
use crate::node::Node;

/// Redis 7's refusal of a non-loopback client in protected mode, word for word.
pub const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no \
password is set for the default user. In this mode connections are only accepted from the loopback interface. If \
you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable \
protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis \
from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you \
do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by \
editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the \
server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. \
4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in \
order for the server to start accepting connections from the outside.\r\n";

/// A TLS handshake that takes longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The RESP listeners: plain text, TLS, or both.
pub struct Listeners {
    pub plain: Option<TcpListener>,
    pub tls: Option<(TcpListener, TlsAcceptor)>,
}

/// Serves clients on the listeners until `shutdown` turns true.
pub async fn run(node: Arc<Node>, listeners: Listeners, mut shutdown: watch::Receiver<bool>) {
    let conn_stop = shutdown.clone();
    let (plain, tls) = (listeners.plain, listeners.tls);
    loop {
        let (accepted, acceptor) = tokio::select! {
            a = accept(plain.as_ref()) => (a, None),
            a = accept(tls.as_ref().map(|(l, _)| l)) => (a, tls.as_ref().map(|(_, t)| t.clone())),
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let (mut stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("accept: {e}");
                continue;
            }
        };
        if node.clients.len() >= node.config.maxclients {
            node.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
                let _ = stream.shutdown().await;
            });
            continue;
        }
        let _ = stream.set_nodelay(true);
        node.stats.connections_received.fetch_add(1, Ordering::Relaxed);
        if denied(&node, &peer) {
            // Like Redis: counted as rejected, answered (over TLS on the TLS port) and closed.
            node.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                match acceptor {
                    None => deny(stream).await,
                    Some(a) => {
                        if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, a.accept(stream)).await {
                            deny(tls).await
                        }
                    }
                }
            });
            continue;
        }
        let node = node.clone();
        // Ids are given in accept order, like Redis.
        let id = node.next_client_id();
        let laddr = stream.local_addr().unwrap_or(peer);
        let info = Arc::new(ClientInfo::new(id, peer, laddr, stream.as_raw_fd()));
        // Counted from the accept on (a TLS handshake in progress included), like Redis.
        node.clients.add(info.clone());
        let mut stop = conn_stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(&node, stream, acceptor, &info) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            node.clients.remove(id);
        });
    }
}

/// Accepts on `listener`; never resolves without one.
async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Completes the TLS handshake, if any, and serves the client.
async fn serve(node: &Node, stream: TcpStream, acceptor: Option<TlsAcceptor>, info: &ClientInfo) {
    let Some(acceptor) = acceptor else {
        return serve_client(node, stream, info).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => serve_client(node, tls, info).await,
        // Redis logs a failed handshake at verbose level; a port scanner must not flood the log.
        Ok(Err(e)) => tracing::debug!(client = info.id, peer = %info.addr, "TLS handshake failed: {e}"),
        Err(_) => tracing::debug!(client = info.id, peer = %info.addr, "TLS handshake timed out"),
    }
}

/// Protected mode (Redis 7's rule): without a password only loopback clients are served;
/// anyone else gets `-DENIED` and is closed.
fn denied(node: &Node, peer: &SocketAddr) -> bool {
    node.config.protected_mode && !node.auth_required() && !peer.ip().to_canonical().is_loopback()
}

async fn deny<S: AsyncWrite + Unpin>(mut stream: S) {
    let _ = stream.write_all(DENIED.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn serve_client<S: AsyncRead + AsyncWrite + Unpin>(node: &Node, stream: S, info: &ClientInfo) {
    let session = Session::new(info.id, node.auth_required());
    connection::serve(node, stream, session, info).await;
}
