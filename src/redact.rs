//! Secrets in connection strings: the one function that makes a URI printable, and the list of
//! secrets a URI carries (so that any text printed can be scrubbed of them). Pure.
//!
//! Both work on malformed text too: a password with an unescaped `/`, `@` or `?`, a missing or
//! one-slash scheme, credentials in query options (`authMechanismProperties=AWS_SESSION_TOKEN:…`,
//! `password=…`). When in doubt, more is hidden rather than less.

/// Query options whose values are credentials (compared without case; a key containing one of
/// these words counts).
const SECRET_OPTION_WORDS: &[&str] = &[
    "pass",
    "secret",
    "token",
    "credential",
    "authmechanismproperties",
    "apikey",
];

const MASK: &str = "****";

fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_OPTION_WORDS.iter().any(|w| k.contains(w))
}

/// Where the part after the scheme starts (`mongodb://`, `mongodb:/`, `mongodb:`, or nothing).
fn after_scheme(uri: &str) -> usize {
    if let Some(i) = uri.find("://") {
        return i + 3;
    }
    let scheme_len = uri
        .find(':')
        .filter(|&i| {
            i > 0
                && uri[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+')
                && uri[..i].to_ascii_lowercase().starts_with("mongodb")
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    scheme_len + uri[scheme_len..].chars().take_while(|c| *c == '/').count()
}

/// The URI with its password and credential options replaced by `****`.
pub fn redact_uri(uri: &str) -> String {
    let start = after_scheme(uri);
    let (head, rest) = uri.split_at(start);
    let mut out = String::from(head);
    // The userinfo ends at the last `@`: passwords may hold unescaped `@`, `/`, `?` or `:`.
    let tail = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                None => out.push_str(userinfo),
            }
            out.push('@');
            &rest[at + 1..]
        }
        None => rest,
    };
    match tail.split_once('?') {
        Some((hosts, query)) => {
            out.push_str(hosts);
            out.push('?');
            let parts: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if is_secret_option(k) => format!("{k}={MASK}"),
                    _ => kv.to_string(),
                })
                .collect();
            out.push_str(&parts.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

/// The URI with its password and credential options removed (not masked): what `init` may
/// write into a file that will be committed.
pub fn without_secrets(uri: &str) -> String {
    let start = after_scheme(uri);
    let (head, rest) = uri.split_at(start);
    let mut out = String::from(head);
    let tail = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            out.push_str(userinfo.split(':').next().unwrap_or(""));
            out.push('@');
            &rest[at + 1..]
        }
        None => rest,
    };
    match tail.split_once('?') {
        Some((hosts, query)) => {
            out.push_str(hosts);
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.split_once('=').is_some_and(|(k, _)| is_secret_option(k)))
                .filter(|kv| !kv.is_empty())
                .collect();
            if !kept.is_empty() {
                out.push('?');
                out.push_str(&kept.join("&"));
            }
        }
        None => out.push_str(tail),
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every secret `uri` carries, raw and percent-decoded, longest first: what must never be
/// printed. Very short values (under 4 characters) are left out, as scrubbing them would
/// mangle ordinary text; `redact_uri` still hides them in the URI itself.
pub fn secrets(uri: &str) -> Vec<String> {
    let mut out = Vec::new();
    let rest = &uri[after_scheme(uri)..];
    let mut tail = rest;
    if let Some(at) = rest.rfind('@') {
        if let Some((_, password)) = rest[..at].split_once(':') {
            out.push(password.to_string());
        }
        tail = &rest[at + 1..];
    }
    if let Some((_, query)) = tail.split_once('?') {
        for kv in query.split('&') {
            if let Some((k, v)) = kv.split_once('=')
                && is_secret_option(k)
            {
                out.push(v.to_string());
                // `AWS_SESSION_TOKEN:abc,OTHER:def`: each value on its own too.
                for part in percent_decode(v).split(',') {
                    if let Some((_, secret)) = part.split_once(':') {
                        out.push(secret.to_string());
                    }
                }
            }
        }
    }
    let mut all: Vec<String> = out
        .iter()
        .flat_map(|s| [s.clone(), percent_decode(s)])
        .filter(|s| s.chars().count() >= 4)
        .collect();
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all.dedup();
    all
}

/// `text` with every one of `secrets` replaced by `****`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_shown_in_valid_uris() {
        assert_eq!(
            redact_uri("mongodb://alice:s3cret@db.example:27017/app?authSource=admin"),
            "mongodb://alice:****@db.example:27017/app?authSource=admin"
        );
        assert_eq!(
            redact_uri("mongodb+srv://bob:p%40ss@cluster0.example"),
            "mongodb+srv://bob:****@cluster0.example"
        );
        assert_eq!(
            redact_uri("mongodb://localhost:27017"),
            "mongodb://localhost:27017"
        );
    }

    #[test]
    fn malformed_uris_hide_their_secrets_too() {
        for (uri, secret) in [
            ("mongodb://u:pa/ss@host/db", "pa/ss"),
            ("mongodb://u:p@ss@host", "p@ss"),
            ("u:hunter22@host:27017", "hunter22"),
            ("mongodb:/u:hunter22@host", "hunter22"),
            ("mongodb:u:hunter22@host", "hunter22"),
            ("mongodb://u:hun?ter22@host", "hun?ter22"),
            (
                "mongodb://host/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok3n",
                "tok3n",
            ),
            ("mongodb://host/?password=hunter22", "hunter22"),
            (
                "mongodb://host/?tlsCertificateKeyFilePassword=hunter22",
                "hunter22",
            ),
        ] {
            let shown = redact_uri(uri);
            assert!(!shown.contains(secret), "{uri} → {shown}");
            assert!(
                secrets(uri).iter().any(|s| s == secret) || secret.len() < 4,
                "{uri}: {:?}",
                secrets(uri)
            );
        }
    }

    #[test]
    fn without_secrets_drops_them() {
        assert_eq!(
            without_secrets("mongodb://alice:s3cret@db:27017/app?authSource=admin&password=x"),
            "mongodb://alice@db:27017/app?authSource=admin"
        );
        assert_eq!(without_secrets("mongodb://db/"), "mongodb://db/");
    }

    #[test]
    fn scrub_removes_every_form() {
        let s = secrets("mongodb://u:p%40ssword@h");
        assert_eq!(scrub("x p%40ssword y p@ssword", &s), "x **** y ****");
    }
}
