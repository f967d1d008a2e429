//! The cutover time rules, pure: T from the source's last records, and the margin.

use chrono::{DateTime, FixedOffset};
use kmigrate_kafka::TopicPartition;

/// T = `t` − `margin` (`cutover.margin`: producers' clocks differ). The `cutover` step records it;
/// the dry run predicts it from `cutover.at`.
pub fn with_margin(t: DateTime<FixedOffset>, margin: std::time::Duration) -> DateTime<FixedOffset> {
    t - chrono::Duration::from_std(margin).unwrap_or_default()
}

/// How far in the future (by kmigrate's clock) a record's timestamp may be before it is taken for
/// a future-dated outlier (an event-time producer, a wrong clock) rather than a producer whose
/// clock is a little ahead.
pub const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// The cutover time T derived from the last record of each source partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromLastRecords {
    /// T, in ms: 1 ms after the newest last record, so that a by-time start on the target begins
    /// after the source's last record, not at it (that record is read again otherwise).
    pub t_ms: i64,
    /// The newest last record taken into account.
    pub newest: Option<i64>,
    /// Last records dated more than [`FUTURE_TOLERANCE_MS`] after `now`: ignored, since one of them
    /// would move T into the future and by-time starts would skip new records.
    pub outliers: Vec<(TopicPartition, i64)>,
}

/// Pure: T from the last record (`ms`) of each partition and kmigrate's clock `now_ms`. With no
/// record (or only outliers), T is `now_ms`.
pub fn after_last_records(last: &[(TopicPartition, i64)], now_ms: i64) -> FromLastRecords {
    let (outliers, kept): (Vec<_>, Vec<_>) =
        last.iter().cloned().partition(|(_, ts)| *ts > now_ms.saturating_add(FUTURE_TOLERANCE_MS));
    let newest = kept.iter().map(|(_, ts)| *ts).max();
    FromLastRecords { t_ms: newest.map_or(now_ms, |n| n + 1), newest, outliers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_moves_t_earlier() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+01:00").unwrap();
        assert_eq!(
            with_margin(at, std::time::Duration::from_secs(90)).to_rfc3339(),
            "2026-11-30T09:58:30+01:00"
        );
        assert_eq!(with_margin(at, std::time::Duration::ZERO), at);
    }

    #[test]
    fn t_is_just_after_the_newest_last_record_ignoring_future_dated_ones() {
        let p = |n| TopicPartition::new("orders", n);
        let now = 1_767_225_600_000;
        let r = after_last_records(&[(p(0), now - 5_000), (p(1), now - 2_000), (p(2), now + 3_600_000)], now);
        assert_eq!(r.t_ms, now - 2_000 + 1, "after the last record, not at it");
        assert_eq!(r.newest, Some(now - 2_000));
        assert_eq!(r.outliers, vec![(p(2), now + 3_600_000)]);
        // A producer clock a little ahead is not an outlier.
        let r = after_last_records(&[(p(0), now + 30_000)], now);
        assert_eq!((r.t_ms, r.outliers.len()), (now + 30_001, 0));
        // Nothing to go by: now.
        assert_eq!(after_last_records(&[(p(0), now + FUTURE_TOLERANCE_MS + 1)], now).t_ms, now);
        assert_eq!(after_last_records(&[], now).t_ms, now);
    }
}
