//! Every spec error the checker knows, each with its message and its file:line:column.
//! Pure: no server.

use mongrate::spec::{self, DatabaseSource, Diagnostic, Severity};
use std::path::PathBuf;

fn check(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    check_db(None, files)
}

fn check_db(database_file: Option<&str>, files: &[(&str, &str)]) -> Vec<Diagnostic> {
    let source = DatabaseSource {
        name: "app".into(),
        database_file: database_file.map(|t| (PathBuf::from("app/_database.yaml"), t.to_string())),
        collection_files: files
            .iter()
            .map(|(name, text)| (PathBuf::from(format!("app/{name}.yaml")), text.to_string()))
            .collect(),
        unreadable: Vec::new(),
        problems: Vec::new(),
    };
    spec::check_sources(&[source]).diagnostics
}

/// Assert exactly one error, containing `needle`, at `line:column`.
#[track_caller]
fn one_error(text: &str, needle: &str, line: usize, column: usize) {
    let diags = check(&[("things", text)]);
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "expected one error containing {needle:?}, got {diags:#?}"
    );
    let e = errors[0];
    assert!(
        e.message.contains(needle),
        "{:?} does not contain {needle:?}",
        e.message
    );
    assert_eq!(
        (e.line, e.column),
        (line, column),
        "position of {:?}",
        e.message
    );
    assert_eq!(e.file, PathBuf::from("app/things.yaml"));
}

#[test]
fn unknown_key_names_the_expected_keys() {
    one_error(
        "fields:\n  a: { type: string }\nindexes:\n  - keys: { a: 1 }\n    uniqe: true\n",
        "indexes[0]: unknown key `uniqe`; did you mean `unique`? expected one of: name, keys, unique",
        5,
        5,
    );
    one_error("colection: x\n", "unknown key `colection`", 1, 1);
}

#[test]
fn malformed_yaml_is_an_error_with_position() {
    one_error("fields:\n  a: { type: string\n", "", 3, 1);
}

#[test]
fn unknown_type() {
    one_error(
        "fields:\n  a: { type: strng }\n",
        "unknown type `strng`; did you mean `string`? expected one of string, int",
        2,
        14,
    );
}

#[test]
fn default_must_match_type() {
    one_error(
        "fields:\n  n: { type: int, default: abc }\n",
        "default `abc` for field `n` (int): expected int",
        2,
        28,
    );
    one_error(
        "fields:\n  n: { type: string, default: null }\n",
        "null is not allowed; add `nullable: true`",
        2,
        31,
    );
    one_error(
        "fields:\n  d: { type: date, default: yesterday }\n",
        "RFC 3339",
        2,
        29,
    );
}

#[test]
fn default_must_be_in_enum() {
    one_error(
        "fields:\n  s: { type: string, enum: [new, done], default: old }\n",
        "is not in the enum",
        2,
        50,
    );
}

#[test]
fn default_checked_against_constraints_and_nested_fields() {
    one_error(
        "fields:\n  r: { type: int, minimum: 1, maximum: 5, default: 9 }\n",
        "outside minimum/maximum",
        2,
        52,
    );
    one_error(
        "fields:\n  o:\n    type: object\n    default: { a: 1 }\n    fields:\n      a: { type: string }\n",
        "`a`: expected string",
        4,
        14,
    );
    one_error(
        "fields:\n  t: { type: array, items: { type: string, enum: [x, y] }, default: [x, z] }\n",
        "default `[\"x\",\"z\"]` for field `t` (array): \"z\" is not in the enum",
        2,
        69,
    );
}

#[test]
fn enum_value_of_wrong_type() {
    one_error(
        "fields:\n  n: { type: int, enum: [1, two, 3] }\n",
        "enum value `two` is not a int",
        2,
        29,
    );
    one_error(
        "fields:\n  n: { type: int, enum: [1, 1] }\n",
        "listed twice",
        2,
        29,
    );
    one_error(
        "fields:\n  s: { type: string, enum: [a, null] }\n",
        "not `nullable: true`",
        2,
        32,
    );
}

