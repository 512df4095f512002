//! The drivers this binary was built with, by URL scheme.

use anyhow::{Result, bail};
use retort_core::driver::{Driver, mask_password};

#[cfg(feature = "sqlite")]
static SQLITE: retort_sqlite::SqliteDriver = retort_sqlite::SqliteDriver;

/// Every built-in driver.
pub fn drivers() -> Vec<&'static dyn Driver> {
    vec![
        #[cfg(feature = "sqlite")]
        &SQLITE,
    ]
}

/// The driver for `url`'s scheme; the error names the target and masks the password.
pub fn for_url(target: &str, url: &str) -> Result<&'static dyn Driver> {
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
