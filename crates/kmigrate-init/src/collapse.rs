//! Collapsing many topics that share a prefix into one `pattern:` entry.
//!
//! A prefix is a topic name up to and including one of its delimiters (`.`, `-`, `_`): `audit.`
//! and `audit.billing.` for `audit.billing.v1`. A prefix collapses when at least
//! [`MIN_TOPICS`] selected topics extend it and **every** topic on the source that extends it is
//! selected, so the pattern `^<prefix>.+$` stands for exactly those topics today (a topic created
//! later with the prefix joins the migration: the comment says so). Each topic takes its shortest
//! such prefix; the prefixes of one topic are nested, so no two patterns overlap.

use std::collections::{BTreeMap, BTreeSet};

/// Fewest topics a pattern stands for.
pub const MIN_TOPICS: usize = 3;

/// One `topics:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicEntry {
    Name(String),
    Pattern {
        /// Anchored: `^<escaped prefix>.+$`.
        pattern: String,
        prefix: String,
        /// The source topics it matches today, sorted.
        topics: Vec<String>,
    },
}

impl TopicEntry {
    /// The topics the entry stands for today.
    pub fn topics(&self) -> Vec<&str> {
        match self {
            TopicEntry::Name(n) => vec![n.as_str()],
            TopicEntry::Pattern { topics, .. } => topics.iter().map(String::as_str).collect(),
        }
    }

    fn sort_key(&self) -> &str {
        match self {
            TopicEntry::Name(n) => n,
            TopicEntry::Pattern { prefix, .. } => prefix,
        }
    }
}

/// The prefixes of `topic` strictly shorter than it, shortest first.
fn prefixes(topic: &str) -> impl Iterator<Item = &str> {
    topic
        .char_indices()
        .filter(|(i, c)| matches!(c, '.' | '-' | '_') && i + 1 < topic.len())
        .map(|(i, _)| &topic[..=i])
}

/// The anchored pattern of `prefix`.
pub fn pattern_for(prefix: &str) -> String {
    // `-` is literal outside a class; left unescaped for readability.
    format!("^{}.+$", regex::escape(prefix).replace("\\-", "-"))
}

/// The `topics:` entries for `selected`, given every (non-internal) topic on the source: names,
/// and patterns where a prefix covers many (see the module documentation). Sorted by name.
pub fn collapse(selected: &BTreeSet<String>, all: &BTreeSet<String>) -> Vec<TopicEntry> {
    // prefix -> (selected topics extending it, whether an unselected source topic extends it)
    let mut stats: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for topic in all.iter().chain(selected.iter().filter(|t| !all.contains(*t))) {
        let chosen = selected.contains(topic);
        for p in prefixes(topic) {
            let e = stats.entry(p).or_default();
            if chosen {
                e.0 += 1;
            } else {
                e.1 = true;
            }
        }
    }
    let valid = |p: &str| stats.get(p).is_some_and(|(n, other)| *n >= MIN_TOPICS && !other);

    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut entries = Vec::new();
    for topic in selected {
        match prefixes(topic).find(|p| valid(p)) {
            Some(p) => groups.entry(p).or_default().push(topic.clone()),
            None => entries.push(TopicEntry::Name(topic.clone())),
        }
    }
    for (prefix, topics) in groups {
        let pattern = pattern_for(prefix);
        // The pattern must match exactly these topics on the source; should it not (it always
        // does by construction), the names are listed instead.
        let re = regex::Regex::new(&pattern).expect("an escaped prefix is a valid regex");
        let matched: Vec<&String> = all.iter().filter(|t| re.is_match(t)).collect();
        let exact = matched.len() == topics.len() && topics.iter().all(|t| re.is_match(t));
        if exact {
            entries.push(TopicEntry::Pattern { pattern, prefix: prefix.to_string(), topics });
        } else {
            entries.extend(topics.into_iter().map(TopicEntry::Name));
        }
    }
    entries.sort_by(|a, b| a.sort_key().cmp(b.sort_key()));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn show(entries: &[TopicEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                TopicEntry::Name(n) => n.clone(),
                TopicEntry::Pattern { pattern, topics, .. } => format!("{pattern} = {}", topics.join(",")),
            })
            .collect()
    }

    #[test]
    fn three_topics_under_a_prefix_collapse() {
        let all = set(&["audit.a", "audit.b", "audit.c", "orders", "pay-1", "pay-2"]);
        let got = collapse(&all, &all);
        assert_eq!(show(&got), vec![r"^audit\..+$ = audit.a,audit.b,audit.c", "orders", "pay-1", "pay-2"]);
    }

    #[test]
    fn a_prefix_with_an_unselected_topic_does_not_collapse_but_a_longer_one_may() {
        let all = set(&["app.x.1", "app.x.2", "app.x.3", "app.y", "app.x.internal-ish"]);
        let selected = set(&["app.x.1", "app.x.2", "app.x.3", "app.x.internal-ish"]);
        // `app.` also covers app.y, which is not selected; `app.x.` covers only selected ones.
        assert_eq!(
            show(&collapse(&selected, &all)),
            vec![r"^app\.x\..+$ = app.x.1,app.x.2,app.x.3,app.x.internal-ish"]
        );
        let selected = set(&["app.x.1", "app.x.2", "app.y"]);
        assert_eq!(show(&collapse(&selected, &all)), vec!["app.x.1", "app.x.2", "app.y"]);
    }

    #[test]
    fn the_shortest_valid_prefix_wins_and_patterns_never_overlap() {
        let all = set(&["t_a-1", "t_a-2", "t_a-3", "t_b", "t-c"]);
        assert_eq!(show(&collapse(&all, &all)), vec!["t-c", r"^t_.+$ = t_a-1,t_a-2,t_a-3,t_b"]);
    }

    #[test]
    fn the_prefix_itself_as_a_topic_is_listed_by_name() {
        // `x.` is a legal topic name; `^x\..+$` does not match it, so it stays a name.
        let all = set(&["x.", "x.a", "x.b", "x.c"]);
        assert_eq!(show(&collapse(&all, &all)), vec!["x.", r"^x\..+$ = x.a,x.b,x.c"]);
    }

    #[test]
    fn tooling_topics_sharing_a_prefix_block_it() {
        // old.checkpoints.internal is on the source but never selected.
        let all = set(&["old.a", "old.b", "old.c", "old.checkpoints.internal"]);
        let selected = set(&["old.a", "old.b", "old.c"]);
        assert_eq!(show(&collapse(&selected, &all)), vec!["old.a", "old.b", "old.c"]);
    }

    #[test]
    fn two_topics_are_not_enough() {
        let all = set(&["a.1", "a.2"]);
        assert_eq!(show(&collapse(&all, &all)), vec!["a.1", "a.2"]);
    }
}
