//! One apply at a time per plan: an exclusive `flock` on a lock file that holds the holder's pid,
//! host and start time.
//!
//! The kernel holds the lock for the holder's open file and releases it when the holder exits,
//! however it exits (a SIGKILL included), so a dead holder's lock is free at once: there is no
//! stale-lock takeover to race on. The file itself is never removed (a process could otherwise
//! lock a deleted file while another locks its replacement); a released lock is an empty file.
//! A lock file left with a holder's details but not locked was left by a process that died: it is
//! taken over, and the previous holder is reported.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub started_at: DateTime<Utc>,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}, started {}", self.pid, self.host, self.started_at.to_rfc3339())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another kmigrate apply holds the lock {path} ({holder})")]
    Held { path: PathBuf, holder: LockInfo },
    #[error("cannot use lock file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A held lock; released (the file emptied, then unlocked) on drop.
#[derive(Debug)]
pub struct PlanLock {
    file: File,
    /// Set when the lock file still named a holder that had died without releasing it.
    pub took_over: Option<LockInfo>,
}

impl PlanLock {
    pub fn acquire(path: &Path) -> Result<PlanLock, LockError> {
        let io = |source| LockError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // The holder writes its details right after locking: give it a moment.
                let holder = (0..50)
                    .find_map(|_| {
                        let h = read_holder(&mut file);
                        if h.is_none() {
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                        h
                    })
                    .unwrap_or(LockInfo { pid: 0, host: "unknown".into(), started_at: Utc::now() });
                return Err(LockError::Held { path: path.to_path_buf(), holder });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let took_over = read_holder(&mut file);
        if let Some(previous) = &took_over {
            tracing::warn!(lock = %path.display(), holder = %previous, "taking over the lock of an apply that ended without releasing it");
        }
        let me = LockInfo { pid: std::process::id(), host: hostname(), started_at: Utc::now() };
        let body = serde_json::to_vec_pretty(&me).expect("lock info serializes");
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(&body))
            .and_then(|_| file.sync_all())
            .map_err(io)?;
        Ok(PlanLock { file, took_over })
    }
}

impl Drop for PlanLock {
    fn drop(&mut self) {
        // Empty first (a released lock names no holder), then unlock (also done by close).
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The holder's details written in the lock file (`None`: empty or unreadable).
fn read_holder(file: &mut File) -> Option<LockInfo> {
    let mut body = Vec::new();
    file.rewind().ok()?;
    file.read_to_end(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_holders_details() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lock");
        let first = PlanLock::acquire(&path).unwrap();
        assert!(first.took_over.is_none());
        match PlanLock::acquire(&path) {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.host, hostname());
            }
            other => panic!("expected the lock to be held, got {other:?}"),
        }
        drop(first);
        assert_eq!(fs::read(&path).unwrap(), b"", "released: the file names no holder");
        let again = PlanLock::acquire(&path).unwrap();
        assert!(again.took_over.is_none());
    }

    /// A process that dies holding the lock (SIGKILL) releases it with its file descriptors; the
    /// next apply takes it and reports the previous holder.
    #[test]
    fn a_lock_of_a_killed_process_is_free_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lock");
        // A child that locks the file and is then killed: `flock --no-fork` becomes `sleep` and
        // keeps holding the lock in that same process.
        let dead = LockInfo { pid: 4242, host: hostname(), started_at: Utc::now() };
        fs::write(&path, serde_json::to_vec(&dead).unwrap()).unwrap();
        let mut child = std::process::Command::new("flock")
            .args(["--no-fork", "--exclusive"])
            .arg(&path)
            .args(["sleep", "30"])
            .spawn()
            .expect("flock(1) from util-linux");
        // Polled without taking it (an acquire that won the race would rewrite the file).
        let locked = || {
            let f = File::open(&path).unwrap();
            match f.try_lock() {
                Ok(()) => f.unlock().map(|_| false).unwrap(),
                Err(_) => true,
            }
        };
        let held = (0..250).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            locked()
        });
        assert!(held, "the child took the lock");
        assert!(
            matches!(PlanLock::acquire(&path), Err(LockError::Held { .. })),
            "held while the child lives"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let lock = PlanLock::acquire(&path);
        assert_eq!(lock.expect("the lock is free once its holder died").took_over, Some(dead));
    }

    /// Ten applies starting at the same moment: exactly one gets the lock.
    #[test]
    fn of_ten_concurrent_takers_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lock");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
        let results: Vec<_> = (0..10)
            .map(|_| {
                let (barrier, path) = (barrier.clone(), path.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let r = PlanLock::acquire(&path);
                    // Hold it until every taker has tried.
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    r.is_ok()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    }
}
