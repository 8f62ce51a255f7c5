//! Writing YAML the way the repository's hand-written schemas are written: leaf fields as one
//! flow mapping per line, objects and lists of objects as blocks, plain scalars wherever YAML
//! reads them back as the same string, single quotes otherwise. Deterministic: the same input
//! always gives the same bytes.

use bson::{Bson, Document};

/// A string as a YAML scalar that reads back as that same string.
pub fn scalar(s: &str) -> String {
    if needs_quotes(s) {
        if s.chars().any(|c| c.is_control()) {
            // Double quotes, the only style with escapes.
            serde_json::to_string(s).unwrap_or_else(|_| format!("'{}'", s.replace('\'', "''")))
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    // What the core schema would read as something else.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "~" | "null"
            | "true"
            | "false"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
    ) {
        return true;
    }
    if s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o") {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`$".contains(first)
        && !(first == '$'
            && s.len() > 1
            && s[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*' || c == '.'))
    {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    // Flow context: these end a plain scalar inside `{ }` and `[ ]`.
    s.chars()
        .any(|c| matches!(c, ',' | '[' | ']' | '{' | '}' | '\t') || c.is_control())
}

/// A key (field name, index key path) as YAML.
pub fn key(s: &str) -> String {
    scalar(s)
}

/// A BSON value as flow YAML. Numbers and strings stay what they are; types YAML cannot say
/// (dates, ObjectIds, ...) are written as relaxed Extended JSON mappings.
pub fn value(b: &Bson) -> String {
    match b {
        Bson::Null => "null".into(),
        Bson::Boolean(v) => v.to_string(),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(d) => {
            if d.is_nan() {
                ".nan".into()
            } else if d.is_infinite() {
                if *d > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            } else if d.fract() == 0.0 && d.abs() < 1e15 {
                format!("{d:.1}")
            } else {
                d.to_string()
            }
        }
        Bson::String(s) => scalar(s),
        Bson::Array(items) => {
            if items.is_empty() {
                "[]".into()
            } else {
                format!(
                    "[{}]",
                    items.iter().map(value).collect::<Vec<_>>().join(", ")
                )
            }
        }
        Bson::Document(d) => flow(d),
        other => {
            // { $date: ... }, { $oid: ... }, ...
            match other.clone().into_relaxed_extjson() {
                serde_json::Value::Object(m) => {
                    let d: Document = m
                        .into_iter()
                        .map(|(k, v)| (k, Bson::try_from(v).unwrap_or(Bson::Null)))
                        .collect();
                    let inner: Vec<String> = d
                        .iter()
                        .map(|(k, v)| match v {
                            Bson::Document(_) | Bson::Array(_) => {
                                format!("{}: {}", key(k), value(v))
                            }
                            Bson::String(s) => format!("{}: {}", key(k), scalar(s)),
                            other => format!("{}: {}", key(k), other),
                        })
                        .collect();
                    format!("{{ {} }}", inner.join(", "))
                }
                v => scalar(&v.to_string()),
            }
        }
    }
}

/// A document as a flow mapping: `{ a: 1, b: [x, y] }` (`{}` when empty).
pub fn flow(d: &Document) -> String {
    if d.is_empty() {
        return "{}".into();
    }
    format!(
        "{{ {} }}",
        d.iter()
            .map(|(k, v)| format!("{}: {}", key(k), value(v)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A flow mapping from already-rendered `key: value` pairs.
pub fn flow_pairs(pairs: &[(String, String)]) -> String {
    format!(
        "{{ {} }}",
        pairs
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Seconds as the shortest duration the spec reads back exactly: `90d`, `12h`, `30m`, or a
/// number of seconds.
pub fn duration(secs: i64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs > 0 && secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    secs.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rendering reads back as the same value.
    #[test]
    fn scalars_read_back_as_written() {
        for s in [
            "plain",
            "with space",
            "true",
            "null",
            "12",
            "1.5",
            "",
            " lead",
            "a: b",
            "#x",
            "-x",
            "[x]",
            "a,b",
            "it's",
            "line\nbreak",
            "tab\there",
            "$**",
            "$x",
            "*",
            "yes",
            "0x10",
            "é",
            "a#b",
            "a #b",
            "x:",
        ] {
            let text = format!("v: {}\n", scalar(s));
            let back: std::collections::BTreeMap<String, String> =
                crate::yaml::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(back["v"], s, "{text:?}");
        }
    }

    #[test]
    fn values_and_durations() {
        let d = bson::doc! { "a": 1, "b": [true, "x y"], "c": { "$exists": false }, "d": 2.0 };
        assert_eq!(
            flow(&d),
            "{ a: 1, b: [true, x y], c: { $exists: false }, d: 2.0 }"
        );
        assert_eq!(duration(7_776_000), "90d");
        assert_eq!(duration(7200), "2h");
        assert_eq!(duration(61), "61");
    }
}
