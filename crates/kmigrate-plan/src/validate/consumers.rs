//! `consumers`: defaults, groups, export/from_file paths, per-group topics, drain.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::codes;
use crate::diagnostics::Severity;
use crate::model::{DataMode, GroupSpec, Loc, Loss, OffsetStore, SyncBy};
use crate::raw::{Choices, RawConsumers, RawLoss, RawOffsets, S};
use crate::suggest::did_you_mean;

use super::Checker;
use super::topics::TopicIndex;

impl Checker<'_> {
    pub(super) fn consumers(
        &mut self,
        c: Option<&S<RawConsumers>>,
        topics: &TopicIndex,
        data: Option<DataMode>,
    ) -> Vec<GroupSpec> {
        let Some(c) = c else { return Vec::new() };
        // A wrong value (reported here) makes its setting unknown: checks that depend on it are
        // skipped rather than guessed at.
        let (mut default_offsets, mut default_loss) = (None, None);
        let (mut offsets_unknown, mut loss_unknown) = (false, false);
        if let Some(d) = &c.value.defaults {
            if let Some(o) = &d.value.offsets {
                default_offsets = self.choice("offsets", o, RawOffsets::CHOICES).map(|v| (v, self.loc(o)));
                offsets_unknown = default_offsets.is_none();
            }
            if let Some(l) = &d.value.loss {
                default_loss = self.choice("loss", l, RawLoss::CHOICES).map(|v| (v, self.loc(l)));
                loss_unknown = default_loss.is_none();
            }
        }
        let Some(groups) = &c.value.groups else { return Vec::new() };

        let mut out = Vec::new();
        let mut ids: HashMap<String, Loc> = HashMap::new();
        let mut exports: Vec<(PathBuf, Loc, String)> = Vec::new();
        let mut from_files: Vec<(PathBuf, Loc, String)> = Vec::new();
        let mut inherited_strict: Vec<String> = Vec::new();

        for g in &groups.value {
            let entry_loc = self.loc(g);
            let raw = &g.value;
            let id = match &raw.id {
                None => {
                    self.error(
                        entry_loc,
                        codes::GROUP_ID,
                        "a consumer group entry has no `id`",
                        "add `id: <consumer group id>` (the application's `group.id`)",
                        "id missing",
                    );
                    None
                }
                Some(id) if id.value.trim().is_empty() => {
                    self.error(
                        self.loc(id),
                        codes::GROUP_ID,
                        "empty consumer group id",
                        "write the application's `group.id`",
                        "empty",
                    );
                    None
                }
                Some(id) => {
                    let loc = self.loc(id);
                    if let Some(first) = ids.get(&id.value) {
                        let d = self
                            .diag(
                                Severity::Error,
                                loc,
                                codes::GROUP_DUPLICATE,
                                format!(
                                    "consumer group `{}` is listed twice (first on line {})",
                                    id.value, first.line
                                ),
                                "list each group once; merge the two entries' settings",
                            )
                            .with_label("listed again")
                            .with_secondary(*first, "first listed here");
                        self.push(d);
                        None
                    } else {
                        ids.insert(id.value.clone(), loc);
                        Some((id.value.clone(), loc))
                    }
                }
            };
            let group_name = id.as_ref().map_or_else(|| "?".to_owned(), |(n, _)| n.clone());
            let group_loc = id.as_ref().map_or(entry_loc, |(_, l)| *l);

            let (own_offsets, own_loss) = (
                raw.offsets.as_ref().map(|o| self.choice("offsets", o, RawOffsets::CHOICES)),
                raw.loss.as_ref().map(|l| self.choice("loss", l, RawLoss::CHOICES)),
            );
            let offsets_known = match own_offsets {
                Some(own) => own.is_some(),
                None => !offsets_unknown,
            };
            let loss_known = match own_loss {
                Some(own) => own.is_some(),
                None => !loss_unknown,
            };
            let offsets = match own_offsets.flatten().or(default_offsets.map(|d| d.0)) {
                Some(RawOffsets::SelfStored) => OffsetStore::SelfStored,
                Some(RawOffsets::BrokerManaged) | None => OffsetStore::BrokerManaged,
            };
            let (loss, loss_loc) = match (&raw.loss, own_loss.flatten(), default_loss) {
                (Some(l), Some(v), _) => (v, self.loc(l)),
                (None, _, Some((v, loc))) => (v, loc),
                (_, _, _) => (RawLoss::Strict, group_loc),
            };
            let loss = match loss {
                RawLoss::Strict => Loss::Strict,
                RawLoss::Tolerant => Loss::Tolerant,
            };

            let export = self.group_path("export", raw.export.as_ref(), &group_name, &mut exports);
            let from_file =
                self.group_path("from_file", raw.from_file.as_ref(), &group_name, &mut from_files);
            match (offsets, &raw.export) {
                _ if !offsets_known => {}
                (OffsetStore::SelfStored, None) => self.error(
                    group_loc,
                    codes::GROUP_EXPORT,
                    format!("self-stored group `{group_name}` has no `export` path"),
                    format!(
                        "add e.g. `export: offsets/{group_name}.csv`: kmigrate writes the group's target offsets there \
                         (`topic,partition,offset`) for the application to load into its own store"
                    ),
                    "export missing",
                ),
                (OffsetStore::BrokerManaged, Some(e)) => self.warn(
                    self.loc(e),
                    codes::GROUP_EXPORT_UNUSED,
                    format!(
                        "`export` has no effect on broker-managed group `{group_name}`: its offsets are committed to the group on the target"
                    ),
                    "remove `export`, or set `offsets: self-stored` if the application keeps its offsets in its own store",
                    "ignored",
                ),
                _ => {}
            }

            let group_topics = raw.topics.as_ref().map(|t| self.group_topics(t, topics, &group_name));

            let own_drain = raw.drain.as_ref().and_then(|d| self.boolean("drain", d));
            let drain = own_drain.unwrap_or(offsets == OffsetStore::BrokerManaged);
            if let Some(d) = &raw.drain
                && own_drain == Some(false)
                && loss_known
                && loss == Loss::Strict
                && data.is_some_and(|m| m != DataMode::Synced(SyncBy::Kmigrate))
            {
                self.warn(
                    self.loc(d),
                    codes::GROUP_DRAIN,
                    format!(
                        "strict group `{group_name}` does not wait to drain on the source: records it has not \
                         consumed there before the switch are skipped"
                    ),
                    "remove `drain: false` (strict groups should finish the source first), or set `loss: tolerant` \
                     if losing those records is acceptable",
                    "skips unconsumed records",
                );
            }

            // (Nothing to warn about while the group's `loss` is unknown.)
            let dual_write_strict = loss_known && data == Some(DataMode::DualWrite) && loss == Loss::Strict;
            if dual_write_strict && raw.loss.is_none() && default_loss.is_some() {
                // One warning at `defaults` for every group that inherits strict (below).
                inherited_strict.push(group_name.clone());
            } else if dual_write_strict {
                self.warn(
                    loss_loc,
                    codes::DATA_DUAL_WRITE_STRICT,
                    format!(
                        "with `data: dual-write`, strict group `{group_name}` may see duplicate records at the switch"
                    ),
                    "producers wrote the same records to both clusters: make the consumer idempotent, \
                     or use `data: synced` for an exact hand-over",
                    "duplicates possible",
                );
            }

            if let Some((id, loc)) = id {
                out.push(GroupSpec {
                    id,
                    offsets,
                    loss,
                    export,
                    from_file,
                    topics: group_topics.flatten(),
                    drain,
                    loc,
                });
            }
        }

        if let (Some(first), Some((_, loc))) = (inherited_strict.first(), default_loss) {
            let message = if inherited_strict.len() == 1 {
                format!(
                    "with `data: dual-write`, strict group `{first}` may see duplicate records at the switch"
                )
            } else {
                let names: Vec<String> = inherited_strict.iter().map(|g| format!("`{g}`")).collect();
                format!(
                    "with `data: dual-write`, strict groups {} may see duplicate records at the switch",
                    names.join(", ")
                )
            };
            self.warn(
                loc,
                codes::DATA_DUAL_WRITE_STRICT,
                message,
                "producers wrote the same records to both clusters: make the consumers idempotent, \
                 or use `data: synced` for an exact hand-over",
                "duplicates possible",
            );
        }

        // An export path that is another group's from_file would overwrite its input.
        for (path, loc, group) in &exports {
            if let Some((_, floc, fgroup)) = from_files.iter().find(|(p, _, _)| p == path) {
                let d = self
                    .diag(
                        Severity::Error,
                        *floc,
                        codes::GROUP_FROM_FILE,
                        format!(
                            "`from_file` of group `{fgroup}` is the `export` path of group `{group}` (line {}): the export would overwrite it",
                            loc.line
                        ),
                        "read the explicit offsets from a separate file",
                    )
                    .with_label("input file")
                    .with_secondary(*loc, "written here");
                self.push(d);
            }
        }
        out
    }

    /// Validates an `export`/`from_file` path; records it in `seen` (duplicate exports are errors).
    pub(super) fn group_path(
        &mut self,
        key: &str,
        p: Option<&S<String>>,
        group: &str,
        seen: &mut Vec<(PathBuf, Loc, String)>,
    ) -> Option<PathBuf> {
        let p = p?;
        let loc = self.loc(p);
        let value = p.value.trim();
        if value.is_empty() {
            let code = if key == "export" { codes::GROUP_EXPORT } else { codes::GROUP_FROM_FILE };
            self.error(
                loc,
                code,
                format!("empty `{key}` path for group `{group}`"),
                "give a file path, relative to the plan file's directory, e.g. `offsets/analytics.csv`",
                "empty path",
            );
            return None;
        }
        let path = PathBuf::from(value);
        let normalized = normalize_path(&path);
        if key == "export"
            && let Some((_, first, other)) = seen.iter().find(|(p, _, _)| *p == normalized)
        {
            let d = self
                .diag(
                    Severity::Error,
                    loc,
                    codes::GROUP_EXPORT_DUPLICATE,
                    format!(
                        "groups `{other}` (line {}) and `{group}` export to the same file `{value}`",
                        first.line
                    ),
                    format!("give each group its own file, e.g. `offsets/{group}.csv`"),
                )
                .with_label("same file")
                .with_secondary(*first, "already used here");
            self.push(d);
            return Some(path);
        }
        seen.push((normalized, loc, group.to_owned()));
        Some(path)
    }

    pub(super) fn group_topics(
        &mut self,
        t: &S<Vec<S<String>>>,
        topics: &TopicIndex,
        group: &str,
    ) -> Option<Vec<String>> {
        if t.value.is_empty() {
            let loc = self.key_loc("topics", self.loc(t));
            self.error(
                loc,
                codes::GROUP_TOPICS,
                format!("group `{group}` lists no topics"),
                "list the plan topics the group reads, or remove `topics` to mean all of them",
                "empty list",
            );
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for name in &t.value {
            let loc = self.loc(name);
            let n = name.value.as_str();
            if out.iter().any(|o| o == n) {
                self.error(
                    loc,
                    codes::GROUP_TOPICS,
                    format!("group `{group}` lists topic `{n}` twice"),
                    "list each topic once",
                    "listed again",
                );
                ok = false;
                continue;
            }
            let known =
                topics.names.iter().any(|t| t == n) || topics.patterns.iter().any(|re| re.is_match(n));
            if !known {
                let help = match did_you_mean(n, topics.names.iter().map(String::as_str)) {
                    Some(s) => format!(
                        "did you mean `{s}`? A group's `topics` must be topics of the plan (listed under `topics:` or matched by a pattern there)"
                    ),
                    None => "add the topic to the plan's `topics:`, or remove it from the group".to_owned(),
                };
                self.error(
                    loc,
                    codes::GROUP_TOPICS,
                    format!("group `{group}` reads topic `{n}`, which the plan does not migrate"),
                    help,
                    "not a plan topic",
                );
                ok = false;
            }
            out.push(n.to_owned());
        }
        ok.then_some(out)
    }
}

/// `./offsets/../offsets/a.csv` and `offsets/a.csv` compare equal.
fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
