//! Consumer groups: list, describe (members), read committed offsets, commit offsets safely.
//!
//! Committing offsets for a group (an offset reset) is only safe while the group has no active members:
//! a live consumer would overwrite the new offsets with its own position. [`Cluster::commit_offsets`] first
//! describes the group and refuses, naming the members, if it has any. When the description cannot be
//! obtained (missing Describe ACL; tansu's SQLite engine drops the connection on DescribeGroups) it logs a
//! warning "membership could not be verified" and commits anyway, relying on the broker: Apache Kafka
//! refuses a commit without a generation into a group with members (UNKNOWN_MEMBER_ID, or
//! REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION while it rebalances), which is mapped to
//! [`Error::CommitRefusedGroupActive`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};

use crate::client::Cluster;
use crate::error::{Error, GroupMember, Result};
use crate::ffi::{self, FfiError};
use crate::types::TopicPartition;

/// The state of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupState {
    Stable,
    Empty,
    Dead,
    PreparingRebalance,
    CompletingRebalance,
    /// The broker did not say (e.g. ListGroups before v4, as tansu answers).
    Unknown,
    /// A state name kmigrate does not know.
    Other(String),
}

impl GroupState {
    pub(crate) fn parse(s: &str) -> GroupState {
        match s {
            "Stable" => GroupState::Stable,
            "Empty" => GroupState::Empty,
            "Dead" => GroupState::Dead,
            "PreparingRebalance" => GroupState::PreparingRebalance,
            "CompletingRebalance" | "AwaitingSync" => GroupState::CompletingRebalance,
            "" | "Unknown" => GroupState::Unknown,
            other => GroupState::Other(other.to_string()),
        }
    }
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupState::Other(s) => f.write_str(s),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A group as listed by ListGroups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupListing {
    pub group_id: String,
    /// [`GroupState::Unknown`] where the broker does not report states.
    pub state: GroupState,
    /// A group used only to store offsets (empty protocol type), not by subscribing consumers.
    pub simple: bool,
}

/// A group as described by DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: GroupState,
    /// "consumer" for consumer groups.
    pub protocol_type: String,
    /// The partition assignor, e.g. "range".
    pub protocol: String,
    pub members: Vec<GroupMember>,
}

/// What [`Cluster::commit_offsets`] knew about the group's membership when it committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Membership {
    /// The group was described and had no members.
    VerifiedEmpty,
    /// The broker does not list the group: the commit creates it.
    NewGroup,
    /// The group could not be described; the broker's own check was relied on.
    Unverified { reason: String },
}

/// What ListGroups says of a group that DescribeGroups reported missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Not asked: DescribeGroups answered.
    NotAsked,
    NotListed,
    Listed(GroupState),
    Failed(String),
}

/// Whether offsets may be committed for `group`, from its description (and, when DescribeGroups
/// does not know it, its listing): refused while it has members or is listed in an active state;
/// a group that cannot be described (a broker that fails DescribeGroups, as tansu's SQLite engine
/// does, or an ACL that hides the group) is committed to with a warning, relying on the broker's
/// own refusal.
///
/// Kafka 4's consumer-protocol groups (KIP-848) are not described by the classic DescribeGroups
/// API, which answers "not found" for them even while members consume; ListGroups lists them with
/// their state, so a "not found" is believed only when the group is not listed either.
pub(crate) fn membership_before_commit(
    label: &str,
    group: &str,
    described: Result<GroupDescription>,
    listing: Listing,
) -> Result<Membership> {
    let unverified = |reason: String| {
        tracing::warn!(
            cluster = %label,
            group,
            reason = %reason,
            "membership could not be verified before committing offsets; relying on the broker to refuse a commit into an active group"
        );
        Ok(Membership::Unverified { reason })
    };
    match described {
        Ok(d) if !d.members.is_empty() => Err(Error::GroupHasActiveMembers {
            label: label.to_string(),
            group: group.to_string(),
            members: d.members,
        }),
        Ok(_) => Ok(Membership::VerifiedEmpty),
        Err(Error::GroupNotFound { .. }) => match listing {
            Listing::NotListed | Listing::NotAsked | Listing::Listed(GroupState::Dead) => {
                Ok(Membership::NewGroup)
            }
            Listing::Listed(GroupState::Empty) => Ok(Membership::VerifiedEmpty),
            Listing::Listed(GroupState::Unknown) => {
                unverified("the group is listed without a state and cannot be described".into())
            }
            Listing::Listed(state) => Err(Error::GroupActive {
                label: label.to_string(),
                group: group.to_string(),
                state: state.to_string(),
            }),
            Listing::Failed(e) => {
                unverified(format!("the group cannot be described and listing groups failed: {e}"))
            }
        },
        Err(e) => unverified(e.to_string()),
    }
}

