//! Reading and writing one step's outputs as its typed struct: what every accessor shares.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::executor::StepError;

/// Recorded outputs that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the recorded outputs of step {step} are unreadable: {reason}")]
pub struct OutputsError {
    pub step: String,
    pub reason: String,
}

/// A step that finds its recorded outputs unreadable fails: an internal error, never a default.
impl From<OutputsError> for StepError {
    fn from(e: OutputsError) -> Self {
        StepError::fatal(format!("internal error: {e}"))
    }
}

/// The outputs of step `step` as a `T`: `None` for null (nothing recorded yet), an error for
/// anything that is not a `T`.
pub(super) fn parse<T: DeserializeOwned>(step: &str, value: &Value) -> Result<Option<T>, OutputsError> {
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|e| OutputsError { step: step.to_string(), reason: e.to_string() })
}

/// A step kind's typed outputs (each kind's struct; `outputs::value` writes only these).
pub trait Outputs: Serialize {}

/// The outputs recording `outputs`, as the state file holds them (what a step saves).
pub fn value<T: Outputs>(outputs: &T) -> Value {
    serde_json::to_value(outputs).expect("typed outputs serialize")
}
