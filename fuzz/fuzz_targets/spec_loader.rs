//! Any text as a collection file (and as a `_database.yaml`): loading and checking never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mongrate::spec::{DatabaseSource, check_sources};
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = check_sources(&[DatabaseSource {
        name: "app".into(),
        database_file: Some((PathBuf::from("app/_database.yaml"), text.to_string())),
        collection_files: vec![(PathBuf::from("app/things.yaml"), text.to_string())],
        unreadable: Vec::new(),
    }]);
    // What a valid spec goes on to: lowering and validator generation must not panic either.
    if !loaded.has_errors() {
        let _ = mongrate::spec::to_model(&loaded.spec);
        for db in loaded.spec.databases.values() {
            for c in db.collections.values() {
                let _ = mongrate::jsonschema::collection_validator(c);
                let _ = mongrate::audit::pipeline(c, &mongrate::jsonschema::collection_validator(c), Some(10), 5);
                let _ = mongrate::backfill::update_pipeline(&mongrate::backfill::collection_defaults(c));
            }
        }
    }
});
