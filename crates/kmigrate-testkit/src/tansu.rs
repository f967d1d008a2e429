//! Starting and stopping a tansu broker process.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use tempfile::TempDir;

/// The tansu version the tests are written against (see scripts/ensure-tansu.sh).
pub const TANSU_VERSION: &str = "0.6.0";

/// How long a broker may take to answer its first metadata request.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// tansu's storage engine for a broker. Choose per test, by the behaviour the test needs:
///
/// - `Sqlite`: offsets (earliest, latest, by time) and committed offsets are right; DescribeGroups fails
///   (the broker drops the connection), ListGroups reports no states; about 60k records/s.
/// - `Memory`: DescribeGroups works (members are shown); fast; but ListOffsets latest and by-time answers
///   are wrong and ListGroups misses groups without committed offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Memory,
}

impl Engine {
    fn storage_url(self) -> &'static str {
        match self {
            // Relative to the broker's working directory: its own temp directory.
            Engine::Sqlite => "sqlite://tansu.db",
            Engine::Memory => "memory://tansu/",
        }
    }
}

/// Where the tansu binary is: `$KMIGRATE_TANSU`, else the cache `scripts/ensure-tansu.sh` installs into.
/// Panics (tests must fail, not skip) with instructions when neither exists.
pub fn tansu_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("KMIGRATE_TANSU") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return p;
        }
        panic!(
            "KMIGRATE_TANSU is set to {} but no such file exists; unset it or run scripts/ensure-tansu.sh",
            p.display()
        );
    }
    let bin = crate::cache_root().join(format!("tansu-{TANSU_VERSION}")).join("bin").join("tansu");
    if bin.is_file() {
        return bin;
    }
    panic!(
        "the tansu broker (selected with KMIGRATE_TEST_BROKER=tansu) was not found at {} nor in \
         $KMIGRATE_TANSU. Install it once with `scripts/ensure-tansu.sh` (about 9 minutes), or unset \
         KMIGRATE_TEST_BROKER to test on Apache Kafka (the default).",
        bin.display()
    );
}

/// A running tansu broker on a loopback port, in a temp directory of its own. Killed (and waited for) on
/// drop.
pub struct TansuBroker {
    child: Child,
    port: u16,
    engine: Engine,
    log: PathBuf,
    // Dropped after the process is killed (fields drop after `Drop::drop`).
    dir: TempDir,
}

impl std::fmt::Debug for TansuBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TansuBroker")
            .field("port", &self.port)
            .field("engine", &self.engine)
            .field("dir", &self.dir.path())
            .finish()
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    l.local_addr().expect("local address").port()
}

/// The last `lines` lines of a file (for panic messages).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| format!("<cannot read {}: {e}>", path.display()));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl TansuBroker {
    /// Starts a broker and waits until it answers a metadata request. Panics (with the broker's output) if
    /// it exits or does not answer within 20 s.
    pub fn start(engine: Engine) -> TansuBroker {
        Self::start_with_args(engine, &[])
    }

    /// [`TansuBroker::start`] with extra `tansu broker` arguments (e.g. `--authentication`, which makes the
    /// broker require SASL authentication).
    pub fn start_with_args(engine: Engine, args: &[&str]) -> TansuBroker {
        let bin = tansu_binary();
        let mut last_failure = String::new();
        // A port picked free can be taken by someone else before tansu binds it: retry with another one.
        for _ in 0..5 {
            match Self::try_start(&bin, engine, args) {
                Ok(b) => return b,
                Err(e) => last_failure = e,
            }
        }
        panic!("tansu did not start after 5 attempts:\n{last_failure}");
    }

    fn try_start(bin: &Path, engine: Engine, args: &[&str]) -> Result<TansuBroker, String> {
        let dir = tempfile::Builder::new()
            .prefix("kmigrate-tansu-")
            .tempdir()
            .map_err(|e| format!("creating a temp dir: {e}"))?;
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = dir.path().join("tansu.log");
        let out = File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let cluster_id = format!("kmigrate-test-{port}");
        let child = Command::new(bin)
            .arg("broker")
            .args(["--cluster-id", &cluster_id])
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", engine.storage_url()])
            .args(args)
            .current_dir(dir.path())
            // tansu reads these from the environment too; the flags above are what counts.
            .env_remove("CLUSTER_ID")
            .env_remove("LISTENER_URL")
            .env_remove("ADVERTISED_LISTENER_URL")
            .env_remove("STORAGE_ENGINE")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut broker = TansuBroker { child, port, engine, log, dir };
        broker.wait_ready(args.contains(&"--authentication"))?;
        Ok(broker)
    }

    /// Waits until the broker answers a metadata request, or only until it listens if it requires
    /// authentication (the testkit's own clients do not authenticate).
    fn wait_ready(&mut self, listening_is_enough: bool) -> Result<(), String> {
        let started = Instant::now();
        let bootstrap = self.bootstrap();
        let mut client: Option<BaseProducer> = None;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "tansu ({:?}, port {}) exited with {status} before answering; its output:\n{}",
                    self.engine,
                    self.port,
                    tail(&self.log, 40)
                ));
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "tansu ({:?}, port {}) did not answer a metadata request within {START_TIMEOUT:?}; its output:\n{}",
                    self.engine,
                    self.port,
                    tail(&self.log, 40)
                );
            }
            // Cheap check first: is it listening yet?
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                if listening_is_enough {
                    return Ok(());
                }
                let c = client.get_or_insert_with(|| {
                    ClientConfig::new()
                        .set("bootstrap.servers", &bootstrap)
                        .set("reconnect.backoff.ms", "10")
                        .set("reconnect.backoff.max.ms", "50")
                        .create()
                        .expect("creating a metadata client")
                });
                if c.client().fetch_metadata(None, Duration::from_millis(500)).is_ok() {
                    tracing::debug!(port = self.port, engine = ?self.engine, elapsed = ?started.elapsed(), "tansu ready");
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The broker's working directory (holds its SQLite database and its log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last `lines` lines of the broker's stdout/stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
