//! SIGINT and SIGTERM during a run: the first asks the run to stop (no new target,
//! revision or statement; running statements cancelled; locks released; summary
//! printed; exit 130 or 143), a second one exits at once.

use std::sync::atomic::{AtomicI32, Ordering};

use retort_engine::interrupt::Interrupt;

use crate::output::Exit;

/// The signal that interrupted the run (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Starts listening; the returned interrupt is triggered by the first signal, and
/// `say` tells the person at the terminal what happens next.
pub fn install(say: impl Fn(&str) + Send + 'static) -> Interrupt {
    let interrupt = Interrupt::default();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else { return };
        loop {
            let number = tokio::select! {
                _ = tokio::signal::ctrl_c() => SIGINT,
                _ = term.recv() => SIGTERM,
            };
            if RECEIVED.swap(number, Ordering::SeqCst) != 0 {
                say("second signal: exiting now; the next run checks what the running statements did");
                std::process::exit(128 + number);
            }
            say(&format!(
                "{}: stopping: running statements are cancelled, locks released; a second signal exits at once",
                if number == SIGINT { "SIGINT" } else { "SIGTERM" }
            ));
            trigger.trigger();
        }
    });
    interrupt
}

/// The exit code for an interrupted run (130 for SIGINT, 143 for SIGTERM), if one was.
pub fn exit_code() -> Option<Exit> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        SIGINT => Some(Exit::Interrupted),
        _ => Some(Exit::Terminated),
    }
}
