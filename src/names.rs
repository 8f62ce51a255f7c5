//! Names the server accepts: databases, collections, field paths and index key paths. Pure; each
//! function says why a name would be refused, in the user's terms, or `None` when it is fine.
//! Shared by the spec checks and the migration-file checks.

use crate::yaml::show;

/// Is this schemas folder (or a migration's `databases:`) a template of databases (`tenant_*`)?
pub fn is_template(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Does `pattern` (`*` any run of characters, `?` one) match `name`?
pub fn matches(pattern: &str, name: &str) -> bool {
    crate::diff::glob_any(std::slice::from_ref(&pattern.to_string()), name)
}

/// Why MongoDB would refuse `name` as a database name.
pub fn database_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() >= 64 {
        return Some("a database name must be 1 to 63 bytes long".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| "/\\. \"$*<>:|?".contains(*c) || c.is_control())
    {
        return Some(format!(
            "a database name cannot contain {}",
            show(&c.to_string())
        ));
    }
    None
}

/// The field names of a DBRef (`{ $ref, $id, $db }`): the only field names that may start
/// with `$`.
pub const DBREF_FIELDS: [&str; 3] = ["$ref", "$id", "$db"];

/// Why MongoDB would refuse `name` as a collection of `database` (or why mongrate does: a
/// control character in a name is never meant).
pub fn collection_problem(database: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a collection name cannot be empty".into());
    }
    if name.contains('$') || name.contains('\0') {
        return Some(format!(
            "collection name {} cannot contain `$` or NUL",
            show(name)
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!(
            "collection name {} contains the control character {}",
            show(name),
            show(&c.to_string())
        ));
    }
    if name.starts_with("system.") {
        return Some(format!(
            "{}: names starting with `system.` are reserved by MongoDB",
            show(name)
        ));
    }
    if database.len() + 1 + name.len() > 255 {
        return Some("the namespace `<database>.<collection>` is longer than 255 bytes".into());
    }
    None
}

/// Why a dotted document field path (`a.b.c`) is not one a document can have.
pub fn field_path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("a field path cannot be empty".into());
    }
    if path.contains('\0') {
        return Some("a field path cannot contain NUL bytes".into());
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return Some(format!(
            "a field path cannot contain the control character {}",
            show(&c.to_string())
        ));
    }
    for seg in path.split('.') {
        if seg.is_empty() {
            return Some(format!(
                "{} has an empty part (`a..b`, or a leading or trailing `.`)",
                show(path)
            ));
        }
        if seg.starts_with('$') && !DBREF_FIELDS.contains(&seg) {
            return Some(format!(
                "{}: the part {} starts with `$`, which field names cannot",
                show(path),
                show(seg)
            ));
        }
    }
    None
}

/// Why the server would refuse a dotted index key path.
pub fn index_path_problem(path: &str) -> Option<String> {
    if path.contains('\0') {
        return Some("a field path cannot contain NUL bytes".into());
    }
    let segments: Vec<&str> = path.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            return Some(
                "a field path cannot have an empty part (`a..b`, a leading or trailing `.`)".into(),
            );
        }
        if seg.starts_with('$')
            && !(*seg == "$**" && i + 1 == segments.len())
            && !DBREF_FIELDS.contains(seg)
        {
            return Some(format!(
                "the part `{seg}` starts with `$`; only a trailing `$**` (a wildcard) may"
            ));
        }
    }
    None
}

/// Why the server would refuse an index name.
pub fn index_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an index name cannot be empty".into());
    }
    if name == "*" {
        return Some(
            "`*` cannot name an index: MongoDB reads it as \"every index\" when dropping".into(),
        );
    }
    if name.contains('\0') {
        return Some("an index name cannot contain NUL bytes".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!(
            "an index name cannot contain the control character {}",
            show(&c.to_string())
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(database_problem("app").is_none());
        assert!(database_problem("a.b").is_some());
        assert!(database_problem("").is_some());
        assert!(collection_problem("app", "system.views").is_some());
        assert!(collection_problem("app", "").is_some());
        assert!(field_path_problem("a.b").is_none());
        assert!(field_path_problem("$x..y").is_some());
        assert!(field_path_problem("a.$b").is_some());
        assert!(index_path_problem("a.$**").is_none());
        assert!(index_path_problem("$**").is_none());
        assert!(index_path_problem("$**.a").is_some());
        assert!(index_name_problem("*").is_some());
    }
}
