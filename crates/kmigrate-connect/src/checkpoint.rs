//! MirrorMaker 2's checkpoints as `MirrorCheckpointConnector` writes them to
//! `<source alias>.checkpoints.internal` on the target: its translation of a group's committed
//! offset on the source (`upstream`) to an offset on the target (`downstream`), from the sparse
//! offset syncs of the source connector.
//!
//! The wire format is Kafka's protocol types (`Checkpoint.java` in `connect/mirror-client`): the key
//! is `group: STRING, topic: STRING, partition: INT32`; the value a header `version: INT16` (0),
//! then `upstreamOffset: INT64, offset: INT64, metadata: STRING`. A STRING is an INT16 length and
//! that many UTF-8 bytes; every integer is big-endian.

/// One checkpoint: where MirrorMaker would start `group` on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset on the source.
    pub upstream: i64,
    /// MirrorMaker's translation of it on the target.
    pub downstream: i64,
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.i16()?).ok()?;
        let bytes = self.0.get(..len)?;
        self.0 = &self.0[len..];
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// Decodes a checkpoint record; `None` for anything else (another version, a damaged record, a
/// tombstone).
pub fn decode(key: &[u8], value: &[u8]) -> Option<Checkpoint> {
    let mut k = Reader(key);
    let (group, topic, partition) = (k.string()?, k.string()?, k.i32()?);
    let mut v = Reader(value);
    if v.i16()? != 0 {
        return None;
    }
    let (upstream, downstream) = (v.i64()?, v.i64()?);
    Some(Checkpoint { group, topic, partition, upstream, downstream })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as i16).to_be_bytes());
        out.extend(s.as_bytes());
    }

    #[test]
    fn checkpoints_decode_as_mirrormaker_writes_them() {
        let mut key = Vec::new();
        string(&mut key, "billing");
        string(&mut key, "orders");
        key.extend(3i32.to_be_bytes());
        let mut value = Vec::new();
        value.extend(0i16.to_be_bytes());
        value.extend(1_234_567_890_123i64.to_be_bytes());
        value.extend(42i64.to_be_bytes());
        string(&mut value, "");
        assert_eq!(
            decode(&key, &value),
            Some(Checkpoint {
                group: "billing".into(),
                topic: "orders".into(),
                partition: 3,
                upstream: 1_234_567_890_123,
                downstream: 42
            })
        );
        // Another version, a cut record: not a checkpoint.
        let mut v1 = value.clone();
        v1[1] = 1;
        assert_eq!(decode(&key, &v1), None);
        assert_eq!(decode(&key, &value[..10]), None);
        assert_eq!(decode(&key[..5], &value), None);
    }
}
