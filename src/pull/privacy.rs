//! What `pull` may write about the documents it examined. Pulled files go into git, so they hold
//! no data: the only document values that may appear are *enum candidates* — a short value that
//! several documents repeat, on a field with few distinct values, and that is not shaped like a
//! secret or personal data. An object key that looks like data (an id, a date, an e-mail
//! address, a token) is never written as a field name either: such an object is a map.
//!
//! Pure: the rules are functions of a value, a field name and counts.

/// A value must be held by at least this many documents to be shown.
pub const MIN_DOCUMENTS: u64 = 3;

/// A value longer than this (in characters) is never shown.
pub const MAX_LEN: usize = 32;

/// Field names whose values are never shown, whatever they look like (compared without case,
/// `_`, `-` or `.`; a field is sensitive when its name contains one of these).
const SENSITIVE_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "hash",
    "salt",
    "signature",
    "session",
    "cookie",
    "otp",
    "pin",
    "ssn",
    "email",
    "mail",
    "phone",
    "mobile",
    "fax",
    "address",
    "street",
    "zip",
    "postcode",
    "postal",
    "iban",
    "card",
    "cvv",
    "cvc",
    "account",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "username",
    "login",
    "birth",
    "dob",
    "passport",
    "license",
    "licence",
    "ip",
    "geo",
    "latitude",
    "longitude",
    "location",
    "auth",
    "jwt",
    "bearer",
    "refresh",
    "nonce",
];

/// Is a field called `name` one whose values must never be written?
pub fn sensitive_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    SENSITIVE_NAMES.iter().any(|s| match *s {
        // Short words only as the whole name or a clear suffix/prefix (`zip` but not `zipper`).
        "ip" | "pin" | "otp" | "pwd" | "geo" | "zip" | "dob" | "ssn" | "cvv" | "cvc" => {
            folded == *s || folded.ends_with(s) && folded.len() <= s.len() + 8
        }
        _ => folded.contains(s),
    })
}

