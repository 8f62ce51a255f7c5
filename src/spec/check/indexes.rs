//! Index declarations: keys and their paths, options, text weights and languages, TTLs, and
//! collations.

#[allow(unused_imports)]
use super::*;

/// The most keys a compound index may have.
pub(super) const MAX_INDEX_KEYS: usize = 32;
/// The largest TTL the server accepts (a 32-bit count of seconds).
pub(super) const MAX_TTL_SECONDS: i64 = i32::MAX as i64;
/// The languages (and codes) MongoDB's text search knows.
pub(super) const TEXT_LANGUAGES: &[&str] = &[
    "none",
    "danish",
    "da",
    "dutch",
    "nl",
    "english",
    "en",
    "finnish",
    "fi",
    "french",
    "fr",
    "german",
    "de",
    "hungarian",
    "hu",
    "italian",
    "it",
    "norwegian",
    "nb",
    "portuguese",
    "pt",
    "romanian",
    "ro",
    "russian",
    "ru",
    "spanish",
    "es",
    "swedish",
    "sv",
    "turkish",
    "tr",
];

/// The collation locales MongoDB 6.0 accepts (read off a 6.0.5 server: every locale of the
/// manual's list that `create` accepted; `simple` is binary comparison).
pub const COLLATION_LOCALES: &[&str] = &[
    "af",
    "am",
    "ar",
    "ar@collation=compat",
    "as",
    "az",
    "be",
    "bg",
    "bn",
    "bn@collation=traditional",
    "bo",
    "bs",
    "bs_Cyrl",
    "ca",
    "chr",
    "cs",
    "cs@collation=search",
    "cy",
    "da",
    "da@collation=search",
    "de",
    "de@collation=phonebook",
    "de_AT",
    "de_AT@collation=phonebook",
    "dsb",
    "dz",
    "ee",
    "el",
    "en",
    "en_US",
    "en_US_POSIX",
    "eo",
    "es",
    "es@collation=traditional",
    "et",
    "fa",
    "fa_AF",
    "fi",
    "fi@collation=search",
    "fil",
    "fo",
    "fo@collation=search",
    "fr",
    "fr_CA",
    "ga",
    "gl",
    "gu",
    "ha",
    "haw",
    "he",
    "he@collation=search",
    "hi",
    "hr",
    "hr@collation=search",
    "hsb",
    "hu",
    "hy",
    "id",
    "ig",
    "is",
    "is@collation=search",
    "it",
    "ja",
    "ja@collation=unihan",
    "ka",
    "kk",
    "kl",
    "kl@collation=search",
    "km",
    "kn",
    "ko",
    "ko@collation=search",
    "ko@collation=searchjl",
    "ko@collation=unihan",
    "kok",
    "ky",
    "lb",
    "lkt",
    "ln",
    "ln@collation=phonetic",
    "lo",
    "lt",
    "mk",
    "ml",
    "mn",
    "mr",
    "ms",
    "mt",
    "my",
    "nb",
    "nb@collation=search",
    "ne",
    "nl",
    "nn",
    "nn@collation=search",
    "om",
    "or",
    "pa",
    "pl",
    "ps",
    "pt",
    "ro",
    "ru",
    "se",
    "se@collation=search",
    "si",
    "si@collation=dictionary",
    "simple",
    "sk",
    "sl",
    "smn",
    "smn@collation=search",
    "sq",
    "sr",
    "sr_Latn",
    "sr_Latn@collation=search",
    "sv",
    "sv@collation=search",
    "sw",
    "ta",
    "te",
    "th",
    "to",
    "tr",
    "ug",
    "uk",
    "ur",
    "vi",
    "wae",
    "yi",
    "yo",
    "zh",
    "zh@collation=big5han",
    "zh@collation=gb2312han",
    "zh@collation=unihan",
    "zh@collation=zhuyin",
    "zh_Hant",
    "zu",
];

