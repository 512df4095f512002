//! retort-config: `retort.toml`, then `RETORT_*` environment variables (nested
//! with `__`), then command-line flags, layered by figment into a raw form that
//! rejects unknown keys, then validated into [`Config`].
//!
//! Two kinds of entries become migration targets: `[databases.<name>]`, each with
//! its own history and version table, and `[fleets.<name>]`, one history for many
//! tenants whose targets are named `<fleet>:<tenant>`. Relative paths
//! (`script_location`, SQLite files) are resolved against the config file's
//! folder, so retort behaves the same from any working directory.
//!
//! An `alembic.ini` or a `pyproject.toml` with `[tool.alembic]` may stand in for
//! `retort.toml` ([`alembic`]).
#![forbid(unsafe_code)]

pub mod alembic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use retort_engine::driver::{ConnectOptions, DatabaseUrl, TlsRoots, VersionTable};
use retort_engine::executor::RunPolicy;
use retort_engine::rollout::{Share, Waves};
use retort_url::scrub_urls;
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
    /// The default of every entry's `tls_roots` (and the control databases').
    pub tls_roots: TlsRoots,
    /// `[databases.<name>]`, sorted by name.
    pub databases: Vec<Database>,
    /// `[fleets.<name>]`, sorted by name.
    pub fleets: Vec<Fleet>,
    /// Driver plugin files to load: `plugins`, then the files of `plugin_dir`,
    /// then those `RETORT_PLUGIN_PATH` names (`docs/plugins.md`).
    pub plugins: Vec<PathBuf>,
    /// `[rollout]`: how `upgrade` and `downgrade` stage their targets.
    pub rollout: Rollout,
}

/// `[rollout]`: canary targets, waves and a failure threshold for `upgrade` and
/// `downgrade` (flags override each key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    /// Targets (names or globs, `-d`'s syntax) that run first, as a canary wave.
    pub canary: Vec<String>,
    pub waves: Waves,
    pub max_failures: Option<Share>,
}

/// One migration target: a database (or a tenant of a fleet) with its history,
/// its connection, its version table and its run policy, each in the type the
/// engine takes. Its `Debug` masks the URL's passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// `name` for `[databases.name]`, `fleet:tenant` for a fleet's tenant.
    pub name: String,
    /// The fleet it belongs to, if any.
    pub fleet: Option<String>,
    /// Where its revisions are.
    pub history: History,
    /// How to reach it: URL, session settings, schema (`writes` is set per command).
    pub connection: ConnectOptions,
    /// Version table; default `alembic_version_<name>` (`alembic_version_<fleet>` for fleets).
    pub version_table: VersionTable,
    /// Lock wait, DDL retries, transaction per revision or per run.
    pub policy: RunPolicy,
}

/// Where a history's revision files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Absolute path of the folder holding `versions/`.
    pub script_location: PathBuf,
    /// Folders holding revision files, in load order: `version_locations` when
    /// given (Alembic's option of that name), else `<script_location>/versions`.
    pub version_locations: Vec<PathBuf>,
    /// Whether revision files in subfolders of the version locations are read
    /// (default true; an `alembic.ini` says it with `recursive_version_locations`,
    /// false when absent, as in Alembic).
    pub recursive: bool,
}

/// A `[fleets.<name>]` entry: one history, many tenants. Its `Debug` masks passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub name: String,
    /// Where tenant names come from.
    pub names: NameSource,
    /// URL with `{name}` where the tenant goes (database per tenant), or one URL
    /// for all (schema per tenant, with `schema_template`).
    pub url_template: DatabaseUrl,
    /// Schema per tenant: `{name}` template of the schema holding the tenant's
    /// tables and version table.
    pub schema_template: Option<String>,
    /// Settings every tenant shares (name, url and schema are filled per tenant).
    pub template: Database,
}

/// Where a fleet's tenant names come from. Its `Debug` masks the control URL's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameSource {
    /// `names = [...]` or the lines of `names_file`.
    List(Vec<String>),
    /// `names_query`, run on the database at `control_url`; the first column of each row.
    Query { control_url: DatabaseUrl, sql: String },
}

