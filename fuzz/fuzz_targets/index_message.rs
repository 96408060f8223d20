#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_p2p::fuzz::index_message(data));
