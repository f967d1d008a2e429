//! What the steps share to turn errors into step errors.

use crate::executor::StepError;

/// Kafka errors become step errors; the broker being briefly away is worth retrying.
pub fn kafka_error(e: kmigrate_kafka::Error) -> StepError {
    StepError { transient: e.is_transient(), message: e.to_string() }
}
