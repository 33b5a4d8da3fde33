//! Raft and cluster messages from arbitrary bytes through their conversions (see
//! `fuzzing::raft_messages`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    redraft_fuzz::fuzzing::raft_messages(data);
});
