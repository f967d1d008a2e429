//! The `${VAR}` grammar, in one place: [`segments`] splits a template into literal text and
//! variable references; [`crate::Template::references`] and [`crate::Template::resolve`] and the
//! syntax check [`template_problems`] are built on it.
//!
//! `$$` is a literal `$`, a `$` not followed by `{` is literal, and `${` must be closed by `}`
//! around a variable name.

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// Text taken as is (a `$$` yields `Literal("$")`).
    Literal(&'a str),
    /// `${NAME}`: the text between the braces.
    Var(&'a str),
    /// `${` with no closing `}`: the rest of the template after `${`.
    Unclosed(&'a str),
}

/// Splits `raw` into segments, in order.
pub(crate) fn segments(raw: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        if i > 0 {
            out.push(Segment::Literal(&rest[..i]));
        }
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push(Segment::Literal("$"));
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                Some(end) => {
                    out.push(Segment::Var(&body[..end]));
                    rest = &body[end + 1..];
                }
                None => {
                    out.push(Segment::Unclosed(body));
                    return out;
                }
            }
        } else {
            out.push(Segment::Literal("$"));
            rest = after;
        }
    }
    if !rest.is_empty() {
        out.push(Segment::Literal(rest));
    }
    out
}

/// Problems in a template's `${VAR}` syntax: `(message, help)` pairs, in order.
pub(crate) fn template_problems(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for segment in segments(raw) {
        match segment {
            Segment::Literal(_) => {}
            Segment::Unclosed(_) => out.push((
                format!("`${{` is never closed in `{raw}`"),
                "close the reference with `}`, e.g. `${OLD_PASSWORD}`; write `$$` for a literal `$`"
                    .to_owned(),
            )),
            Segment::Var("") => out.push((
                "`${}` names no environment variable".to_owned(),
                "put the variable's name between the braces, e.g. `${OLD_PASSWORD}`".to_owned(),
            )),
            Segment::Var(var) if !is_var_name(var) => out.push((
                format!("`${{{var}}}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit, e.g. `${OLD_PASSWORD}`".to_owned(),
            )),
            Segment::Var(_) => {}
        }
    }
    out
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_malformed_reference() {
        assert!(template_problems("${OLD_USER}:$$5 $x").is_empty());
        let p = template_problems("${A B} ${} ${9X} ${OPEN");
        let msgs: Vec<_> = p.iter().map(|(m, _)| m.as_str()).collect();
        insta::assert_debug_snapshot!(msgs, @r#"
        [
            "`${A B}` is not a valid environment variable name",
            "`${}` names no environment variable",
            "`${9X}` is not a valid environment variable name",
            "`${` is never closed in `${A B} ${} ${9X} ${OPEN`",
        ]
        "#);
    }
}
