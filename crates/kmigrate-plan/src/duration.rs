//! Durations as written in plans: humantime syntax (`60s`, `5m`, `1h 30m`, `500ms`).

use std::time::Duration;

use humantime::DurationError;

/// Parses a plan duration; the error says in a few words what is wrong with it (it does not
/// repeat the value).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("it is empty".to_owned());
    }
    if t.starts_with('-') {
        return Err("it is negative".to_owned());
    }
    if t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("it has no unit; a bare number is ambiguous".to_owned());
    }
    humantime::parse_duration(t).map_err(|e| match e {
        DurationError::UnknownUnit { unit, .. } => format!("unknown unit `{unit}`"),
        DurationError::NumberOverflow => "it is too large".to_owned(),
        DurationError::InvalidCharacter(_) | DurationError::NumberExpected(_) | DurationError::Empty => {
            "expected a number followed by a unit".to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_humantime_and_explains_failures() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        let errors: Vec<String> = ["60", "-5s", "", "5 secs later", "5 parsecs"]
            .iter()
            .map(|t| parse_duration(t).unwrap_err())
            .collect();
        insta::assert_debug_snapshot!(errors, @r#"
        [
            "it has no unit; a bare number is ambiguous",
            "it is negative",
            "it is empty",
            "expected a number followed by a unit",
            "unknown unit `parsecs`",
        ]
        "#);
    }
}
