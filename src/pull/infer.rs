//! Inferring field declarations from documents, streamed: each document updates per-path
//! statistics and is dropped, so memory follows the number of distinct paths, not the number of
//! documents. An object whose keys look like data (ids, dates, numbers as keys, or more distinct
//! keys than a schema would name) is folded into one map whose values are profiled together,
//! so a map with dynamic keys never becomes hundreds of declared fields.
//!
//! Rules: the types are every BSON type seen (a union when mixed — never the most common one
//! alone); `nullable` when null was seen; `required` only when present in every examined
//! instance of the parent (or at least `required_threshold` of them); arrays get merged `items`;
//! every field carries a comment with what was seen. No document value is ever written except
//! the enum candidates of [`super::privacy`] (repeated, short, not a secret or personal data);
//! `--enums` declares exactly those as `enum`.

use super::FieldDecl;
use super::privacy;
use bson::{Bson, Document, RawBsonRef, RawDocument};
use std::collections::BTreeMap;

/// How to infer.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fold an object into a map when it has more distinct keys than this.
    pub map_threshold: usize,
    /// Deeper paths are left as `object` / `array` without declared contents.
    pub max_depth: usize,
    /// A field present in at least this share of its parent's instances is `required`
    /// (1.0: in all of them).
    pub required_threshold: f64,
    /// Declare low-cardinality string fields as `enum`.
    pub enums: bool,
    /// At most this many distinct values make an enum (and are listed in the comment).
    pub enum_max: usize,
    /// "sampled" or "documents" in comments.
    pub sampled: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            map_threshold: 50,
            max_depth: 8,
            required_threshold: 1.0,
            enums: false,
            enum_max: 10,
            sampled: true,
        }
    }
}

/// The BSON types the spec has names for, and `any` for the rest: a value's type is an index
/// into this list (counting by index, not by name, keeps profiling a million documents cheap).
const TYPE_NAMES: [&str; 15] = [
    "double",
    "string",
    "object",
    "array",
    "uuid",
    "binary",
    "object_id",
    "bool",
    "date",
    "null",
    "int",
    "long",
    "timestamp",
    "decimal",
    "any",
];

/// A value's type, as an index into [`TYPE_NAMES`].
fn type_index(b: RawBsonRef<'_>) -> usize {
    match b {
        RawBsonRef::Double(_) => 0,
        RawBsonRef::String(_) => 1,
        RawBsonRef::Document(_) => 2,
        RawBsonRef::Array(_) => 3,
        RawBsonRef::Binary(bin) if bin.subtype == bson::spec::BinarySubtype::Uuid => 4,
        RawBsonRef::Binary(_) => 5,
        RawBsonRef::ObjectId(_) => 6,
        RawBsonRef::Boolean(_) => 7,
        RawBsonRef::DateTime(_) => 8,
        RawBsonRef::Null => 9,
        RawBsonRef::Int32(_) => 10,
        RawBsonRef::Int64(_) => 11,
        RawBsonRef::Timestamp(_) => 12,
        RawBsonRef::Decimal128(_) => 13,
        _ => 14,
    }
}

/// How many values of each type were seen at one path.
#[derive(Debug, Default, Clone)]
struct TypeCounts([u64; TYPE_NAMES.len()]);

impl TypeCounts {
    fn add(&mut self, index: usize, n: u64) {
        self.0[index] += n;
    }

    /// The types seen, with their counts.
    fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        TYPE_NAMES
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| (*t, n))
    }

    fn get(&self, name: &str) -> u64 {
        self.iter().find(|(t, _)| *t == name).map_or(0, |(_, n)| n)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name) > 0
    }
}

/// The order types are written in (the spec's order).
const TYPE_ORDER: &[&str] = &[
    "string",
    "int",
    "long",
    "double",
    "decimal",
    "bool",
    "date",
    "timestamp",
    "object_id",
    "uuid",
    "binary",
    "object",
    "array",
];

