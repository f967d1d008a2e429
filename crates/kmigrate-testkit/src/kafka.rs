//! Starting and stopping an Apache Kafka broker: a single-node KRaft cluster (combined broker and
//! controller) on free loopback ports, its data in a temp directory of its own.
//!
//! The jars come from `scripts/ensure-kafka.sh` (Maven Central, cached outside the clone); the testkit
//! runs that script itself when the cache is empty, so `cargo test` alone works on a fresh machine.
//!
//! Every broker has a plaintext `INTERNAL` listener, which the testkit's own clients use to seed and
//! inspect the cluster, and optionally an `EXTERNAL` listener secured as the test asks (SASL, TLS,
//! mutual TLS), which is the address the code under test is given.
//!
//! A reaper process watches each broker: when the test process exits, however it exits (a panic, a
//! SIGKILL), the reaper kills the JVM and removes its directory. So brokers shared by a whole test
//! binary (statics, never dropped) are cleaned up too.

use std::fmt::Write as _;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};

use crate::tansu::tail;

/// The first `n` lines of a log that report an error (`ERROR`, `FATAL`, an exception and its
/// cause): the log's end shows only the shutdown that followed.
pub(crate) fn first_errors(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("ERROR")
                || l.contains("FATAL")
                || l.contains("Exception")
                || l.starts_with("Caused by")
        })
        .take(n)
        .collect();
    if lines.is_empty() { "(none)".to_string() } else { lines.join("\n") }
}
use crate::proxy::TcpProxy;
use crate::tls::TlsFiles;

/// The Apache Kafka version the tests run (the `kafka.version` of `scripts/kafka/pom.xml`; a test
/// checks that the two agree).
pub const KAFKA_VERSION: &str = "4.3.1";

/// How long a broker may take to answer its first metadata request (a JVM on a busy two-core machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// SASL users a secured broker knows (SCRAM credentials are created at format time, PLAIN ones in the
/// listener's JAAS configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslUser {
    pub name: String,
    pub password: String,
}

/// How the broker's `EXTERNAL` listener is secured.
#[derive(Debug, Clone, Default)]
pub enum Listener {
    /// No external listener: clients use the plaintext one.
    #[default]
    Plaintext,
    /// `SASL_PLAINTEXT` with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for `users`.
    SaslPlaintext { users: Vec<SaslUser> },
    /// `SASL_SSL`: as above, over TLS with a certificate for `127.0.0.1` and `localhost`.
    SaslSsl { users: Vec<SaslUser> },
    /// `SSL` requiring a client certificate signed by the test CA (mutual TLS).
    MutualTls,
}

/// What a test asks of a broker it starts for itself.
#[derive(Debug, Clone, Default)]
pub struct KafkaOptions {
    pub listener: Listener,
    /// Extra `server.properties` lines (`key`, `value`).
    pub properties: Vec<(String, String)>,
    /// A fixed port for the plaintext listener (the quickstart's 19092/29092); default: a free one.
    pub port: Option<u16>,
    /// The hosts the TLS broker certificate names (default: `localhost`, `127.0.0.1`); another name
    /// makes a hostname mismatch.
    pub cert_hosts: Vec<String>,
    /// Clients of the code under test reach the broker through a [`TcpProxy`] (its port is the
    /// advertised one), so that a test can cut or blackhole the network ([`KafkaBroker::proxy`]).
    pub proxied: bool,
}

/// A running Apache Kafka broker.
pub struct KafkaBroker {
    child: Child,
    /// Held open; the reaper kills the broker and removes `dir` when it reads end-of-file.
    reaper: Child,
    reaper_stdin: Option<ChildStdin>,
    internal_port: u16,
    external_port: Option<u16>,
    controller_port: u16,
    proxy: Option<TcpProxy>,
    dir: PathBuf,
    log: PathBuf,
    options: KafkaOptions,
    tls: Option<TlsFiles>,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBroker")
            .field("internal_port", &self.internal_port)
            .field("external_port", &self.external_port)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The repository's `scripts/` directory (the testkit lives at `crates/kmigrate-testkit`).
fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// The Kafka home (its jars in `lib/`): `$KMIGRATE_KAFKA_HOME`, else the cache that
/// `scripts/ensure-kafka.sh` fills, running that script when the cache is empty. Panics (tests fail,
/// they never skip) with what to do when Kafka cannot be had.
pub fn kafka_home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        if let Some(p) = std::env::var_os("KMIGRATE_KAFKA_HOME") {
            let p = PathBuf::from(p);
            assert!(
                p.join("lib").join(format!("kafka_2.13-{KAFKA_VERSION}.jar")).is_file(),
                "KMIGRATE_KAFKA_HOME is {} but it holds no lib/kafka_2.13-{KAFKA_VERSION}.jar; unset it or \
                 run scripts/ensure-kafka.sh",
                p.display()
            );
            return p;
        }
        let script = scripts_dir().join("ensure-kafka.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed ({}): Apache Kafka (needed by the broker tests) could not be fetched from Maven \
             Central. It needs Java 17+ and Maven on the PATH. To test against your own Kafka pair \
             instead, set KMIGRATE_TEST_SOURCE and KMIGRATE_TEST_TARGET.",
            script.display(),
            out.status
        );
        let home = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(home.join("lib").is_dir(), "ensure-kafka.sh printed {}, which has no lib/", home.display());
        home
    })
    .clone()
}