pub(super) fn check_collation(ctx: &mut Ctx, path: &[String], c: &CollationSpec) -> Document {
    check_locale(ctx, path, &c.locale);
    if let Some(s) = c.strength
        && !(1..=5).contains(&s)
    {
        ctx.error(
            &p(path, &["strength"]),
            format!("collation strength {s} must be 1 to 5"),
        );
    }
    let one_of = |ctx: &mut Ctx, key: &str, v: &Option<String>, allowed: &[&str]| {
        if let Some(v) = v
            && !allowed.contains(&v.as_str())
        {
            ctx.error(
                &p(path, &[key]),
                format!(
                    "collation {key} `{v}` must be one of {}",
                    allowed.join(", ")
                ),
            );
        }
    };
    one_of(ctx, "caseFirst", &c.case_first, &["upper", "lower", "off"]);
    one_of(
        ctx,
        "alternate",
        &c.alternate,
        &["non-ignorable", "shifted"],
    );
    one_of(ctx, "maxVariable", &c.max_variable, &["punct", "space"]);
    collation_document(c)
}

/// `locale:` — one MongoDB knows, with the close ones suggested.
fn check_locale(ctx: &mut Ctx, path: &[String], locale: &str) {
    if locale.is_empty() {
        ctx.error(
            &p(path, &["locale"]),
            "collation `locale` is empty (use e.g. `en`, `fr`, or `simple`)",
        );
        return;
    }
    if COLLATION_LOCALES.contains(&locale) {
        return;
    }
    let close: Vec<&str> = COLLATION_LOCALES
        .iter()
        .copied()
        .filter(|l| {
            l.eq_ignore_ascii_case(locale)
                || l.split(['_', '@']).next() == locale.split(['_', '@', '-']).next()
        })
        .collect();
    let hint = if close.is_empty() {
        " (see https://www.mongodb.com/docs/manual/reference/collation-locales-defaults/)"
            .to_string()
    } else {
        format!("; did you mean {}?", close.join(", "))
    };
    ctx.error(
        &p(path, &["locale"]),
        format!(
            "MongoDB does not know the collation locale {}{hint}",
            show(locale)
        ),
    );
}

/// The collation as MongoDB spells it, keys in MongoDB's order.
fn collation_document(c: &CollationSpec) -> Document {
    let mut doc = Document::new();
    doc.insert("locale", c.locale.clone());
    let text = |v: &Option<String>| v.clone().map(Bson::String);
    let entries = [
        ("strength", c.strength.map(Bson::from)),
        ("caseLevel", c.case_level.map(Bson::Boolean)),
        ("caseFirst", text(&c.case_first)),
        ("numericOrdering", c.numeric_ordering.map(Bson::Boolean)),
        ("alternate", text(&c.alternate)),
        ("maxVariable", text(&c.max_variable)),
        ("backwards", c.backwards.map(Bson::Boolean)),
        ("normalization", c.normalization.map(Bson::Boolean)),
    ];
    for (key, value) in entries {
        if let Some(v) = value {
            doc.insert(key, v);
        }
    }
    doc
}

/// Resolve a dotted index path against the declared fields: `Some(field)` when declared,
/// `Some(None)` when it lies under an object that allows any keys, `None` when undeclared.
pub(super) fn resolve_path<'a>(
    fields: &'a crate::spec::FieldMap,
    path: &str,
) -> Option<Option<&'a Field>> {
    if path == "_id" || path == "$**" {
        return Some(None);
    }
    let mut current: &crate::spec::FieldMap = fields;
    let parts: Vec<&str> = path.split('.').collect();
    let mut i = 0;
    loop {
        let part = parts[i];
        if part == "$**" {
            return Some(None);
        }
        let mut field = current.get(part)?;
        // Arrays: step into the items (and skip a numeric position, if any).
        while let Some(items) = &field.items {
            if parts.get(i + 1).is_some_and(|n| n.parse::<usize>().is_ok()) {
                i += 1;
            }
            field = items;
        }
        if i + 1 == parts.len() {
            return Some(Some(field));
        }
        match &field.fields {
            Some(sub) => current = sub,
            None if field.allows(FieldType::Object) || field.types.is_empty() => return Some(None),
            None => return None,
        }
        i += 1;
    }
}

