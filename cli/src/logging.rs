//! Diagnostic logs on stderr, through `tracing`: stdout stays the command's
//! result (a JSON document, a table). Quiet by default (warnings only);
//! `--log LEVEL` raises retort's own events to LEVEL and `RETORT_LOG` takes a
//! full filter (`debug,sqlx::query=info`). The drivers' per-statement events
//! (`sqlx::query`) stay off unless a filter names them. Every line goes through
//! URL scrubbing before it is written, whichever crate logged it, so a password in
//! a URL's user info or query string never reaches a log. See
//! `docs/logging.md`.

use std::io::Write;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event: time, level, target, message, fields.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The filter for a run: `RETORT_LOG` as given, else `--log`'s level for
/// retort's crates (a level or a full filter), else warnings only; `-q` keeps
/// errors only. Per-statement driver events stay off unless named.
pub fn filter(flag: Option<&str>, env: Option<&str>, quiet: bool) -> Result<EnvFilter, String> {
    let directives = match (env.filter(|e| !e.trim().is_empty()), flag) {
        (Some(env), _) => env.to_string(),
        (None, Some(flag)) if is_level(flag) => format!("warn,retort={flag},sqlx::query=off"),
        (None, Some(flag)) if !flag.contains(['=', ',']) => {
            return Err(format!(
                "--log: `{flag}` is not a level (error, warn, info, debug, trace) or a filter (`info,sqlx=debug`)"
            ));
        }
        (None, Some(flag)) => flag.to_string(),
        (None, None) if quiet => "error".to_string(),
        (None, None) => "warn,sqlx::query=off".to_string(),
    };
    EnvFilter::builder().parse(&directives).map_err(|e| format!("log filter `{directives}`: {e}"))
}

fn is_level(text: &str) -> bool {
    ["off", "error", "warn", "info", "debug", "trace"].contains(&text.to_ascii_lowercase().as_str())
}

/// Installs the subscriber (and the bridge from the `log` crate, which rustls and
/// mysql_async use).
pub fn install(filter: EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Scrubbed).with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// stderr, each event's text with its URLs' passwords masked.
struct Scrubbed;

impl<'a> MakeWriter<'a> for Scrubbed {
    type Writer = Scrubbed;

    fn make_writer(&'a self) -> Scrubbed {
        Scrubbed
    }
}

impl Write for Scrubbed {
    /// The formatter hands over one whole event per call.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = retort_url::scrub_urls(&String::from_utf8_lossy(buf));
        std::io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_and_levels_stay_on_retort() {
        assert_eq!(filter(Some("debug"), None, false).unwrap().to_string(), "sqlx::query=off,retort=debug,warn");
        assert_eq!(filter(Some("debug"), Some("trace"), false).unwrap().to_string(), "trace");
        assert_eq!(filter(None, None, false).unwrap().to_string(), "sqlx::query=off,warn");
        assert_eq!(filter(None, None, true).unwrap().to_string(), "error");
        assert_eq!(filter(Some("sqlx=debug"), None, false).unwrap().to_string(), "sqlx=debug");
        assert!(filter(Some("retort=loud"), None, false).unwrap_err().contains("log filter `retort=loud`"));
        assert!(filter(Some("degub"), None, false).unwrap_err().contains("`degub` is not a level"));
    }
}
