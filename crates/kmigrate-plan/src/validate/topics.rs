//! The `topics` list: names, patterns, overrides, duplicates.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use crate::codes;
use crate::diagnostics::Severity;
use crate::model::{Loc, TopicSelector, TopicSpec};
use crate::raw::{RawTopic, RawTopicMap, S};

use super::Checker;

/// Kafka's own limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

/// What the group checks need to know about the plan's topics.
pub(super) struct TopicIndex {
    pub(super) names: Vec<String>,
    pub(super) patterns: Vec<Regex>,
}

impl Checker<'_> {
    pub(super) fn topics(
        &mut self,
        topics: Option<&S<Vec<S<RawTopic>>>>,
        root: Loc,
    ) -> (Vec<TopicSpec>, TopicIndex) {
        let mut index = TopicIndex { names: Vec::new(), patterns: Vec::new() };
        let mut out = Vec::new();
        let entries = match topics {
            Some(t) if !t.value.is_empty() => &t.value,
            other => {
                let loc = other.map_or(root, |t| self.key_loc("topics", self.loc(t)));
                self.error(
                    loc,
                    codes::TOPICS_EMPTY,
                    "the plan lists no topics",
                    "list the topics to migrate under `topics:`, e.g. `- orders` or `- pattern: \"^audit\\\\.\"`",
                    "no topics",
                );
                return (out, index);
            }
        };

        let mut seen_names: HashMap<String, Loc> = HashMap::new();
        let mut seen_patterns: HashMap<String, Loc> = HashMap::new();
        let mut seen_normalized: HashMap<String, (String, Loc)> = HashMap::new();
        let mut named_locs: Vec<(String, Loc)> = Vec::new();
        let mut pattern_sources: Vec<(Regex, Loc)> = Vec::new();

        for entry in entries {
            let entry_loc = self.loc(entry);
            let (selector, partitions, config) = match &entry.value {
                RawTopic::Empty => {
                    self.error(
                        entry_loc,
                        codes::TOPIC_SELECTOR,
                        "empty topic entry",
                        "write a topic name after `-`, or remove the line",
                        "empty entry",
                    );
                    continue;
                }
                RawTopic::Short(name) => {
                    let name_loc = entry_loc;
                    (self.topic_name(name, name_loc), None, BTreeMap::new())
                }
                RawTopic::Full(map) => {
                    let Some(sel) = self.topic_selector(map, entry_loc) else {
                        // Still check the rest of the entry.
                        self.partitions(map);
                        self.topic_config(map);
                        continue;
                    };
                    (Some(sel), self.partitions(map), self.topic_config(map))
                }
            };
            let Some((selector, sel_loc)) = selector else { continue };
            match &selector {
                TopicSelector::Name(name) => {
                    if let Some(first) = seen_names.get(name) {
                        let d = self
                            .diag(
                                Severity::Error,
                                sel_loc,
                                codes::TOPIC_DUPLICATE,
                                format!("topic `{name}` is listed twice (first on line {})", first.line),
                                "list each topic once; merge the two entries' settings",
                            )
                            .with_label("listed again")
                            .with_secondary(*first, "first listed here");
                        self.push(d);
                        continue;
                    }
                    seen_names.insert(name.clone(), sel_loc);
                    let normalized = name.replace('.', "_");
                    if let Some((other, other_loc)) = seen_normalized.get(&normalized) {
                        let d = self
                            .diag(
                                Severity::Warning,
                                sel_loc,
                                codes::TOPIC_COLLISION,
                                format!(
                                    "topics `{name}` and `{other}` (line {}) differ only by `.` versus `_`",
                                    other_loc.line
                                ),
                                "Kafka's metric names replace `.` with `_`, so their metrics collide; \
                                 Kafka itself warns about such names. Check that both are meant",
                            )
                            .with_label("collides")
                            .with_secondary(*other_loc, "with this one");
                        self.push(d);
                    } else {
                        seen_normalized.insert(normalized, (name.clone(), sel_loc));
                    }
                    index.names.push(name.clone());
                    named_locs.push((name.clone(), sel_loc));
                }
                TopicSelector::Pattern(re) => {
                    let text = re.as_str().to_owned();
                    if let Some(first) = seen_patterns.get(&text) {
                        let d = self
                            .diag(
                                Severity::Error,
                                sel_loc,
                                codes::TOPIC_DUPLICATE,
                                format!("pattern `{text}` is listed twice (first on line {})", first.line),
                                "list each pattern once",
                            )
                            .with_label("listed again")
                            .with_secondary(*first, "first listed here");
                        self.push(d);
                        continue;
                    }
                    seen_patterns.insert(text, sel_loc);
                    index.patterns.push(re.clone());
                    pattern_sources.push((re.clone(), sel_loc));
                }
            }
            out.push(TopicSpec { selector, partitions, config, loc: sel_loc });
        }

        for (name, loc) in &named_locs {
            if let Some((re, ploc)) = pattern_sources.iter().find(|(re, _)| re.is_match(name)) {
                let d = self
                    .diag(
                        Severity::Warning,
                        *loc,
                        codes::TOPIC_OVERLAP,
                        format!(
                            "topic `{name}` is also matched by pattern `{}` (line {})",
                            re.as_str(),
                            ploc.line
                        ),
                        "the topic is selected twice; if the two entries set different \
                         `partitions` or `config`, keep only one of them",
                    )
                    .with_label("listed by name")
                    .with_secondary(*ploc, "matches it too");
                self.push(d);
            }
        }
        (out, index)
    }

    /// Validates a topic name; returns the selector and the name's location.
    pub(super) fn topic_name(&mut self, name: &str, loc: Loc) -> Option<(TopicSelector, Loc)> {
        if let Err((message, help)) = check_topic_name(name) {
            self.error(loc, codes::TOPIC_NAME, message, help, "invalid topic name");
            return None;
        }
        Some((TopicSelector::Name(name.to_owned()), loc))
    }

    pub(super) fn topic_selector(
        &mut self,
        map: &RawTopicMap,
        entry_loc: Loc,
    ) -> Option<(TopicSelector, Loc)> {
        match (&map.name, &map.pattern) {
            (Some(_), Some(p)) => {
                let loc = self.key_loc("pattern", self.loc(p));
                self.error(
                    loc,
                    codes::TOPIC_SELECTOR,
                    "a topic entry has both `name` and `pattern`",
                    "keep `name` for one exact topic, or `pattern` for every topic matching a regex; \
                     make two entries for both",
                    "remove one of name/pattern",
                );
                None
            }
            (None, None) => {
                self.error(
                    entry_loc,
                    codes::TOPIC_SELECTOR,
                    "a topic entry has neither `name` nor `pattern`",
                    "add `name: <topic>` (one topic) or `pattern: \"<regex>\"` (every matching source topic)",
                    "which topic?",
                );
                None
            }
            (Some(n), None) => {
                let loc = self.loc(n);
                self.topic_name(&n.value, loc)
            }
            (None, Some(p)) => {
                let loc = self.loc(p);
                match Regex::new(&p.value) {
                    Ok(re) => {
                        if !p.value.starts_with('^') {
                            self.warn(
                                loc,
                                codes::TOPIC_PATTERN_UNANCHORED,
                                format!(
                                    "pattern `{}` is not anchored: it matches anywhere inside a topic name",
                                    p.value
                                ),
                                format!(
                                    "start it with `^` (and end it with `$` for whole names), e.g. `^{}`",
                                    p.value
                                ),
                                "unanchored",
                            );
                        }
                        Some((TopicSelector::Pattern(re), loc))
                    }
                    Err(e) => {
                        self.error(
                            loc,
                            codes::TOPIC_PATTERN,
                            format!("invalid pattern `{}`: {}", p.value, regex_error_text(&e)),
                            "patterns use Rust regex syntax; inside double quotes YAML needs `\\\\.` \
                             for a literal dot, inside single quotes `\\.` (e.g. '^audit\\.')",
                            "invalid regex",
                        );
                        None
                    }
                }
            }
        }
    }

    pub(super) fn partitions(&mut self, map: &RawTopicMap) -> Option<u32> {
        let raw = map.partitions.as_ref()?;
        let loc = self.loc(raw);
        let value = self.whole_number("partitions", raw, 12)?;
        if value < 1 {
            self.error(
                loc,
                codes::TOPIC_PARTITIONS,
                format!("`partitions: {}`: a topic needs at least 1 partition", value),
                "remove `partitions` to keep the source's count, or give a number ≥ the source's",
                "must be ≥ 1",
            );
            return None;
        }
        match u32::try_from(value) {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(
                    loc,
                    codes::TOPIC_PARTITIONS,
                    format!("`partitions: {}` is far beyond what a Kafka cluster supports", value),
                    "give the target's partition count (at least the source's)",
                    "too many",
                );
                None
            }
        }
    }

    pub(super) fn topic_config(&mut self, map: &RawTopicMap) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(cfg) = &map.config else { return out };
        for (k, v) in &cfg.value.0 {
            let key = k.value.trim();
            if key.is_empty() {
                self.error(
                    self.loc(k),
                    codes::TOPIC_CONFIG,
                    "empty topic config name",
                    "write the topic config's name, e.g. `retention.ms: \"604800000\"`",
                    "empty key",
                );
                continue;
            }
            let Some(value) = &v.value else {
                self.error(
                    self.loc(k),
                    codes::TOPIC_CONFIG,
                    format!("topic config `{key}` has no value"),
                    format!("write a value after `{key}:`, or remove the line to keep the source's value"),
                    "no value",
                );
                continue;
            };
            out.insert(key.to_owned(), value.clone());
        }
        out
    }
}