#[test]
fn constraints_must_fit_the_type() {
    one_error(
        "fields:\n  n: { type: int, max_length: 3 }\n",
        "`max_length` applies to strings, but field `n` is int",
        2,
        19,
    );
    one_error(
        "fields:\n  s: { type: string, minimum: 3 }\n",
        "`minimum` applies to numbers",
        2,
        22,
    );
    one_error(
        "fields:\n  s: { type: string, items: { type: int } }\n",
        "`items` applies to arrays",
        2,
        22,
    );
    one_error(
        "fields:\n  s: { type: string, fields: { a: { type: int } } }\n",
        "`fields` applies to objects",
        2,
        22,
    );
    one_error(
        "fields:\n  s: { type: string, min_length: 5, max_length: 2 }\n",
        "min_length 5 is greater than max_length 2",
        2,
        34,
    );
    one_error(
        "fields:\n  n: { type: int, minimum: 5, maximum: 2 }\n",
        "minimum 5 is greater than maximum 2",
        2,
        28,
    );
}

#[test]
fn field_names() {
    one_error("fields:\n  a.b: { type: string }\n", "contains `.`", 2, 3);
    one_error(
        "fields:\n  $x: { type: string }\n",
        "cannot start with `$`",
        2,
        3,
    );
}

#[test]
fn union_rules() {
    one_error(
        "fields:\n  a: { type: [string, any] }\n",
        "`any` cannot be part of a union",
        2,
        14,
    );
    let diags = check(&[(
        "things",
        "fields:\n  a: { type: [string, int], enum: [x, 3], default: 3 }\n",
    )]);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn duplicate_index_identity_or_name() {
    one_error(
        "fields:\n  a: { type: string }\nindexes:\n  - keys: { a: 1 }\n  - keys: { a: 1 }\n    name: other\n",
        "same keys, collation and partial filter as index #1",
        5,
        11,
    );
    one_error(
        "fields:\n  a: { type: string }\n  b: { type: string }\nindexes:\n  - keys: { a: 1 }\n    name: ix\n  - keys: { b: 1 }\n    name: ix\n",
        "index name `ix` is already used by index #1",
        8,
        11,
    );
    // Same keys with a different collation is a different index.
    let diags = check(&[(
        "things",
        "fields:\n  a: { type: string }\nindexes:\n  - keys: { a: 1 }\n  - keys: { a: 1 }\n    name: a_fr\n    collation: { locale: fr }\n",
    )]);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn ttl_rules() {
    one_error(
        "fields:\n  a: { type: date }\n  b: { type: date }\nindexes:\n  - keys: { a: 1, b: 1 }\n    expire_after: 90d\n",
        "a TTL (`expire_after`) index must have a single key; this one has 2",
        6,
        19,
    );
    one_error(
        "fields:\n  a: { type: string }\nindexes:\n  - keys: { a: 1 }\n    expire_after: 3600\n",
        "TTL on `a` never expires anything: the field is declared as string",
        5,
        19,
    );
    one_error(
        "fields:\n  a: { type: date }\nindexes:\n  - keys: { a: 1 }\n    expire_after: 90 days\n",
        "unknown unit",
        5,
        19,
    );
}

#[test]
fn index_key_and_option_rules() {
    one_error(
        "indexes:\n  - keys: { a: up }\n",
        "`up` is not an index type",
        2,
        16,
    );
    one_error("indexes:\n  - keys: {}\n", "index `keys` is empty", 2, 11);
    one_error(
        "indexes:\n  - keys: { a: hashed }\n    unique: true\n",
        "hashed indexes cannot be unique",
        3,
        13,
    );
    one_error(
        "indexes:\n  - keys: { a: 1 }\n    sparse: true\n    partial: { a: { $exists: true } }\n",
        "`sparse` and `partial` cannot be combined",
        3,
        13,
    );
    one_error(
        "indexes:\n  - keys: { a: 1 }\n    weights: { a: 2 }\n",
        "`weights` applies only to text indexes",
        3,
        5,
    );
    one_error(
        "indexes:\n  - keys: { _id: 1 }\n",
        "the `_id` index exists on every collection",
        2,
        11,
    );
    one_error(
        "indexes:\n  - keys: { a: 1 }\n    collation: { locale: fr, strength: 7 }\n",
        "collation strength 7 must be 1 to 5",
        3,
        40,
    );
}

#[test]
fn index_on_undeclared_field_is_a_warning() {
    let diags = check(&[(
        "things",
        "fields:\n  a: { type: string }\n  o: { type: object }\n  m:\n    type: array\n    items: { type: object, fields: { role: { type: string } } }\nindexes:\n  - keys: { b: 1 }\n  - keys: { o.any.path: 1 }\n  - keys: { m.role: 1 }\n  - keys: { m.0.role: 1 }\n",
    )]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].severity, Severity::Warning);
    assert!(
        diags[0]
            .message
            .contains("index key `b` is not a declared field")
    );
    assert_eq!((diags[0].line, diags[0].column), (8, 16));
}

#[test]
fn duplicate_collection_across_files() {
    let diags = check(&[
        (
            "things",
            "collection: things\nfields:\n  x: { type: string }\n",
        ),
        ("b", "collection: things\n"),
    ]);
    let diags: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]
            .message
            .contains("collection `app.things` is already declared in app/things.yaml")
    );
    assert_eq!(diags[0].file, PathBuf::from("app/b.yaml"));
    assert_eq!((diags[0].line, diags[0].column), (1, 1));
}

