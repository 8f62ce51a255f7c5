//! A command's JSON output checked against its documented shape in `docs/json/` (generated
//! from the report types), with a maintained JSON Schema validator.

use serde_json::Value;

/// Check a command's JSON output against `docs/json/<command>.schema.json`.
#[allow(dead_code)]
pub fn assert_shape(command: &str, output: &[u8]) {
    let text = String::from_utf8_lossy(output);
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("`{command}` printed no single JSON document ({e}): {text}"));
    let path = super::repo()
        .join("docs/json")
        .join(format!("{}.schema.json", command.replace(' ', "-")));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()));
    let errs: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errs.is_empty(),
        "`{command}` output does not match {}:\n{}\n{text}",
        path.display(),
        errs.join("\n")
    );
    assert_eq!(value["command"], command, "{text}");
}

/// Every way `value` breaks `schema` (empty when it conforms), with the draft the schema names.
#[allow(dead_code)]
pub fn check(schema: &Value, value: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema)
        .unwrap_or_else(|e| panic!("not a valid JSON Schema: {e}"));
    validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
