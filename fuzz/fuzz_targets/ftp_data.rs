#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| posthaste::fuzzing::ftp_data(data));
