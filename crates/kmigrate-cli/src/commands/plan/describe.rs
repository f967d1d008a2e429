//! What each step of a preview says, in words: one summary line and detail lines, shared by the
//! text and Markdown renderings (offsets rows are laid out by each of them).

use kmigrate_migration::preview::{
    Action, Change, ConfigChange, CopyAction, CutoverAction, ExpandAction, OffsetsAction, PlanPreview,
    StepPreview, Summary, TopicAction,
};

use super::units;

pub struct Described {
    pub summary: String,
    pub details: Vec<String>,
}

/// How many partitions with lag a drain lists.
const LAG_LINES: usize = 5;
/// How many matched topics an expansion lists.
const MATCH_LINES: usize = 10;

pub fn step(s: &StepPreview, plan_file: &str) -> Described {
    let mut d = if s.change == Change::Done {
        Described {
            summary: format!(
                "already done{}",
                s.done_summary.as_ref().map(|x| format!(": {x}")).unwrap_or_default()
            ),
            details: Vec::new(),
        }
    } else {
        action(s, plan_file)
    };
    if s.change == Change::Impossible {
        d.summary = format!("impossible: {}", d.summary);
        d.details.extend(s.problems.iter().map(|p| format!("error: {p}")));
    }
    d.details.extend(s.notes.iter().map(|n| format!("note: {n}")));
    d
}

fn action(s: &StepPreview, plan_file: &str) -> Described {
    let mut details = Vec::new();
    let summary = match &s.action {
        Action::Preflight(a) => {
            let what = format!(
                "{} and {} on the source",
                count(a.topics, "named topic", "named topics"),
                count(a.groups, "group", "groups")
            );
            match (a.source_brokers, a.target_brokers) {
                (Some(sb), Some(tb)) => format!(
                    "check both clusters ({} on the source, {} on the target): {what}",
                    count(sb, "broker", "brokers"),
                    count(tb, "broker", "brokers")
                ),
                _ => format!("reach both clusters; check {what}"),
            }
        }
        Action::Expand(a) => {
            if let Some(p) = a.partitions {
                details.push(format!("each with {p} partitions"));
            }
            details
                .extend(a.config.iter().map(|(k, v)| format!("each with {k} = {}", units::annotate(k, v))));
            expand(a)
        }
        Action::Topic(a) => topic(s.change, a, &mut details),
        Action::Copy(a) => copy(a, &mut details),
        Action::Connectors(a) => {
            for c in &a.connectors {
                details.push(format!("{}:", c.name));
                details.extend(c.config.iter().map(|(k, v)| format!("  {k} = {v}")));
            }
            format!(
                "submit {} to Kafka Connect at {} (PUT /connectors/<name>/config) and wait for their tasks to run",
                count(a.connectors.len(), "MirrorMaker 2 connector", "MirrorMaker 2 connectors"),
                a.url
            )
        }
        Action::Mirror(a) => match a.records {
            Some(n) => format!(
                "MirrorMaker 2 copies {} ({n} records on the source now); wait until the cutover has passed and every partition is copied to its end",
                a.topic
            ),
            None => format!(
                "MirrorMaker 2 copies {}; wait until the cutover has passed and every partition is copied to its end",
                a.topic
            ),
        },
        Action::StopMirror(a) => {
            format!("delete the connectors {} once every group is positioned", a.connectors.join(", "))
        }
        Action::Cutover(a) => cutover(a, plan_file),
        Action::Synced(a) => format!("wait for {} to finish", count(a.copies, "copy", "copies")),
        Action::Drain(a) => match (a.lag, a.partitions) {
            (Some(0), _) => {
                format!("group {} has consumed everything on the source: nothing to wait for", a.group)
            }
            (Some(lag), Some(partitions)) => {
                for b in a.behind.iter().take(LAG_LINES) {
                    let committed =
                        b.committed.map_or("nothing committed".to_string(), |c| format!("committed {c}"));
                    details.push(format!(
                        "{}/{}: {} behind ({committed}, end {})",
                        b.topic, b.partition, b.lag, b.end
                    ));
                }
                if a.behind.len() > LAG_LINES {
                    details.push(format!("… and {} more partitions behind", a.behind.len() - LAG_LINES));
                }
                format!(
                    "wait until group {} has consumed everything on the source: lag {lag} on {} of {partitions}",
                    a.group,
                    count(a.behind.len(), "partition", "partitions")
                )
            }
            _ => format!("wait until group {} has consumed everything on the source", a.group),
        },
        Action::Offsets(a) => {
            if let Some(why) = &a.resolved_at_apply {
                details.push(format!("resolved at apply: {why}"));
            }
            offsets(s.change, a)
        }
        Action::Verify(a) => {
            let mut what = Vec::new();
            if a.copies > 0 {
                what.push(count(a.copies, "copy", "copies"));
            }
            if a.groups > 0 {
                what.push(format!("the offsets of {}", count(a.groups, "group", "groups")));
            }
            match what.is_empty() {
                true => "check the end state".to_string(),
                false => format!("check the end state: {}", what.join(" and ")),
            }
        }
    };
    Described { summary, details }
}

