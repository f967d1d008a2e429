//! The copy pipe's end: once the cutover has passed, the copy is finished as soon as it has read
//! up to the source's watermarks read after the cutover, with no settle time, and records written
//! just before the cutover are copied.

mod common;

use std::time::Duration;

use common::{partitions, records};
use kmigrate_kafka::{CopyEnd, CopyOptions, CopyPipe};
use kmigrate_testkit::{Engine, TestCluster, unique};

#[tokio::test(flavor = "multi_thread")]
async fn the_copy_ends_at_the_ends_read_after_the_cutover_and_misses_nothing_written_before_it() {
    let source = TestCluster::start("source", Engine::Sqlite);
    let target = TestCluster::start("target", Engine::Sqlite);
    let topic = unique("pipe-ends");
    source.create_topic(&topic, 3).await;
    target.create_topic(&topic, 3).await;
    let (s, t) = (source.connect().await, target.connect().await);
    let starts = (0..3).map(|p| (p, None)).collect();
    // A settle time the test would never see the end of: only the ends can finish the copy.
    let options = CopyOptions { settle: Duration::from_secs(3600), ..CopyOptions::default() };
    let mut pipe = CopyPipe::start(&s, &t, &topic, &starts, options).unwrap();

    // Producers write up to the moment of the cutover (partition 2 stays empty).
    source.produce(&topic, &records(0, 3_000, 1_000, 1)).await;
    source.produce(&topic, &records(1, 2_000, 1_000, 1)).await;
    let ends = s.watermarks(&partitions(&topic, 3)).await.unwrap();
    pipe.cutover_passed(Some(ends.into_iter().map(|(p, w)| (p.partition, w)).collect()));

    let drained = tokio::time::timeout(Duration::from_secs(60), async {
        let mut copied = 0;
        while let Some(progress) = pipe.next().await {
            copied += progress.deliveries.len();
        }
        (copied, pipe.join().await)
    })
    .await
    .expect("the copy ends once it has read up to the ends, without waiting for the settle time");
    assert_eq!(drained.1.unwrap(), CopyEnd::Finished);
    assert_eq!(drained.0, 5_000, "every record written before the cutover was copied");
    let copies = t.watermarks(&partitions(&topic, 3)).await.unwrap();
    let latest: Vec<i64> = copies.values().map(|w| w.latest).collect();
    assert_eq!(latest, [3_000, 2_000, 0]);
}
