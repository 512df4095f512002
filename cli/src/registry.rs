//! The drivers this binary was built with, by URL scheme.

use std::sync::{Arc, OnceLock};

use anyhow::{Result, bail};
use retort_engine::driver::{Driver, mask_password};

/// Every built-in driver. Drivers are shared (`Arc`), as a driver loaded at run
/// time is: one serves every target of its schemes.
pub fn drivers() -> Vec<Arc<dyn Driver>> {
    static DRIVERS: OnceLock<Vec<Arc<dyn Driver>>> = OnceLock::new();
    let built_in = || -> Vec<Arc<dyn Driver>> {
        vec![
            #[cfg(feature = "sqlite")]
            Arc::new(retort_sqlite::SqliteDriver),
            #[cfg(feature = "postgres")]
            Arc::new(retort_postgres::PostgresDriver),
            #[cfg(feature = "mysql")]
            Arc::new(retort_mysql::MysqlDriver),
            #[cfg(feature = "mssql")]
            Arc::new(retort_mssql::MssqlDriver),
        ]
    };
    DRIVERS.get_or_init(built_in).clone()
}

/// The driver for `url`'s scheme; the error names the target and masks the password.
pub fn for_url(target: &str, url: &str) -> Result<Arc<dyn Driver>> {
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
