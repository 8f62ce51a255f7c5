//! Collection options (collation, capped, time series, clustered, TTL) and the shard key;
//! durations.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_options(ctx: &mut Ctx, o: &OptionsSpec) -> CollectionOptions {
    let base = vec!["options".to_string()];
    let collation = o
        .collation
        .as_ref()
        .map(|c| check_collation(ctx, &p(&base, &["collation"]), c));
    if let Some(c) = &o.capped {
        if c.size <= 0 {
            ctx.error(
                &p(&base, &["capped", "size"]),
                "capped `size` must be a positive number of bytes",
            );
        }
        if c.max.is_some_and(|m| m <= 0) {
            ctx.error(
                &p(&base, &["capped", "max"]),
                "capped `max` must be a positive number of documents",
            );
        }
    }
    if let Some(t) = &o.timeseries
        && let Some(g) = &t.granularity
        && !["seconds", "minutes", "hours"].contains(&g.as_str())
    {
        ctx.error(
            &p(&base, &["timeseries", "granularity"]),
            format!("granularity `{g}` must be seconds, minutes or hours"),
        );
    }
    let kinds = [o.capped.is_some(), o.timeseries.is_some(), o.clustered]
        .iter()
        .filter(|b| **b)
        .count();
    if kinds > 1 {
        ctx.error_key(
            &base,
            "`capped`, `timeseries` and `clustered` cannot be combined",
        );
    }
    let mut expire_after = None;
    if let Some(v) = &o.expire_after {
        let epath = p(&base, &["expire_after"]);
        match parse_duration(v) {
            Err(e) => ctx.error(&epath, format!("expire_after: {e}")),
            Ok(s) if s > MAX_TTL_SECONDS => ctx.error(
                &epath,
                format!("expire_after: {s} seconds is more than MongoDB allows ({MAX_TTL_SECONDS})"),
            ),
            Ok(_) if !o.clustered && o.timeseries.is_none() => ctx.error_key(
                &epath,
                "a collection TTL (`options.expire_after`) needs `clustered: true` or `timeseries`; for other collections declare a TTL index (`expire_after` on an index of a date field)",
            ),
            Ok(s) => expire_after = Some(s),
        }
    }
    if o.change_stream_pre_and_post_images && o.timeseries.is_some() {
        ctx.error_key(
            &p(&base, &["change_stream_pre_and_post_images"]),
            "time-series collections do not support change stream pre- and post-images",
        );
    }
    CollectionOptions {
        expire_after,
        change_stream_pre_and_post_images: o.change_stream_pre_and_post_images,
        view: None,
        collation,
        capped: o.capped.as_ref().map(|c| Capped {
            size: c.size,
            max: c.max,
        }),
        timeseries: o.timeseries.as_ref().map(|t| Timeseries {
            time_field: t.time_field.clone(),
            meta_field: t.meta_field.clone(),
            granularity: t.granularity.clone(),
        }),
        clustered: o.clustered,
    }
}

/// A declared shard key: its fields, then the rules of [`crate::shard::problems`] against the
/// collection's declared indexes.
pub(super) fn check_shard_key(
    ctx: &mut Ctx,
    raw: &crate::spec::raw::ShardKeySpec,
    indexes: &[model::Index],
    options: &model::CollectionOptions,
) -> Option<model::ShardKey> {
    let path = vec!["shard_key".to_string()];
    let kpath = p(&path, &["keys"]);
    if raw.keys.is_empty() {
        ctx.error(
            &kpath,
            "a shard key has at least one field, e.g. `keys: { tenant_id: 1 }`",
        );
        return None;
    }
    let mut keys = Vec::new();
    for (field, value) in &raw.keys {
        let vpath = p(&kpath, &[field]);
        if let Some(why) = crate::names::field_path_problem(field) {
            ctx.error_key(&vpath, format!("shard key field `{field}`: {why}"));
            continue;
        }
        match value {
            Value::Int(1) => keys.push((field.clone(), model::ShardKeyKind::Range)),
            Value::String(s) if s == "hashed" => {
                keys.push((field.clone(), model::ShardKeyKind::Hashed))
            }
            other => ctx.error(
                &vpath,
                format!(
                    "shard key field `{field}`: {} is not a shard key kind; expected 1 (ranged) or hashed",
                    other.display()
                ),
            ),
        }
    }
    if keys.len() != raw.keys.len() {
        return None;
    }
    let key = model::ShardKey {
        keys,
        unique: raw.unique,
        initial_chunks: raw.initial_chunks,
    };
    let problems = crate::shard::problems(
        &key,
        indexes,
        options.capped.is_some(),
        options.view.is_some(),
    );
    for why in &problems {
        ctx.error_key(&path, why.clone());
    }
    problems.is_empty().then_some(key)
}

/// Parse `expire_after`: seconds, or a number with a unit s/m/h/d.
pub fn parse_duration(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(n) if *n >= 0 => Ok(*n),
        Value::Int(n) => Err(format!("`{n}` is negative; a TTL is 0 seconds or more")),
        Value::Float(f) => Err(format!("`{f}` is not a whole number of seconds")),
        Value::String(s) => {
            let s = s.trim();
            let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
            let n: i64 = num
                .parse()
                .map_err(|_| format!("`{s}` is not a duration like 90d, 12h, 30m or 45s"))?;
            let mult = match unit.trim() {
                "" | "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => {
                    return Err(format!(
                        "`{s}`: unknown unit `{unit}`, expected s, m, h or d"
                    ));
                }
            };
            n.checked_mul(mult)
                .ok_or_else(|| format!("`{s}` is too long"))
        }
        _ => Err("expected seconds or a duration like `90d`".into()),
    }
}