#[test]
fn required_inside_optional_object_is_fine() {
    let diags = check(&[(
        "things",
        "fields:\n  address:\n    type: object\n    fields:\n      city: { type: string, required: true }\n",
    )]);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn collection_options_rules() {
    one_error(
        "options:\n  capped: { size: 0 }\n",
        "capped `size` must be a positive number of bytes",
        2,
        19,
    );
    one_error(
        "options:\n  capped: { size: 100 }\n  clustered: true\n",
        "`capped`, `timeseries` and `clustered` cannot be combined",
        1,
        1,
    );
    one_error("collection: system.views\n", "reserved by MongoDB", 1, 13);
}

#[test]
fn database_defaults_and_their_errors() {
    let diags = check_db(Some("validation: { level: lenient }\n"), &[]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]
            .message
            .contains("unknown value `lenient`; expected one of: strict, moderate, off"),
        "{}",
        diags[0].message
    );
    assert_eq!(diags[0].file, PathBuf::from("app/_database.yaml"));
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let diags = check(&[
        (
            "a",
            "fields:\n  x: { type: strng }\n  y: { type: int, default: no }\n",
        ),
        ("b", "fields: [\n"),
        ("c", "indexes:\n  - keys: { z: sideways }\n"),
    ]);
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(errors, 4, "{diags:#?}");
}

