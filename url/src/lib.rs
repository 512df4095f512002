//! URLs that may hold passwords, and the text around them: masking for output
//! and logs. One place, so that every message, error, `Debug` and JSON document
//! masks the same things: the password in the user info (`user:pw@`) and the
//! values of password keys in the query string (`?password=`, `pwd=`); and
//! [`DatabaseUrl`], the typed URL of a target whose `Display` and `Debug` mask them.

mod database_url;

pub use database_url::DatabaseUrl;

/// The password of a URL, if it has one. The user info ends at the last `@`
/// before any `?`, so a password holding `/` or `@` is still found.
fn password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    // A `?` before the first `@` belongs to the password; the query starts after it.
    let first_at = rest.find('@')?;
    let end = rest[first_at..].find('?').map_or(rest.len(), |i| first_at + i);
    let (userinfo, _) = rest[..end].rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, p)| p).filter(|p| !p.is_empty())
}

/// Query keys whose value is a password (`?password=…`, ADO-style `pwd=`).
const PASSWORD_KEYS: [&str; 4] = ["password", "pwd", "pass", "sslpassword"];

/// The values of password keys in `url`'s query string, or in an ADO.NET
/// connection string (`mssql:Server=…;Password=…`), quoted values whole.
fn query_passwords(url: &str) -> Vec<&str> {
    let Some((_, rest)) = url.split_once("://") else { return ado_passwords(url) };
    let after_userinfo = rest.find('@').map_or(rest, |at| &rest[at..]);
    let Some((_, query)) = after_userinfo.split_once('?') else { return Vec::new() };
    let pairs = query.split(['&', ';']).filter_map(|pair| pair.split_once('='));
    pairs
        .filter(|(key, value)| PASSWORD_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k)) && !value.is_empty())
        .map(|(_, value)| value)
        .collect()
}

/// Password values of a `scheme:key=value;…` connection string, quotes included
/// for a quoted one (which may hold `;`).
fn ado_passwords(url: &str) -> Vec<&str> {
    let Some((_, mut rest)) = url.split_once(':') else { return Vec::new() };
    let mut found = Vec::new();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim();
        let value = &rest[eq + 1..];
        let len = match value.trim_start().chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let lead = value.len() - value.trim_start().len();
                let body = &value[lead + 1..];
                let mut end = None;
                let mut i = 0;
                while let Some(at) = body[i..].find(quote) {
                    let at = i + at;
                    if body[at + 1..].starts_with(quote) {
                        i = at + 2;
                        continue;
                    }
                    end = Some(lead + 1 + at + 1);
                    break;
                }
                end.unwrap_or(value.len())
            }
            _ => value.find(';').unwrap_or(value.len()),
        };
        if PASSWORD_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k)) && !value[..len].trim().is_empty() {
            found.push(value[..len].trim());
        }
        rest = value[len..].trim_start_matches(|c: char| c == ';' || c.is_whitespace());
    }
    found
}

/// `url` with every password (in userinfo, or a query key such as `password=`)
/// replaced by `***`.
pub fn mask_password(url: &str) -> String {
    redact(url, url)
}

/// `message` with every occurrence of `url`'s passwords (raw or percent-decoded)
/// replaced by `***`: drivers' error texts sometimes echo what they were given.
/// Where a password stands as in the URL (`:pw@`, `=pw`) it is masked whatever its
/// length; elsewhere from three characters on.
pub fn redact(message: &str, url: &str) -> String {
    let mut out = message.to_string();
    if let Some(p) = password(url) {
        out = out.replace(&format!(":{p}@"), ":***@");
    }
    for secret in query_passwords(url) {
        out = out.replace(&format!("={secret}"), "=***");
    }
    for p in password(url).into_iter().chain(query_passwords(url)) {
        let decoded = percent_decode(p);
        for secret in [p, decoded.as_str()] {
            if secret.len() >= 3 {
                out = out.replace(secret, "***");
            }
        }
    }
    out
}

/// Decodes `%XX` escapes (URL user names and passwords).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every URL in it (`scheme://…` up to a blank or a quote) masked by
/// [`mask_password`]: for messages that quote URLs, such as a config parser's.
pub fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let scheme_start =
            rest[..start].rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c))).map_or(0, |i| i + 1);
        let end = rest[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`')
            .map_or(rest.len(), |i| start + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&mask_password(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_ado_connection_strings() {
        let ado = "mssql:Server=db;User Id=sa;Password='p;w''x';Database=app";
        let masked = mask_password(ado);
        assert!(!masked.contains("p;w") && !masked.contains("w''x"), "{masked}");
        assert!(masked.contains("Database=app") && masked.contains("User Id=sa"), "{masked}");
        let plain = mask_password("sqlserver:Server=db;PWD=hunter22;Encrypt=true");
        assert_eq!(plain, "sqlserver:Server=db;PWD=***;Encrypt=true");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(mask_password("postgres://app:s3cret@db/main"), "postgres://app:***@db/main");
        assert_eq!(mask_password("postgres://app@db/main"), "postgres://app@db/main");
        assert_eq!(mask_password("sqlite://app.db"), "sqlite://app.db");
        assert_eq!(mask_password("mysql://u:p@ss:w@h:3306/d"), "mysql://u:***@h:3306/d");
    }

    #[test]
    fn masks_passwords_holding_slashes_and_scrubs_text() {
        assert_eq!(mask_password("postgres://app:a/b+c@db/main"), "postgres://app:***@db/main");
        assert_eq!(
            mask_password("postgres://app:pa?ss@db/main?sslmode=require"),
            "postgres://app:***@db/main?sslmode=require"
        );
        assert_eq!(mask_password("postgres://db/main?user=x@y"), "postgres://db/main?user=x@y");
    }

    #[test]
    fn masks_passwords_in_the_query_string() {
        assert_eq!(
            mask_password("postgres://app@db/main?password=s3cret&sslmode=require"),
            "postgres://app@db/main?password=***&sslmode=require"
        );
        assert_eq!(mask_password("mssql://h/db?user=sa&PWD=Hunter22"), "mssql://h/db?user=sa&PWD=***");
        assert_eq!(redact("login failed: Hunter22", "mssql://h/db?user=sa&pwd=Hunter22"), "login failed: ***");
        assert_eq!(mask_password("postgres://db/main?passwordless=1"), "postgres://db/main?passwordless=1");
    }

    #[test]
    fn redacts_echoed_passwords() {
        let url = "postgres://app:p%40ssw0rd@db/main";
        assert_eq!(redact("auth failed for p@ssw0rd and p%40ssw0rd", url), "auth failed for *** and ***");
        assert_eq!(redact("plain", "postgres://app@db/x"), "plain");
    }

    #[test]
    fn scrubs_every_url_in_a_text() {
        let text = "bad value \"postgres://app:hunter2@h/db?password=other1\" and mysql://u:pw12@h/x";
        assert_eq!(scrub_urls(text), "bad value \"postgres://app:***@h/db?password=***\" and mysql://u:***@h/x");
        assert_eq!(scrub_urls("no urls here"), "no urls here");
    }
}
