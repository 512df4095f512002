//! [`DatabaseUrl`]: a target's URL as one typed value, from `retort.toml` to the
//! driver that connects with it.

use std::path::{Path, PathBuf};

use crate::{mask_password, percent_decode};

/// A database URL: `scheme://[user[:password]@]host[:port][/database][?query]`,
/// or SQLite's `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite::memory:`.
/// Its `Display` and `Debug` mask every password (user info and query keys alike);
/// only [`DatabaseUrl::expose`] gives the URL whole, for the driver that connects.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as given; nothing is checked here (an unknown or missing scheme is
    /// the driver registry's error, which names the target).
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The whole URL, password included: for drivers, never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no URL was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `postgres` in `postgres://…`; empty when there is no `:`.
    pub fn scheme(&self) -> &str {
        self.0.split_once(':').map_or("", |(scheme, _)| scheme)
    }

    /// What follows `scheme://`, up to the query.
    fn hierarchy(&self) -> Option<&str> {
        let rest = self.0.split_once("://")?.1;
        let rest = &rest[authority_start(rest)..];
        Some(rest.split_once('?').map_or(rest, |(before, _)| before))
    }

    /// This URL naming `database` in its path instead, its user, address and
    /// query kept; `None` for a URL without `scheme://`.
    pub fn with_database(&self, database: &str) -> Option<DatabaseUrl> {
        let (scheme, rest) = self.0.split_once("://")?;
        let start = authority_start(rest);
        let path = rest[start..].find(['/', '?']).map_or(rest.len(), |i| start + i);
        let query = rest[path..].find('?').map_or("", |i| &rest[path + i..]);
        Some(DatabaseUrl(format!("{scheme}://{}/{database}{query}", &rest[..path])))
    }

    /// `host:port` (or `host`), without user info, for server URLs.
    pub fn authority(&self) -> Option<&str> {
        self.hierarchy()?.split('/').next().filter(|a| !a.is_empty())
    }

    /// The database named in the path, percent-decoded, for server URLs.
    pub fn database(&self) -> Option<String> {
        let (_, path) = self.hierarchy()?.split_once('/')?;
        Some(percent_decode(path)).filter(|d| !d.is_empty())
    }

    /// The file an `sqlite:` URL names, relative paths taken from `base_dir`;
    /// `None` for an in-memory database or a URL of another scheme.
    pub fn sqlite_path(&self, base_dir: &Path) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" || path == "memory:" {
            return None;
        }
        let path = Path::new(path);
        Some(if path.is_absolute() { path.to_path_buf() } else { base_dir.join(path) })
    }
}

/// Where the address starts in what follows `scheme://`: the user info may hold
/// `?` and `/` (in a password), so after the last `@` before the path.
fn authority_start(rest: &str) -> usize {
    rest.find('@').map_or(0, |first| {
        let path_after = rest[first..].find('/').map_or(rest.len(), |i| first + i);
        rest[..path_after].rfind('@').map_or(0, |at| at + 1)
    })
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&mask_password(&self.0))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?})", mask_password(&self.0))
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> DatabaseUrl {
        DatabaseUrl::new(url)
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> DatabaseUrl {
        DatabaseUrl(url)
    }
}

impl PartialEq<&str> for DatabaseUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_server_urls() {
        let url = DatabaseUrl::new("postgres://app:p%40ss/w@db.example:5433/tenant%5Fa?password=x&sslmode=require");
        assert_eq!(url.scheme(), "postgres");
        assert_eq!(url.authority(), Some("db.example:5433"));
        assert_eq!(url.database().as_deref(), Some("tenant_a"));
        let v6 = DatabaseUrl::new("mysql://root@[::1]:3306/test");
        assert_eq!((v6.authority(), v6.database().as_deref()), (Some("[::1]:3306"), Some("test")));
        assert_eq!(DatabaseUrl::new("postgres://db").database(), None);
        assert_eq!(DatabaseUrl::new("").scheme(), "");
        assert_eq!(DatabaseUrl::new("nonsense").authority(), None);
    }

    #[test]
    fn replaces_the_database() {
        let url = DatabaseUrl::new("postgres://app:p%40ss/w@db.example:5433/tenant_a?sslmode=require");
        let other = url.with_database("scratch_1").unwrap();
        assert_eq!(other.expose(), "postgres://app:p%40ss/w@db.example:5433/scratch_1?sslmode=require");
        assert_eq!(
            DatabaseUrl::new("mysql://root@127.0.0.1").with_database("t").unwrap().expose(),
            "mysql://root@127.0.0.1/t"
        );
        assert_eq!(DatabaseUrl::new("pq://h/{name}?x=1").with_database("s").unwrap().expose(), "pq://h/s?x=1");
        assert_eq!(DatabaseUrl::new("nonsense").with_database("s"), None);
    }

    #[test]
    fn display_and_debug_mask_every_password() {
        let url = DatabaseUrl::new("postgres://app:hunter22@db/main?password=other99");
        for shown in [url.to_string(), format!("{url:?}"), format!("{:?}", Some(&url))] {
            assert!(!shown.contains("hunter22") && !shown.contains("other99"), "{shown}");
            assert!(shown.contains("app:***@db/main?password=***"), "{shown}");
        }
        assert!(url.expose().contains("hunter22"));
    }

    #[test]
    fn sqlite_paths() {
        let base = Path::new("/cfg");
        assert_eq!(DatabaseUrl::new("sqlite://app.db").sqlite_path(base), Some(PathBuf::from("/cfg/app.db")));
        assert_eq!(DatabaseUrl::new("sqlite:///abs/app.db").sqlite_path(base), Some(PathBuf::from("/abs/app.db")));
        assert_eq!(DatabaseUrl::new("sqlite::memory:").sqlite_path(base), None);
        assert_eq!(DatabaseUrl::new("postgres://x/app.db").sqlite_path(base), None);
    }
}
