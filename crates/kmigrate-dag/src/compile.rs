//! Compiling a validated plan into the sealed step graph.
//!
//! Which steps exist follows the strategy: `copy:<t>` only when kmigrate syncs the data,
//! `drain:<g>` only for groups whose position is visible on the source broker. Pattern topics
//! are unknown until the source cluster is read: without an [`Expansion`] each pattern is an
//! `expand:<pattern>` step; once the executor (or `kmigrate plan`) has listed the source's
//! topics, compiling again with the expansion adds the matched topics' steps behind it.

use std::collections::{BTreeMap, BTreeSet};

use kmigrate_plan::{CutoverMode, Plan, TopicSelector, TopicSpec};
use serde_json::json;

use crate::graph::{GraphBuilder, GraphError, StepGraph};
use crate::step::{Step, StepId};

/// The source topics each pattern matched: pattern (as written) → topic names.
pub type Expansion = BTreeMap<String, Vec<String>>;

/// A topic the graph handles, with the plan entry that governs it.
pub struct TopicEntry<'a> {
    pub name: String,
    pub spec: &'a TopicSpec,
    /// The pattern it came from, when it was not named explicitly.
    pub pattern: Option<String>,
}

/// Compiles `plan` into a sealed DAG. `expansion` gives the topics each pattern matched; a
/// pattern missing from it compiles to an `expand:<pattern>` step only.
pub fn compile(plan: &Plan, expansion: &Expansion) -> Result<StepGraph, GraphError> {
    let topics = concrete_topics(plan, expansion);
    let mut b = GraphBuilder::new();
    let preflight = StepId::preflight();
    b.add(Step { id: preflight.clone(), definition: preflight_definition(plan) });

    let mut expand_ids = Vec::new();
    for spec in &plan.topics {
        if let TopicSelector::Pattern(re) = &spec.selector {
            let id = StepId::expand(re.as_str());
            if b.contains(&id) {
                continue;
            }
            b.add(Step { id: id.clone(), definition: json!({ "pattern": re.as_str() }) });
            b.depend(&id, &preflight);
            expand_ids.push(id);
        }
    }

    let cutover = StepId::cutover();
    b.add(Step { id: cutover.clone(), definition: cutover_definition(plan) });
    // Transitively through the topic steps (a valid plan has at least one topic entry).
    if plan.topics.is_empty() {
        b.depend(&cutover, &preflight);
    }
    for id in &expand_ids {
        b.depend(&cutover, id);
    }

    let copies = plan.copies_data();
    // MirrorMaker 2: one `connectors` step submits the connectors once every topic exists (they
    // copy into the topics kmigrate made), then a `mirror:<t>` per topic watches them copy and
    // stands where `copy:<t>` would for everything downstream.
    let connectors = StepId::connectors();
    if let Some(connect) = plan.connect.as_ref().filter(|_| plan.mirrors_data()) {
        b.add(Step { id: connectors.clone(), definition: connectors_definition(plan, connect, &topics) });
        b.depend(&connectors, &preflight);
        for id in &expand_ids {
            b.depend(&connectors, id);
        }
    }
    let mirrors = b.contains(&connectors);
    let mut copy_ids = BTreeMap::new();
    for t in &topics {
        let topic = StepId::topic(&t.name);
        b.add(Step {
            id: topic.clone(),
            definition: json!({
                "topic": t.name,
                "partitions": t.spec.partitions,
                "config": t.spec.config,
            }),
        });
        b.depend(&topic, &preflight);
        if let Some(p) = &t.pattern {
            b.depend(&topic, &StepId::expand(p));
        }
        // Producers switch to the target only once every topic exists there.
        b.depend(&cutover, &topic);
        if copies {
            let copy = StepId::copy(&t.name);
            b.add(Step { id: copy.clone(), definition: json!({ "topic": t.name }) });
            b.depend(&copy, &topic);
            copy_ids.insert(t.name.clone(), copy);
        }
        if mirrors {
            b.depend(&connectors, &topic);
            let mirror = StepId::mirror(&t.name);
            b.add(Step { id: mirror.clone(), definition: json!({ "topic": t.name }) });
            b.depend(&mirror, &connectors);
            copy_ids.insert(t.name.clone(), mirror);
        }
    }

    // verify waits for everything; edges already implied through an offsets step are left out
    // so that the rendered graph stays readable.
    let verify = StepId::verify();
    b.add(Step { id: verify.clone(), definition: json!({}) });
    if plan.groups.is_empty() {
        b.depend(&verify, &cutover);
    }
    let mut copies_before_offsets = BTreeSet::new();
    // Groups that may read any topic wait for the `synced` milestone rather than for each copy:
    // groups + topics edges instead of groups × topics.
    let synced = StepId::synced();
    if !copy_ids.is_empty() && plan.groups.iter().any(|g| g.topics.is_none()) {
        b.add(Step { id: synced.clone(), definition: json!({}) });
        for copy in copy_ids.values() {
            b.depend(&synced, copy);
        }
        copies_before_offsets.extend(copy_ids.keys().cloned());
    }

    for g in &plan.groups {
        let offsets = StepId::offsets(&g.id);
        b.add(Step {
            id: offsets.clone(),
            definition: json!({
                "group": g.id,
                "data": plan.data.to_string(),
                "offsets": g.offsets.to_string(),
                "loss": g.loss.to_string(),
                "export": g.export,
                "from_file": g.from_file,
                "topics": g.topics,
            }),
        });
        b.depend(&offsets, &cutover);
        b.depend(&verify, &offsets);
        if g.drain {
            let drain = StepId::drain(&g.id);
            b.add(Step { id: drain.clone(), definition: json!({ "group": g.id, "topics": g.topics }) });
            b.depend(&drain, &cutover);
            b.depend(&offsets, &drain);
        }
        match &g.topics {
            // The group names what it reads: wait for those copies only.
            Some(names) => {
                let names: BTreeSet<&String> = names.iter().collect();
                for (name, copy) in names.into_iter().filter_map(|n| copy_ids.get_key_value(n)) {
                    b.depend(&offsets, copy);
                    copies_before_offsets.insert(name.clone());
                }
            }
            // It may read any plan topic: wait for every copy.
            None if !copy_ids.is_empty() => b.depend(&offsets, &synced),
            None => {}
        }
    }
    if mirrors {
        // The connectors go once every group is positioned (or every topic copied, without groups).
        let stop = StepId::stop_mirror();
        b.add(Step { id: stop.clone(), definition: json!({ "connectors": connector_names(plan) }) });
        for g in &plan.groups {
            b.depend(&stop, &StepId::offsets(&g.id));
        }
        for (name, mirror) in &copy_ids {
            if !copies_before_offsets.contains(name) {
                b.depend(&stop, mirror);
            }
        }
        b.depend(&verify, &stop);
        if plan.groups.is_empty() {
            b.depend(&stop, &cutover);
        }
    } else {
        for (name, copy) in &copy_ids {
            if !copies_before_offsets.contains(name) {
                b.depend(&verify, copy);
            }
        }
    }
    b.seal()
}

