//! Rendering the executor's events: progress bars on a terminal, plain lines otherwise, JSON
//! lines with `--output json`. Every sentence comes from `words`; every byte goes through the
//! `Printer` (bars draw to the target it hands out).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kmigrate_migration::{Event, Migration, Reporter};
use owo_colors::OwoColorize;

use crate::printer::Printer;
use crate::words;

/// JSON lines on stdout, one event per line, for scripts. Each event carries its typed fields
/// (`result`, `pause`, `wait`, `detail`, `warning`) and their words (`summary`, `reason` and
/// `resume`, `reason`, `message`, `message`), then when it happened (`at`, RFC 3339 with
/// milliseconds, and `elapsed_ms` since apply began) and, at the end of a step, its run's
/// duration (`duration_ms`, since its `step_started`): the time breakdown of an apply.
pub struct JsonLines {
    printer: Printer,
    plan_file: String,
    started: std::time::Instant,
    steps: Mutex<HashMap<String, std::time::Instant>>,
}

impl JsonLines {
    pub fn new(printer: Printer, plan_file: impl Into<String>) -> Self {
        JsonLines {
            printer,
            plan_file: plan_file.into(),
            started: std::time::Instant::now(),
            steps: Mutex::new(HashMap::new()),
        }
    }
}

/// An event's JSON line without its closing brace: the event's own fields first, in their order
/// (`event` leads), then their words.
fn json_fields(event: &Event, plan_file: &str) -> String {
    let text = serde_json::to_string(event).expect("events serialize");
    let mut line = text.strip_suffix('}').expect("an event is a JSON object").to_string();
    for (name, words) in worded(event, plan_file) {
        line.push_str(&format!(",\"{name}\":{}", serde_json::Value::String(words)));
    }
    line
}

/// The words of an event's typed fields, as JSON fields (name, text).
fn worded(event: &Event, plan_file: &str) -> Vec<(&'static str, String)> {
    match event {
        Event::StepDone { result, .. } => vec![("summary", words::summary(result))],
        Event::StepPaused { pause, .. } => {
            vec![("reason", words::pause(pause)), ("resume", words::resume(pause, plan_file))]
        }
        Event::StepWaiting { wait, .. } => vec![("reason", words::wait(wait))],
        Event::StepProgress { detail: Some(d), .. } => vec![("message", words::progress(d))],
        Event::Warning { warning, .. } => vec![("message", words::warning(warning))],
        _ => Vec::new(),
    }
}

impl Reporter<Migration> for JsonLines {
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
        let line = json_fields(&event, &self.plan_file);
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let elapsed = (now - self.started).as_millis();
        let duration = duration.map_or(String::new(), |d| format!(",\"duration_ms\":{}", d.as_millis()));
        self.printer.out(format!("{line},\"at\":\"{at}\",\"elapsed_ms\":{elapsed}{duration}}}"));
    }
}

/// Human output: a line per step transition on stdout; on a terminal, a live bar per running step.
pub struct Human {
    printer: Printer,
    plan_file: String,
    color: bool,
    bars: Option<MultiProgress>,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Human {
    pub fn new(printer: Printer, plan_file: impl Into<String>, color: bool) -> Self {
        let bars = printer.progress_target().map(MultiProgress::with_draw_target);
        Human { printer, plan_file: plan_file.into(), color, bars, running: Mutex::new(HashMap::new()) }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(text);
            }
            None => self.printer.out(text),
        }
    }

    /// A line's mark, colored when colors are on.
    fn mark(&self, mark: &str, kind: Mark) -> String {
        if !self.color {
            return mark.to_string();
        }
        match kind {
            Mark::Done => mark.green().to_string(),
            Mark::Failed => mark.red().to_string(),
            Mark::Attention => mark.yellow().to_string(),
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

impl Reporter<Migration> for Human {
    fn report(&self, event: Event) {
        // A running step's progress and waits show on its bar when there are bars.
        match &event {
            Event::StepStarted { step, .. } => {
                if let Some(bar) = self.bar_for(step) {
                    bar.set_message("running");
                }
            }
            Event::StepProgress { step, done, total, unit, detail } => {
                if let Some(bar) = self.bar_for(step) {
                    match total {
                        Some(total) => {
                            bar.set_style(bar_style());
                            bar.set_length(*total);
                            bar.set_position(*done);
                        }
                        None => bar.set_position(*done),
                    }
                    bar.set_message(detail.as_ref().map_or_else(|| unit.clone(), words::progress));
                    return;
                }
            }
            Event::StepWaiting { step, wait } => {
                if let Some(bar) = self.bar_for(step) {
                    bar.set_message(format!("waiting: {}", words::wait(wait)));
                    return;
                }
            }
            Event::StepDone { step, .. }
            | Event::StepFailed { step, .. }
            | Event::StepPaused { step, .. } => self.finish(step),
            Event::ApplyFinished { .. } => {
                for (_, bar) in self.running.lock().expect("bars lock").drain() {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
        if let Some(text) = self.text(&event) {
            self.line(text);
        }
    }
}

/// How a line's mark is colored.
#[derive(Clone, Copy)]
enum Mark {
    Done,
    Failed,
    Attention,
}

impl Human {
    /// The line an event prints (none for a skipped step, nor for a first start), without bars.
    fn text(&self, event: &Event) -> Option<String> {
        Some(match event {
            Event::ApplyStarted { plan, steps, already_done } => {
                let resumed =
                    if *already_done > 0 { format!(", {already_done} already done") } else { String::new() };
                format!("Applying plan {plan}: {steps} steps{resumed}")
            }
            Event::LockTakenOver { holder } => format!(
                "{}: took over a stale lock left by a dead apply ({holder})",
                self.mark("warning", Mark::Attention)
            ),
            Event::StepSkipped { .. } => return None,
            Event::StepStarted { step, attempt } if *attempt > 1 => format!("  … {step} (attempt {attempt})"),
            Event::StepStarted { .. } => return None,
            Event::StepProgress { step, detail, .. } => {
                format!("  … {step}: {}", words::progress(detail.as_ref()?))
            }
            Event::StepWaiting { step, wait } => format!("  … {step}: waiting: {}", words::wait(wait)),
            Event::StepDone { step, result } => {
                format!("  {} {step}: {}", self.mark("✓", Mark::Done), words::summary(result))
            }
            Event::StepRetrying { step, error, retry_in_ms } => format!(
                "  {} {step}: {error} (retrying in {:.1}s)",
                self.mark("↻", Mark::Attention),
                *retry_in_ms as f64 / 1000.0
            ),
            Event::StepFailed { step, error } => {
                format!("  {} {step}: {error}", self.mark("✗", Mark::Failed))
            }
            Event::StepPaused { step, pause } => format!(
                "  {} {step}: {}\n    to continue: {}",
                self.mark("⏸", Mark::Attention),
                words::pause(pause),
                words::resume(pause, &self.plan_file)
            ),
            Event::Warning { step: Some(step), warning } => {
                format!("  {}: {step}: {}", self.mark("warning", Mark::Attention), words::warning(warning))
            }
            Event::Warning { step: None, warning } => {
                format!("{}: {}", self.mark("warning", Mark::Attention), words::warning(warning))
            }
            Event::ApplyFinished { outcome, done, failed, pending } => {
                let what = match outcome {
                    kmigrate_migration::Outcome::Done => "done",
                    kmigrate_migration::Outcome::Paused => "paused",
                    kmigrate_migration::Outcome::Failed => "failed",
                };
                format!("Apply {what}: {done} steps done, {failed} failed, {pending} pending")
            }
        })
    }
}

#[cfg(test)]
mod tests;
