//! `mongrate validator DB.COLLECTION`: print the generated `$jsonSchema`.

use super::out::outln;
use super::{UsageError, exit, load_valid_spec, print_json, split_target};
use crate::cli::{Format, ValidatorArgs};
use crate::extjson;
use crate::spec::jsonschema;
use anyhow::Result;

pub fn run(global: &super::Settings, args: &ValidatorArgs) -> Result<i32> {
    let (db, coll) = split_target(&args.target)?;
    let loaded = load_valid_spec(&global.schemas, &global.state_db)?;
    let Some(spec) = loaded.spec.collection(db, coll) else {
        let known: Vec<String> = loaded
            .spec
            .databases
            .values()
            .flat_map(|d| d.collections.keys().map(move |c| format!("{}.{c}", d.name)))
            .collect();
        return Err(UsageError(format!(
            "no collection `{db}.{coll}` in `{}`; known: {}",
            global.schemas.display(),
            known.join(", ")
        ))
        .into());
    };
    let Some(validator) = jsonschema::declared_validator(spec) else {
        return Err(UsageError(format!(
            "`{db}.{coll}` has no validator (`validation: {{ enabled: false }}`, or a view)"
        ))
        .into());
    };
    match global.format {
        Format::Text | Format::Github => outln!("{}", extjson::to_relaxed_pretty(&validator)),
        Format::Json => print_json(
            "validator",
            &serde_json::json!({
                "database": db,
                "collection": coll,
                "validation_level": spec.validation.level.as_str(),
                "validation_action": spec.validation.action.as_str(),
                "validator": bson::Bson::Document(validator).into_relaxed_extjson(),
            }),
        ),
    }
    Ok(exit::OK)
}
