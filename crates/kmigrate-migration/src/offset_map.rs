//! The offset map of a copied partition: which target offset each copied source record got,
//! stored as runs of consecutive offsets, and the exact translation of a consumer's position.

use serde::{Deserialize, Serialize};

/// The copy state of one partition, as checkpointed. Only records the target acknowledged are
/// in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMap {
    /// The next source offset to copy; `None` before the first record is copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// `[source_start, target_start, length]`: source offsets `source_start..source_start+length`
    /// went to `target_start..target_start+length`. Ascending in both offsets.
    #[serde(default)]
    pub runs: Vec<[i64; 3]>,
}

impl PartitionMap {
    /// Records that source offset `src` was written at target offset `tgt`. Calls come in
    /// source order (the producer is idempotent, so acknowledgements keep the order).
    pub fn record(&mut self, src: i64, tgt: i64) {
        match self.runs.last_mut() {
            Some([s, t, len]) if *s + *len == src && *t + *len == tgt => *len += 1,
            _ => self.runs.push([src, tgt, 1]),
        }
        self.next = Some(src + 1);
    }

    /// How many records were copied.
    pub fn copied(&self) -> u64 {
        self.runs.iter().map(|r| r[2] as u64).sum()
    }

    /// The first source offset copied.
    pub fn first_source(&self) -> Option<i64> {
        self.runs.first().map(|r| r[0])
    }

    /// The target offset after the last copied record.
    pub fn target_end(&self) -> Option<i64> {
        self.runs.last().map(|r| r[1] + r[2])
    }

    /// The copies of source offsets `[lo, hi)`: how many, and the target offsets they span
    /// (`[first, last + 1)`; new records producers wrote may sit between them). `None` if none.
    pub fn copies_in(&self, lo: i64, hi: i64) -> Option<(u64, i64, i64)> {
        let mut count = 0u64;
        let mut span: Option<(i64, i64)> = None;
        for &[s, t, len] in &self.runs {
            let (a, b) = (s.max(lo), (s + len).min(hi));
            if a >= b {
                continue;
            }
            count += (b - a) as u64;
            let (first, end) = (t + (a - s), t + (b - s));
            span = Some(span.map_or((first, end), |(f, _)| (f, end)));
        }
        span.map(|(first, end)| (count, first, end))
    }

    /// Whether `tgt` holds a copied record.
    pub fn is_copy(&self, tgt: i64) -> bool {
        let i = self.runs.partition_point(|r| r[1] + r[2] <= tgt);
        self.runs.get(i).is_some_and(|r| r[1] <= tgt)
    }

    /// The target offset of the copy of source offset `src`, if it was copied.
    pub fn target_of(&self, src: i64) -> Option<i64> {
        let i = self.runs.partition_point(|r| r[0] + r[2] <= src);
        self.runs.get(i).filter(|r| r[0] <= src).map(|r| r[1] + (src - r[0]))
    }

    /// The source offset of the record copied to target offset `tgt`, if it holds a copy.
    pub fn source_of(&self, tgt: i64) -> Option<i64> {
        let i = self.runs.partition_point(|r| r[1] + r[2] <= tgt);
        self.runs.get(i).filter(|r| r[1] <= tgt).map(|r| r[0] + (tgt - r[1]))
    }

