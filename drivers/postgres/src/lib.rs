//! retort-postgres: PostgreSQL over sqlx with rustls.
//!
//! Transactional DDL, so a revision and its version row commit together. Each
//! statement is sent on its own with the simple query protocol, never as one
//! multi-statement string (which PostgreSQL would wrap in one implicit transaction,
//! breaking `CREATE INDEX CONCURRENTLY`). The run lock is a session advisory lock,
//! waited for by polling `pg_try_advisory_lock` from the idle connection, so a
//! waiting runner holds no snapshot that a concurrent index build would wait on.
//!
//! On PostgreSQL 14 and newer each session sets `client_connection_check_interval`,
//! so the server cancels a killed runner's statement (and frees its advisory lock)
//! within about a second instead of when the statement ends.
#![forbid(unsafe_code)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use retort_engine::driver::{
    Canceller, Capabilities, ConnectOptions, Connection, Dialect, Driver, DriverError, Presence, SessionSetting,
    SessionStatement, VersionTable, fnv1a, quote_literal, redact,
};
use retort_engine::session::{LockWait, run_lock_name};
use retort_engine::split::Flavor;
use retort_engine::statement::{self, Ident, Name, Object, ObjectKind};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Connection as _, Row};

/// The PostgreSQL driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct PostgresDriver;

/// PostgreSQL's SQL: the standard defaults, PostgreSQL's lexical rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn capabilities(&self) -> Capabilities {
        Capabilities { transactional_ddl: true, run_lock: true, schemas: true }
    }

    fn flavor(&self) -> Flavor {
        Flavor::Postgres
    }

    fn session_sql(&self, setting: &SessionSetting) -> Vec<SessionStatement> {
        let sql = match setting {
            SessionSetting::StatementTimeout(timeout) => format!("SET statement_timeout = '{}ms'", timeout.as_millis()),
            SessionSetting::LockTimeout(timeout) => format!("SET lock_timeout = '{}ms'", timeout.as_millis()),
            SessionSetting::Schema(schema) => format!("SET search_path TO {}", self.quote_ident(schema)),
            SessionSetting::ApplicationName(name) => format!("SET application_name = {}", quote_literal(name)),
        };
        vec![SessionStatement::required(sql)]
    }
}

#[async_trait]
impl Driver for PostgresDriver {
    fn name(&self) -> &str {
        "postgres"
    }

    fn schemes(&self) -> Vec<String> {
        ["postgres", "postgresql"].map(String::from).to_vec()
    }

    fn dialect(&self) -> &dyn Dialect {
        &PostgresDialect
    }

    async fn connect(&self, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
        let fail = |e: sqlx::Error| DriverError::Connect(e.to_string());
        let mut connect =
            PgConnectOptions::from_str(options.url.expose()).map_err(fail)?.application_name(&options.application_name);
        // `sslrootcert` in the URL wins; else `tls_roots = "system"` adds the system bundle.
        if !options.url.expose().contains("sslrootcert=")
            && let Some(bundle) = options.tls_roots.system_file()?
        {
            connect = connect.ssl_root_cert(bundle);
        }
        let conn = PgConnection::connect_with(&connect).await.map_err(fail)?;
        let version = conn.server_version_num().unwrap_or(0);
        // Writing commands' statements may need stopping: `set_up` learns the pid.
        let cancel_with = options.writes.then(|| (connect, options.url.expose().to_string()));
        Ok(Box::new(PgConn { conn, version, cancel_with, canceller: None }))
    }
}

/// The first server version with `client_connection_check_interval`.
const CHECK_INTERVAL_SINCE: u32 = 140_000;

/// One open PostgreSQL session.
struct PgConn {
    conn: PgConnection,
    /// `server_version_num` (e.g. 150004); 0 when the server did not say.
    version: u32,
    /// How to reach the server again to cancel a statement (writing commands only).
    cancel_with: Option<(PgConnectOptions, String)>,
    /// Set up from `cancel_with` once the session's pid is known.
    canceller: Option<Arc<PgCanceller>>,
}