/// Kafka's rules for topic names, plus refusing its internal topics.
fn check_topic_name(name: &str) -> Result<(), (String, String)> {
    if name.trim().is_empty() {
        return Err(("empty topic name".to_owned(), "write the topic's name, e.g. `- orders`".to_owned()));
    }
    if name == "." || name == ".." {
        return Err((
            format!("`{name}` is not a valid topic name"),
            "Kafka refuses `.` and `..` as topic names".to_owned(),
        ));
    }
    if name.len() > MAX_TOPIC_NAME {
        return Err((
            format!("topic name is {} characters long; Kafka allows at most {MAX_TOPIC_NAME}", name.len()),
            "check the name on the source cluster".to_owned(),
        ));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c))) {
        let help = if name.contains(['*', '?', '^', '$', '[', '(', '|', '+']) {
            format!("to select several topics, use a regex: `- pattern: \"{name}\"`")
        } else {
            "Kafka topic names use only letters, digits, `.`, `_` and `-`".to_owned()
        };
        return Err((format!("invalid topic name `{name}`: `{bad}` is not allowed"), help));
    }
    if name == "__consumer_offsets" || name == "__transaction_state" {
        return Err((
            format!("`{name}` is a Kafka internal topic and is never migrated"),
            "remove it: consumer positions are translated by the per-group `offsets` steps".to_owned(),
        ));
    }
    Ok(())
}

fn regex_error_text(e: &regex::Error) -> String {
    let text = e.to_string();
    // Syntax errors are multi-line (pattern, caret, "error: ..."): keep the explanation.
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or_else(|| text.lines().last().unwrap_or_default().to_owned(), str::to_owned)
}
