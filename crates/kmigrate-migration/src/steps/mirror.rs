//! MirrorMaker 2 on Kafka Connect (`sync.by: mirrormaker2`):
//!
//! - `connectors` submits the connectors kmigrate renders for the plan (`kmigrate_connect::mm2`)
//!   with `PUT /connectors/<name>/config` (the same config again changes nothing), once every
//!   topic exists on the target, and waits until the source connector's tasks run;
//! - `mirror:<t>` watches one topic's copy: per partition, the last source offset the connector
//!   committed (Connect commits a source task's offsets once the target acknowledged the records)
//!   against the source's end, until the cutover has passed and every partition is copied up to
//!   the end read after it. A connector or task that fails stops it, with the trace Connect gives;
//! - `stop-mirror` deletes the connectors once every group is positioned: a done step, so a re-run
//!   never deletes (or misses) them again.

use std::collections::BTreeMap;
use std::time::Instant;

use kmigrate_connect::mm2::{self, Mm2Inputs, Rendered};
use kmigrate_connect::{ConnectClient, ConnectError};
use kmigrate_dag::StepKind;
use kmigrate_kafka::TopicPartition;
use kmigrate_plan::Plan;

use super::context::{ConnectConfig, Context};
use super::copy::reconcile::read_chunk;
use super::errors::kafka_error;
use crate::executor::StepStatus;
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{ConnectorWaiting, PauseReason, ProgressDetail, StepSummary, StepWarning, WaitReason};
use crate::outputs::{self, ConnectorsOutputs, MirrorState, StopMirrorOutputs};

/// The connectors for `topics`, from resolved configurations (apply).
pub fn rendered(ctx: &Context, connect: &ConnectConfig, topics: &[String]) -> Rendered {
    let (s, t) = (ctx.source_config(), ctx.target_config());
    let groups: Vec<String> = ctx.plan.groups.iter().map(|g| g.id.clone()).collect();
    mm2::render(&Mm2Inputs {
        name_prefix: &connect.name_prefix,
        source_bootstrap: &s.bootstrap_servers,
        source_properties: &s.properties,
        target_bootstrap: &t.bootstrap_servers,
        target_properties: &t.properties,
        topics,
        groups: &groups,
        tasks: connect.tasks,
        overrides: &connect.overrides,
    })
}

/// The connectors as `kmigrate plan` shows them: from the plan as written (`${VAR}`s
/// unresolved), secrets masked. `None` unless the plan runs MirrorMaker 2.
pub fn shown(plan: &Plan, topics: &[String]) -> Option<Rendered> {
    let c = plan.connect.as_ref().filter(|_| plan.mirrors_data())?;
    let props = |c: &kmigrate_plan::Cluster| -> BTreeMap<String, String> {
        c.properties.iter().map(|p| (p.key.clone(), p.value.raw.clone())).collect()
    };
    let (sp, tp) = (props(&plan.source), props(&plan.target));
    let groups: Vec<String> = plan.groups.iter().map(|g| g.id.clone()).collect();
    let overrides: Vec<(String, String)> =
        c.properties.iter().map(|p| (p.key.clone(), p.value.raw.clone())).collect();
    let mut r = mm2::render(&Mm2Inputs {
        name_prefix: &c.name_prefix,
        source_bootstrap: &plan.source.bootstrap_servers.raw,
        source_properties: &sp,
        target_bootstrap: &plan.target.bootstrap_servers.raw,
        target_properties: &tp,
        topics,
        groups: &groups,
        tasks: c.tasks,
        overrides: &overrides,
    });
    for connector in &mut r.connectors {
        connector.config = mm2::masked(&connector.config);
    }
    Some(r)
}

fn client(ctx: &Context, connect: &ConnectConfig) -> ConnectClient {
    ConnectClient::new(&connect.url, ctx.options.connect_timeout)
}

/// Runs a Connect request on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConnectError> + Send + 'static,
) -> Result<T, StepError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StepError { transient: e.is_transient(), message: e.to_string() }),
        Err(e) => Err(StepError::fatal(format!("internal error: a Kafka Connect request panicked: {e}"))),
    }
}

pub async fn connectors(ctx: &Context, h: &StepHandle) -> StepResult {
    let connect = ctx.connect()?;
    let topics = ctx.topics(h);
    let r = rendered(ctx, connect, &topics);
    for u in &r.untranslated {
        h.warn(StepWarning::UntranslatedProperty { property: u.clone() });
    }
    let client = client(ctx, connect);
    let mut submitted = Vec::new();
    for c in &r.connectors {
        let (cl, name, config) = (client.clone(), c.name.clone(), c.config.clone());
        let created = blocking(move || cl.put_config(&name, &config)).await?;
        submitted.push((c.name.clone(), created));
    }
    // Wait until MirrorMaker runs: a config Connect accepts may still fail to start.
    let names = r.names();
    let deadline = super::wait::Deadline::after(ctx.options.wait_timeout);
    loop {
        let mut waiting = Vec::new();
        for name in &names {
            let (cl, n) = (client.clone(), name.clone());
            match blocking(move || cl.status(&n)).await? {
                Some(s) if s.failure().is_some() => {
                    return Err(StepError::fatal(format!(
                        "MirrorMaker 2 does not run: {}",
                        s.failure().unwrap_or_default()
                    )));
                }
                Some(s) if s.running() => {}
                // The checkpoint connector has no task while no plan group has offsets on the source.
                Some(s) if name != &names[0] && s.connector.state == "RUNNING" => {}
                Some(s) => {
                    waiting.push(ConnectorWaiting { name: name.clone(), state: Some(s.connector.state) })
                }
                None => waiting.push(ConnectorWaiting { name: name.clone(), state: None }),
            }
        }
        if waiting.is_empty() {
            break;
        }
        if deadline.passed() {
            return Ok(StepOutcome::Paused(PauseReason::MirrorTasksNotRunning {
                url: connect.url.clone(),
                waiting,
            }));
        }
        h.report(crate::Event::StepWaiting {
            step: h.id(),
            wait: WaitReason::MirrorTasks { url: connect.url.clone(), waiting },
        });
        if !ctx.pause_between_polls(h).await {
            return Ok(StepOutcome::Interrupted);
        }
    }
    Ok(StepOutcome::Done {
        summary: StepSummary::Connectors { url: connect.url.clone(), connectors: submitted },
        outputs: outputs::value(&ConnectorsOutputs { connectors: names, url: connect.url.clone() }),
    })
}