/// Statistics of one path.
#[derive(Debug, Default, Clone)]
struct Stats {
    /// Instances of this path seen.
    present: u64,
    /// Values of each type.
    types: TypeCounts,
    /// Objects seen at this path (the denominator of the children's `required`).
    objects: u64,
    children: BTreeMap<String, Stats>,
    /// Set once the children were folded into a map.
    map_values: Option<Box<Stats>>,
    /// Keys that look like data (ids, dates, numbers).
    data_like_keys: u64,
    /// Array elements, all arrays of this path together.
    elements: Option<Box<Stats>>,
    /// Distinct string values (up to a bound) and the documents holding each.
    strings: BTreeMap<String, Seen>,
    /// Too many distinct values, or one shaped like a secret: no value of this path is listed.
    strings_overflow: bool,
}

/// The documents holding one string value: how many, and (exactly) the first few of them, so
/// that "held by at least `privacy::MIN_DOCUMENTS` documents" is never an over-count, even
/// after the values of a map's keys are merged.
#[derive(Debug, Default, Clone)]
struct Seen {
    docs: u64,
    /// Up to `privacy::MIN_DOCUMENTS` distinct document numbers.
    some: Vec<u64>,
}

impl Seen {
    fn add(&mut self, doc: u64) {
        if self.some.last() == Some(&doc) {
            return;
        }
        self.docs += 1;
        if (self.some.len() as u64) < privacy::MIN_DOCUMENTS && !self.some.contains(&doc) {
            self.some.push(doc);
        }
    }

    fn merge(&mut self, other: Seen) {
        let overlap = other.some.iter().filter(|d| self.some.contains(d)).count() as u64;
        self.docs = (self.docs + other.docs).saturating_sub(overlap);
        for d in other.some {
            if (self.some.len() as u64) < privacy::MIN_DOCUMENTS && !self.some.contains(&d) {
                self.some.push(d);
            }
        }
    }

    /// Distinct documents, never more than really seen.
    fn documents(&self) -> u64 {
        if (self.some.len() as u64) < privacy::MIN_DOCUMENTS {
            self.some.len() as u64
        } else {
            self.docs
        }
    }
}

impl Stats {
    /// Profile `value`, found in document number `doc`. (Where the bytes the server sent are
    /// malformed, which a driver would refuse to decode, the rest of that object is skipped.)
    fn add(&mut self, value: RawBsonRef<'_>, depth: usize, o: &Options, doc: u64) {
        self.present += 1;
        self.types.add(type_index(value), 1);
        match value {
            RawBsonRef::Document(d) if depth < o.max_depth => self.add_object(d, depth, o, doc),
            RawBsonRef::Array(items) if depth < o.max_depth => {
                let e = self.elements.get_or_insert_with(Default::default);
                for item in items.into_iter().map_while(Result::ok) {
                    e.add(item, depth + 1, o, doc);
                }
            }
            RawBsonRef::String(s) if !self.strings_overflow => {
                if let Some(seen) = self.strings.get_mut(s) {
                    seen.add(doc);
                } else if privacy::sensitive_value(s) || self.strings.len() >= o.enum_max {
                    self.strings_overflow = true;
                    self.strings.clear();
                } else {
                    self.strings.entry(s.to_string()).or_default().add(doc);
                }
            }
            _ => {}
        }
    }

    fn add_object(&mut self, d: &RawDocument, depth: usize, o: &Options, doc: u64) {
        self.objects += 1;
        if let Some(values) = &mut self.map_values {
            for (_, v) in d.into_iter().map_while(Result::ok) {
                values.add(v, depth + 1, o, doc);
            }
            return;
        }
        for (k, v) in d.into_iter().map_while(Result::ok) {
            if let Some(child) = self.children.get_mut(k) {
                child.add(v, depth + 1, o, doc);
                continue;
            }
            if privacy::data_like_key(k) {
                self.data_like_keys += 1;
            }
            self.children
                .entry(k.to_string())
                .or_default()
                .add(v, depth + 1, o, doc);
        }
        // A key that is data is never written as a field name: the object is a map. (The
        // document itself stays an object: its data-like keys are left out of `fields`.)
        if depth > 0 && (self.children.len() > o.map_threshold || self.data_like_keys > 0) {
            self.fold_into_map();
        }
    }