impl Fleet {
    /// The fleet's target for one tenant.
    pub fn target(&self, tenant: &str) -> Database {
        let fill = |template: &str| template.replace("{name}", tenant);
        let schema = self.schema_template.as_deref().map(fill);
        let mut target = self.template.clone();
        target.name = format!("{}:{tenant}", self.name);
        target.connection.url = DatabaseUrl::new(fill(self.url_template.expose()));
        target.connection.application_name = fill(&self.template.connection.application_name);
        target.connection.search_path = schema.clone();
        target.version_table.schema = schema.or(self.template.version_table.schema.clone());
        target
    }

    /// The target for one tenant, refusing a name that cannot be used in a URL.
    pub fn checked_target(&self, tenant: &str) -> Result<Database, ConfigError> {
        check_name(tenant).map_err(|m| ConfigError::Invalid(format!("fleet `{}`: tenant {m}", self.name)))?;
        Ok(self.target(tenant))
    }
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
    plugin_dir: Option<String>,
    plugins: Option<Vec<String>>,
    tls_roots: Option<String>,
    rollout: Option<RawRollout>,
    #[serde(default)]
    databases: BTreeMap<String, RawTarget>,
    #[serde(default)]
    fleets: BTreeMap<String, RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollout {
    canary: Option<Vec<String>>,
    waves: Option<String>,
    max_failures: Option<CountOrShare>,
}

/// `3` or `"5%"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CountOrShare {
    Count(usize),
    Text(String),
}

impl RawRollout {
    fn validate(self) -> Result<Rollout, String> {
        let waves = match self.waves {
            Some(text) => text.parse().map_err(|e| format!("rollout.waves: {e}"))?,
            None => Waves::default(),
        };
        let max_failures = match self.max_failures {
            None => None,
            Some(CountOrShare::Count(n)) => Some(Share::Count(n)),
            Some(CountOrShare::Text(text)) => Some(text.parse().map_err(|e| format!("rollout.max_failures: {e}"))?),
        };
        Ok(Rollout { canary: self.canary.unwrap_or_default(), waves, max_failures })
    }
}

/// The keys of `[databases.*]` and `[fleets.*]`; which belong where is checked in
/// [`validate`], so a misplaced key gets a message saying where it goes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    url: Option<String>,
    url_template: Option<String>,
    names: Option<Vec<String>>,
    names_file: Option<String>,
    names_query: Option<String>,
    control_url: Option<String>,
    schema_template: Option<String>,
    script_location: Option<String>,
    version_locations: Option<Vec<String>>,
    recursive_version_locations: Option<bool>,
    /// Take `script_location` and `version_locations` from this `alembic.ini`...
    alembic_ini: Option<String>,
    /// ... from this section of it (default `alembic`).
    alembic_section: Option<String>,
    version_table: Option<String>,
    version_table_schema: Option<String>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
    ddl_lock_timeout: Option<String>,
    ddl_retries: Option<u32>,
    application_name: Option<String>,
    transaction_per: Option<String>,
    on_drift: Option<String>,
    tls_roots: Option<String>,
}

/// Environment variables with the `RETORT_` prefix that are not configuration
/// (the command line reads them).
const NOT_CONFIG: [&str; 9] =
    ["config", "log", "format", "plugin_path", "url", "script_location", "version_table", "shard", "shard_count"];

/// Loads `path`, layers `RETORT_*` env and `overrides` over it, and validates.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::NotFound(path.to_path_buf()));
    }
    let env = Env::prefixed("RETORT_").split("__").filter(|key| {
        let key = key.as_str().to_ascii_lowercase();
        !NOT_CONFIG.contains(&key.as_str()) && !key.starts_with("test_")
    });
    let figment = Figment::new().merge(file_provider(path)?).merge(env);
    let raw: RawConfig = figment.extract().map_err(|e| ConfigError::Invalid(one_line(&e)))?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let base_dir = absolute.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    validate(raw, path, base_dir, overrides)
}

