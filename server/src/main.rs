//! redraft-server: a strongly consistent, Redis-compatible key-value server.
//!
//! Every write is proposed to a region's Raft group (openraft) and acknowledged only once it
//! is committed in the RocksDB-backed log and applied; reads are linearizable.

mod admin;
mod clients;
mod cluster;
mod cmd;
mod config;
mod error;
mod expire;
#[cfg(test)]
mod fuzzing;
mod lifecycle;
mod net;
mod node;
mod raft;
mod resp;
mod store;

use std::io::Write;

/// Small, short-lived allocations dominate the request path; mimalloc measured faster than
/// glibc malloc for them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

fn main() -> anyhow::Result<()> {
    let config = match config::Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("redraft-server: {}", e.trim_end());
            std::process::exit(1);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,redraft_server=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Err(e) = rt.block_on(run(config)) {
        eprintln!("redraft-server: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

async fn run(config: config::Config) -> anyhow::Result<()> {
    // A bad TLS file stops the start before anything listens.
    let acceptor = net::tls::resp_acceptor(&config)?;
    let plain = match config.port {
        0 => None,
        port => Some(TcpListener::bind((config.bind.as_str(), port)).await?),
    };
    let tls = match acceptor {
        Some(a) => Some((
            TcpListener::bind((config.bind.as_str(), config.tls_port))
                .await
                .map_err(|e| anyhow::anyhow!("tls-port {}: {e}", config.tls_port))?,
            a,
        )),
        None => None,
    };
    // The address the readiness line names: the plain port's, else the TLS port's.
    let addr = match (&plain, &tls) {
        (Some(l), _) | (None, Some((l, _))) => l.local_addr()?,
        (None, None) => anyhow::bail!("configured to not listen anywhere"),
    };
    let admin = match config.admin_port {
        Some(port) => Some(
            TcpListener::bind((config.bind.as_str(), port))
                .await
                .map_err(|e| anyhow::anyhow!("admin port {port}: {e}"))?,
        ),
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    raft::region::set_snapshot_entries(config.snapshot_entries);
    let node = match config.grpc_port {
        None => node::Node::open_standalone(config).await?,
        Some(grpc_port) => {
            let grpc = TcpListener::bind((config.bind.as_str(), grpc_port)).await?;
            let port = grpc.local_addr()?.port();
            let node = node::Node::open_cluster(config, port).await?;
            lifecycle::serve(&node);
            let cluster = node.cluster.clone().expect("cluster mode");
            let mut stop = stop_rx.clone();
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let c = cluster.clone();
            tokio::spawn(async move {
                if let Err(e) = raft::grpc::serve(grpc, c.registry.clone(), &c.auth, shutdown).await {
                    // Without its Raft transport the node cannot replicate or vote: exit rather
                    // than serve RESP as a node that looks up but never commits.
                    tracing::error!("gRPC server: {e:#}");
                    eprintln!("redraft-server: gRPC server: {e:#}");
                    std::process::exit(1);
                }
            });
            tokio::spawn(cluster.clone().discover());
            // A new node joins before it says it is ready: a refusal ends the start.
            node.join().await?;
            let (n, stop) = (node.clone(), stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) = n.open_layout(stop).await {
                    // Without its regions the node is of no use: exit like a failed start.
                    eprintln!("redraft-server: opening the regions: {e:#}");
                    std::process::exit(1);
                }
            });
            node
        }
    };
    if let Some(admin) = admin {
        let mut stop = stop_rx.clone();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        tokio::spawn(admin::serve(admin, node.clone(), shutdown));
    }
    if node.cluster.is_none() {
        expire::spawn(node.clone(), stop_rx.clone());
    }
    let listeners = net::listener::Listeners { plain, tls };
    let server = tokio::spawn(net::listener::run(node.clone(), listeners, stop_rx));
    // Installed before the readiness line: a SIGTERM right after it must stop us cleanly.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tracing::info!(node_id = %node.node_id, "serving RESP on {addr}");
    // The readiness line scripts and tests wait for: printed once the region leads and has
    // applied its log, so the first request already sees every acknowledged write.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "REDRAFT_READY {addr}")?;
        out.flush()?;
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = server.await;
    for r in node.regions().iter().chain(node.meta.as_ref()) {
        let _ = r.raft.shutdown().await;
    }
    node.engine.io.sync().await?;
    Ok(())
}
