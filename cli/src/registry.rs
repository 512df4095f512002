//! The drivers this binary was built with, by URL scheme.

use anyhow::{Result, bail};
use retort_core::driver::{Driver, mask_password};

#[cfg(feature = "sqlite")]
static SQLITE: retort_sqlite::SqliteDriver = retort_sqlite::SqliteDriver;
#[cfg(feature = "postgres")]
static POSTGRES: retort_postgres::PostgresDriver = retort_postgres::PostgresDriver;
#[cfg(feature = "mysql")]
static MYSQL: retort_mysql::MysqlDriver = retort_mysql::MysqlDriver;
#[cfg(feature = "mssql")]
static MSSQL: retort_mssql::MssqlDriver = retort_mssql::MssqlDriver;

/// Every built-in driver.
pub fn drivers() -> Vec<&'static dyn Driver> {
    vec![
        #[cfg(feature = "sqlite")]
        &SQLITE,
        #[cfg(feature = "postgres")]
        &POSTGRES,
        #[cfg(feature = "mysql")]
        &MYSQL,
        #[cfg(feature = "mssql")]
        &MSSQL,
    ]
}

/// The driver for `url`'s scheme; the error names the target and masks the password.
pub fn for_url(target: &str, url: &str) -> Result<&'static dyn Driver> {
    if url.is_empty() {
        bail!("database `{target}` has no URL: set `sqlalchemy.url` (or `url`), or RETORT_DATABASES__<NAME>__URL");
    }
    let scheme = url.split(':').next().unwrap_or_default();
    if let Some(driver) = drivers().into_iter().find(|d| d.schemes().contains(&scheme)) {
        return Ok(driver);
    }
    let known: Vec<&str> = drivers().iter().flat_map(|d| d.schemes().iter().copied()).collect();
    bail!(
        "database `{target}`: unknown URL scheme `{scheme}` in {} (this retort knows: {})",
        mask_password(url),
        known.join(", ")
    )
}
