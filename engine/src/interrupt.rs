//! A run's stop signal: set once (SIGINT, SIGTERM, or a deploy program deciding to
//! stop), seen by every target. The fleet runner starts no new target, the executor
//! starts no new revision or statement, and a statement already running on a server
//! is cancelled through its connection's [`crate::driver::Canceller`].

use std::sync::Arc;

use tokio::sync::watch;

/// Shared between whoever stops a run and the run itself; clones see the same flag.
#[derive(Debug, Clone)]
pub struct Interrupt {
    flag: Arc<watch::Sender<bool>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt { flag: Arc::new(watch::Sender::new(false)) }
    }
}

impl Interrupt {
    /// Asks every run holding a clone to stop.
    pub fn trigger(&self) {
        self.flag.send_replace(true);
    }

    /// Whether [`Interrupt::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        *self.flag.borrow()
    }

    /// Resolves once the interrupt is triggered (at once if it already was).
    pub async fn triggered(&self) {
        let mut rx = self.flag.subscribe();
        let _ = rx.wait_for(|set| *set).await;
    }
}

#[cfg(test)]
mod tests {
    use super::Interrupt;

    #[tokio::test]
    async fn clones_share_the_flag() {
        let interrupt = Interrupt::default();
        let seen = interrupt.clone();
        assert!(!seen.is_triggered());
        let waiter = tokio::spawn(async move { seen.triggered().await });
        interrupt.trigger();
        waiter.await.unwrap();
        assert!(interrupt.is_triggered());
    }
}