/// Cancels the running statement of one backend from a new session.
struct PgCanceller {
    connect: PgConnectOptions,
    /// The target's URL, for redacting error texts.
    url: String,
    /// `pg_backend_pid()` of the session to cancel.
    pid: i32,
}

#[async_trait]
impl Canceller for PgCanceller {
    async fn cancel(&self) -> Result<(), DriverError> {
        let redacted = |e: sqlx::Error| redact(&e.to_string(), &self.url);
        let mut conn =
            PgConnection::connect_with(&self.connect).await.map_err(|e| DriverError::Connect(redacted(e)))?;
        let sent = sqlx::query("SELECT pg_cancel_backend($1)").bind(self.pid).execute(&mut conn).await;
        let closed = conn.close().await;
        sent.map_err(|e| DriverError::Sql(redacted(e)))?;
        closed.map_err(|e| DriverError::Sql(redacted(e)))
    }
}

/// An identifier as PostgreSQL reads it: unquoted ones fold to lower case (ASCII
/// only, as PostgreSQL does in multibyte encodings), quoted ones are exact.
fn fold(ident: &Ident) -> String {
    if ident.quoted { ident.text.clone() } else { ident.text.to_ascii_lowercase() }
}

/// The folded, quoted, possibly qualified name `to_regclass` and `to_regtype` read.
fn reg_name(schema: Option<&Ident>, name: &Ident) -> String {
    let name = PostgresDialect.quote_ident(&fold(name));
    match schema {
        Some(schema) => format!("{}.{name}", PostgresDialect.quote_ident(&fold(schema))),
        None => name,
    }
}

/// [`reg_name`] of a [`Name`].
fn reg_of(name: &Name) -> String {
    reg_name(name.schema.as_ref(), &name.name)
}

/// Present when found, else absent.
fn found(yes: bool) -> Presence {
    if yes { Presence::Present } else { Presence::Absent }
}

/// Maps a database error: `55P03 lock_not_available` is worth a retry.
fn sql_error(e: sqlx::Error) -> DriverError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let text = format!("{} (SQLSTATE {code})", db.message());
            if code == "55P03" { DriverError::LockNotAvailable(text) } else { DriverError::Sql(text) }
        }
        _ => DriverError::Sql(e.to_string()),
    }
}

/// A row as text, whatever the column types retort's own queries use.
fn text_row(row: &PgRow) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| {
            row.try_get::<Option<String>, _>(i)
                .or_else(|_| row.try_get::<Option<i32>, _>(i).map(|v| v.map(|v| v.to_string())))
                .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
                .or_else(|_| row.try_get::<Option<bool>, _>(i).map(|v| v.map(|v| v.to_string())))
                .unwrap_or(None)
        })
        .collect()
}

/// The advisory-lock key of a version table: FNV-1a of its run lock name.
fn lock_key(table: &VersionTable) -> i64 {
    fnv1a(run_lock_name(&PostgresDialect, table, usize::MAX).bytes()) as i64
}

impl PgConn {
    /// Sends the session's statements in one round trip, led by the connection check
    /// on servers that have it, with `pg_backend_pid()` when the session may need
    /// cancelling. A server that refuses the check (platforms without it reject any
    /// value but 0) goes without it.
    async fn set_up_batch(&mut self, statements: &[SessionStatement]) -> Result<(), DriverError> {
        let check = self.version >= CHECK_INTERVAL_SINCE;
        match self.send_set_up(statements, check).await {
            Err(_) if check => self.send_set_up(statements, false).await,
            result => result,
        }
    }

    async fn send_set_up(&mut self, statements: &[SessionStatement], check: bool) -> Result<(), DriverError> {
        let mut batch: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        if check {
            batch.insert(0, "SET client_connection_check_interval = '1s'");
        }
        if self.cancel_with.is_some() {
            batch.push("SELECT pg_backend_pid()");
        }
        if batch.is_empty() {
            return Ok(());
        }
        let rows =
            sqlx::raw_sql(AssertSqlSafe(batch.join(";\n"))).fetch_all(&mut self.conn).await.map_err(sql_error)?;
        if let (Some((connect, url)), Some(row)) = (&self.cancel_with, rows.last()) {
            let pid = row.try_get::<i32, _>(0).map_err(sql_error)?;
            self.canceller = Some(Arc::new(PgCanceller { connect: connect.clone(), url: url.clone(), pid }));
        }
        Ok(())
    }