/// `java` from `$JAVA_HOME`, else the PATH.
pub(crate) fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin").join("java"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// The classpath of every Kafka jar.
pub(crate) fn classpath() -> String {
    format!("{}/lib/*", kafka_home().display())
}

pub(crate) fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    l.local_addr().expect("local address").port()
}

/// A fresh KRaft cluster id: 16 random bytes, base64url without padding (what `StorageTool
/// random-uuid` prints).
fn cluster_id() -> String {
    use base64::Engine as _;
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Brokers alive in this process, for the panic hook (their logs are kept when a test fails).
fn live_logs() -> &'static Mutex<Vec<(String, PathBuf)>> {
    static LIVE: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    LIVE.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            keep_logs();
        }));
        Mutex::new(Vec::new())
    })
}

/// Copies the log of every live broker out of its (soon removed) directory and names it on stderr.
fn keep_logs() {
    let Ok(live) = live_logs().try_lock() else { return };
    let kept = std::env::temp_dir().join("kmigrate-broker-logs");
    let _ = std::fs::create_dir_all(&kept);
    for (name, log) in live.iter() {
        let to = kept.join(format!("{name}.log"));
        if std::fs::copy(log, &to).is_ok() {
            eprintln!("kmigrate-testkit: the log of Kafka broker {name} is kept at {}", to.display());
        }
    }
}

impl KafkaBroker {
    /// Starts a plaintext broker and waits until it answers a metadata request.
    pub fn start() -> KafkaBroker {
        Self::start_with(KafkaOptions::default())
    }

    /// Starts a broker as `options` asks. Panics with the broker's log if it does not come up.
    pub fn start_with(options: KafkaOptions) -> KafkaBroker {
        let mut last_failure = String::new();
        // A port picked free can be taken before the broker binds it: retry with others.
        for _ in 0..3 {
            match Self::try_start(&options) {
                Ok(b) => return b,
                Err(e) => last_failure = e,
            }
        }
        panic!("Apache Kafka did not start after 3 attempts:\n{last_failure}");
    }