    /// Where a consumer that has consumed every source record before `committed` starts on the
    /// target without losing anything: the first target record it has not seen, copied or new
    /// (records producers wrote to the target between copies). Also returns how many copied
    /// records it has seen on the source yet will read again on the target (they sit after a
    /// new record that it must not skip).
    ///
    /// `committed: None` means it consumed nothing; `target_earliest`/`target_end` bound the
    /// target partition.
    pub fn translate(&self, committed: Option<i64>, target_earliest: i64, target_end: i64) -> (i64, u64) {
        let Some(first) = self.runs.first() else {
            // Nothing copied: every record on the target is new.
            return (target_earliest, 0);
        };
        // Nothing consumed: the first copied record is the first it has not seen. (Not i64::MIN:
        // `consumed - source_start` overflowed on every log that does not start at 0.)
        let consumed = committed.unwrap_or(first[0]);
        // (a) the first copied record it has not consumed
        let unseen_copy = self
            .runs
            .iter()
            .find_map(|[s, t, len]| (consumed < s + len).then(|| t + consumed.saturating_sub(*s).max(0)));
        // (b) the first new record: before the first copy (producers switched before the copy
        // wrote anything), in a gap between runs, or after them
        let mut new_record = (target_earliest < first[1]).then_some(target_earliest);
        let mut expected = first[1];
        for [_, t, len] in self.runs.iter().filter(|_| new_record.is_none()) {
            if *t > expected {
                new_record = Some(expected);
                break;
            }
            expected = t + len;
        }
        if new_record.is_none() && expected < target_end {
            new_record = Some(expected);
        }
        let start = match (unseen_copy, new_record) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => target_end.max(expected),
        };
        let duplicates = self
            .runs
            .iter()
            .map(|[s, t, len]| {
                // copies with source offset < consumed and target offset >= start
                let seen_end = consumed.saturating_sub(*s).clamp(0, *len);
                let from = start.saturating_sub(*t).clamp(0, *len);
                (seen_end - from).max(0) as u64
            })
            .sum();
        (start, duplicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(i64, i64)]) -> PartitionMap {
        let mut m = PartitionMap::default();
        for (s, t) in pairs {
            m.record(*s, *t);
        }
        m
    }

    /// A log that does not start at 0 (retention trimmed it before the copy): a consumer that
    /// consumed nothing, or committed below the log start, starts at the first copy.
    #[test]
    fn translation_of_a_trimmed_log_does_not_overflow() {
        let m = map(&[(1_000, 0), (1_001, 1), (1_002, 2)]);
        assert_eq!(m.translate(None, 0, 3), (0, 0));
        assert_eq!(m.translate(Some(5), 0, 3), (0, 0));
        assert_eq!(m.translate(Some(1_002), 0, 3), (2, 0));
        assert_eq!(m.translate(Some(i64::MAX), 0, 3), (3, 0));
        assert_eq!(m.translate(Some(i64::MIN), 0, 3), (0, 0));
    }

    #[test]
    fn copies_of_a_source_range() {
        let m = map(&[(0, 0), (1, 1), (2, 2), (5, 3), (6, 4), (7, 9)]);
        assert_eq!(m.copies_in(0, 100), Some((6, 0, 10)));
        assert_eq!(m.copies_in(1, 6), Some((3, 1, 4)));
        assert_eq!(m.copies_in(3, 5), None);
        assert_eq!(m.copies_in(7, 8), Some((1, 9, 10)));
    }

    #[test]
    fn runs_stay_compact() {
        let m = map(&[(0, 0), (1, 1), (2, 2), (5, 3), (6, 4), (7, 9)]);
        assert_eq!(m.runs, vec![[0, 0, 3], [5, 3, 2], [7, 9, 1]]);
        assert_eq!(m.copied(), 6);
        assert_eq!(m.next, Some(8));
        assert!(m.is_copy(4) && m.is_copy(9) && !m.is_copy(5) && !m.is_copy(10));
    }

    #[test]
    fn offsets_translate_both_ways_across_source_gaps() {
        // Source offsets 3 and 4 hold no record (a transaction marker, a compacted record).
        let m = map(&[(0, 0), (1, 1), (2, 2), (5, 3), (6, 4), (7, 9)]);
        assert_eq!([0, 2, 5, 6, 7].map(|s| m.target_of(s)), [0, 2, 3, 4, 9].map(Some));
        assert_eq!([3, 4, 8, -1].map(|s| m.target_of(s)), [None; 4]);
        assert_eq!([0, 3, 4, 9].map(|t| m.source_of(t)), [0, 5, 6, 7].map(Some));
        assert_eq!([5, 8, 10].map(|t| m.source_of(t)), [None; 3]);
    }

    #[test]
    fn a_drained_group_starts_at_the_first_new_record() {
        // 100 copied records at 0..100, then producers wrote 20 new ones at 100..120.
        let m = map(&(0..100).map(|i| (i, i)).collect::<Vec<_>>());
        assert_eq!(m.translate(Some(100), 0, 120), (100, 0));
        // Nothing new yet: it starts at the end.
        assert_eq!(m.translate(Some(100), 0, 100), (100, 0));
        // Not drained: it starts at its first unconsumed copy.
        assert_eq!(m.translate(Some(60), 0, 120), (60, 0));
        assert_eq!(m.translate(None, 0, 120), (0, 0));
    }

    #[test]
    fn interleaved_new_records_are_never_skipped_and_duplicates_are_counted() {
        // Copies 0..50 → 0..50; new records at 50..55; copies 50..80 → 55..85; new at 85..
        let mut pairs: Vec<(i64, i64)> = (0..50).map(|i| (i, i)).collect();
        pairs.extend((50..80).map(|i| (i, i + 5)));
        let m = map(&pairs);
        // Drained at 80: the first new record is 50; the 30 copies after it are seen again.
        assert_eq!(m.translate(Some(80), 0, 90), (50, 30));
        // Consumed up to 40: start at copy 40, no duplicates.
        assert_eq!(m.translate(Some(40), 0, 90), (40, 0));
        // Consumed up to 60: start at the new record 50, copies of 50..60 (target 55..65) again.
        assert_eq!(m.translate(Some(60), 0, 90), (50, 10));
    }

    #[test]
    fn records_written_before_the_first_copy_are_new() {
        // Producers wrote 3 records before the copy started; copies 0..5 went to 3..8.
        let m = map(&(0..5).map(|i| (i, i + 3)).collect::<Vec<_>>());
        assert_eq!(m.translate(Some(5), 0, 10), (0, 5));
    }

    #[test]
    fn nothing_copied_means_everything_is_new() {
        assert_eq!(PartitionMap::default().translate(Some(10), 3, 9), (3, 0));
    }
}
