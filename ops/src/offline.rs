//! Offline SQL (`--sql`): each target's plan rendered as a script in its own
//! dialect, without connecting to it. The starting point is given (`from:to`),
//! as in Alembic, or is the base.

use retort_config::Database;
use retort_engine::executor::{self, Action};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::workspace::{Workspace, label};

/// One target's script.
#[derive(Debug, Clone, Serialize)]
pub struct Script {
    pub target: String,
    pub sql: String,
}

/// Renders `action` for each of `selected`, starting at `start` (a spec, or
/// `None` for the base).
pub fn render(
    workspace: &Workspace,
    selected: &[Database],
    start: Option<&str>,
    action: &Action,
) -> Result<Vec<Script>> {
    selected.iter().map(|db| render_one(workspace, db, start, action)).collect()
}

fn render_one(workspace: &Workspace, db: &Database, start: Option<&str>, action: &Action) -> Result<Script> {
    let driver = workspace.drivers.for_url(&db.name, &db.connection.url)?;
    let graph = workspace.graph(db)?;
    let context = label(db);
    let starting: Vec<String> = match start {
        None | Some("base") | Some("") => vec![],
        Some(spec) => graph.ids(&graph.resolve(spec).map_err(Error::spec(&context))?),
    };
    let plan = action.plan(&graph, &starting).map_err(Error::spec(context))?;
    let sql = executor::render_offline(&plan, driver.dialect(), &db.version_table, &starting);
    Ok(Script { target: db.name.clone(), sql })
}

/// `from:to` → (Some(from), to); `to` → (None, to).
pub fn split_range(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once(':') {
        Some((from, to)) => (Some(from), to),
        None => (None, spec),
    }
}