    fn try_start(options: &KafkaOptions) -> Result<KafkaBroker, String> {
        let dir = tempfile::Builder::new()
            .prefix("kmigrate-kafka-")
            .tempdir()
            .map_err(|e| format!("creating a temp dir: {e}"))?
            .keep();
        // The reaper first: a test process killed while the storage is formatted leaves nothing.
        let mut reaper = match spawn_reaper(&dir) {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let started = Self::start_in(dir.clone(), options, &mut reaper);
        if started.is_err() {
            if let Some((mut r, _)) = reaper.take() {
                let _ = r.kill();
                let _ = r.wait();
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        started
    }

    fn start_in(
        dir: PathBuf,
        options: &KafkaOptions,
        reaper: &mut Option<(Child, ChildStdin)>,
    ) -> Result<KafkaBroker, String> {
        let internal_port = options.port.unwrap_or_else(free_port);
        let controller_port = free_port();
        let external_port =
            (options.proxied || !matches!(options.listener, Listener::Plaintext)).then(free_port);
        let proxy = match external_port {
            Some(port) if options.proxied => Some(
                TcpProxy::start(([127, 0, 0, 1], port).into())
                    .map_err(|e| format!("starting the TCP proxy: {e}"))?,
            ),
            _ => None,
        };
        let tls = match options.listener {
            Listener::SaslSsl { .. } | Listener::MutualTls => {
                let hosts: Vec<&str> = if options.cert_hosts.is_empty() {
                    vec!["localhost", "127.0.0.1"]
                } else {
                    options.cert_hosts.iter().map(String::as_str).collect()
                };
                Some(
                    TlsFiles::generate(&dir.join("tls"), &hosts)
                        .map_err(|e| format!("generating TLS files: {e}"))?,
                )
            }
            _ => None,
        };
        let ports = Ports {
            internal: internal_port,
            controller: controller_port,
            external: external_port,
            advertised: proxy.as_ref().map(TcpProxy::port).or(external_port),
        };
        let props = server_properties(&dir, &ports, options, tls.as_ref());
        std::fs::write(dir.join("server.properties"), props).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("log4j2.properties"), LOG4J2).map_err(|e| e.to_string())?;
        let log = dir.join("broker.log");

        // Format the storage (a JVM of its own), with SCRAM credentials for the SASL users.
        let mut format = Command::new(java());
        format
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg(format!("-Dlog4j2.configurationFile={}", dir.join("log4j2.properties").display()))
            .args(["-cp", &classpath(), "kafka.tools.StorageTool", "format", "--standalone"])
            .args(["-t", &cluster_id(), "-c"])
            .arg(dir.join("server.properties"));
        if let Listener::SaslPlaintext { users } | Listener::SaslSsl { users } = &options.listener {
            for u in users {
                for mech in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
                    format
                        .args(["--add-scram", &format!("{mech}=[name={},password={}]", u.name, u.password)]);
                }
            }
        }
        let out = format.output().map_err(|e| format!("running {}: {e}", java().display()))?;
        if !out.status.success() {
            return Err(format!(
                "formatting Kafka's storage failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }

        let child = Self::spawn_jvm(&dir, &log)?;
        let (reaper, reaper_stdin) = reaper.take().expect("the reaper is started first");
        let mut broker = KafkaBroker {
            child,
            reaper,
            reaper_stdin: Some(reaper_stdin),
            internal_port,
            external_port,
            controller_port,
            proxy,
            dir,
            log,
            options: options.clone(),
            tls,
        };
        broker.wait_ready()?;
        live_logs().lock().unwrap().push((broker.name(), broker.log.clone()));
        Ok(broker)
    }

    /// Starts the broker's JVM and records its pid where the reaper looks for it.
    fn spawn_jvm(dir: &Path, log: &Path) -> Result<Child, String> {
        let child = Self::spawn_jvm_process(dir, log)?;
        std::fs::write(dir.join("jvm.pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        Ok(child)
    }

    fn spawn_jvm_process(dir: &Path, log: &Path) -> Result<Child, String> {
        let out = File::options().create(true).append(true).open(log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        Command::new(java())
            // A small heap and the serial collector: two cores, two brokers, and the tests beside them.
            .args(["-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"])
            .arg(format!("-Dlog4j2.configurationFile={}", dir.join("log4j2.properties").display()))
            .args(["-cp", &classpath(), "kafka.Kafka"])
            .arg(dir.join("server.properties"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("starting {}: {e} (Apache Kafka needs Java 17+)", java().display()))
    }

    /// Waits until the broker answers a metadata request on its internal listener with itself in it.
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let bootstrap = self.internal_bootstrap();
        let mut client: Option<BaseProducer> = None;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "Kafka (port {}) exited with {status} before answering; its first errors:\n{}\nthe end of its log:\n{}",
                    self.internal_port,
                    first_errors(&self.log, 20),
                    tail(&self.log, 30)
                ));
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "Kafka (port {}) did not answer a metadata request within {START_TIMEOUT:?}; its log:\n{}",
                    self.internal_port,
                    tail(&self.log, 60)
                ));
            }
            if TcpStream::connect(("127.0.0.1", self.internal_port)).is_ok() {
                let c = client.get_or_insert_with(|| {
                    ClientConfig::new()
                        .set("bootstrap.servers", &bootstrap)
                        .set("reconnect.backoff.ms", "20")
                        .set("reconnect.backoff.max.ms", "100")
                        .set("log_level", "3")
                        .create()
                        .expect("creating a metadata client")
                });
                if c.client()
                    .fetch_metadata(None, Duration::from_millis(1000))
                    .is_ok_and(|m| !m.brokers().is_empty())
                {
                    self.create_offsets_topic(&bootstrap)?;
                    tracing::debug!(port = self.internal_port, elapsed = ?started.elapsed(), "Kafka ready");
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kafka creates `__consumer_offsets` on the first FindCoordinator, and answers "coordinator not
    /// available" until it exists. Every real cluster has it; so do test brokers once they are ready,
    /// so that no test measures (or times out on) a fresh broker's first group lookup.
    fn create_offsets_topic(&self, bootstrap: &str) -> Result<(), String> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "kmigrate-testkit-warmup")
            .set("log_level", "3")
            .create()
            .map_err(|e| e.to_string())?;
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition("kmigrate-testkit-warmup", 0);
        // librdkafka gives up on some transient answers (NOT_COORDINATOR while the coordinator
        // loads): ask again until the deadline.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match consumer.committed_offsets(tpl.clone(), Duration::from_secs(10)) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(port = self.internal_port, error = %e, "group coordinator not up yet");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => {
                    return Err(format!(
                        "the group coordinator of Kafka (port {}) did not come up: {e}",
                        self.internal_port
                    ));
                }
            }
        }
    }

