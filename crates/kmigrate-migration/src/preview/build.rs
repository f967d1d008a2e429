//! From what was read (or nothing, offline) to the preview of every step. Pure: no I/O but the
//! plan's own offset files (`from_file`, and the `export` files of self-stored groups).

use std::collections::BTreeMap;

use kmigrate_dag::{Expansion, StepGraph, StepKind};
use kmigrate_kafka::{TopicConfig, TopicInfo, TopicPartition, Watermarks};
use kmigrate_plan::{CutoverMode, GroupSpec, OffsetStore, TopicSelector};

use super::PreviewInput;
use super::configs::{min_insync, value_problem};
use super::known::{copy_state, cutover_time, is_done, partitions_of, saved_decision};
use super::model::*;
use super::read::{BYTES_SAMPLE, Live};
use crate::compression::{CopyCompression, copy_compression};
use crate::executor::StepStatus;
use crate::rules::groups::topics_read;
use crate::rules::topic::{TopicChange, change, desired, spec_for};
use crate::steps::concrete_topics;
use crate::steps::copy::{CopyState, exact_from};
use crate::steps::export;
use crate::steps::offsets::{Facts, decide_partitions, read_from_file, rule_for_group, unusable_timestamps};
use crate::strategy::{Rule, TimeAnswer};

/// One step's prediction, before the checkpoint is applied to it.
struct Built {
    change: Change,
    action: Action,
    problems: Vec<String>,
    notes: Vec<String>,
}

impl Built {
    fn new(change: Change, action: Action) -> Self {
        Built { change, action, problems: Vec::new(), notes: Vec::new() }
    }

    /// `Impossible` as soon as there is a problem.
    fn checked(mut self) -> Self {
        if !self.problems.is_empty() {
            self.change = Change::Impossible;
        }
        self
    }
}

struct Ctx<'a> {
    input: &'a PreviewInput<'a>,
    /// The concrete topics (named, then the patterns' matches).
    topics: Vec<String>,
    expansion: &'a Expansion,
    /// Patterns whose topics the checkpoint recorded.
    recorded: &'a [String],
    live: Option<&'a Live>,
}

pub(super) fn build(
    input: &PreviewInput<'_>,
    graph: &StepGraph,
    expansion: &Expansion,
    recorded: &[String],
    live: Option<&Live>,
) -> PlanPreview {
    let plan = input.plan;
    let ctx = Ctx { input, topics: concrete_topics(plan, expansion), expansion, recorded, live };
    let reruns = input.state.map(|s| crate::replan::reruns(graph, s)).unwrap_or_default();
    let mut steps = Vec::new();
    for step in graph.steps() {
        let id = step.id.to_string();
        let subject = step.subject().unwrap_or_default();
        let group = || plan.groups.iter().find(|g| g.id == subject).expect("a group step names a plan group");
        let mut built = match step.kind() {
            StepKind::Preflight => preflight(&ctx),
            StepKind::Expand => expand(&ctx, subject),
            StepKind::Topic => topic(&ctx, subject),
            StepKind::Copy => copy(&ctx, subject),
            StepKind::Connectors => connectors(&ctx),
            StepKind::Mirror => mirror(&ctx, subject),
            StepKind::StopMirror => Built::new(
                Change::Change,
                Action::StopMirror(StopMirrorAction { connectors: kmigrate_dag::connector_names(plan) }),
            ),
            StepKind::Cutover => cutover_step(&ctx),
            StepKind::Synced => Built::new(
                Change::Wait,
                Action::Synced(SyncedAction { copies: graph.dependencies(&step.id).len() }),
            ),
            StepKind::Drain => drain(&ctx, group()),
            StepKind::Offsets => offsets(&ctx, group()),
            StepKind::Verify => Built::new(
                Change::Check,
                Action::Verify(VerifyAction {
                    groups: plan.groups.len(),
                    copies: graph.steps().filter(|s| s.kind() == StepKind::Copy).count(),
                }),
            ),
        };
        let st = input.state.and_then(|s| s.step(&id));
        let rerun = reruns.get(&id);
        let mut plan_changed = false;
        let mut done_summary = None;
        let mut earlier = None;
        if let Some(st) = st {
            match st.status {
                StepStatus::Done => match rerun {
                    None => {
                        built.change = Change::Done;
                        built.problems.clear();
                        done_summary = st.summary.clone();
                    }
                    Some(crate::replan::Rerun::Changed) => {
                        plan_changed = true;
                        earlier = Some(Earlier::DoneButChanged);
                    }
                    Some(crate::replan::Rerun::Downstream(of)) => {
                        earlier = Some(Earlier::DoneUpstreamChanged { step: of.clone() })
                    }
                },
                StepStatus::Failed => earlier = Some(Earlier::Failed { error: st.error.clone() }),
                StepStatus::Waiting => earlier = Some(Earlier::Waiting),
                StepStatus::Running => earlier = Some(Earlier::Interrupted),
                StepStatus::Pending => {}
            }
        }
        steps.push(StepPreview {
            step: id,
            change: built.change,
            status: st.map(|s| s.status),
            plan_changed,
            done_summary: None,
            done: done_summary,
            earlier,
            action: built.action,
            problems: built.problems,
            notes: built.notes,
        });
    }
    let summary = summarize(&steps, live.is_none());
    PlanPreview {
        format_version: FORMAT_VERSION,
        plan: plan.name.clone(),
        offline: live.is_none(),
        source: plan.source.bootstrap_servers.raw.clone(),
        target: plan.target.bootstrap_servers.raw.clone(),
        applied_before: input.state.is_some(),
        steps,
        summary,
    }
}