    /// Runs a query of one boolean column, binding `binds` as text.
    async fn flag(&mut self, sql: &'static str, binds: &[&str]) -> Result<bool, DriverError> {
        let query = binds.iter().fold(sqlx::query(sql), |query, bind| query.bind(*bind));
        let row = query.fetch_one(&mut self.conn).await.map_err(sql_error)?;
        row.try_get::<bool, _>(0).map_err(sql_error)
    }

    /// The `relkind` (and for indexes `indisvalid`) of the relation `to_regclass(name)`.
    async fn relation(&mut self, name: &str) -> Result<Option<(String, Option<bool>)>, DriverError> {
        let sql = "SELECT c.relkind::text, i.indisvalid FROM pg_class c \
                   LEFT JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid = to_regclass($1)";
        let row = sqlx::query(sql).bind(name).fetch_optional(&mut self.conn).await.map_err(sql_error)?;
        row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).transpose().map_err(sql_error)
    }

    /// Whether a relation of one of `kinds` (`relkind`s) is called `name`.
    async fn relation_of(&mut self, name: &str, kinds: &[&str]) -> Result<Presence, DriverError> {
        let kind = self.relation(name).await?.map(|(kind, _)| kind);
        Ok(found(kind.is_some_and(|kind| kinds.contains(&kind.as_str()))))
    }

    /// An index: present, absent, or INVALID (left by a failed concurrent build).
    async fn index(&mut self, name: &str) -> Result<Presence, DriverError> {
        Ok(match self.relation(name).await? {
            Some((kind, Some(true))) if kind == "i" || kind == "I" => Presence::Present,
            Some((kind, Some(false))) if kind == "i" || kind == "I" => Presence::Invalid,
            _ => Presence::Absent,
        })
    }

    /// A type or domain, not the row type every table has.
    async fn type_named(&mut self, name: &str) -> Result<Presence, DriverError> {
        let sql = "SELECT EXISTS (SELECT 1 FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid \
                   WHERE t.oid = to_regtype($1) AND (t.typrelid = 0 OR c.relkind = 'c'))";
        self.flag(sql, &[name]).await.map(found)
    }

    /// A function (`prokind` f, a, w) or procedure (p) in the named schema, else in
    /// any schema of the search path.
    async fn routine(&mut self, name: &Name, kinds: &[&str]) -> Result<Presence, DriverError> {
        let sql = "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                   WHERE p.proname = $1 AND p.prokind::text = ANY($2) AND CASE WHEN $3::text IS NULL \
                   THEN n.nspname = ANY(current_schemas(false)) ELSE n.nspname = $3 END)";
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        let row = sqlx::query(sql)
            .bind(fold(&name.name))
            .bind(kinds)
            .bind(name.schema.as_ref().map(fold))
            .fetch_one(&mut self.conn)
            .await
            .map_err(sql_error)?;
        row.try_get::<bool, _>(0).map(found).map_err(sql_error)
    }

    /// A trigger, column or constraint of `table` (`sql` binds the table, then the name).
    async fn of_table(&mut self, sql: &'static str, table: &Name, name: &Ident) -> Result<Presence, DriverError> {
        self.flag(sql, &[&reg_of(table), &fold(name)]).await.map(found)
    }

    async fn presence_of(&mut self, object: &Object) -> Result<Option<Presence>, DriverError> {
        let name = &object.name;
        let presence = match (object.kind, &object.table) {
            (ObjectKind::Table, _) => self.relation_of(&reg_of(name), &["r", "p", "f"]).await?,
            (ObjectKind::View, _) => self.relation_of(&reg_of(name), &["v", "m"]).await?,
            (ObjectKind::Sequence, _) => self.relation_of(&reg_of(name), &["S"]).await?,
            (ObjectKind::Index, table) => {
                // An index lives in its table's schema.
                let schema = name.schema.as_ref().or(table.as_ref().and_then(|t| t.schema.as_ref()));
                self.index(&reg_name(schema, &name.name)).await?
            }
            (ObjectKind::Type, _) => self.type_named(&reg_of(name)).await?,
            (ObjectKind::Function, _) => self.routine(name, &["f", "a", "w"]).await?,
            (ObjectKind::Procedure, _) => self.routine(name, &["p"]).await?,
            (ObjectKind::Trigger, Some(table)) => {
                let sql = "SELECT EXISTS (SELECT 1 FROM pg_trigger \
                           WHERE tgrelid = to_regclass($1) AND tgname = $2 AND NOT tgisinternal)";
                self.of_table(sql, table, &name.name).await?
            }
            (ObjectKind::Column, Some(table)) => {
                let sql = "SELECT EXISTS (SELECT 1 FROM pg_attribute \
                           WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped)";
                self.of_table(sql, table, &name.name).await?
            }
            (ObjectKind::Constraint, Some(table)) => {
                let sql =
                    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)";
                self.of_table(sql, table, &name.name).await?
            }
            (ObjectKind::Trigger | ObjectKind::Column | ObjectKind::Constraint, None) => return Ok(None),
            (ObjectKind::Schema, _) => {
                let sql = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)";
                found(self.flag(sql, &[&fold(&name.name)]).await?)
            }
            (ObjectKind::Database, _) => {
                let sql = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)";
                found(self.flag(sql, &[&fold(&name.name)]).await?)
            }
        };
        Ok(Some(presence))
    }

    async fn try_lock(&mut self, key: i64) -> Result<bool, DriverError> {
        let row = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut self.conn)
            .await
            .map_err(sql_error)?;
        row.try_get::<bool, _>(0).map_err(sql_error)
    }

    /// Who holds the advisory lock: pid, application name and since when.
    async fn lock_holder(&mut self, key: i64) -> Option<String> {
        let sql = "SELECT a.pid, coalesce(a.application_name, ''), a.backend_start::text \
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND l.classid::bigint = $1 AND l.objid::bigint = $2";
        let (high, low) = (((key as u64) >> 32) as i64, ((key as u64) & 0xffff_ffff) as i64);
        let row = sqlx::query(sql).bind(high).bind(low).fetch_optional(&mut self.conn).await.ok()??;
        let pid: i32 = row.try_get(0).ok()?;
        let app: String = row.try_get(1).ok()?;
        let since: String = row.try_get(2).ok()?;
        Some(format!("pid {pid}, application '{app}', connected since {since}"))
    }

    /// `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] <name> ON [ONLY] <table>`:
    /// the index as `to_regclass` reads it. An index lives in its table's schema, so
    /// an unqualified name takes the table's schema when the table has one.
    fn concurrent_index(statement: &str) -> Option<String> {
        let mut words = statement.split_whitespace();
        let name = Self::concurrent_index_name(statement)?;
        if name.contains('.') {
            return Some(name);
        }
        words.find(|w| w.eq_ignore_ascii_case("ON"))?;
        let mut table = words.next()?;
        if table.eq_ignore_ascii_case("ONLY") {
            table = words.next()?;
        }
        let table = table.split('(').next().unwrap_or_default();
        Some(match table.rsplit_once('.') {
            Some((schema, _)) => format!("{schema}.{name}"),
            None => name,
        })
    }

    /// `REINDEX [(...)] INDEX|TABLE CONCURRENTLY <name>`: whether it names an index
    /// (else a table), and the name.
    fn concurrent_reindex(statement: &str) -> Option<(bool, String)> {
        let mut words = statement.split_whitespace().map(|w| (w, w.to_ascii_uppercase()));
        if words.next()?.1 != "REINDEX" {
            return None;
        }
        let mut word = words.next()?;
        while word.0.starts_with('(') || (!word.1.starts_with("INDEX") && !word.1.starts_with("TABLE")) {
            word = words.next()?; // options in parentheses
        }
        let index = word.1 == "INDEX";
        if words.next()?.1 != "CONCURRENTLY" {
            return None;
        }
        Some((index, words.next()?.0.trim_end_matches(';').to_string()))
    }

    /// `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] <name>`: the index name.
    fn concurrent_index_name(statement: &str) -> Option<String> {
        let mut words = statement.split_whitespace();
        let mut next_upper = || words.next().map(|w| (w.to_string(), w.to_ascii_uppercase()));
        if next_upper()?.1 != "CREATE" {
            return None;
        }
        let mut word = next_upper()?;
        if word.1 == "UNIQUE" {
            word = next_upper()?;
        }
        if word.1 != "INDEX" || next_upper()?.1 != "CONCURRENTLY" {
            return None;
        }
        let mut name = next_upper()?;
        if name.1 == "IF" {
            next_upper()?;
            next_upper()?;
            name = next_upper()?;
        }
        (name.1 != "ON").then_some(name.0)
    }
}

