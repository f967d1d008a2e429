//! The suggested strategy of each group, with its reasons: a pure function of what was read.

use crate::facts::{Activity, GroupFacts};

/// `data:` of the drafted plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChoice {
    /// `data: synced` with `sync: { by: kmigrate }`: kmigrate copies the records.
    Synced,
    /// `data: not-synced`: the target starts empty.
    NotSynced,
}

/// Where a group's offsets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offsets {
    BrokerManaged,
    SelfStored,
}

/// What the plan proposes for one group (always `loss: strict`, the safe default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub offsets: Offsets,
    /// `Some(false)`: write `drain: false`; `None`: the plan's default.
    pub drain: Option<bool>,
    /// Why, one sentence per entry, for the comment above the group.
    pub reasons: Vec<String>,
}

/// The suggestion for `g`, or why the group is better left out of the plan.
pub fn suggest(g: &GroupFacts, data: DataChoice) -> Result<Suggestion, String> {
    if !g.has_commits() {
        return match &g.activity {
            Activity::Members(_) | Activity::Active { .. } => Ok(Suggestion {
                offsets: Offsets::SelfStored,
                drain: None,
                reasons: vec![
                    "self-stored: it has consumers but no committed offsets, so the application likely \
                     keeps its offsets in its own store."
                        .into(),
                    match data {
                        DataChoice::Synced => format!(
                            "After the copy, translate the offsets the application stored, exactly: `kmigrate \
                             offsets translate PLAN --group {} --from-file stored.csv` (topic,partition,offset); \
                             `export` gets what kmigrate sees of its position on the source.",
                            g.id
                        ),
                        DataChoice::NotSynced => "export: kmigrate writes where it starts on the target (the \
                                                  earliest retained offsets) there, for the application to load."
                            .to_string(),
                    },
                    "Which topics it reads is not known: add `topics: [...]` to export only those (default: \
                     every topic of the plan)."
                        .into(),
                ],
            }),
            Activity::Idle { .. } => Err("no members and no committed offsets: nothing to position".into()),
            Activity::Unknown { reason } => {
                Err(format!("no committed offsets, and its members could not be read ({reason})"))
            }
        };
    }
    if g.commits.is_empty() {
        return Err(format!("commits only on topics outside the plan: {}", g.other_topics.join(", ")));
    }
    let lag = g.lag();
    let mut reasons = vec![
        "broker-managed: it commits its offsets to Kafka, so kmigrate commits its start offsets on the \
         target."
            .to_string(),
        match data {
            DataChoice::Synced => "strict: it starts exactly at its first unread record (translated through \
                                   the copy's offset map)."
                .to_string(),
            DataChoice::NotSynced => "strict: it starts at the earliest record the target holds (`loss: \
                                      tolerant` would start at the end)."
                .to_string(),
        },
    ];
    let mut drain = None;
    match (&g.activity, lag) {
        (Activity::Members(_) | Activity::Active { .. }, 0) => {
            reasons.push("It keeps up (lag 0): once the producers switch, it drains at once.".into())
        }
        (Activity::Members(_) | Activity::Active { .. }, lag) => reasons.push(format!(
            "Lag {} now: apply waits until it has consumed the source to the end (drain).",
            thousands(lag)
        )),
        (Activity::Idle { .. }, 0) => reasons
            .push("No members: the application is stopped (if it is retired, delete this entry).".into()),
        (Activity::Idle { .. }, lag) => match data {
            DataChoice::Synced => {
                drain = Some(false);
                reasons.push(format!(
                    "No members and lag {}: nobody would drain it, so `drain: false`; its position \
                     still carries over exactly, through the copy.",
                    thousands(lag)
                ));
            }
            DataChoice::NotSynced => reasons.push(format!(
                "No members and lag {}: apply waits for it to drain; start its consumers, or set \
                 `loss: tolerant` and `drain: false` to skip those records.",
                thousands(lag)
            )),
        },
        (Activity::Unknown { reason }, _) => reasons
            .push(format!("Its members could not be read ({reason}); apply checks again before it commits.")),
    }
    if !g.other_topics.is_empty() {
        reasons.push(format!("Also commits on topics outside the plan: {}.", g.other_topics.join(", ")));
    }
    Ok(Suggestion { offsets: Offsets::BrokerManaged, drain, reasons })
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::facts::Commits;

    fn group(activity: Activity, commits: &[(&str, i64)], other: &[&str]) -> GroupFacts {
        GroupFacts {
            id: "g".into(),
            activity,
            commits: commits
                .iter()
                .map(|(t, lag)| (t.to_string(), Commits { partitions: 2, lag: *lag }))
                .collect::<BTreeMap<_, _>>(),
            other_topics: other.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn rows() {
        use DataChoice::*;
        let idle = || Activity::Idle { state: "Empty".into() };
        let s = suggest(&group(Activity::Members(3), &[("orders", 0)], &[]), Synced).unwrap();
        assert_eq!((s.offsets, s.drain), (Offsets::BrokerManaged, None));
        assert!(s.reasons.iter().any(|r| r.contains("lag 0")), "{s:?}");

        let s = suggest(&group(Activity::Members(1), &[("orders", 40)], &[]), Synced).unwrap();
        assert!(s.reasons.iter().any(|r| r.contains("Lag 40") && r.contains("drain")), "{s:?}");

        let s = suggest(&group(Activity::Members(2), &[], &[]), Synced).unwrap();
        assert_eq!(s.offsets, Offsets::SelfStored);

        let s = suggest(&group(Activity::Active { state: "Stable".into() }, &[], &[]), NotSynced).unwrap();
        assert_eq!(s.offsets, Offsets::SelfStored);
        assert!(s.reasons.iter().any(|r| r.contains("earliest retained")), "{s:?}");

        let s = suggest(&group(idle(), &[("orders", 1_500)], &[]), Synced).unwrap();
        assert_eq!((s.offsets, s.drain), (Offsets::BrokerManaged, Some(false)));
        assert!(s.reasons.iter().any(|r| r.contains("lag 1,500")), "{s:?}");

        let s = suggest(&group(idle(), &[("orders", 7)], &[]), NotSynced).unwrap();
        assert_eq!(s.drain, None);

        let s = suggest(&group(idle(), &[("orders", 0)], &["elsewhere"]), NotSynced).unwrap();
        assert!(s.reasons.iter().any(|r| r.contains("stopped")), "{s:?}");
        assert!(s.reasons.iter().any(|r| r.contains("elsewhere")), "{s:?}");

        assert!(suggest(&group(idle(), &[], &[]), Synced).unwrap_err().contains("nothing to position"));
        assert!(suggest(&group(Activity::Members(1), &[], &["x"]), Synced).unwrap_err().contains("outside"));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