/// One target from the command line, with no config file: `retort --url URL
/// --script-location DIR` (or `RETORT_URL`). It is the database `default`;
/// relative paths are taken from `base_dir` (the working directory).
pub fn single(
    url: &str,
    script_location: &str,
    version_table: Option<&str>,
    base_dir: PathBuf,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let target = RawTarget {
        url: Some(url.to_string()),
        script_location: Some(script_location.to_string()),
        version_table: version_table.map(String::from),
        ..RawTarget::default()
    };
    let raw = RawConfig {
        jobs: None,
        lock_timeout: None,
        plugin_dir: None,
        plugins: None,
        tls_roots: None,
        rollout: None,
        databases: BTreeMap::from([("default".to_string(), target)]),
        fleets: BTreeMap::new(),
    };
    validate(raw, Path::new("--url"), base_dir, overrides)
}

/// The config file as figment reads it: `retort.toml` itself, or the equivalent of
/// an Alembic config.
fn file_provider(path: &Path) -> Result<figment::providers::Data<Toml>, ConfigError> {
    let invalid = |m: String| ConfigError::Invalid(format!("{}: {m}", path.display()));
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let is_ini = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ini"));
    if is_ini {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        return Ok(Toml::string(&alembic::ini_to_toml(&absolute, &text).map_err(invalid)?));
    }
    if path.file_name().is_some_and(|n| n == "pyproject.toml") {
        let tool: alembic::PyProjectAlembic = Figment::from(Toml::file_exact(path))
            .extract_inner("tool.alembic")
            .map_err(|e| invalid(format!("[tool.alembic]: {}", one_line(&e))))?;
        return Ok(Toml::string(&alembic::pyproject_to_toml(&absolute, &tool).map_err(invalid)?));
    }
    Ok(Toml::file_exact(path))
}

/// figment's errors, one line, with any URL password in a quoted value masked. A
/// TOML parse error's echo of the source line (`2 | url = "postgres://u:pw@…`) is
/// left out: the line and column say where, and the echoed line may hold a
/// password that no URL pattern recognises once the line is broken.
fn one_line(error: &figment::Error) -> String {
    let is_snippet =
        |line: &str| line.trim_start().trim_start_matches(|c: char| c.is_ascii_digit()).trim_start().starts_with('|');
    let messages = error.clone().into_iter().map(|e| {
        let text = e.to_string();
        let kept: Vec<&str> =
            text.lines().filter(|l| !is_snippet(l)).map(str::trim).filter(|l| !l.is_empty()).collect();
        kept.join(": ")
    });
    scrub_urls(&messages.collect::<Vec<_>>().join("; "))
}

fn validate(raw: RawConfig, path: &Path, base_dir: PathBuf, overrides: &Overrides) -> Result<Config, ConfigError> {
    let invalid = |m: String| ConfigError::Invalid(format!("{}: {m}", path.display()));
    let jobs = overrides.jobs.or(raw.jobs).unwrap_or(8);
    if jobs == 0 {
        let message = "jobs must be at least 1";
        return Err(match overrides.jobs {
            Some(_) => ConfigError::Invalid(format!("--jobs: {message}")),
            None => invalid(format!("`jobs`: {message}")),
        });
    }
    let lock_timeout = match raw.lock_timeout {
        Some(text) => parse_duration(&text).map_err(|m| invalid(format!("lock_timeout: {m}")))?,
        None => RunPolicy::default().lock_timeout,
    };
    let tls_roots = raw.tls_roots.as_deref().map(parse_tls_roots).transpose().map_err(invalid)?.unwrap_or_default();
    let context = Context { base_dir: &base_dir, lock_timeout, tls_roots };
    let mut databases = Vec::new();
    for (name, raw) in raw.databases {
        databases.push(context.database(&name, raw).map_err(|m| invalid(format!("databases.{name}: {m}")))?);
    }
    let mut fleets = Vec::new();
    for (name, raw) in raw.fleets {
        fleets.push(context.fleet(&name, raw).map_err(|m| invalid(format!("fleets.{name}: {m}")))?);
    }
    if let Some(clash) = fleets.iter().find(|f| databases.iter().any(|d| d.name == f.name)) {
        return Err(invalid(format!("`{}` is both a database and a fleet", clash.name)));
    }
    check_shared_version_tables(&databases).map_err(|e| invalid(e.to_string()))?;
    let plugin_path = std::env::var_os("RETORT_PLUGIN_PATH").unwrap_or_default();
    let plugins =
        plugin_files(&base_dir, raw.plugins.unwrap_or_default(), raw.plugin_dir, &plugin_path).map_err(invalid)?;
    let rollout = raw.rollout.map(RawRollout::validate).transpose().map_err(invalid)?.unwrap_or_default();
    Ok(Config {
        path: path.to_path_buf(),
        base_dir,
        jobs,
        lock_timeout,
        tls_roots,
        databases,
        fleets,
        plugins,
        rollout,
    })
}

