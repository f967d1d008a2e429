//! Syntax checks for `${VAR}` references (resolution itself is [`crate::Template::resolve`]).

/// Problems in a template's `${VAR}` syntax: `(message, help)` pairs, in order.
///
/// Follows the same grammar as [`crate::Template::resolve`]: `$$` is a literal `$`, a `$` not
/// followed by `{` is literal, and `${` must be closed by `}` around a variable name.
pub(crate) fn template_problems(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                None => {
                    out.push((
                        format!("`${{` is never closed in `{raw}`"),
                        "close the reference with `}`, e.g. `${OLD_PASSWORD}`; write `$$` for a literal `$`"
                            .to_owned(),
                    ));
                    break;
                }
                Some(end) => {
                    let var = &body[..end];
                    if var.is_empty() {
                        out.push((
                            "`${}` names no environment variable".to_owned(),
                            "put the variable's name between the braces, e.g. `${OLD_PASSWORD}`".to_owned(),
                        ));
                    } else if !is_var_name(var) {
                        out.push((
                            format!("`${{{var}}}` is not a valid environment variable name"),
                            "use letters, digits and `_`, not starting with a digit, e.g. `${OLD_PASSWORD}`"
                                .to_owned(),
                        ));
                    }
                    rest = &body[end + 1..];
                }
            }
        } else {
            rest = after;
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