/// Maps an error code of an offset commit for `group`.
pub(crate) fn commit_error(
    label: &str,
    group: &str,
    partition: Option<&TopicPartition>,
    e: &FfiError,
) -> Error {
    use RDKafkaErrorCode as C;
    match e.code {
        // Apache Kafka: a commit without generation into a group that has members is UNKNOWN_MEMBER_ID;
        // during a rebalance REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION; NON_EMPTY_GROUP from newer
        // coordinators.
        C::UnknownMemberId
        | C::RebalanceInProgress
        | C::IllegalGeneration
        | C::NonEmptyGroup
        | C::FencedInstanceId => Error::CommitRefusedGroupActive {
            label: label.to_string(),
            group: group.to_string(),
            code: e.code,
        },
        C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition => match partition {
            Some(p) => Error::PartitionNotFound { label: label.to_string(), partition: p.clone() },
            None => crate::error::from_code(
                label,
                &format!("committing offsets for group `{group}`"),
                e.code,
                Some(&e.message),
                Default::default(),
            ),
        },
        code => {
            let what = match partition {
                Some(p) => format!("committing offsets of {p} for group `{group}`"),
                None => format!("committing offsets for group `{group}`"),
            };
            crate::error::from_code(label, &what, code, Some(&e.message), Default::default())
        }
    }
}

impl Cluster {
    /// Lists the consumer groups (ListGroups on every broker), with their state where the broker reports it.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let timeout = self.request_timeout();
        let (groups, errors) = self
            .blocking(move |inner| ffi::list_consumer_groups(inner.admin.inner(), timeout))
            .await
            .map_err(|e| self.ffi_error("listing consumer groups", &e))?;
        // A broker that did not answer may hold groups: a partial list would make a group look missing.
        if let Some(e) = errors.first() {
            return Err(self.ffi_error("listing consumer groups", e));
        }
        let mut out: Vec<GroupListing> = groups
            .into_iter()
            .map(|g| GroupListing {
                group_id: g.group_id,
                state: GroupState::parse(g.state),
                simple: g.simple,
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(out)
    }

    /// Describes a group with the classic DescribeGroups request (librdkafka lists the groups, then describes
    /// the one asked for). [`Error::GroupNotFound`] if the broker does not list it or reports it `Dead`.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let timeout = self.request_timeout();
        let started = Instant::now();
        let name = group.to_string();
        let described = self
            .blocking(move |inner| {
                let list = inner.admin.inner().fetch_group_list(Some(&name), timeout)?;
                Ok::<_, rdkafka::error::KafkaError>(list.groups().iter().find(|g| g.name() == name).map(
                    |g| {
                        GroupDescription {
                            group_id: g.name().to_string(),
                            state: GroupState::parse(g.state()),
                            protocol_type: g.protocol_type().to_string(),
                            protocol: g.protocol().to_string(),
                            members: g
                                .members()
                                .iter()
                                .map(|m| GroupMember {
                                    member_id: m.id().to_string(),
                                    client_id: m.client_id().to_string(),
                                    host: m.client_host().to_string(),
                                })
                                .collect(),
                        }
                    },
                ))
            })
            .await
            .map_err(|e| {
                self.kafka_error(&format!("describing consumer group `{group}`"), &e, started.elapsed())
            })?;
        match described {
            Some(d) if d.state != GroupState::Dead => Ok(d),
            _ => Err(Error::GroupNotFound { label: self.label().to_string(), group: group.to_string() }),
        }
    }

