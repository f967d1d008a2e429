//! The Markdown rendering, for a pull-request comment: a table of the steps, a collapsible table
//! of offsets per group, and the summary line.

use kmigrate_migration::preview::{Action, Change, PlanPreview};

use super::describe::{self, Described};

pub fn render(p: &PlanPreview, plan_file: &str) -> String {
    let mut out = String::new();
    let (title, note) = describe::header(p);
    out.push_str(&format!("### {}\n\n{}\n\n", cell(&title), cell(&note)));
    out.push_str("| | Step | What apply does |\n|:-:|---|---|\n");
    let mut groups = Vec::new();
    for s in &p.steps {
        let Described { summary, details } = describe::step(s, plan_file);
        let mut text = cell(&summary);
        if s.change == Change::Impossible {
            text = format!("**{text}**");
        }
        for d in &details {
            text.push_str(&format!("<br>{}", cell(d)));
        }
        let mark = match s.change.mark() {
            " " => String::new(),
            m => format!("`{m}`"),
        };
        out.push_str(&format!("| {mark} | `{}` | {text} |\n", code(&s.step)));
        if let Action::Offsets(a) = &s.action
            && s.change != Change::Done
            && !a.partitions.is_empty()
        {
            groups.push((s.step.clone(), a));
        }
    }
    for (step, a) in groups {
        let resolved = a.partitions.iter().filter(|r| r.resolved_at_apply).count();
        let mut what = describe::count(a.partitions.len(), "partition", "partitions");
        if resolved > 0 {
            what.push_str(&format!(", {resolved} resolved at apply"));
        }
        out.push_str(&format!(
            "\n<details><summary><code>{}</code>: {} ({what})</summary>\n\n",
            html(&step),
            html(&a.rule_text)
        ));
        out.push_str("| Partition | Now | Apply sets | Rule |\n|---|--:|--:|---|\n");
        for r in &a.partitions {
            out.push_str(&format!(
                "| `{}/{}` | {} | {} | {} |\n",
                code(&r.topic),
                r.partition,
                r.current.map_or("none".into(), |c| c.to_string()),
                r.offset.map_or("?".into(), |o| o.to_string()),
                cell(&r.rule)
            ));
        }
        out.push_str("\n</details>\n");
    }
    out.push_str(&format!("\n**{}**\n", cell(&describe::summary_line(p))));
    out
}

/// Text for a table cell: pipes escaped, and nothing GitHub would read as HTML.
fn cell(text: &str) -> String {
    html(text).replace('|', "\\|")
}

/// Text inside a code span of a table cell: only pipes need escaping there.
fn code(text: &str) -> String {
    text.replace('|', "\\|")
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
