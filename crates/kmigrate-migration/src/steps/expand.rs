//! `expand:<pattern>`: list the source's topics matching a `pattern:` entry (internal topics
//! never match). The migration then compiles the matched topics' steps into the DAG.

use kmigrate_plan::TopicSelector;

use super::context::Context;
use super::errors::kafka_error;
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{StepSummary, StepWarning};
use crate::outputs::{self, ExpandOutputs};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let pattern = h.step.subject().unwrap_or_default();
    let re = ctx
        .plan
        .topics
        .iter()
        .find_map(|t| match &t.selector {
            TopicSelector::Pattern(re) if re.as_str() == pattern => Some(re),
            _ => None,
        })
        .ok_or_else(|| StepError::fatal(format!("pattern {pattern} is not in the plan")))?;
    let metadata = ctx.source().await?.metadata().await.map_err(kafka_error)?;
    let topics: Vec<String> = metadata.topics.keys().filter(|t| re.is_match(t)).cloned().collect();
    if topics.is_empty() {
        h.warn(StepWarning::PatternMatchesNothing { pattern: pattern.to_string() });
    }
    Ok(StepOutcome::Done {
        summary: StepSummary::Expand { pattern: pattern.to_string(), topics: topics.len() },
        outputs: outputs::value(&ExpandOutputs { topics }),
    })
}