/// The plugin files to load, in order: each of `plugins`, the shared libraries in
/// `plugin_dir`, then each entry of `plugin_path` (colon-separated, a file or a
/// folder of shared libraries). Relative paths are taken from `base_dir`.
fn plugin_files(
    base_dir: &Path,
    plugins: Vec<String>,
    plugin_dir: Option<String>,
    plugin_path: &std::ffi::OsStr,
) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = plugins.iter().map(|p| base_dir.join(p)).collect();
    if let Some(dir) = plugin_dir {
        files.extend(libraries_in(&base_dir.join(dir)).map_err(|e| format!("plugin_dir {e}"))?);
    }
    for entry in std::env::split_paths(plugin_path).filter(|p| !p.as_os_str().is_empty()) {
        if entry.is_dir() {
            files.extend(libraries_in(&entry).map_err(|e| format!("RETORT_PLUGIN_PATH: {e}"))?);
        } else {
            files.push(entry);
        }
    }
    Ok(files)
}

/// The shared libraries (`.so`, `.dylib`) in `dir`, sorted by name.
fn libraries_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let is_library = |p: &PathBuf| p.extension().is_some_and(|e| e == "so" || e == "dylib");
    let mut found: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(is_library).collect();
    found.sort();
    Ok(found)
}

/// What validating one entry needs from the file around it.
struct Context<'a> {
    base_dir: &'a Path,
    lock_timeout: Duration,
    tls_roots: TlsRoots,
}

/// `"bundled"` or `"system"`.
fn parse_tls_roots(text: &str) -> Result<TlsRoots, String> {
    match text {
        "bundled" => Ok(TlsRoots::Bundled),
        "system" => Ok(TlsRoots::System),
        other => Err(format!("tls_roots must be \"bundled\" or \"system\", not \"{other}\"")),
    }
}

