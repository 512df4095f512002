//! A loaded plugin as an engine driver: its dialect facts, read once from its
//! table, and `connect`, which opens a session on the blocking pool.

use std::time::Duration;

use async_trait::async_trait;
use retort_engine::driver::{
    Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, VersionTable, standard_progress_table,
    standard_version_table,
};
use retort_engine::split::Flavor;
use retort_plugin_abi::*;

use crate::conn::{Handle, PluginConn, blocking, c_string, no_error, take_error};
use crate::load::{LoadError, fact};

/// A driver loaded from a plugin file.
pub struct PluginDriver {
    table: &'static RetortPlugin,
    name: String,
    version: String,
    schemes: Vec<String>,
    /// Shared with its sessions, which name run locks in it.
    dialect: &'static PluginDialect,
}

impl PluginDriver {
    /// The driver of a checked table; refuses a table that lacks a required
    /// entry or fact.
    pub(crate) fn new(table: RetortPlugin, path: &str) -> Result<PluginDriver, LoadError> {
        let bad = |message: String| LoadError::BadTable {
            path: path.to_string(),
            major: table.abi_major,
            minor: table.abi_minor,
            message,
        };
        let required = [
            ("open", table.open.is_some()),
            ("close", table.close.is_some()),
            ("execute", table.execute.is_some()),
            ("query", table.query.is_some()),
            ("free_rows", table.free_rows.is_some()),
            ("table_exists", table.table_exists.is_some()),
            ("free_string", table.free_string.is_some()),
        ];
        if let Some((entry, _)) = required.iter().find(|(_, present)| !present) {
            return Err(bad(format!("its table lacks the required entry `{entry}`")));
        }
        let name = fact(table.name).filter(|n| !n.is_empty()).ok_or_else(|| bad("it gives no name".into()))?;
        let schemes: Vec<String> = fact(table.schemes)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if schemes.is_empty() {
            return Err(bad("it serves no URL scheme".into()));
        }
        let flavor = match table.lexer {
            RETORT_LEXER_STANDARD => Flavor::Postgres,
            RETORT_LEXER_MYSQL => Flavor::MySql,
            RETORT_LEXER_SQLITE => Flavor::Sqlite,
            RETORT_LEXER_SQLSERVER => Flavor::SqlServer,
            other => return Err(bad(format!("unknown lexer {other}"))),
        };
        let quote = fact(table.quote).and_then(|q| q.chars().next()).unwrap_or('"');
        let capabilities = Capabilities {
            transactional_ddl: table.flags & RETORT_TRANSACTIONAL_DDL != 0,
            run_lock: table.lock.is_some() && table.unlock.is_some(),
            schemas: table.flags & RETORT_SCHEMAS != 0,
        };
        let dialect = PluginDialect {
            capabilities,
            flavor,
            quote,
            create: fact(table.create_version_table),
            create_progress: fact(table.create_progress_table),
            create_audit: fact(table.create_audit_table),
        };
        let version = fact(table.version).unwrap_or_default();
        let (table, dialect) = (Box::leak(Box::new(table)), Box::leak(Box::new(dialect)));
        Ok(PluginDriver { table, name, version, schemes, dialect })
    }

    /// The plugin's own version.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// A plugin's dialect facts.
pub(crate) struct PluginDialect {
    capabilities: Capabilities,
    flavor: Flavor,
    quote: char,
    /// `CREATE TABLE` of the version table with `{table}` (and `{constraint}`).
    create: Option<String>,
    /// `CREATE TABLE` of the progress table with `{table}`.
    create_progress: Option<String>,
    /// `CREATE TABLE` of the audit table with `{table}`.
    create_audit: Option<String>,
}

impl Dialect for PluginDialect {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn flavor(&self) -> Flavor {
        self.flavor
    }

    fn quote_ident(&self, name: &str) -> String {
        let q = self.quote;
        format!("{q}{}{q}", name.replace(q, &format!("{q}{q}")))
    }

    fn create_version_table(&self, table: &VersionTable) -> String {
        let name = self.table_name(table);
        let constraint = self.quote_ident(&format!("{}_pkc", table.name));
        match &self.create {
            Some(template) => template.replace("{table}", &name).replace("{constraint}", &constraint),
            None => standard_version_table(&name, &constraint),
        }
    }

    fn create_audit_table(&self, table: &VersionTable) -> String {
        let name = self.table_name(&retort_engine::audit::table(table));
        match &self.create_audit {
            Some(template) => template.replace("{table}", &name),
            None => retort_engine::audit::create_table(&name),
        }
    }

    fn create_progress_table(&self, table: &VersionTable) -> String {
        match &self.create_progress {
            Some(template) => template.replace("{table}", &self.table_name(&table.progress())),
            None => standard_progress_table(&self.table_name(&table.progress())),
        }
    }
}

#[async_trait]
impl Driver for PluginDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn schemes(&self) -> Vec<String> {
        self.schemes.clone()
    }

    fn dialect(&self) -> &dyn Dialect {
        self.dialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        let (table, dialect) = (self.table, self.dialect);
        let plugin = self.name.clone();
        let text = |value: &str| c_string(value).map_err(DriverError::Connect);
        let url = text(options.url.expose())?;
        let base_dir = text(&options.base_dir.display().to_string())?;
        let application_name = text(&options.application_name)?;
        let schema = options.search_path.as_deref().map(text).transpose()?;
        let millis = |d: Option<Duration>| d.map_or(0, |d| d.as_millis().max(1) as u64);
        let (writes, statement_ms, lock_ms) =
            (options.writes, millis(options.statement_timeout), millis(options.ddl_lock_timeout));
        let handle = blocking(move || {
            let settings = RetortSettings {
                size: std::mem::size_of::<RetortSettings>() as u32,
                writes: i32::from(writes),
                base_dir: base_dir.as_ptr(),
                application_name: application_name.as_ptr(),
                statement_timeout_ms: statement_ms,
                lock_timeout_ms: lock_ms,
                schema: schema.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            };
            let mut conn: RetortConn = std::ptr::null_mut();
            let mut error = no_error();
            let open = table.open.expect("checked at load");
            // SAFETY: every pointer passed is valid for the call; `conn` and `error`
            // are out-parameters the plugin fills.
            let status = unsafe { open(url.as_ptr(), &settings, &mut conn, &mut error) };
            match status {
                RETORT_OK if !conn.is_null() => Ok(Handle(conn)),
                RETORT_OK => Err(DriverError::Connect(format!("plugin {plugin}: open gave no session"))),
                _ => Err(DriverError::Connect(take_error(table, &mut error, "open failed"))),
            }
        })
        .await??;
        Ok(Box::new(PluginConn::new(table, dialect, handle)))
    }
}