pub(super) fn check_index(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    fields: &crate::spec::FieldMap,
) -> Option<model::Index> {
    let keys = index_keys(ctx, path, spec, fields)?;
    let weights = text_options(ctx, path, spec, &keys);
    let expire_after = index_ttl(ctx, path, spec, &keys, fields);
    let partial = index_partial(ctx, path, spec);
    let collation = spec
        .collation
        .as_ref()
        .map(|c| check_collation(ctx, &p(path, &["collation"]), c));
    let name = index_name(ctx, path, spec, &keys)?;
    let wildcard_projection = wildcard_projection(ctx, path, spec, &keys);
    let sphere_version = sphere_version(ctx, path, spec, &keys);
    Some(model::Index {
        name,
        name_declared: spec.name.is_some(),
        keys,
        unique: spec.unique,
        sparse: spec.sparse,
        hidden: spec.hidden,
        partial: partial.map(Box::new),
        collation: collation.map(Box::new),
        expire_after,
        weights: weights.map(Box::new),
        default_language: spec.default_language.clone(),
        language_override: spec.language_override.clone(),
        wildcard_projection: wildcard_projection.map(Box::new),
        sphere_version,
    })
}

/// One index key's kind: `1`, `-1`, `text`, `2dsphere`, `hashed` (`wildcard` is handled by
/// the caller, since it changes the key's path).
fn key_kind(value: &Value) -> Option<IndexKind> {
    match value {
        Value::Int(1) => Some(IndexKind::Asc),
        Value::Int(-1) => Some(IndexKind::Desc),
        Value::String(s) => match s.as_str() {
            "text" => Some(IndexKind::Text),
            "2dsphere" => Some(IndexKind::TwoDSphere),
            "hashed" => Some(IndexKind::Hashed),
            _ => None,
        },
        _ => None,
    }
}

/// `keys:` — each key's kind and path, then the rules over the whole key list.
fn index_keys(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    fields: &crate::spec::FieldMap,
) -> Option<Vec<(String, IndexKind)>> {
    let kpath = p(path, &["keys"]);
    if spec.keys.is_empty() {
        ctx.error(&kpath, "index `keys` is empty");
        return None;
    }
    let mut keys = Vec::new();
    let mut ok = true;
    for (field, value) in &spec.keys {
        let vpath = p(&kpath, &[field]);
        if matches!(value, Value::String(s) if s == "wildcard") {
            let wpath = if field == "$**" {
                field.clone()
            } else {
                format!("{field}.$**")
            };
            keys.push((wpath, IndexKind::Asc));
            continue;
        }
        let Some(kind) = key_kind(value) else {
            ctx.error(
                &vpath,
                format!(
                    "index key `{field}`: {} is not an index type; expected 1, -1, text, 2dsphere, hashed or wildcard",
                    value.display()
                ),
            );
            ok = false;
            continue;
        };
        if let Some(why) = crate::names::index_path_problem(field) {
            ctx.error_key(&vpath, format!("index key {}: {why}", show(field)));
            ok = false;
            continue;
        }
        keys.push((field.clone(), kind));
    }
    if !ok {
        return None;
    }
    check_key_list(ctx, path, spec, fields, &keys)?;
    Some(keys)
}

