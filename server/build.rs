//! Generates the prost messages and tonic services from `../proto` and compiles the small C
//! helper for long double arithmetic (INCRBYFLOAT).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto");
    println!("cargo:rerun-if-changed=csrc");
    tonic_prost_build::configure().bytes(".").compile_protos(&["../proto/raft.proto"], &["../proto"])?;
    cc::Build::new().file("csrc/ldouble.c").warnings(true).compile("redraft_ldouble");
    Ok(())
}
