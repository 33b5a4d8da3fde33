//! The server's prost messages (no gRPC services), generated as the server's build.rs does.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    prost_build::Config::new().bytes(["."]).compile_protos(&["../../proto/raft.proto"], &["../../proto"])?;
    Ok(())
}