    /// `127.0.0.1:PORT` of the plaintext listener (the testkit's own clients).
    pub fn internal_bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.internal_port)
    }

    /// The address the code under test is given: the secured listener if there is one.
    pub fn bootstrap(&self) -> String {
        let external = self.proxy.as_ref().map(TcpProxy::port).or(self.external_port);
        format!("127.0.0.1:{}", external.unwrap_or(self.internal_port))
    }

    /// The proxy between the code under test and the broker, if started [`KafkaOptions::proxied`].
    pub fn proxy(&self) -> Option<TcpProxy> {
        self.proxy.clone()
    }

    /// The generated CA, broker and client certificates of a TLS broker.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The broker's directory (data, configuration, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A name for messages: `kafka-<internal port>`.
    pub fn name(&self) -> String {
        format!("kafka-{}", self.internal_port)
    }

    /// The last `lines` lines of the broker's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Where the broker's log is (for messages).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Whether the JVM is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILLs the broker (a crash); its storage stays for [`KafkaBroker::restart`].
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal to the JVM (e.g. `SIGSTOP`: it keeps its connections but never answers;
    /// `SIGCONT` resumes it).
    pub fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Starts the broker again on the same storage and ports (after [`KafkaBroker::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        // The reaper reads the new JVM's pid from the file spawn_jvm writes.
        self.child = Self::spawn_jvm(&self.dir, &self.log).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = self.wait_ready() {
            panic!("{e}");
        }
    }

    /// Closes the reaper's stdin as the process's exit would (for the testkit's own test).
    #[cfg(test)]
    pub(crate) fn close_reaper_stdin_for_test(&mut self) {
        self.reaper_stdin = None;
    }

    fn stop_reaper(&mut self) {
        let _ = self.reaper.kill();
        let _ = self.reaper.wait();
        self.reaper_stdin = None;
    }

    /// The options it was started with.
    pub fn options(&self) -> &KafkaOptions {
        &self.options
    }

    /// The controller port (for tests that cut the network to it).
    pub fn controller_port(&self) -> u16 {
        self.controller_port
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        live_logs().lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, l)| l != &self.log);
        if std::thread::panicking() {
            // The panic hook copied the log already; say where it is from here too.
            eprintln!("kmigrate-testkit: Kafka broker {} log: {}", self.name(), self.log.display());
        }
        self.stop_reaper();
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process that waits for end-of-file on its stdin (the test process closing its end, or exiting),
/// then kills the broker's JVM (its pid in `jvm.pid`, once started) and removes its directory.
pub(crate) fn spawn_reaper(dir: &Path) -> Result<(Child, ChildStdin), String> {
    let mut reaper = Command::new("sh")
        .arg("-c")
        .arg(r#"cat >/dev/null; [ -f "$0/jvm.pid" ] && kill -9 "$(cat "$0/jvm.pid")" 2>/dev/null; sleep 0.2; rm -rf "$0""#)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the reaper: {e}"))?;
    let stdin = reaper.stdin.take().expect("piped");
    Ok((reaper, stdin))
}

/// `server.properties` of a single combined node.
/// The ports a broker listens on, and the one it advertises for its external listener (the
/// proxy's, when proxied).
struct Ports {
    internal: u16,
    controller: u16,
    external: Option<u16>,
    advertised: Option<u16>,
}

fn server_properties(dir: &Path, ports: &Ports, options: &KafkaOptions, tls: Option<&TlsFiles>) -> String {
    let Ports { internal, controller, .. } = *ports;
    let mut p = String::new();
    let mut listeners = format!("INTERNAL://127.0.0.1:{internal},CONTROLLER://127.0.0.1:{controller}");
    let mut advertised = format!("INTERNAL://127.0.0.1:{internal}");
    let mut map = "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string();
    if let Some(port) = ports.external {
        let protocol = match options.listener {
            Listener::Plaintext => "PLAINTEXT",
            Listener::SaslPlaintext { .. } => "SASL_PLAINTEXT",
            Listener::SaslSsl { .. } => "SASL_SSL",
            Listener::MutualTls => "SSL",
        };
        write!(listeners, ",EXTERNAL://127.0.0.1:{port}").unwrap();
        write!(advertised, ",EXTERNAL://127.0.0.1:{}", ports.advertised.unwrap_or(port)).unwrap();
        write!(map, ",EXTERNAL:{protocol}").unwrap();
    }
    let mut line = |k: &str, v: &str| {
        writeln!(p, "{k}={v}").unwrap();
    };
    line("process.roles", "broker,controller");
    line("node.id", "1");
    line("controller.quorum.bootstrap.servers", &format!("127.0.0.1:{controller}"));
    line("listeners", &listeners);
    line("advertised.listeners", &advertised);
    line("listener.security.protocol.map", &map);
    line("controller.listener.names", "CONTROLLER");
    line("inter.broker.listener.name", "INTERNAL");
    line("log.dirs", &dir.join("data").display().to_string());
    // A single node: every internal topic with one replica.
    for (k, v) in [
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("transaction.state.log.num.partitions", "1"),
        ("share.coordinator.state.topic.replication.factor", "1"),
        ("share.coordinator.state.topic.min.isr", "1"),
        ("share.coordinator.state.topic.num.partitions", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("num.partitions", "1"),
        ("auto.create.topics.enable", "false"),
        // Fewer threads on a two-core machine.
        ("num.network.threads", "2"),
        ("num.io.threads", "2"),
        ("num.recovery.threads.per.data.dir", "1"),
        ("background.threads", "2"),
        ("log.cleaner.threads", "1"),
        ("log.cleaner.dedupe.buffer.size", "8388608"),
        // Tests seed records with fixed old timestamps (1970 and on), which Kafka's default retention
        // of 7 days would delete (rolling even the active segment): keep records unless a topic sets
        // its own retention.ms. Retention tests set it per topic and are trimmed within a second.
        ("log.retention.ms", "-1"),
        ("log.retention.check.interval.ms", "1000"),
        ("log.cleaner.backoff.ms", "1000"),
        ("log.initial.task.delay.ms", "1000"),
        ("log.segment.delete.delay.ms", "1000"),
    ] {
        line(k, v);
    }
    match &options.listener {
        Listener::Plaintext => {}
        Listener::SaslPlaintext { users } | Listener::SaslSsl { users } => {
            line("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512");
            let plain_users: String =
                users.iter().map(|u| format!(" user_{}=\"{}\"", u.name, u.password)).collect();
            line(
                "listener.name.external.plain.sasl.jaas.config",
                &format!("org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};"),
            );
            for mech in ["scram-sha-256", "scram-sha-512"] {
                line(
                    &format!("listener.name.external.{mech}.sasl.jaas.config"),
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                );
            }
        }
        Listener::MutualTls => {
            line("listener.name.external.ssl.client.auth", "required");
        }
    }
    if let Some(tls) = tls {
        line("listener.name.external.ssl.keystore.type", "PEM");
        line("listener.name.external.ssl.keystore.location", &tls.broker_keystore.display().to_string());
        line("listener.name.external.ssl.truststore.type", "PEM");
        line("listener.name.external.ssl.truststore.location", &tls.ca_cert.display().to_string());
        line("listener.name.external.ssl.endpoint.identification.algorithm", "");
    }
    for (k, v) in &options.properties {
        line(k, v);
    }
    p
}

/// Broker logging: INFO to stdout (the broker's log file), the chattiest loggers at WARN.
pub(crate) const LOG4J2: &str = "\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = INFO
";

#[cfg(test)]
mod tests {
    use super::*;

    /// A test process that dies while the storage is formatted (no JVM yet) leaves no directory:
    /// the reaper runs from the start.
    #[test]
    fn the_reaper_removes_a_directory_before_the_jvm_starts() {
        let dir = tempfile::Builder::new().prefix("kmigrate-kafka-").tempdir().unwrap().keep();
        std::fs::write(dir.join("server.properties"), "").unwrap();
        let (mut reaper, stdin) = spawn_reaper(&dir).unwrap();
        drop(stdin);
        reaper.wait().unwrap();
        assert!(!dir.exists(), "{} is still there", dir.display());
    }
}