    /// Merge every child into one map-value profile.
    fn fold_into_map(&mut self) {
        let mut values = Stats::default();
        for (_, c) in std::mem::take(&mut self.children) {
            values.merge(c);
        }
        self.map_values = Some(Box::new(values));
    }

    fn merge(&mut self, other: Stats) {
        self.present += other.present;
        for (i, n) in other.types.0.into_iter().enumerate() {
            self.types.add(i, n);
        }
        self.objects += other.objects;
        for (k, c) in other.children {
            self.children.entry(k).or_default().merge(c);
        }
        if let Some(v) = other.map_values {
            self.map_values
                .get_or_insert_with(Default::default)
                .merge(*v);
        }
        if let Some(e) = other.elements {
            self.elements.get_or_insert_with(Default::default).merge(*e);
        }
        if other.strings_overflow {
            self.strings_overflow = true;
            self.strings.clear();
        } else if !self.strings_overflow {
            for (s, seen) in other.strings {
                self.strings.entry(s).or_default().merge(seen);
            }
        }
    }

    /// Would this object's keys be better read as a map?
    fn looks_like_map(&self, o: &Options) -> bool {
        self.map_values.is_some()
            || self.data_like_keys > 0
            || self.children.len() > o.map_threshold
    }

    /// The values of this path that may be written (see [`privacy::enum_candidates`]).
    fn candidates(&self, name: &str, o: &Options) -> Option<Vec<(String, u64)>> {
        if self.strings_overflow {
            return None;
        }
        let values: Vec<(&str, u64)> = self
            .strings
            .iter()
            .map(|(v, seen)| (v.as_str(), seen.documents()))
            .collect();
        privacy::enum_candidates(name, &values, o.enum_max)
    }
}

/// A whole collection's documents, profiled.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    root: Stats,
    options: Options,
}

impl Profile {
    pub fn new(options: Options) -> Self {
        Self {
            root: Stats::default(),
            options,
        }
    }

    /// Profile one more document.
    pub fn add(&mut self, doc: &Document) {
        // Only a key holding a NUL byte cannot be encoded, and no server sends one.
        if let Ok(raw) = bson::RawDocumentBuf::from_document(doc) {
            self.add_raw(&raw);
        }
    }

    /// Profile one more document as the server sent it (no decoding into a [`Document`]).
    pub fn add_raw(&mut self, doc: &RawDocument) {
        let seq = self.root.objects;
        self.root.add_object(doc, 0, &self.options, seq);
    }

    /// Documents profiled.
    pub fn documents(&self) -> u64 {
        self.root.objects
    }

    /// Were these documents a sample (or every document of the collection)? Said in comments.
    pub fn set_sampled(&mut self, sampled: bool) {
        self.options.sampled = sampled;
    }

    /// The inferred top-level fields (`_id` included), in name order.
    pub fn fields(&self) -> Vec<(String, FieldDecl)> {
        let mut fields = object_fields(&self.root, &self.options, self.root.objects);
        fields.retain(|(name, _)| !privacy::data_like_key(name));
        fields
    }
}

