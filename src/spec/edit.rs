//! Surgical edits of a spec file: one value changed where it is written, everything else
//! (comments, key order, layout, anchors) kept byte for byte, so a tool can change a spec the
//! user maintains by hand (`oc-integrate retry --set`). An edit that would change anything
//! but the value it names is refused.

use std::path::Path;

use serde_json::Value;

use super::{Spec, SpecError, load_file, yaml};

/// Why an edit could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EditError {
    /// The text is not YAML.
    #[error("expected valid YAML, found {0}")]
    Syntax(String),
    /// The path names a mapping or a list, not one value.
    #[error("expected {path} to be a single value, found a {found}")]
    NotScalar {
        /// The path.
        path: String,
        /// `mapping` or `list`.
        found: &'static str,
    },
    /// The path's parent is not a mapping written in the file.
    #[error("expected a mapping at {0} to add the key to, found none")]
    NoParent(String),
    /// The value is not one plain YAML scalar.
    #[error("expected a plain value (a number, true/false or a word), found {0:?}")]
    BadValue(String),
    /// Re-reading the edited text did not show exactly the one change.
    #[error("could not change {0} without touching anything else (is it written in an unusual form?): edit it by hand")]
    Unsafe(String),
}

/// `path` (`retry.max_attempts`, `error_handling[2].delay_factor`) as a JSON pointer.
fn pointer(path: &str) -> String {
    let mut p = String::new();
    for part in path.split('.') {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
        p.push('/');
        p.push_str(&super::escape(key));
        for i in indexes.split('[').filter(|s| !s.is_empty()) {
            p.push('/');
            p.push_str(i.trim_end_matches(']'));
        }
    }
    p
}

/// The byte offset of a 1-based line and (character) column.
fn offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let rest = &text[start.min(text.len())..];
    start + rest.char_indices().nth(col.saturating_sub(1)).map_or(rest.len(), |(i, _)| i)
}

/// Where the plain or quoted scalar starting at `start` ends.
fn scalar_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                '\\' if q == '"' && !escaped => escaped = true,
                c if c == q && !escaped => return start + i + 1,
                _ => escaped = false,
            }
        }
        return text.len();
    }
    let mut end = rest.len();
    let mut prev = ' ';
    for (i, c) in rest.char_indices() {
        if matches!(c, '\n' | '\r' | ',' | '}' | ']') || (c == '#' && prev.is_whitespace()) {
            end = i;
            break;
        }
        prev = c;
    }
    start + rest[..end].trim_end().len()
}

/// The `}` closing the flow mapping that opens at `open`.
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` with the value at `path` set to `value` (written as YAML, e.g. `4` or `1.5`); a
/// key its mapping lacks is added to it (inside a `{…}` flow mapping, or as a line beside the
/// mapping's first key). Everything else stays as it was.
///
/// ```
/// use oc_integrate::spec::edit::set;
/// let text = "retry: {max_attempts: 3, base_delay_ms: 2000}  # the seed's max 3\n";
/// assert_eq!(set(text, "retry.max_attempts", "4").unwrap(), "retry: {max_attempts: 4, base_delay_ms: 2000}  # the seed's max 3\n");
/// assert_eq!(set(text, "retry.jitter_ms", "100").unwrap(), "retry: {max_attempts: 3, base_delay_ms: 2000, jitter_ms: 100}  # the seed's max 3\n");
/// ```
pub fn set(text: &str, path: &str, value: &str) -> Result<String, EditError> {
    let parse = |t: &str| yaml::parse(t).map_err(|e| EditError::Syntax(format!("{} at {}:{}", e.message, e.at.line, e.at.col)));
    let plain = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
    if !plain {
        return Err(EditError::BadValue(value.to_string()));
    }
    let (doc, map) = parse(text)?;
    let at = pointer(path);
    let edited = match doc.pointer(&at) {
        Some(Value::Object(_)) => return Err(EditError::NotScalar { path: path.into(), found: "mapping" }),
        Some(Value::Array(_)) => return Err(EditError::NotScalar { path: path.into(), found: "list" }),
        Some(_) => {
            let l = map.locate(path);
            let start = offset(text, l.line, l.col);
            format!("{}{value}{}", &text[..start], &text[scalar_end(text, start)..])
        }
        None => {
            let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
            let Some(Value::Object(siblings)) = (if parent.is_empty() { Some(&doc) } else { doc.pointer(&pointer(parent)) }) else {
                return Err(EditError::NoParent(parent.to_string()));
            };
            let l = map.locate(parent);
            let open = offset(text, l.line, l.col);
            if !parent.is_empty() && text[open..].starts_with('{') {
                let close = closing_brace(text, open).ok_or_else(|| EditError::NoParent(parent.to_string()))?;
                let inside = text[open + 1..close].trim_end();
                let sep = if inside.trim().is_empty() { "" } else { ", " };
                let before = open + 1 + inside.len();
                format!("{}{sep}{key}: {value}{}", &text[..before], &text[before..])
            } else {
                let first = siblings.keys().next().ok_or_else(|| EditError::NoParent(parent.to_string()))?;
                let child = if parent.is_empty() { first.clone() } else { format!("{parent}.{first}") };
                let k = map.locate_key(&child);
                let line_start = offset(text, k.line, 1);
                format!("{}{}{key}: {value}\n{}", &text[..line_start], " ".repeat(k.col - 1), &text[line_start..])
            }
        }
    };
    // exactly the one value changed, to what was asked
    let (mut after, _) = parse(&edited)?;
    let (want, _) = parse(&format!("v: {value}\n"))?;
    let changed = after.pointer(&at).cloned();
    if let Some(slot) = after.pointer_mut(&at) {
        *slot = doc.pointer(&at).cloned().unwrap_or(Value::Null);
    }
    let mut expected = doc.clone();
    if doc.pointer(&at).is_none()
        && let Some((parent, key)) = at.rsplit_once('/')
        && let Some(Value::Object(m)) = if parent.is_empty() { Some(&mut expected) } else { expected.pointer_mut(parent) }
    {
        m.insert(super::unescape(key).into_owned(), Value::Null);
    }
    if changed.as_ref() != want.get("v") || after != expected {
        return Err(EditError::Unsafe(path.to_string()));
    }
    Ok(edited)
}

