//! Any text as `mongrate.yaml`: parsing never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = mongrate::yaml::from_str::<mongrate::commands::config::ConfigFile>(text);
    let _ = mongrate::redact::redact_uri(text);
    let _ = mongrate::redact::secrets(text);
});
