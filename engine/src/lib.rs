//! retort-engine: the one place where a migration run is sequenced, and the seam
//! to databases.
//!
//! A plan from `retort-history` becomes statements ([`split`] cuts revision
//! bodies in each dialect's way, [`statement`] knows what each statement does),
//! which the [`executor`] runs on one database through a [`driver`], recording
//! [`progress`] so that a killed run resumes; the [`fleet`] runner runs many
//! targets at once, and an [`interrupt`] stops them cleanly. [`session`] opens a
//! target's session the same way for every driver. [`convert`] turns an
//! Alembic history's offline SQL into retort revisions.
//! `docs/architecture.md` shows where this crate sits among the others.
#![forbid(unsafe_code)]

pub mod audit;
pub mod convert;
pub mod driver;
pub mod executor;
pub mod fleet;
pub mod interrupt;
pub mod progress;
pub mod rollout;
pub mod schema;
pub mod session;
pub mod split;
pub mod statement;
