//! What every command starts from: the validated config, the selected histories
//! (databases and fleets, for graph commands) or targets (databases and fleet
//! tenants, for commands that touch databases), and their revision graphs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use retort_config::select::{Candidate, Selection, fleet_part, glob_match};
use retort_config::{Config, Database, NameSource, Overrides};
use retort_engine::driver::{ConnectOptions, VersionTable, mask_password};
use retort_engine::fleet::in_shard;
use retort_history::graph::Graph;
use retort_history::script;

use crate::args::Global;
use crate::registry;

/// The loaded config and the command's selection.
pub struct Context {
    pub config: Config,
    selection: Selection,
    shard: Option<(u32, u32)>,
    graphs: std::sync::Mutex<HashMap<Vec<PathBuf>, Arc<Graph>>>,
}

impl Context {
    /// Loads the config; nothing is connected yet.
    pub fn load(global: &Global) -> Result<Context> {
        let config = retort_config::load(&global.config, &Overrides { jobs: global.jobs })?;
        let mut patterns = global.databases.clone();
        if let Some(section) = &global.name {
            patterns.push(if section == "alembic" { "default".to_string() } else { section.clone() });
        }
        let selection = Selection::new(&patterns);
        let ctx = Context { config, selection, shard: global.shard, graphs: Default::default() };
        ctx.check_patterns()?;
        Ok(ctx)
    }

    /// Every `-d` part must name a database or a fleet of the config.
    fn check_patterns(&self) -> Result<()> {
        let databases = self.config.databases.iter().map(|d| d.name.as_str());
        let known: Vec<&str> = databases.chain(self.config.fleets.iter().map(|f| f.name.as_str())).collect();
        let candidates: Vec<Candidate> = known.iter().map(|name| Candidate { name, fleet: None }).collect();
        let unknown = self.selection.unmatched(&candidates);
        if let Some(part) = unknown.iter().find(|p| !known.iter().any(|k| glob_match(fleet_part(p), k))) {
            bail!("no database or fleet matches `{part}` (configured: {})", known.join(", "));
        }
        Ok(())
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

    /// The one selected history, for commands that write one.
    pub fn single(&self) -> Result<Database> {
        match self.histories().as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!("nothing selected in {}", self.config.path.display()),
            many => bail!(
                "this command works on one database or fleet; choose one with -d ({})",
                many.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// Selected targets: databases and fleet tenants (listed, read from a file, or
    /// queried from the control database), after `--shard`.
    pub async fn targets(&self) -> Result<Vec<Database>> {
        let mut targets: Vec<Database> =
            self.config.databases.iter().filter(|d| self.selects(&d.name, None)).cloned().collect();
        let mut all = targets.clone();
        for fleet in &self.config.fleets {
            if !self.selection.wants_fleet(&fleet.name) {
                continue;
            }
            let tenants = match &fleet.names {
                NameSource::List(list) => list.clone(),
                NameSource::Query { control_url, sql } => {
                    query_names(&self.config, &fleet.name, control_url, sql).await?
                }
            };
            let expanded = fleet.targets(&tenants)?;
            all.extend(expanded.iter().cloned());
            targets.extend(expanded.into_iter().filter(|t| self.selects(&t.name, Some(&fleet.name))));
        }
        retort_config::check_shared_version_tables(&all)?;
        let candidates: Vec<Candidate> =
            all.iter().map(|t| Candidate { name: &t.name, fleet: t.fleet.as_deref() }).collect();
        if let Some(part) = self.selection.unmatched(&candidates).first() {
            let names = all.iter().map(|t| t.name.as_str());
            let mut near: Vec<&str> = names.clone().filter(|n| n.starts_with(fleet_part(part))).collect();
            if near.is_empty() {
                near = names.collect();
            }
            let shown = if near.len() > 6 {
                format!("{}, … ({} in all)", near[..6].join(", "), near.len())
            } else {
                near.join(", ")
            };
            bail!("`-d {part}` selects no target (there are: {shown})");
        }
        if let Some((k, n)) = self.shard {
            targets.retain(|t| in_shard(&t.name, k, n));
        }
        Ok(targets)
    }

    /// The graph of a target's history, loaded once per set of revision folders.
    pub fn graph(&self, db: &Database) -> Result<Arc<Graph>> {
        let key = db.version_locations.clone();
        if let Some(graph) = self.graphs.lock().expect("graph cache").get(&key) {
            return Ok(graph.clone());
        }
        let graph = Arc::new(load_graph(db)?);
        self.graphs.lock().expect("graph cache").insert(key, graph.clone());
        Ok(graph)
    }

    /// Options to connect to a target.
    pub fn connect_options(&self, db: &Database, writes: bool) -> ConnectOptions {
        ConnectOptions {
            url: db.url.clone(),
            base_dir: self.config.base_dir.clone(),
            application_name: db.application_name.clone(),
            writes,
            statement_timeout: db.statement_timeout,
            ddl_lock_timeout: db.ddl_lock_timeout,
            search_path: db.search_path.clone(),
        }
    }
}

/// Runs a fleet's `names_query` on its control database.
async fn query_names(config: &Config, fleet: &str, url: &str, sql: &str) -> Result<Vec<String>> {
    let driver = registry::for_url(&format!("{fleet} (control_url)"), url)?;
    let options = ConnectOptions { url: url.to_string(), base_dir: config.base_dir.clone(), ..Default::default() };
    let mut conn = driver
        .connect(&options)
        .await
        .map_err(|e| anyhow::anyhow!("fleet `{fleet}`: cannot connect to {}: {e}", mask_password(url)))?;
    let rows = conn.query(sql).await.with_context(|| format!("fleet `{fleet}`: names_query"))?;
    let _ = conn.close().await;
    Ok(rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect())
}

/// The revision graph of a database's version locations.
pub fn load_graph(db: &Database) -> Result<Graph> {
    if let Some(missing) = db.version_locations.iter().find(|l| !l.is_dir()) {
        bail!("database `{}`: no revision folder at {}", db.name, missing.display());
    }
    let revisions = script::load_locations(&db.version_locations, db.recursive_version_locations)
        .with_context(|| format!("database `{}`", db.name))?;
    Graph::new(revisions).with_context(|| format!("database `{}`: {}", db.name, db.script_location.display()))
}

/// The version table of a database.
pub fn version_table(db: &Database) -> VersionTable {
    VersionTable { name: db.version_table.clone(), schema: db.version_table_schema.clone() }
}