    /// The group's committed offsets of `partitions` (OffsetFetch); `None` where it has committed none. A
    /// group that does not exist has committed none.
    pub async fn committed_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
        let request: Vec<(String, i32)> = partitions.iter().map(|p| (p.topic.clone(), p.partition)).collect();
        let answers = self.fetch_group_offsets(group, Some(request)).await?;
        let mut out: BTreeMap<TopicPartition, Option<i64>> =
            answers.into_iter().map(|(p, o)| (p, (o >= 0).then_some(o))).collect();
        for p in partitions {
            out.entry(p.clone()).or_insert(None);
        }
        Ok(out)
    }

    /// Every committed offset of the group (OffsetFetch for all partitions).
    pub async fn all_committed_offsets(&self, group: &str) -> Result<BTreeMap<TopicPartition, i64>> {
        Ok(self.fetch_group_offsets(group, None).await?.into_iter().filter(|(_, o)| *o >= 0).collect())
    }

    async fn fetch_group_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let timeout = self.request_timeout();
        let name = group.to_string();
        let operation = format!("reading committed offsets of group `{group}`");
        let results = self
            .blocking(move |inner| {
                ffi::list_group_offsets(inner.admin.inner(), &name, partitions.as_deref(), timeout)
            })
            .await
            .map_err(|e| self.ffi_error(&operation, &e))?;
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for r in results {
            let tp = TopicPartition::new(r.topic, r.partition);
            match r.error {
                None => {
                    out.insert(tp, r.offset);
                }
                Some(e) => match e.code {
                    RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                        // Nothing committed for a partition the broker does not know.
                        out.insert(tp, -1);
                    }
                    _ => errors.push(self.ffi_error(&format!("{operation} ({tp})"), &e)),
                },
            }
        }
        crate::error::collect(self.label(), &operation, errors)?;
        Ok(out)
    }

    /// Commits `offsets` for `group` (the group's next record to read per partition), refusing if the group
    /// has active members (see the module documentation for the checks made).
    pub async fn commit_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<Membership> {
        let described = self.describe_group(group).await;
        let listing = if matches!(described, Err(Error::GroupNotFound { .. })) {
            match self.list_groups().await {
                Ok(groups) => match groups.into_iter().find(|g| g.group_id == group) {
                    Some(g) => Listing::Listed(g.state),
                    None => Listing::NotListed,
                },
                Err(e) => Listing::Failed(e.to_string()),
            }
        } else {
            Listing::NotAsked
        };
        let membership = membership_before_commit(self.label(), group, described, listing)?;
        let request: Vec<(String, i32, i64)> =
            offsets.iter().map(|(p, o)| (p.topic.clone(), p.partition, *o)).collect();
        let timeout = self.request_timeout();
        let name = group.to_string();
        let results = self
            .blocking(move |inner| ffi::alter_group_offsets(inner.admin.inner(), &name, &request, timeout))
            .await
            .map_err(|e| commit_error(self.label(), group, None, &e))?;
        let mut errors: Vec<Error> = Vec::new();
        for r in results {
            if let Some(e) = r.error {
                let tp = TopicPartition::new(r.topic, r.partition);
                let err = commit_error(self.label(), group, Some(&tp), &e);
                // One refusal for the whole group is enough.
                if matches!(err, Error::CommitRefusedGroupActive { .. }) {
                    return Err(err);
                }
                errors.push(err);
            }
        }
        crate::error::collect(self.label(), &format!("committing offsets for group `{group}`"), errors)?;
        tracing::info!(cluster = %self.label(), group, partitions = offsets.len(), ?membership, "committed offsets");
        Ok(membership)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ffi(code: RDKafkaErrorCode) -> FfiError {
        FfiError { code, message: code.to_string() }
    }

    /// Neither tansu engine refuses a commit into a group with active members, so the answers Apache Kafka
    /// gives are mapped here; a real Kafka pair (KMIGRATE_TEST_SOURCE/TARGET) exercises the refusal itself.
    #[test]
    fn broker_refusals_of_a_commit_into_an_active_group() {
        for code in [
            RDKafkaErrorCode::UnknownMemberId,
            RDKafkaErrorCode::RebalanceInProgress,
            RDKafkaErrorCode::IllegalGeneration,
            RDKafkaErrorCode::NonEmptyGroup,
        ] {
            let p = TopicPartition::new("orders", 0);
            let e = commit_error("target", "billing", Some(&p), &ffi(code));
            assert!(matches!(e, Error::CommitRefusedGroupActive { .. }), "{code:?}: {e:?}");
            let text = e.to_string();
            assert!(text.contains("group `billing`") && text.contains("target cluster"), "{text}");
            assert!(text.contains("stop its consumers"), "{text}");
        }
    }

    /// The decision before a commit, for every answer DescribeGroups can give. A group that cannot be
    /// described is committed to (with a warning): Apache Kafka cannot produce that answer for a
    /// principal allowed to commit (READ on a group implies DESCRIBE), tansu's SQLite engine does.
    #[test]
    fn membership_before_a_commit() {
        use Listing::*;
        let described = |members: Vec<GroupMember>| {
            Ok(GroupDescription {
                group_id: "billing".into(),
                state: if members.is_empty() { GroupState::Empty } else { GroupState::Stable },
                protocol_type: "consumer".into(),
                protocol: "range".into(),
                members,
            })
        };
        assert_eq!(
            membership_before_commit("target", "billing", described(vec![]), NotAsked).unwrap(),
            Membership::VerifiedEmpty
        );
        let member = GroupMember {
            member_id: "rdkafka-1".into(),
            client_id: "rdkafka".into(),
            host: "/10.0.0.7".into(),
        };
        match membership_before_commit("target", "billing", described(vec![member]), NotAsked) {
            Err(Error::GroupHasActiveMembers { group, members, .. }) => {
                assert_eq!(group, "billing");
                assert_eq!(members.len(), 1);
            }
            other => panic!("expected GroupHasActiveMembers, got {other:?}"),
        }
        let missing = || Err(Error::GroupNotFound { label: "target".into(), group: "billing".into() });
        assert_eq!(
            membership_before_commit("target", "billing", missing(), NotListed).unwrap(),
            Membership::NewGroup
        );
        assert_eq!(
            membership_before_commit("target", "billing", missing(), Listed(GroupState::Empty)).unwrap(),
            Membership::VerifiedEmpty
        );
        // A consumer-protocol group (KIP-848) with members: not described, listed as Stable.
        for state in
            [GroupState::Stable, GroupState::Other("Reconciling".into()), GroupState::PreparingRebalance]
        {
            match membership_before_commit("target", "billing", missing(), Listed(state.clone())) {
                Err(e @ Error::GroupActive { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains("group `billing`") && text.contains(&state.to_string()), "{text}");
                }
                other => panic!("{state:?}: expected GroupActive, got {other:?}"),
            }
        }
        for listing in [Listed(GroupState::Unknown), Failed("timed out".into())] {
            let m = membership_before_commit("target", "billing", missing(), listing.clone()).unwrap();
            assert!(matches!(m, Membership::Unverified { .. }), "{listing:?}: {m:?}");
        }
        let broken = Err(Error::Unreachable {
            label: "target".into(),
            bootstrap: "b:9092".into(),
            waited: std::time::Duration::from_secs(1),
            detail: "connection dropped".into(),
            refused: false,
        });
        match membership_before_commit("target", "billing", broken, NotAsked).unwrap() {
            Membership::Unverified { reason } => assert!(reason.contains("connection dropped"), "{reason}"),
            other => panic!("expected Unverified, got {other:?}"),
        }
    }

    #[test]
    fn other_commit_errors() {
        let p = TopicPartition::new("orders", 7);
        let e = commit_error("target", "g", Some(&p), &ffi(RDKafkaErrorCode::UnknownTopicOrPartition));
        assert_eq!(e.to_string(), "partition orders/7 does not exist on the target cluster");
        let e = commit_error("target", "g", None, &ffi(RDKafkaErrorCode::GroupAuthorizationFailed));
        assert!(matches!(e, Error::NotAuthorized { .. }), "{e:?}");
    }

    #[test]
    fn states() {
        assert_eq!(GroupState::parse("Stable"), GroupState::Stable);
        assert_eq!(GroupState::parse(""), GroupState::Unknown);
        assert_eq!(GroupState::parse("AwaitingSync"), GroupState::CompletingRebalance);
        assert_eq!(GroupState::parse("Weird").to_string(), "Weird");
    }
}
