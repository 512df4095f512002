//! The config loader on `retort.toml` text. Properties:
//! - text the `toml` crate refuses is refused (a differential against the
//!   reference TOML parser: nothing half-read is ever used);
//! - a password written in a URL of the input never appears in the error text;
//! - what loads has a name, a URL and a non-empty version table for every target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retort_config::{Overrides, load};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("retort.toml");
    std::fs::write(&path, text).expect("write");
    let loaded = load(&path, &Overrides::default());
    let reference = text.parse::<toml::Table>();
    match &loaded {
        Ok(config) => {
            assert!(reference.is_ok(), "the toml crate refuses this, retort loaded it: {:?}", reference.err());
            for db in &config.databases {
                assert!(!db.name.is_empty() && !db.connection.url.is_empty(), "a target without name or URL");
                assert!(!db.version_table.name.is_empty(), "{}: empty version table", db.name);
            }
        }
        Err(error) => {
            let message = error.to_string();
            for password in passwords(text) {
                assert!(!message.contains(&format!(":{password}@")), "password {password:?} in: {message}");
            }
        }
    }
});

/// The passwords of `scheme://user:password@host` URLs in `text` (4+ word characters).
fn passwords(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("://") {
        let rest = &text[start + 3..];
        let Some(at) = rest.find('@') else { continue };
        let userinfo = &rest[..at];
        if let Some((_, password)) = userinfo.split_once(':')
            && password.len() >= 4
            && password.chars().all(|c| c.is_ascii_alphanumeric())
        {
            found.push(password);
        }
    }
    found
}