pub async fn mirror(ctx: &Context, h: &StepHandle) -> StepResult {
    let topic = h.step.subject().unwrap_or_default().to_string();
    let connect = ctx.connect()?;
    let client = client(ctx, connect);
    let submitted = rendered(ctx, connect, &ctx.topics(h));
    let names = submitted.names();
    let source_connector = mm2::source_name(&connect.name_prefix);
    let source = ctx.source().await?;
    let partitions = ctx.partitions(source, std::slice::from_ref(&topic)).await?;
    let recorded = h.checkpoint.read(|s| s.step(&h.id()).map(|st| outputs::mirror_in(&h.id(), &st.outputs)));
    let mut caught_up = recorded.transpose()?.is_some_and(|m| m.caught_up);
    let started = Instant::now();
    let mut first: Option<u64> = None;
    // The source's ends read once the cutover is done: every record produced before it is below.
    let mut ends: Option<BTreeMap<TopicPartition, i64>> = None;
    // Per partition, the next offset to copy at the last poll, and whether nothing is left after it.
    let mut last_next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    let mut drained: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    loop {
        for name in &names {
            let (cl, n) = (client.clone(), name.clone());
            match blocking(move || cl.status(&n)).await? {
                Some(s) => {
                    if let Some(f) = s.failure() {
                        return Err(StepError::fatal(format!("MirrorMaker 2 failed copying {topic}: {f}")));
                    }
                }
                None => {
                    // Deleted outside kmigrate: submit it again (it resumes from its offsets).
                    h.warn(StepWarning::ConnectorGone { name: name.clone(), url: connect.url.clone() });
                    let c = submitted.connectors.iter().find(|c| &c.name == name).expect("a rendered name");
                    let (cl, n, config) = (client.clone(), name.clone(), c.config.clone());
                    blocking(move || cl.put_config(&n, &config)).await?;
                }
            }
        }
        let cut = h.checkpoint.status(StepKind::Cutover.as_str()) == Some(StepStatus::Done);
        if cut && ends.is_none() {
            ends = Some(source.latest_offsets(&partitions).await.map_err(kafka_error)?);
        }
        let marks = source.watermarks(&partitions).await.map_err(kafka_error)?;
        let (cl, n) = (client.clone(), source_connector.clone());
        let committed = blocking(move || cl.mirrored_offsets(&n)).await?.unwrap_or_default();
        let (mut copied, mut lag) = (0u64, 0u64);
        let mut all_at_end = true;
        for p in &partitions {
            let w = marks[p];
            let next =
                committed.get(&(p.topic.clone(), p.partition)).map_or(w.earliest, |o| o + 1).max(w.earliest);
            let end = ends.as_ref().map_or(w.latest, |e| e[p]);
            copied += (next - w.earliest).max(0) as u64;
            let behind = (end - next).max(0) as u64;
            if behind > 0 && drained.get(p) != Some(&next) {
                // Offsets without records (transaction markers, aborted records, compaction) are
                // never committed: a partition stalled short of its end may hold nothing more.
                if last_next.get(p) == Some(&next) && read_chunk(source, p, next).await?.is_empty() {
                    drained.insert(p.clone(), next);
                }
            }
            last_next.insert(p.clone(), next);
            if behind > 0 && drained.get(p) != Some(&next) {
                all_at_end = false;
                lag += behind;
            }
        }
        if all_at_end && !caught_up {
            caught_up = true;
            h.save_outputs(outputs::value(&MirrorState { caught_up: true, copied: None }))?;
        }
        let base = *first.get_or_insert(copied);
        let rate = (copied - base.min(copied)) as f64 / started.elapsed().as_secs_f64().max(0.001);
        if cut && all_at_end {
            return Ok(StepOutcome::Done {
                summary: StepSummary::Mirror {
                    topic: topic.clone(),
                    records: copied,
                    partitions: partitions.len(),
                },
                outputs: outputs::value(&MirrorState { caught_up: true, copied: Some(copied) }),
            });
        }
        h.progress(
            copied,
            Some(copied + lag),
            "records",
            Some(ProgressDetail::Mirror { records_per_sec: rate, lag }),
        );
        if !ctx.pause_between_polls(h).await {
            return Ok(StepOutcome::Interrupted);
        }
    }
}

pub async fn stop(ctx: &Context, _h: &StepHandle) -> StepResult {
    let connect = ctx.connect()?;
    let client = client(ctx, connect);
    let mut deleted = Vec::new();
    let mut absent = Vec::new();
    for name in kmigrate_dag::connector_names(&ctx.plan) {
        let (cl, n) = (client.clone(), name.clone());
        if blocking(move || cl.delete(&n)).await? {
            deleted.push(name);
        } else {
            absent.push(name);
        }
    }
    Ok(StepOutcome::Done {
        outputs: outputs::value(&StopMirrorOutputs { deleted: deleted.clone(), absent: absent.clone() }),
        summary: StepSummary::StopMirror { url: connect.url.clone(), deleted, absent },
    })
}