impl Context<'_> {
    fn database(&self, name: &str, mut raw: RawTarget) -> Result<Database, String> {
        check_name(name)?;
        for (key, present) in [
            ("url_template", raw.url_template.is_some()),
            ("names", raw.names.is_some()),
            ("names_file", raw.names_file.is_some()),
            ("names_query", raw.names_query.is_some()),
            ("control_url", raw.control_url.is_some()),
            ("schema_template", raw.schema_template.is_some()),
        ] {
            if present {
                return Err(format!("`{key}` belongs to a [fleets.*] entry"));
            }
        }
        let url = raw.url.take().ok_or("`url` is missing")?;
        let mut db = self.settings(name, raw)?;
        db.connection.url = DatabaseUrl::new(url);
        Ok(db)
    }

    fn fleet(&self, name: &str, mut raw: RawTarget) -> Result<Fleet, String> {
        check_name(name)?;
        if raw.url.is_some() {
            return Err("a fleet takes `url_template` (with {name}), not `url`".into());
        }
        let url_template = raw.url_template.take().ok_or("`url_template` is missing")?;
        let schema_template = raw.schema_template.take();
        if !url_template.contains("{name}") && schema_template.as_ref().is_none_or(|s| !s.contains("{name}")) {
            return Err(
                "`url_template` (database per tenant) or `schema_template` (schema per tenant) must contain {name}"
                    .into(),
            );
        }
        let names = match (raw.names.take(), raw.names_file.take(), raw.names_query.take(), raw.control_url.take()) {
            (Some(list), None, None, None) => NameSource::List(list),
            (None, Some(file), None, None) => NameSource::List(read_names(&self.base_dir.join(file))?),
            (None, None, Some(sql), Some(url)) => NameSource::Query { control_url: DatabaseUrl::new(url), sql },
            (None, None, Some(_), None) => {
                return Err("`names_query` needs `control_url`, the database it runs on".into());
            }
            _ => return Err("give exactly one of `names`, `names_file`, `names_query` (with `control_url`)".into()),
        };
        if let NameSource::List(list) = &names
            && let Some(bad) = list.iter().find_map(|n| check_name(n).err())
        {
            return Err(format!("tenant {bad}"));
        }
        let mut template = self.settings(name, raw)?;
        template.fleet = Some(name.to_string());
        let application_name = &mut template.connection.application_name;
        *application_name = application_name.replace(&format!("retort:{name}"), &format!("retort:{name}:{{name}}"));
        let url_template = DatabaseUrl::new(url_template);
        Ok(Fleet { name: name.to_string(), names, url_template, schema_template, template })
    }

    /// The settings databases and fleets share; unset ones take the engine's defaults.
    fn settings(&self, name: &str, mut raw: RawTarget) -> Result<Database, String> {
        if let Some(ini) = raw.alembic_ini.take() {
            if raw.script_location.is_some() || raw.version_locations.is_some() {
                return Err("give `alembic_ini` or `script_location`/`version_locations`, not both".into());
            }
            let (script_location, locations) =
                alembic::ini_history(&self.base_dir.join(ini), raw.alembic_section.as_deref())?;
            raw.script_location = Some(script_location);
            raw.version_locations = locations;
        } else if raw.alembic_section.is_some() {
            return Err("`alembic_section` goes with `alembic_ini`".into());
        }
        let script_location = self.base_dir.join(raw.script_location.ok_or("`script_location` is missing")?);
        let version_locations = match raw.version_locations {
            Some(list) if list.is_empty() => return Err("`version_locations` is empty".into()),
            Some(list) => list.iter().map(|l| self.base_dir.join(l)).collect(),
            None => vec![script_location.join("versions")],
        };
        let duration = |key: &str, value: Option<String>| -> Result<Option<Duration>, String> {
            value.map(|v| parse_duration(&v).map_err(|m| format!("{key}: {m}"))).transpose()
        };
        let history =
            History { script_location, version_locations, recursive: raw.recursive_version_locations.unwrap_or(true) };
        let connection = ConnectOptions {
            url: DatabaseUrl::default(),
            base_dir: self.base_dir.to_path_buf(),
            application_name: raw.application_name.unwrap_or_else(|| format!("retort:{name}")),
            writes: false,
            statement_timeout: duration("statement_timeout", raw.statement_timeout)?,
            ddl_lock_timeout: duration("ddl_lock_timeout", raw.ddl_lock_timeout)?,
            search_path: None,
            tls_roots: match raw.tls_roots {
                Some(text) => parse_tls_roots(&text)?,
                None => self.tls_roots,
            },
        };
        let mut version_table = VersionTable::for_target(name);
        match raw.version_table {
            Some(table) if table.trim().is_empty() => return Err("`version_table` is empty".into()),
            Some(table) => version_table.name = table,
            None => {}
        }
        version_table.schema = raw.version_table_schema;
        let defaults = RunPolicy::default();
        let policy = RunPolicy {
            lock_timeout: duration("lock_timeout", raw.lock_timeout)?.unwrap_or(self.lock_timeout),
            ddl_retries: raw.ddl_retries.unwrap_or(defaults.ddl_retries),
            transaction_per_run: match raw.transaction_per.as_deref() {
                None | Some("revision") => defaults.transaction_per_run,
                Some("run") => true,
                Some(other) => return Err(format!("transaction_per must be \"revision\" or \"run\", not \"{other}\"")),
            },
            stop_on_drift: match raw.on_drift.as_deref() {
                None => defaults.stop_on_drift,
                Some("error") => true,
                Some("warn") => false,
                Some(other) => return Err(format!("on_drift must be \"error\" or \"warn\", not \"{other}\"")),
            },
        };
        Ok(Database { name: name.to_string(), fleet: None, history, connection, version_table, policy })
    }
}

