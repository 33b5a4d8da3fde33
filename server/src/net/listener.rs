//! Accepts RESP clients until shutdown.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::connection;
use crate::cmd::Session;
use crate::node::Node;

/// Serves clients on `listener` until `shutdown` turns true.
pub async fn run(node: Arc<Node>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let conn_stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        continue;
                    }
                };
                let node = node.clone();
                // Ids are given in accept order, like Redis.
                let id = node.next_client_id();
                let mut stop = conn_stop.clone();
                tokio::spawn(async move {
                    node.stats.connections_received.fetch_add(1, Ordering::Relaxed);
                    node.stats.connected_clients.fetch_add(1, Ordering::Relaxed);
                    let session = Session::new(id, node.auth_required());
                    tokio::select! {
                        _ = connection::serve(&node, stream, session) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                    node.stats.connected_clients.fetch_sub(1, Ordering::Relaxed);
                });
            }
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
