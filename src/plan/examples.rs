//! The planned endpoints' large examples, written once beside the spec: a whole provider's
//! examples are most of its spec (GitHub's: 2 of 2.8 MB), so spec.yaml keeps the small ones
//! inline and points into [`FILE`] for the rest (`example_file: examples.json#/get_issue/response`),
//! and stays a list of endpoints one can read and edit.

use serde_json::{Map, Value, json};

use crate::spec::Side;

/// The shared example file, relative to the service directory.
pub(super) const FILE: &str = "examples.json";

/// How many values (fields, items and scalars) an example may hold and stay inline: about
/// as many lines of YAML.
const INLINE: usize = 16;

/// Move each endpoint's examples of more than [`INLINE`] values into the shared file: the
/// endpoints, changed in place, and the file (`None` when every example is small), to be
/// written with [`text`].
pub(super) fn out_of_line(endpoints: &mut [Value]) -> Option<Value> {
    let mut file = Map::new();
    file.insert("$comment".into(), json!(COMMENT));
    for e in endpoints.iter_mut() {
        let Some(id) = e.get("id").and_then(Value::as_str).map(str::to_string) else { continue };
        for side in [Side::Request, Side::Response] {
            let Some(m) = e.get_mut(side.name()).and_then(Value::as_object_mut) else { continue };
            if m.get("example").is_none_or(|x| !larger_than(x, INLINE)) {
                continue;
            }
            let Some(example) = m.remove("example") else { continue };
            let entry = file.entry(id.clone()).or_insert_with(|| json!({}));
            entry[side.name()] = example;
            m.insert("example_file".into(), json!(format!("{FILE}#/{id}/{}", side.name())));
        }
    }
    (file.len() > 1).then_some(Value::Object(file))
}

/// The shared file's text.
pub(super) fn text(file: &Value) -> String {
    serde_json::to_string_pretty(file).unwrap_or_default() + "\n"
}

/// Whether `v` holds more than `n` values, counting itself (stops counting past `n`).
fn larger_than(v: &Value, n: usize) -> bool {
    fn count(v: &Value, left: &mut usize) {
        if *left == 0 {
            return;
        }
        *left -= 1;
        match v {
            Value::Array(items) => items.iter().for_each(|x| count(x, left)),
            Value::Object(fields) => fields.values().for_each(|x| count(x, left)),
            _ => {}
        }
    }
    let mut left = n + 1;
    count(v, &mut left);
    left == 0
}

/// What the shared file says of itself.
const COMMENT: &str = "Written by `oc-integrate plan`: the endpoints' examples too large to read inline in spec.yaml, by endpoint id, then request or response; spec.yaml points into it with example_file.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_examples_move_and_small_ones_stay() {
        let big: Map<String, Value> = (0..20).map(|i| (format!("f{i}"), json!(i))).collect();
        let mut endpoints = vec![
            json!({"id": "get_issue", "request": {"example": {"params": {"n": 1}}}, "response": {"example": big}}),
            json!({"id": "ping", "response": {"example": {"ok": true}}}),
        ];
        let file = out_of_line(&mut endpoints).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text(&file)).unwrap(), file);
        assert_eq!(endpoints[0]["response"], json!({"example_file": "examples.json#/get_issue/response"}));
        assert_eq!(file.pointer("/get_issue/response"), Some(&Value::Object(big)));
        assert_eq!(endpoints[0]["request"], json!({"example": {"params": {"n": 1}}}));
        assert_eq!(endpoints[1]["response"], json!({"example": {"ok": true}}));
        let mut small = vec![json!({"id": "ping", "response": {"example": {"ok": true}}})];
        assert_eq!(out_of_line(&mut small), None);
    }

    #[test]
    fn counting_stops_at_the_bound() {
        assert!(!larger_than(&json!({"a": 1}), 2));
        assert!(larger_than(&json!({"a": 1, "b": [1, 2]}), 4));
        assert!(!larger_than(&json!({"a": 1, "b": [1, 2]}), 5));
    }
}
