//! A collection file's top-level keys: its name, view, validation, raw validator, fields,
//! indexes, options, and the lint and retire blocks.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_collection(
    ctx: &mut Ctx,
    database: &str,
    mut raw: CollectionFile,
    defaults: &ValidationSpec,
) -> CollectionSpec {
    let name = collection_name(ctx, database, &raw);
    let mut validation = validation_of(&raw, defaults);
    let fields = std::mem::take(&mut raw.fields.0);
    let mut options = raw
        .options
        .as_ref()
        .map(|o| check_options(ctx, o))
        .unwrap_or_default();
    let indexes = check_indexes(ctx, &raw.indexes, &fields, &options);
    let raw_validator = check_raw_validator(ctx, &raw, &mut validation);
    if let Some(view) = &raw.view {
        check_view(ctx, database, &raw, view, &raw_validator, &mut options);
        validation.enabled = false;
    }
    check_timeseries(ctx, &raw, &options, &validation);
    let shard_key = raw
        .shard_key
        .as_ref()
        .and_then(|k| check_shard_key(ctx, k, &indexes, &options));
    let retire_after = check_retire_after(ctx, &raw);
    let lint_allow = check_lint_allow(ctx, &raw);
    let search_indexes = check_search_indexes(ctx, &raw);
    check_evolutions(ctx, &fields);
    let spec = CollectionSpec {
        database: database.to_string(),
        name,
        file: ctx.file.to_path_buf(),
        title: raw.title,
        description: raw.description,
        validation,
        fields,
        indexes,
        options,
        ignore_indexes: raw.ignore_indexes,
        retire_after,
        raw_validator,
        shard_key,
        search_indexes,
        lint_allow,
    };
    check_validator_size(ctx, &spec);
    spec
}

/// The collection's name: `collection:`, else the file's name (a difference is warned about).
fn collection_name(ctx: &mut Ctx, database: &str, raw: &CollectionFile) -> String {
    let stem = ctx
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let name_path = vec!["collection".to_string()];
    if let Some(declared) = &raw.collection
        && *declared != stem
        && !stem.is_empty()
    {
        ctx.warn(
            &name_path,
            format!(
                "`collection: {declared}` differs from the file name `{stem}`; the collection is `{declared}` (rename the file to `{declared}.yaml` to avoid confusion)"
            ),
        );
    }
    let name = raw.collection.clone().unwrap_or(stem);
    if let Some(why) = crate::names::collection_problem(database, &name) {
        ctx.error(&name_path, why);
    }
    name
}

/// `validation:` over the database's defaults over mongrate's.
fn validation_of(raw: &CollectionFile, defaults: &ValidationSpec) -> Validation {
    let v = raw.validation.clone().unwrap_or_default();
    Validation {
        enabled: v.enabled.or(defaults.enabled).unwrap_or(true),
        level: v
            .level
            .or(defaults.level)
            .unwrap_or(ValidationLevel::Strict),
        action: v
            .action
            .or(defaults.action)
            .unwrap_or(ValidationAction::Error),
        additional_fields: v
            .additional_fields
            .or(defaults.additional_fields)
            .unwrap_or(AdditionalFields::Allow),
    }
}

/// Every index, each checked on its own, then together: one identity and one name each, at
/// most one text index, none on the collection's non-simple default collation.
fn check_indexes(
    ctx: &mut Ctx,
    specs: &[IndexSpec],
    fields: &crate::spec::FieldMap,
    options: &CollectionOptions,
) -> Vec<model::Index> {
    let mut indexes: Vec<model::Index> = Vec::new();
    let mut index_paths: Vec<Vec<String>> = Vec::new();
    for (i, ispec) in specs.iter().enumerate() {
        let path = vec!["indexes".to_string(), i.to_string()];
        let Some(index) = check_index(ctx, &path, ispec, fields) else {
            continue;
        };
        for (j, other) in indexes.iter().enumerate() {
            if other.keys == index.keys
                && other.collation == index.collation
                && other.partial == index.partial
            {
                ctx.error(
                    &p(&path, &["keys"]),
                    format!(
                        "index `{}` has the same keys, collation and partial filter as index #{} (`{}`); MongoDB identifies an index by these, so declare it once",
                        index.name,
                        j + 1,
                        other.name
                    ),
                );
            } else if other.name == index.name {
                ctx.error(
                    &p(&path, if ispec.name.is_some() { &["name"] } else { &["keys"] }),
                    format!(
                        "index name `{}` is already used by index #{}; give one of them a distinct `name`",
                        index.name,
                        j + 1
                    ),
                );
            }
        }
        index_paths.push(path);
        indexes.push(index);
    }
    if let Some(default) = &options.collation
        && default.get_str("locale") != Ok("simple")
    {
        for (index, path) in indexes.iter().zip(&index_paths) {
            if index.collation.is_none() && index.keys.iter().any(|(_, k)| *k == IndexKind::Text) {
                ctx.error(
                    &p(path, &["keys"]),
                    format!(
                        "text index `{}` cannot use the collection's default collation; add `collation: {{ locale: simple }}` to it",
                        index.name
                    ),
                );
            }
        }
    }
    let text_indexes: Vec<usize> = indexes
        .iter()
        .enumerate()
        .filter(|(_, i)| i.keys.iter().any(|(_, k)| *k == IndexKind::Text))
        .map(|(n, _)| n)
        .collect();
    if let [first, second, ..] = text_indexes[..] {
        ctx.error(
            &p(&index_paths[second], &["keys"]),
            format!(
                "a collection has at most one text index, and index #{} (`{}`) is one already; put every text field in that index",
                first + 1,
                indexes[first].name
            ),
        );
    }
    indexes
}

