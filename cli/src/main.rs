//! The `retort` binary: parses arguments, runs one command, renders its result
//! and maps it to an exit code (0 ok, 1 a target failed, 2 bad usage, config or
//! scripts, 3 lock not acquired in time, 130/143 interrupted by SIGINT/SIGTERM).
//! No migration logic lives here.
#![forbid(unsafe_code)]

/// `println!` for results: when the reader went away (`retort history | head`) the
/// process ends quietly; any other write error (a full disk) exits 1, never 0.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            crate::output::stdout_failed(e);
        }
    }};
}

/// `print!` with the same behaviour as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            crate::output::stdout_failed(e);
        }
    }};
}

mod args;
mod board;
mod commands;
mod logging;
mod output;
mod registry;
mod signals;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // ring is the one TLS crypto provider of every driver (vendor/README.md says
    // how tiberius was kept from linking aws-lc-rs); installed process-wide so
    // that no driver ever has to choose.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = args::Cli::parse();
    let format = cli.global.format;
    let env = std::env::var("RETORT_LOG").ok();
    match logging::filter(cli.global.log.as_deref(), env.as_deref(), cli.global.quiet) {
        Ok(filter) => logging::install(filter, cli.global.log_format),
        Err(e) => {
            output::print_error(format, &anyhow::anyhow!("{e}"));
            return ExitCode::from(output::Exit::Usage as u8);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) => {
            output::print_error(format, &error);
            ExitCode::from(output::Exit::Usage as u8)
        }
    }
}