fn summarize(steps: &[StepPreview], offline: bool) -> Summary {
    let mut s = Summary { steps: steps.len(), ..Summary::default() };
    let mut records = 0;
    for step in steps {
        match (step.change, &step.action) {
            (Change::Done, _) => s.steps_done += 1,
            (Change::Impossible, _) => s.impossible += 1,
            (Change::Create, Action::Topic(_)) => s.topics_to_create += 1,
            (Change::Change, Action::Topic(_)) => s.topics_to_change += 1,
            (Change::Unchanged, Action::Topic(_)) => s.topics_unchanged += 1,
            (Change::Unknown, Action::Topic(_)) => s.topics_to_create_or_verify += 1,
            (Change::Create | Change::Unknown, Action::Copy(c)) => {
                s.copies += 1;
                records += c.records.unwrap_or(0);
            }
            (Change::Change | Change::Unknown, Action::Offsets(_)) => s.groups_to_reset += 1,
            _ => {}
        }
    }
    s.records_to_copy = (!offline).then_some(records);
    s.changes =
        s.topics_to_create + s.topics_to_change + s.topics_to_create_or_verify + s.copies + s.groups_to_reset
            > 0;
    s
}

fn replication_factor(t: &TopicInfo) -> usize {
    t.partitions.iter().map(|p| p.replicas.len()).max().unwrap_or(0)
}

// --- the steps ----------------------------------------------------------------------------------

fn preflight(ctx: &Ctx) -> Built {
    let plan = ctx.input.plan;
    let mut built = Built::new(
        Change::Check,
        Action::Preflight(PreflightAction {
            topics: plan.named_topics().count(),
            groups: plan.groups.len(),
            source_brokers: ctx.live.map(|l| l.source_md.brokers.len()),
            target_brokers: ctx.live.map(|l| l.target_md.brokers.len()),
        }),
    );
    let Some(live) = ctx.live else { return built };
    let checked =
        crate::rules::preflight::check(plan, &live.source_md, &live.target_md, &live.source_committed);
    built.problems.extend(checked.problems.iter().map(ToString::to_string));
    built.checked()
}

