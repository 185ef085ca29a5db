//! Rust names for what a spec names: `create_customer` → `CreateCustomer`, `nodeId` → `node_id`,
//! a keyword or a name that cannot be an identifier made into one.

/// Rust's keywords, strict and reserved: not usable as names.
const KEYWORDS: [&str; 52] = [
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop",
    "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield", "try", "gen",
];

/// The words of `name`: split at anything not alphanumeric and where lower case turns upper.
fn words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            words.extend((!current.is_empty()).then(|| std::mem::take(&mut current)));
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    words.extend((!current.is_empty()).then_some(current));
    words
}

/// `name` in snake case, a valid identifier (`field` when nothing is left, `n2fa` for `2fa`, `type_` for `type`).
///
/// ```text
/// snake("nodeId") == "node_id"; snake("type") == "type_"; snake("@id") == "id"
/// ```
pub(super) fn snake(name: &str) -> String {
    let s = words(name).iter().map(|w| w.to_ascii_lowercase()).collect::<Vec<_>>().join("_");
    fix(if s.is_empty() { "field".into() } else { s })
}

/// `name` in upper camel case, a valid identifier.
pub(super) fn pascal(name: &str) -> String {
    let s: String = words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()).unwrap_or_default()
        })
        .collect();
    fix(if s.is_empty() { "Type".into() } else { s })
}

/// `s` made an identifier: a leading digit prefixed, a keyword suffixed.
fn fix(s: String) -> String {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{s}")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// `text` as a Rust string literal.
pub(super) fn literal(text: &str) -> String {
    format!("{text:?}")
}

/// `text` as one line of a doc comment: the first line, trimmed.
pub(super) fn doc_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers() {
        assert_eq!(snake("nodeId"), "node_id");
        assert_eq!(snake("html_url"), "html_url");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("@id"), "id");
        assert_eq!(snake("2fa"), "n2fa");
        assert_eq!(snake("---"), "field");
        assert_eq!(pascal("create_customer"), "CreateCustomer");
        assert_eq!(pascal("issue-comment"), "IssueComment");
        assert_eq!(pascal("nullable-simple-user"), "NullableSimpleUser");
        assert_eq!(pascal("HTTPError"), "Httperror");
        assert_eq!(pascal("self"), "Self_");
    }
}