impl PgConn {
    /// An interrupted `REINDEX CONCURRENTLY` leaves INVALID `<index>_ccnew` copies
    /// on the table; they are dropped before the statement runs again.
    async fn drop_invalid_reindex_copies(&mut self, is_index: bool, name: &str) -> Result<Option<String>, DriverError> {
        let table = if is_index {
            "(SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass($1))"
        } else {
            "to_regclass($1)"
        };
        let sql = format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT i.indisvalid AND i.indrelid = {table} AND c.relname ~ '_ccnew[0-9]*$'"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(name).fetch_all(&mut self.conn).await.map_err(sql_error)?;
        let copies: Vec<String> = rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).collect();
        for copy in &copies {
            self.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {copy}")).await?;
        }
        Ok((!copies.is_empty()).then(|| {
            format!("dropped INVALID index {} left by an interrupted REINDEX CONCURRENTLY", copies.join(", "))
        }))
    }
}

#[async_trait]
impl Connection for PgConn {
    async fn set_up(&mut self, statements: &[SessionStatement]) -> Result<(), DriverError> {
        self.set_up_batch(statements).await
    }

    /// `DISCARD ALL` without its `DEALLOCATE ALL`, which would drop the prepared
    /// statements sqlx keeps for this connection.
    async fn reset(&mut self) -> Result<bool, DriverError> {
        // One round trip. A revision may have left a transaction open: ROLLBACK
        // ends it (outside one it only warns, which `client_min_messages` keeps
        // quiet until RESET ALL restores it).
        self.execute(
            "SET client_min_messages = error; ROLLBACK; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
             CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; \
             DISCARD SEQUENCES",
        )
        .await?;
        Ok(true)
    }

