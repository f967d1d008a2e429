//! A real Kafka Connect worker in distributed mode (`org.apache.kafka.connect.cli.ConnectDistributed`
//! from the cached Apache Kafka jars, `connect-mirror` on the classpath), for the MirrorMaker 2
//! tests. Its group and its config, offset and status topics live on the cluster it is given (the
//! migration's target, as MirrorMaker 2 deployments usually run); its REST API listens on a free
//! loopback port. Like the brokers: one per test binary ([`ConnectWorker::shared`]), a reaper that
//! kills it when the test process ends, its first errors in the panic when it does not come up.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::kafka::{LOG4J2, classpath, first_errors, free_port, java, spawn_reaper};
use crate::tansu::tail;

/// How long a worker may take to answer its REST API with its group joined.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Connect worker.
pub struct ConnectWorker {
    child: Child,
    reaper: Child,
    reaper_stdin: Option<ChildStdin>,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl ConnectWorker {
    /// The worker shared by every test of this test binary, started on first use against
    /// `bootstrap` (a plaintext listener; the first caller's is kept).
    pub fn shared(bootstrap: &str) -> Arc<Mutex<ConnectWorker>> {
        static WORKER: OnceLock<Arc<Mutex<ConnectWorker>>> = OnceLock::new();
        WORKER.get_or_init(|| Arc::new(Mutex::new(ConnectWorker::start(bootstrap)))).clone()
    }

    /// Starts a worker whose internal topics live on `bootstrap`. Panics with its log if it does
    /// not come up (tests fail, never skip).
    pub fn start(bootstrap: &str) -> ConnectWorker {
        let mut last = String::new();
        // A port picked free can be taken before the worker binds it: retry with others.
        for _ in 0..3 {
            match Self::try_start(bootstrap) {
                Ok(w) => return w,
                Err(e) => last = e,
            }
        }
        panic!("Kafka Connect did not start after 3 attempts:\n{last}");
    }

    fn try_start(bootstrap: &str) -> Result<ConnectWorker, String> {
        let dir = tempfile::Builder::new()
            .prefix("kmigrate-connect-")
            .tempdir()
            .map_err(|e| format!("creating a temp dir: {e}"))?
            .keep();
        let (reaper, reaper_stdin) = spawn_reaper(&dir)?;
        let port = free_port();
        let id = format!("kmigrate-connect-{port}-{}", std::process::id());
        let props = worker_properties(bootstrap, port, &id);
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).map_err(|e| e.to_string());
        write("worker.properties", &props)?;
        write("log4j2.properties", LOG4J2)?;
        let log = dir.join("connect.log");
        let out = File::options().create(true).append(true).open(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(java())
            .args(["-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"])
            .arg(format!("-Dlog4j2.configurationFile={}", dir.join("log4j2.properties").display()))
            .args(["-cp", &classpath(), "org.apache.kafka.connect.cli.ConnectDistributed"])
            .arg(dir.join("worker.properties"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("starting {}: {e} (Kafka Connect needs Java 17+)", java().display()))?;
        std::fs::write(dir.join("jvm.pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        let mut worker = ConnectWorker { child, reaper, reaper_stdin: Some(reaper_stdin), port, dir, log };
        worker.wait_ready()?;
        Ok(worker)
    }

    /// Waits until `GET /connectors` answers 200 (the worker has joined its group and read its
    /// config topic) and MirrorMaker's connectors are among its plugins.
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build()
            .into();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "Kafka Connect (port {}) exited with {status}; its first errors:\n{}\nthe end of its log:\n{}",
                    self.port,
                    first_errors(&self.log, 20),
                    tail(&self.log, 30)
                ));
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "Kafka Connect (port {}) did not answer within {START_TIMEOUT:?}; its first errors:\n{}\nthe end of its log:\n{}",
                    self.port,
                    first_errors(&self.log, 20),
                    tail(&self.log, 40)
                ));
            }
            let listed = agent.get(format!("{}/connectors", self.url())).call();
            if listed.is_ok_and(|r| r.status() == 200) {
                let plugins = agent
                    .get(format!("{}/connector-plugins", self.url()))
                    .call()
                    .ok()
                    .and_then(|mut r| r.body_mut().read_to_string().ok())
                    .unwrap_or_default();
                if !plugins.contains("MirrorSourceConnector") {
                    return Err(format!(
                        "Kafka Connect (port {}) does not list MirrorSourceConnector among its plugins: {plugins}",
                        self.port
                    ));
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The REST API: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last `lines` lines of the worker's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The worker JVM's process id (the benchmark reads its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ConnectWorker {
    fn drop(&mut self) {
        let _ = self.reaper.kill();
        let _ = self.reaper.wait();
        self.reaper_stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `worker.properties`: distributed mode on `bootstrap`, bytes as they are, offsets committed
/// every second (so tests see MirrorMaker's progress quickly), one replica and one partition for
/// every internal topic of a single-broker cluster.
fn worker_properties(bootstrap: &str, port: u16, id: &str) -> String {
    let bytes = "org.apache.kafka.connect.converters.ByteArrayConverter";
    [
        ("bootstrap.servers", bootstrap.to_string()),
        ("group.id", id.to_string()),
        ("config.storage.topic", format!("{id}-configs")),
        ("offset.storage.topic", format!("{id}-offsets")),
        ("status.storage.topic", format!("{id}-status")),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
        ("offset.storage.partitions", "1".into()),
        ("status.storage.partitions", "1".into()),
        ("listeners", format!("http://127.0.0.1:{port}")),
        ("rest.advertised.host.name", "127.0.0.1".into()),
        ("rest.advertised.port", port.to_string()),
        ("key.converter", bytes.into()),
        ("value.converter", bytes.into()),
        ("header.converter", bytes.into()),
        ("offset.flush.interval.ms", "1000".into()),
        ("scheduled.rebalance.max.delay.ms", "0".into()),
        ("task.shutdown.graceful.timeout.ms", "2000".into()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={v}\n"))
    .collect()
}
