//! `retort convert <dir>`: an Alembic `.py` history as retort `.sql` revisions for
//! one dialect, rendered by the project's own Alembic in offline mode (in the
//! user's Python), written into a new folder; the source is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use retort_engine::convert;
use retort_engine::split::Flavor;
use retort_history::plan::Direction;
use retort_history::script;

use crate::args::{ConvertArgs, Global};
use crate::context::Context;
use crate::output::Exit;

pub fn exec(global: &Global, args: &ConvertArgs) -> Result<Exit> {
    let ini = &global.config;
    if ini.extension().is_none_or(|e| e != "ini") {
        bail!("convert runs Alembic: give its config with `-c alembic.ini`");
    }
    let ctx = Context::load(global)?;
    let db = ctx.single()?;
    let graph = ctx.graph(&db)?;
    let (flavor, sqlalchemy_url) = dialect(&args.dialect)?;
    if args.out.exists() && args.out.read_dir().map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not empty: convert writes into a new folder", args.out.display());
    }
    let versions = args.out.join("versions");
    std::fs::create_dir_all(&versions).with_context(|| versions.display().to_string())?;
    let offline = OfflineAlembic::new(ini, global.name.as_deref(), sqlalchemy_url, &args.out, &args.python)?;
    let up = offline.render(&["upgrade", "heads", "--sql"]);
    let down = offline.render(&["downgrade", "heads:base", "--sql"]);
    let _ = std::fs::remove_file(&offline.config);
    let (up, down) = (up?, down?);
    let ups = convert::offline_bodies(&up, Direction::Up, flavor).map_err(anyhow::Error::msg)?;
    let downs = convert::offline_bodies(&down, Direction::Down, flavor).map_err(anyhow::Error::msg)?;
    for revision in graph.revisions() {
        let source = std::fs::read_to_string(&revision.path).with_context(|| revision.path.display().to_string())?;
        let (Some(up), Some(down)) = (ups.get(&revision.id), downs.get(&revision.id)) else {
            bail!("revision {} ({}): Alembic rendered no SQL for it", revision.id, revision.path.display());
        };
        let file = versions.join(script::file_name(&revision.id, &revision.message));
        std::fs::write(&file, convert::converted_file(revision, &source, up, down))
            .with_context(|| file.display().to_string())?;
    }
    outln!("converted {} revisions into {}", graph.len(), versions.display());
    Ok(Exit::Ok)
}

/// The splitter flavor and the URL Alembic renders offline SQL for.
fn dialect(name: &str) -> Result<(Flavor, &'static str)> {
    Ok(match name {
        "postgresql" | "postgres" => (Flavor::Postgres, "postgresql://"),
        "mysql" => (Flavor::MySql, "mysql://"),
        "mariadb" => (Flavor::MySql, "mariadb://"),
        "sqlite" => (Flavor::Sqlite, "sqlite://"),
        "mssql" => (Flavor::SqlServer, "mssql://"),
        other => bail!("unknown dialect `{other}` (postgresql, mysql, mariadb, sqlite, mssql)"),
    })
}

/// The project's Alembic, run offline against a copy of its config whose URL names
/// only the dialect.
struct OfflineAlembic {
    config: PathBuf,
    section: Option<String>,
    project: PathBuf,
    python: String,
}

impl OfflineAlembic {
    fn new(ini: &Path, section: Option<&str>, url: &str, out: &Path, python: &str) -> Result<OfflineAlembic> {
        let ini = std::path::absolute(ini)?;
        let project = ini.parent().map(Path::to_path_buf).unwrap_or_default();
        let text = std::fs::read_to_string(&ini).with_context(|| ini.display().to_string())?;
        let copy: Vec<String> = text
            .replace("%(here)s", &project.display().to_string())
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("sqlalchemy.url") { format!("sqlalchemy.url = {url}") } else { l.into() }
            })
            .collect();
        let config = std::path::absolute(out.join(".alembic-offline.ini"))?;
        std::fs::write(&config, copy.join("\n"))?;
        Ok(OfflineAlembic { config, section: section.map(String::from), project, python: python.to_string() })
    }

    /// Alembic's stdout for `args`; its last error line when it fails.
    fn render(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new(&self.python);
        command.args(["-m", "alembic", "-c"]).arg(&self.config).current_dir(&self.project);
        if let Some(section) = &self.section {
            command.args(["-n", section]);
        }
        let out = command.args(args).output().with_context(|| format!("cannot run {}", self.python))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        let running = stdout.lines().rev().find(|l| l.starts_with("-- Running ")).map(|l| format!(" (while `{l}`)"));
        bail!("alembic {}{} failed: {}", args.join(" "), running.unwrap_or_default(), last.trim())
    }
}
