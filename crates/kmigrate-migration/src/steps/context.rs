//! What every step shares: the plan, the options of this run, and the two cluster clients
//! (connected on first use, so that a plan whose steps are all done never connects).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use kmigrate_kafka::{Cluster, ClusterConfig, ConnectOptions, TopicPartition};
use kmigrate_plan::{Plan, PlanDiagnostic};
use tokio::sync::OnceCell;

use super::errors::kafka_error;
use crate::executor::{StepError, StepHandle};

/// Options of one apply run that steps act on.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--approve cutover` was given.
    pub approve_cutover: bool,
    /// `--cutover-at`: the cutover time to record at the manual gate.
    pub cutover_at: Option<DateTime<FixedOffset>>,
    /// `--wait-timeout`: how long a wait may last in this run before pausing.
    pub wait_timeout: Option<Duration>,
    /// `--connect-timeout`: how long to wait for a cluster that does not answer (the connect, each
    /// request, an outage of the source or a target that acknowledges nothing during a copy) before
    /// the step fails.
    pub connect_timeout: Duration,
    /// How often waits poll the clusters.
    pub poll_interval: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            approve_cutover: false,
            cutover_at: None,
            wait_timeout: None,
            connect_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
        }
    }
}

pub struct Context {
    pub plan: Arc<Plan>,
    /// Directory of the plan file: `export` and `from_file` paths are relative to it.
    pub plan_dir: PathBuf,
    pub options: RunOptions,
    source_config: ClusterConfig,
    target_config: ClusterConfig,
    source: OnceCell<Cluster>,
    target: OnceCell<Cluster>,
    connect: Option<ConnectConfig>,
    /// The partitions aligned in this apply (`sync.by` external or MirrorMaker 2), shared by
    /// every group that reads them.
    pub(super) alignments: super::align::Alignments,
}

/// `sync.connect` with its `${VAR}`s resolved (`sync.by: mirrormaker2`).
#[derive(Clone)]
pub struct ConnectConfig {
    pub url: String,
    pub name_prefix: String,
    pub tasks: Option<u32>,
    /// `sync.connect.properties`, set on top of the rendered connector configs.
    pub overrides: Vec<(String, String)>,
}

