//! `cutover`: exactly one mode, times with offsets, durations.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::codes;
use crate::diagnostics::Severity;
use crate::duration::parse_duration;
use crate::model::{Cutover, CutoverMode, Loc};
use crate::raw::{RawCutover, S};

use super::Checker;

impl Checker<'_> {
    pub(super) fn cutover(&mut self, c: Option<&S<RawCutover>>, root: Loc) -> Option<Cutover> {
        let Some(c) = c else {
            self.error(
                root,
                codes::CUTOVER_MODE,
                "the plan has no `cutover`",
                "add `cutover:` with exactly one of `at: \"2026-11-25T02:00:00+08:00\"`, \
                 `manual: true` or `detect: { idle: 60s }`",
                "cutover missing",
            );
            return None;
        };
        let section = self.key_loc("cutover", self.loc(c));
        let raw = &c.value;

        let margin = match &raw.margin {
            None => Some(Duration::ZERO),
            Some(m) => match parse_duration(&m.value) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(
                        self.loc(m),
                        codes::CUTOVER_MARGIN,
                        format!("`cutover.margin: {}` is not a duration: {e}", m.value),
                        "write a number with a unit, e.g. `margin: 5s` (moves the cutover time earlier by that much)",
                        "not a duration",
                    );
                    None
                }
            },
        };

        // Each mode present, with its key's location.
        let mut modes: Vec<(&str, Loc)> = Vec::new();
        let at = raw.at.as_ref().map(|at| {
            let loc = self.loc(at);
            modes.push(("at", self.key_loc("at", loc)));
            self.cutover_at(at)
        });
        // A wrong value counts as a mode given (its own error says what is wrong).
        let manual = raw.manual.as_ref().map(|m| (m, self.boolean("manual", m)));
        let manual_false = matches!(manual, Some((_, Some(false))));
        if let Some((m, _)) = manual.filter(|(_, v)| *v != Some(false)) {
            let loc = self.loc(m);
            modes.push(("manual", self.key_loc("manual", loc)));
        }
        let detect = raw.detect.as_ref().map(|d| {
            let loc = self.key_loc("detect", self.loc(d));
            modes.push(("detect", loc));
            match &d.value.idle {
                None => {
                    self.error(
                        loc,
                        codes::CUTOVER_IDLE,
                        "`cutover.detect` has no `idle` duration",
                        "write e.g. `detect: { idle: 60s }`: the cutover is detected once the source \
                         topics have received nothing for that long",
                        "idle missing",
                    );
                    None
                }
                Some(idle) => match parse_duration(&idle.value) {
                    Ok(d) if d.is_zero() => {
                        self.error(
                            self.loc(idle),
                            codes::CUTOVER_IDLE,
                            "`cutover.detect.idle` is zero: any pause between two records would count as the cutover",
                            "use a duration longer than the producers' quietest normal gap, e.g. `idle: 60s`",
                            "zero",
                        );
                        None
                    }
                    Ok(d) => Some(d),
                    Err(e) => {
                        self.error(
                            self.loc(idle),
                            codes::CUTOVER_IDLE,
                            format!("`cutover.detect.idle: {}` is not a duration: {e}", idle.value),
                            "write a number with a unit, e.g. `idle: 60s` or `idle: 5m`",
                            "not a duration",
                        );
                        None
                    }
                },
            }
        });

        let mode = match modes.as_slice() {
            [] => {
                let message = if manual_false {
                    "`cutover` selects no mode (`manual: false` does not count as one)"
                } else {
                    "`cutover` selects no mode"
                };
                self.error(
                    section,
                    codes::CUTOVER_MODE,
                    message,
                    "set exactly one of `at: \"2026-11-25T02:00:00+08:00\"` (a stated time), `manual: true` \
                     (apply waits for `--approve cutover`) or `detect: { idle: 60s }`",
                    "no mode",
                );
                None
            }
            [(kind, _)] => match *kind {
                "at" => at.flatten().map(CutoverMode::At),
                "manual" => Some(CutoverMode::Manual),
                _ => detect.flatten().map(|idle| CutoverMode::Detect { idle }),
            },
            [(first, first_loc), rest @ ..] => {
                for (kind, loc) in rest {
                    let d = self
                        .diag(
                            Severity::Error,
                            *loc,
                            codes::CUTOVER_MODE,
                            format!(
                                "`cutover` sets both `{first}` (line {}) and `{kind}`; exactly one is allowed",
                                first_loc.line
                            ),
                            "keep one of `at` (a stated time), `manual: true` (approve at a gate) or \
                             `detect` (wait for the source to go idle)",
                        )
                        .with_label("second mode")
                        .with_secondary(*first_loc, "first mode");
                    self.push(d);
                }
                None
            }
        };

        Some(Cutover { mode: mode?, margin: margin?, loc: section })
    }

    pub(super) fn cutover_at(&mut self, at: &S<String>) -> Option<DateTime<chrono::FixedOffset>> {
        let loc = self.loc(at);
        let text = at.value.trim();
        match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t),
            Err(e) => {
                if is_naive_datetime(text) {
                    self.error(
                        loc,
                        codes::CUTOVER_TIMEZONE,
                        format!(
                            "cutover time `{text}` has no UTC offset; Kafka's tools silently assume UTC, \
                             a classic source of 8-hour mistakes"
                        ),
                        format!(
                            "state the offset explicitly: `{t}Z` for UTC, or e.g. `{t}+08:00` for UTC+8",
                            t = with_seconds(text)
                        ),
                        "which time zone?",
                    );
                } else {
                    self.error(
                        loc,
                        codes::CUTOVER_AT,
                        format!("cutover time `{text}` is not an RFC 3339 date-time ({e})"),
                        "write it as `YYYY-MM-DDTHH:MM:SS` plus an offset, e.g. `\"2026-11-25T02:00:00+08:00\"`",
                        "not a date-time",
                    );
                }
                None
            }
        }
    }
}

fn is_naive_datetime(text: &str) -> bool {
    let t = text.replace(' ', "T");
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"].iter().any(|f| NaiveDateTime::parse_from_str(&t, f).is_ok())
        || NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// `2026-11-25T02:00` → `2026-11-25T02:00:00`, `2026-11-25` → `2026-11-25T00:00:00`.
fn with_seconds(text: &str) -> String {
    let t = text.replace(' ', "T");
    if let Ok(d) = NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return format!("{d}T00:00:00");
    }
    if NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M").is_ok() {
        return format!("{t}:00");
    }
    t
}
