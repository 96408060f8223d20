//! One shutdown signal for the whole node: SIGINT, SIGTERM, SIGHUP, the `stop` RPC and the end of
//! the owner's lock (`--owner-lock`) trigger it; the RPC server, the miner and the chain service
//! watch it.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A cloneable shutdown flag with an async wait.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Shutdown {
    /// Requests shutdown.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether shutdown was requested.
    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits until shutdown is requested.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }

    /// Triggers on SIGINT, SIGTERM or SIGHUP (spawned on the runtime). bitcoind takes SIGHUP to
    /// reopen debug.log; this node logs to stderr, so there is nothing to reopen, and SIGHUP's
    /// default action would end the process without closing RocksDB: it is a clean stop instead
    /// (the terminal it ran in closed).
    pub fn trigger_on_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let this = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
                _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
                _ = hup.recv() => tracing::info!("SIGHUP received, shutting down"),
            }
            this.trigger();
        });
        Ok(())
    }

    /// Triggers when no process holds `path` locked any more (see `--owner-lock`).
    ///
    /// A thread of its own blocks in `flock(LOCK_SH)`, which the kernel grants the moment the
    /// owner's exclusive lock goes, whether the owner unlocked, exited or was killed: no polling,
    /// and no dependence on which of the owner's threads started us (as a parent-death signal
    /// would have). The thread is detached; it ends with the process.
    ///
    /// # Errors
    /// The file cannot be opened, or nobody holds it locked now (the owner is already gone).
    pub fn trigger_when_unlocked(&self, path: &Path) -> std::io::Result<()> {
        let file = File::open(path)?;
        match file.try_lock_shared() {
            Ok(()) => {
                return Err(std::io::Error::other(format!(
                    "nobody holds the owner lock {}: the process that started this node is gone",
                    path.display()
                )));
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let this = self.clone();
        let shown = path.display().to_string();
        std::thread::Builder::new().name("owner-lock".into()).spawn(move || {
            match file.lock_shared() {
                Ok(()) => tracing::info!(lock = %shown, "the owner released its lock (it ended), shutting down"),
                Err(e) => tracing::error!(lock = %shown, error = %e, "waiting on the owner lock failed, shutting down"),
            }
            this.trigger();
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_end_of_the_owner_lock_triggers_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owner.lock");
        let s = Shutdown::default();
        std::fs::write(&path, b"").unwrap();
        // Nobody holds it: refused at once.
        assert!(s.trigger_when_unlocked(&path).is_err());
        let owner = File::open(&path).unwrap();
        owner.try_lock().unwrap();
        s.trigger_when_unlocked(&path).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!s.is_triggered(), "the owner still holds the lock");
        drop(owner);
        tokio::time::timeout(Duration::from_secs(10), s.wait())
            .await
            .expect("shutdown once the owner's lock is gone");
    }
}
