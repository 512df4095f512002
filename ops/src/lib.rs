//! retort-ops: retort as a library. Every command is one call here, from a
//! [`Workspace`] (the validated config, the drivers on offer, a selection) to a
//! typed report; the `retort` binary parses arguments, makes that call and
//! renders the report, and a deploy program can do the same (`examples/`).
//!
//! Modules: [`workspace`] loads the config and turns the selection into targets
//! (databases, fleet tenants from lists, files or `names_query`, shards);
//! [`select`] is the `-d` pattern language; [`drivers`] maps URL schemes to
//! drivers; [`run`] runs actions on targets (every target checked before any is
//! touched); [`dry_run`] says what they would run, read-only; [`offline`] renders `--sql`; [`listing`] answers the graph commands;
//! [`authoring`] writes new revisions; [`convert`] turns an Alembic history into
//! `.sql` revisions; [`report`] holds the typed reports, [`html_report`] draws
//! one as a page.
//! `docs/architecture.md` shows the whole path of a target.
#![forbid(unsafe_code)]

pub mod authoring;
pub mod check;
pub mod convert;
pub mod drivers;
pub mod dry_run;
pub mod error;
pub mod expand_contract;
pub mod html_report;
pub mod listing;
pub mod offline;
pub mod rehearse;
pub mod report;
pub mod run;
pub mod select;
pub mod workspace;

pub use drivers::Drivers;
pub use error::{Error, Result};
pub use run::{Control, RunReport};
pub use workspace::{Choice, Workspace};
