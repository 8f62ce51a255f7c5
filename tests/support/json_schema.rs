//! A small JSON Schema (2020-12) checker for the documented output shapes in `docs/json/`.
//! It implements the keywords those files use and refuses any other, so a schema can never
//! rely on a keyword that is silently not checked.

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "$defs",
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "oneOf",
    "anyOf",
    "format",
    "default",
    "minProperties",
    "minItems",
    "maxItems",
    "maximum",
];

/// Every way `value` breaks `schema` (empty when it conforms). `root` resolves `$ref`s.
pub fn check(root: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if schema == &Value::Bool(true) {
        return Vec::new();
    }
    let Some(s) = schema.as_object() else {
        return vec![format!("{at}: schema is not an object")];
    };
    for k in s.keys() {
        assert!(
            KNOWN.contains(&k.as_str()),
            "schema keyword `{k}` is not supported by this checker"
        );
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        let target = &root["$defs"][name];
        assert!(
            target.is_object() || target.is_boolean(),
            "$ref {r} not found"
        );
        errs.extend(check(root, target, value, at));
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            other => panic!("unknown type {other}"),
        });
        if !ok {
            errs.push(format!("{at}: {value} is not {types:?}"));
            return errs;
        }
    }
    if let Some(c) = s.get("const")
        && c != value
    {
        errs.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        errs.push(format!("{at}: {value} is not one of {e:?}"));
    }
    if let Some(m) = s.get("minimum").and_then(Value::as_f64)
        && value.as_f64().is_some_and(|v| v < m)
    {
        errs.push(format!("{at}: {value} < {m}"));
    }
    if let Some(obj) = value.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errs.push(format!("{at}: missing `{r}`"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => errs.extend(check(root, ps, v, &format!("{at}.{k}"))),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{at}: unexpected `{k}`")),
                    Some(a @ Value::Object(_)) => {
                        errs.extend(check(root, a, v, &format!("{at}.{k}")))
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(m), Some(o)) = (
        s.get("minProperties").and_then(Value::as_u64),
        value.as_object(),
    ) && (o.len() as u64) < m
    {
        errs.push(format!("{at}: fewer than {m} keys"));
    }
    if let (Some(m), Some(a)) = (s.get("minItems").and_then(Value::as_u64), value.as_array())
        && (a.len() as u64) < m
    {
        errs.push(format!("{at}: fewer than {m} items"));
    }
    if let (Some(m), Some(a)) = (s.get("maxItems").and_then(Value::as_u64), value.as_array())
        && (a.len() as u64) > m
    {
        errs.push(format!("{at}: more than {m} items"));
    }
    if let Some(m) = s.get("maximum").and_then(Value::as_f64)
        && value.as_f64().is_some_and(|v| v > m)
    {
        errs.push(format!("{at}: {value} > {m}"));
    }
    if let (Some(items), Some(arr)) = (s.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            errs.extend(check(root, items, v, &format!("{at}[{i}]")));
        }
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|o| check(root, o, value, at).is_empty())
    {
        errs.push(format!("{at}: matches none of anyOf"));
    }
    if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
        let results: Vec<Vec<String>> = one.iter().map(|o| check(root, o, value, at)).collect();
        let matching = results.iter().filter(|r| r.is_empty()).count();
        if matching != 1 {
            errs.push(format!(
                "{at}: matches {matching} of oneOf; closest: {:?}",
                results
                    .iter()
                    .min_by_key(|r| r.len())
                    .cloned()
                    .unwrap_or_default()
            ));
        }
    }
    errs
}

/// Check a command's JSON output against `docs/json/<command>.schema.json`.
pub fn assert_shape(command: &str, output: &[u8]) {
    let text = String::from_utf8_lossy(output);
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("`{command}` printed no single JSON document ({e}): {text}"));
    let path = super::repo()
        .join("docs/json")
        .join(format!("{}.schema.json", command.replace(' ', "-")));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let errs = check(&schema, &schema, &value, "$");
    assert!(
        errs.is_empty(),
        "`{command}` output does not match {}:\n{}\n{text}",
        path.display(),
        errs.join("\n")
    );
    assert_eq!(value["command"], command, "{text}");
}
