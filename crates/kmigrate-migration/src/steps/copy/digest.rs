//! Digests of what the copy wrote, folded per block of source offsets as the target acknowledges
//! records, so that verify can check the target against them without reading the source again.
//!
//! A block covers [`BLOCK`] source offsets and sums, per record, a mix of its source offset with
//! the digest of its key, value and headers (`content`), and with its timestamp (`stamps`).
//! Sums do not depend on the order records are folded in, and the offset ties each record to its
//! place. Verify folds the target's copies (mapped back to source offsets through the offset map)
//! the same way and compares block by block; a block that differs is compared record by record
//! with the source, which names the record. Records whose source timestamp a copy cannot keep
//! (none, or 0) are counted in `unstamped` and left out of `stamps`; the target cannot tell which
//! they are, so a block holding any is always compared record by record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::offset_map::PartitionMap;

/// Source offsets per block.
pub const BLOCK: i64 = 1 << 20;

/// The digest of the copies of one block of source offsets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub records: u64,
    pub content: u64,
    pub stamps: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unstamped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Block {
    /// Adds a record: its source offset, [`kmigrate_kafka::content_digest`] and timestamp
    /// (`None`: one a copy cannot keep).
    pub fn add(&mut self, source_offset: i64, content: u64, timestamp: Option<i64>) {
        self.records += 1;
        self.content = self.content.wrapping_add(mix(source_offset, content));
        match timestamp {
            Some(t) => self.stamps = self.stamps.wrapping_add(mix(source_offset, t as u64)),
            None => self.unstamped += 1,
        }
    }
}

/// The blocks of one partition, keyed by block number (source offset / [`BLOCK`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionDigest {
    pub blocks: BTreeMap<i64, Block>,
}

impl PartitionDigest {
    pub fn add(&mut self, source_offset: i64, content: u64, timestamp: Option<i64>) {
        self.blocks.entry(source_offset.div_euclid(BLOCK)).or_default().add(
            source_offset,
            content,
            timestamp,
        );
    }

    /// Records folded in.
    pub fn records(&self) -> u64 {
        self.blocks.values().map(|b| b.records).sum()
    }

    /// The blocks whose copies on the target (`target`, folded the same way, with the target's
    /// timestamps) do not match, or cannot be matched without reading the source (they hold
    /// records a copy could not keep the timestamp of). `timestamps`: whether timestamps are
    /// compared at all (not when the target stamps records itself).
    pub fn unmatched(&self, target: &PartitionDigest, timestamps: bool) -> Vec<i64> {
        let keys: std::collections::BTreeSet<&i64> = self.blocks.keys().chain(target.blocks.keys()).collect();
        keys.into_iter()
            .filter(|k| {
                let (a, b) = (
                    self.blocks.get(k).copied().unwrap_or_default(),
                    target.blocks.get(k).copied().unwrap_or_default(),
                );
                a.records != b.records
                    || a.content != b.content
                    || (timestamps && (a.unstamped > 0 || a.stamps != b.stamps))
            })
            .copied()
            .collect()
    }
}

/// What a reader of the target that follows the copy (`copy::follow`) folded, the same way verify
/// folds: the target's records at offsets `[from, next)`, mapped back to source offsets through
/// the offset map. `map` digests the map's runs over those target offsets when it was saved: a map
/// that says otherwise now (it cannot change below the copy's end, but a state file can be edited)
/// makes verify read the whole target again ([`TargetRead::valid_for`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRead {
    pub from: i64,
    pub next: i64,
    pub map: u64,
    pub digest: PartitionDigest,
}

/// What [`TargetRead::fold`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    /// Folded (or not a copy, or read before): `next` is past it.
    Done,
    /// At or after the end of the map (the target has not acknowledged it yet, or it is no
    /// copy): fold it once the map is longer.
    Later,
}

impl TargetRead {
    pub fn new(from: i64) -> TargetRead {
        TargetRead { from, next: from, map: 0, digest: PartitionDigest::default() }
    }

    /// Folds the target's record at `offset` (records come in offset order) if `map` reaches it.
    pub fn fold(&mut self, map: &PartitionMap, offset: i64, content: u64, timestamp: Option<i64>) -> Folded {
        if offset < self.next {
            return Folded::Done;
        }
        if map.target_end().is_none_or(|end| offset >= end) {
            return Folded::Later;
        }
        if let Some(s) = map.source_of(offset) {
            self.digest.add(s, content, timestamp);
        }
        self.next = offset + 1;
        Folded::Done
    }

    /// Records the map this was folded through (before saving).
    pub fn seal(&mut self, map: &PartitionMap) {
        self.map = runs_digest(map, self.from, self.next);
    }

