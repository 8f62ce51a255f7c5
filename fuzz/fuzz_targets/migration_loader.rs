//! Any text as a migration file: parsing and checking never panic; a parsed file replays.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = mongrate::migrate::parse(Path::new("20250101000000_fuzz.yaml"), text) {
        let _ = mongrate::migrate::replay::replay([&m]);
        for op in m.file.up.iter().chain(&m.file.down) {
            let _ = op.summary();
        }
    }
});