fn expand(ctx: &Ctx, pattern: &str) -> Built {
    let recorded = ctx.recorded.iter().any(|p| p == pattern);
    let topics =
        (recorded || ctx.live.is_some()).then(|| ctx.expansion.get(pattern).cloned().unwrap_or_default());
    let entry = ctx
        .input
        .plan
        .topics
        .iter()
        .find(|t| matches!(&t.selector, TopicSelector::Pattern(re) if re.as_str() == pattern));
    let config = entry.map(|e| e.config.clone()).unwrap_or_default();
    let mut built = Built::new(
        Change::Check,
        Action::Expand(ExpandAction {
            pattern: pattern.to_string(),
            topics: topics.clone(),
            recorded,
            partitions: entry.and_then(|e| e.partitions),
            config: config.clone(),
        }),
    );
    if topics.is_some_and(|t| t.is_empty()) {
        built.notes.push(format!("pattern {pattern} matches no topic on the source"));
    }
    // Offline, no topic step shows the entry's configs yet: check their values here.
    if ctx.live.is_none() {
        built.problems.extend(config.iter().filter_map(|(k, v)| value_problem(k, v)));
    }
    built.checked()
}

fn topic(ctx: &Ctx, name: &str) -> Built {
    let plan = ctx.input.plan;
    let spec = spec_for(plan, name).expect("a topic step's topic is in the plan");
    let mut action = TopicAction {
        topic: name.to_string(),
        source: None,
        target: None,
        partitions: spec.partitions.map(|p| p as i32),
        partitions_change: None,
        configs: Vec::new(),
        extra_configs: BTreeMap::new(),
    };
    let Some(live) = ctx.live else {
        // Offline: the plan's own overrides are known, and whether the target accepts their values.
        action.configs = spec.config.iter().map(|(k, v)| set(k, None, false, v)).collect();
        let problems = action.configs.iter().filter_map(|c| value_problem(&c.name, &c.to)).collect();
        return Built { problems, ..Built::new(Change::Unknown, Action::Topic(action)) }.checked();
    };
    let Some(src) = live.source_md.topics.get(name) else {
        let mut built = Built::new(Change::Impossible, Action::Topic(action));
        built.problems.push(format!("topic {name} does not exist on the source cluster"));
        return built;
    };
    let src_partitions = src.partition_count() as i32;
    let src_overrides = live.source_configs.get(name).map(TopicConfig::overrides).unwrap_or_default();
    action.source = Some(TopicShape {
        partitions: src_partitions,
        replication_factor: replication_factor(src),
        configs: src_overrides.clone(),
    });
    let tgt = live.target_md.topics.get(name);
    let tgt_config = live.target_configs.get(name);
    let tgt_overrides = tgt_config.map(TopicConfig::overrides).unwrap_or_default();
    if let Some(t) = tgt {
        action.target = Some(TopicShape {
            partitions: t.partition_count() as i32,
            replication_factor: replication_factor(t),
            configs: tgt_overrides.clone(),
        });
    }
    let want = match desired(src_partitions, &src_overrides, spec) {
        Ok(w) => w,
        Err(reason) => {
            let mut built = Built::new(Change::Impossible, Action::Topic(action));
            built.problems.push(reason);
            return built;
        }
    };
    action.partitions = Some(want.partitions);
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mark = match change(&want, src_partitions, tgt.map(|t| (t.partition_count() as i32, &tgt_overrides)))
    {
        TopicChange::Create(d) => {
            action.configs = d.configs.iter().map(|(k, v)| set(k, None, false, v)).collect();
            Change::Create
        }
        TopicChange::Update { partitions, configs, extra } => {
            action.partitions_change = partitions.map(|(from, to)| PartitionsChange { from, to });
            action.configs = configs
                .iter()
                .map(|(k, (old, new))| match old {
                    Some(old) => set(k, Some(old.clone()), false, new),
                    // Not set on the topic: show what applies there now (the broker's default).
                    None => {
                        let effective =
                            tgt_config.and_then(|c| c.entries.get(k)).and_then(|e| e.value.clone());
                        let is_default = effective.is_some();
                        set(k, effective, is_default, new)
                    }
                })
                .collect();
            action.extra_configs = extra;
            Change::Change
        }
        TopicChange::Unchanged { extra } => {
            action.extra_configs = extra;
            Change::Unchanged
        }
        TopicChange::Impossible { reason } => {
            problems.push(reason);
            Change::Impossible
        }
    };
    // What the target would refuse: config values and names, and replication it cannot hold.
    for c in &action.configs {
        problems.extend(value_problem(&c.name, &c.to));
        if live.target_config_names.as_ref().is_some_and(|names| !names.contains(&c.name)) {
            problems.push(format!(
                "the target does not know the topic config {}: it rejects it (check the name)",
                c.name
            ));
        }
    }
    let brokers = live.target_md.brokers.len();
    let tgt_rf = tgt.map(replication_factor).filter(|rf| *rf > 0);
    if let Some(m) = min_insync(&want.configs) {
        if m > brokers {
            problems.push(format!(
                "min.insync.replicas = {m} needs at least {m} replicas, but the target has {brokers} broker(s): producers with acks=all could never write"
            ));
        } else if let Some(rf) = tgt_rf.filter(|rf| *rf < m) {
            problems.push(format!(
                "min.insync.replicas = {m} needs at least {m} replicas, but the target topic has replication factor {rf}"
            ));
        }
    }
    let src_rf = replication_factor(src);
    if tgt.is_none() && src_rf > brokers {
        notes.push(format!(
            "the source topic has replication factor {src_rf} and the target {brokers} broker(s): the topic gets the target's default replication factor"
        ));
    }
    if !action.extra_configs.is_empty() {
        let list: Vec<String> = action.extra_configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        notes.push(format!(
            "target configs the source does not have are left as they are: {}",
            list.join(", ")
        ));
    }
    Built { change: mark, action: Action::Topic(action), problems, notes }.checked()
}