/// Why a spec file could not be edited; the file is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum FileEditError {
    /// The file could not be read or replaced.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// One edit could not be made.
    #[error("{path}: {source}")]
    Edit {
        /// The value's path.
        path: String,
        /// Why.
        source: EditError,
    },
    /// The edited spec would not load (the error names the file, line and column).
    #[error("{0} (the file is left unchanged)")]
    Invalid(SpecError),
}

/// An edit of a spec file made and checked: the text before and after, and the spec as the
/// harness now reads it.
pub struct Edited {
    /// The file's text before.
    pub before: String,
    /// The file's text now.
    pub after: String,
    /// The edited spec, loaded.
    pub spec: Spec,
}

/// Set each `(path, value)` in the spec file `file`, all or none: the edited text is loaded
/// as the harness will read it before the file is replaced (atomically); an edit that breaks
/// the spec leaves the file as it was and says where and why.
pub fn apply(file: &Path, edits: &[(String, String)]) -> Result<Edited, FileEditError> {
    let io = |source| FileEditError::Io { path: file.display().to_string(), source };
    let before = std::fs::read_to_string(file).map_err(io)?;
    let mut after = before.clone();
    for (path, value) in edits {
        after = set(&after, path, value).map_err(|source| FileEditError::Edit { path: path.clone(), source })?;
    }
    // loaded beside the spec (its schema files are relative to it), under a name no one reads
    let trial = file.with_file_name(format!(".spec.yaml.{}.edit", uuid::Uuid::new_v4().simple()));
    std::fs::write(&trial, &after).map_err(io)?;
    let loaded = load_file(&trial);
    let _ = std::fs::remove_file(&trial);
    let mut spec = loaded.map_err(|mut e| {
        e.file = file.to_path_buf();
        FileEditError::Invalid(e)
    })?;
    spec.file = file.to_path_buf();
    crate::file::write_atomic(file, &after).map_err(io)?;
    Ok(Edited { before, after, spec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_in_block_style_keeps_its_comment_and_the_rest() {
        let text = "name: X\nretry:\n  max_attempts: 3   # seed: max 3\n  base_delay_ms: 2000\ntimeouts: {request_ms: 10000}\n";
        assert_eq!(
            set(text, "retry.max_attempts", "5").unwrap(),
            "name: X\nretry:\n  max_attempts: 5   # seed: max 3\n  base_delay_ms: 2000\ntimeouts: {request_ms: 10000}\n"
        );
        assert_eq!(
            set(text, "retry.jitter_ms", "250").unwrap(),
            "name: X\nretry:\n  jitter_ms: 250\n  max_attempts: 3   # seed: max 3\n  base_delay_ms: 2000\ntimeouts: {request_ms: 10000}\n"
        );
        assert_eq!(set(text, "timeouts.request_ms", "5000").unwrap(), text.replace("10000", "5000"));
    }

    #[test]
    fn a_row_of_a_list_is_reached_by_index() {
        let text = "error_handling:\n  - {status: 429, action: respect_retry_after}\n  - {status: 503, action: retry_with_longer_delays, delay_factor: 4}\n";
        assert_eq!(set(text, "error_handling[1].delay_factor", "6").unwrap(), text.replace("delay_factor: 4", "delay_factor: 6"));
    }

    #[test]
    fn what_cannot_be_edited_safely_is_refused() {
        let text = "retry: {max_attempts: 3}\nlist: [1, 2]\n";
        assert_eq!(set(text, "retry", "3"), Err(EditError::NotScalar { path: "retry".into(), found: "mapping" }));
        assert_eq!(set(text, "list", "3"), Err(EditError::NotScalar { path: "list".into(), found: "list" }));
        assert_eq!(set(text, "retry.max_attempts", "3 # x"), Err(EditError::BadValue("3 # x".into())));
        assert_eq!(set(text, "nothing.here", "3"), Err(EditError::NoParent("nothing".into())));
        assert!(matches!(set("a: [", "a", "1"), Err(EditError::Syntax(_))));
    }
}