#[test]
fn time_series_collections_cannot_have_validators() {
    one_error(
        "fields:\n  t: { type: date }\noptions:\n  timeseries: { time_field: t }\n",
        "MongoDB refuses validators on time-series collections",
        4,
        3,
    );
    let diags = check(&[(
        "things",
        "validation: { enabled: false }\nfields:\n  t: { type: date }\noptions:\n  timeseries: { time_field: t }\n",
    )]);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn values_the_server_would_refuse() {
    one_error(
        "fields:\n  s: { type: string, pattern: '^(a' }\n",
        "is not a valid regular expression",
        2,
        31,
    );
    one_error(
        "fields:\n  n: { type: double, minimum: .nan }\n",
        "`minimum: NaN` is not a finite number",
        2,
        31,
    );
    one_error(
        "fields:\n  n: { type: long, minimum: 9223372036854775807, maximum: 9223372036854775806 }\n",
        "minimum 9223372036854775807 is greater than maximum 9223372036854775806",
        2,
        29,
    );
    one_error(
        "fields:\n  n: { type: number, enum: [1, 1.0] }\n",
        "enum value `1.0` is listed twice",
        2,
        32,
    );
    one_error(
        "fields:\n  at: { type: date }\nindexes:\n  - keys: { at: 1 }\n    expire_after: 2147483648\n",
        "more than MongoDB allows (2147483647 seconds",
        5,
        19,
    );
    let many: Vec<String> = (0..33).map(|i| format!("k{i}: 1")).collect();
    one_error(
        &format!("indexes:\n  - keys: {{ {} }}\n", many.join(", ")),
        "an index has at most 32 keys; this one has 33",
        2,
        11,
    );
    one_error("indexes:\n  - keys: { 'a..b': 1 }\n", "empty part", 2, 13);
    one_error(
        "indexes:\n  - keys: { 'a.$x': 1 }\n",
        "the part `$x` starts with `$`",
        2,
        13,
    );
    one_error(
        "indexes:\n  - keys: { \"a\\0b\": 1 }\n",
        "cannot contain NUL bytes",
        2,
        13,
    );
    one_error(
        "indexes:\n  - keys: { a: text }\n  - keys: { b: text }\n",
        "at most one text index",
        3,
        11,
    );
    one_error(
        "indexes:\n  - keys: { a: text }\n    weights: { a: 0 }\n",
        "a weight is 1 to 99999",
        3,
        19,
    );
    one_error(
        "indexes:\n  - keys: { a: 1 }\n    name: '*'\n",
        "`*` cannot name an index",
        3,
        11,
    );
    one_error(
        "options:\n  collation: { locale: en_us }\n",
        "does not know the collation locale `en_us`; did you mean en, en_US, en_US_POSIX?",
        2,
        24,
    );
}

#[test]
fn a_key_written_twice_is_an_error_at_the_second() {
    one_error(
        "fields:\n  a: { type: string }\n  b: { type: int }\n  a: { type: int }\n",
        "key `a` is written twice in this mapping (first at line 2, column 3)",
        4,
        3,
    );
    one_error(
        "fields:\n  a: { type: string, required: true, required: false }\n",
        "key `required` is written twice",
        2,
        38,
    );
}

#[test]
fn a_validator_over_16_mb_is_refused() {
    let mut text = String::from("fields:\n");
    let description = "d".repeat(1000);
    for i in 0..17_000 {
        text.push_str(&format!(
            "  f{i}: {{ type: string, description: {description} }}\n"
        ));
    }
    one_error(&text, "over MongoDB's 16 MB document limit", 1, 1);
}

#[test]
fn a_collection_name_that_differs_from_the_file_name_is_a_warning() {
    let diags = check(&[("things", "collection: stuff\n")]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].severity, Severity::Warning);
    assert!(
        diags[0]
            .message
            .contains("differs from the file name `things`")
    );
    assert_eq!((diags[0].line, diags[0].column), (1, 13));
}

#[test]
fn a_default_that_no_document_could_hold_is_refused() {
    let big = "x".repeat(17 * 1024 * 1024);
    one_error(
        &format!("fields:\n  a: {{ type: string, default: '{big}' }}\n"),
        "MB as BSON, and no document can hold more than 16 MB",
        2,
        31,
    );
}

