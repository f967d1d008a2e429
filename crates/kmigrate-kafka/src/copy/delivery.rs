//! The copy producer's delivery reports: which records the target acknowledged (with their target
//! offsets), and which it refused.
//!
//! The producer runs with librdkafka's gap-less guarantee: when the target refuses a batch for
//! good, the producer stops (a fatal error) instead of going on with later batches, so the target
//! never holds a record of a partition after one it does not hold. The reports keep the same
//! promise on this side: an acknowledgement of a partition at or after its first refused record is
//! never reported, so the offset map (and the checkpoint) stops before the refused record.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::context::KContext;

/// One record the target acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub partition: i32,
    pub source_offset: i64,
    pub target_offset: i64,
    /// [`crate::content_digest`] of the record's key, value and headers.
    pub content: u64,
    /// The timestamp the copy carries: the source record's (unless the target topic stamps
    /// records itself, then the target's); `None` when the source record has none or is stamped
    /// 0, which a copy cannot keep (see [`crate::Fields::timestamps_agree`]).
    pub timestamp: Option<i64>,
}

/// A record the target (or the producer) did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub partition: i32,
    pub source_offset: i64,
    pub code: Option<RDKafkaErrorCode>,
    pub reason: String,
    /// Key + value + header bytes of the record.
    pub bytes: usize,
}

impl Refusal {
    /// Whether this refusal only follows another one: records purged or failed because the
    /// producer stopped after the first refusal.
    fn is_consequence(&self) -> bool {
        use RDKafkaErrorCode as C;
        matches!(
            self.code,
            Some(
                C::PurgeQueue
                    | C::PurgeInflight
                    | C::Fatal
                    | C::GaplessGuarantee
                    | C::OutOfOrderSequenceNumber
            )
        )
    }
}

#[derive(Default)]
pub(crate) struct Acks {
    /// Acknowledged since the last report, in acknowledgement order.
    pub delivered: Vec<Delivery>,
    /// Per partition, the first source offset not acknowledged: nothing from it on is reported.
    pub refused: BTreeMap<i32, i64>,
    /// The refusal that caused the others (a broker's answer), if one came.
    pub cause: Option<Refusal>,
    /// The first refusal of any kind.
    pub first: Option<Refusal>,
}

impl Acks {
    pub(crate) fn refuse(&mut self, r: Refusal) {
        let first = self.refused.entry(r.partition).or_insert(r.source_offset);
        *first = (*first).min(r.source_offset);
        if self.cause.is_none() && !r.is_consequence() {
            self.cause = Some(r.clone());
        }
        self.first.get_or_insert(r);
    }

    /// Forgets what was refused (records purged on a stop), keeping the partitions' marks.
    pub(crate) fn forget_failures(&mut self) {
        self.cause = None;
        self.first = None;
    }

    /// What to report as the copy's failure: the cause, else the first refusal.
    pub(crate) fn failure(&self) -> Option<&Refusal> {
        self.cause.as_ref().or(self.first.as_ref())
    }
}

/// Collects delivery reports (called from `producer.poll` on the copy thread).
pub(crate) struct DeliveryContext {
    pub base: KContext,
    pub acks: Mutex<Acks>,
    /// Key + value bytes acknowledged since the last report.
    pub bytes: AtomicU64,
    /// Records in flight whose source timestamp a copy cannot keep: (partition, source offset).
    /// Rare (records without a timestamp, or stamped 0).
    pub unstamped: Mutex<std::collections::BTreeSet<(i32, i64)>>,
    /// Whether `unstamped` ever held a record (the common case, never, then costs no lock).
    pub any_unstamped: std::sync::atomic::AtomicBool,
}

impl DeliveryContext {
    pub(crate) fn new(base: KContext) -> Self {
        DeliveryContext {
            base,
            acks: Mutex::new(Acks::default()),
            bytes: AtomicU64::new(0),
            unstamped: Mutex::default(),
            any_unstamped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether any record was refused.
    pub(crate) fn refused(&self) -> bool {
        self.acks.lock().expect("delivery lock").first.is_some()
    }
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.base.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.base.error(error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    /// The source offset of the record.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, source_offset: usize) {
        let source_offset = source_offset as i64;
        let partition = match result {
            Ok(m) => m.partition(),
            Err((_, m)) => m.partition(),
        };
        let unstamped = self.any_unstamped.load(Ordering::Relaxed) && {
            let mut set = self.unstamped.lock().expect("delivery lock");
            !set.is_empty() && set.remove(&(partition, source_offset))
        };
        match result {
            Ok(m) => {
                use rdkafka::message::Headers;
                let content = crate::content_digest(
                    m.key(),
                    m.payload(),
                    m.headers().into_iter().flat_map(|h| h.iter().map(|x| (x.key, x.value))),
                );
                let timestamp = if unstamped { None } else { m.timestamp().to_millis() };
                let mut acks = self.acks.lock().expect("delivery lock");
                if acks.refused.get(&m.partition()).is_some_and(|first| source_offset >= *first) {
                    return;
                }
                acks.delivered.push(Delivery {
                    partition: m.partition(),
                    source_offset,
                    target_offset: m.offset(),
                    content,
                    timestamp,
                });
                drop(acks);
                let bytes = m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
                self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
            }
            Err((e, m)) => {
                let bytes = record_bytes(m);
                self.acks.lock().expect("delivery lock").refuse(Refusal {
                    partition: m.partition(),
                    source_offset,
                    code: e.rdkafka_error_code(),
                    reason: e.to_string(),
                    bytes,
                });
            }
        }
    }
}

/// Key + value + header bytes of a record.
pub(crate) fn record_bytes<M: Message>(m: &M) -> usize {
    use rdkafka::message::Headers;
    let headers =
        m.headers().map_or(0, |h| h.iter().map(|x| x.key.len() + x.value.map_or(0, <[u8]>::len)).sum());
    m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len) + headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(partition: i32, offset: i64, code: RDKafkaErrorCode) -> Refusal {
        Refusal { partition, source_offset: offset, code: Some(code), reason: code.to_string(), bytes: 1 }
    }

    #[test]
    fn the_cause_is_the_brokers_answer_not_the_purge_that_follows() {
        let mut acks = Acks::default();
        acks.refuse(refusal(1, 40, RDKafkaErrorCode::PurgeQueue));
        acks.refuse(refusal(0, 7, RDKafkaErrorCode::MessageSizeTooLarge));
        acks.refuse(refusal(0, 5, RDKafkaErrorCode::PurgeInflight));
        assert_eq!(acks.failure().unwrap().source_offset, 7);
        assert_eq!(acks.refused, BTreeMap::from([(0, 5), (1, 40)]));
        let mut only_purged = Acks::default();
        only_purged.refuse(refusal(2, 9, RDKafkaErrorCode::PurgeQueue));
        assert_eq!(only_purged.failure().unwrap().partition, 2);
    }
}
