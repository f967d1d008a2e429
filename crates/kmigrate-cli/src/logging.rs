//! Logs: `tracing` to stderr, filtered by `RUST_LOG` or by the `-v` count.
//!
//! librdkafka's own log lines (target `librdkafka`: brokers down, reconnects, retries) are not the
//! user's interface: at the default verbosity they are hidden, and what matters reaches the user as
//! kmigrate's own typed errors (an unreachable cluster names its address and librdkafka's last
//! error). `-v` shows librdkafka's warnings, `-vv` everything.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn,librdkafka=off",
        1 => "info,kmigrate=debug,librdkafka=warn",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 1)
        .try_init();
}