/// The codec `copy:<t>` will write with ([`crate::compression`]): the target topic's
/// `compression.type` as the topic step leaves it is the plan's topic config, else the source
/// topic's (both copied), else the target topic's own. Offline, without the plan's word on it, it
/// depends on the source: `None`.
fn planned_compression(ctx: &Ctx, topic: &str) -> Option<CopyCompression> {
    const KEY: &str = "compression.type";
    let plan = ctx.input.plan;
    let plan_codec = plan.compression.map(|c| c.codec);
    let in_plan = spec_for(plan, topic).and_then(|s| s.config.get(KEY).cloned());
    let topic_type = match ctx.live {
        Some(live) => in_plan
            .or_else(|| live.source_configs.get(topic).and_then(|c| c.overrides().remove(KEY)))
            .or_else(|| live.target_configs.get(topic).and_then(|c| c.overrides().remove(KEY))),
        None if plan_codec.is_none() && in_plan.is_none() => return None,
        None => in_plan,
    };
    Some(copy_compression(plan_codec, topic_type.as_deref()))
}

fn set(name: &str, from: Option<String>, from_default: bool, to: &str) -> ConfigChange {
    ConfigChange { name: name.to_string(), from, from_default, to: to.to_string() }
}

fn copy(ctx: &Ctx, topic: &str) -> Built {
    let state = copy_state(ctx.input.state, topic);
    let mut action = CopyAction {
        topic: topic.to_string(),
        partitions: state.partitions.len(),
        records: None,
        bytes: None,
        bytes_exact: false,
        copied: state.copied(),
        compression: planned_compression(ctx, topic),
    };
    let Some(live) = ctx.live else { return Built::new(Change::Unknown, Action::Copy(action)) };
    let Some(src) = live.source_md.topics.get(topic) else {
        let mut built = Built::new(Change::Unchanged, Action::Copy(action));
        built.notes.push(format!("topic {topic} does not exist on the source cluster: nothing to copy"));
        return built;
    };
    action.partitions = src.partition_count();
    let (mut records, mut sampled_records, mut sampled_bytes, mut exact) = (0u64, 0u64, 0u64, true);
    let mut after_copy = Vec::new();
    for p in &src.partitions {
        let tp = TopicPartition::new(topic, p.id);
        let w = live.source_marks[&tp];
        let start = state.resume_offset(p.id, w);
        let left = (w.latest - start).max(0);
        if left == 0 {
            continue;
        }
        after_copy.push(format!("{tp} offsets {start}..{}", w.latest));
        records += left as u64;
        exact &= left <= BYTES_SAMPLE;
        match live.samples.get(&tp) {
            Some(s) => {
                sampled_records += s.records;
                sampled_bytes += s.bytes;
            }
            None => exact = false,
        }
    }
    action.records = Some(records);
    action.bytes_exact = exact;
    action.bytes = if exact {
        Some(sampled_bytes)
    } else {
        (sampled_records > 0)
            .then(|| (records as u128 * sampled_bytes as u128 / sampled_records as u128) as u64)
    };
    let mut built =
        Built::new(if records > 0 { Change::Create } else { Change::Unchanged }, Action::Copy(action));
    if state.copied() > 0 {
        built.notes.push(format!("{} records were copied by an earlier apply", state.copied()));
    }
    if ctx.input.state.is_some_and(|s| is_done(s, &crate::outputs::copy_step(topic))) && records > 0 {
        // The copy is over: what the source holds after its end never reaches the target.
        built.notes.push(format!(
            "the copy finished, but the source holds {records} offsets after its end (records written after the copy ended, or transaction markers): {}; records among them are not on the target (verify counts them)",
            after_copy.join(", ")
        ));
    }
    built
}

