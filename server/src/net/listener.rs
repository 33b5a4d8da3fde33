//! Accepts RESP clients until shutdown.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::os::fd::AsRawFd;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::connection;
use crate::clients::ClientInfo;
use crate::cmd::Session;
use crate::node::Node;

/// Serves clients on `listener` until `shutdown` turns true.
pub async fn run(node: Arc<Node>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let conn_stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
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
                let node = node.clone();
                // Ids are given in accept order, like Redis.
                let id = node.next_client_id();
                let laddr = stream.local_addr().unwrap_or(peer);
                let info = Arc::new(ClientInfo::new(id, peer, laddr, stream.as_raw_fd()));
                node.clients.add(info.clone());
                let mut stop = conn_stop.clone();
                tokio::spawn(async move {
                    node.stats.connections_received.fetch_add(1, Ordering::Relaxed);
                    let session = Session::new(id, node.auth_required());
                    tokio::select! {
                        _ = connection::serve(&node, stream, session, &info) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                    node.clients.remove(id);
                });
            }
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
