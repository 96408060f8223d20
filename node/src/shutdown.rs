//! One shutdown signal for the whole node: SIGINT, SIGTERM, SIGHUP, the `stop` RPC and the end of
//! the owner's lock (`--owner-lock`) trigger it; the RPC server, the miner and the chain service
//! watch it.
//!
//! Supervision: a long-lived task or thread that panics, or ends while the node runs, is a fatal
//! error ([`Shutdown::fatal`]): it is logged, the node shuts down as on SIGTERM and exits non-zero.
//! A node is never left half alive (say, answering RPC with its network or chain thread dead).
//! Should the orderly shutdown itself hang after a fatal error, a watchdog ends the process
//! after [`FATAL_GRACE`].

use std::any::Any;
use std::fs::{File, TryLockError};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

/// How long an orderly shutdown may take after a fatal error before the process is ended.
pub const FATAL_GRACE: Duration = Duration::from_secs(30);

/// Exit status of a node that ended on a fatal error (EX_SOFTWARE).
pub const FATAL_EXIT: i32 = 70;

/// A cloneable shutdown flag with an async wait.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
    fatal: Arc<OnceLock<String>>,
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".to_string())
}

impl Shutdown {
    /// Stops the node because of a fatal error: logs it and records the first one (the node then
    /// exits non-zero).
    pub fn fatal(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::error!(%reason, "fatal error, stopping the node");
        let _ = self.fatal.set(reason);
        self.trigger();
    }

    /// After a fatal error, ends the process if the orderly shutdown has not within
    /// [`FATAL_GRACE`] (a task that panicked may have left others waiting on it forever).
    pub fn start_fatal_watchdog(&self) {
        if self.fatal_reason().is_none() {
            return;
        }
        let _ = std::thread::Builder::new().name("fatal-watchdog".into()).spawn(|| {
            std::thread::sleep(FATAL_GRACE);
            tracing::error!(secs = FATAL_GRACE.as_secs(), "the node did not stop after a fatal error; exiting");
            std::process::exit(FATAL_EXIT);
        });
    }

    /// The fatal error that stopped the node, if one did.
    pub fn fatal_reason(&self) -> Option<&str> {
        self.fatal.get().map(String::as_str)
    }

    /// Runs `body` (the whole life of a long-lived thread); a panic in it is a fatal error
    /// naming `what`, then goes on unwinding (so the thread's join sees it too).
    pub fn guard<T>(&self, what: &str, body: impl FnOnce() -> T) -> T {
        match std::panic::catch_unwind(AssertUnwindSafe(body)) {
            Ok(v) => v,
            Err(payload) => {
                self.fatal(format!("{what} panicked: {}", panic_message(payload.as_ref())));
                std::panic::resume_unwind(payload)
            }
        }
    }

    /// Spawns a long-lived task that must run until shutdown: if it panics, or ends before
    /// shutdown was requested, that is a fatal error naming `what`.
    pub fn spawn_supervised(
        &self,
        what: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.supervise(what, tokio::spawn(task))
    }

    /// Watches a task spawned elsewhere (by a library that returns its handle), as
    /// [`Shutdown::spawn_supervised`] does.
    pub fn supervise(&self, what: &'static str, handle: tokio::task::JoinHandle<()>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            match handle.await {
                Ok(()) if this.is_triggered() => {}
                Ok(()) => this.fatal(format!("{what} ended while the node was running")),
                Err(e) if e.is_panic() => this.fatal(format!("{what} panicked: {}", panic_message(e.into_panic().as_ref()))),
                Err(e) => this.fatal(format!("{what} was cancelled: {e}")),
            }
        })
    }

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

    #[tokio::test]
    async fn a_panicking_task_stops_the_node_with_the_reason() {
        let s = Shutdown::default();
        let watcher = s.spawn_supervised("the router", async { panic!("index out of bounds") });
        tokio::time::timeout(Duration::from_secs(10), s.wait()).await.expect("shutdown");
        watcher.await.unwrap();
        let reason = s.fatal_reason().unwrap();
        assert!(reason.contains("the router panicked: index out of bounds"), "{reason}");

        // A task that just ends while the node runs is fatal too; after shutdown it is not.
        let s = Shutdown::default();
        s.supervise("the event loop", tokio::spawn(async {})).await.unwrap();
        assert!(
            s.fatal_reason()
                .unwrap()
                .contains("the event loop ended while the node was running")
        );
        let s = Shutdown::default();
        s.trigger();
        s.spawn_supervised("the sync driver", async {}).await.unwrap();
        assert_eq!(s.fatal_reason(), None);
    }

    #[test]
    fn a_panicking_thread_stops_the_node_and_still_unwinds() {
        let s = Shutdown::default();
        let s2 = s.clone();
        let joined = std::thread::spawn(move || s2.guard("the chain service", || -> u32 { panic!("store poisoned") })).join();
        assert!(joined.is_err(), "the panic reaches the thread's join");
        assert!(s.is_triggered());
        assert!(s.fatal_reason().unwrap().contains("the chain service panicked: store poisoned"));
        // The first fatal error is the one reported.
        s.fatal("later");
        assert!(s.fatal_reason().unwrap().contains("store poisoned"));
        assert_eq!(Shutdown::default().guard("x", || 5), 5);
    }

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
