//! A YAML writer for generated specs: block style for structure, JSON-style flow for short
//! leaves, strings quoted whenever plain YAML could misread them, and comments (the
//! planner's TODOs) placed before the keys they are about.

use std::collections::HashMap;

use serde_json::Value;

/// Words YAML 1.1 readers turn into booleans or null.
const RESERVED: [&str; 14] = ["true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", "True", "False", "Null", "NULL"];

/// `s` as a YAML scalar: plain when that reads back as the same string, else JSON-quoted
/// (a JSON string is a valid YAML double-quoted scalar). In flow context (`{a: b}`) a comma
/// needs quotes too.
fn scalar_string(s: &str, flow: bool) -> String {
    let plain = !s.is_empty()
        && s.len() < 120
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || " _./-()'".contains(c) || (c == ',' && !flow))
        && !s.ends_with(' ')
        && !RESERVED.contains(&s);
    if plain { s.to_string() } else { serde_json::to_string(s).unwrap_or_default() }
}

fn key(k: &str) -> String {
    let plain = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && !RESERVED.contains(&k);
    if plain { k.to_string() } else { serde_json::to_string(k).unwrap_or_default() }
}

/// A leaf, or a container of leaves short enough for one line (`{kind: api_key, header: X}`).
fn inline(v: &Value) -> Option<String> {
    let leaf = |x: &Value| match x {
        Value::String(s) => Some(scalar_string(s, true)),
        Value::Object(_) | Value::Array(_) => None,
        other => Some(other.to_string()),
    };
    let text = match v {
        Value::String(s) => return Some(scalar_string(s, false)),
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, x)| Some(format!("{}: {}", key(k), leaf(x)?))).collect::<Option<Vec<_>>>()?.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(leaf).collect::<Option<Vec<_>>>()?.join(", ")),
        other => return Some(other.to_string()),
    };
    (text.len() <= 100).then_some(text)
}

/// Write `value` (a mapping) as YAML; `comments` maps a dotted key path (`overview.base_url`,
/// `endpoints[2].purpose`) to comment lines written just before that key.
pub fn document(value: &Value, comments: &HashMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    node(value, "", 0, comments, &mut out);
    out
}

fn comment(out: &mut String, indent: usize, path: &str, comments: &HashMap<String, Vec<String>>) {
    for line in comments.get(path).into_iter().flatten() {
        out.push_str(&format!("{}# {line}\n", " ".repeat(indent)));
    }
}

fn node(value: &Value, path: &str, indent: usize, comments: &HashMap<String, Vec<String>>, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                comment(out, indent, &p, comments);
                // YAML limits an implicit key to 1024 characters: a longer one is written as an
                // explicit key (`? key` then `: value`)
                let head = match key(k) {
                    long if long.chars().count() > 1000 => format!("{pad}? {long}\n{pad}:"),
                    short => format!("{pad}{short}:"),
                };
                match inline(v) {
                    Some(text) => out.push_str(&format!("{head} {text}\n")),
                    None => {
                        out.push_str(&format!("{head}\n"));
                        node(v, &p, indent + 2, comments, out);
                    }
                }
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                comment(out, indent, &p, comments);
                match (inline(v), v) {
                    (Some(text), _) => out.push_str(&format!("{pad}- {text}\n")),
                    (None, Value::Object(_)) => {
                        // the first key on the dash line, the rest under it
                        let mut inner = String::new();
                        node(v, &p, indent + 2, comments, &mut inner);
                        let first_line_start = inner.find(|c: char| c != ' ').unwrap_or(0);
                        out.push_str(&format!("{pad}- {}", &inner[first_line_start..]));
                    }
                    (None, _) => {
                        out.push_str(&format!("{pad}-\n"));
                        node(v, &p, indent + 2, comments, out);
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", inline(other).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_yaml_that_reads_back_as_the_same_value() {
        let v = json!({
            "name": "Stripe",
            "overview": {"auth": {"kind": "api_key", "prefix": "Bearer "}, "base_url": "https://api.stripe.com"},
            "endpoints": [{"id": "get_customer", "purpose": "yes", "request": {"example": {"params": {"id": "cus_1"}}},
                "response": {"example": {"deep": {"a": [1, {"b": null}]}}, "schema": {"$ref": "#/$defs/x", "$defs": {"x": {"type": "object"}}}}}],
            "odd": ["", "a: b", "# not a comment", "123", "-1", "true", "é", "multi\nline"],
            "p".repeat(1100): {"type": "string"},
            "q".repeat(1100): 1,
        });
        let mut comments = HashMap::new();
        comments.insert("overview.base_url".to_string(), vec!["TODO: check".to_string()]);
        let text = document(&v, &comments);
        assert!(text.contains("  # TODO: check\n  base_url: "), "{text}");
        let back = crate::spec::yaml::parse(&text).unwrap().0;
        assert_eq!(back, v, "{text}");
    }
}