/// Resolves `sync.connect` (`None` unless the plan runs MirrorMaker 2); every missing variable
/// is reported at its line in the plan.
pub fn connect_config(
    plan: &Plan,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ConnectConfig>, Vec<PlanDiagnostic>> {
    let Some(c) = plan.connect.as_ref().filter(|_| plan.mirrors_data()) else { return Ok(None) };
    let mut missing = Vec::new();
    let mut resolve = |t: &kmigrate_plan::Template| match t.resolve(lookup) {
        Ok(v) => v,
        Err(vars) => {
            missing.extend(vars.iter().map(|m| kmigrate_plan::missing_var_diagnostic(&plan.source_file, m)));
            String::new()
        }
    };
    let url = resolve(&c.url).trim_end_matches('/').to_string();
    let overrides = c.properties.iter().map(|p| (p.key.clone(), resolve(&p.value))).collect();
    let config = ConnectConfig { url, name_prefix: c.name_prefix.clone(), tasks: c.tasks, overrides };
    if missing.is_empty() { Ok(Some(config)) } else { Err(missing) }
}

/// Builds the two client configurations, resolving `${VAR}` references with `lookup`. Every
/// missing variable is reported, at its line in the plan.
pub fn cluster_configs(
    plan: &Plan,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(ClusterConfig, ClusterConfig), Vec<PlanDiagnostic>> {
    let mut missing = Vec::new();
    let mut build = |label: &str, c: &kmigrate_plan::Cluster| {
        let mut resolve = |t: &kmigrate_plan::Template| match t.resolve(lookup) {
            Ok(v) => v,
            Err(vars) => {
                missing
                    .extend(vars.iter().map(|m| kmigrate_plan::missing_var_diagnostic(&plan.source_file, m)));
                String::new()
            }
        };
        let mut config = ClusterConfig::new(label, resolve(&c.bootstrap_servers));
        if c.bootstrap_servers.raw.contains("${") {
            config = config.with_bootstrap_template(c.bootstrap_servers.raw.clone());
        }
        for p in &c.properties {
            config = config.with_property(p.key.clone(), resolve(&p.value));
        }
        config
    };
    let source = build("source", &plan.source);
    let target = build("target", &plan.target);
    if missing.is_empty() { Ok((source, target)) } else { Err(missing) }
}

impl Context {
    pub fn new(
        plan: Arc<Plan>,
        plan_dir: PathBuf,
        options: RunOptions,
        source_config: ClusterConfig,
        target_config: ClusterConfig,
    ) -> Self {
        Context {
            plan,
            plan_dir,
            options,
            source_config,
            target_config,
            source: OnceCell::new(),
            target: OnceCell::new(),
            connect: None,
            alignments: Default::default(),
        }
    }

    /// `--connect-timeout` bounds the connect and every request: how long apply waits for a cluster
    /// that does not answer before the step fails (and is retried, for passing failures).
    fn connect_options(&self) -> ConnectOptions {
        let t = self.options.connect_timeout;
        ConnectOptions::new(t).request_timeout(t)
    }

    /// The resolved `sync.connect` (see [`connect_config`]), for plans that run MirrorMaker 2.
    pub fn with_connect(mut self, connect: Option<ConnectConfig>) -> Self {
        self.connect = connect;
        self
    }

    /// The Connect cluster of a MirrorMaker 2 plan.
    pub fn connect(&self) -> Result<&ConnectConfig, StepError> {
        self.connect.as_ref().ok_or_else(|| {
            StepError::fatal("internal error: no Kafka Connect configuration for sync.by: mirrormaker2")
        })
    }

    pub fn source_config(&self) -> &ClusterConfig {
        &self.source_config
    }

    pub fn target_config(&self) -> &ClusterConfig {
        &self.target_config
    }

    pub async fn source(&self) -> Result<&Cluster, StepError> {
        self.source
            .get_or_try_init(|| Cluster::connect_with(self.source_config.clone(), self.connect_options()))
            .await
            .map_err(kafka_error)
    }

    pub async fn target(&self) -> Result<&Cluster, StepError> {
        self.target
            .get_or_try_init(|| Cluster::connect_with(self.target_config.clone(), self.connect_options()))
            .await
            .map_err(kafka_error)
    }

    /// The concrete topics of the plan: named ones, then those patterns matched (as recorded by
    /// the expand steps).
    pub fn topics(&self, handle: &StepHandle) -> Vec<String> {
        concrete_topics(&self.plan, &handle.checkpoint.snapshot().expansion)
    }

    /// The partitions of `topics` on a cluster, in order.
    pub async fn partitions(
        &self,
        cluster: &Cluster,
        topics: &[String],
    ) -> Result<Vec<TopicPartition>, StepError> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let found = cluster.topics(&names).await.map_err(kafka_error)?;
        let mut out = Vec::new();
        for t in topics {
            let info = found.get(t).ok_or_else(|| {
                StepError::fatal(format!("topic {t} does not exist on the {} cluster", cluster.label()))
            })?;
            out.extend(info.partitions.iter().map(|p| TopicPartition::new(t.clone(), p.id)));
        }
        Ok(out)
    }

    /// Waits `poll_interval`, unless the step is asked to stop first (then `false`).
    pub async fn pause_between_polls(&self, handle: &StepHandle) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(self.options.poll_interval) => true,
            _ = handle.stopped() => false,
        }
    }
}

/// The concrete topics of `plan`: named ones, then those the patterns matched according to
/// `expansion` (the DAG's rule, `kmigrate_dag::concrete_topics`, by name).
pub(crate) fn concrete_topics(plan: &Plan, expansion: &kmigrate_dag::Expansion) -> Vec<String> {
    kmigrate_dag::concrete_topics(plan, expansion).into_iter().map(|t| t.name).collect()
}