    /// Whether this covers the target from the first copy on, folded through `map` as it is.
    pub fn valid_for(&self, map: &PartitionMap) -> bool {
        map.runs.first().is_some_and(|r| self.from <= r[1])
            && self.map == runs_digest(map, self.from, self.next)
    }
}

/// A digest of the runs of `map` over target offsets `[from, next)`.
fn runs_digest(map: &PartitionMap, from: i64, next: i64) -> u64 {
    let mut h = splitmix(from as u64 ^ splitmix(next as u64));
    for &[s, t, len] in &map.runs {
        let (a, b) = (t.max(from), (t + len).min(next));
        if a < b {
            for v in [s + (a - t), a, b - a] {
                h = splitmix(h ^ v as u64);
            }
        }
    }
    h
}

/// The source offsets of block `n`: `[start, end)`.
pub fn block_range(n: i64) -> (i64, i64) {
    (n * BLOCK, (n + 1) * BLOCK)
}

/// SplitMix64 of the offset, combined with `value` and mixed again: a different record, or the
/// same record at another offset, gives an unrelated term.
fn mix(offset: i64, value: u64) -> u64 {
    splitmix(splitmix(offset as u64) ^ value)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(records: &[(i64, u64, Option<i64>)]) -> PartitionDigest {
        let mut d = PartitionDigest::default();
        for (o, c, t) in records {
            d.add(*o, *c, *t);
        }
        d
    }

    #[test]
    fn equal_copies_match_in_any_order_and_any_difference_names_its_block() {
        let records: Vec<(i64, u64, Option<i64>)> =
            (0..3000).map(|i| (i * 1000, i as u64 * 7 + 1, Some(1_700_000_000_000 + i))).collect();
        let source = digest(&records);
        let mut reversed = records.clone();
        reversed.reverse();
        assert_eq!(source.unmatched(&digest(&reversed), true), Vec::<i64>::new());
        assert_eq!(source.records(), 3000);

        let mut changed = records.clone();
        changed[2000].1 ^= 1; // one record's content, in block 1 (offset 2,000,000)
        assert_eq!(source.unmatched(&digest(&changed), true), vec![1]);
        let mut moved = records.clone();
        moved[10].0 += 1; // same record, another offset
        assert_eq!(source.unmatched(&digest(&moved), true), vec![0]);
        let mut restamped = records.clone();
        restamped[2999].2 = Some(5);
        assert_eq!(source.unmatched(&digest(&restamped), true), vec![2]);
        assert_eq!(
            source.unmatched(&digest(&restamped), false),
            Vec::<i64>::new(),
            "timestamps not compared"
        );
        let missing = &records[..2999];
        assert_eq!(source.unmatched(&digest(missing), true), vec![2]);
    }

    #[test]
    fn blocks_with_records_a_copy_could_not_stamp_are_compared_with_the_source() {
        let source = digest(&[(0, 1, None), (1, 2, Some(10)), (BLOCK, 3, Some(11))]);
        let target = digest(&[(0, 1, Some(99)), (1, 2, Some(10)), (BLOCK, 3, Some(11))]);
        assert_eq!(source.unmatched(&target, true), vec![0]);
        assert_eq!(source.unmatched(&target, false), Vec::<i64>::new());
    }

    #[test]
    fn a_target_read_folds_what_the_map_reaches_and_knows_the_map_it_used() {
        let mut map = PartitionMap::default();
        for s in 0..10 {
            map.record(s, s + 5); // copies at target 5..15
        }
        let mut read = TargetRead::new(3);
        assert_eq!(read.fold(&map, 3, 99, None), Folded::Done, "a record before the copies is none");
        for t in 5..15 {
            assert_eq!(read.fold(&map, t, t as u64, Some(t)), Folded::Done);
        }
        assert_eq!(read.fold(&map, 15, 0, None), Folded::Later, "not acknowledged yet");
        assert_eq!(read.next, 15);
        let copies = digest(&(0..10).map(|s| (s, s as u64 + 5, Some(s + 5))).collect::<Vec<_>>());
        assert_eq!(copies.unmatched(&read.digest, true), Vec::<i64>::new());

        read.seal(&map);
        assert!(read.valid_for(&map));
        let mut longer = map.clone();
        longer.record(10, 15);
        assert!(read.valid_for(&longer), "copies after what was read change nothing");
        let mut edited = PartitionMap::default();
        for s in 0..10 {
            edited.record(s, s + 6);
        }
        assert!(!read.valid_for(&edited));
        assert!(!TargetRead { from: 6, ..read.clone() }.valid_for(&map), "it must cover the first copy");
    }
}
