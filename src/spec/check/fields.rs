//! Field declarations: names, types, and the keywords of strings, numbers, arrays, objects and
//! maps; enums and defaults.

#[allow(unused_imports)]
use super::*;

/// The declared types (empty: any) and whether every name was understood.
pub(super) fn parse_types(ctx: &mut Ctx, path: &[String], spec: &TypeSpec) -> (TypeList, bool) {
    let names: Vec<&str> = match spec {
        TypeSpec::One(n) => vec![n.as_ref()],
        TypeSpec::Many(ns) => ns.iter().map(String::as_str).collect(),
    };
    let tpath = p(path, &["type"]);
    if names.is_empty() {
        ctx.error(
            &tpath,
            "`type` list is empty; use `any` to allow every type",
        );
        return (TypeList::default(), false);
    }
    let mut types = TypeList::default();
    let mut understood = true;
    for name in names {
        if name == "any" {
            if matches!(spec, TypeSpec::Many(ns) if ns.len() > 1) {
                ctx.error(
                    &tpath,
                    "`any` cannot be part of a union; it already allows every type",
                );
                return (TypeList::default(), false);
            }
            return (TypeList::default(), true);
        }
        match FieldType::parse(name) {
            Some(t) if types.contains(&t) => {
                ctx.error(&tpath, format!("type `{name}` is listed twice"))
            }
            Some(t) => types.push(t),
            None => {
                understood = false;
                ctx.error(
                    &tpath,
                    format!(
                        "unknown type `{name}`; {}expected one of {}",
                        crate::yaml::suggestion(name, FieldType::NAMES),
                        FieldType::NAMES.join(", ")
                    ),
                )
            }
        }
    }
    (types, understood)
}

pub(super) fn check_field(ctx: &mut Ctx, path: &[String], name: &str, spec: &FieldSpec) -> Field {
    check_field_name(ctx, path, name);
    let (types, understood) = parse_types(ctx, path, &spec.ty);
    let sm = spec.more();
    let mut field = Field {
        types,
        nullable: spec.nullable,
        required: spec.required,
        ..Default::default()
    };
    *field.more_mut() = FieldMore {
        title: sm.title.clone(),
        description: sm.description.clone(),
        pattern: sm.pattern.clone(),
        min_length: sm.min_length,
        max_length: sm.max_length,
        min_items: sm.min_items,
        max_items: sm.max_items,
        unique_items: sm.unique_items,
        additional_fields: sm.additional_fields,
        ..Default::default()
    };
    if !understood {
        // The type is already wrong: checks that depend on it would only add noise. Nested
        // declarations are still checked so that their own errors show up now.
        if let Some(items) = &spec.items {
            check_field(ctx, &p(path, &["items"]), &format!("{name}[]"), items);
        }
        for (sname, sspec) in spec.fields.iter().flat_map(|f| f.iter()) {
            check_field(ctx, &p(path, &["fields", sname]), sname, sspec);
        }
        field.more = None;
        return field;
    }
    let type_name = declared(&field);
    check_applies(ctx, path, name, spec, &field, &type_name);
    check_bounds(ctx, path, spec, &mut field);
    check_nested(ctx, path, name, spec, &mut field, &type_name);
    check_enum(ctx, path, name, spec, &mut field, &type_name);
    check_default(ctx, path, name, spec, &mut field, &type_name);
    check_evolve(ctx, path, spec, &mut field);
    if *field.more() == FieldMore::default() {
        field.more = None;
    }
    field
}