/// The connectors apply submits, as the plan writes them (secrets masked).
fn connectors(ctx: &Ctx) -> Built {
    let plan = ctx.input.plan;
    let rendered = crate::steps::mirror::shown(plan, &ctx.topics)
        .unwrap_or_else(|| kmigrate_connect::Rendered { connectors: Vec::new(), untranslated: Vec::new() });
    let url = plan.connect.as_ref().map(|c| c.url.raw.clone()).unwrap_or_default();
    let mut built = Built::new(
        Change::Create,
        Action::Connectors(ConnectorsAction {
            url,
            connectors: rendered.connectors,
            untranslated: rendered.untranslated.clone(),
        }),
    );
    for u in rendered.untranslated {
        built.notes.push(format!(
            "{u}: no equivalent in MirrorMaker's Java clients, not passed (set the Java client's own in sync.connect.properties)"
        ));
    }
    if ctx.topics.len() < plan.topics.len() && ctx.live.is_none() {
        built.notes.push("topics matched by patterns are added once the source is read".into());
    }
    match ctx.live.and_then(|l| l.connect.as_ref()) {
        Some(Ok(facts)) => {
            built.notes.push(format!("Kafka Connect {} answers at {}", facts.version, built_url(&built)));
            if !facts.mirror_plugin {
                built.problems.push(format!(
                    "the Kafka Connect workers cannot run {} (connect-mirror is not on their classpath or plugin.path)",
                    kmigrate_connect::mm2::SOURCE_CONNECTOR_CLASS
                ));
            }
            if !facts.existing.is_empty() {
                built.change = Change::Change;
                built.notes.push(format!(
                    "{} exist already: apply replaces their configs with these",
                    facts.existing.join(", ")
                ));
            }
        }
        Some(Err(e)) => built.problems.push(e.clone()),
        None => {}
    }
    built.checked()
}

fn built_url(built: &Built) -> &str {
    match &built.action {
        Action::Connectors(a) => &a.url,
        _ => "",
    }
}

fn mirror(ctx: &Ctx, topic: &str) -> Built {
    let records = ctx.live.map(|live| {
        live.source_marks.iter().filter(|(p, _)| p.topic == topic).map(|(_, w)| w.len() as u64).sum::<u64>()
    });
    let change = match records {
        None => Change::Unknown,
        Some(0) => Change::Unchanged,
        Some(_) => Change::Create,
    };
    Built::new(change, Action::Mirror(MirrorAction { topic: topic.to_string(), records }))
}

