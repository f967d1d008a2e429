//! The checkpoint: one versioned state file per plan, and its journal.
//!
//! The file is JSON (`.kmigrate/<plan>.state.json` beside the plan by default). It records, per
//! step, its status, attempts, timestamps, last error, outputs (the recorded cutover time, the
//! computed offsets, copy positions, ...) and the fingerprint of the step's definition. It never
//! holds a secret: outputs are built from cluster answers and plan fields that are not
//! properties.
//!
//! **Snapshot and journal.** Rewriting the whole file on every step transition costs O(steps)
//! per transition, O(steps²) per apply. So the file is a *snapshot*, written atomically (temp
//! file, fsync, rename, fsync of the directory) and named by a fresh `generation`; each later
//! change of one step is a line appended to `<plan>.state.journal`: a header naming the
//! snapshot's generation, then one `{"step": id, "at": time, "state": {...}}` record per change
//! (the step's whole new state, so replaying means "last record wins"). [`StateStore::load`]
//! reads the snapshot and replays the journal of its generation. Once the journal outgrows the
//! snapshot, [`crate::Checkpoint`] writes a new snapshot and removes the journal, so the bytes
//! written stay proportional to the changes (each snapshot is paid for by at least as many
//! journal bytes), and an apply that ends leaves the snapshot alone, complete.
//!
//! What a kill (or a crash) at any point leaves, and why it is read correctly:
//! - a record cut short by the kill: the journal's last line lacks its newline; it is ignored
//!   (that save never returned, so nothing acted on it). A complete line that does not parse,
//!   anywhere, is damage: [`StateError::Journal`].
//! - a kill between a new snapshot's rename and the old journal's removal: the journal names the
//!   previous generation and is ignored; the snapshot holds everything it recorded.
//! - a state file written by anything else (a restored backup, a hand edit of what `load`
//!   returned, which carries no generation): it names no journal or another one, and the journal
//!   is ignored. Edit the state file only after a finished apply, or from what `load` returns.
//!
//! Which saves are durable (fsync) before they return is the caller's choice ([`Durability`]);
//! the rule the walker follows is in `checkpoint.rs`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kmigrate_dag::Expansion;
use serde::{Deserialize, Serialize};

use crate::events::Facts;

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
#[serde(bound = "")]
pub struct StepState<F: Facts> {
    pub status: StepStatus,
    /// How many times the step was started (including resumes).
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// What the step did (set when done): the job's typed facts, which the CLI words (for a
    /// migration, also the text an older kmigrate recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<F::Recorded>,
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

impl<F: Facts> StepState<F> {
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
#[serde(bound = "")]
pub struct State<F: Facts> {
    pub format_version: u32,
    pub plan: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The topics each pattern matched, once expanded (keeps later runs on the same topics).
    #[serde(default)]
    pub expansion: Expansion,
    /// Keyed by step id (`topic:orders`).
    pub steps: BTreeMap<String, StepState<F>>,
}

impl<F: Facts> State<F> {
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

    pub fn step(&self, id: &str) -> Option<&StepState<F>> {
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
    #[error(
        "state journal {path} is damaged at line {line}: {source}; nothing was changed (restore the state file and its journal from a backup, or move both away to start the migration over)"
    )]
    Journal { path: PathBuf, line: usize, source: serde_json::Error },
}

/// Whether a save must reach the disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Written and fsynced before the save returns (with every record written before it).
    Now,
    /// Written (a kill of the process keeps it: it is in the kernel's page cache) but not synced;
    /// the next durable save or snapshot syncs it. Only a crash of the machine may lose it.
    Deferred,
}

/// The first line of a journal.
#[derive(Serialize, Deserialize)]
struct JournalHeader {
    journal: u32,
    generation: String,
}

/// One journal record: the whole new state of one step.
#[derive(Serialize, Deserialize)]
struct JournalRecord<T> {
    step: String,
    at: DateTime<Utc>,
    state: T,
}

/// A snapshot as written: the state and the generation that names its journal.
#[derive(Serialize)]
#[serde(bound = "")]
struct Snapshot<'a, F: Facts> {
    #[serde(flatten)]
    state: &'a State<F>,
    generation: &'a str,
}

