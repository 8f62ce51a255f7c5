//! The validator canary, the pure part: before a staged validator switches from `warn` to its
//! declared action, live writes are watched for a while (`apply --rollout --watch 10m`) and the
//! documents they wrote are checked against the candidate validator by the server; the switch
//! is refused above a threshold (`--max-invalid`). Here: the threshold, the per-field checks
//! that say which fields made a write invalid, and the decision.

use bson::{Bson, Document, doc};
use serde::Serialize;

/// How many invalid writes the switch tolerates: a count, or a share of the writes watched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(u64),
    Percent(f64),
}

impl Threshold {
    /// `0`, `25`, `1%`, `0.5%`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Ok(Self::Percent(v)),
                _ => Err(format!(
                    "`{s}` is not a percentage between 0% and 100% (e.g. `1%`)"
                )),
            },
            None => s.parse::<u64>().map(Self::Count).map_err(|_| {
                format!("`{s}` is not a count or a percentage (e.g. `0`, `10`, `1%`)")
            }),
        }
    }

    pub fn show(&self) -> String {
        match self {
            Self::Count(n) => n.to_string(),
            Self::Percent(p) => format!("{p}%"),
        }
    }

    /// Does `invalid` of `writes` stay within the threshold?
    pub fn allows(&self, invalid: u64, writes: u64) -> bool {
        match self {
            Self::Count(n) => invalid <= *n,
            Self::Percent(p) => writes == 0 || (invalid as f64) * 100.0 <= p * writes as f64,
        }
    }
}

/// A watch period: `90s`, `10m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. `90s`, `10m`, `1h`)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}`: the unit is s, m or h (e.g. `10m`)")),
    };
    if secs == 0 {
        return Err("a watch of 0 seconds sees nothing; give a period such as `10m`".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// What the canary saw on one collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Canary {
    /// Seconds watched.
    pub seconds: u64,
    /// Documents written (inserted, updated, replaced) while watching.
    pub writes: u64,
    /// Of those, the ones the candidate validator refuses.
    pub invalid: u64,
    /// Per top-level field (and `(other fields)` where none but the declared are allowed):
    /// invalid documents that field alone makes invalid.
    pub by_field: Vec<FieldCount>,
    /// The threshold, as given (`0`, `1%`).
    pub max_invalid: String,
    /// Within the threshold: the switch proceeds.
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FieldCount {
    pub field: String,
    pub documents: u64,
}

/// One query per top-level field of a `$jsonSchema` validator: the documents that field makes
/// invalid (its own schema, and its being required), and one for fields the schema does not
/// allow (`additionalProperties: false`).
pub fn field_checks(validator: &Document) -> Vec<(String, Document)> {
    let Ok(schema) = validator.get_document("$jsonSchema") else {
        return Vec::new();
    };
    let required: Vec<&str> = schema
        .get_array("required")
        .map(|r| r.iter().filter_map(Bson::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    let props = schema.get_document("properties").ok();
    for (name, s) in props.into_iter().flatten() {
        let Some(s) = s.as_document() else { continue };
        let mut one = doc! { "properties": { name: s.clone() } };
        if required.contains(&name.as_str()) {
            one.insert("required", vec![name.clone()]);
        }
        out.push((name.clone(), doc! { "$nor": [{ "$jsonSchema": one }] }));
    }
    for name in required {
        if !props.is_some_and(|p| p.contains_key(name)) {
            out.push((
                name.to_string(),
                doc! { "$nor": [{ "$jsonSchema": { "required": [name] } }] },
            ));
        }
    }
    if schema.get_bool("additionalProperties") == Ok(false) {
        let allowed: Document = props
            .map(|p| {
                p.keys()
                    .map(|k| (k.clone(), Bson::Document(Document::new())))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            "(other fields)".to_string(),
            doc! { "$nor": [{ "$jsonSchema": { "additionalProperties": false, "properties": allowed } }] },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_periods() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("2").unwrap().as_secs(), 2);
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10d").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn thresholds_are_counts_or_shares() {
        assert_eq!(Threshold::parse("0"), Ok(Threshold::Count(0)));
        assert_eq!(Threshold::parse("1%"), Ok(Threshold::Percent(1.0)));
        assert!(Threshold::parse("101%").is_err());
        assert!(Threshold::parse("some").is_err());
        assert!(Threshold::Percent(1.0).allows(1, 100));
        assert!(!Threshold::Percent(1.0).allows(2, 100));
        assert!(!Threshold::Count(0).allows(1, 1000));
        assert!(
            Threshold::Percent(0.0).allows(0, 0),
            "nothing written: nothing refused"
        );
    }

    #[test]
    fn each_field_has_its_own_check() {
        let v = doc! { "$jsonSchema": {
            "required": ["email", "plan"], "additionalProperties": false,
            "properties": { "_id": {}, "email": { "bsonType": "string" } },
        } };
        let checks = field_checks(&v);
        let names: Vec<&str> = checks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["_id", "email", "plan", "(other fields)"]);
        assert_eq!(
            checks[1].1,
            doc! { "$nor": [{ "$jsonSchema": { "properties": { "email": { "bsonType": "string" } }, "required": ["email"] } }] }
        );
    }
}