/// Search indexes: each named once, of type `search` (with `mappings`) or `vectorSearch`
/// (with a list of `fields`), its definition a mapping.
fn check_search_indexes(ctx: &mut Ctx, raw: &CollectionFile) -> Vec<model::SearchIndex> {
    let mut out: Vec<model::SearchIndex> = Vec::new();
    for (i, s) in raw.search_indexes.iter().enumerate() {
        let path = |key: &str| {
            let mut p = vec!["search_indexes".to_string(), i.to_string()];
            if !key.is_empty() {
                p.push(key.to_string());
            }
            p
        };
        let name = s.name.clone().unwrap_or_else(|| "default".to_string());
        if name.is_empty() {
            ctx.error(&path("name"), "a search index's name cannot be empty");
        } else if out.iter().any(|o| o.name == name) {
            ctx.error(
                &path("name"),
                format!("search index `{name}` is declared twice; give each its own name"),
            );
        }
        let kind = s.kind.clone().unwrap_or_else(|| "search".to_string());
        if kind != "search" && kind != "vectorSearch" {
            ctx.error(
                &path("type"),
                format!("unknown search index type `{kind}`; expected `search` or `vectorSearch`"),
            );
            continue;
        }
        let definition = match plain_bson(&s.definition) {
            Ok(Bson::Document(d)) => d,
            Ok(_) => {
                ctx.error(&path("definition"), "`definition` must be a mapping");
                continue;
            }
            Err(e) => {
                ctx.error(&path("definition"), format!("definition: {e}"));
                continue;
            }
        };
        let shape_ok = if kind == "search" {
            matches!(definition.get("mappings"), Some(Bson::Document(_)))
        } else {
            matches!(definition.get("fields"), Some(Bson::Array(a)) if !a.is_empty())
        };
        if !shape_ok {
            ctx.error(
                &path("definition"),
                if kind == "search" {
                    "a `search` index's definition needs `mappings` (e.g. `{ mappings: { dynamic: true } }`)"
                } else {
                    "a `vectorSearch` index's definition needs a non-empty list of `fields` (e.g. `[{ type: vector, path: embedding, numDimensions: 1536, similarity: cosine }]`)"
                },
            );
            continue;
        }
        out.push(model::SearchIndex {
            name,
            kind,
            definition,
        });
    }
    out
}

/// A validator written as is (`validator:`): a non-empty mapping, within 16 MB; it turns
/// validation on.
fn check_raw_validator(
    ctx: &mut Ctx,
    raw: &CollectionFile,
    validation: &mut Validation,
) -> Option<Document> {
    match &raw.validator {
        None => None,
        Some(v) => {
            let vpath = vec!["validator".to_string()];
            if v.is_null() {
                None
            } else {
                match plain_bson(v) {
                    Ok(Bson::Document(d)) if !d.is_empty() => {
                        if let Some(schema) = d.get("$jsonSchema")
                            && !matches!(schema, Bson::Document(_))
                        {
                            ctx.error(&vpath, "`$jsonSchema` must be a mapping");
                        }
                        if raw.validation.as_ref().and_then(|v| v.enabled) == Some(false) {
                            ctx.error_key(
                                &vpath,
                                "`validator` is given but `validation: { enabled: false }` says there is none; remove one of them",
                            );
                        }
                        let size = bson::to_vec(&d).map(|b| b.len()).unwrap_or(0);
                        if size > MAX_BSON_SIZE - 16 * 1024 {
                            ctx.error_key(
                                &vpath,
                                "the validator is over MongoDB's 16 MB document limit",
                            );
                        }
                        validation.enabled = true;
                        Some(d)
                    }
                    Ok(_) => {
                        ctx.error(
                            &vpath,
                            "`validator` must be a non-empty mapping: a query such as `{ $or: [...] }`, or `{ $jsonSchema: {...} }`",
                        );
                        None
                    }
                    Err(e) => {
                        ctx.error(&vpath, format!("validator: {e}"));
                        None
                    }
                }
            }
        }
    }
}

