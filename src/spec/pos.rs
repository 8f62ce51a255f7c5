//! Where every node of a YAML document sits in its file.
//!
//! serde gives us typed structs but forgets positions once deserialisation succeeds; the
//! semantic checks still need to say `file:line:column`. This module walks the same text with
//! yaml-rust2's event parser and records, for each path (`fields` → `status` → `default`), the
//! position of the key and of the value.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Positions of the keys and values of one YAML document, by path.
#[derive(Debug, Default)]
pub struct PosIndex {
    keys: HashMap<Vec<String>, Pos>,
    values: HashMap<Vec<String>, Pos>,
}

impl PosIndex {
    /// Index `text`. A text the parser rejects yields an empty index (serde reports that error).
    pub fn build(text: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
        let _ = parser.load(&mut builder, false);
        builder.index
    }

    /// Index only `paths` (and their ancestors, where lookups fall back to): what a file with a
    /// few problems needs, at the cost of one pass and no more memory than those paths.
    pub fn build_for<'p>(text: &str, paths: impl IntoIterator<Item = &'p [String]>) -> Self {
        let mut wanted = std::collections::HashSet::new();
        for path in paths {
            for n in 0..=path.len() {
                wanted.insert(path[..n].to_vec());
            }
        }
        let mut builder = Builder {
            wanted: Some(wanted),
            ..Default::default()
        };
        let mut parser = Parser::new_from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
        let _ = parser.load(&mut builder, false);
        builder.index
    }

    /// Where the key of `path` is written, or else the closest ancestor's.
    pub fn key<S: AsRef<str>>(&self, path: &[S]) -> Pos {
        self.lookup(path, true)
    }

    /// Where the value of `path` is written, or else the closest ancestor's.
    pub fn value<S: AsRef<str>>(&self, path: &[S]) -> Pos {
        self.lookup(path, false)
    }

    fn lookup<S: AsRef<str>>(&self, path: &[S], prefer_key: bool) -> Pos {
        let mut owned: Vec<String> = path.iter().map(|s| s.as_ref().to_string()).collect();
        loop {
            let found = if prefer_key {
                self.keys.get(&owned).or_else(|| self.values.get(&owned))
            } else {
                self.values.get(&owned).or_else(|| self.keys.get(&owned))
            };
            if let Some(pos) = found {
                return *pos;
            }
            if owned.pop().is_none() {
                return Pos { line: 1, column: 1 };
            }
        }
    }
}

enum Frame {
    Map {
        path: Vec<String>,
        key: Option<String>,
    },
    Seq {
        path: Vec<String>,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    index: PosIndex,
    /// Only these paths, when set.
    wanted: Option<std::collections::HashSet<Vec<String>>>,
}

impl Builder {
    fn keep(&self, path: &[String]) -> bool {
        self.wanted.as_ref().is_none_or(|w| w.contains(path))
    }
}

impl Builder {
    /// Work out the path of the node that starts now; `None` when it is a mapping key.
    fn node_path(&mut self, event: &Event, pos: Pos) -> Option<Vec<String>> {
        match self.stack.last_mut() {
            None => Some(Vec::new()),
            Some(Frame::Seq { path, next }) => {
                let mut p = path.clone();
                p.push(next.to_string());
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => {
                    let mut p = path.clone();
                    p.push(k);
                    Some(p)
                }
                None => {
                    let name = match event {
                        Event::Scalar(s, ..) => s.clone(),
                        _ => String::from("?"),
                    };
                    let mut p = path.clone();
                    p.push(name.clone());
                    if self.wanted.as_ref().is_none_or(|w| w.contains(&p)) {
                        self.index.keys.insert(p, pos);
                    }
                    *key = Some(name);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let pos = Pos {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match &event {
            Event::Scalar(..) | Event::Alias(_) => {
                if let Some(path) = self.node_path(&event, pos)
                    && self.keep(&path)
                {
                    self.index.values.insert(path, pos);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => match self.node_path(&event, pos)
            {
                Some(path) => {
                    if self.keep(&path) {
                        self.index.values.insert(path.clone(), pos);
                    }
                    self.stack
                        .push(if matches!(event, Event::MappingStart(..)) {
                            Frame::Map { path, key: None }
                        } else {
                            Frame::Seq { path, next: 0 }
                        });
                }
                // A complex (non-scalar) mapping key: track it so nesting stays balanced.
                None => self.stack.push(Frame::Seq {
                    path: vec!["?".into()],
                    next: 0,
                }),
            },
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_values() {
        let text = "collection: c\nfields:\n  status: { type: string, default: new }\nindexes:\n  - keys: { a: 1 }\n    uniqe: true\n";
        let idx = PosIndex::build(text);
        assert_eq!(idx.key(&["collection"]), Pos { line: 1, column: 1 });
        assert_eq!(idx.key(&["fields", "status"]), Pos { line: 3, column: 3 });
        assert_eq!(
            idx.value(&["fields", "status", "default"]),
            Pos {
                line: 3,
                column: 36
            }
        );
        assert_eq!(
            idx.key(&["indexes", "0", "uniqe"]),
            Pos { line: 6, column: 5 }
        );
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(
            idx.key(&["fields", "status", "nope"]),
            Pos { line: 3, column: 3 }
        );
    }
}