#[test]
fn a_migration_literal_over_16_mb_is_refused_with_its_place() {
    let big = "x".repeat(17 * 1024 * 1024);
    let text = format!(
        "up:\n  - update_many: {{ db: app, collection: t, filter: {{ a: 1 }}, update: {{ $set: {{ b: '{big}' }} }} }}\ndown: []\n"
    );
    let err = mongrate::migrate::parse(std::path::Path::new("20250101000000_big.yaml"), &text)
        .unwrap_err();
    assert!(
        err.contains("20250101000000_big.yaml:2:")
            && err.contains("a server refuses any command over 16 MB"),
        "{}",
        &err[..err.len().min(300)]
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_the_schemas_folder_are_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("app")).unwrap();
    std::fs::write(root.path().join("app/t.yaml"), "collection: t\n").unwrap();
    // A database folder that is the schemas folder itself, and one that is another's twin.
    std::os::unix::fs::symlink(root.path(), root.path().join("loop")).unwrap();
    std::os::unix::fs::symlink(root.path().join("app"), root.path().join("app2")).unwrap();
    // Inside a database folder: a link back up is an ignored folder, said as a warning.
    std::os::unix::fs::symlink(root.path(), root.path().join("app/up")).unwrap();
    let loaded = spec::load_dir(root.path()).unwrap();
    let text: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    let has = |s: &str| text.iter().any(|t| t.contains(s));
    assert!(
        has("loop:1:1: error: ") && has("which holds it (a loop)"),
        "{text:#?}"
    );
    assert!(
        has("app2:1:1: error: ") && has("are the same folder"),
        "{text:#?}"
    );
    assert!(
        has("app/up:1:1: warning: ignored: a folder inside a database folder"),
        "{text:#?}"
    );
    assert_eq!(
        loaded.spec.databases.len(),
        1,
        "{:?}",
        loaded.spec.databases.keys()
    );
}

#[test]
fn search_indexes_are_checked_where_they_are_written() {
    one_error(
        "search_indexes:\n  - name: s\n    type: fulltext\n    definition: { mappings: { dynamic: true } }\n",
        "unknown search index type `fulltext`; expected `search` or `vectorSearch`",
        3,
        11,
    );
    one_error(
        "search_indexes:\n  - name: s\n    definition: { analyzer: lucene.standard }\n",
        "needs `mappings`",
        3,
        17,
    );
    one_error(
        "search_indexes:\n  - name: v\n    type: vectorSearch\n    definition: { fields: [] }\n",
        "needs a non-empty list of `fields`",
        4,
        17,
    );
    one_error(
        "search_indexes:\n  - definition: { mappings: { dynamic: true } }\n  - name: default\n    definition: { mappings: { dynamic: false } }\n",
        "search index `default` is declared twice",
        3,
        11,
    );
    assert!(
        check(&[(
            "things",
            "search_indexes:\n  - definition: { mappings: { dynamic: true } }\n  - name: v\n    type: vectorSearch\n    definition:\n      fields: [{ type: vector, path: e, numDimensions: 3, similarity: cosine }]\n"
        )])
        .is_empty()
    );
}

#[test]
fn declared_evolutions_are_checked_where_they_are_written() {
    one_error(
        "fields:\n  mail: { type: string, renamed_from: mail }\n",
        "`mail` evolves from itself",
        2,
        39,
    );
    one_error(
        "fields:\n  mail: { type: string, renamed_from: mail.old }\n",
        "are on one path",
        2,
        39,
    );
    one_error(
        "fields:\n  at: { type: date, convert: \"$$value\" }\n",
        "`convert` is an expression over the old value",
        2,
        30,
    );
    one_error(
        "fields:\n  at: { type: date, convert: { $toDate: \"$$value\", $toLong: 1 } }\n",
        "a conversion is one expression over the old value",
        2,
        30,
    );
    one_error(
        "fields:\n  at: { type: date, convert: { $toDate: \"$other\" } }\n",
        "never reads `$$value`",
        2,
        30,
    );
    one_error(
        "fields:\n  at: { type: date, convert: { $toDate: \"$$value\" }, contract_after: soon }\n",
        "contract_after:",
        2,
        70,
    );
    one_error(
        "fields:\n  email: { type: string }\n  mail: { type: string, renamed_from: email }\n",
        "`email` is still declared",
        3,
        39,
    );
    one_error(
        "fields:\n  a: { type: string, renamed_from: old }\n  b: { type: string, renamed_from: old }\n",
        "`a` already evolves from `old`",
        3,
        36,
    );
}