/// A field's types in words: `string | int`, or `any`.
fn declared(t: &Field) -> String {
    if t.types.is_empty() {
        "any".to_string()
    } else {
        t.types
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// Does the field declare a type `pred` accepts?
fn has(f: &Field, pred: fn(FieldType) -> bool) -> bool {
    f.types.iter().any(|t| pred(*t))
}

/// A field name a document can have.
fn check_field_name(ctx: &mut Ctx, path: &[String], name: &str) {
    if name.is_empty() {
        ctx.error_key(path, "field name is empty");
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        ctx.error_key(
            path,
            format!(
                "field name {} contains the control character {}; no document can be written with it on purpose",
                crate::yaml::show(name),
                crate::yaml::show(&c.to_string())
            ),
        );
    } else if name.starts_with('$') && !crate::names::DBREF_FIELDS.contains(&name) {
        ctx.error_key(
            path,
            format!(
                "field name `{name}` cannot start with `$` (only a DBRef's `$ref`, `$id` and `$db` can)"
            ),
        );
    } else if name.contains('.') {
        ctx.error_key(
            path,
            format!("field name `{name}` contains `.`; declare nested fields with `type: object` and `fields:`"),
        );
    }
}

/// Keywords that apply to some types only: each on a field of such a type.
fn check_applies(
    ctx: &mut Ctx,
    path: &[String],
    name: &str,
    spec: &FieldSpec,
    field: &Field,
    type_name: &str,
) {
    let sm = spec.more();
    // Constraints that only make sense for some types.
    let string_only = [
        ("pattern", sm.pattern.is_some()),
        ("min_length", sm.min_length.is_some()),
        ("max_length", sm.max_length.is_some()),
    ];
    for (key, set) in string_only {
        if set && !has(field, |t| t == FieldType::String) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to strings, but field `{name}` is {type_name}"),
            );
        }
    }
    let numeric_only = [
        ("minimum", sm.minimum.is_some()),
        ("maximum", sm.maximum.is_some()),
    ];
    for (key, set) in numeric_only {
        if set && !has(field, FieldType::is_numeric) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to numbers, but field `{name}` is {type_name}"),
            );
        }
    }
    let array_only = [
        ("min_items", sm.min_items.is_some()),
        ("max_items", sm.max_items.is_some()),
        ("unique_items", sm.unique_items.is_some()),
        ("items", spec.items.is_some()),
    ];
    for (key, set) in array_only {
        if set && !has(field, |t| t == FieldType::Array) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to arrays, but field `{name}` is {type_name}"),
            );
        }
    }
    for (key, set) in [
        ("fields", spec.fields.is_some()),
        ("additional_fields", sm.additional_fields.is_some()),
    ] {
        if set && !has(field, |t| t == FieldType::Object) {
            ctx.error_key(
                &p(path, &[key]),
                format!("`{key}` applies to objects, but field `{name}` is {type_name}"),
            );
        }
    }
    if sm.additional_fields.is_some() && spec.fields.is_none() {
        ctx.error_key(
            &p(path, &["additional_fields"]),
            "`additional_fields` needs `fields` to say which keys are allowed",
        );
    }
}

/// Lengths, item counts, number bounds and the pattern: each well-formed and consistent.
fn check_bounds(ctx: &mut Ctx, path: &[String], spec: &FieldSpec, field: &mut Field) {
    let sm = spec.more();
    if let (Some(a), Some(b)) = (sm.min_length, sm.max_length)
        && a > b
    {
        ctx.error(
            &p(path, &["min_length"]),
            format!("min_length {a} is greater than max_length {b}"),
        );
    }
    if let (Some(a), Some(b)) = (sm.min_items, sm.max_items)
        && a > b
    {
        ctx.error(
            &p(path, &["min_items"]),
            format!("min_items {a} is greater than max_items {b}"),
        );
    }
    let bound = |ctx: &mut Ctx, key: &str, v: &Option<Value>| -> Option<Bson> {
        let v = v.as_ref()?;
        let b = match v {
            Value::Int(i) => int_to_bson(*i),
            Value::Float(f) if f.is_finite() => Bson::Double(*f),
            Value::Float(f) => {
                ctx.error(
                    &p(path, &[key]),
                    format!(
                        "`{key}: {f}` is not a finite number; write a number, or leave `{key}` out"
                    ),
                );
                return None;
            }
            other => {
                ctx.error(
                    &p(path, &[key]),
                    format!("`{key}` must be a number, found {}", other.display()),
                );
                return None;
            }
        };
        Some(b)
    };
    field.more_mut().minimum = bound(ctx, "minimum", &sm.minimum).map(Box::new);
    field.more_mut().maximum = bound(ctx, "maximum", &sm.maximum).map(Box::new);
    if let (Some(a), Some(b)) = (&field.more().minimum, &field.more().maximum)
        && compare_numbers(a, b) == Some(std::cmp::Ordering::Greater)
    {
        ctx.error(
            &p(path, &["minimum"]),
            format!("minimum {a} is greater than maximum {b}"),
        );
    }
    if let Some(pattern) = &sm.pattern {
        if pattern.is_empty() {
            ctx.error(&p(path, &["pattern"]), "`pattern` is empty");
        } else if let Err(why) = check_regex(pattern) {
            ctx.error(
                &p(path, &["pattern"]),
                format!(
                    "`pattern` {} is not a valid regular expression: {why}",
                    show(pattern)
                ),
            );
        }
    }
}

