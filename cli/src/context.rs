//! What every command starts from: the validated config, the selected databases,
//! and (per database) its revision graph.

use anyhow::{Context as _, Result, bail};
use retort_config::{Config, Database, Overrides};
use retort_core::driver::VersionTable;
use retort_core::graph::Graph;
use retort_core::script;

use crate::args::Global;

/// Config plus the databases `-d` selected (all when none was given).
pub struct Context {
    pub config: Config,
    pub selected: Vec<Database>,
}

impl Context {
    /// Loads the config and applies the `-d` selection.
    pub fn load(global: &Global) -> Result<Context> {
        let config = retort_config::load(&global.config, &Overrides { jobs: global.jobs })?;
        let selected = select(&config, &global.databases)?;
        Ok(Context { config, selected })
    }

    /// The one selected database, for commands that write one history.
    pub fn single(&self) -> Result<&Database> {
        match self.selected.as_slice() {
            [one] => Ok(one),
            [] => bail!("no databases are configured in {}", self.config.path.display()),
            many => bail!(
                "this command works on one database; choose one with -d ({})",
                many.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// The revision graph of a database's version locations.
pub fn graph(db: &Database) -> Result<Graph> {
    if let Some(missing) = db.version_locations.iter().find(|l| !l.is_dir()) {
        bail!("database `{}`: no revision folder at {}", db.name, missing.display());
    }
    let revisions = script::load_locations(&db.version_locations).with_context(|| format!("database `{}`", db.name))?;
    Graph::new(revisions).with_context(|| format!("database `{}`: {}", db.name, db.script_location.display()))
}

/// The version table of a database.
pub fn version_table(db: &Database) -> VersionTable {
    VersionTable { name: db.version_table.clone(), schema: db.version_table_schema.clone() }
}

fn select(config: &Config, patterns: &[String]) -> Result<Vec<Database>> {
    if patterns.is_empty() {
        return Ok(config.databases.clone());
    }
    for pattern in patterns {
        if !config.databases.iter().any(|d| glob_match(pattern, &d.name)) {
            let known: Vec<&str> = config.databases.iter().map(|d| d.name.as_str()).collect();
            bail!("no database matches `{pattern}` (configured: {})", known.join(", "));
        }
    }
    Ok(config.databases.iter().filter(|d| patterns.iter().any(|p| glob_match(p, &d.name))).cloned().collect())
}

/// `*` matches any run of characters, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn matches(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => matches(&p[1..], n) || (!n.is_empty() && matches(p, &n[1..])),
            (Some('?'), Some(_)) => matches(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => matches(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    matches(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("default", "default"));
        assert!(glob_match("ana*", "analytics"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("t?", "t1"));
        assert!(!glob_match("ana*", "default"));
    }
}