fn cutover_step(ctx: &Ctx) -> Built {
    let plan = ctx.input.plan;
    let margin = plan.cutover.margin;
    let recorded = ctx.input.state.is_some_and(|s| is_done(s, "cutover"));
    let (mode, at, idle, passed) = match &plan.cutover.mode {
        CutoverMode::At(at) => ("at", Some(at.to_rfc3339()), None, Some(*at <= ctx.input.now)),
        CutoverMode::Manual => ("manual", None, None, None),
        CutoverMode::Detect { idle } => {
            ("detect", None, Some(humantime::format_duration(*idle).to_string()), None)
        }
    };
    Built::new(
        Change::Wait,
        Action::Cutover(CutoverAction {
            mode: mode.to_string(),
            at,
            idle,
            margin: (!margin.is_zero()).then(|| humantime::format_duration(margin).to_string()),
            time: cutover_time(ctx.input).map(|t| t.to_rfc3339()),
            recorded,
            passed,
        }),
    )
}

fn drain(ctx: &Ctx, group: &GroupSpec) -> Built {
    let mut action = DrainAction { group: group.id.clone(), partitions: None, lag: None, behind: Vec::new() };
    let Some(live) = ctx.live else { return Built::new(Change::Wait, Action::Drain(action)) };
    let committed = live.source_committed.get(&group.id);
    let read = match topics_read(ctx.topics.clone(), group, committed) {
        Ok(r) => r,
        Err(problem) => {
            let mut built = Built::new(Change::Impossible, Action::Drain(action));
            built.problems.push(problem);
            return built;
        }
    };
    let read: Vec<&str> = read.iter().map(String::as_str).collect();
    let partitions = partitions_of(&live.source_md, &read);
    let mut behind = Vec::new();
    for p in &partitions {
        let w = live.source_marks[p];
        let c = committed.and_then(|c| c.get(p)).copied();
        // No commit yet: everything retained is still to be consumed.
        let lag = (w.latest - c.unwrap_or(w.earliest)).max(0);
        if lag > 0 {
            behind.push(PartitionLag {
                topic: p.topic.clone(),
                partition: p.partition,
                committed: c,
                end: w.latest,
                lag,
            });
        }
    }
    behind.sort_by(|a, b| b.lag.cmp(&a.lag).then((&a.topic, a.partition).cmp(&(&b.topic, b.partition))));
    action.partitions = Some(partitions.len());
    action.lag = Some(behind.iter().map(|b| b.lag).sum());
    action.behind = behind;
    Built::new(Change::Wait, Action::Drain(action))
}

fn rule_name(rule: &Rule) -> &'static str {
    match rule {
        Rule::Latest => "latest",
        Rule::Earliest => "earliest",
        Rule::ByTime { .. } => "by-time",
        Rule::ExactFromMap => "exact-from-map",
        Rule::ExactFromAlignment => "exact-from-alignment",
        Rule::FromFile => "from-file",
    }
}

/// The rule, and the note of a decision, as one text: `earliest (retention trimmed 0..1200)`.
fn rule_with_note(rule: &Rule, note: Option<&str>) -> String {
    match note {
        Some(n) => format!("{rule} ({n})"),
        None => rule.to_string(),
    }
}