/// Array items, object fields and map values, each checked as a field.
fn check_nested(
    ctx: &mut Ctx,
    path: &[String],
    name: &str,
    spec: &FieldSpec,
    field: &mut Field,
    type_name: &str,
) {
    let sm = spec.more();
    if let Some(items) = &spec.items {
        let ipath = p(path, &["items"]);
        field.items = Some(Box::new(check_field(
            ctx,
            &ipath,
            &format!("{name}[]"),
            items,
        )));
    }
    if let Some(sub) = &spec.fields {
        let mut map = BTreeMap::new();
        for (sname, sspec) in sub.iter() {
            let spath = p(path, &["fields", sname]);
            map.insert(sname.clone(), check_field(ctx, &spath, sname, sspec));
        }
        field.fields = Some(map.into_iter().collect());
    }

    if let Some(values) = &sm.values {
        let vpath = p(path, &["values"]);
        if !has(field, |t| t == FieldType::Object) {
            ctx.error_key(
                &vpath,
                format!("`values` applies to objects (maps), but field `{name}` is {type_name}"),
            );
        }
        if sm.additional_fields == Some(AdditionalFields::Deny) {
            ctx.error_key(
                &vpath,
                "`values` declares the keys `fields` does not, so it cannot go with `additional_fields: deny`",
            );
        }
        let checked = check_field(ctx, &vpath, &format!("{name}[value]"), values);
        field.more_mut().values = Some(Box::new(checked));
    }
}

/// Enum values: each of the field's type, no duplicates, within 16 MB.
fn check_enum(
    ctx: &mut Ctx,
    path: &[String],
    name: &str,
    spec: &FieldSpec,
    field: &mut Field,
    type_name: &str,
) {
    let Some(values) = &spec.more().enum_values else {
        return;
    };
    let epath = p(path, &["enum"]);
    if values.is_empty() {
        ctx.error(&epath, "`enum` is empty: no value could ever be valid");
    }
    let mut set = EnumSet::default();
    for (i, value) in values.iter().enumerate() {
        let vpath = p(&epath, &[&i.to_string()]);
        if value.is_null() {
            if !spec.nullable {
                ctx.error(
                    &vpath,
                    format!(
                        "enum value null is not allowed: field `{name}` is not `nullable: true`"
                    ),
                );
            }
            continue; // nullable adds null itself
        }
        match typed_value(field, value).map(|b| set.add(i, b)) {
            Ok(Added::Yes) => {}
            Ok(Added::Twice) => ctx.error(
                &vpath,
                format!(
                    "enum value {} is listed twice (numbers are compared by value: 1 and 1.0 are the same)",
                    value.display()
                ),
            ),
            Ok(Added::TooBig) => {
                ctx.error(
                    &epath,
                    format!(
                        "the enum of `{name}` holds more than 16 MB of values, over MongoDB's document limit for a validator; use fewer values, or a `pattern`"
                    ),
                );
                set.values = Vec::new();
                break;
            }
            Err(why) => ctx.error(
                &vpath,
                format!("enum value {} is not a {type_name}: {why}", value.display()),
            ),
        }
    }
    field.more_mut().enum_values = Some(set.values);
}

/// The values of an enum so far: repeats found in one pass (numbers compared by value), and
/// the enum's size in a validator (past 16 MB the server refuses it).
#[derive(Default)]
struct EnumSet {
    values: Vec<Bson>,
    /// Values by fingerprint → position in `values` (a match is confirmed by comparing).
    seen: HashMap<u64, usize>,
    bytes: usize,
}

enum Added {
    Yes,
    Twice,
    TooBig,
}

