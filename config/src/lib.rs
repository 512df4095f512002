//! retort-config: `retort.toml`, then `RETORT_*` environment variables (nested
//! with `__`), then command-line flags, layered by figment into a raw form that
//! rejects unknown keys, then validated into [`Config`].
//!
//! Relative paths (`script_location`, SQLite files) are resolved against the
//! config file's folder, so retort behaves the same from any working directory.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The config file that was read.
    pub path: PathBuf,
    /// Its folder; relative paths are resolved against it.
    pub base_dir: PathBuf,
    /// How many targets run at once.
    pub jobs: usize,
    /// How long to wait for another runner's lock.
    pub lock_timeout: Duration,
    /// `[databases.<name>]`, sorted by name.
    pub databases: Vec<Database>,
}

/// One `[databases.<name>]` target: its own history and version table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub name: String,
    /// Connection URL (may hold a password: never print it unmasked).
    pub url: String,
    /// Absolute path of the folder holding `versions/`.
    pub script_location: PathBuf,
    /// Folders holding revision files, in load order: `version_locations` when
    /// given (Alembic's option of that name), else `<script_location>/versions`.
    pub version_locations: Vec<PathBuf>,
    /// Version table name; default `alembic_version_<name>`.
    pub version_table: String,
    /// Schema of the version table, where the dialect has schemas.
    pub version_table_schema: Option<String>,
    /// How long to wait for another runner's lock on this target.
    pub lock_timeout: Duration,
    /// Session statement timeout, where the dialect has one.
    pub statement_timeout: Option<Duration>,
    /// How long one DDL statement may wait for a table lock (PostgreSQL `lock_timeout`).
    pub ddl_lock_timeout: Option<Duration>,
    /// How often a revision is retried after a statement timed out on a table lock.
    pub ddl_retries: u32,
    /// The session's application name (shown in `pg_stat_activity`).
    pub application_name: String,
}

/// Values given as command-line flags; they win over file and environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub jobs: Option<usize>,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file at {}; run `retort init` or pass -c <file>", .0.display())]
    NotFound(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    jobs: Option<usize>,
    lock_timeout: Option<String>,
    #[serde(default)]
    databases: BTreeMap<String, RawDatabase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    script_location: String,
    version_locations: Option<Vec<String>>,
    version_table: Option<String>,
    version_table_schema: Option<String>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
    ddl_lock_timeout: Option<String>,
    ddl_retries: Option<u32>,
    application_name: Option<String>,
}

/// Environment variables with the `RETORT_` prefix that are not configuration.
const NOT_CONFIG: [&str; 3] = ["config", "log", "format"];

/// Loads `path`, layers `RETORT_*` env and `overrides` over it, and validates.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::NotFound(path.to_path_buf()));
    }
    let env = Env::prefixed("RETORT_").split("__").filter(|key| {
        let key = key.as_str().to_ascii_lowercase();
        !NOT_CONFIG.contains(&key.as_str()) && !key.starts_with("test_")
    });
    let figment = Figment::new().merge(Toml::file_exact(path)).merge(env);
    let raw: RawConfig = figment.extract().map_err(|e| ConfigError::Invalid(one_line(&e)))?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base_dir = absolute.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    validate(raw, path, base_dir, overrides)
}

fn one_line(error: &figment::Error) -> String {
    error.clone().into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

fn validate(raw: RawConfig, path: &Path, base_dir: PathBuf, overrides: &Overrides) -> Result<Config, ConfigError> {
    let invalid = |m: String| ConfigError::Invalid(format!("{}: {m}", path.display()));
    let jobs = overrides.jobs.or(raw.jobs).unwrap_or(8);
    if jobs == 0 {
        return Err(invalid("jobs must be at least 1".into()));
    }
    let lock_timeout = match raw.lock_timeout {
        Some(text) => parse_duration(&text).map_err(|m| invalid(format!("lock_timeout: {m}")))?,
        None => Duration::from_secs(10),
    };
    let mut databases = Vec::new();
    for (name, db) in raw.databases {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(invalid(format!("database name `{name}` may hold only letters, digits, `_` and `-`")));
        }
        let version_table = db.version_table.unwrap_or_else(|| format!("alembic_version_{name}"));
        let script_location = base_dir.join(&db.script_location);
        let version_locations = match db.version_locations {
            Some(list) if list.is_empty() => {
                return Err(invalid(format!("databases.{name}.version_locations is empty")));
            }
            Some(list) => list.iter().map(|l| base_dir.join(l)).collect(),
            None => vec![script_location.join("versions")],
        };
        let duration = |key: &str, value: Option<String>| -> Result<Option<Duration>, ConfigError> {
            value.map(|v| parse_duration(&v).map_err(|m| invalid(format!("databases.{name}.{key}: {m}")))).transpose()
        };
        databases.push(Database {
            lock_timeout: duration("lock_timeout", db.lock_timeout)?.unwrap_or(lock_timeout),
            statement_timeout: duration("statement_timeout", db.statement_timeout)?,
            ddl_lock_timeout: duration("ddl_lock_timeout", db.ddl_lock_timeout)?,
            ddl_retries: db.ddl_retries.unwrap_or(3),
            application_name: db.application_name.unwrap_or_else(|| format!("retort:{name}")),
            script_location,
            version_locations,
            url: db.url,
            version_table,
            version_table_schema: db.version_table_schema,
            name,
        });
    }
    check_shared_version_tables(&databases).map_err(invalid)?;
    Ok(Config { path: path.to_path_buf(), base_dir, jobs, lock_timeout, databases })
}

