//! One apply at a time per plan: an exclusive lock file holding the holder's pid, host and start
//! time. A lock whose process is gone (same host, pid no longer alive) is taken over.

use std::fs::{self, OpenOptions};
use std::io::Write;
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

/// A held lock; released (the file removed) on drop.
#[derive(Debug)]
pub struct PlanLock {
    path: PathBuf,
    /// Set when a stale lock was taken over: whose it was.
    pub took_over: Option<LockInfo>,
}

impl PlanLock {
    pub fn acquire(path: &Path) -> Result<PlanLock, LockError> {
        let io = |source| LockError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let me = LockInfo { pid: std::process::id(), host: hostname(), started_at: Utc::now() };
        let mut took_over = None;
        // Two rounds: the second after removing a stale lock.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let body = serde_json::to_vec_pretty(&me).expect("lock info serializes");
                    f.write_all(&body).and_then(|_| f.sync_all()).map_err(io)?;
                    return Ok(PlanLock { path: path.to_path_buf(), took_over });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = read_holder(path);
                    match holder {
                        Some(h) if !is_stale(&h) => {
                            return Err(LockError::Held { path: path.to_path_buf(), holder: h });
                        }
                        // Stale, or unreadable (a holder killed between create and write).
                        stale => {
                            tracing::warn!(lock = %path.display(), holder = ?stale, "taking over a stale lock");
                            took_over = stale.or(Some(LockInfo {
                                pid: 0,
                                host: "unknown".into(),
                                started_at: Utc::now(),
                            }));
                            fs::remove_file(path).or_else(ignore_not_found).map_err(io)?;
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        // Someone else took the stale lock between our removal and creation.
        match read_holder(path) {
            Some(holder) => Err(LockError::Held { path: path.to_path_buf(), holder }),
            None => Err(io(std::io::Error::other("lock changed hands while taking it over"))),
        }
    }
}

impl Drop for PlanLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn ignore_not_found(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }
}

fn read_holder(path: &Path) -> Option<LockInfo> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// A lock is stale when it was taken on this host by a process that no longer exists. A lock
/// from another host is never presumed stale: we cannot see its processes.
fn is_stale(holder: &LockInfo) -> bool {
    holder.host == hostname() && !process_alive(holder.pid)
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
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
        assert!(!path.exists());
        PlanLock::acquire(&path).unwrap();
    }

    #[test]
    fn a_lock_left_by_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lock");
        // A child that has exited: its pid is dead (and reaped).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = LockInfo { pid: dead, host: hostname(), started_at: Utc::now() };
        fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();
        let lock = PlanLock::acquire(&path).unwrap();
        assert_eq!(lock.took_over, Some(stale));

        // A lock from another host is never presumed stale.
        drop(lock);
        let remote = LockInfo { pid: dead, host: "some-other-host".into(), started_at: Utc::now() };
        fs::write(&path, serde_json::to_vec(&remote).unwrap()).unwrap();
        assert!(matches!(PlanLock::acquire(&path), Err(LockError::Held { .. })));
    }
}