impl EnumSet {
    fn add(&mut self, i: usize, b: Bson) -> Added {
        let print = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            format!("{:?}", crate::normalize::canonical_value(&b)).hash(&mut h);
            h.finish()
        };
        let same = |c: &Bson| {
            crate::normalize::canonical_value(c) == crate::normalize::canonical_value(&b)
        };
        // A fingerprint shared by different values (all but impossible) falls back to
        // comparing with every value.
        if self
            .seen
            .get(&print)
            .is_some_and(|&at| same(&self.values[at]) || self.values.iter().any(same))
        {
            return Added::Twice;
        }
        self.bytes += 1 + i.to_string().len() + 1 + bson_value_size(&b);
        if self.bytes > MAX_BSON_SIZE {
            return Added::TooBig;
        }
        self.seen.entry(print).or_insert(self.values.len());
        self.values.push(b);
        Added::Yes
    }
}

/// The default: of the field's type, within its enum and constraints.
fn check_default(
    ctx: &mut Ctx,
    path: &[String],
    name: &str,
    spec: &FieldSpec,
    field: &mut Field,
    type_name: &str,
) {
    let sm = spec.more();
    // The default: of the field's type, within its enum and constraints.
    if let Some(value) = &sm.default {
        let dpath = p(path, &["default"]);
        if value.as_str() == Some("now") && field.allows(FieldType::Date) && !field.types.is_empty()
        {
            field.more_mut().default = Some(Box::new(DefaultValue::Now));
        } else {
            if value.as_str() == Some("now") && field.allows(FieldType::String) {
                ctx.warn(
                    &dpath,
                    format!(
                        "`default: now` on field `{name}` ({type_name}) is the text \"now\", not the server's time: that needs `type: date`"
                    ),
                );
            }
            match typed_value(field, value).and_then(|b| {
                check_constraints(field, &b)?;
                let size = bson::to_vec(&bson::doc! { "v": b.clone() }).map_or(0, |v| v.len());
                if size > 16 * 1024 * 1024 {
                    return Err(format!(
                        "it is {:.1} MB as BSON, and no document can hold more than 16 MB",
                        size as f64 / 1_048_576.0
                    ));
                }
                Ok(b)
            }) {
                Ok(b) => field.more_mut().default = Some(Box::new(DefaultValue::Value(b))),
                Err(why) => ctx.error(
                    &dpath,
                    format!(
                        "default {} for field `{name}` ({type_name}): {why}",
                        value.display()
                    ),
                ),
            }
        }
    }
}

/// `renamed_from`, `convert`, `contract_after`: a declared evolution (see `crate::evolve`).
fn check_evolve(ctx: &mut Ctx, path: &[String], spec: &FieldSpec, field: &mut Field) {
    let sm = spec.more();
    if sm.renamed_from.is_none() && sm.convert.is_none() && sm.contract_after.is_none() {
        return;
    }
    let convert = match &sm.convert {
        None => None,
        Some(v @ Value::Map(_)) => match plain_bson(v) {
            Ok(Bson::Document(d)) => Some(d),
            Ok(_) => None,
            Err(e) => {
                ctx.error(&p(path, &["convert"]), format!("convert: {e}"));
                return;
            }
        },
        Some(_) => {
            ctx.error(
                &p(path, &["convert"]),
                "`convert` is an expression over the old value, e.g. `{ $toDate: \"$$value\" }`",
            );
            return;
        }
    };
    let contract_after = match &sm.contract_after {
        None => crate::evolve::DEFAULT_CONTRACT_AFTER,
        Some(v) => match parse_duration(v) {
            Ok(s) => s,
            Err(e) => {
                ctx.error(
                    &p(path, &["contract_after"]),
                    format!("contract_after: {e}"),
                );
                return;
            }
        },
    };
    // The field's dotted path from the document's root (`renamed_from` is one too).
    let dotted: Vec<&str> = path
        .windows(2)
        .filter(|w| w[0] == "fields")
        .map(|w| w[1].as_str())
        .collect();
    let dotted = dotted.join(".");
    let mut ok = true;
    for (key, why) in crate::evolve::problems(&dotted, sm.renamed_from.as_deref(), convert.as_ref())
    {
        let key = if key == "from" { "renamed_from" } else { key };
        ctx.error(&p(path, &[key]), why);
        ok = false;
    }
    if ok {
        field.more_mut().evolve = Some(Box::new(crate::spec::FieldEvolve {
            from: sm.renamed_from.clone(),
            convert,
            contract_after,
        }));
    }
}
