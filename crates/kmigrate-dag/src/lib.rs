//! `kmigrate-dag` compiles a validated plan into the step DAG and renders it.
//!
//! It owns the step vocabulary ([`StepId`], [`StepKind`], [`Step`]), the dependency rules of the
//! operators' procedure ([`compile`]), the sealed, immutable [`StepGraph`] (cycles are rejected
//! with the edges to cut), and the Graphviz/Mermaid renderings. It does no I/O.

mod compile;
mod graph;
mod render;
mod step;

pub use compile::{Expansion, TopicEntry, compile, concrete_topics, connector_names};
pub use graph::{GraphBuilder, GraphError, StepGraph};
pub use render::{to_dot, to_mermaid};
pub use step::{Step, StepId, StepKind};