/// Names become parts of URLs, schema and target names: letters, digits, `_`, `-`.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok { Ok(()) } else { Err(format!("name `{name}` may hold only letters, digits, `_` and `-`")) }
}

/// One tenant per line; blank lines and `#` comments are skipped.
fn read_names(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("names_file {}: {e}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
}

/// Two targets writing one version table in one database would corrupt each other:
/// refuses that, naming both. Run again after fleets are expanded. One database
/// is one SQLite file, or one server address and database name whatever the user,
/// password or query options of the URLs.
pub fn check_shared_version_tables(targets: &[Database]) -> Result<(), ConfigError> {
    let mut owners = VersionTableOwners::default();
    targets.iter().try_for_each(|t| owners.claim(t))
}

/// The version tables claimed so far, for [`check_shared_version_tables`] over
/// targets that come one at a time (a fleet of 100,000 tenants is never held
/// whole): a 128-bit hash of each (database, schema, table) and who claimed it.
#[derive(Debug, Default)]
pub struct VersionTableOwners {
    claimed: std::collections::HashMap<u128, String>,
}

impl VersionTableOwners {
    /// Claims `target`'s version table; an error naming both when another
    /// target claimed it already.
    pub fn claim(&mut self, target: &Database) -> Result<(), ConfigError> {
        let identity = database_identity(target);
        let schema = target.version_table.schema.as_deref().unwrap_or("");
        let key = [identity.as_str(), schema, target.version_table.name.as_str()].join("\0");
        let hashed = |seed: u64| {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher =
                std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().build_hasher();
            hasher.write_u64(seed);
            hasher.write(key.as_bytes());
            hasher.finish()
        };
        let key = u128::from(hashed(1)) << 64 | u128::from(hashed(2));
        match self.claimed.insert(key, target.name.clone()) {
            None => Ok(()),
            Some(other) => Err(ConfigError::Invalid(format!(
                "`{other}` and `{}` share the version table `{}` in one database; give one of them its own `version_table`",
                target.name, target.version_table.name
            ))),
        }
    }
}

/// Which database a target's URL reaches, as comparable text.
fn database_identity(db: &Database) -> String {
    let url = &db.connection.url;
    if let Some(path) = url.sqlite_path(&db.connection.base_dir) {
        return format!("sqlite:{}", path.display());
    }
    let family = match url.scheme() {
        "postgres" | "postgresql" | "pq" => "postgres",
        "mysql" | "mariadb" => "mysql",
        other => other,
    };
    match (url.authority(), url.database()) {
        (Some(authority), Some(database)) => format!("{family}://{authority}/{database}"),
        _ => url.expose().to_string(),
    }
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
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a usable duration"))
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
        assert_eq!(config.databases[1].version_table.name, "alembic_version_default");
        assert!(config.databases[1].history.script_location.ends_with("migrations/default"));
        assert!(config.databases[1].history.version_locations[0].ends_with("migrations/default/versions"));
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
    fn passwords_in_bad_values_are_masked() {
        let err = load_str("[databases]\ndefault = \"postgres://app:hunter2@h/db\"\n").unwrap_err().to_string();
        assert!(!err.contains("hunter2") && err.contains("app:***@h/db"), "{err}");
    }

    #[test]
    fn a_broken_line_holding_a_password_is_not_echoed() {
        // Found by fuzzing: TOML's error echoed the broken source line.
        let err = load_str("[databases.app]\nurl = \"postgres://app:s3cretpw@db/app\n").unwrap_err().to_string();
        assert!(!err.contains("s3cretpw"), "{err}");
        assert!(err.contains("line 2") && !err.contains('\n'), "one line naming where: {err}");
    }

    #[test]
    fn debug_output_masks_every_password() {
        let text = "[databases.a]\nurl = \"postgres://app:s3cretpw@db/a\"\nscript_location = \"m\"\n\
                    [fleets.t]\nurl_template = \"postgres://app:s3cretpw@db/t_{name}\"\nscript_location = \"m\"\n\
                    names_query = \"SELECT 1\"\ncontrol_url = \"postgres://ctl:s3cretpw@db/c\"\n";
        let shown = format!("{:?}", load_str(text).unwrap());
        assert!(!shown.contains("s3cretpw") && shown.contains("app:***@db/a"), "{shown}");
    }

    #[test]
    fn every_example_in_the_configuration_reference_loads() {
        let doc = include_str!("../../docs/configuration.md");
        let blocks: Vec<&str> =
            doc.split("```toml\n").skip(1).filter_map(|b| b.split_once("```").map(|(toml, _)| toml)).collect();
        assert!(blocks.len() >= 2, "the reference shows its examples");
        for block in blocks {
            let config = load_str(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
            assert!(!config.databases.is_empty() || !config.fleets.is_empty(), "{block}");
        }
    }

    #[test]
    fn tls_roots_default_at_the_top_and_per_entry() {
        let text = "tls_roots = 'system'\n[databases.a]\nurl='sqlite://a.db'\nscript_location='a'\n\
                    [databases.b]\nurl='sqlite://b.db'\nscript_location='b'\ntls_roots='bundled'\n";
        let config = load_str(text).unwrap();
        assert_eq!(config.tls_roots, TlsRoots::System);
        let roots: Vec<TlsRoots> = config.databases.iter().map(|d| d.connection.tls_roots).collect();
        assert_eq!(roots, [TlsRoots::System, TlsRoots::Bundled]);
        let err = load_str("tls_roots = 'os'\n").unwrap_err().to_string();
        assert!(err.contains("tls_roots must be \"bundled\" or \"system\", not \"os\""), "{err}");
    }

    #[test]
    fn rollout_keys_are_parsed_and_checked() {
        let config = load_str("[rollout]\ncanary = ['a*']\nwaves = '1, 10%'\nmax_failures = 3\n").unwrap();
        assert_eq!(config.rollout.canary, ["a*"]);
        assert_eq!(config.rollout.waves, Waves(vec![Share::Count(1), Share::Percent(10)]));
        assert_eq!(config.rollout.max_failures, Some(Share::Count(3)));
        assert_eq!(load_str("[rollout]\nmax_failures = '5%'\n").unwrap().rollout.max_failures, Some(Share::Percent(5)));
        for (text, says) in [
            ("[rollout]\nwaves = '10%,5%'\n", "rollout.waves: waves `10%,5%` must grow"),
            ("[rollout]\nmax_failures = 'many'\n", "rollout.max_failures: `many` is not a count"),
            ("[rollout]\ncanaries = ['a']\n", "canaries"),
        ] {
            let err = load_str(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn jobs_0_names_where_it_came_from() {
        let err = load_str("jobs = 0\n").unwrap_err().to_string();
        assert!(err.ends_with("retort.toml: `jobs`: jobs must be at least 1"), "{err}");
        figment::Jail::expect_with(|jail| {
            jail.create_file("retort.toml", EXAMPLE)?;
            let err = load(Path::new("retort.toml"), &Overrides { jobs: Some(0) }).unwrap_err().to_string();
            assert_eq!(err, "--jobs: jobs must be at least 1");
            Ok(())
        });
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
            assert_eq!(config.databases[1].connection.url, "sqlite://other.db");
            let config = load(Path::new("retort.toml"), &Overrides { jobs: Some(5) }).unwrap();
            assert_eq!(config.jobs, 5);
            Ok(())
        });
    }

    #[test]
    fn fleets_expand_to_named_targets() {
        let text = r#"
[fleets.tenants]
script_location = "migrations/tenant"
url_template = "postgres://app:pw@127.0.0.1/tenant_{name}"
names = ["acme", "globex"]

[fleets.schemas]
script_location = "migrations/tenant"
url_template = "postgres://app@127.0.0.1/shared"
schema_template = "t_{name}"
version_table = "alembic_version"
names_query = "SELECT name FROM tenants"
control_url = "postgres://app@127.0.0.1/control"
"#;
        let config = load_str(text).unwrap();
        let tenants = &config.fleets[1];
        assert_eq!(tenants.names, NameSource::List(vec!["acme".into(), "globex".into()]));
        let acme = tenants.target("acme");
        assert_eq!(acme.name, "tenants:acme");
        assert_eq!(acme.connection.url, "postgres://app:pw@127.0.0.1/tenant_acme");
        assert_eq!(acme.version_table.name, "alembic_version_tenants");
        assert_eq!(acme.fleet.as_deref(), Some("tenants"));
        let schemas = &config.fleets[0];
        assert!(
            matches!(&schemas.names, NameSource::Query { control_url, .. } if control_url.expose().ends_with("/control"))
        );
        let one = schemas.target("one");
        assert_eq!(
            (one.version_table.schema.as_deref(), one.connection.search_path.as_deref()),
            (Some("t_one"), Some("t_one"))
        );
        assert!(schemas.checked_target("bad name").is_err());
    }

    #[test]
    fn fleet_mistakes_are_named() {
        let base = "[fleets.f]\nscript_location = 'm'\n";
        let err = |extra: &str| load_str(&format!("{base}{extra}")).unwrap_err().to_string();
        assert!(err("url = 'postgres://x/y'\nnames = ['a']\n").contains("fleets.f: a fleet takes `url_template`"));
        assert!(err("url_template = 'postgres://x/y'\nnames = ['a']\n").contains("must contain {name}"));
        assert!(err("url_template = 'postgres://x/{name}'\n").contains("exactly one of `names`"));
        assert!(
            err("url_template = 'postgres://x/{name}'\nnames_query = 'select 1'\n").contains("needs `control_url`")
        );
        let err = load_str("[databases.d]\nurl = 'sqlite://a'\nscript_location = 'm'\nnames = ['x']\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("databases.d: `names` belongs to a [fleets.*] entry"), "{err}");
    }

    #[test]
    fn names_file_lines() {
        let mut result = None;
        figment::Jail::expect_with(|jail| {
            jail.create_file("tenants.txt", "# tenants\nacme\n\n globex \n")?;
            jail.create_file(
                "retort.toml",
                "[fleets.t]\nscript_location = 'm'\nurl_template = 'sqlite://{name}.db'\nnames_file = 'tenants.txt'\n",
            )?;
            result = Some(load(Path::new("retort.toml"), &Overrides::default()));
            Ok(())
        });
        let config = result.unwrap().unwrap();
        assert_eq!(config.fleets[0].names, NameSource::List(vec!["acme".into(), "globex".into()]));
    }

    #[test]
    fn a_database_may_take_its_history_from_an_alembic_ini() {
        let dir = tempfile::tempdir().unwrap();
        let ini = "[alembic]\nscript_location = %(here)s/migrations\n\n[other]\nscript_location = elsewhere\nversion_locations = a b\n";
        std::fs::write(dir.path().join("alembic.ini"), ini).unwrap();
        let toml = "[databases.default]\nurl = \"sqlite://x.db\"\nalembic_ini = \"alembic.ini\"\n\n[databases.b]\nurl = \"sqlite://y.db\"\nalembic_ini = \"alembic.ini\"\nalembic_section = \"other\"\n";
        std::fs::write(dir.path().join("retort.toml"), toml).unwrap();
        let config = load(&dir.path().join("retort.toml"), &Overrides::default()).unwrap();
        let b = &config.databases[0];
        assert_eq!(b.history.version_locations, [dir.path().join("a"), dir.path().join("b")]);
        let default = &config.databases[1];
        assert_eq!(default.history.script_location, dir.path().join("migrations"));
        assert_eq!(default.history.version_locations, [dir.path().join("migrations/versions")]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("99999999999999999999999").is_err());
    }
}
