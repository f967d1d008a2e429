//! MirrorMaker 2 on Kafka Connect: the connector configs kmigrate submits for a plan
//! ([`mm2`], pure), a small client of the Connect REST API ([`client`], blocking), and the decoding
//! of MirrorMaker's checkpoints ([`checkpoint`]).
//!
//! Knows nothing of plans: the migration passes cluster properties and topics in, already resolved
//! (or, for `kmigrate plan`, as written with `${VAR}`s, and secrets masked by [`mm2::masked`]).

pub mod checkpoint;
pub mod client;
pub mod mm2;

pub use client::{ConnectClient, ConnectError, ConnectorState, ConnectorStatus, TaskState};
pub use mm2::{
    Connector, Mm2Inputs, Rendered, SOURCE_ALIAS, TARGET_ALIAS, checkpoints_topic, masked, render,
};