/// The journal of the current snapshot, open for appending (see [`StateStore::append`]).
pub(crate) struct Journal {
    file: File,
    /// Bytes written to it so far.
    pub(crate) bytes: u64,
    /// Whether the journal's directory entry is known to be on disk.
    dir_synced: bool,
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
    pub fn load<F: Facts>(&self) -> Result<Option<State<F>>, StateError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
            #[serde(default)]
            generation: Option<String>,
        }
        let header: Header = serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Corrupt { path: path.clone(), source })?;
        if header.format_version != STATE_FORMAT_VERSION {
            return Err(StateError::Version { path, found: header.format_version });
        }
        let mut state: State<F> = serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Corrupt { path: path.clone(), source })?;
        if state.plan != self.plan {
            return Err(StateError::OtherPlan { path, found: state.plan, expected: self.plan.clone() });
        }
        if let Some(generation) = header.generation {
            self.replay(&generation, &mut state)?;
        }
        Ok(Some(state))
    }

    /// The journal of the snapshot (`<plan>.state.journal`).
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(format!("{}.state.journal", self.plan))
    }

    /// Applies the journal of the snapshot `generation` to `state` (see the module docs).
    fn replay<F: Facts>(&self, generation: &str, state: &mut State<F>) -> Result<(), StateError> {
        let path = self.journal_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        // Only complete lines: a last line without its newline is a write the kill cut short.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(&bytes[..0], |end| &bytes[..end]);
        let mut lines = complete.split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.is_empty());
        let damaged =
            |line: usize, source| StateError::Journal { path: path.clone(), line: line + 1, source };
        let Some((n, first)) = lines.next() else { return Ok(()) };
        let header: JournalHeader = serde_json::from_slice(first).map_err(|e| damaged(n, e))?;
        if header.generation != generation {
            // The journal of another snapshot (see the module docs): its records are in this one.
            return Ok(());
        }
        for (n, line) in lines {
            let record: JournalRecord<StepState<F>> =
                serde_json::from_slice(line).map_err(|e| damaged(n, e))?;
            state.updated_at = record.at;
            state.steps.insert(record.step, record.state);
        }
        Ok(())
    }

    /// Writes the state atomically as a new snapshot and removes the journal (whose records it
    /// holds): a kill at any moment leaves either the old or the new state.
    pub fn save<F: Facts>(&self, state: &State<F>) -> Result<(), StateError> {
        self.snapshot(state).map(drop)
    }

    /// [`StateStore::save`], returning the new snapshot's generation and size.
    pub(crate) fn snapshot<F: Facts>(&self, state: &State<F>) -> Result<(String, u64), StateError> {
        let path = self.path();
        let generation = new_generation();
        let bytes = serde_json::to_vec_pretty(&Snapshot { state, generation: &generation })
            .expect("state always serializes");
        write_atomically(&path, &bytes).map_err(|source| StateError::Write { path, source })?;
        // After the rename (a kill between the two leaves a journal of the previous generation,
        // which `load` ignores).
        let journal = self.journal_path();
        match fs::remove_file(&journal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StateError::Write { path: journal, source }),
        }
        Ok((generation, bytes.len() as u64))
    }

    /// Appends the new state of `step` to the journal of the snapshot `generation` (the last one
    /// written), creating the journal on its first record; synced before returning if
    /// `durability` says so.
    pub(crate) fn append<F: Facts>(
        &self,
        journal: &mut Option<Journal>,
        generation: &str,
        step: &str,
        state: &StepState<F>,
        durability: Durability,
    ) -> Result<(), StateError> {
        let path = self.journal_path();
        let failed = |source| StateError::Write { path: path.clone(), source };
        let mut line = Vec::new();
        if journal.is_none() {
            let file =
                OpenOptions::new().create(true).write(true).truncate(true).open(&path).map_err(failed)?;
            serde_json::to_writer(
                &mut line,
                &JournalHeader { journal: 1, generation: generation.to_string() },
            )
            .expect("journal header serializes");
            line.push(b'\n');
            *journal = Some(Journal { file, bytes: 0, dir_synced: false });
        }
        let j = journal.as_mut().expect("opened above");
        let record = JournalRecord { step: step.to_string(), at: Utc::now(), state };
        serde_json::to_writer(&mut line, &record).expect("step state serializes");
        line.push(b'\n');
        // One write per record: a kill leaves it whole or as a last line without its newline.
        j.file.write_all(&line).map_err(failed)?;
        j.bytes += line.len() as u64;
        if durability == Durability::Now {
            j.file.sync_data().map_err(failed)?;
            if !j.dir_synced {
                File::open(&self.dir).and_then(|d| d.sync_all()).map_err(failed)?;
                j.dir_synced = true;
            }
        }
        Ok(())
    }
}

/// A name for a new snapshot, unique in practice: the time in nanoseconds, the process id and a
/// count of this process's snapshots.
fn new_generation() -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{nanos:x}-{:x}-{n}", std::process::id())
}

