//! Plan validation on arbitrary input: bytes → `kmigrate_plan::parse` → diagnostics, each
//! rendered by miette's graphical handler as `kmigrate validate` renders it (spans and offsets
//! that are wrong show there: a slice out of range or inside a character panics).
//!
//! Must hold for every input: no panic, no hang, no unbounded allocation, and every diagnostic
//! points inside the text, at character boundaries, at a line and column ≥ 1.
#![no_main]

use kmigrate_plan::{parse, render_plain};
use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};

fuzz_target!(|data: &[u8]| {
    // `kmigrate validate` reads the file as UTF-8; invalid bytes become U+FFFD here so that the
    // mutations that break UTF-8 still reach the parser.
    let text = String::from_utf8_lossy(data);
    let parsed = parse("plan.yaml", &text);
    if parsed.plan.is_some() {
        assert!(!parsed.has_errors());
    }
    // As the CLI renders on a colour terminal, narrow.
    let coloured =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode()).with_width(40).with_links(false);
    for d in &parsed.diagnostics {
        let loc = d.loc();
        assert!(
            loc.offset <= text.len() && loc.len <= text.len() - loc.offset,
            "span out of the text: {d:?}"
        );
        assert!(text.is_char_boundary(loc.offset), "span starts inside a character: {d:?}");
        assert!(text.is_char_boundary(loc.offset + loc.len), "span ends inside a character: {d:?}");
        assert!(d.line >= 1 && d.column >= 1, "no position: {d:?}");
        let _ = render_plain(d);
        let mut out = String::new();
        let _ = coloured.render_report(&mut out, d);
        let _ = d.to_json();
    }
});
