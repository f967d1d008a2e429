//! The printer: the one place that writes to stdout and stderr.
//!
//! Results go to stdout (text or JSON, as `--output` asks); diagnostics, progress and logs go to
//! stderr, so `kmigrate ... --output json | jq` always receives clean JSON.

use std::io::Write;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::args::{ColorChoice, OutputFormat};

#[derive(Clone)]
pub struct Printer {
    pub format: OutputFormat,
    color: bool,
}

impl Printer {
    pub fn new(format: OutputFormat, color: ColorChoice) -> Self {
        use std::io::IsTerminal;
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Printer { format, color }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// A line of the result, on stdout.
    pub fn out(&self, text: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", text.as_ref());
    }

    /// Raw result text on stdout, written as is.
    pub fn out_raw(&self, text: &str) {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }

    /// A JSON document on stdout (pretty-printed, one document per call).
    pub fn json(&self, value: &serde_json::Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, value);
        let _ = writeln!(stdout);
    }

    /// Where progress bars draw: stderr when it is a terminal, else nowhere (`None`: no bars; their
    /// lines are written with [`Printer::out`]).
    pub fn progress_target(&self) -> Option<indicatif::ProgressDrawTarget> {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal().then(indicatif::ProgressDrawTarget::stderr)
    }

    /// A message for the person at the terminal, on stderr.
    pub fn note(&self, text: impl AsRef<str>) {
        let mut stderr = anstream::AutoStream::new(std::io::stderr(), self.choice()).lock();
        let _ = writeln!(stderr, "{}", text.as_ref());
    }

    /// A miette diagnostic, rendered with its snippet, on stderr.
    pub fn diagnostic(&self, diagnostic: &dyn miette::Diagnostic) {
        let theme = if self.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let width = terminal_width().unwrap_or(100);
        let handler = GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
        let mut rendered = String::new();
        if handler.render_report(&mut rendered, diagnostic).is_err() {
            rendered = diagnostic.to_string();
        }
        let _ = write!(std::io::stderr().lock(), "{rendered}");
    }

    fn choice(&self) -> anstream::ColorChoice {
        if self.color { anstream::ColorChoice::Always } else { anstream::ColorChoice::Never }
    }
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.parse().ok()
}