/// The concrete topics: named ones first (plan order), then each pattern's matches that no
/// earlier entry claimed. A topic matched by several patterns belongs to the first.
pub fn concrete_topics<'a>(plan: &'a Plan, expansion: &Expansion) -> Vec<TopicEntry<'a>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for spec in &plan.topics {
        if let TopicSelector::Name(n) = &spec.selector
            && seen.insert(n.clone())
        {
            out.push(TopicEntry { name: n.clone(), spec, pattern: None });
        }
    }
    for spec in &plan.topics {
        if let TopicSelector::Pattern(re) = &spec.selector {
            for name in expansion.get(re.as_str()).into_iter().flatten() {
                if re.is_match(name) && seen.insert(name.clone()) {
                    out.push(TopicEntry { name: name.clone(), spec, pattern: Some(re.as_str().to_string()) });
                }
            }
        }
    }
    out
}

/// The MirrorMaker 2 connectors' names (source, then checkpoint when the plan has groups).
pub fn connector_names(plan: &Plan) -> Vec<String> {
    let Some(c) = &plan.connect else { return Vec::new() };
    let mut names = vec![format!("{}-source", c.name_prefix)];
    if !plan.groups.is_empty() {
        names.push(format!("{}-checkpoint", c.name_prefix));
    }
    names
}

/// What the connectors are made of: the Connect cluster, the topics and groups, and the keys of
/// the properties set on top (values may be secrets).
fn connectors_definition(
    plan: &Plan,
    connect: &kmigrate_plan::Connect,
    topics: &[TopicEntry<'_>],
) -> serde_json::Value {
    json!({
        "url": connect.url.raw,
        "connectors": connector_names(plan),
        "tasks": connect.tasks,
        "topics": topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        "groups": plan.groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        "properties": connect.properties.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
    })
}

/// What preflight checks. Property *values* are left out on purpose: they may be secrets.
fn preflight_definition(plan: &Plan) -> serde_json::Value {
    let keys = |c: &kmigrate_plan::Cluster| c.properties.iter().map(|p| p.key.clone()).collect::<Vec<_>>();
    json!({
        "source": { "bootstrap_servers": plan.source.bootstrap_servers.raw, "properties": keys(&plan.source) },
        "target": { "bootstrap_servers": plan.target.bootstrap_servers.raw, "properties": keys(&plan.target) },
    })
}

fn cutover_definition(plan: &Plan) -> serde_json::Value {
    let mode = match &plan.cutover.mode {
        CutoverMode::At(t) => json!({ "at": t.to_rfc3339() }),
        CutoverMode::Manual => json!({ "manual": true }),
        CutoverMode::Detect { idle } => json!({ "detect": { "idle_ms": idle.as_millis() as u64 } }),
    };
    json!({ "mode": mode, "margin_ms": plan.cutover.margin.as_millis() as u64, "data": plan.data.to_string() })
}
