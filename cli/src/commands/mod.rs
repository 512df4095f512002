//! One module per command family; each turns arguments into one library call and
//! renders the result.

mod author;
mod check;
mod convert;
mod dry_run;
mod graph;
mod init;
mod rehearse;
mod run;

use anyhow::{Result, bail};
use clap::CommandFactory;
use retort_config::Overrides;
use retort_engine::executor::Action;
use retort_ops::{Choice, Workspace};

use crate::args::{Cli, Command, Global};
use crate::output::Exit;
use crate::registry;

/// The workspace the global flags describe: the config, the built-in drivers, the
/// `-d` selection (Alembic's `-n` section too, `alembic` being `default`), `--shard`.
fn workspace(global: &Global) -> Result<Workspace> {
    let mut patterns = global.databases.clone();
    if let Some(section) = &global.name {
        patterns.push(if section == "alembic" { "default".to_string() } else { section.clone() });
    }
    let choice = Choice { patterns, shard: shard(global)? };
    let overrides = Overrides { jobs: global.jobs };
    let config = match (&global.url, &global.script_location) {
        (Some(url), Some(scripts)) => {
            let here = std::env::current_dir()?;
            retort_config::single(url, scripts, global.version_table.as_deref(), here, &overrides)?
        }
        (Some(_), None) => bail!("--url needs --script-location DIR (the folder holding versions/)"),
        (None, Some(_)) => bail!("--script-location goes with --url; in a config file it is `script_location`"),
        (None, None) => {
            if global.version_table.is_some() {
                bail!("--version-table goes with --url; in a config file it is `version_table`");
            }
            retort_config::load(&global.config, &overrides)?
        }
    };
    Ok(Workspace::new(config, registry::built_in(), &choice)?)
}

/// `--shard K/N`, or `--shard-count N` with the pod's `JOB_COMPLETION_INDEX`.
fn shard(global: &Global) -> Result<Option<(u32, u32)>> {
    let Some(n) = global.shard_count else { return Ok(global.shard) };
    if n == 0 {
        bail!("--shard-count must be at least 1");
    }
    let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
        anyhow::anyhow!("--shard-count {n} takes the shard from JOB_COMPLETION_INDEX, which is not set")
    })?;
    match index.trim().parse::<u32>() {
        Ok(i) if i < n => Ok(Some((i + 1, n))),
        _ => bail!("JOB_COMPLETION_INDEX `{index}` is not a shard index below --shard-count {n}"),
    }
}

/// Runs the parsed command; returns the exit code.
pub async fn dispatch(cli: Cli) -> Result<Exit> {
    let global = &cli.global;
    run::check_reports(&global.reports, &cli.command)?;
    run::check_staging(global, &cli.command)?;
    match &cli.command {
        Command::Init(args) => init::exec(global, args),
        Command::Revision(args) => author::revision(global, args).await,
        Command::Merge(args) => author::merge(global, args),
        Command::Heads(args) => graph::heads(global, args),
        Command::Branches(args) => graph::branches(global, args),
        Command::History(args) => graph::history(global, args).await,
        Command::Show(args) => graph::show(global, args),
        Command::Current(args) => run::current(global, args).await,
        Command::Status(args) => run::status(global, args.exit_code).await,
        Command::Check => check::exec(global).await,
        Command::Test => rehearse::exec(global).await,
        Command::Upgrade(args) if args.dry_run => dry_run::exec(global, Action::Upgrade(args.revision.clone())).await,
        Command::Upgrade(args) => run::upgrade(global, &args.revision, args.sql).await,
        Command::Downgrade(args) if args.dry_run => {
            dry_run::exec(global, Action::Downgrade(args.revision.clone())).await
        }
        Command::Downgrade(args) => run::downgrade(global, &args.revision, args.sql).await,
        Command::Stamp(args) => run::stamp(global, args).await,
        Command::Resolve(args) => run::resolve(global, args).await,
        Command::Convert(args) => convert::exec(global, args),
        Command::EnsureVersion => run::ensure_version(global).await,
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "retort", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
    }
}
