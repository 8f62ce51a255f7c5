//! Reading YAML: a serde `Deserializer` over yaml-rust2's event stream, shared by the three
//! file formats (schema files, migration files, `mongrate.yaml`). Pure: text in, values out.
//!
//! Why not a YAML library's own serde support: every error here names a line and column and is
//! phrased in the user's terms (no Rust type names), a key written twice is an error at the
//! second one, aliases cannot expand without bound, a byte-order mark is accepted, control
//! characters and tabs get their own messages, and no intermediate tree of the whole file is
//! built, so memory follows the size of what is kept, not of the text.
//!
//! Scalars follow the YAML 1.2 core schema: `~`/`null`/empty are null, `true`/`false` booleans,
//! decimal, `0x` and `0o` integers (within 64 bits), decimal floats and `.inf`/`.nan`;
//! quoted scalars are always strings. A scalar asked for as a string is its text.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use std::collections::HashMap;
use std::fmt;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Nesting deeper than this is refused (a guard against stack exhaustion).
pub const MAX_DEPTH: usize = 128;

/// A reading error: 1-based line and column, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub line: usize,
    pub column: usize,
    pub message: String,
    positioned: bool,
}

impl Error {
    fn new(mark: Marker, message: impl Into<String>) -> Self {
        Self {
            line: mark.line().max(1),
            column: mark.col() + 1,
            message: message.into(),
            positioned: true,
        }
    }

    /// Give an error raised by a visitor the position (and path) of the node it is about,
    /// unless a deeper node already gave it one.
    fn at(mut self, mark: Marker, path: &str) -> Self {
        if !self.positioned {
            self.line = mark.line().max(1);
            self.column = mark.col() + 1;
            self.positioned = true;
            if !path.is_empty() {
                self.message = format!("{path}: {}", self.message);
            }
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            line: 1,
            column: 1,
            message: msg.to_string(),
            positioned: false,
        }
    }

