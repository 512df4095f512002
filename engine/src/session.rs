//! Opening a session on a target, the same way for every driver: the settings a
//! session gets (listed once, [`ConnectOptions::session`]), spelled by each
//! dialect ([`Dialect::session_sql`]) and applied by [`open`] right after the
//! driver connects; connection errors with the URL's passwords removed; and the
//! run lock's name and wait, which the drivers share.

use std::time::{Duration, Instant};

use crate::driver::{ConnectOptions, Connection, Dialect, Driver, DriverError, VersionTable, fnv1a, redact};

/// A setting a session gets right after connecting, in no dialect's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSetting {
    /// No statement runs longer (`statement_timeout`); ignored where the dialect
    /// has no such limit.
    StatementTimeout(Duration),
    /// No statement waits longer for a table lock (`ddl_lock_timeout`); ignored
    /// where the dialect has no such limit.
    LockTimeout(Duration),
    /// The schema unqualified names resolve in (schema per tenant). Needs a
    /// dialect with schemas ([`crate::driver::Capabilities::schemas`]).
    Schema(String),
    /// The session's application name, on a session [`reuse`]d for another
    /// target (a new session gets it when it connects); ignored where the
    /// dialect cannot change it.
    ApplicationName(String),
}

/// One statement that applies a session setting. An `optional` one may fail
/// without failing the session: a setting one server version knows and another
/// does not (MariaDB's `max_statement_time`, MySQL's `max_execution_time`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatement {
    pub sql: String,
    pub optional: bool,
}

impl SessionStatement {
    /// A statement whose failure fails the session.
    pub fn required(sql: impl Into<String>) -> SessionStatement {
        SessionStatement { sql: sql.into(), optional: false }
    }

    /// A statement whose failure is ignored.
    pub fn optional(sql: impl Into<String>) -> SessionStatement {
        SessionStatement { sql: sql.into(), optional: true }
    }
}

impl ConnectOptions {
    /// The settings a session on this target gets, in the order they are applied.
    pub fn session(&self) -> Vec<SessionSetting> {
        let timeouts = [
            self.statement_timeout.map(SessionSetting::StatementTimeout),
            self.ddl_lock_timeout.map(SessionSetting::LockTimeout),
        ];
        let schema = self.search_path.clone().map(SessionSetting::Schema);
        timeouts.into_iter().chain([schema]).flatten().collect()
    }
}

/// Connects to the target of `options` through `driver` and applies the
/// session's settings. Errors carry no password of the URL.
pub async fn open(driver: &dyn Driver, options: &ConnectOptions) -> Result<Box<dyn Connection>, DriverError> {
    let statements = session_statements(driver, options)?;
    let url = options.url.expose();
    // `options.url` shows itself with its password masked.
    tracing::debug!(driver = driver.name(), url = %options.url, writes = options.writes, "connecting");
    let mut conn = driver.connect(options).await.map_err(|e| without_password(e, url))?;
    if let Err(e) = conn.set_up(&statements).await {
        let _ = conn.close().await;
        return Err(without_password(e, url));
    }
    tracing::debug!(url = %options.url, settings = statements.len(), "connected");
    Ok(conn)
}

/// Gives a session another target on the same database: [`Connection::reset`],
/// then that target's settings. `Err` with the session back when it cannot be
/// reused (the caller closes it and opens a new one).
pub async fn reuse(
    driver: &dyn Driver,
    mut conn: Box<dyn Connection>,
    options: &ConnectOptions,
) -> Result<Box<dyn Connection>, Box<dyn Connection>> {
    let Ok(mut statements) = session_statements(driver, options) else { return Err(conn) };
    let named = SessionSetting::ApplicationName(options.application_name.clone());
    statements.extend(driver.dialect().session_sql(&named));
    match conn.reset().await {
        Ok(true) if conn.set_up(&statements).await.is_ok() => Ok(conn),
        _ => Err(conn),
    }
}

/// Refuses settings `driver` cannot give a session (a schema where the database
/// has none). [`open`] checks it before connecting; callers that check every
/// target before touching any call it first.
pub fn check_settings(driver: &dyn Driver, options: &ConnectOptions) -> Result<(), DriverError> {
    if options.search_path.is_some() && !driver.dialect().capabilities().schemas {
        return Err(DriverError::Other(format!(
            "schema per tenant (`schema_template`) needs a database with schemas; {} has none",
            driver.name()
        )));
    }
    Ok(())
}

