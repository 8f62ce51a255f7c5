//! The lint rules as a table: each rule's id, severity, and what it means and what to do
//! instead. Plain data, read by `lint` (which classifies changes) and by the spec checks (which
//! refuse an acknowledgement of a rule that does not exist).

use serde::Serialize;

/// How much a change can hurt.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Safe,
    Risky,
    Breaking,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Risky => "risky",
            Self::Breaking => "breaking",
        }
    }
}

/// Every rule: id, severity, what it means, what to do instead.
pub const RULES: &[(&str, Severity, &str)] = &[
    ("collection-added", Severity::Safe, "a new collection"),
    (
        "collection-dropped",
        Severity::Breaking,
        "the collection and its data are dropped by `apply --prune --allow-destructive`; code that reads it breaks. Stop using it first, then remove it (or list it in `ignore_collections` to keep the data)",
    ),
    (
        "collection-recreate",
        Severity::Breaking,
        "an option fixed at creation changed (collation, capped, time-series, clustered): the collection must be recreated and its data copied by hand. Create a new collection and migrate the data instead",
    ),
    ("field-added", Severity::Safe, "a new optional field"),
    (
        "field-removed",
        Severity::Breaking,
        "documents keep the field but the schema no longer allows or documents it; code that reads it breaks. Keep it declared (optional) until no code reads it, then remove it",
    ),
    (
        "field-renamed",
        Severity::Breaking,
        "a field disappeared and one declared the same way appeared: existing documents keep the old name, and a strict validator refuses them. Declare the rename on the new field (`renamed_from: <old>`): apply then widens the validator, rewrites the documents in batches while the application writes, and tightens it once none is left",
    ),
    (
        "field-evolved",
        Severity::Safe,
        "a declared evolution (`renamed_from`, `convert`): apply carries it out in phases — expand (the validator accepts both shapes), migrate (documents rewritten in batches), contract (the strict validator once none is left in the old shape)",
    ),
    (
        "evolution-source-missing",
        Severity::Risky,
        "`renamed_from` names a path the old schema does not declare: misspelt, it migrates nothing and the real field stays behind (with `--uri`, the documents that have it are counted). Check the old path",
    ),
    (
        "evolution-dropped",
        Severity::Risky,
        "the declaration of an evolution is removed, so the schema now says only the new shape: documents still in the old shape fail the validator (breaking when `--uri` finds any). Remove it only once `check` shows the evolution done",
    ),
    (
        "field-type-changed",
        Severity::Breaking,
        "the field no longer accepts a type it accepted (narrowed, changed, or no longer nullable): documents of the old type fail the validator. Declare how old values convert (`convert: { $toDate: \"$$value\" }`): apply widens, converts in batches, then narrows",
    ),
    (
        "field-type-widened",
        Severity::Safe,
        "the field accepts more types",
    ),
    (
        "field-required-added",
        Severity::Breaking,
        "a field is now required and has no default: every existing document without it fails the validator, and writes from code that does not set it are refused. Add a `default` (and backfill) or keep it optional",
    ),
    (
        "field-required-with-default",
        Severity::Risky,
        "a field is now required; existing documents without it fail until `mongrate backfill` writes the default. Backfill before tightening (or use `apply --rollout`)",
    ),
    (
        "field-optional",
        Severity::Safe,
        "a required field became optional",
    ),
    (
        "enum-value-removed",
        Severity::Breaking,
        "an allowed value was removed: documents holding it fail the validator and code still writing it is refused. Stop writing it, migrate the data, then remove it",
    ),
    (
        "enum-value-added",
        Severity::Safe,
        "an allowed value was added (code reading the field must know it)",
    ),
    (
        "constraint-tightened",
        Severity::Risky,
        "a constraint got stricter (pattern, length, range, items, `additional_fields: deny`, a new enum): existing documents may fail. Count them with `mongrate check --data` and fix them first",
    ),
    (
        "constraint-loosened",
        Severity::Safe,
        "a constraint got looser",
    ),
    (
        "validation-action-error",
        Severity::Risky,
        "`validation.action` warn → error: documents that were only logged are now refused. Check `mongrate check --data` is clean first",
    ),
    (
        "validation-level-strict",
        Severity::Risky,
        "`validation.level` became stricter (off/moderate → strict, or validation enabled): updates of invalid documents are now refused",
    ),
    (
        "validation-loosened",
        Severity::Safe,
        "validation got looser (level, action, or disabled)",
    ),
    (
        "default-changed",
        Severity::Risky,
        "the default changed: documents backfilled before keep the old value, new ones get the new one. Migrate the old values if they must match",
    ),
    (
        "index-added",
        Severity::Safe,
        "a new index (built online; it costs time and memory on a big collection)",
    ),
    (
        "unique-index-added",
        Severity::Risky,
        "a new unique index (or an index made unique): the build fails on duplicates today, and writes that would duplicate a key are refused from then on. Check duplicates first (`mongrate plan` counts them)",
    ),
    (
        "index-dropped",
        Severity::Risky,
        "an index is dropped by `apply --prune --allow-destructive`: queries that used it scan instead. Hide it first (`hidden: true`) and watch, then drop it, or declare `retire_after` on the collection (`index-retired`)",
    ),
    (
        "index-retired",
        Severity::Safe,
        "an index is no longer declared on a collection with `retire_after`: `apply --prune` hides it (declaring it again unhides it at once, without a rebuild) and drops it only after it has stayed hidden that long. With `--uri` the finding says which phase it is in",
    ),
    (
        "index-replaced",
        Severity::Risky,
        "an index's definition changed: it is rebuilt (queries lose it while it is rebuilt when both cannot exist at once)",
    ),
    (
        "search-index-added",
        Severity::Safe,
        "a new search index (built by the search nodes; `$search` / `$vectorSearch` queries naming it fail until it is queryable)",
    ),
    (
        "search-index-changed",
        Severity::Risky,
        "a search index's definition changed: it is rebuilt, and queries keep the old definition until the new one is queryable; results may change (fields, analyzers, dimensions)",
    ),
    (
        "search-index-removed",
        Severity::Risky,
        "a search index is no longer declared: `apply --prune --allow-destructive` drops it, and `$search` / `$vectorSearch` queries naming it fail. Remove those queries first",
    ),
    (
        "ttl-added",
        Severity::Breaking,
        "a TTL now deletes documents older than it, in its first pass all of them at once. Check how many documents are older (`--uri`), back them up, or acknowledge it",
    ),
    (
        "ttl-shortened",
        Severity::Breaking,
        "a shorter TTL deletes every document between the new and the old age at once",
    ),
    (
        "ttl-lengthened",
        Severity::Safe,
        "a longer TTL (or none): documents are kept longer",
    ),
];

/// The severity of a rule.
pub fn severity_of(rule: &str) -> Option<Severity> {
    RULES.iter().find(|r| r.0 == rule).map(|r| r.1)
}

/// What to know and do about a rule.
pub fn advice_of(rule: &str) -> &'static str {
    RULES
        .iter()
        .find(|r| r.0 == rule)
        .map(|r| r.2)
        .unwrap_or("")
}
