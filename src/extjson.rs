//! MongoDB Extended JSON in and out: reading fixture files and printing documents.

use bson::{Bson, Document};

/// Errors reading Extended JSON.
#[derive(Debug, thiserror::Error)]
pub enum ExtJsonError {
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{0}")]
    Shape(String),
}

/// Parse a JSON text holding an array of Extended JSON documents (canonical or relaxed).
pub fn parse_documents(text: &str) -> Result<Vec<Document>, ExtJsonError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ExtJsonError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    let serde_json::Value::Array(items) = value else {
        return Err(ExtJsonError::Shape(
            "expected a JSON array of documents".into(),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match to_bson(item) {
            Ok(Bson::Document(d)) => Ok(d),
            Ok(other) => Err(ExtJsonError::Shape(format!(
                "element {i} is {}, expected a document",
                other.element_type() as u8
            ))),
            Err(e) => Err(ExtJsonError::Shape(format!("element {i}: {e}"))),
        })
        .collect()
}

/// Convert one Extended JSON value to BSON.
pub fn to_bson(value: serde_json::Value) -> Result<Bson, String> {
    Bson::try_from(value).map_err(|e| e.to_string())
}

/// A document as indented relaxed Extended JSON (what `mongosh` users read).
pub fn to_relaxed_pretty(doc: &Document) -> String {
    let mut value = Bson::Document(doc.clone()).into_relaxed_extjson();
    as_written(&mut value);
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
}

/// Whole numbers shown as people write them: `100`, not `100.0` (a double with no fraction,
/// as `mongosh` reads `100` anyway).
fn as_written(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && n.is_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(as_written),
        serde_json::Value::Object(map) => map.values_mut().for_each(as_written),
        _ => {}
    }
}

/// A document as compact relaxed Extended JSON (one line, what a server accepts back).
pub fn to_relaxed_compact(doc: &Document) -> String {
    Bson::Document(doc.clone())
        .into_relaxed_extjson()
        .to_string()
}
