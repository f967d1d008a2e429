//! Rendering the engine's events: progress bars on a terminal, plain lines otherwise, JSON
//! lines with `--output json`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kmigrate_engine::{Event, Reporter};

/// JSON lines on stdout, one event per line, for scripts. Each event also carries when it
/// happened (`at`, RFC 3339 with milliseconds, and `elapsed_ms` since apply began) and the end of a
/// step its run's duration (`duration_ms`, since its `step_started`): the time breakdown of an
/// apply.
pub struct JsonLines {
    started: std::time::Instant,
    steps: Mutex<HashMap<String, std::time::Instant>>,
}

impl JsonLines {
    pub fn new() -> Self {
        JsonLines { started: std::time::Instant::now(), steps: Mutex::new(HashMap::new()) }
    }
}

impl Reporter for JsonLines {
    fn report(&self, event: Event) {
        let now = std::time::Instant::now();
        let duration = {
            let mut steps = self.steps.lock().expect("reporter lock");
            match &event {
                Event::StepStarted { step, .. } => {
                    steps.insert(step.clone(), now);
                    None
                }
                Event::StepDone { step, .. }
                | Event::StepFailed { step, .. }
                | Event::StepPaused { step, .. } => steps.remove(step).map(|t| now - t),
                _ => None,
            }
        };
        // The event's own fields first, in their order (`event` leads), then the times.
        let text = serde_json::to_string(&event).expect("events serialize");
        let body = text.strip_suffix('}').expect("an event is a JSON object");
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let elapsed = (now - self.started).as_millis();
        let duration = duration.map_or(String::new(), |d| format!(",\"duration_ms\":{}", d.as_millis()));
        let _ =
            writeln!(std::io::stdout().lock(), "{body},\"at\":\"{at}\",\"elapsed_ms\":{elapsed}{duration}}}");
    }
}

/// Human output: a line per step transition on stdout; on a terminal, a live bar per running step.
pub struct Human {
    bars: Option<MultiProgress>,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Human {
    pub fn new(color: bool) -> Self {
        use std::io::IsTerminal;
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let _ = color;
        Human { bars, running: Mutex::new(HashMap::new()) }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(text);
            }
            None => {
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
        }
    }

    fn bar_for(&self, step: &str) -> Option<ProgressBar> {
        let multi = self.bars.as_ref()?;
        let mut running = self.running.lock().expect("bars lock");
        Some(
            running
                .entry(step.to_string())
                .or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(spinner_style());
                    bar.set_prefix(step.to_string());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .clone(),
        )
    }

    fn finish(&self, step: &str) {
        if let Some(bar) = self.running.lock().expect("bars lock").remove(step) {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}").expect("valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {prefix:.bold} [{bar:30}] {human_pos}/{human_len} {msg} ({per_sec}, eta {eta})",
    )
    .expect("valid template")
    .progress_chars("=> ")
}

impl Reporter for Human {
    fn report(&self, event: Event) {
        match event {
            Event::ApplyStarted { plan, steps, already_done } => {
                let resumed =
                    if already_done > 0 { format!(", {already_done} already done") } else { String::new() };
                self.line(format!("Applying plan {plan}: {steps} steps{resumed}"));
            }
            Event::LockTakenOver { holder } => {
                self.line(format!("warning: took over a stale lock left by a dead apply ({holder})"));
            }
            Event::StepSkipped { .. } => {}
            Event::StepStarted { step, attempt } => {
                if attempt > 1 {
                    self.line(format!("  … {step} (attempt {attempt})"));
                }
                if let Some(bar) = self.bar_for(&step) {
                    bar.set_message("running");
                }
            }
            Event::StepProgress { step, done, total, unit, message } => {
                if let Some(bar) = self.bar_for(&step) {
                    match total {
                        Some(total) => {
                            bar.set_style(bar_style());
                            bar.set_length(total);
                            bar.set_position(done);
                        }
                        None => bar.set_position(done),
                    }
                    bar.set_message(message.unwrap_or(unit));
                } else if let Some(message) = message {
                    self.line(format!("  … {step}: {message}"));
                }
            }
            Event::StepWaiting { step, reason } => match self.bar_for(&step) {
                Some(bar) => bar.set_message(format!("waiting: {reason}")),
                None => self.line(format!("  … {step}: waiting: {reason}")),
            },
            Event::StepDone { step, summary } => {
                self.finish(&step);
                self.line(format!("  ✓ {step}: {summary}"));
            }
            Event::StepRetrying { step, error, retry_in_ms } => {
                self.line(format!("  ↻ {step}: {error} (retrying in {:.1}s)", retry_in_ms as f64 / 1000.0));
            }
            Event::StepFailed { step, error } => {
                self.finish(&step);
                self.line(format!("  ✗ {step}: {error}"));
            }
            Event::StepPaused { step, reason, resume } => {
                self.finish(&step);
                self.line(format!("  ⏸ {step}: {reason}\n    to continue: {resume}"));
            }
            Event::Warning { step, message } => match step {
                Some(step) => self.line(format!("  warning: {step}: {message}")),
                None => self.line(format!("warning: {message}")),
            },
            Event::ApplyFinished { outcome, done, failed, pending } => {
                for (_, bar) in self.running.lock().expect("bars lock").drain() {
                    bar.finish_and_clear();
                }
                let what = match outcome {
                    kmigrate_engine::Outcome::Done => "done",
                    kmigrate_engine::Outcome::Paused => "paused",
                    kmigrate_engine::Outcome::Failed => "failed",
                };
                self.line(format!("Apply {what}: {done} steps done, {failed} failed, {pending} pending"));
            }
        }
    }
}