fn expand(a: &ExpandAction) -> String {
    match &a.topics {
        None => format!("resolved at apply: the source topics matching {}", a.pattern),
        Some(topics) => {
            let mut line = format!("{} match {}", count(topics.len(), "topic", "topics"), a.pattern);
            if a.recorded {
                line.push_str(" (recorded by an earlier apply)");
            }
            if !topics.is_empty() {
                let mut shown: Vec<&str> = topics.iter().take(MATCH_LINES).map(String::as_str).collect();
                let more = topics.len().saturating_sub(MATCH_LINES);
                let more_text = format!("… and {more} more");
                if more > 0 {
                    shown.push(&more_text);
                }
                line.push_str(&format!(": {}", shown.join(", ")));
            }
            line
        }
    }
}

fn topic(change: Change, a: &TopicAction, details: &mut Vec<String>) -> String {
    // A topic to create gets its configs; an existing one has them changed.
    let creating = a.target.is_none();
    let config_line = |c: &ConfigChange| match &c.from {
        _ if creating => format!("{} = {}", c.name, units::annotate(&c.name, &c.to)),
        Some(from) => {
            let from = units::annotate(&c.name, from);
            let from = match (c.from_default, from.strip_suffix(')')) {
                (true, Some(open)) => format!("{open}, default)"),
                (true, None) => format!("{from} (default)"),
                (false, _) => from,
            };
            format!("{}: {from} → {}", c.name, units::annotate(&c.name, &c.to))
        }
        None => format!("{}: (not set) → {}", c.name, units::annotate(&c.name, &c.to)),
    };
    match change {
        Change::Create => {
            details.extend(a.configs.iter().map(config_line));
            format!(
                "create with {}{}",
                count(a.partitions.unwrap_or_default() as usize, "partition", "partitions"),
                if a.configs.is_empty() {
                    String::new()
                } else {
                    format!(", {}", count(a.configs.len(), "config", "configs"))
                }
            )
        }
        Change::Change => {
            if let Some(p) = a.partitions_change {
                details.push(format!("partitions {} → {}", p.from, p.to));
            }
            details.extend(a.configs.iter().map(config_line));
            let mut what = Vec::new();
            if a.partitions_change.is_some() {
                what.push("partitions".to_string());
            }
            if !a.configs.is_empty() {
                what.push(count(a.configs.len(), "config", "configs"));
            }
            format!("change {}", what.join(" and "))
        }
        Change::Unchanged => {
            format!("exists as wanted: {} partitions", a.target.as_ref().map_or(0, |t| t.partitions))
        }
        Change::Unknown => {
            details.extend(a.configs.iter().map(config_line));
            let partitions = a
                .partitions
                .map_or("the source's partition count".to_string(), |p| format!("{p} partitions"));
            let configs = if a.configs.is_empty() {
                "the source's configs".to_string()
            } else {
                format!("the source's configs and {} from the plan", a.configs.len())
            };
            format!("create with {partitions}, {configs} (or verify the existing topic)")
        }
        // Impossible: the problems say why; show what was asked for.
        _ => {
            details.extend(a.configs.iter().map(config_line));
            match (a.source.as_ref(), a.target.as_ref()) {
                (Some(s), Some(t)) => format!(
                    "{} on the source, {} on the target",
                    count(s.partitions as usize, "partition", "partitions"),
                    count(t.partitions as usize, "partition", "partitions")
                ),
                (Some(s), None) => {
                    format!(
                        "create with {}",
                        count(a.partitions.unwrap_or(s.partitions) as usize, "partition", "partitions")
                    )
                }
                _ => "the topic cannot be migrated".to_string(),
            }
        }
    }
}