/// Writes `bytes` to `path` atomically and durably: temp file in the same directory, fsync,
/// rename over the target, fsync of the directory. A kill at any moment leaves the old file or
/// the new one. kmigrate writes every file it replaces whole this way (the state file, export
/// files, `offsets translate --to`, `init --to --force`).
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

    type State = super::State<crate::events::Words>;
    type StepState = super::StepState<crate::events::Words>;

    #[test]
    fn state_round_trips_and_rejects_other_versions_and_plans() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join(".kmigrate"), "orders");
        assert!(store.load::<crate::events::Words>().unwrap().is_none());

        let mut state = State::new("orders");
        let mut step = StepState::new("abc".into(), serde_json::json!({"topic": "orders"}));
        step.status = StepStatus::Done;
        step.outputs = serde_json::json!({"created": true});
        state.steps.insert("topic:orders".into(), step);
        store.save(&state).unwrap();
        assert_eq!(store.load::<crate::events::Words>().unwrap(), Some(state.clone()));
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(store.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["orders.state.json"]);

        let other = StateStore::new(store.dir(), "payments");
        fs::copy(store.path(), other.path()).unwrap();
        assert!(matches!(other.load::<crate::events::Words>(), Err(StateError::OtherPlan { .. })));

        let text = fs::read_to_string(store.path())
            .unwrap()
            .replace("\"format_version\": 1", "\"format_version\": 9");
        fs::write(store.path(), text).unwrap();
        assert!(matches!(store.load::<crate::events::Words>(), Err(StateError::Version { found: 9, .. })));

        fs::write(store.path(), "{ not json").unwrap();
        assert!(matches!(store.load::<crate::events::Words>(), Err(StateError::Corrupt { .. })));
    }

    fn two_steps() -> State {
        let mut state = State::new("orders");
        for id in ["topic:a", "topic:b"] {
            state.steps.insert(id.into(), StepState::new("f".into(), serde_json::json!({})));
        }
        state
    }

    fn record(
        store: &StateStore,
        journal: &mut Option<Journal>,
        generation: &str,
        id: &str,
        status: StepStatus,
    ) {
        let mut st = StepState::new("f".into(), serde_json::json!({}));
        st.status = status;
        store.append(journal, generation, id, &st, Durability::Now).unwrap();
    }

    #[test]
    fn the_journal_is_replayed_over_its_snapshot_and_a_new_snapshot_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "orders");
        let (generation, _) = store.snapshot(&two_steps()).unwrap();
        let mut journal = None;
        record(&store, &mut journal, &generation, "topic:a", StepStatus::Running);
        record(&store, &mut journal, &generation, "topic:a", StepStatus::Done);
        record(&store, &mut journal, &generation, "topic:b", StepStatus::Failed);
        let loaded = store.load::<crate::events::Words>().unwrap().unwrap();
        assert_eq!(loaded.steps["topic:a"].status, StepStatus::Done, "the last record wins");
        assert_eq!(loaded.steps["topic:b"].status, StepStatus::Failed);

        // A snapshot holds everything and removes the journal.
        store.save(&loaded).unwrap();
        assert!(!store.journal_path().exists());
        assert_eq!(store.load::<crate::events::Words>().unwrap().unwrap().steps, loaded.steps);
    }

    #[test]
    fn a_record_cut_short_is_ignored_and_a_damaged_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "orders");
        let (generation, _) = store.snapshot(&two_steps()).unwrap();
        let mut journal = None;
        record(&store, &mut journal, &generation, "topic:a", StepStatus::Done);
        let whole = fs::read(store.journal_path()).unwrap();
        record(&store, &mut journal, &generation, "topic:b", StepStatus::Done);
        let both = fs::read(store.journal_path()).unwrap();

        // Killed in the middle of the second record's write, at every byte.
        for cut in whole.len()..both.len() {
            fs::write(store.journal_path(), &both[..cut]).unwrap();
            let loaded = store.load::<crate::events::Words>().unwrap().unwrap();
            assert_eq!(loaded.steps["topic:a"].status, StepStatus::Done, "cut at {cut}");
            assert_eq!(loaded.steps["topic:b"].status, StepStatus::Pending, "cut at {cut}");
        }
        // Killed while writing the header: nothing recorded yet.
        fs::write(store.journal_path(), &whole[..10]).unwrap();
        assert_eq!(
            store.load::<crate::events::Words>().unwrap().unwrap().steps["topic:a"].status,
            StepStatus::Pending
        );

        // A complete line that does not parse is damage, named with its line.
        let mut damaged = whole.clone();
        damaged.extend_from_slice(b"{\"step\": 12}\n");
        damaged.extend_from_slice(&both[whole.len()..]);
        fs::write(store.journal_path(), &damaged).unwrap();
        let err = store.load::<crate::events::Words>().unwrap_err();
        assert!(matches!(err, StateError::Journal { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("orders.state.journal"), "{err}");
    }

    #[test]
    fn a_journal_of_another_snapshot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "orders");
        let (old, _) = store.snapshot(&two_steps()).unwrap();
        let mut journal = None;
        record(&store, &mut journal, &old, "topic:a", StepStatus::Done);
        let records = fs::read(store.journal_path()).unwrap();

        // Killed between a new snapshot's rename and the old journal's removal: the snapshot
        // holds the records, the journal is stale.
        let mut state = store.load::<crate::events::Words>().unwrap().unwrap();
        state.steps.get_mut("topic:b").unwrap().status = StepStatus::Running;
        store.save(&state).unwrap();
        fs::write(store.journal_path(), &records).unwrap();
        let loaded = store.load::<crate::events::Words>().unwrap().unwrap();
        assert_eq!(loaded.steps["topic:b"].status, StepStatus::Running, "not rolled back");

        // What `load` returned, edited by hand and written back, has no generation: the journal
        // does not override the edit.
        let mut edited = serde_json::to_value(&loaded).unwrap();
        edited["steps"]["topic:a"]["status"] = "pending".into();
        fs::write(store.path(), serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
        assert_eq!(
            store.load::<crate::events::Words>().unwrap().unwrap().steps["topic:a"].status,
            StepStatus::Pending
        );
    }
}