    fn invalid_type(unexp: Unexpected, exp: &dyn Expected) -> Self {
        Self::custom(format!(
            "expected {}, found {}",
            expected_words(&exp.to_string()),
            unexpected_words(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected, exp: &dyn Expected) -> Self {
        Self::custom(format!(
            "{} is not allowed here: expected {}",
            unexpected_words(&unexp),
            expected_words(&exp.to_string())
        ))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Self::custom(format!(
            "{} {} the wrong number: expected {}",
            crate::progress::count(len as u64, "item"),
            if len == 1 { "is" } else { "are" },
            expected_words(&exp.to_string())
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format!(
            "unknown value {}; {}expected one of: {}",
            show(variant),
            suggestion(variant, expected),
            expected.join(", ")
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(if expected.is_empty() {
            format!("unknown key {}; this mapping takes no keys", show(field))
        } else {
            format!(
                "unknown key {}; {}expected one of: {}",
                show(field),
                suggestion(field, expected),
                expected.join(", ")
            )
        })
    }

    fn missing_field(field: &'static str) -> Self {
        Self::custom(format!("missing key `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::custom(format!("key `{field}` is written twice"))
    }
}

/// Why a file's text declares nothing, if it does not: it is empty (or only comments), or
/// its one document is a bare `null`.
pub fn empty_document(text: &str) -> Option<&'static str> {
    let content: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "---" && *l != "...")
        .collect();
    match content.as_slice() {
        [] => Some("the file is empty"),
        [one]
            if matches!(
                one.split(" #").next().unwrap_or_default().trim(),
                "~" | "null" | "Null" | "NULL"
            ) =>
        {
            Some("the file holds only `null`")
        }
        _ => None,
    }
}

/// `did you mean `x`? ` when one of `candidates` is a likely spelling of `word` (a few
/// letters off, or the same but for case and `_`/`-`), else nothing.
pub fn suggestion(word: &str, candidates: &[&str]) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default()
}

/// The candidate closest to `word`, if it is close enough to be a misspelling.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let w = fold(word);
    if w.is_empty() || word.chars().count() > 64 {
        return None;
    }
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &fold(c)), *c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance (characters; a swap of two neighbours counts as one edit), for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// serde's "expected" phrases (which name Rust types) in the user's terms.
fn expected_words(exp: &str) -> String {
    let words = if exp.starts_with("struct ") || exp == "a map" || exp.starts_with("map") {
        "a mapping (`key: value` lines or `{ ... }`)"
    } else if exp.starts_with("enum ") {
        "one of the allowed names"
    } else if exp == "a sequence" || exp.starts_with("tuple") {
        "a list (`- item` lines or `[ ... ]`)"
    } else if exp == "a boolean" {
        "true or false"
    } else if matches!(exp, "u8" | "u16" | "u32" | "u64" | "usize") {
        "a whole number, 0 or more"
    } else if matches!(exp, "i8" | "i16" | "i32" | "i64" | "isize" | "i128") {
        "a whole number"
    } else if matches!(exp, "f32" | "f64") {
        "a number"
    } else if exp == "a string" || exp == "a borrowed string" || exp == "string" {
        "text"
    } else if exp == "unit" {
        "nothing (null)"
    } else {
        return exp.to_string();
    };
    words.to_string()
}

fn unexpected_words(u: &Unexpected) -> String {
    match u {
        Unexpected::Bool(b) => format!("`{b}`"),
        Unexpected::Unsigned(n) => format!("the number {n}"),
        Unexpected::Signed(n) => format!("the number {n}"),
        Unexpected::Float(f) => format!("the number {f}"),
        Unexpected::Char(c) => show(&c.to_string()),
        Unexpected::Str(s) => show(s),
        Unexpected::Bytes(_) => "bytes".into(),
        Unexpected::Unit | Unexpected::Option => "null".into(),
        Unexpected::Seq => "a list".into(),
        Unexpected::Map => "a mapping".into(),
        Unexpected::Enum => "a name".into(),
        Unexpected::NewtypeStruct | Unexpected::UnitVariant => "a value".into(),
        Unexpected::NewtypeVariant | Unexpected::TupleVariant | Unexpected::StructVariant => {
            "a mapping".into()
        }
        Unexpected::Other(o) => o.to_string(),
    }
}

/// A value as it may be echoed in a message: in backquotes, control characters escaped, at
/// most 80 characters (longer ones are cut and their length given).
pub fn show(s: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::from("`");
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push_str(&format!("…` ({} characters)", s.chars().count()));
            return out;
        }
        if c.is_control() || c == '\u{feff}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

/// A message made safe to print: every backquoted value longer than 80 characters is cut
/// (with its length), and control characters other than newlines are escaped. Applied where
/// messages about user input are made, so no file's content can flood or garble a terminal.
pub fn tidy(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message;
    while let Some(open) = rest.find('`') {
        escape_controls(&rest[..open], &mut out);
        let after = &rest[open + 1..];
        match after.find('`') {
            Some(close) => {
                let inner = &after[..close];
                if inner.ends_with('…') && inner.chars().count() <= 81 {
                    // Already cut by `show`: its length follows it.
                    out.push('`');
                    escape_controls(inner, &mut out);
                    out.push('`');
                } else {
                    out.push_str(&show(inner));
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('`');
                rest = after;
            }
        }
    }
    escape_controls(rest, &mut out);
    out
}

fn escape_controls(s: &str, out: &mut String) {
    for c in s.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

/// A parsed plain-or-quoted scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar<'s> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'s str),
}

fn resolve(text: &str, style: TScalarStyle) -> Result<Scalar<'_>, String> {
    if style != TScalarStyle::Plain {
        return Ok(Scalar::Str(text));
    }
    Ok(match text {
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        "true" | "True" | "TRUE" => Scalar::Bool(true),
        "false" | "False" | "FALSE" => Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        _ => {
            if let Some(n) = parse_int(text)? {
                Scalar::Int(n)
            } else if is_float(text) {
                Scalar::Float(
                    text.parse()
                        .map_err(|_| format!("{} is not a number", show(text)))?,
                )
            } else {
                Scalar::Str(text)
            }
        }
    })
}

/// A YAML 1.2 core-schema integer; `Err` when it is one but does not fit 64 bits.
fn parse_int(text: &str) -> Result<Option<i64>, String> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").filter(|_| !neg) {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o").filter(|_| !neg) {
        (8, o)
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Ok(None);
    }
    let magnitude = u128::from_str_radix(digits, radix).unwrap_or(u128::MAX);
    let value = if neg {
        (magnitude <= 1u128 << 63).then(|| (magnitude as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(magnitude).ok()
    };
    value.map(Some).ok_or_else(|| {
        format!(
            "the integer {} does not fit in 64 bits (MongoDB's largest integer); quote it to make it text",
            show(text)
        )
    })
}

fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// The first character YAML does not allow in a file, with its 1-based line and column.
fn forbidden_char(text: &str) -> Option<(usize, usize, char)> {
    let (mut line, mut column) = (1, 1);
    for c in text.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || (!c.is_control() && c != '\u{fffe}' && c != '\u{ffff}');
        if !allowed {
            return Some((line, column, c));
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    None
}

/// Deserialize one YAML document. An empty file (or one holding only comments) reads as null.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((line, column, c)) = forbidden_char(text) {
        return Err(Error {
            line,
            column,
            message: format!(
                "control character U+{:04X} is not allowed in a YAML file; remove it (inside double quotes it can be written as an escape, e.g. \"\\t\")",
                c as u32
            ),
            positioned: true,
        });
    }
    let mut de = Deserializer::new(text);
    de.start()?;
    let value = T::deserialize(&mut de)?;
    de.finish()?;
    Ok(value)
}

type Item = (Event, Marker);

/// Recording of an anchored node's events, for its aliases.
struct Recording {
    id: usize,
    events: Vec<Item>,
    open: usize,
}

/// The deserializer: pulls events one at a time, never holding the whole document.
pub struct Deserializer<'a> {
    text: &'a str,
    parser: Parser<std::str::Chars<'a>>,
    peeked: Option<Item>,
    /// Events of an alias being expanded (in reverse order: the next one is last).
    replay: Vec<Item>,
    anchors: HashMap<usize, Vec<Item>>,
    recordings: Vec<Recording>,
    /// How many more events aliases may expand to.
    alias_budget: usize,
    depth: usize,
    path: Vec<Segment>,
    /// A mapping key is being read: any scalar is its text (`1: ...` is the key "1").
    in_key: bool,
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

impl<'a> Deserializer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            parser: Parser::new_from_str(text),
            peeked: None,
            replay: Vec::new(),
            anchors: HashMap::new(),
            recordings: Vec::new(),
            alias_budget: 10_000 + text.len(),
            depth: 0,
            path: Vec::new(),
            in_key: false,
        }
    }

