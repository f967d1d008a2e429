//! Typed values read from [`Scalar`]s: a choice among named values, a boolean, a whole number.
//! Each wrong value is a located diagnostic of its own, reported with every other problem.

use crate::codes;
use crate::raw::{S, Scalar};
use crate::suggest::did_you_mean;

use super::Checker;

impl Checker<'_> {
    /// One of `choices` (`key: value` as written in the plan), or an error naming the valid ones.
    pub(super) fn choice<T: Copy>(&mut self, key: &str, v: &S<Scalar>, choices: &[(&str, T)]) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let loc = self.loc(v);
        match &v.value {
            Scalar::Text(t) => {
                if let Some((_, value)) = choices.iter().find(|(n, _)| n == t) {
                    return Some(*value);
                }
                let suggestion = match did_you_mean(t, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                self.error(
                    loc,
                    codes::INVALID_VALUE,
                    format!("`{t}` is not a valid `{key}`"),
                    format!("{suggestion}Use one of: {list}"),
                    "not a valid value",
                );
            }
            other => self.error(
                loc,
                codes::TYPE,
                format!("`{key}` must be one of {list}, found {}", other.describe()),
                format!("write e.g. `{key}: {}`", names[0]),
                "wrong kind of value",
            ),
        }
        None
    }

    /// `true` or `false`.
    pub(super) fn boolean(&mut self, key: &str, v: &S<Scalar>) -> Option<bool> {
        match &v.value {
            Scalar::Text(t) if t == "true" => Some(true),
            Scalar::Text(t) if t == "false" => Some(false),
            other => {
                let loc = self.loc(v);
                self.error(
                    loc,
                    codes::TYPE,
                    format!("`{key}` must be `true` or `false`, found {}", other.describe()),
                    format!("write `{key}: true` or `{key}: false`"),
                    "wrong kind of value",
                );
                None
            }
        }
    }

    /// A whole number (`example` shows one in the help).
    pub(super) fn whole_number(&mut self, key: &str, v: &S<Scalar>, example: u32) -> Option<i64> {
        match &v.value {
            Scalar::Text(t) if t.parse::<i64>().is_ok() => t.parse().ok(),
            other => {
                let loc = self.loc(v);
                self.error(
                    loc,
                    codes::TYPE,
                    format!("`{key}` must be a whole number, found {}", other.describe()),
                    format!("write a whole number without quotes or units, e.g. `{key}: {example}`"),
                    "wrong kind of value",
                );
                None
            }
        }
    }
}
