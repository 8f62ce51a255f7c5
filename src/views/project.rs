//! The project's commands: `init`, `schema-json`, `completions`, `man`, and `seed`.

use super::{Text, TextOptions, View, count, exit};
use serde::Serialize;

/// `mongrate init`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InitReport {
    /// The files written, relative to the project.
    pub written: Vec<String>,
}

impl View for InitReport {
    fn command(&self) -> &'static str {
        "init"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        for p in &self.written {
            t.outln(format!("wrote {p}"));
        }
        t.errln("Next: `mongrate pull` writes schemas/ from your server (then `mongrate check`).");
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// `mongrate schema-json`: the editor schemas, or (with `--write`) the files written.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SchemaJsonReport {
    /// The JSON Schema of each file format, by format (`collection`, `database`,
    /// `migration`, `config`).
    Schemas {
        schemas: serde_json::Map<String, serde_json::Value>,
        /// `--kind`: the text is that one schema.
        #[serde(skip)]
        #[schemars(skip)]
        one: Option<serde_json::Value>,
    },
    /// `--write DIR`: the files written.
    Written { written: Vec<String> },
}

impl View for SchemaJsonReport {
    fn command(&self) -> &'static str {
        "schema-json"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        match self {
            SchemaJsonReport::Schemas { one: Some(one), .. } => {
                t.outln(serde_json::to_string_pretty(one).unwrap_or_default())
            }
            SchemaJsonReport::Schemas { schemas, .. } => {
                t.outln(serde_json::to_string_pretty(schemas).unwrap_or_default())
            }
            SchemaJsonReport::Written { written } => {
                for p in written {
                    t.outln(p);
                }
            }
        }
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// `mongrate completions SHELL`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CompletionsReport {
    /// The completion script.
    pub script: String,
}

impl View for CompletionsReport {
    fn command(&self) -> &'static str {
        "completions"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        t.out(self.script.clone());
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// `mongrate man`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ManReport {
    /// The manual page, as roff.
    pub roff: String,
}

impl View for ManReport {
    fn command(&self) -> &'static str {
        "man"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        t.out(self.roff.clone());
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

/// What `seed` loaded into one collection.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SeedReport {
    pub database: String,
    pub collection: String,
    pub inserted: usize,
}

/// `mongrate seed DIR`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SeededReport {
    /// Documents inserted, in all collections.
    pub inserted: usize,
    pub collections: Vec<SeedReport>,
    /// The server, as messages name it (no password).
    #[serde(skip)]
    #[schemars(skip)]
    pub target: String,
}

impl View for SeededReport {
    fn command(&self) -> &'static str {
        "seed"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        if !options.quiet {
            for r in &self.collections {
                t.outln(format!(
                    "{:>6}  {}.{}",
                    r.inserted, r.database, r.collection
                ));
            }
        }
        t.outln(format!(
            "seeded {} into {} at {}",
            count(self.inserted, "document"),
            count(self.collections.len(), "collection"),
            self.target
        ));
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}