/// The statements of the session's settings in the driver's dialect; a setting
/// the dialect cannot have is refused before connecting.
fn session_statements(driver: &dyn Driver, options: &ConnectOptions) -> Result<Vec<SessionStatement>, DriverError> {
    check_settings(driver, options)?;
    let dialect = driver.dialect();
    Ok(options.session().iter().flat_map(|setting| dialect.session_sql(setting)).collect())
}

/// `error` with `url`'s passwords removed from its text.
fn without_password(error: DriverError, url: &str) -> DriverError {
    let clean = |text: String| redact(&text, url);
    match error {
        DriverError::Connect(text) => DriverError::Connect(clean(text)),
        DriverError::Sql(text) => DriverError::Sql(clean(text)),
        DriverError::LockNotAvailable(text) => DriverError::LockNotAvailable(clean(text)),
        DriverError::Other(text) => DriverError::Other(clean(text)),
        timeout @ DriverError::LockTimeout { .. } => timeout,
    }
}

/// The run lock's name for a version table: `retort:` and the table's qualified
/// name in `dialect`, or a hash of that when it is longer than `max_len` (MySQL's
/// `GET_LOCK` takes 64 characters). Runners of every version agree on it.
pub fn run_lock_name(dialect: &dyn Dialect, table: &VersionTable, max_len: usize) -> String {
    let name = format!("retort:{}", dialect.table_name(table));
    if name.len() <= max_len { name } else { format!("retort:{:016x}", fnv1a(name.bytes())) }
}

/// The wait for a lock that can only be tried (PostgreSQL advisory locks polled
/// from an idle session, SQLite's file lock): after each failed try,
/// [`LockWait::pause`] sleeps 50 ms, doubling up to 500 ms, until `timeout` has
/// passed since the wait began.
pub struct LockWait {
    started: Instant,
    timeout: Duration,
    pause: Duration,
}

impl LockWait {
    /// A wait of at most `timeout`, starting now.
    pub fn new(timeout: Duration) -> LockWait {
        LockWait { started: Instant::now(), timeout, pause: Duration::from_millis(50) }
    }

    /// Sleeps before the next try; `Err` with how long it waited once the time is up.
    pub async fn pause(&mut self) -> Result<(), Duration> {
        let waited = self.started.elapsed();
        if waited >= self.timeout {
            return Err(waited);
        }
        tokio::time::sleep(self.pause.min(self.timeout - waited)).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(500));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Standard;
    impl Dialect for Standard {
        fn capabilities(&self) -> crate::driver::Capabilities {
            crate::driver::Capabilities { transactional_ddl: true, run_lock: true, schemas: true }
        }
        fn flavor(&self) -> crate::split::Flavor {
            crate::split::Flavor::Postgres
        }
    }

    #[test]
    fn settings_are_listed_once_in_order() {
        let options = ConnectOptions {
            statement_timeout: Some(Duration::from_secs(2)),
            search_path: Some("tenant_a".into()),
            ..Default::default()
        };
        let listed = options.session();
        assert_eq!(
            listed,
            [SessionSetting::StatementTimeout(Duration::from_secs(2)), SessionSetting::Schema("tenant_a".into())]
        );
        assert!(ConnectOptions::default().session().is_empty());
    }

    #[test]
    fn lock_names_are_hashed_past_the_limit() {
        let short = VersionTable { name: "alembic_version_t".into(), schema: Some("app".into()) };
        assert_eq!(run_lock_name(&Standard, &short, 64), "retort:\"app\".\"alembic_version_t\"");
        let long = VersionTable { name: "v".repeat(80), schema: None };
        let hashed = run_lock_name(&Standard, &long, 64);
        assert!(hashed.len() <= 64 && hashed.starts_with("retort:"), "{hashed}");
        assert_ne!(run_lock_name(&Standard, &VersionTable { name: "w".repeat(80), schema: None }, 64), hashed);
    }

    #[tokio::test]
    async fn a_lock_wait_ends_at_its_timeout() {
        let mut wait = LockWait::new(Duration::from_millis(120));
        let mut pauses = 0;
        let waited = loop {
            match wait.pause().await {
                Ok(()) => pauses += 1,
                Err(waited) => break waited,
            }
        };
        assert!(waited >= Duration::from_millis(120), "{waited:?}");
        assert!((2..=4).contains(&pauses), "{pauses} pauses: 50, 70 (the rest), then the end");
    }
}
