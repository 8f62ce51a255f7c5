//! `mongrate validator DB.COLLECTION`: print the generated `$jsonSchema`.

use super::{exit, load_valid_spec};
use crate::cli::{Format, GlobalArgs, ValidatorArgs};
use crate::{extjson, jsonschema};
use anyhow::{Result, bail};

pub fn run(global: &GlobalArgs, args: &ValidatorArgs) -> Result<i32> {
    let Some((db, coll)) = args.target.split_once('.') else {
        bail!(
            "`{}`: expected <database>.<collection>, e.g. workflowai.contacts",
            args.target
        );
    };
    let loaded = load_valid_spec(&global.schemas)?;
    let Some(spec) = loaded.spec.collection(db, coll) else {
        let known: Vec<String> = loaded
            .spec
            .databases
            .values()
            .flat_map(|d| d.collections.keys().map(move |c| format!("{}.{c}", d.name)))
            .collect();
        bail!(
            "no collection `{db}.{coll}` in `{}`; known: {}",
            global.schemas.display(),
            known.join(", ")
        );
    };
    if !spec.validation.enabled {
        bail!("`{db}.{coll}` has `validation: {{ enabled: false }}`: it has no validator");
    }
    let validator = jsonschema::collection_validator(spec);
    match global.format {
        Format::Text => println!("{}", extjson::to_relaxed_pretty(&validator)),
        Format::Json => println!("{}", extjson::to_canonical_compact(&validator)),
    }
    Ok(exit::OK)
}
