//! What every operation starts from: the validated config, the drivers, the
//! selection, and the revision graphs of the selected histories (loaded once per
//! set of revision folders).
//!
//! A history is a database or a fleet (graph commands show it); a target is a
//! database or one fleet tenant (commands that touch databases run on it).
//! Tenants come from the fleet's list, its names file, or its `names_query` on the
//! control database; `--shard` then keeps a stable part of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use retort_config::{Config, Database, NameSource, Overrides, VersionTableOwners};
use retort_engine::audit;
use retort_engine::driver::{ConnectOptions, Connection, DatabaseUrl, Driver};
use retort_engine::fleet::in_shard;
use retort_engine::session;
use retort_history::graph::Graph;
use retort_history::script;

use crate::drivers::Drivers;
use crate::error::{Error, Result};
use crate::select::{Candidate, Selection, fleet_part, glob_match};

/// Which targets an operation acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    /// `-d` patterns: databases, fleets, `fleet:tenant`, globs, comma lists; none
    /// selects everything.
    pub patterns: Vec<String>,
    /// Only shard K of N (1-based), by a stable hash of the target name.
    pub shard: Option<(u32, u32)>,
}

/// The loaded config, the drivers and the selection of one operation.
pub struct Workspace {
    pub config: Config,
    pub drivers: Drivers,
    selection: Selection,
    shard: Option<(u32, u32)>,
    graphs: Mutex<HashMap<Vec<PathBuf>, Arc<Graph>>>,
}

impl Workspace {
    /// Loads the config at `path`; nothing is connected yet.
    pub fn load(path: &Path, overrides: &Overrides, drivers: Drivers, choice: &Choice) -> Result<Workspace> {
        Workspace::new(retort_config::load(path, overrides)?, drivers, choice)
    }

    /// A workspace on a config already loaded, with `drivers` and the config's
    /// plugins. Every pattern must name a database or a fleet of the config.
    pub fn new(config: Config, drivers: Drivers, choice: &Choice) -> Result<Workspace> {
        let drivers = drivers.with_plugins(&config.plugins)?;
        let selection = Selection::new(&choice.patterns);
        let workspace = Workspace { config, drivers, selection, shard: choice.shard, graphs: Default::default() };
        workspace.check_patterns()?;
        Ok(workspace)
    }

    fn check_patterns(&self) -> Result<()> {
        let databases = self.config.databases.iter().map(|d| d.name.as_str());
        let known: Vec<&str> = databases.chain(self.config.fleets.iter().map(|f| f.name.as_str())).collect();
        let candidates: Vec<Candidate> = known.iter().map(|name| Candidate { name, fleet: None }).collect();
        let unknown = self.selection.unmatched(&candidates);
        match unknown.iter().find(|p| !known.iter().any(|k| glob_match(fleet_part(p), k))) {
            Some(part) => {
                Err(Error::Usage(format!("no database or fleet matches `{part}` (configured: {})", known.join(", "))))
            }
            None => Ok(()),
        }
    }

    fn selects(&self, name: &str, fleet: Option<&str>) -> bool {
        self.selection.selects(Candidate { name, fleet })
    }

    /// Selected histories, one per database and per fleet: what graph commands show.
    pub fn histories(&self) -> Vec<Database> {
        let databases = self.config.databases.iter().filter(|d| self.selects(&d.name, None)).cloned();
        let fleets = self.config.fleets.iter().filter(|f| self.selection.wants_fleet(&f.name)).map(|f| {
            let mut db = f.template.clone();
            db.name = f.name.clone();
            db
        });
        databases.chain(fleets).collect()
    }

