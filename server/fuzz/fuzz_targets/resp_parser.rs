//! The RESP request parser on arbitrary bytes, limits and read sizes (see `fuzzing::resp_parser`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    redraft_fuzz::fuzzing::resp_parser(data, Some(&redraft_fuzz::peak));
});
