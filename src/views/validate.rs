//! `validate` (every problem of the schema files) and `validator` (the `$jsonSchema` a
//! collection gets).

use super::{Text, TextOptions, View, count, exit};
use crate::spec::Diagnostic;
use serde::Serialize;

/// `mongrate validate`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ValidateReport {
    pub valid: bool,
    /// Databases declared.
    pub databases: usize,
    /// Collections declared.
    pub collections: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Every problem, with its file, line and column.
    pub diagnostics: Vec<Diagnostic>,
    /// What was validated, as the text names it (`` `schemas` ``, `the given files`).
    #[serde(skip)]
    #[schemars(skip)]
    pub what: String,
}

impl View for ValidateReport {
    fn command(&self) -> &'static str {
        "validate"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        for d in &self.diagnostics {
            t.errln(d.to_string());
        }
        if self.errors == 0 {
            t.outln(format!(
                "ok: {}, {} in {}{}",
                count(self.databases, "database"),
                count(self.collections, "collection"),
                self.what,
                if self.warnings > 0 {
                    format!(", {}", count(self.warnings, "warning"))
                } else {
                    String::new()
                }
            ));
        } else {
            t.errln(format!(
                "{}, {} in {}",
                count(self.errors, "error"),
                count(self.warnings, "warning"),
                self.what
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        if self.errors == 0 {
            exit::OK
        } else {
            exit::ERROR
        }
    }
}

/// `mongrate validator DB.COLLECTION`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ValidatorReport {
    pub database: String,
    pub collection: String,
    /// `strict`, `moderate` or `off`.
    pub validation_level: String,
    /// `error` or `warn`.
    pub validation_action: String,
    /// `{ "$jsonSchema": { ... } }`, as relaxed Extended JSON.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub validator: serde_json::Value,
    #[serde(skip)]
    #[schemars(skip)]
    pub document: bson::Document,
}

impl View for ValidatorReport {
    fn command(&self) -> &'static str {
        "validator"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        t.outln(crate::extjson::to_relaxed_pretty(&self.document));
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}