    /// The one selected history, for operations that write one.
    pub fn single(&self) -> Result<Database> {
        match self.histories().as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::Usage(format!("nothing selected in {}", self.config.path.display()))),
            many => Err(Error::Usage(format!(
                "this command works on one database or fleet; choose one with -d ({})",
                many.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Selected targets: databases and fleet tenants, after `--shard`. Every part
    /// of the selection must select at least one target.
    ///
    /// Tenants are taken one at a time from the fleet's list: each is checked
    /// (its name, its version table against every other target's) and kept only
    /// when selected and in the shard, so a names file of 100,000 tenants is held
    /// once, in the config, whatever the shard keeps.
    pub async fn targets(&self) -> Result<Vec<Database>> {
        let mut owners = VersionTableOwners::default();
        let mut tally = self.selection.tally();
        let in_shard = |name: &str| self.shard.is_none_or(|(k, n)| in_shard(name, k, n));
        let mut targets = Vec::new();
        for db in &self.config.databases {
            owners.claim(db)?;
            if tally.see(Candidate { name: &db.name, fleet: None }) && in_shard(&db.name) {
                targets.push(db.clone());
            }
        }
        for fleet in self.config.fleets.iter().filter(|f| self.selection.wants_fleet(&f.name)) {
            let queried;
            let tenants = match &fleet.names {
                NameSource::List(list) => list,
                NameSource::Query { control_url, sql } => {
                    queried = self.query_names(&fleet.name, control_url, sql).await?;
                    &queried
                }
            };
            for tenant in tenants {
                let target = fleet.checked_target(tenant)?;
                owners.claim(&target)?;
                if tally.see(Candidate { name: &target.name, fleet: Some(&fleet.name) }) && in_shard(&target.name) {
                    targets.push(target);
                }
            }
        }
        match tally.first_unmatched() {
            Some((part, near)) => Err(Error::Usage(format!("`-d {part}` selects no target (there are: {near})"))),
            None => Ok(targets),
        }
    }

    /// Runs a fleet's `names_query` on its control database.
    async fn query_names(&self, fleet: &str, url: &DatabaseUrl, sql: &str) -> Result<Vec<String>> {
        let driver = self.drivers.for_url(&format!("{fleet} (control_url)"), url)?;
        let options = ConnectOptions {
            url: url.clone(),
            base_dir: self.config.base_dir.clone(),
            tls_roots: self.config.tls_roots,
            ..Default::default()
        };
        let unreachable =
            |e: &dyn std::fmt::Display| Error::Unreachable(format!("fleet `{fleet}`: cannot connect to {url}: {e}"));
        let mut conn = session::open(driver.as_ref(), &options).await.map_err(|e| unreachable(&e))?;
        let rows =
            conn.query(sql).await.map_err(|e| Error::Unreachable(format!("fleet `{fleet}`: names_query: {e}")))?;
        let _ = conn.close().await;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
    }

    /// The graph of a target's history, loaded once per set of revision folders.
    pub fn graph(&self, db: &Database) -> Result<Arc<Graph>> {
        let key = db.history.version_locations.clone();
        if let Some(graph) = self.graphs.lock().expect("graph cache").get(&key) {
            return Ok(graph.clone());
        }
        let graph = Arc::new(load_graph(db)?);
        self.graphs.lock().expect("graph cache").insert(key, graph.clone());
        Ok(graph)
    }

    /// The URL a history's targets are reached through: a database's own, or a
    /// fleet's template (a fleet's history, from [`Workspace::histories`], stands
    /// for its tenants).
    pub fn history_url<'a>(&'a self, db: &'a Database) -> &'a DatabaseUrl {
        let fleet = self.config.fleets.iter().find(|f| f.name == db.name && db.connection.url.is_empty());
        fleet.map_or(&db.connection.url, |f| &f.url_template)
    }

    /// The driver of a history's targets ([`Workspace::history_url`]).
    pub fn history_driver(&self, db: &Database) -> Result<Arc<dyn Driver>> {
        self.drivers.for_url(&db.name, self.history_url(db))
    }

    /// Options to connect to a target.
    pub fn connect_options(&self, db: &Database, writes: bool) -> ConnectOptions {
        ConnectOptions { writes, ..db.connection.clone() }
    }

    /// Whether `-d` named what to act on (else everything is selected).
    pub fn names_targets(&self) -> bool {
        !self.selection.is_everything()
    }

    /// The version rows of a target, creating nothing.
    pub async fn read_rows(&self, db: &Database) -> Result<Vec<String>> {
        Ok(self.read(db, false).await?.0)
    }

    /// The version rows and the audit trail (`None`: no audit table) of a target,
    /// creating nothing.
    pub async fn read_audit(&self, db: &Database) -> Result<(Vec<String>, Option<Vec<audit::Entry>>)> {
        self.read(db, true).await
    }

    /// One read-only session: the version rows, and the audit rows when asked.
    async fn read(&self, db: &Database, with_audit: bool) -> Result<(Vec<String>, Option<Vec<audit::Entry>>)> {
        let (mut conn, driver) = self.open_read_only(db).await?;
        let unreachable = |e: &dyn std::fmt::Display| Error::Unreachable(format!("{}: {e}", label(db)));
        let dialect = driver.dialect();
        let rows = retort_engine::driver::read_versions(conn.as_mut(), dialect, &db.version_table).await;
        let entries = match (&rows, with_audit) {
            (Ok(_), true) => audit::read(conn.as_mut(), dialect, &db.version_table).await,
            _ => Ok(None),
        };
        let _ = conn.close().await;
        Ok((rows.map_err(|e| unreachable(&e))?.unwrap_or_default(), entries.map_err(|e| unreachable(&e))?))
    }

    /// A read-only session on a target, and its driver.
    pub(crate) async fn open_read_only(&self, db: &Database) -> Result<(Box<dyn Connection>, Arc<dyn Driver>)> {
        let driver = self.drivers.for_url(&db.name, &db.connection.url)?;
        let conn = session::open(driver.as_ref(), &self.connect_options(db, false))
            .await
            .map_err(|e| Error::Unreachable(format!("{}: cannot connect to {}: {e}", label(db), db.connection.url)))?;
        Ok((conn, driver))
    }
}

/// How messages name a database: ``database `main` ``.
pub(crate) fn label(db: &Database) -> String {
    format!("database `{}`", db.name)
}

/// The revision graph of a database's version locations.
pub fn load_graph(db: &Database) -> Result<Graph> {
    let history = &db.history;
    if let Some(missing) = history.version_locations.iter().find(|l| !l.is_dir()) {
        return Err(Error::Usage(format!("{}: no revision folder at {}", label(db), missing.display())));
    }
    let revisions = script::load_locations(&history.version_locations, history.recursive)
        .map_err(|cause| Error::Script { context: label(db), cause })?;
    Graph::new(revisions).map_err(|cause| Error::Graph {
        context: format!("{}: {}", label(db), history.script_location.display()),
        cause,
    })
}
