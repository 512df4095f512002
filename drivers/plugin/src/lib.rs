//! retort-plugin-host: drivers loaded at run time from shared libraries that
//! speak retort's C ABI (`retort-plugin-abi`, `docs/plugins.md`).
//!
//! [`load`] opens a library only after checking the file (a regular file no other
//! user may write), then checks, before any other call, the entry symbol, the ABI
//! major version, the table's size and its required entries: each failure is one
//! line naming the file and, where they differ, both versions. A loaded plugin is
//! a [`PluginDriver`], an engine `Driver` like the built-in ones; its calls run on
//! tokio's blocking pool, and one plugin serves every target of its schemes at
//! once. Libraries stay loaded until the process ends.

mod conn;
mod driver;
mod load;
mod object;

pub use driver::PluginDriver;
pub use load::{LoadError, load};