/// What a self-stored group's export file holds now (none if it does not exist yet).
fn exported(ctx: &Ctx, group: &GroupSpec) -> Result<BTreeMap<TopicPartition, i64>, String> {
    let Some(rel) = &group.export else { return Ok(BTreeMap::new()) };
    let path = ctx.input.plan_dir.join(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => export::parse_csv(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn offsets(ctx: &Ctx, group: &GroupSpec) -> Built {
    let input = ctx.input;
    let plan = input.plan;
    let t = cutover_time(input);
    let rule = rule_for_group(plan, group, t.unwrap_or_default());
    let rule_text = match (&rule, t) {
        (Rule::ByTime { .. }, None) => "by time of cutover".to_string(),
        _ => rule.to_string(),
    };
    let mut action = OffsetsAction {
        group: group.id.clone(),
        store: group.offsets.to_string(),
        export: group.export.as_ref().map(|p| p.display().to_string()),
        rule: rule_name(&rule).to_string(),
        rule_text: rule_text.clone(),
        cutover_time: t.map(|t| t.to_rfc3339()),
        partitions: Vec::new(),
        resolved_at_apply: None,
        duplicates: None,
        mirrormaker2: None,
    };
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let current: BTreeMap<TopicPartition, i64> = match group.offsets {
        OffsetStore::BrokerManaged => {
            ctx.live.and_then(|l| l.target_committed.get(&group.id)).cloned().unwrap_or_default()
        }
        OffsetStore::SelfStored => exported(ctx, group).unwrap_or_else(|e| {
            notes.push(format!("the export file is not a valid offsets file ({e}): apply replaces it"));
            BTreeMap::new()
        }),
    };

    // MirrorMaker 2's own translation, beside kmigrate's start.
    if let Some(cps) = ctx.live.and_then(|l| l.mm2_checkpoints.get(&group.id)).filter(|c| !c.is_empty()) {
        action.mirrormaker2 = Some(match saved_decision(input, group) {
            Some(decided) => Mm2Preview::Beside {
                starts: crate::steps::mm2_translation::compare(&decided, cps),
                partitions: decided.partitions.len(),
            },
            None => Mm2Preview::Alone {
                checkpoints: cps
                    .iter()
                    .map(|(p, c)| Mm2Checkpoint {
                        topic: p.topic.clone(),
                        partition: p.partition,
                        upstream: c.upstream,
                        mirrormaker: c.downstream,
                    })
                    .collect(),
            },
        });
    }
    // Decided by an earlier apply: apply commits (or exports) exactly that, again if need be.
    if let Some(decided) = saved_decision(input, group) {
        action.rule = rule_name(&decided.rule).to_string();
        action.rule_text = decided.rule.to_string();
        action.cutover_time = Some(decided.cutover_time.clone());
        action.duplicates = Some(decided.duplicates);
        for d in &decided.partitions {
            let p = TopicPartition::new(d.topic.clone(), d.partition);
            action.partitions.push(OffsetRow {
                topic: d.topic.clone(),
                partition: d.partition,
                current: current.get(&p).copied(),
                offset: d.offset,
                rule: rule_with_note(&decided.rule, d.note.as_deref()),
                resolved_at_apply: false,
            });
        }
        notes.push(
            "decided by an earlier apply (saved in the checkpoint): apply sets exactly these offsets".into(),
        );
        return finish(action, problems, notes);
    }

    let Some(live) = ctx.live else {
        action.resolved_at_apply =
            Some("the partitions the group reads, and their offsets, are read from the clusters".into());
        return Built { problems, notes, ..Built::new(Change::Unknown, Action::Offsets(action)) }.checked();
    };
    let read = match topics_read(ctx.topics.clone(), group, live.source_committed.get(&group.id)) {
        Ok(r) => r,
        Err(problem) => {
            problems.push(problem);
            return finish(action, problems, notes);
        }
    };
    // Partitions of topics the target has, and of those a topic step creates.
    let mut existing = Vec::new();
    let mut created = Vec::new();
    for name in &read {
        // The partition count the topic step leaves (it creates or grows the topic to it).
        let wanted = live.source_md.topics.get(name).map(|src| {
            spec_for(plan, name).and_then(|s| s.partitions).map_or(src.partition_count() as i32, |p| p as i32)
        });
        let have = match live.target_md.topics.get(name) {
            Some(info) => {
                existing.extend(info.partitions.iter().map(|p| TopicPartition::new(name.clone(), p.id)));
                info.partition_count() as i32
            }
            None => 0,
        };
        if let Some(wanted) = wanted {
            created.extend((have..wanted).map(|p| (TopicPartition::new(name.clone(), p), have > 0)));
        }
    }

    let from_file = match (&rule, &group.from_file) {
        // Every partition the group will read, including those a topic step creates or adds.
        (Rule::FromFile, Some(path)) => {
            let all: Vec<TopicPartition> =
                existing.iter().chain(created.iter().map(|(p, _)| p)).cloned().collect();
            read_from_file(input.plan_dir, path, &all).unwrap_or_else(|e| {
                problems.push(e);
                BTreeMap::new()
            })
        }
        _ => BTreeMap::new(),
    };
    let marks: BTreeMap<TopicPartition, Watermarks> =
        existing.iter().map(|p| (p.clone(), live.target_marks[p])).collect();
    let exact = (matches!(rule, Rule::ExactFromMap) && exact_ready(ctx, group, &read)).then(|| {
        let committed = match group.offsets {
            OffsetStore::BrokerManaged => {
                let all = live.source_committed.get(&group.id);
                Some(existing.iter().map(|p| (p.clone(), all.and_then(|c| c.get(p)).copied())).collect())
            }
            OffsetStore::SelfStored => None,
        };
        let copies: BTreeMap<String, CopyState> =
            existing.iter().map(|p| (p.topic.clone(), copy_state(input.state, &p.topic))).collect();
        exact_from(&copies, committed.as_ref(), &existing, &marks)
    });
    action.duplicates = exact.as_ref().map(|e| e.duplicates);
    if let (Rule::ByTime { .. }, Some(t)) = (&rule, t)
        && t <= input.now
    {
        let mine: Vec<_> =
            live.inspected.iter().filter(|i| existing.contains(&i.partition)).cloned().collect();
        problems.extend(unusable_timestamps(&mine));
    }
    let facts = Facts { marks, by_time: live.by_time.clone(), from_file, exact };

    for p in &existing {
        let w = facts.marks[p];
        let pending = match &rule {
            Rule::Latest => {
                Some(format!("latest (the end of the partition after the cutover; now {})", w.latest))
            }
            Rule::ByTime { .. } if t.is_none() => Some(rule_text.clone()),
            Rule::ByTime { time } if *time > input.now => Some(format!("{rule_text} (after the cutover)")),
            Rule::ByTime { time } if facts.by_time.get(p) == Some(&TimeAnswer::End) => Some(format!(
                "{rule_text} (no record at or after {} yet: the end of the partition then; now {})",
                time.to_rfc3339(),
                w.latest
            )),
            Rule::ExactFromMap if facts.exact.is_none() => Some(format!(
                "{rule_text} (after the copy{})",
                if group.drain { " and the drain" } else { "" }
            )),
            // Aligning reads both logs whole: apply does it, not the dry run.
            Rule::ExactFromAlignment => Some(format!(
                "{rule_text} (apply reads both logs after the cutover{}; by time of the cutover if they cannot be aligned)",
                if group.drain { " and the drain" } else { "" }
            )),
            _ => None,
        };
        let (offset, how) = match pending {
            Some(why) => (None, format!("resolved at apply: {why}")),
            None => match decide_partitions(&rule, std::slice::from_ref(p), &facts) {
                Ok(d) => (d[0].offset, rule_with_note(&rule, d[0].note.as_deref())),
                Err(e) => {
                    problems.extend(e);
                    continue;
                }
            },
        };
        action.partitions.push(OffsetRow {
            topic: p.topic.clone(),
            partition: p.partition,
            current: current.get(p).copied(),
            offset,
            rule: how,
            resolved_at_apply: offset.is_none(),
        });
    }
    for (p, added) in &created {
        let by = if *added { "adds the partition" } else { "creates the topic" };
        action.partitions.push(OffsetRow {
            topic: p.topic.clone(),
            partition: p.partition,
            current: current.get(p).copied(),
            offset: None,
            rule: format!("resolved at apply: {rule_text} (topic:{} {by})", p.topic),
            resolved_at_apply: true,
        });
    }
    action.partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    finish(action, problems, notes)
}

/// Exact translation needs the whole offset map and the group's final position on the source:
/// the cutover recorded, the copies of its topics done, and its drain done (if it has one).
fn exact_ready(ctx: &Ctx, group: &GroupSpec, read: &[String]) -> bool {
    let Some(state) = ctx.input.state else { return false };
    is_done(state, "cutover")
        && read.iter().all(|t| is_done(state, &crate::outputs::copy_step(t)))
        && (!group.drain || is_done(state, &format!("drain:{}", group.id)))
}

fn finish(action: OffsetsAction, problems: Vec<String>, notes: Vec<String>) -> Built {
    let unchanged = action.partitions.iter().all(|r| r.offset.is_some() && r.offset == r.current)
        && action.resolved_at_apply.is_none();
    let change = if unchanged { Change::Unchanged } else { Change::Change };
    Built { change, action: Action::Offsets(action), problems, notes }.checked()
}
