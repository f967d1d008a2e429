//! The text rendering: one line per step (mark, step id, what apply does), detail lines under it,
//! and the summary line.

use kmigrate_migration::preview::{Action, Change, OffsetRow, PlanPreview};

use super::describe::{self, Described};

/// The step column is as wide as the longest id, up to this.
const MAX_ID_WIDTH: usize = 40;

pub fn render(p: &PlanPreview, plan_file: &str) -> String {
    let mut out = String::new();
    let (title, note) = describe::header(p);
    out.push_str(&format!("{title}\n{note}\n\n"));
    let width = p.steps.iter().map(|s| s.step.chars().count()).max().unwrap_or(0).min(MAX_ID_WIDTH);
    let indent = " ".repeat(2 + width + 2);
    for s in &p.steps {
        let Described { summary, details } = describe::step(s, plan_file);
        out.push_str(&format!("{} {:<width$}  {summary}\n", s.change.mark(), s.step));
        if let (Action::Offsets(a), false) = (&s.action, s.change == Change::Done) {
            for line in rows(&a.partitions) {
                out.push_str(&format!("{indent}{line}\n"));
            }
        }
        for line in details {
            out.push_str(&format!("{indent}{line}\n"));
        }
    }
    out.push_str(&format!("\n{}\n", describe::summary_line(p)));
    out
}

/// `orders/0  none → 5  by time 2026-11-25T02:00:00+08:00`, aligned.
fn rows(rows: &[OffsetRow]) -> Vec<String> {
    let cells: Vec<(String, String, String, &str)> = rows
        .iter()
        .map(|r| {
            (
                format!("{}/{}", r.topic, r.partition),
                r.current.map_or("none".into(), |c| c.to_string()),
                r.offset.map_or("?".into(), |o| o.to_string()),
                r.rule.as_str(),
            )
        })
        .collect();
    let w0 = cells.iter().map(|c| c.0.chars().count()).max().unwrap_or(0);
    let w1 = cells.iter().map(|c| c.1.len()).max().unwrap_or(0);
    let w2 = cells.iter().map(|c| c.2.len()).max().unwrap_or(0);
    cells.iter().map(|(p, cur, next, rule)| format!("{p:<w0$}  {cur:>w1$} → {next:<w2$}  {rule}")).collect()
}