/// The rules over a whole key list: how many, declared fields, `_id`, hashed and wildcard
/// limits. `None` when the index must not be declared at all.
fn check_key_list(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    fields: &crate::spec::FieldMap,
    keys: &[(String, IndexKind)],
) -> Option<()> {
    let kpath = p(path, &["keys"]);
    if keys.len() > MAX_INDEX_KEYS {
        ctx.error(
            &kpath,
            format!(
                "an index has at most {MAX_INDEX_KEYS} keys; this one has {}",
                keys.len()
            ),
        );
    }
    // A collection that declares no fields leaves its shape undeclared: nothing to warn about.
    for (field, _) in keys.iter().filter(|_| !fields.is_empty()) {
        if resolve_path(fields, field).is_none() {
            ctx.warn(
                &p(&kpath, &[field.trim_end_matches(".$**")]),
                format!(
                    "index key `{field}` is not a declared field (documents may still carry it)"
                ),
            );
        }
    }
    if keys.len() == 1 && keys[0].0 == "_id" && spec.collation.is_none() && spec.partial.is_none() {
        ctx.error(
            &kpath,
            "the `_id` index exists on every collection; do not declare it",
        );
        return None;
    }
    let hashed = keys.iter().filter(|(_, k)| *k == IndexKind::Hashed).count();
    let wildcard = keys.iter().any(|(f, _)| f.ends_with("$**"));
    if hashed > 1 {
        ctx.error(&kpath, "an index can have at most one hashed field");
    }
    if spec.unique && hashed > 0 {
        ctx.error(&p(path, &["unique"]), "hashed indexes cannot be unique");
    }
    if spec.unique && wildcard {
        ctx.error(&p(path, &["unique"]), "wildcard indexes cannot be unique");
    }
    if spec.sparse && spec.partial.is_some() {
        ctx.error(&p(path, &["sparse"]), "`sparse` and `partial` cannot be combined; a partial filter such as `{ field: { $exists: true } }` does what sparse does");
    }
    Some(())
}

/// `expire_after:` — a TTL in seconds, on a single date key.
fn index_ttl(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    keys: &[(String, IndexKind)],
    fields: &crate::spec::FieldMap,
) -> Option<i64> {
    let v = spec.expire_after.as_ref()?;
    let epath = p(path, &["expire_after"]);
    let secs = match parse_duration(v) {
        Err(e) => {
            ctx.error(&epath, format!("expire_after: {e}"));
            return None;
        }
        Ok(secs) if secs > MAX_TTL_SECONDS => {
            ctx.error(
                &epath,
                format!(
                    "expire_after: {secs} seconds is more than MongoDB allows ({MAX_TTL_SECONDS} seconds, about 68 years)"
                ),
            );
            return None;
        }
        Ok(secs) => secs,
    };
    if keys.len() != 1 {
        ctx.error(
            &epath,
            format!(
                "a TTL (`expire_after`) index must have a single key; this one has {}",
                keys.len()
            ),
        );
    } else if keys[0].0 == "_id" {
        ctx.error(&epath, "a TTL index cannot be on `_id`");
    } else if let Some(Some(f)) = resolve_path(fields, &keys[0].0)
        && (!f.allows(FieldType::Date) || f.types.is_empty())
    {
        let t: Vec<&str> = f.types.iter().map(|t| t.name()).collect();
        let t = if t.is_empty() {
            "any".to_string()
        } else {
            t.join(" | ")
        };
        ctx.error(
            &epath,
            format!("TTL on `{}` never expires anything: the field is declared as {t}, and TTL needs type date", keys[0].0),
        );
    }
    Some(secs)
}

/// `partial:` — a filter document.
fn index_partial(ctx: &mut Ctx, path: &[String], spec: &IndexSpec) -> Option<Document> {
    match spec.partial.as_ref()? {
        v @ Value::Map(_) => match plain_bson(v) {
            Ok(Bson::Document(d)) => Some(d),
            Ok(_) => None,
            Err(e) => {
                ctx.error(&p(path, &["partial"]), format!("partial filter: {e}"));
                None
            }
        },
        _ => {
            ctx.error(
                &p(path, &["partial"]),
                "`partial` must be a filter document, e.g. `{ archived: false }`",
            );
            None
        }
    }
}