/// Is `value` shaped like a secret, an identifier or personal data (or simply too long to be
/// a category)? Such a value is never written into a file.
pub fn sensitive_value(value: &str) -> bool {
    let len = value.chars().count();
    if len == 0 {
        return false;
    }
    if len > MAX_LEN || value.chars().any(char::is_control) {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    // E-mail addresses, URLs and anything with credentials in it.
    if value.contains('@') || lower.contains("://") || lower.starts_with("www.") {
        return true;
    }
    if secret_prefix(&lower) {
        return true;
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    // Phone, card, account numbers: mostly digits.
    if digits >= 6
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return true;
    }
    // IP addresses.
    if value.split('.').count() == 4
        && value
            .split('.')
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
    {
        return true;
    }
    if value.contains(':') && value.chars().all(|c| c.is_ascii_hexdigit() || c == ':') && len > 6 {
        return true;
    }
    // Hex ids, hashes and keys; UUIDs.
    let hex = value.chars().filter(char::is_ascii_hexdigit).count();
    if len >= 12 && hex == len {
        return true;
    }
    if len == 36 && value.chars().filter(|c| *c == '-').count() == 4 && hex == 32 {
        return true;
    }
    // Random-looking text: one run with no spaces mixing digits and letters, or both cases in
    // the middle of a word (`aZ3kP9...`), or base64 padding.
    if !value.contains(' ') && len >= 10 {
        let upper = value.chars().filter(char::is_ascii_uppercase).count();
        let lower_n = value.chars().filter(char::is_ascii_lowercase).count();
        let mixed_case_inside = value
            .chars()
            .skip(1)
            .filter(char::is_ascii_uppercase)
            .count()
            >= 2
            && lower_n > 0;
        if (digits >= 2 && upper + lower_n >= 2)
            || (mixed_case_inside && upper * 3 >= len)
            || value.ends_with('=')
        {
            return true;
        }
    }
    false
}

/// Does `lower` (lower-cased) start like a well-known secret: an API key, a JWT, a password
/// hash, a bearer token, a PEM block?
fn secret_prefix(lower: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk_",
        "pk_",
        "rk_",
        "whsec_",
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "xox",
        "akia",
        "asia",
        "eyj",
        "bearer ",
        "basic ",
        "$2a$",
        "$2b$",
        "$2y$",
        "$argon2",
        "$pbkdf2",
        "$scrypt",
        "$6$",
        "$5$",
        "$1$",
        "sha256:",
        "sha1:",
        "-----begin",
    ];
    PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// The enum candidates of a string field: every distinct value with the number of documents
/// holding it, when the field qualifies — not a sensitive name, at most `max` distinct values,
/// each held by at least [`MIN_DOCUMENTS`] documents and none sensitive. `None` otherwise: then
/// no value of the field is written at all (a candidate list is all or nothing, so an `enum`
/// declared from it accepts every examined document).
pub fn enum_candidates(
    field: &str,
    values: &[(&str, u64)],
    max: usize,
) -> Option<Vec<(String, u64)>> {
    if values.is_empty() || values.len() > max || sensitive_name(field) {
        return None;
    }
    if values
        .iter()
        .any(|(v, docs)| *docs < MIN_DOCUMENTS || sensitive_value(v))
    {
        return None;
    }
    let mut out: Vec<(String, u64)> = values.iter().map(|(v, n)| (v.to_string(), *n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Some(out)
}

/// Does an object key look like data rather than a field name (an id, a date, a number, an
/// e-mail address, an address, a token)? An object with such a key is written as a map
/// (`values:`), so the key itself never reaches a file. (Looser than [`sensitive_value`]:
/// `ipv6Address2` is a fine field name.)
pub fn data_like_key(key: &str) -> bool {
    let hex = key.len() >= 12 && key.chars().all(|c| c.is_ascii_hexdigit());
    let numeric = !key.is_empty() && key.chars().all(|c| c.is_ascii_digit() || c == '-');
    let uuid = key.len() == 36 && key.chars().filter(|c| *c == '-').count() == 4;
    let date = key.len() >= 8
        && key.chars().take(4).all(|c| c.is_ascii_digit())
        && key[4..].starts_with(['-', '_', '/']);
    let lower = key.to_ascii_lowercase();
    let address = key.contains('@') || lower.contains("://") || lower.starts_with("www.");
    hex || numeric || uuid || date || address || secret_prefix(&lower) || key.chars().count() > 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_personal_data_are_recognised() {
        for v in [
            "sk_live_51HxQ2eKz9aB3cD4eF5gH6iJ7",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
            "$2b$12$KIXQJ1y5x1z8e6Q6y0aZ6uJ0t9m4r3s2q1p0o9n8m7l6k5j4i3h2",
            "alice@example.com",
            "+1 (555) 010-2030",
            "4111 1111 1111 1111",
            "10.0.0.12",
            "5f2b1c9e8d7a6b5c4d3e2f1a",
            "123e4567-e89b-12d3-a456-426614174000",
            "d41d8cd98f00b204e9800998ecf8427e",
            "https://hooks.example.com/T000",
            "aZ3kP9qL2mN8",
            "dGhpcyBpcyBhIHNlY3JldA==",
            &"x".repeat(40),
        ] {
            assert!(sensitive_value(v), "{v}");
        }
        for v in [
            "open",
            "paid",
            "pending_review",
            "team",
            "shared",
            "admin",
            "en-US",
            "v2",
            "Free",
            "gpt-4o",
            "high",
            "US",
        ] {
            assert!(!sensitive_value(v), "{v}");
        }
        for n in [
            "password_hash",
            "apiKey",
            "api_key",
            "email",
            "contactEmail",
            "phone",
            "last_login_ip",
            "ip",
            "sessionToken",
        ] {
            assert!(sensitive_name(n), "{n}");
        }
        for n in [
            "status",
            "role",
            "plan",
            "visibility",
            "zipper",
            "pipeline",
            "type",
        ] {
            assert!(!sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn candidates_are_repeated_short_values_of_a_field_with_few_of_them() {
        let ok = enum_candidates("status", &[("paid", 4), ("open", 9)], 10).unwrap();
        assert_eq!(ok, [("open".to_string(), 9), ("paid".to_string(), 4)]);
        // A value held by one or two documents only: nothing is shown.
        assert!(enum_candidates("status", &[("open", 9), ("refunded", 1)], 10).is_none());
        assert!(enum_candidates("role", &[("admin", 2)], 10).is_none());
        // Too many distinct values, a sensitive field, a sensitive value.
        let many: Vec<(String, u64)> = (0..11).map(|i| (format!("v{i}"), 5)).collect();
        let many: Vec<(&str, u64)> = many.iter().map(|(v, n)| (v.as_str(), *n)).collect();
        assert!(enum_candidates("kind", &many, 10).is_none());
        assert!(enum_candidates("password", &[("hunter2", 50)], 10).is_none());
        assert!(enum_candidates("owner", &[("alice@example.com", 50)], 10).is_none());
    }

    #[test]
    fn keys_that_look_like_data_are_not_field_names() {
        for k in [
            "5f2b1c9e8d7a6b5c4d3e2f1a",
            "2024-01-31",
            "12345",
            "alice@example.com",
            "123e4567-e89b-12d3-a456-426614174000",
        ] {
            assert!(data_like_key(k), "{k}");
        }
        for k in [
            "name",
            "createdAt",
            "plan_id",
            "settings",
            "ipv6Address2",
            "lastModifiedAt",
        ] {
            assert!(!data_like_key(k), "{k}");
        }
    }
}
