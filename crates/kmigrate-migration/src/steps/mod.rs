//! The steps: each reads the clusters before it acts, so a step interrupted half-way is safely
//! run again.

mod align;
mod context;
pub mod copy;
pub(crate) mod cutover;
mod drain;
mod errors;
mod expand;
pub mod export;
pub(crate) mod groups;
pub mod mirror;
pub mod mm2_translation;
pub mod offsets;
mod preflight;
pub mod topic;
mod verify;
mod wait;

use std::sync::Arc;

use futures::future::BoxFuture;
use kmigrate_dag::StepKind;
use kmigrate_executor::{RunnerFactory, StepRunner};

pub(crate) use context::concrete_topics;
pub use context::{ConnectConfig, Context, RunOptions, cluster_configs, connect_config};

use crate::executor::{Checkpoint, StepHandle, StepOutcome, StepResult};
use crate::facts::{Migration, StepSummary};

/// Runs every kind of step against the plan's clusters.
pub struct KafkaSteps {
    ctx: Arc<Context>,
}

impl KafkaSteps {
    pub fn new(ctx: Context) -> Self {
        KafkaSteps { ctx: Arc::new(ctx) }
    }
}

impl RunnerFactory<Migration> for KafkaSteps {
    fn runner(&self, _checkpoint: &Checkpoint) -> Arc<dyn StepRunner<Migration>> {
        let ctx = self.ctx.clone();
        Arc::new(move |h: StepHandle| -> BoxFuture<'static, StepResult> {
            let ctx = ctx.clone();
            Box::pin(async move { run(&ctx, &h).await })
        })
    }
}

async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    match h.step.kind() {
        StepKind::Preflight => preflight::run(ctx, h).await,
        StepKind::Expand => expand::run(ctx, h).await,
        StepKind::Topic => topic::run(ctx, h).await,
        StepKind::Connectors => mirror::connectors(ctx, h).await,
        StepKind::Copy => copy::run(ctx, h).await,
        StepKind::Mirror => mirror::mirror(ctx, h).await,
        StepKind::StopMirror => mirror::stop(ctx, h).await,
        StepKind::Cutover => cutover::run(ctx, h).await,
        StepKind::Synced => {
            Ok(StepOutcome::Done { outputs: serde_json::Value::Null, summary: StepSummary::Synced })
        }
        StepKind::Drain => drain::run(ctx, h).await,
        StepKind::Offsets => offsets::run(ctx, h).await,
        StepKind::Verify => verify::run(ctx, h).await,
    }
}