/// `name:` — as declared, or MongoDB's default name for the keys.
fn index_name(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    keys: &[(String, IndexKind)],
) -> Option<String> {
    let Some(n) = &spec.name else {
        return Some(model::Index::default_name(keys));
    };
    if let Some(why) = crate::names::index_name_problem(n) {
        ctx.error(&p(path, &["name"]), why);
        return None;
    }
    if n == "_id_" {
        ctx.error(
            &p(path, &["name"]),
            "`_id_` is the name of the implicit `_id` index",
        );
        return None;
    }
    Some(n.clone())
}

/// `weights:`, `default_language:`, `language_override:` — text indexes only.
fn text_options(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    keys: &[(String, IndexKind)],
) -> Option<Document> {
    let has_text = keys.iter().any(|(_, k)| *k == IndexKind::Text);
    if spec.weights.is_some() && !has_text {
        ctx.error_key(
            &p(path, &["weights"]),
            "`weights` applies only to text indexes",
        );
    }
    for (field, w) in spec.weights.iter().flatten() {
        if !(1..=99_999).contains(w) {
            ctx.error(
                &p(path, &["weights", field]),
                format!("text weight {w} of {}: a weight is 1 to 99999", show(field)),
            );
        }
    }
    if (spec.default_language.is_some() || spec.language_override.is_some()) && !has_text {
        let key = if spec.default_language.is_some() {
            "default_language"
        } else {
            "language_override"
        };
        ctx.error_key(
            &p(path, &[key]),
            "`default_language` and `language_override` apply only to text indexes",
        );
    }
    if let Some(l) = &spec.default_language
        && !TEXT_LANGUAGES.contains(&l.as_str())
    {
        ctx.error(
            &p(path, &["default_language"]),
            format!(
                "`{l}` is not a text search language; use one of {}",
                TEXT_LANGUAGES.join(", ")
            ),
        );
    }
    spec.weights.as_ref().map(|w| {
        let mut d = Document::new();
        for (k, v) in w {
            d.insert(k.clone(), *v);
        }
        d
    })
}

/// `wildcard_projection:` — only on `keys: { $**: 1 }`, all inclusions or all exclusions.
fn wildcard_projection(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    keys: &[(String, IndexKind)],
) -> Option<Document> {
    let m = spec.wildcard_projection.as_ref()?;
    let wpath = p(path, &["wildcard_projection"]);
    if keys.len() != 1 || keys[0].0 != "$**" {
        ctx.error_key(
            &wpath,
            "`wildcard_projection` applies only to an index on all fields, `keys: { $**: 1 }`",
        );
    }
    let mut doc = Document::new();
    let (mut include, mut exclude) = (false, false);
    for (k, v) in m {
        let on = match v {
            Value::Int(1) | Value::Bool(true) => true,
            Value::Int(0) | Value::Bool(false) => false,
            other => {
                ctx.error(
                    &p(&wpath, &[k]),
                    format!("{}: write 1 (include) or 0 (exclude)", other.display()),
                );
                continue;
            }
        };
        if k != "_id" {
            include |= on;
            exclude |= !on;
        }
        doc.insert(k.clone(), i32::from(on));
    }
    if include && exclude {
        ctx.error(
            &wpath,
            "a wildcard projection either includes paths (1) or excludes them (0), not both (`_id` aside)",
        );
    }
    Some(doc)
}

/// `2dsphere_version:` — 1, 2 or 3, on a 2dsphere index.
fn sphere_version(
    ctx: &mut Ctx,
    path: &[String],
    spec: &IndexSpec,
    keys: &[(String, IndexKind)],
) -> Option<i32> {
    let v = spec.sphere_version?;
    if !keys.iter().any(|(_, k)| *k == IndexKind::TwoDSphere) {
        ctx.error_key(
            &p(path, &["2dsphere_version"]),
            "`2dsphere_version` applies only to 2dsphere indexes",
        );
    }
    if !(1..=3).contains(&v) {
        ctx.error(
            &p(path, &["2dsphere_version"]),
            format!("2dsphere index version {v} must be 1, 2 or 3"),
        );
    }
    Some(v as i32)
}
