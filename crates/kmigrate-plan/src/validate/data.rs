//! `data` and `sync`: whether and by whom old records reach the target, and the compression of
//! kmigrate's copy.

use crate::codes;
use crate::diagnostics::Severity;
use crate::model::{Compression, CompressionChoice, DataMode, Loc, SyncBy};
use crate::raw::{Choices, RawData, RawPlan, RawSyncBy};
use crate::suggest::did_you_mean;

use super::Checker;

impl Checker<'_> {
    pub(super) fn data(&mut self, raw: &RawPlan, root: Loc) -> Option<DataMode> {
        let sync_by = raw.sync.as_ref().map(|s| (s, s.value.by.as_ref()));
        let Some(data) = &raw.data else {
            let mut help = "add `data: synced` (old records are copied to the target), `data: not-synced` \
                            (they are not) or `data: dual-write` (producers write to both clusters)"
                .to_owned();
            if raw.sync.is_some() {
                help.push_str("; this plan has a `sync` section, so probably `data: synced`");
            }
            self.error(root, codes::MISSING_KEY, "the plan has no `data` mode", help, "data missing");
            return None;
        };
        let dloc = self.loc(data);
        let data = self.choice("data", data, RawData::CHOICES);
        let by = match sync_by {
            Some((_, Some(by))) => Some(self.choice("by", by, RawSyncBy::CHOICES)?),
            _ => None,
        };
        match (data?, sync_by) {
            (RawData::Synced, None) => {
                self.error(
                    dloc,
                    codes::DATA_SYNC,
                    "`data: synced` needs a `sync` section saying who copies the data",
                    "add `sync: { by: kmigrate }` (kmigrate copies the records), \
                     `sync: { by: mirrormaker2, connect: { url: ... } }` (kmigrate runs MirrorMaker 2 on \
                     Kafka Connect) or `sync: { by: external }` (another tool does)",
                    "synced by whom?",
                );
                None
            }
            (RawData::Synced, Some((s, None))) => {
                let loc = self.key_loc("sync", self.loc(s));
                self.error(
                    loc,
                    codes::DATA_SYNC,
                    "`sync` does not say who copies the data",
                    "add `by: kmigrate` (kmigrate copies the records), `by: mirrormaker2` (kmigrate runs \
                     MirrorMaker 2 on Kafka Connect) or `by: external` (another tool does)",
                    "no `by`",
                );
                None
            }
            (RawData::Synced, Some((_, Some(_)))) => Some(DataMode::Synced(match by? {
                RawSyncBy::Kmigrate => SyncBy::Kmigrate,
                RawSyncBy::MirrorMaker2 => SyncBy::MirrorMaker2,
                RawSyncBy::External => SyncBy::External,
            })),
            (other, Some((s, _))) => {
                let mode = if other == RawData::NotSynced { "not-synced" } else { "dual-write" };
                let loc = self.key_loc("sync", self.loc(s));
                let d = self
                    .diag(
                        Severity::Error,
                        loc,
                        codes::DATA_SYNC,
                        format!(
                            "`sync` is only valid with `data: synced`, but this plan says `data: {mode}`"
                        ),
                        "remove `sync`, or set `data: synced` if the old records are copied to the target",
                    )
                    .with_label("remove this")
                    .with_secondary(dloc, "data mode");
                self.push(d);
                Some(if other == RawData::NotSynced { DataMode::NotSynced } else { DataMode::DualWrite })
            }
            (RawData::NotSynced, None) => Some(DataMode::NotSynced),
            (RawData::DualWrite, None) => Some(DataMode::DualWrite),
        }
    }

    /// `sync.compression`: a codec name, only where kmigrate copies the data.
    pub(super) fn sync_compression(
        &mut self,
        raw: &RawPlan,
        data: Option<DataMode>,
    ) -> Option<CompressionChoice> {
        let c = raw.sync.as_ref()?.value.compression.as_ref()?;
        let loc = self.loc(c);
        let value = c.value.trim();
        let names = Compression::ALL.map(Compression::as_str);
        let list = names.map(|n| format!("`{n}`")).join(", ");
        let codec = Compression::from_name(value);
        if codec.is_none() {
            let help = match value {
                "uncompressed" => format!(
                    "`uncompressed` is the topic config's word for it; here it is `none`. Use one of: {list}"
                ),
                "producer" => format!(
                    "`producer` is a topic config value; leave `compression` out to write with the target \
                     topic's `compression.type` (else lz4), or use one of: {list}"
                ),
                _ => match did_you_mean(&value.to_ascii_lowercase(), names) {
                    Some(s) => format!("did you mean `{s}`? Use one of: {list}"),
                    None => format!("use one of: {list}"),
                },
            };
            self.error(
                loc,
                codes::SYNC_COMPRESSION,
                format!("`{value}` is not a valid `sync.compression`"),
                help,
                "not a codec",
            );
        }
        if let Some(DataMode::Synced(by @ (SyncBy::External | SyncBy::MirrorMaker2))) = data {
            let (help, label) = if by == SyncBy::MirrorMaker2 {
                (
                    "remove `compression`: MirrorMaker 2's producer has its own setting, e.g. \
                     `producer.override.compression.type: zstd` in `sync.connect.properties`",
                    "not used with `by: mirrormaker2`",
                )
            } else {
                (
                    "remove `compression`: the external tool that copies the records has its own setting \
                     (MirrorMaker: `producer.override.compression.type`)",
                    "not used with `by: external`",
                )
            };
            self.error(
                self.key_loc("compression", loc),
                codes::SYNC_COMPRESSION,
                "`sync.compression` applies only when kmigrate copies the records (`by: kmigrate`)",
                help,
                label,
            );
            return None;
        }
        Some(CompressionChoice { codec: codec?, loc })
    }
}
