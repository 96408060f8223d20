//! Node processes: started in their own process group (so a Ctrl-C in the launcher's terminal
//! reaches the launcher, which then stops them in order), logging to a file, tracked by pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// `n` distinct free TCP ports on 127.0.0.1, none of them in `taken` (the kernel's picks, all
/// held until every one is chosen; free when this returns).
///
/// # Errors
/// No port could be bound.
pub fn free_ports(n: usize, taken: &[u16]) -> Result<Vec<u16>> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
        let port = l.local_addr()?.port();
        if !taken.contains(&port) && !ports.contains(&port) {
            ports.push(port);
        }
        held.push(l);
        if held.len() > n + 64 {
            anyhow::bail!("could not find {n} free ports on 127.0.0.1");
        }
    }
    Ok(ports)
}

/// An exclusive lock on a file, held for as long as this value lives (and released by the kernel
/// when the process ends, however it ends). Nodes started with `--owner-lock PATH` wait on it and
/// stop when it goes: that is how `run` owns its nodes.
#[derive(Debug)]
pub struct OwnerLock {
    path: PathBuf,
    // Opened with O_CLOEXEC (as std opens every file), so no child inherits the lock.
    _file: File,
}

impl OwnerLock {
    /// Takes the lock on `path` (created if missing).
    ///
    /// # Errors
    /// The file cannot be created, or another process holds the lock (another launcher owns a
    /// testnet there).
    pub fn acquire(path: &Path) -> Result<OwnerLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(OwnerLock {
                path: path.to_path_buf(),
                _file: file,
            }),
            Err(TryLockError::WouldBlock) => {
                anyhow::bail!("{} is locked: another cairn-testnet run owns this testnet", path.display())
            }
            Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }

    /// The locked file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Starts `cairn` with `args`, appending its output to `log`; returns the pid.
///
/// # Errors
/// The log cannot be opened or the program cannot be started.
pub fn spawn(cairn: &Path, args: &[String], log: &Path) -> Result<u32> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening the log {}", log.display()))?;
    let err = out.try_clone()?;
    let child = Command::new(cairn)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", cairn.display()))?;
    Ok(child.id())
}

/// Collects the exit status of `pid` if it is a child of ours that ended (so it is not left a
/// zombie that still answers `kill(pid, 0)`).
fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG on a pid; fails harmlessly (ECHILD) if it is not our child.
    unsafe {
        libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG);
    }
}

/// Whether `pid` is a running `cairn` process for `datadir` (a pid reused by another program
/// after a reboot does not count).
pub fn alive(pid: u32, datadir: &Path) -> bool {
    reap(pid);
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid as libc::pid_t, 0) } != 0 {
        return false;
    }
    if is_zombie(pid) {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmd) => {
            let want = datadir.as_os_str().as_encoded_bytes();
            // Empty while the process execs or exits (a finished one is gone or a zombie).
            cmd.is_empty() || cmd.split(|b| *b == 0).any(|arg| arg == want) || is_our_fork(pid)
        }
        // No /proc: trust the pid.
        Err(_) => true,
    }
}

/// Whether `pid` has ended but not been reaped yet (state `Z` in /proc; false without /proc).
pub fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
}

/// Whether `pid` is a child of ours that has not called exec yet (it still runs our program).
fn is_our_fork(pid: u32) -> bool {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() } as u32;
    let parent_is_me = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_string()))
        .and_then(|rest| rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()))
        == Some(me);
    parent_is_me && std::fs::read_link(format!("/proc/{pid}/exe")).ok() == std::fs::read_link("/proc/self/exe").ok()
}

/// What /proc says of `pid`, for error messages.
pub fn describe(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_else(|e| format!("no stat: {e}"));
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map_or_else(|e| format!("no cmdline: {e}"), |c| String::from_utf8_lossy(&c).replace('\0', " "));
    format!("pid {pid}: {}; {}", stat.trim(), cmd.trim())
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: plain kill(2).
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Waits up to `timeout` for `pid` to end; true if it did.
pub fn wait_gone(pid: u32, datadir: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !alive(pid, datadir) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a node: SIGTERM (a clean shutdown), then SIGKILL if it is still running after `grace`.
/// Returns true if it stopped cleanly.
pub fn stop(pid: u32, datadir: &Path, grace: Duration) -> bool {
    if !alive(pid, datadir) {
        return true;
    }
    signal(pid, libc::SIGTERM);
    if wait_gone(pid, datadir, grace) {
        return true;
    }
    signal(pid, libc::SIGKILL);
    wait_gone(pid, datadir, Duration::from_secs(10));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_process_is_alive_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        // `sleep` with the datadir as an argument stands in for a node.
        let datadir = dir.path().join("node1");
        let pid = spawn(
            Path::new("/bin/sh"),
            &["-c".into(), "sleep 30; true".into(), datadir.display().to_string()],
            &log,
        )
        .unwrap();
        assert!(alive(pid, &datadir));
        // Until it has exec'd, our own fork counts as alive for any datadir; wait for the exec.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| !c.starts_with(b"/bin/sh")) {
            assert!(std::time::Instant::now() < deadline, "sh never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(alive(pid, &datadir));
        assert!(!alive(pid, &dir.path().join("other")), "another datadir is another node");
        assert!(stop(pid, &datadir, Duration::from_secs(5)), "sh ends on SIGTERM");
        assert!(!alive(pid, &datadir));
    }

    #[test]
    fn an_owner_lock_is_held_once_and_released_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owner.lock");
        let lock = OwnerLock::acquire(&path).unwrap();
        assert_eq!(lock.path(), path);
        let e = OwnerLock::acquire(&path).unwrap_err().to_string();
        assert!(e.contains("another cairn-testnet run"), "{e}");
        // What a node does: a shared lock is refused while the owner lives, granted after.
        let probe = File::open(&path).unwrap();
        assert!(matches!(probe.try_lock_shared(), Err(TryLockError::WouldBlock)));
        drop(lock);
        probe.try_lock_shared().unwrap();
    }

    #[test]
    fn free_ports_are_distinct_and_avoid_taken_ones() {
        let first = free_ports(2, &[]).unwrap();
        assert_ne!(first[0], first[1]);
        let more = free_ports(3, &first).unwrap();
        assert!(more.iter().all(|p| !first.contains(p)));
    }
}
