//! retort-history: everything retort knows about migration histories, with no
//! database and no async runtime in sight (Cargo enforces it: this crate depends
//! on neither tokio nor async-trait).
//!
//! The graph, the spec grammar and the planner are synchronous, free of I/O and
//! Alembic-exact, so they are tested as plain functions on in-memory graphs; the
//! planner's output is data ([`plan::Step`]s with the version-table change each
//! implies), which `retort-engine` executes on databases.
//!
//! Modules, in the order a run uses them: [`script`] reads revision files,
//! [`graph`] validates and indexes them, [`spec`] resolves revision specs,
//! [`plan`] turns a target into steps; [`author`] writes new revision files;
//! [`draw`] draws a graph as Mermaid or DOT.
//! `docs/architecture.md` shows where this crate sits among the others.
#![forbid(unsafe_code)]

pub mod author;
pub mod bitset;
pub mod draw;
pub mod error;
pub mod graph;
pub mod plan;
#[cfg(test)]
mod proptests;
pub mod revision;
pub mod script;
pub mod spec;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
