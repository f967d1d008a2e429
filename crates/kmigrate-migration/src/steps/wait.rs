//! Bounded waits: a deadline from `--wait-timeout`, after which a step pauses (the next run
//! continues the wait) instead of failing.

use std::time::{Duration, Instant};

pub struct Deadline(Option<Instant>);

impl Deadline {
    pub fn after(timeout: Option<Duration>) -> Self {
        Deadline(timeout.map(|t| Instant::now() + t))
    }

    pub fn passed(&self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }
}
