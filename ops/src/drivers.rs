//! The drivers an embedding program offers, by URL scheme: the `retort` binary
//! passes its built-in ones; a deploy program passes the ones it links.

use std::sync::Arc;

use retort_engine::driver::{DatabaseUrl, Driver};

use crate::error::{Error, Result};

/// A set of drivers. Each is shared (`Arc`): one serves every target of its schemes.
#[derive(Clone, Default)]
pub struct Drivers(Vec<Arc<dyn Driver>>);

impl Drivers {
    /// The drivers in `list`; for a scheme two of them serve, the first wins.
    pub fn new(list: Vec<Arc<dyn Driver>>) -> Drivers {
        Drivers(list)
    }

    /// The driver for `url`'s scheme; the error names the target and masks the password.
    pub fn for_url(&self, target: &str, url: &DatabaseUrl) -> Result<Arc<dyn Driver>> {
        if url.is_empty() {
            return Err(Error::Usage(format!(
                "database `{target}` has no URL: set `sqlalchemy.url` (or `url`), or RETORT_DATABASES__<NAME>__URL"
            )));
        }
        let scheme = url.scheme();
        if let Some(driver) = self.0.iter().find(|d| d.schemes().iter().any(|s| s == scheme)) {
            return Ok(driver.clone());
        }
        Err(Error::Usage(format!(
            "database `{target}`: unknown URL scheme `{scheme}` in {url} (this retort knows: {})",
            self.schemes().join(", ")
        )))
    }

    /// These drivers and the plugins in `files`, loaded (once per process) after
    /// the built-in ones: a scheme both serve stays the built-in driver's.
    pub fn with_plugins(mut self, files: &[std::path::PathBuf]) -> Result<Drivers> {
        for file in files {
            let plugin = retort_plugin_host::load(file).map_err(|e| Error::Usage(e.to_string()))?;
            self.0.push(plugin);
        }
        Ok(self)
    }

    /// Every scheme served, in the drivers' order.
    pub fn schemes(&self) -> Vec<String> {
        self.0.iter().flat_map(|d| d.schemes()).collect()
    }
}
