//! Every sentence about what a step did, why it paused, what it waits for, how far it got and
//! what the operator should know. The migration reports these as data (`kmigrate_migration::facts`);
//! the renderers (`reporter.rs`: lines, bars, JSON lines; `status`, `plan`) word them here, so a
//! sentence is written once.

mod done;
pub mod mm2;
mod notices;

use std::time::Duration;

pub use done::{recorded, summary};
pub use notices::{earlier, pause, progress, resume, wait, warning};

/// A duration to the second, as `1h 5m 3s`.
pub(crate) fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// A duration in milliseconds, to the second.
pub(crate) fn human_ms(ms: u64) -> String {
    human(Duration::from_millis(ms))
}

/// Bytes in binary units: `203.1 MiB`.
pub(crate) fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