/// A view: what it reads and its pipeline; no options but a collation, no indexes, no
/// validator.
fn check_view(
    ctx: &mut Ctx,
    database: &str,
    raw: &CollectionFile,
    view: &crate::spec::raw::ViewSpec,
    raw_validator: &Option<Document>,
    options: &mut CollectionOptions,
) {
    let vpath = vec!["view".to_string()];
    if let Some(why) = crate::names::collection_problem(database, &view.on) {
        ctx.error(&p(&vpath, &["on"]), format!("view `on`: {why}"));
    }
    let mut pipeline = Vec::new();
    for (i, stage) in view.pipeline.iter().enumerate() {
        match plain_bson(stage) {
            Ok(Bson::Document(d)) if d.len() == 1 && d.keys().all(|k| k.starts_with('$')) => {
                pipeline.push(d)
            }
            _ => ctx.error(
                &p(&vpath, &["pipeline", &i.to_string()]),
                "a pipeline stage is a mapping with one `$stage` key, e.g. `{ $match: { archived: false } }`",
            ),
        }
    }
    let only_collation = options.capped.is_none()
        && options.timeseries.is_none()
        && !options.clustered
        && options.expire_after.is_none()
        && !options.change_stream_pre_and_post_images;
    if !only_collation {
        ctx.error_key(
            &["options".to_string()],
            "a view takes no options but `collation`",
        );
    }
    if !raw.indexes.is_empty() {
        ctx.error_key(
            &["indexes".to_string()],
            "a view has no indexes of its own; index the collection it reads",
        );
    }
    if raw_validator.is_some() || raw.validation.as_ref().and_then(|v| v.enabled) == Some(true) {
        ctx.error_key(
            &vpath,
            "a view has no validator; validate the collection it reads",
        );
    }
    options.view = Some(model::View {
        on: view.on.clone(),
        pipeline,
    });
}

/// A time-series collection: no validator, no unique index.
fn check_timeseries(
    ctx: &mut Ctx,
    raw: &CollectionFile,
    options: &CollectionOptions,
    validation: &Validation,
) {
    if options.timeseries.is_some() && validation.enabled {
        ctx.error_key(
            &["options".to_string(), "timeseries".to_string()],
            "MongoDB refuses validators on time-series collections; add `validation: { enabled: false }` (fields then document the shape and carry defaults)",
        );
    }
    if options.timeseries.is_some() && raw.indexes.iter().any(|i| i.unique) {
        ctx.error(
            &["indexes".to_string()],
            "time-series collections do not support unique indexes",
        );
    }
}

/// Declared evolutions across the collection: no two fields claim one source, and a source is
/// not itself declared (the old shape is not part of the new one).
fn check_evolutions(ctx: &mut Ctx, fields: &crate::spec::FieldMap) {
    let declared = crate::spec::field_paths(fields);
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    for (path, f) in crate::spec::evolving_fields(fields) {
        let Some(from) = f.more().evolve.as_ref().and_then(|e| e.from.clone()) else {
            continue;
        };
        let at = crate::spec::field_key_path(&path, "renamed_from");
        if let Some(other) = claimed.insert(from.clone(), path.clone()) {
            ctx.error(
                &at,
                format!(
                    "`{other}` already evolves from `{from}`: two fields cannot take one source"
                ),
            );
        } else if declared.contains(&from) {
            ctx.error(
                &at,
                format!(
                    "`{from}` is still declared: the old path is what documents have before the evolution, so it cannot be part of the new shape (remove its declaration)"
                ),
            );
        }
    }
}

/// `retire_after`: a duration, and not on a view.
fn check_retire_after(ctx: &mut Ctx, raw: &CollectionFile) -> Option<i64> {
    raw.retire_after.as_ref().and_then(|v| {
        let at = ["retire_after".to_string()];
        match parse_duration(v) {
            Ok(_) if raw.view.is_some() => {
                ctx.error(&at, "a view has no indexes to retire");
                None
            }
            Ok(s) => Some(s),
            Err(e) => {
                ctx.error(&at, format!("retire_after: {e}"));
                None
            }
        }
    })
}

/// `lint: { allow }`: each a known rule, with a reason.
fn check_lint_allow(ctx: &mut Ctx, raw: &CollectionFile) -> Vec<(String, String)> {
    let mut lint_allow = Vec::new();
    for (i, a) in raw.lint.iter().flat_map(|l| l.allow.iter()).enumerate() {
        let at = [
            "lint".to_string(),
            "allow".to_string(),
            i.to_string(),
            "rule".to_string(),
        ];
        if crate::rules::severity_of(&a.rule).is_none() {
            ctx.error(
                &at,
                format!(
                    "unknown lint rule {}; the rules are listed by `mongrate lint --rules`",
                    crate::yaml::show(&a.rule)
                ),
            );
        } else if a.reason.trim().is_empty() {
            ctx.error(&at, "say why the change is deliberate in `reason`");
        } else {
            lint_allow.push((a.rule.clone(), a.reason.clone()));
        }
    }

    lint_allow
}

/// The generated validator fits in a command.
fn check_validator_size(ctx: &mut Ctx, spec: &CollectionSpec) {
    if spec.validation.enabled && spec.raw_validator.is_none() {
        let size = crate::spec::jsonschema::validator_size(spec);
        // The validator travels inside a `create`/`collMod` command: leave room for the rest.
        if size > MAX_BSON_SIZE - 16 * 1024 {
            ctx.error_key(
                &["fields".to_string()],
                format!(
                    "the generated validator is {:.1} MB, over MongoDB's 16 MB document limit; split the collection's schema, or use `validation: {{ enabled: false }}`",
                    size as f64 / 1_048_576.0
                ),
            );
        }
    }
}
