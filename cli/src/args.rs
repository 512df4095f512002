//! The command line, as clap structures. Flags follow Alembic's where Alembic has one.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use retort_engine::rollout::{Share, Waves};

use crate::logging::LogFormat;

/// retort: Alembic-compatible schema migrations for many databases at once.
#[derive(Debug, Parser)]
#[command(name = "retort", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the subcommand.
#[derive(Debug, Args)]
pub struct Global {
    /// Config file.
    #[arg(short = 'c', long = "config", global = true, env = "RETORT_CONFIG", default_value = "retort.toml")]
    pub config: PathBuf,
    /// One database without a config file: its URL (it is the database `default`;
    /// the config file is not read). Needs --script-location.
    #[arg(long, global = true, env = "RETORT_URL", value_name = "URL", hide_env_values = true)]
    pub url: Option<String>,
    /// With --url: the folder holding `versions/`.
    #[arg(long = "script-location", global = true, env = "RETORT_SCRIPT_LOCATION", value_name = "DIR")]
    pub script_location: Option<String>,
    /// With --url: the version table (default `alembic_version_default`).
    #[arg(long = "version-table", global = true, env = "RETORT_VERSION_TABLE", value_name = "NAME")]
    pub version_table: Option<String>,
    /// Databases, fleets or single targets (`fleet:tenant`) to act on; repeatable,
    /// `*` and `?` globs. Default: every database and fleet.
    #[arg(short = 'd', long = "database", global = true)]
    pub databases: Vec<String>,
    /// An Alembic config section (`alembic.ini` environments, Alembic's `-n`):
    /// selects that database, `alembic` being `default`.
    #[arg(short = 'n', long = "name", global = true)]
    pub name: Option<String>,
    /// How many targets run at once.
    #[arg(long, global = true)]
    pub jobs: Option<usize>,
    /// Run only shard K of N (1-based), split by a stable hash of the target name.
    #[arg(long, global = true, env = "RETORT_SHARD", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Run shard JOB_COMPLETION_INDEX+1 of N, JOB_COMPLETION_INDEX being the
    /// 0-based index a Kubernetes Indexed Job gives each pod (no shell needed).
    #[arg(long = "shard-count", global = true, env = "RETORT_SHARD_COUNT", value_name = "N", conflicts_with = "shard")]
    pub shard_count: Option<u32>,
    /// Stop starting new targets after the first failure (running ones finish).
    #[arg(long = "fail-fast", global = true, conflicts_with = "max_failures")]
    pub fail_fast: bool,
    /// upgrade/downgrade: run the first N targets as a canary wave; any failure
    /// there stops the run (overrides `[rollout] canary`; 0: none).
    #[arg(long, global = true, value_name = "N")]
    pub canary: Option<usize>,
    /// upgrade/downgrade: run in waves, each a count or a share of all the targets
    /// counted from the start, e.g. `1,10%,100%`; a wave starts only when the one
    /// before ended within --max-failures.
    #[arg(long, global = true, value_name = "LIST", value_parser = parse_waves)]
    pub waves: Option<Waves>,
    /// Start no more targets once more than N (or N% of the targets) failed;
    /// running ones finish, the rest are skipped.
    #[arg(long = "max-failures", global = true, value_name = "N|N%", value_parser = parse_share)]
    pub max_failures: Option<Share>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print only failures and results (no progress lines, notes or summary), as
    /// Alembic's `-q`.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Diagnostic logs on stderr: a level for retort's own events (error, warn,
    /// info, debug, trace) or a full filter (`info,sqlx=debug`). Default: warnings.
    /// `RETORT_LOG` wins over it.
    #[arg(long = "log", global = true, value_name = "LEVEL|FILTER")]
    pub log: Option<String>,
    /// upgrade, downgrade, stamp, resolve, ensure-version: also write the run's
    /// report to FILE when it ends, whatever `--format` says: `.json` the JSON
    /// document, `.html` a self-contained page. Repeatable.
    #[arg(long = "report", global = true, value_name = "FILE")]
    pub reports: Vec<PathBuf>,
    /// How log lines are written.
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn parse_waves(text: &str) -> Result<Waves, String> {
    text.parse()
}

fn parse_share(text: &str) -> Result<Share, String> {
    text.parse()
}

fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{text}` is not a shard; write K/N with 1 <= K <= N, e.g. 2/3");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people: a live board on a terminal, plain lines when piped.
    Text,
    /// One JSON document at the end.
    Json,
    /// One JSON event per line as it happens, then a summary line.
    Ndjson,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold retort.toml and two SQLite databases with example histories.
    Init(InitArgs),
    /// Create a new revision file.
    Revision(RevisionArgs),
    /// Create a revision that merges several heads.
    Merge(MergeArgs),
    /// Show the current script heads.
    Heads(HeadsArgs),
    /// Show branch points.
    Branches(VerboseArgs),
    /// List revisions, newest first.
    History(HistoryArgs),
    /// Show revisions in detail.
    Show(ShowArgs),
    /// Show the revisions each database is at.
    Current(CurrentArgs),
    /// For every target: current heads, script heads and pending revisions.
    Status(StatusArgs),
    /// Find branching and deployment mistakes in the histories (for CI; reads files only).
    Check,
    /// Rehearse each history on a scratch database: every revision up, down and up,
    /// every merge in each order of its branches, comparing schemas.
    Test,
    /// Upgrade to a later revision.
    Upgrade(RunArgs),
    /// Revert to an earlier revision.
    Downgrade(DowngradeArgs),
    /// Set the version table without running migrations.
    Stamp(StampArgs),
    /// Settle a revision that a stopped run left part-way (see `retort current`).
    Resolve(ResolveArgs),
    /// Convert an Alembic `.py` history into `.sql` revisions (needs `-c alembic.ini`).
    Convert(ConvertArgs),
    /// Create the version table if it does not exist.
    #[command(alias = "ensure_version")]
    EnsureVersion,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in.
    #[arg(default_value = ".")]
    pub directory: PathBuf,
}

#[derive(Debug, Args)]
pub struct RevisionArgs {
    /// Message of the revision.
    #[arg(short, long, default_value = "")]
    pub message: String,
    /// Parent revision spec (default: head).
    #[arg(long, allow_hyphen_values = true)]
    pub head: Option<String>,
    /// Allow a parent that is not a head, starting a new branch.
    #[arg(long)]
    pub splice: bool,
    /// Branch label for the new revision (repeatable).
    #[arg(long = "branch-label")]
    pub branch_labels: Vec<String>,
    /// Revisions or labels the new revision depends on (repeatable or comma-separated).
    #[arg(long = "depends-on", value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// Use this revision id instead of a random one.
    #[arg(long = "rev-id")]
    pub rev_id: Option<String>,
    /// Mark the revision `Transactional: false` (e.g. CREATE INDEX CONCURRENTLY).
    #[arg(long = "no-transaction")]
    pub no_transaction: bool,
    /// Write the file into this one of the history's version locations.
    #[arg(long = "version-path")]
    pub version_path: Option<PathBuf>,
    /// Rename a column without downtime: write expand, backfill and contract
    /// revisions for `TABLE.OLD:NEW` in the selected target's dialect.
    #[arg(long = "rename-column", value_name = "TABLE.OLD:NEW",
          conflicts_with_all = ["head", "splice", "branch_labels", "depends_on", "rev_id", "no_transaction", "version_path"])]
    pub rename_column: Option<String>,
    /// With --rename-column: the column's type (default: read from the database).
    #[arg(long = "column-type", requires = "rename_column")]
    pub column_type: Option<String>,
    /// With --rename-column: rows per committed batch of the backfill.
    #[arg(long = "batch-size", default_value_t = 1000, requires = "rename_column")]
    pub batch_size: u32,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Revisions to merge (default: heads).
    pub revisions: Vec<String>,
    #[arg(short, long, default_value = "")]
    pub message: String,
    #[arg(long = "branch-label")]
    pub branch_labels: Vec<String>,
    #[arg(long = "rev-id")]
    pub rev_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerboseArgs {
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct CurrentArgs {
    #[arg(short, long)]
    pub verbose: bool,
    /// Exit 1 when a database has revisions to apply (not at heads), as Alembic's flag.
    #[arg(long = "check-heads")]
    pub check_heads: bool,
}

#[derive(Debug, Args)]
pub struct HeadsArgs {
    #[arg(short, long)]
    pub verbose: bool,
    /// Treat dependencies as down revisions (only heads nothing depends on).
    #[arg(long = "resolve-dependencies")]
    pub resolve_dependencies: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Range `[start]:[end]`, e.g. `-r base:head`, `-r -3:`, `-r current:`.
    #[arg(short = 'r', long = "rev-range", allow_hyphen_values = true)]
    pub range: Option<String>,
    #[arg(short, long)]
    pub verbose: bool,
    /// Mark the revisions the database is at.
    #[arg(short = 'i', long = "indicate-current")]
    pub indicate_current: bool,
    /// List what each target's audit trail records: every step applied, oldest first.
    #[arg(long, conflicts_with_all = ["range", "indicate_current"])]
    pub applied: bool,
    /// Draw the revision graph instead: branches, merges, labels, `depends_on` as
    /// dashed arrows, as Mermaid (the default) or Graphviz DOT text.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "mermaid",
          conflicts_with_all = ["range", "indicate_current", "applied", "verbose"])]
    pub graph: Option<GraphNotation>,
}

/// How `history --graph` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphNotation {
    /// A Mermaid flowchart (GitHub and GitLab draw ```` ```mermaid ```` blocks).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Revision specs.
    #[arg(required = true, allow_negative_numbers = true)]
    pub revisions: Vec<String>,
    /// Accepted for Alembic habits; `show` always prints the full entry.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit 1 when a target has revisions to apply (a CI gate); `--check` too.
    #[arg(long = "exit-code", visible_alias = "check")]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Target revision spec.
    #[arg(default_value = "heads", allow_hyphen_values = true)]
    pub revision: String,
    /// Print the SQL instead of running it (`from:to` sets the starting point).
    #[arg(long)]
    pub sql: bool,
    /// Say what each target would run, reading its version rows on a read-only
    /// session: no lock, nothing created.
    #[arg(long = "dry-run", conflicts_with = "sql")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// Target revision spec.
    #[arg(allow_hyphen_values = true)]
    pub revision: String,
    /// Print the SQL instead of running it (`from:to` sets the starting point).
    #[arg(long)]
    pub sql: bool,
    /// Say what each target would run, reading its version rows on a read-only
    /// session: no lock, nothing created.
    #[arg(long = "dry-run", conflicts_with = "sql")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StampArgs {
    /// Revision specs to stamp.
    #[arg(required = true, allow_negative_numbers = true)]
    pub revisions: Vec<String>,
    /// Print the SQL instead of running it.
    #[arg(long)]
    pub sql: bool,
    /// Empty the version table first.
    #[arg(long)]
    pub purge: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("how").required(true).args(["applied", "not_applied", "abandon"])))]
pub struct ResolveArgs {
    /// The part-way revision (id, prefix or label).
    pub revision: String,
    /// The statement that was running when the run stopped took effect: count it done.
    #[arg(long)]
    pub applied: bool,
    /// It did not take effect: the next run runs it again.
    #[arg(long = "not-applied")]
    pub not_applied: bool,
    /// Forget the revision's progress; the next run starts it at its first statement
    /// (statements that ran stay applied).
    #[arg(long)]
    pub abandon: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// A new folder for the converted history (`<dir>/versions/*.sql`).
    pub out: PathBuf,
    /// The SQL dialect to render: postgresql, mysql, mariadb, sqlite or mssql.
    #[arg(long)]
    pub dialect: String,
    /// The Python that has the project's Alembic installed.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}
