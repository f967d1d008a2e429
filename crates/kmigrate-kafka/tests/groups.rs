//! Consumer groups: list, describe, committed offsets, committing safely.

mod common;

use std::collections::BTreeMap;

use common::partitions;
use kmigrate_kafka::{Error, GroupState, Membership, TopicPartition};
use kmigrate_testkit::{Engine, GroupProtocol, TestCluster, unique};

/// Memory engine: tansu's SQLite engine answers ListGroups too, but the memory engine is the one whose
/// DescribeGroups works, used by the describe assertions below.
#[tokio::test]
async fn list_and_describe_groups() {
    let c = TestCluster::start("source", Engine::Memory);
    let k = c.connect().await;
    let t = unique("groups");
    c.create_topic(&t, 2).await;
    let g1 = unique("list-1");
    let g2 = unique("list-2");
    c.commit_group_offsets(&g1, &[(&t, 0, 1)]).await;
    c.commit_group_offsets(&g2, &[(&t, 1, 2)]).await;

    let groups = k.list_groups().await.unwrap();
    for g in [&g1, &g2] {
        let listed =
            groups.iter().find(|l| &l.group_id == g).unwrap_or_else(|| panic!("{g} not listed: {groups:?}"));
        if c.is_tansu() {
            // tansu answers ListGroups without states (Apache Kafka 2.6+ reports them: Empty here).
            assert_eq!(listed.state, GroupState::Unknown);
        } else {
            assert_eq!(listed.state, GroupState::Empty);
        }
    }

    // A group with committed offsets and no members.
    let d = k.describe_group(&g1).await.unwrap();
    assert_eq!(d.group_id, g1);
    assert_eq!(d.state, GroupState::Empty);
    assert!(d.members.is_empty());

    // A live member.
    let g3 = unique("live");
    let member = c.start_member(&g3, &[&t]).await;
    let d = k.describe_group(&g3).await.unwrap();
    assert_eq!(d.state, GroupState::Stable);
    assert_eq!(d.protocol_type, "consumer");
    assert_eq!(d.members.len(), 1, "{d:?}");
    // librdkafka's member ids start with the client id; tansu returns empty client id and host (Kafka
    // returns the client id and the member's address).
    assert!(d.members[0].member_id.starts_with(member.client_id()), "{d:?}");
    if !c.is_tansu() {
        assert_eq!(d.members[0].client_id, member.client_id());
        assert!(!d.members[0].host.is_empty());
    }
    drop(member);

    let missing = unique("no-such-group");
    match k.describe_group(&missing).await {
        Err(e @ Error::GroupNotFound { .. }) => {
            assert_eq!(
                e.to_string(),
                format!("consumer group `{missing}` does not exist on the source cluster")
            );
        }
        other => panic!("expected GroupNotFound, got {other:?}"),
    }
}

/// SQLite engine: its committed offsets are right (and it is what the memory engine's ListGroups quirk
/// does not affect).
#[tokio::test]
async fn committed_offsets() {
    let c = TestCluster::start("target", Engine::Sqlite);
    let k = c.connect().await;
    let t = unique("committed");
    let u = unique("committed-other");
    c.create_topic(&t, 3).await;
    c.create_topic(&u, 1).await;
    let g = unique("committed-group");
    c.commit_group_offsets(&g, &[(&t, 0, 5), (&t, 2, 7), (&u, 0, 1)]).await;

    let got = k.committed_offsets(&g, &partitions(&t, 3)).await.unwrap();
    let expected: BTreeMap<TopicPartition, Option<i64>> = [(0, Some(5)), (1, None), (2, Some(7))]
        .into_iter()
        .map(|(p, o)| (TopicPartition::new(t.as_str(), p), o))
        .collect();
    assert_eq!(got, expected);

    let all = k.all_committed_offsets(&g).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[&TopicPartition::new(u.as_str(), 0)], 1);

    // A group that never committed has no offsets.
    let none = k.committed_offsets(&unique("never"), &partitions(&t, 1)).await.unwrap();
    assert_eq!(none.values().copied().collect::<Vec<_>>(), vec![None]);
}

