//! retort-core: everything retort knows about migration histories, and the one
//! place where a migration run is sequenced.
//!
//! The key design decision: the graph, the spec grammar and the planner are
//! synchronous, free of I/O and Alembic-exact, so they are tested as plain
//! functions on in-memory graphs; the planner's output is data ([`plan::Step`]s with
//! the version-table change each implies), and drivers only execute steps
//! ([`driver::Connection`]). I/O lives in [`script`] (reading files) and
//! [`executor`] (one database, through a driver).
//!
//! Modules, in the order a run uses them: [`script`] reads revision files,
//! [`graph`] validates and indexes them, [`spec`] resolves revision specs,
//! [`plan`] turns a target into steps, [`driver`] is the seam to databases,
//! [`executor`] runs a plan on one database.
#![forbid(unsafe_code)]

pub mod author;
pub mod bitset;
pub mod convert;
pub mod driver;
pub mod error;
pub mod executor;
pub mod fleet;
pub mod graph;
pub mod interrupt;
pub mod plan;
pub mod progress;
#[cfg(test)]
mod proptests;
pub mod revision;
pub mod script;
pub mod spec;
pub mod split;
pub mod statement;
