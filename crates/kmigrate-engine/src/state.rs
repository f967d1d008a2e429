//! The checkpoint: one versioned state file per plan, written atomically on every step
//! transition.
//!
//! The file is JSON (`.kmigrate/<plan>.state.json` beside the plan by default). It records, per
//! step, its status, attempts, timestamps, last error, outputs (the recorded cutover time, the
//! computed offsets, copy positions, ...) and the fingerprint of the step's definition. It never
//! holds a secret: outputs are built from cluster answers and plan fields that are not
//! properties.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kmigrate_dag::Expansion;
use serde::{Deserialize, Serialize};

/// The format of the state file. Bump it on incompatible changes and keep reading old ones.
pub const STATE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    /// Stopped at a gate or a wait that timed out; the next apply continues it.
    Waiting,
    Done,
    Failed,
}

impl std::fmt::Display for StepStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Waiting => "waiting",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub status: StepStatus,
    /// How many times the step was started (including resumes).
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// One line saying what the step did (set when done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the step found or decided; also its progress while it runs (e.g. copy positions).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub outputs: serde_json::Value,
    /// Fingerprint of the step's definition when it last ran (see `Step::fingerprint`).
    pub fingerprint: String,
    /// The definition itself, so a changed plan can be shown as a diff.
    #[serde(default)]
    pub definition: serde_json::Value,
}

impl StepState {
    pub fn new(fingerprint: String, definition: serde_json::Value) -> Self {
        StepState {
            status: StepStatus::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            summary: None,
            error: None,
            outputs: serde_json::Value::Null,
            fingerprint,
            definition,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    pub plan: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The topics each pattern matched, once expanded (keeps later runs on the same topics).
    #[serde(default)]
    pub expansion: Expansion,
    /// Keyed by step id (`topic:orders`).
    pub steps: BTreeMap<String, StepState>,
}

impl State {
    pub fn new(plan: &str) -> Self {
        let now = Utc::now();
        State {
            format_version: STATE_FORMAT_VERSION,
            plan: plan.to_string(),
            created_at: now,
            updated_at: now,
            expansion: Expansion::new(),
            steps: BTreeMap::new(),
        }
    }

    pub fn step(&self, id: &str) -> Option<&StepState> {
        self.steps.get(id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write state file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("state file {path} is corrupt: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error(
        "state file {path} has format version {found}; this kmigrate reads version {STATE_FORMAT_VERSION} (use a newer kmigrate)"
    )]
    Version { path: PathBuf, found: u32 },
    #[error(
        "state file {path} is damaged: the recorded outputs of step {step} are unreadable ({reason}); nothing was changed (restore the file from a backup, or move it away to start the migration over)"
    )]
    Outputs { path: PathBuf, step: String, reason: String },
    #[error("state file {path} belongs to plan {found:?}, not {expected:?}")]
    OtherPlan { path: PathBuf, found: String, expected: String },
}

/// Where a plan's state lives: `<dir>/<plan>.state.json` and `<dir>/<plan>.lock`.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
    plan: String,
}

impl StateStore {
    /// `dir` defaults to `.kmigrate` beside the plan file.
    pub fn new(dir: impl Into<PathBuf>, plan: &str) -> Self {
        StateStore { dir: dir.into(), plan: plan.to_string() }
    }

    /// The default state directory for a plan file: `.kmigrate/` beside it.
    pub fn default_dir(plan_file: &Path) -> PathBuf {
        plan_file.parent().unwrap_or(Path::new(".")).join(".kmigrate")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.state.json", self.plan))
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.plan))
    }

    /// The saved state, or `None` if the plan was never applied.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Corrupt { path: path.clone(), source })?;
        if header.format_version != STATE_FORMAT_VERSION {
            return Err(StateError::Version { path, found: header.format_version });
        }
        let state: State = serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Corrupt { path: path.clone(), source })?;
        if state.plan != self.plan {
            return Err(StateError::OtherPlan { path, found: state.plan, expected: self.plan.clone() });
        }
        Ok(Some(state))
    }

    /// Writes the state atomically: a kill at any moment leaves either the old or the new file.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        let path = self.path();
        let bytes = serde_json::to_vec_pretty(state).expect("state always serializes");
        write_atomically(&path, &bytes).map_err(|source| StateError::Write { path, source })
    }
}

/// Writes `bytes` to `path` atomically and durably: temp file in the same directory, fsync,
/// rename over the target, fsync of the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_rejects_other_versions_and_plans() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join(".kmigrate"), "orders");
        assert!(store.load().unwrap().is_none());

        let mut state = State::new("orders");
        let mut step = StepState::new("abc".into(), serde_json::json!({"topic": "orders"}));
        step.status = StepStatus::Done;
        step.outputs = serde_json::json!({"created": true});
        state.steps.insert("topic:orders".into(), step);
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), Some(state.clone()));
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(store.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["orders.state.json"]);

        let other = StateStore::new(store.dir(), "payments");
        fs::copy(store.path(), other.path()).unwrap();
        assert!(matches!(other.load(), Err(StateError::OtherPlan { .. })));

        let text = fs::read_to_string(store.path())
            .unwrap()
            .replace("\"format_version\": 1", "\"format_version\": 9");
        fs::write(store.path(), text).unwrap();
        assert!(matches!(store.load(), Err(StateError::Version { found: 9, .. })));

        fs::write(store.path(), "{ not json").unwrap();
        assert!(matches!(store.load(), Err(StateError::Corrupt { .. })));
    }
}
