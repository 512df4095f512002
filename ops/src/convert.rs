//! `convert`: an Alembic `.py` history as retort `.sql` revisions for one
//! dialect, rendered by the project's own Alembic in offline mode (in the user's
//! Python), written into a new folder; the source is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use retort_engine::convert;
use retort_engine::split::Flavor;
use retort_history::plan::Direction;
use retort_history::script;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// What to convert and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// The project's `alembic.ini`.
    pub ini: PathBuf,
    /// Its section (`-n`), if not `alembic`.
    pub section: Option<String>,
    /// postgresql, mysql, mariadb, sqlite or mssql.
    pub dialect: String,
    /// A new folder for the converted history.
    pub out: PathBuf,
    /// The Python that has the project's Alembic.
    pub python: String,
}

/// Where the converted history went.
#[derive(Debug, Clone, Serialize)]
pub struct Converted {
    pub revisions: usize,
    pub versions: PathBuf,
}

/// Converts the one selected history of `workspace` (loaded from `request.ini`).
pub fn convert(workspace: &Workspace, request: &Request) -> Result<Converted> {
    let db = workspace.single()?;
    let graph = workspace.graph(&db)?;
    let (flavor, sqlalchemy_url) = dialect(&request.dialect)?;
    let out = &request.out;
    if out.exists() && out.read_dir().map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(Error::Usage(format!(
            "{} exists and is not empty: convert writes into a new folder",
            out.display()
        )));
    }
    let versions = out.join("versions");
    std::fs::create_dir_all(&versions).map_err(write_error(&versions))?;
    let offline = OfflineAlembic::new(request, sqlalchemy_url)?;
    let up = offline.render(&["upgrade", "heads", "--sql"]);
    let down = offline.render(&["downgrade", "heads:base", "--sql"]);
    let _ = std::fs::remove_file(&offline.config);
    let (up, down) = (up?, down?);
    let ups = convert::offline_bodies(&up, Direction::Up, flavor).map_err(Error::Usage)?;
    let downs = convert::offline_bodies(&down, Direction::Down, flavor).map_err(Error::Usage)?;
    for revision in graph.revisions() {
        let source = read(&revision.path)?;
        let (Some(up), Some(down)) = (ups.get(&revision.id), downs.get(&revision.id)) else {
            return Err(Error::Usage(format!(
                "revision {} ({}): Alembic rendered no SQL for it",
                revision.id,
                revision.path.display()
            )));
        };
        let file = versions.join(script::file_name(&revision.id, &revision.message));
        std::fs::write(&file, convert::converted_file(revision, &source, up, down)).map_err(write_error(&file))?;
    }
    Ok(Converted { revisions: graph.len(), versions })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    move |cause| Error::Write { path, cause }
}

/// The splitter flavor and the URL Alembic renders offline SQL for.
fn dialect(name: &str) -> Result<(Flavor, &'static str)> {
    Ok(match name {
        "postgresql" | "postgres" => (Flavor::Postgres, "postgresql://"),
        "mysql" => (Flavor::MySql, "mysql://"),
        "mariadb" => (Flavor::MySql, "mariadb://"),
        "sqlite" => (Flavor::Sqlite, "sqlite://"),
        "mssql" => (Flavor::SqlServer, "mssql://"),
        other => {
            return Err(Error::Usage(format!("unknown dialect `{other}` (postgresql, mysql, mariadb, sqlite, mssql)")));
        }
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
    fn new(request: &Request, url: &str) -> Result<OfflineAlembic> {
        let absolute = |p: &Path| std::path::absolute(p).map_err(|e| Error::Usage(format!("{}: {e}", p.display())));
        let ini = absolute(&request.ini)?;
        let project = ini.parent().map(Path::to_path_buf).unwrap_or_default();
        let copy: Vec<String> = read(&ini)?
            .replace("%(here)s", &project.display().to_string())
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("sqlalchemy.url") { format!("sqlalchemy.url = {url}") } else { l.into() }
            })
            .collect();
        let config = absolute(&request.out.join(".alembic-offline.ini"))?;
        std::fs::write(&config, copy.join("\n")).map_err(write_error(&config))?;
        Ok(OfflineAlembic { config, section: request.section.clone(), project, python: request.python.clone() })
    }

    /// Alembic's stdout for `args`; its last error line when it fails.
    fn render(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new(&self.python);
        command.args(["-m", "alembic", "-c"]).arg(&self.config).current_dir(&self.project);
        if let Some(section) = &self.section {
            command.args(["-n", section]);
        }
        let out = command.args(args).output().map_err(|e| Error::Usage(format!("cannot run {}: {e}", self.python)))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        let running = stdout.lines().rev().find(|l| l.starts_with("-- Running ")).map(|l| format!(" (while `{l}`)"));
        Err(Error::Usage(format!("alembic {}{} failed: {}", args.join(" "), running.unwrap_or_default(), last.trim())))
    }
}