fn copy(a: &CopyAction, details: &mut Vec<String>) -> String {
    details.push(match &a.compression {
        Some(c) => format!("compressed with {c}"),
        None => format!(
            "compressed with the target topic's compression.type, else {} (known once the clusters are read)",
            kmigrate_migration::compression::DEFAULT
        ),
    });
    match a.records {
        None => "copy every record of the topic (counted when the clusters are read)".into(),
        Some(0) => format!(
            "nothing to copy now ({}); apply copies what producers write until the cutover",
            count(a.partitions, "partition", "partitions")
        ),
        Some(records) => {
            let bytes = match (a.bytes, a.bytes_exact) {
                (Some(b), true) => units::bytes(b),
                (Some(b), false) => format!("~{}", units::bytes(b)),
                (None, _) => "size unknown".into(),
            };
            format!(
                "copy {} ({bytes}) in {}",
                count(records as usize, "record", "records"),
                count(a.partitions, "partition", "partitions")
            )
        }
    }
}

fn cutover(a: &CutoverAction, plan_file: &str) -> String {
    let t = match (&a.time, a.recorded) {
        (Some(t), true) => format!("T = {t} (recorded)"),
        (Some(t), false) => match &a.margin {
            Some(m) => format!("T = {t} (minus margin {m})"),
            None => format!("T = {t}"),
        },
        (None, _) => {
            let margin = a.margin.as_ref().map(|m| format!(", minus margin {m}")).unwrap_or_default();
            format!(
                "T = just after the newest record on the source then (future-dated records ignored){margin}"
            )
        }
    };
    match a.mode.as_str() {
        "at" => match a.passed {
            Some(true) => format!("at {}: passed; {t}", a.at.as_deref().unwrap_or_default()),
            _ => format!("wait until {}; {t}", a.at.as_deref().unwrap_or_default()),
        },
        "manual" => format!(
            "pause at the gate until the producers are switched and `kmigrate apply {plan_file} --approve cutover` runs; {t}"
        ),
        _ => format!(
            "wait until the source topics receive nothing for {}; {t}",
            a.idle.as_deref().unwrap_or_default()
        ),
    }
}

fn offsets(change: Change, a: &OffsetsAction) -> String {
    let how = match (a.store.as_str(), &a.export) {
        ("self-stored", Some(path)) => format!("export group {}'s offsets to {path}", a.group),
        _ => format!("commit group {}'s offsets on the target", a.group),
    };
    let mut line = match change {
        Change::Unchanged => format!("group {}: offsets already as computed ({})", a.group, a.rule_text),
        _ => format!("{how}; rule: {}", a.rule_text),
    };
    if let Some(d) = a.duplicates.filter(|d| *d > 0) {
        line.push_str(&format!(
            "; the group reads {} again",
            count(d as usize, "copied record", "copied records")
        ));
    }
    line
}

/// `1 topic`, `3 topics`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `Plan: 3 topics to create, 1 to change, 1 copy, 2 groups to reset; 2 steps already done.`
pub fn summary_line(p: &PlanPreview) -> String {
    let s: &Summary = &p.summary;
    let mut parts = Vec::new();
    if s.topics_to_create > 0 {
        parts.push(format!("{} to create", count(s.topics_to_create, "topic", "topics")));
    }
    if s.topics_to_change > 0 {
        parts.push(if parts.is_empty() {
            format!("{} to change", count(s.topics_to_change, "topic", "topics"))
        } else {
            format!("{} to change", s.topics_to_change)
        });
    }
    if s.topics_to_create_or_verify > 0 {
        parts.push(format!("{} to create or verify", count(s.topics_to_create_or_verify, "topic", "topics")));
    }
    if s.copies > 0 {
        parts.push(count(s.copies, "copy", "copies"));
    }
    if s.groups_to_reset > 0 {
        parts.push(format!("{} to reset", count(s.groups_to_reset, "group", "groups")));
    }
    let mut line = if parts.is_empty() { "no changes".to_string() } else { parts.join(", ") };
    if s.impossible > 0 {
        line.push_str(&format!("; {} impossible", s.impossible));
    }
    if s.steps_done > 0 {
        line.push_str(&format!("; {} already done", count(s.steps_done, "step", "steps")));
    }
    format!("Plan: {line}.")
}

/// The first line: which plan, which clusters, and that nothing was written.
pub fn header(p: &PlanPreview) -> (String, String) {
    let title = format!("Plan {}: source {} → target {}", p.plan, p.source, p.target);
    let note = if p.offline {
        "Offline: no cluster was contacted; what depends on the clusters is resolved at apply."
    } else {
        "Read-only: nothing was written to either cluster."
    };
    (title, note.to_string())
}
