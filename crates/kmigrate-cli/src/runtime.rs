//! The one way commands run async work: a tokio runtime built for the call and shut down after
//! it, giving librdkafka's threads a moment to close their connections.

use std::future::Future;
use std::time::Duration;

use crate::commands::InternalError;

/// How long the runtime waits for its tasks (clients closing their connections) at the end.
const SHUTDOWN: Duration = Duration::from_secs(5);

/// Runs `future` to completion on a new multi-threaded runtime, then shuts the runtime down.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, InternalError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        Box::new(miette::MietteDiagnostic::new(format!("cannot start the runtime: {e}"))) as InternalError
    })?;
    let output = runtime.block_on(future);
    // Clients close their connections here; some librdkafka threads take a moment.
    runtime.shutdown_timeout(SHUTDOWN);
    Ok(output)
}