    /// An error at `mark`, prefixed with the path of the current node.
    fn fail(&self, mark: Marker, message: impl Into<String>) -> Error {
        let path = self.path_text();
        let message = message.into();
        Error::new(
            mark,
            if path.is_empty() {
                message
            } else {
                format!("{path}: {message}")
            },
        )
    }

    /// Give `e` the position of `mark` and the current path, unless it has a position already.
    fn locate(&self, e: Error, mark: Marker) -> Error {
        if e.positioned {
            e
        } else {
            e.at(mark, &self.path_text())
        }
    }

    fn path_text(&self) -> String {
        let mut out = String::new();
        for s in &self.path {
            match s {
                Segment::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let shown: String = k.chars().take(40).collect();
                    out.push_str(&shown.escape_default().to_string());
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn scan_error(&self, e: &yaml_rust2::ScanError) -> Error {
        let mark = *e.marker();
        let info = e.info();
        // Markers count characters, not bytes: find the place by line and column.
        let line = self
            .text
            .split('\n')
            .nth(mark.line().saturating_sub(1))
            .unwrap_or("");
        let at = line.chars().nth(mark.col());
        let indent_has_tab = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .any(|c| c == '\t');
        let message = if at == Some('\t') || indent_has_tab {
            "a tab character is used for indentation here; YAML indents with spaces only"
                .to_string()
        } else if info.contains("recursion limit") {
            format!("the document nests deeper than YAML allows here ({info})")
        } else {
            format!("this is not valid YAML: {info}")
        };
        Error::new(mark, message)
    }

    /// The next event straight from the parser (recorded for open anchors).
    fn pull(&mut self) -> Result<Item, Error> {
        let item = self.parser.next_token().map_err(|e| self.scan_error(&e))?;
        for r in &mut self.recordings {
            r.events.push(item.clone());
        }
        // Close finished recordings; open one for an anchored node.
        let (event, _) = &item;
        let delta: isize = match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => 1,
            Event::MappingEnd | Event::SequenceEnd => -1,
            _ => 0,
        };
        let mut finished = Vec::new();
        for (i, r) in self.recordings.iter_mut().enumerate() {
            r.open = (r.open as isize + delta) as usize;
            if r.open == 0 {
                finished.push(i);
            }
        }
        for i in finished.into_iter().rev() {
            let r = self.recordings.remove(i);
            self.anchors.insert(r.id, r.events);
        }
        let anchor = match event {
            Event::Scalar(_, _, a, _) => *a,
            Event::MappingStart(a, _) | Event::SequenceStart(a, _) => *a,
            _ => 0,
        };
        if anchor > 0 {
            if delta == 0 {
                self.anchors.insert(anchor, vec![item.clone()]);
            } else {
                self.recordings.push(Recording {
                    id: anchor,
                    events: vec![item.clone()],
                    open: 1,
                });
            }
        }
        Ok(item)
    }

    /// The next event with aliases expanded (within the budget).
    fn next_raw(&mut self) -> Result<Item, Error> {
        loop {
            let item = match self.replay.pop() {
                Some(item) => item,
                None => self.pull()?,
            };
            if let Event::Alias(id) = item.0 {
                let Some(events) = self.anchors.get(&id) else {
                    return Err(Error::new(
                        item.1,
                        "this alias (`*name`) refers to a node that is still open or unknown",
                    ));
                };
                if events.len() > self.alias_budget {
                    return Err(Error::new(
                        item.1,
                        "aliases (`*name`) in this file expand to too many values (a YAML \"billion laughs\"); write the values out instead",
                    ));
                }
                self.alias_budget -= events.len();
                let at = item.1;
                self.replay
                    .extend(events.iter().rev().map(|(e, _)| (e.clone(), at)));
                continue;
            }
            return Ok(item);
        }
    }

    fn peek(&mut self) -> Result<&Item, Error> {
        if self.peeked.is_none() {
            let item = self.next_raw()?;
            self.peeked = Some(item);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn next(&mut self) -> Result<Item, Error> {
        let item = match self.peeked.take() {
            Some(item) => item,
            None => self.next_raw()?,
        };
        Ok(item)
    }

    fn start(&mut self) -> Result<(), Error> {
        if let (Event::StreamStart, _) = self.peek()? {
            self.next()?;
        }
        if let (Event::DocumentStart, _) = self.peek()? {
            self.next()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        loop {
            let (event, mark) = self.next()?;
            match event {
                Event::DocumentEnd => {}
                Event::StreamEnd => return Ok(()),
                Event::DocumentStart => {
                    return Err(Error::new(
                        mark,
                        "a second YAML document starts here (`---`); a file holds one document",
                    ));
                }
                _ => {
                    return Err(Error::new(mark, "unexpected content after the document"));
                }
            }
        }
    }

    /// Take the next node's first event, skipping a document start (and reading an empty
    /// stream as null).
    fn node_start(&mut self) -> Result<Item, Error> {
        loop {
            let item = self.next()?;
            match item.0 {
                Event::DocumentStart => continue,
                Event::StreamEnd | Event::DocumentEnd => {
                    // An empty document: a null scalar, and the end is left for `finish`.
                    self.peeked = Some(item.clone());
                    return Ok((
                        Event::Scalar(String::new(), TScalarStyle::Plain, 0, None),
                        item.1,
                    ));
                }
                _ => return Ok(item),
            }
        }
    }

    fn enter(&mut self, mark: Marker) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::new(
                mark,
                format!("values are nested more than {MAX_DEPTH} levels deep here"),
            ));
        }
        Ok(())
    }

    /// Skip the rest of a node whose first event was taken.
    fn skip_rest(&mut self, first: &Event) -> Result<(), Error> {
        let mut open = match first {
            Event::MappingStart(..) | Event::SequenceStart(..) => 1usize,
            _ => 0,
        };
        while open > 0 {
            match self.next()?.0 {
                Event::MappingStart(..) | Event::SequenceStart(..) => open += 1,
                Event::MappingEnd | Event::SequenceEnd => open -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    fn scalar_of<'s>(
        &self,
        text: &'s str,
        style: TScalarStyle,
        tag: &Option<yaml_rust2::parser::Tag>,
        mark: Marker,
    ) -> Result<Scalar<'s>, Error> {
        if let Some(tag) = tag {
            let is_core = tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!";
            return match (is_core, tag.suffix.as_str()) {
                (true, "str") => Ok(Scalar::Str(text)),
                (true, "null" | "bool" | "int" | "float") => {
                    resolve(text, TScalarStyle::Plain).map_err(|m| Error::new(mark, m))
                }
                _ => Err(Error::new(
                    mark,
                    format!(
                        "YAML tags such as `{}{}` are not supported; write the value without it",
                        tag.handle, tag.suffix
                    ),
                )),
            };
        }
        resolve(text, style).map_err(|m| Error::new(mark, m))
    }

    fn tag_error(tag: &Option<yaml_rust2::parser::Tag>, mark: Marker) -> Result<(), Error> {
        match tag {
            Some(t) if !(t.handle == "!!" || t.handle == "tag:yaml.org,2002:") => Err(Error::new(
                mark,
                format!(
                    "YAML tags such as `{}{}` are not supported; write the value without it",
                    t.handle, t.suffix
                ),
            )),
            _ => Ok(()),
        }
    }

    fn visit_scalar<'de, V: Visitor<'de>>(
        &self,
        s: Scalar<'_>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match s {
            Scalar::Null => visitor.visit_unit(),
            Scalar::Bool(b) => visitor.visit_bool(b),
            Scalar::Int(n) => match i32::try_from(n) {
                Ok(small) => visitor.visit_i32(small),
                Err(_) => visitor.visit_i64(n),
            },
            Scalar::Float(f) => visitor.visit_f64(f),
            Scalar::Str(t) => visitor.visit_str(t),
        }
    }

    fn any_from<'de, V: Visitor<'de>>(
        &mut self,
        item: Item,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (event, mark) = item;
        let result = match event {
            Event::Scalar(ref text, style, _, ref tag) => {
                let s = self.scalar_of(text, style, tag, mark)?;
                self.visit_scalar(s, visitor)
            }
            Event::SequenceStart(_, ref tag) => {
                Self::tag_error(tag, mark)?;
                self.seq_body(mark, visitor)
            }
            Event::MappingStart(_, ref tag) => {
                Self::tag_error(tag, mark)?;
                self.map_body(mark, visitor)
            }
            other => Err(Error::new(mark, format!("unexpected YAML event {other:?}"))),
        };
        result.map_err(|e| self.locate(e, mark))
    }

    fn seq_body<'de, V: Visitor<'de>>(
        &mut self,
        mark: Marker,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.enter(mark)?;
        let value = visitor.visit_seq(Seq { de: self, index: 0 })?;
        // Elements the visitor did not take are an error, not silently dropped.
        match self.next()? {
            (Event::SequenceEnd, _) => {}
            (_, m) => return Err(Error::new(m, "this list has more items than expected")),
        }
        self.depth -= 1;
        Ok(value)
    }

    fn map_body<'de, V: Visitor<'de>>(
        &mut self,
        mark: Marker,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.enter(mark)?;
        let value = visitor.visit_map(Map {
            de: self,
            seen: HashMap::new(),
        })?;
        match self.next()? {
            (Event::MappingEnd, _) => {}
            (Event::Scalar(k, ..), m) => {
                return Err(Error::new(
                    m,
                    format!("unexpected key {} next to the keys before it", show(&k)),
                ));
            }
            (_, m) => return Err(Error::new(m, "unexpected key in this mapping")),
        }
        self.depth -= 1;
        Ok(value)
    }

    /// Is the next node a plain null scalar?
    /// Is the next node a null written out (`null`, `~`), rather than left empty? Only a
    /// value left empty stands for an empty list or mapping.
    fn next_is_explicit_null(&mut self) -> Result<bool, Error> {
        Ok(match self.peek()? {
            (Event::Scalar(text, TScalarStyle::Plain, _, None), _) => {
                matches!(text.as_str(), "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        })
    }

    fn next_is_null(&mut self) -> Result<bool, Error> {
        Ok(match self.peek()? {
            (Event::Scalar(text, TScalarStyle::Plain, _, None), _) => {
                matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            (Event::StreamEnd | Event::DocumentEnd, _) => true,
            _ => false,
        })
    }
}

struct Seq<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    index: usize,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if let (Event::SequenceEnd, _) = self.de.peek()? {
            return Ok(None);
        }
        self.de.path.push(Segment::Index(self.index));
        self.index += 1;
        let value = seed.deserialize(&mut *self.de);
        self.de.path.pop();
        value.map(Some)
    }
}

struct Map<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    /// Keys seen so far, as 64-bit fingerprints with their line and column: a mapping with
    /// millions of keys costs 16 bytes a key, not a copy of every key. Two different keys
    /// share a fingerprint with a probability of about n²/2⁶⁵ (under 10⁻⁷ for two million keys).
    seen: HashMap<u64, (u32, u32)>,
}

/// A fixed (deterministic) 64-bit fingerprint of a key.
fn fingerprint(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl<'de> MapAccess<'de> for Map<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let (event, mark) = match self.de.peek()? {
            (Event::MappingEnd, _) => return Ok(None),
            other => other.clone(),
        };
        let Event::Scalar(key, ..) = &event else {
            return Err(Error::new(
                mark,
                "a mapping key must be plain text, not a list or a mapping",
            ));
        };
        let print = fingerprint(key);
        if let Some((line, column)) = self.seen.get(&print) {
            return Err(Error::new(
                mark,
                format!(
                    "key {} is written twice in this mapping (first at line {line}, column {column}); keep one",
                    show(key),
                ),
            ));
        }
        self.seen
            .insert(print, (mark.line() as u32, mark.col() as u32 + 1));
        let key = key.clone();
        self.de.in_key = true;
        let value = seed.deserialize(&mut *self.de);
        self.de.in_key = false;
        let value = value.map_err(|e| self.de.locate(e, mark))?;
        self.de.path.push(Segment::Key(key));
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = seed.deserialize(&mut *self.de);
        self.de.path.pop();
        value
    }
}

struct Enum<'d, 'a> {
    de: &'d mut Deserializer<'a>,
    /// Written as `name: value` (a one-key mapping) rather than a bare `name`.
    with_value: bool,
    mark: Marker,
}

impl<'de, 'd, 'a> EnumAccess<'de> for Enum<'d, 'a> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let value = seed.deserialize(&mut *self.de)?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for Enum<'_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if self.with_value && !self.de.next_is_null()? {
            let (_, m) = self.de.peek()?.clone();
            return Err(Error::new(m, "this name takes no value"));
        }
        if self.with_value {
            self.de.next()?;
        }
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        if !self.with_value {
            return Err(Error::new(
                self.mark,
                "this name needs a value, written `name: value`",
            ));
        }
        seed.deserialize(&mut *self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        if !self.with_value {
            return Err(Error::new(
                self.mark,
                "this name needs a list, written `name: [...]`",
            ));
        }
        de::Deserializer::deserialize_seq(&mut *self.de, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if !self.with_value {
            return Err(Error::new(
                self.mark,
                "this name needs its keys, written `name: { key: value, ... }`",
            ));
        }
        if self.de.next_is_null()? {
            // `- name:` followed by keys at the same indentation: they belong to the item, not
            // to the name. Say so rather than report missing keys.
            let (_, null_mark) = self.de.node_start()?;
            if let (Event::Scalar(k, ..), m) = self.de.peek()?.clone() {
                return Err(second_entry(&k, m));
            }
            self.de.peeked_push((
                Event::Scalar(String::new(), TScalarStyle::Plain, 0, None),
                null_mark,
            ));
        }
        de::Deserializer::deserialize_struct(&mut *self.de, "", fields, visitor)
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let item = self.node_start()?;
        self.any_from(item, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.next_is_null()? {
            self.node_start()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (event, mark) = self.node_start()?;
        match event {
            Event::Scalar(ref text, style, _, ref tag) => {
                let scalar = self.scalar_of(text, style, tag, mark)?;
                if matches!(scalar, Scalar::Null) && tag.is_none() {
                    return Err(self.fail(mark, "expected text, found null"));
                }
                // A value where text goes must be text: `db: 5` is a mistake, not the name "5".
                let found = match scalar {
                    Scalar::Int(_) | Scalar::Float(_) => Some("the number"),
                    Scalar::Bool(_) => Some("the boolean"),
                    _ => None,
                };
                if let Some(found) = found
                    && !self.in_key
                {
                    return Err(self.fail(
                        mark,
                        format!(
                            "expected text, found {found} {}; quote it ('{text}') if you mean the text",
                            show(text)
                        ),
                    ));
                }
                visitor
                    .visit_str(text)
                    .map_err(|e: Error| self.locate(e, mark))
            }
            other => {
                let found = if matches!(other, Event::SequenceStart(..)) {
                    "a list"
                } else {
                    "a mapping"
                };
                self.skip_rest(&other)?;
                Err(self.fail(mark, format!("expected text, found {found}")))
            }
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A key or an operation's name: any scalar is read as its text, and an unknown one is
        // reported as such (`unknown value `5``).
        let was = std::mem::replace(&mut self.in_key, true);
        let r = self.deserialize_str(visitor);
        self.in_key = was;
        r
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.next_is_explicit_null()? {
            let (_, mark) = self.node_start()?;
            return Err(self.fail(
                mark,
                "expected a mapping, found null; write `{}` for an empty one",
            ));
        }
        // An empty value where a mapping goes is an empty mapping.
        if self.next_is_null()? {
            let (_, mark) = self.node_start()?;
            return visitor
                .visit_map(de::value::MapDeserializer::<
                    std::iter::Empty<(String, String)>,
                    Error,
                >::new(std::iter::empty()))
                .map_err(|e| self.locate(e, mark));
        }
        let item = self.node_start()?;
        if let Event::SequenceStart(..) | Event::Scalar(..) = item.0 {
            let found = match &item.0 {
                Event::SequenceStart(..) => "a list".to_string(),
                Event::Scalar(t, ..) => show(t),
                _ => unreachable!(),
            };
            self.skip_rest(&item.0)?;
            return Err(self.fail(
                item.1,
                format!("expected a mapping (`key: value` lines or `{{ ... }}`), found {found}"),
            ));
        }
        self.any_from(item, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.next_is_explicit_null()? {
            let (_, mark) = self.node_start()?;
            return Err(self.fail(
                mark,
                "expected a list, found null; write `[]` for an empty one",
            ));
        }
        if self.next_is_null()? {
            let (_, mark) = self.node_start()?;
            return visitor
                .visit_seq(
                    de::value::SeqDeserializer::<std::iter::Empty<String>, Error>::new(
                        std::iter::empty(),
                    ),
                )
                .map_err(|e| self.locate(e, mark));
        }
        let item = self.node_start()?;
        if let Event::MappingStart(..) | Event::Scalar(..) = item.0 {
            let found = match &item.0 {
                Event::MappingStart(..) => "a mapping".to_string(),
                Event::Scalar(t, ..) => show(t),
                _ => unreachable!(),
            };
            self.skip_rest(&item.0)?;
            return Err(self.fail(
                item.1,
                format!("expected a list (`- item` lines or `[ ... ]`), found {found}"),
            ));
        }
        self.any_from(item, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (event, mark) = self.node_start()?;
        match event {
            Event::Scalar(..) => {
                self.peeked_push((event, mark));
                visitor
                    .visit_enum(Enum {
                        de: &mut *self,
                        with_value: false,
                        mark,
                    })
                    .map_err(|e| self.locate(e, mark))
            }
            Event::MappingStart(..) => {
                self.enter(mark)?;
                if let (Event::MappingEnd, m) = self.peek()?.clone() {
                    return Err(self.fail(
                        m,
                        format!(
                            "expected one of: {} (as `name: ...`), found an empty mapping",
                            variants.join(", ")
                        ),
                    ));
                }
                let key_mark = self.peek()?.1;
                let value = visitor
                    .visit_enum(Enum {
                        de: &mut *self,
                        with_value: true,
                        mark,
                    })
                    .map_err(|e| self.locate(e, key_mark))?;
                match self.next()? {
                    (Event::MappingEnd, _) => {}
                    (Event::Scalar(k, ..), m) => return Err(second_entry(&k, m)),
                    (_, m) => return Err(Error::new(m, "expected one `name: value` entry")),
                }
                self.depth -= 1;
                Ok(value)
            }
            other => {
                self.skip_rest(&other)?;
                Err(self.fail(
                    mark,
                    format!("expected one of: {}, found a list", variants.join(", ")),
                ))
            }
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (event, _) = self.node_start()?;
        self.skip_rest(&event)?;
        visitor.visit_unit()
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64
    }
}

fn second_entry(key: &str, mark: Marker) -> Error {
    Error::new(
        mark,
        format!(
            "{} here starts a second entry; each list item holds one `name: {{ ... }}` (indent the keys under the name, or start a new item with `-`)",
            show(key)
        ),
    )
}

impl Deserializer<'_> {
    fn peeked_push(&mut self, item: Item) {
        debug_assert!(self.peeked.is_none());
        self.peeked = Some(item);
    }
}

/// Any YAML value, for places whose shape is free (defaults, enum values, filters).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    /// Keys in the order written.
    Map(Vec<(String, Value)>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as JSON (for messages and Extended JSON conversion).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(b) => (*b).into(),
            Self::Int(n) => (*n).into(),
            Self::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::String(f.to_string())),
            Self::String(s) => s.clone().into(),
            Self::Seq(items) => items.iter().map(Value::to_json).collect(),
            Self::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short rendering for messages (at most ~80 characters).
    pub fn display(&self) -> String {
        match self {
            Self::String(s) => show(s),
            other => show(&other.to_json().to_string()),
        }
    }
}

impl schemars::JsonSchema for Value {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyValue".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!(true)
    }
}

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                <Value as de::Deserialize>::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Int(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
                i64::try_from(n)
                    .map(Value::Int)
                    .map_err(|_| E::custom(format!("the integer {n} does not fit in 64 bits")))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
                Ok(Value::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct S {
        name: String,
        #[serde(default)]
        n: Option<u64>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        extra: IndexMap<String, Value>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum Op {
        Drop { name: String },
        Nothing,
    }

    fn err<T: DeserializeOwned + fmt::Debug>(text: &str) -> Error {
        from_str::<T>(text).unwrap_err()
    }

    #[test]
    fn reads_structs_lists_and_values() {
        let s: S = from_str("name: a\nn: 3\ntags: [x, 'y']\nextra: { a: 1, b: [true, ~, 2.5] }\n")
            .unwrap();
        assert_eq!(s.name, "a");
        assert_eq!(s.n, Some(3));
        assert_eq!(s.tags, vec!["x", "y"]);
        assert_eq!(
            s.extra["b"],
            Value::Seq(vec![Value::Bool(true), Value::Null, Value::Float(2.5)])
        );
    }

    #[test]
    fn unknown_and_duplicate_keys_are_positioned() {
        let e = err::<S>("name: a\nnmae: b\n");
        assert_eq!((e.line, e.column), (2, 1));
        assert!(
            e.message.starts_with(
                "unknown key `nmae`; did you mean `name`? expected one of: name, n, tags, extra"
            ),
            "{}",
            e.message
        );
        let e = err::<S>("name: a\nextra:\n  k: 1\n  k: 2\n");
        assert_eq!((e.line, e.column), (4, 3));
        assert!(
            e.message.contains("key `k` is written twice") && e.message.contains("line 3"),
            "{}",
            e.message
        );
    }

    #[test]
    fn misspellings_get_a_suggestion_and_strangers_do_not() {
        let keys = ["fields", "indexes", "max_length", "expire_after", "uri"];
        assert_eq!(did_you_mean("feilds", &keys), Some("fields"));
        assert_eq!(did_you_mean("maxLength", &keys), Some("max_length"));
        assert_eq!(did_you_mean("expireAfter", &keys), Some("expire_after"));
        assert_eq!(did_you_mean("urii", &keys), Some("uri"));
        assert_eq!(did_you_mean("color", &keys), None);
        assert_eq!(did_you_mean("", &keys), None);
    }

    #[test]
    fn type_errors_speak_the_users_language() {
        let e = err::<S>("name: a\nn: -1\n");
        assert_eq!((e.line, e.column), (2, 4));
        assert!(!e.message.contains("u64"), "{}", e.message);
        let e = err::<S>("name: a\ntags: { x: 1 }\n");
        assert!(
            e.message.starts_with("tags: expected a list"),
            "{}",
            e.message
        );
        let e = err::<S>("- 1\n");
        assert!(e.message.contains("expected a mapping"), "{}", e.message);
        assert!(!e.message.contains("struct"), "{}", e.message);
    }

    #[test]
    fn bom_tabs_controls_documents_and_aliases() {
        assert_eq!(from_str::<S>("\u{feff}name: a\n").unwrap().name, "a");
        let e = err::<S>("name: a\nextra:\n\tk: 1\n");
        assert!(e.message.contains("tab"), "{e}");
        let e = err::<S>("name: a\x00\n");
        assert_eq!((e.line, e.column), (1, 8));
        assert!(e.message.contains("U+0000"), "{e}");
        let e = err::<S>("name: a\n---\nname: b\n");
        assert!(e.message.contains("second YAML document"), "{e}");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = err::<IndexMap<String, Value>>(&bomb);
        assert!(e.message.contains("billion laughs"), "{e}");
        let ok: IndexMap<String, Value> = from_str("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(ok["b"], Value::Seq(vec![Value::Int(1), Value::Int(2)]));
    }

    #[test]
    fn enums_as_names_and_one_key_mappings() {
        let ops: Vec<Op> = from_str("- drop: { name: x }\n- nothing\n").unwrap();
        assert_eq!(ops, vec![Op::Drop { name: "x".into() }, Op::Nothing]);
        let e = err::<Vec<Op>>("- drop: { nme: x }\n");
        assert!(e.message.contains("unknown key `nme`"), "{e}");
        assert_eq!((e.line, e.column), (1, 11));
        let e = err::<Vec<Op>>("- drop:\n  name: x\n");
        assert!(e.message.contains("second entry"), "{e}");
        let e = err::<Vec<Op>>("- dorp: {}\n");
        assert!(
            e.message.contains(
                "unknown value `dorp`; did you mean `drop`? expected one of: drop, nothing"
            ),
            "{e}"
        );
    }

    #[test]
    fn numbers_follow_the_core_schema() {
        let v: Value =
            from_str("[1, -2, 0x10, 0o7, 1.5, 1e3, .inf, -.inf, '3', 9223372036854775807]")
                .unwrap();
        let Value::Seq(items) = v else { panic!() };
        assert_eq!(items[0], Value::Int(1));
        assert_eq!(items[1], Value::Int(-2));
        assert_eq!(items[2], Value::Int(16));
        assert_eq!(items[3], Value::Int(7));
        assert_eq!(items[4], Value::Float(1.5));
        assert_eq!(items[5], Value::Float(1000.0));
        assert_eq!(items[8], Value::String("3".into()));
        assert_eq!(items[9], Value::Int(i64::MAX));
        let e = err::<Value>("a: 99999999999999999999\n");
        assert!(e.message.contains("does not fit in 64 bits"), "{e}");
        assert_eq!(from_str::<Value>("").unwrap(), Value::Null);
    }

    #[test]
    fn messages_are_tidied() {
        let long = "y".repeat(300);
        let t = tidy(&format!(
            "unknown type `{long}`, expected `string`\nnext\x1b[31m"
        ));
        assert!(
            t.contains("(300 characters)") && t.contains("`string`"),
            "{t}"
        );
        assert!(t.contains("\nnext\\u{1b}[31m"), "{t}");
    }

    #[test]
    fn long_values_are_cut_when_echoed() {
        let long = "x".repeat(5000);
        let e = err::<S>(&format!("name: a\nn: {long}\n"));
        assert!(e.message.len() < 300, "{}", e.message);
        assert!(e.message.contains("(5000 characters)"), "{}", e.message);
    }
}