fn pct(n: u64, of: u64) -> String {
    let p = 100.0 * n as f64 / of.max(1) as f64;
    if p == 100.0 || p == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

fn object_fields(s: &Stats, o: &Options, instances: u64) -> Vec<(String, FieldDecl)> {
    s.children
        .iter()
        .map(|(name, c)| (name.clone(), field(name, c, o, instances)))
        .collect()
}

/// The declaration of the path `name` (its last part, or the parent's for items and map
/// values), seen `c.present` times among `instances` of its parent.
fn field(name: &str, c: &Stats, o: &Options, instances: u64) -> FieldDecl {
    let mut f = FieldDecl::default();
    let seen_types: Vec<&str> = TYPE_ORDER
        .iter()
        .copied()
        .filter(|t| c.types.contains_key(t))
        .collect();
    let any = c.types.contains_key("any") || seen_types.is_empty();
    let nulls = c.types.get("null");
    if !any {
        f.types = seen_types.iter().map(|t| t.to_string()).collect();
        f.nullable = nulls > 0;
    }
    f.required = c.present as f64 >= o.required_threshold * instances as f64 && instances > 0;
    if c.types.contains_key("object") && !any {
        if c.looks_like_map(o) {
            let mut values = c.map_values.as_deref().cloned().unwrap_or_default();
            if c.map_values.is_none() {
                for child in c.children.values() {
                    values.merge(child.clone());
                }
            }
            let mut v = field(name, &values, o, values.present);
            v.required = false;
            v.comment = None;
            f.values = Some(Box::new(v));
        } else if c.objects > 0 && !c.children.is_empty() {
            f.fields = Some(object_fields(c, o, c.objects));
        }
    }
    if c.types.contains_key("array")
        && !any
        && let Some(e) = &c.elements
        && e.present > 0
    {
        let mut items = field(name, e, o, e.present);
        items.required = false;
        items.comment = None;
        f.items = Some(Box::new(items));
    }
    let strings_only =
        c.types.contains_key("string") && c.types.iter().all(|(t, _)| t == "string" || t == "null");
    let candidates = strings_only.then(|| c.candidates(name, o)).flatten();
    if o.enums
        && !any
        && let Some(values) = &candidates
    {
        let mut values: Vec<Bson> = values
            .iter()
            .map(|(s, _)| Bson::String(s.clone()))
            .collect();
        values.sort_by_key(|b| b.to_string());
        f.enum_values = Some(values);
    }
    // What was seen, for the reader.
    let mut types: Vec<(&str, u64)> = c.types.iter().collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut comment = format!(
        "{} of {} {}: {}",
        pct(c.present, instances),
        crate::progress::thousands(instances),
        if o.sampled { "sampled" } else { "documents" },
        types
            .iter()
            .map(|(t, n)| format!("{t} {}", pct(*n, c.present)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(values) = &candidates {
        let _ = std::fmt::Write::write_fmt(
            &mut comment,
            format_args!(
                "; values: {}",
                values
                    .iter()
                    .map(|(v, n)| format!("{} ({n})", crate::yaml::show(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    f.comment = Some(comment);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn profile(docs: &[Document], o: Options) -> Profile {
        let mut p = Profile::new(o);
        for d in docs {
            p.add(d);
        }
        p
    }

    #[test]
    fn mixed_types_are_a_union_and_nulls_make_nullable() {
        let p = profile(
            &[
                doc! { "a": 1, "b": "x", "c": { "d": true } },
                doc! { "a": "one", "b": Bson::Null, "c": { "d": false, "e": 2.5 } },
                doc! { "a": 2, "c": { "d": true } },
            ],
            Options::default(),
        );
        let fields = p.fields();
        let get = |n: &str| &fields.iter().find(|(k, _)| k == n).unwrap().1;
        assert_eq!(get("a").types, ["string", "int"]);
        assert!(get("a").required);
        assert_eq!(get("b").types, ["string"]);
        assert!(get("b").nullable && !get("b").required);
        let c = get("c").fields.as_ref().unwrap();
        assert!(c[0].1.required, "d in every c");
        assert!(!c[1].1.required, "e in one c of three");
        assert!(
            get("a")
                .comment
                .as_ref()
                .unwrap()
                .starts_with("100% of 3 sampled: int 66.7%, string 33.3%")
        );
    }

    #[test]
    fn dynamic_keys_become_a_map() {
        let docs: Vec<Document> = (0..20)
            .map(|i| {
                let mut members = Document::new();
                members.insert(
                    format!("{:024x}", i),
                    doc! { "role": "member", "since": bson::DateTime::now() },
                );
                doc! { "members": members }
            })
            .collect();
        let p = profile(&docs, Options::default());
        let m = &p.fields()[0].1;
        assert!(m.fields.is_none());
        let v = m.values.as_ref().unwrap();
        assert_eq!(v.fields.as_ref().unwrap().len(), 2);
        // Too many keys of any kind also fold, and memory stays bounded while it happens.
        let docs: Vec<Document> = (0..200)
            .map(|i| doc! { "o": { format!("k{i}"): i } })
            .collect();
        let p = profile(&docs, Options::default());
        assert!(p.fields()[0].1.values.is_some());
    }

    #[test]
    fn arrays_merge_their_elements_and_enums_are_opt_in() {
        let docs = vec![
            doc! { "t": ["a", "b"], "s": "new" },
            doc! { "t": [1], "s": "old" },
            doc! { "t": [], "s": "new" },
            doc! { "t": [], "s": "old" },
            doc! { "t": [], "s": "new" },
            doc! { "t": [], "s": "old" },
        ];
        let p = profile(&docs, Options::default());
        let f = p.fields();
        assert_eq!(f[1].1.items.as_ref().unwrap().types, ["string", "int"]);
        assert!(f[0].1.enum_values.is_none());
        assert!(
            f[0].1
                .comment
                .as_ref()
                .unwrap()
                .contains("values: `new` (3), `old` (3)"),
            "{:?}",
            f[0].1.comment
        );
        let p = profile(
            &docs,
            Options {
                enums: true,
                ..Default::default()
            },
        );
        assert_eq!(p.fields()[0].1.enum_values.as_ref().unwrap().len(), 2);
    }

    /// The text every field of `docs` is written with (declarations and comments).
    fn written(docs: &[Document], o: Options) -> String {
        let mut out = String::new();
        super::super::render_fields(&mut out, &profile(docs, o).fields(), 0);
        out
    }

    #[test]
    fn no_document_value_reaches_a_file_unless_it_is_a_repeated_harmless_category() {
        // Two administrators: keys, hashes, e-mail addresses, a JWT, and a role both share.
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{}.sig", "x".repeat(440));
        let admins = vec![
            doc! {
                "email": "alice@example.com", "apiKey": "sk_live_51HxQ2eKz9aB3cD4eF5gH6iJ7",
                "password": "$2b$12$KIXQJ1y5x1z8e6Q6y0aZ6uJ0t9m4r3s2q1p0o9n8m7l6k5j4i3h2",
                "role": "admin", "name": "Alice", "session": jwt.clone(),
                "grants": { "bob@example.com": true },
            },
            doc! {
                "email": "bob@example.com", "apiKey": "sk_live_9ZyXwVuTsRqPoNmLkJiHgFeD",
                "password": "$2b$12$AbCdEfGhIjKlMnOpQrStUuVwXyZ0123456789abcdefghijklmnop",
                "role": "admin", "name": "Bob", "session": jwt.clone(),
                "grants": { "alice@example.com": false },
            },
        ];
        for enums in [false, true] {
            let text = written(
                &admins,
                Options {
                    enums,
                    ..Default::default()
                },
            );
            for secret in [
                "sk_live",
                "$2b$",
                "@example.com",
                "eyJ",
                "Alice",
                "Bob",
                "admin",
            ] {
                assert!(!text.contains(secret), "{secret} leaked:\n{text}");
            }
            assert!(
                text.contains("grants:") && text.contains("values:"),
                "{text}"
            );
        }
        // Many documents: a repeated category is shown (and declared with --enums); a value
        // one document holds keeps the whole field's values out.
        let mut docs: Vec<Document> = (0..30)
            .map(|i| doc! { "plan": (["free", "pro"][i % 2]), "tier": (["a", "b"][i % 2]) })
            .collect();
        docs.push(doc! { "plan": "free", "tier": "enterprise-secret-deal" });
        let text = written(
            &docs,
            Options {
                enums: true,
                ..Default::default()
            },
        );
        assert!(text.contains("enum: [free, pro]"), "{text}");
        assert!(text.contains("values: `free` (16), `pro` (15)"), "{text}");
        assert!(
            !text.contains("enterprise") && !text.contains("`a`"),
            "{text}"
        );
    }

    #[test]
    fn a_value_repeated_inside_one_document_is_still_seen_once() {
        // Three keys of one map hold the same value: one document, not three.
        let docs =
            vec![doc! { "m": { "k1": { "r": "x" }, "k2": { "r": "x" }, "k3": { "r": "x" } } }];
        let text = written(&docs, Options::default());
        assert!(!text.contains("`x`"), "{text}");
    }
}