/// Two targets writing one version table in one database would corrupt each other.
fn check_shared_version_tables(databases: &[Database]) -> Result<(), String> {
    for (i, a) in databases.iter().enumerate() {
        for b in &databases[i + 1..] {
            if a.url == b.url && a.version_table == b.version_table && a.version_table_schema == b.version_table_schema
            {
                return Err(format!(
                    "databases `{}` and `{}` share the version table `{}` in one database; give one of them its own `version_table`",
                    a.name, b.name, a.version_table
                ));
            }
        }
    }
    Ok(())
}

/// Parses `10s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 10s or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit `{other}` in `{text}`; use ms, s, m or h")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
jobs = 8
lock_timeout = "10s"

[databases.default]
url = "sqlite://default.db"
script_location = "migrations/default"

[databases.analytics]
url = "sqlite://analytics.db"
script_location = "migrations/analytics"
version_table = "alembic_version_analytics"
"#;

    /// Loads `text` inside a figment jail, which serializes tests that touch the environment.
    fn load_str(text: &str) -> Result<Config, ConfigError> {
        let mut result = None;
        figment::Jail::expect_with(|jail| {
            jail.create_file("retort.toml", text)?;
            result = Some(load(Path::new("retort.toml"), &Overrides::default()));
            Ok(())
        });
        result.expect("jail ran")
    }

    #[test]
    fn reads_the_reference_config() {
        let config = load_str(EXAMPLE).unwrap();
        assert_eq!(config.jobs, 8);
        assert_eq!(config.lock_timeout, Duration::from_secs(10));
        let names: Vec<&str> = config.databases.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["analytics", "default"]);
        assert_eq!(config.databases[1].version_table, "alembic_version_default");
        assert!(config.databases[1].script_location.ends_with("migrations/default"));
        assert!(config.databases[1].version_locations[0].ends_with("migrations/default/versions"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load_str("jobz = 3\n").unwrap_err().to_string();
        assert!(err.contains("jobz"), "{err}");
        let err =
            load_str("[databases.x]\nurl='sqlite://a'\nscript_location='m'\ncolor='red'\n").unwrap_err().to_string();
        assert!(err.contains("color"), "{err}");
    }

    #[test]
    fn shared_version_table_is_refused() {
        let text = "[databases.a]\nurl='sqlite://x.db'\nscript_location='a'\nversion_table='v'\n[databases.b]\nurl='sqlite://x.db'\nscript_location='b'\nversion_table='v'\n";
        let err = load_str(text).unwrap_err().to_string();
        assert!(err.contains("`a` and `b` share the version table `v`"), "{err}");
    }

    #[test]
    fn env_and_flags_override_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("retort.toml", EXAMPLE)?;
            jail.set_env("RETORT_DATABASES__DEFAULT__URL", "sqlite://other.db");
            jail.set_env("RETORT_JOBS", "3");
            jail.set_env("RETORT_TEST_MSSQL_URL", "ignored");
            let config = load(Path::new("retort.toml"), &Overrides::default()).unwrap();
            assert_eq!(config.jobs, 3);
            assert_eq!(config.databases[1].url, "sqlite://other.db");
            let config = load(Path::new("retort.toml"), &Overrides { jobs: Some(5) }).unwrap();
            assert_eq!(config.jobs, 5);
            Ok(())
        });
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
    }
}
