//! Verify's read of the target, done while the copy runs: a reader of the target of its own
//! ([`Follower`]) reads each partition behind the producer, and every record the offset map
//! reaches (the target acknowledged it) is folded into [`TargetRead`] exactly as verify would fold
//! it. When the copy ends, only the tail is left to read; verify then compares the folded blocks
//! with the digests the copy recorded and reads only what was not folded.
//!
//! Only partitions whose digests cover every copy are followed (a resumed copy that found records
//! on the target is compared with the source by verify anyway). Nothing here is a verdict: the
//! folded digests are saved with the offset map, and verify compares them.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use kmigrate_kafka::{Cluster, Follower, Seen, TopicPartition};

use super::CopyState;
use super::digest::{Folded, TargetRead};

/// Records read but not yet reached by the offset map that are held at most (about 32 bytes
/// each); past it, following stops and verify reads the rest.
const HELD_MAX: usize = 500_000;
/// At the copy's end, how long the reader may go without getting closer to the end of the copies
/// before the tail is left to verify.
const TAIL_IDLE: Duration = Duration::from_secs(5);

pub(super) struct Follow {
    follower: Option<Follower>,
    held: BTreeMap<i32, VecDeque<Seen>>,
    held_count: usize,
}

impl Follow {
    /// Starts following the partitions whose digests cover every copy, each where its earlier
    /// read stopped, else at its first copy, else (nothing copied) at the target's end now.
    /// Never fails: without a reader, verify reads the whole target.
    pub(super) async fn start(
        target: &Cluster,
        topic: &str,
        partitions: &[TopicPartition],
        state: &mut CopyState,
    ) -> Follow {
        let idle = Follow { follower: None, held: BTreeMap::new(), held_count: 0 };
        let covered: Vec<&TopicPartition> = partitions
            .iter()
            .filter(|p| {
                let copied = state.partitions.get(&p.partition).map_or(0, |m| m.copied());
                state.digests.get(&p.partition).map_or(0, |d| d.records()) == copied
            })
            .collect();
        state.target_read.retain(|p, _| covered.iter().any(|c| c.partition == *p));
        let empty: Vec<TopicPartition> = covered
            .iter()
            .filter(|p| state.partitions.get(&p.partition).is_none_or(|m| m.runs.is_empty()))
            .map(|p| (*p).clone())
            .collect();
        let ends = if empty.is_empty() {
            BTreeMap::new()
        } else {
            match target.latest_offsets(&empty).await {
                Ok(ends) => ends,
                Err(e) => {
                    tracing::debug!(topic, "reading the target's ends to follow the copy: {e}");
                    return idle;
                }
            }
        };
        let mut starts = BTreeMap::new();
        for p in covered {
            let map = state.partitions.get(&p.partition);
            let read =
                match (state.target_read.remove(&p.partition), map.and_then(|m| m.runs.first()), ends.get(p))
                {
                    (Some(read), Some(_), _) if map.is_some_and(|m| read.valid_for(m)) => read,
                    (_, Some(first), _) => TargetRead::new(first[1]),
                    (_, None, Some(end)) => TargetRead::new(*end),
                    (_, None, None) => continue,
                };
            starts.insert(p.partition, read.next);
            state.target_read.insert(p.partition, read);
        }
        match Follower::start(target, topic, &starts) {
            Ok(f) => Follow { follower: Some(f), ..idle },
            Err(e) => {
                tracing::debug!(topic, "following the copy: {e}");
                idle
            }
        }
    }

    pub(super) fn active(&self) -> bool {
        self.follower.is_some()
    }

    /// The next records read (pending for ever once the reader ended).
    pub(super) async fn next(&mut self) -> Option<Vec<Seen>> {
        match self.follower.as_mut() {
            Some(f) => f.next().await,
            None => std::future::pending().await,
        }
    }

    /// Folds records read (`None`: the reader ended; verify reads what it did not).
    pub(super) fn take(&mut self, state: &mut CopyState, batch: Option<Vec<Seen>>) {
        let Some(batch) = batch else {
            self.stop();
            return;
        };
        for seen in batch {
            let held = self.held.entry(seen.partition).or_default();
            if !held.is_empty() {
                held.push_back(seen);
                self.held_count += 1;
                continue;
            }
            if fold(state, &seen) == Folded::Later {
                held.push_back(seen);
                self.held_count += 1;
            }
        }
        if self.held_count > HELD_MAX {
            tracing::debug!(
                "following the copy: {} records wait for the offset map; verify reads the rest",
                self.held_count
            );
            self.stop();
        }
    }

    /// Folds the held records the offset map now reaches (call after recording deliveries).
    pub(super) fn catch_up(&mut self, state: &mut CopyState) {
        if self.held_count == 0 {
            return;
        }
        for held in self.held.values_mut() {
            while let Some(seen) = held.front() {
                if fold(state, seen) == Folded::Later {
                    break;
                }
                held.pop_front();
                self.held_count -= 1;
            }
        }
    }

    /// Whether every followed partition is read up to the end of its copies.
    pub(super) fn done(&self, state: &CopyState) -> bool {
        state.target_read.iter().all(|(p, read)| {
            state.partitions.get(p).and_then(|m| m.target_end()).is_none_or(|end| read.next >= end)
        })
    }

    /// After the copy finished: reads on until every partition is read up to the end of its
    /// copies, or the reads stop getting closer to it for a while (a partition held back by
    /// another producer's open transaction, while records others write keep coming: verify reads
    /// what is left).
    pub(super) async fn finish(&mut self, state: &mut CopyState) {
        let read = |state: &CopyState| state.target_read.values().map(|r| r.next).sum::<i64>();
        let (mut position, mut moved) = (read(state), Instant::now());
        while self.active() && !self.done(state) {
            let left = TAIL_IDLE.saturating_sub(moved.elapsed());
            match tokio::time::timeout(left, self.next()).await {
                Ok(batch) => {
                    self.take(state, batch);
                    self.catch_up(state);
                    if read(state) != position {
                        (position, moved) = (read(state), Instant::now());
                    }
                }
                Err(_) => break,
            }
        }
        self.stop();
    }

    pub(super) fn stop(&mut self) {
        if let Some(mut f) = self.follower.take() {
            f.stop();
        }
        self.held.clear();
        self.held_count = 0;
    }
}

fn fold(state: &mut CopyState, seen: &Seen) -> Folded {
    let (Some(read), Some(map)) =
        (state.target_read.get_mut(&seen.partition), state.partitions.get(&seen.partition))
    else {
        return Folded::Done;
    };
    read.fold(map, seen.offset, seen.content, seen.timestamp)
}