    async fn execute(&mut self, sql: &str) -> Result<u64, DriverError> {
        let done = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut self.conn).await.map_err(sql_error)?;
        Ok(done.rows_affected())
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        let rows = sqlx::raw_sql(AssertSqlSafe(sql.to_string())).fetch_all(&mut self.conn).await.map_err(sql_error)?;
        Ok(rows.iter().map(text_row).collect())
    }

    async fn table_exists(&mut self, table: &VersionTable) -> Result<bool, DriverError> {
        let row = sqlx::query("SELECT to_regclass($1) IS NOT NULL")
            .bind(PostgresDialect.table_name(table))
            .fetch_one(&mut self.conn)
            .await
            .map_err(sql_error)?;
        row.try_get::<bool, _>(0).map_err(sql_error)
    }

    async fn lock(&mut self, table: &VersionTable, timeout: Duration) -> Result<(), DriverError> {
        let key = lock_key(table);
        let mut wait = LockWait::new(timeout);
        while !self.try_lock(key).await? {
            // Idle between polls: no transaction, no snapshot for an index build to wait on.
            if let Err(waited) = wait.pause().await {
                let holder = self.lock_holder(key).await;
                return Err(DriverError::LockTimeout { waited, holder });
            }
        }
        Ok(())
    }

    async fn unlock(&mut self, table: &VersionTable) -> Result<(), DriverError> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(lock_key(table))
            .execute(&mut self.conn)
            .await
            .map_err(sql_error)?;
        Ok(())
    }

    async fn repair_before(&mut self, statement: &str) -> Result<Option<String>, DriverError> {
        if let Some((is_index, name)) = Self::concurrent_reindex(statement) {
            return self.drop_invalid_reindex_copies(is_index, &name).await;
        }
        let Some(name) = Self::concurrent_index(statement) else { return Ok(None) };
        let invalid = sqlx::query("SELECT 1 FROM pg_index i WHERE i.indexrelid = to_regclass($1) AND NOT i.indisvalid")
            .bind(&name)
            .fetch_optional(&mut self.conn)
            .await
            .map_err(sql_error)?;
        if invalid.is_none() {
            return Ok(None);
        }
        self.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")).await?;
        Ok(Some(format!("dropped INVALID index {name} left by an earlier failed CREATE INDEX CONCURRENTLY")))
    }

    fn shares_transaction(&self, statement: &str) -> bool {
        !statement::postgres_needs_autocommit(statement, self.version)
    }

    async fn presence(&mut self, object: &Object) -> Result<Option<Presence>, DriverError> {
        self.presence_of(object).await
    }

    fn canceller(&self) -> Option<Arc<dyn Canceller>> {
        self.canceller.clone().map(|c| c as Arc<dyn Canceller>)
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        self.conn.close().await.map_err(sql_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_concurrent_index_names() {
        let name = |s: &str| PgConn::concurrent_index_name(s);
        assert_eq!(name("CREATE INDEX CONCURRENTLY ix_a ON t (a)").as_deref(), Some("ix_a"));
        assert_eq!(name("create unique index concurrently if not exists \"Ix\" on t (a)").as_deref(), Some("\"Ix\""));
        assert_eq!(name("CREATE INDEX CONCURRENTLY ON t (a)"), None);
        assert_eq!(name("CREATE INDEX ix ON t (a)"), None);
        let index = |s: &str| PgConn::concurrent_index(s);
        assert_eq!(index("CREATE INDEX CONCURRENTLY ix ON s1.items(slow(b))").as_deref(), Some("s1.ix"));
        assert_eq!(index("CREATE INDEX CONCURRENTLY ix ON ONLY \"S\".t (a)").as_deref(), Some("\"S\".ix"));
        assert_eq!(index("CREATE INDEX CONCURRENTLY s2.ix ON t (a)").as_deref(), Some("s2.ix"));
        assert_eq!(index("CREATE INDEX CONCURRENTLY ix ON t (a)").as_deref(), Some("ix"));
        let reindex = |s: &str| PgConn::concurrent_reindex(s);
        assert_eq!(reindex("REINDEX INDEX CONCURRENTLY ix_mid"), Some((true, "ix_mid".into())));
        assert_eq!(reindex("reindex (verbose) table concurrently s.t"), Some((false, "s.t".into())));
        assert_eq!(reindex("REINDEX INDEX ix"), None);
    }

    #[test]
    fn names_fold_unless_quoted() {
        let ident = |text: &str, quoted: bool| Ident { text: text.into(), quoted };
        assert_eq!(reg_name(None, &ident("Ix_A", false)), "\"ix_a\"");
        assert_eq!(reg_name(Some(&ident("App", false)), &ident("My\"T", true)), "\"app\".\"My\"\"T\"");
        assert_eq!(fold(&ident("ÄB", false)), "Äb", "PostgreSQL folds ASCII only in UTF-8");
    }

    #[test]
    fn session_settings_in_postgres_words() {
        let options = ConnectOptions {
            statement_timeout: Some(Duration::from_secs(2)),
            search_path: Some("tenant".into()),
            ..Default::default()
        };
        let sql: Vec<String> =
            options.session().iter().flat_map(|s| PostgresDialect.session_sql(s)).map(|s| s.sql).collect();
        assert_eq!(sql, ["SET statement_timeout = '2000ms'", "SET search_path TO \"tenant\""]);
    }

    #[test]
    fn lock_keys_differ_per_table() {
        let a = VersionTable { name: "alembic_version_a".into(), schema: None };
        let b = VersionTable { name: "alembic_version_a".into(), schema: Some("tenant1".into()) };
        assert_ne!(lock_key(&a), lock_key(&b));
    }
}