/// Memory engine: its DescribeGroups shows members, so kmigrate's own check runs.
#[tokio::test]
async fn commit_is_refused_while_the_group_has_members() {
    let c = TestCluster::start("target", Engine::Memory);
    let k = c.connect().await;
    let t = unique("commit");
    c.create_topic(&t, 2).await;
    let offsets =
        BTreeMap::from([(TopicPartition::new(t.as_str(), 0), 2), (TopicPartition::new(t.as_str(), 1), 0)]);

    // A group that does not exist yet: the commit creates it.
    let fresh = unique("fresh");
    assert_eq!(k.commit_offsets(&fresh, &offsets).await.unwrap(), Membership::NewGroup);

    // An existing group without members.
    assert_eq!(k.commit_offsets(&fresh, &offsets).await.unwrap(), Membership::VerifiedEmpty);
    let got = k.committed_offsets(&fresh, &partitions(&t, 2)).await.unwrap();
    assert_eq!(got.values().copied().collect::<Vec<_>>(), vec![Some(2), Some(0)]);

    // A group with a live member: refused, naming the member.
    let busy = unique("busy");
    let member = c.start_member(&busy, &[&t]).await;
    let err = k.commit_offsets(&busy, &offsets).await.unwrap_err();
    match &err {
        Error::GroupHasActiveMembers { group, members, .. } => {
            assert_eq!(group, &busy);
            assert_eq!(members.len(), 1);
            assert!(members[0].member_id.starts_with(member.client_id()), "{members:?}");
        }
        other => panic!("expected GroupHasActiveMembers, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "refusing to commit offsets for consumer group `{busy}` on the target cluster: it has 1 active member(s): member {}",
            member.client_id()
        )),
        "{text}"
    );
    // Nothing was committed beyond what the member itself committed (0 for each partition: see the testkit).
    let got = k.committed_offsets(&busy, &partitions(&t, 2)).await.unwrap();
    assert!(got.values().all(|o| *o != Some(2)), "{got:?}");

    // Once the member has left, the commit goes through.
    drop(member);
    assert_eq!(k.commit_offsets(&busy, &offsets).await.unwrap(), Membership::VerifiedEmpty);
}

/// A group of Kafka 4's consumer protocol (KIP-848) with a live member. Apache Kafka's classic
/// DescribeGroups answers "not found" for it while ListGroups lists it as Stable; kmigrate refuses
/// the commit itself. Kafka's own refusal (what kmigrate relied on before it checked the listing)
/// is UNKNOWN_MEMBER_ID, mapped to a clear error in the unit tests of groups.rs.
#[tokio::test]
async fn commit_is_refused_while_a_consumer_protocol_group_has_members() {
    let c = TestCluster::start("target", Engine::Memory);
    let k = c.connect().await;
    let t = unique("commit-848");
    c.create_topic(&t, 2).await;
    let offsets =
        BTreeMap::from([(TopicPartition::new(t.as_str(), 0), 2), (TopicPartition::new(t.as_str(), 1), 0)]);
    let busy = unique("busy-848");
    let member = c.start_member_with(&busy, &[&t], GroupProtocol::Consumer).await;
    if !c.is_tansu() {
        // What Kafka does: listed and active, yet not described.
        let listed = k.list_groups().await.unwrap().into_iter().find(|g| g.group_id == busy).unwrap();
        assert_eq!(listed.state, GroupState::Stable);
        assert!(matches!(k.describe_group(&busy).await, Err(Error::GroupNotFound { .. })));
    }
    let err = k.commit_offsets(&busy, &offsets).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::GroupActive { .. } | Error::GroupHasActiveMembers { .. }), "{err:?}");
    assert!(
        text.starts_with(&format!(
            "refusing to commit offsets for consumer group `{busy}` on the target cluster"
        )),
        "{text}"
    );
    // Nothing committed beyond the member's own commit of 0.
    let got = k.committed_offsets(&busy, &partitions(&t, 2)).await.unwrap();
    assert!(got.values().all(|o| *o != Some(2)), "{got:?}");
    drop(member);
}
