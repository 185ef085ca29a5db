//! Response-shape drift: the provider adds, drops, retypes, nulls or renames a field, or
//! sends an empty, truncated or non-JSON body, or the wrong content type. The client must
//! tolerate what the spec allows (extra fields) and otherwise return a clear
//! InvalidResponse error: never panic, never make up a default.

use serde_json::{Value, json};

use super::conformance::{json_diff, resolved};
use super::{Prepared, Setup, Verdict, expect_error, expect_ok};
use crate::binding::ErrorKind;
use crate::case::Kind;
use crate::server::{Reply, Step};
use crate::spec::Endpoint;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hop {
    Key(String),
    Index(usize),
}

/// A field that can drift: where it sits in the response and its JSON Schema type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    path: Vec<Hop>,
    ty: String,
}

impl Field {
    /// The field's name (the last key of its path).
    fn name(&self) -> &str {
        match self.path.last() {
            Some(Hop::Key(k)) => k,
            _ => "",
        }
    }

    /// Its JSON path as a reader writes it: `id`, `user.login`, `labels[0].name`, `[0].id`.
    pub(super) fn path(&self) -> String {
        let mut out = String::new();
        for s in &self.path {
            match s {
                Hop::Key(k) if out.is_empty() => out.push_str(k),
                Hop::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Hop::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// At most this many fields drift in one case (the top level first): a whole provider's
/// nested schemas would otherwise make hundreds of calls of one case.
const MAX_FIELDS: usize = 40;

/// How deep into nested objects and arrays fields are looked for.
const MAX_DEPTH: usize = 8;

/// The required, non-nullable fields the example carries, with their JSON Schema type: the
/// top level in `required` order, then those of nested objects and of the first item of
/// arrays (objects inside objects, `data[0].email`, the items of a top-level array). A case
/// drifts the first [`MAX_FIELDS`] of them.
pub(super) fn fields_to_mutate(e: &Endpoint) -> Vec<Field> {
    fields_up_to(e, usize::MAX)
}

/// Whether the endpoint's response has a field to drift (the four drift kinds that change a
/// field apply): the search stops at the first.
pub(super) fn has_field_to_mutate(e: &Endpoint) -> bool {
    !fields_up_to(e, 1).is_empty()
}

/// The first `limit` of [`fields_to_mutate`].
fn fields_up_to(e: &Endpoint, limit: usize) -> Vec<Field> {
    let Some(schema) = e.response.schema.as_ref() else { return Vec::new() };
    let root = schema.root();
    let mut out = Vec::new();
    let mut level = vec![(Vec::new(), schema.value(), &e.response.example)];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for (path, schema, value) in level {
            let schema = resolved(schema, root);
            match value {
                Value::Array(items) => {
                    if let (Some(items_schema), Some(first)) = (schema.get("items"), items.first()) {
                        next.push(([path, vec![Hop::Index(0)]].concat(), items_schema, first));
                    }
                }
                Value::Object(object) => {
                    let props = schema.get("properties").and_then(Value::as_object);
                    let required = schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
                    for f in required {
                        let ty =
                            props.and_then(|p| p.get(f)).map(|s| resolved(s, root)).and_then(|s| s.get("type")).and_then(Value::as_str);
                        if let (Some(ty), true) = (ty, object.contains_key(f))
                            && ty != "null"
                        {
                            out.push(Field { path: [path.clone(), vec![Hop::Key(f.to_string())]].concat(), ty: ty.to_string() });
                            if out.len() >= limit {
                                return out;
                            }
                        }
                    }
                    for (k, v) in object {
                        if let (Some(s), true) = (props.and_then(|p| p.get(k)), v.is_object() || v.is_array()) {
                            next.push(([path.clone(), vec![Hop::Key(k.clone())]].concat(), s, v));
                        }
                    }
                }
                _ => {}
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    out
}

fn renamed(field: &str) -> String {
    if field.contains('_') {
        let mut out = String::new();
        let mut up = false;
        for c in field.chars() {
            if c == '_' {
                up = true;
            } else if up {
                out.extend(c.to_uppercase());
                up = false;
            } else {
                out.push(c);
            }
        }
        out
    } else {
        format!("{field}_v2")
    }
}

fn other_type(ty: &str) -> Value {
    match ty {
        "string" => json!(12345),
        "integer" | "number" => json!("12345"),
        "boolean" => json!("yes"),
        "object" => json!("oc-integrate"),
        _ => json!({"oc": 1}),
    }
}

/// A change to one field (name, schema type) of the object that holds it.
type Mutation = dyn Fn(&str, &str, &mut serde_json::Map<String, Value>);

/// Apply `f` to the object that holds `field`.
fn mutate(example: &Value, field: &Field, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut v = example.clone();
    let mut at = Some(&mut v);
    for step in &field.path[..field.path.len().saturating_sub(1)] {
        at = match (at, step) {
            (Some(x), Hop::Key(k)) => x.get_mut(k.as_str()),
            (Some(x), Hop::Index(i)) => x.get_mut(*i),
            (None, _) => None,
        };
    }
    if let Some(Value::Object(m)) = at {
        f(m);
    }
    v
}

/// Whether the response object (the first item of an array response) may take a field its
/// schema does not name: the extra field is drift a client must tolerate only there, not in an
/// object the schema closes (`additionalProperties: false`), which a client checking the
/// schema rightly rejects.
pub(super) fn takes_extra_field(e: &Endpoint) -> bool {
    let example = &e.response.example;
    let array = example.is_array();
    if !(if array { example.get(0) } else { Some(example) }).is_some_and(Value::is_object) {
        return false;
    }
    let Some(schema) = &e.response.schema else { return true };
    let top = resolved(schema.value(), schema.root());
    let object = if array { top.get("items").map(|items| resolved(items, schema.root())) } else { Some(top) };
    object.is_none_or(super::tolerance::takes_unknown_fields)
}

/// Apply `f` to the response object (the first item of an array response).
fn mutate_top(example: &Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut v = example.clone();
    let target = if v.is_array() { v.get_mut(0) } else { Some(&mut v) };
    if let Some(Value::Object(m)) = target {
        f(m);
    }
    v
}

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let e = s.endpoint;
    let status = e.response.status;
    let example = &e.response.example;
    let text = example.to_string();
    let mut fields = fields_to_mutate(e);
    let total = fields.len();
    fields.truncate(MAX_FIELDS);
    let mut names = fields.iter().map(|f| format!("`{}`", f.path())).collect::<Vec<_>>().join(", ");
    if total > MAX_FIELDS {
        names.push_str(&format!("; the first {MAX_FIELDS} of {total}"));
    }
    // one call per required field for the field kinds, one call otherwise
    let each = |f: &Mutation| -> Vec<Reply> {
        fields.iter().map(|field| Reply::json(status, &mutate(example, field, |m| f(field.name(), &field.ty, m)))).collect()
    };
    let (replies, tolerated, what): (Vec<Reply>, bool, String) = match kind {
        Kind::DriftExtraField => {
            let v = mutate_top(example, |m| {
                m.insert("oc_unexpected_field".into(), json!({"added_by": "oc-integrate"}));
            });
            (vec![Reply::json(status, &v)], true, "an unknown field `oc_unexpected_field` added".into())
        }
        Kind::DriftMissingField => (
            each(&|name, _, m| {
                m.remove(name);
            }),
            false,
            format!("each required field in turn ({names}) missing"),
        ),
        Kind::DriftTypeChanged => (
            each(&|name, ty, m| {
                m.insert(name.to_string(), other_type(ty));
            }),
            false,
            format!("each required field in turn ({names}) changed to another type"),
        ),
        Kind::DriftNullValue => (
            each(&|name, _, m| {
                m.insert(name.to_string(), Value::Null);
            }),
            false,
            format!("each required, non-nullable field in turn ({names}) null"),
        ),
        Kind::DriftRenamedField => (
            each(&|name, _, m| {
                if let Some(x) = m.remove(name) {
                    m.insert(renamed(name), x);
                }
            }),
            false,
            format!("each required field in turn ({names}) renamed (snake_case to camelCase, or with a _v2 suffix)"),
        ),
        Kind::DriftEmptyBody => (vec![Reply::raw(status, "application/json", Vec::new())], false, format!("{status} with an empty body")),
        Kind::DriftTruncatedJson => {
            (vec![Reply::raw(status, "application/json", text.as_bytes()[..text.len() / 2].to_vec())], false, "JSON cut off halfway".into())
        }
        Kind::DriftNotJson => (
            vec![Reply::raw(
                status,
                "text/html; charset=utf-8",
                b"<html><body><h1>Service temporarily unavailable</h1></body></html>".to_vec(),
            )],
            false,
            format!("{status} with an HTML page"),
        ),
        _ => (
            vec![Reply::raw(status, "text/plain", text.clone().into_bytes())],
            !e.response.strict_content_type,
            "valid JSON served as text/plain".into(),
        ),
    };
    let labels: Vec<String> = if replies.len() == fields.len() && !matches!(kind, Kind::DriftExtraField) {
        fields.iter().map(|f| format!("`{}`: ", f.path())).collect()
    } else {
        vec![String::new(); replies.len()]
    };
    let served: Vec<Option<Value>> = replies.iter().map(|r| serde_json::from_slice(&r.body).ok()).collect();
    let expected = if tolerated {
        format!("{what} → tolerated: the call succeeds with the known fields")
    } else {
        format!("{what} → a clear InvalidResponse error every time; no panic, no made-up value")
    };
    let calls = replies.len();
    let script = replies.into_iter().map(|r| vec![Step::Reply(r)]).collect();
    Prepared::new(
        s,
        vec![s.script(script, s.policy.retry.max_attempts as usize)],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut evidence = String::new();
            let mut actual = Vec::new();
            for (i, r) in o.returned.iter().enumerate() {
                let mut q = Vec::new();
                if tolerated {
                    expect_ok(r, &mut q);
                } else {
                    expect_error(r, &[ErrorKind::InvalidResponse], None, &mut q);
                    if let (Some(v), Some(served), true) = (r.value(), &served[i], evidence.is_empty()) {
                        evidence = json_diff("served", served, "returned", v);
                    }
                    if let crate::scenario::Returned::Value(Err(err)) = r
                        && err.kind == ErrorKind::InvalidResponse
                        && err.message.trim().is_empty()
                    {
                        q.push("expected the error to say what was wrong, found an empty message".into());
                    }
                }
                p.extend(q.into_iter().map(|m| format!("{}{m}", labels[i])));
                actual.push(format!("{}{}", labels[i], r.describe()));
            }
            // a line per call: a failure's `found:` lists them one under another
            Verdict { actual: actual.join("\n"), problems: p, evidence }
        }),
    )
    .calls(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields of objects inside objects and of the first item of arrays inside objects are
    /// found after the top level ones, named by their JSON path, `$ref`s followed.
    #[test]
    fn nested_fields_are_found_by_json_path() {
        let mut e: Endpoint = serde_json::from_value(json!({
            "id": "list", "method": "GET", "path": "/x", "purpose": "p",
            "response": {"example": {"id": 1, "owner": {"login": "a", "note": "b"}, "data": [{"email": "e", "tags": []}]}}
        }))
        .unwrap();
        e.response.schema = Some(crate::spec::Schema::inline(json!({
            "type": "object",
            "required": ["id", "data"],
            "properties": {
                "id": {"type": "integer"},
                "owner": {"$ref": "#/$defs/owner"},
                "data": {"type": "array", "items": {"type": "object", "required": ["email", "missing"], "properties": {"email": {"type": "string"}, "missing": {"type": "string"}}}}
            },
            "$defs": {"owner": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}, "note": {"type": ["string", "null"]}}}}
        })));
        let paths: Vec<String> = fields_to_mutate(&e).iter().map(Field::path).collect();
        // `owner` is optional but present, so its required `login` drifts; `missing` is not in the example
        assert_eq!(paths, ["id", "data", "owner.login", "data[0].email"]);
    }

    /// The extra field is drift only where the schema leaves room for it: not in a closed
    /// response object (GitHub's `{}` of a 202), nor in the items of a closed list.
    #[test]
    fn an_extra_field_is_drift_only_in_an_open_object() {
        let mut e: Endpoint = serde_json::from_value(json!({
            "id": "get", "method": "GET", "path": "/x", "purpose": "p", "response": {"example": {"id": 1}}
        }))
        .unwrap();
        assert!(takes_extra_field(&e), "no schema: nothing closes the object");
        let closed = json!({"type": "object", "additionalProperties": false, "properties": {"id": {"type": "integer"}}});
        e.response.schema = Some(crate::spec::Schema::inline(json!({"$ref": "#/$defs/x", "$defs": {"x": closed.clone()}})));
        assert!(!takes_extra_field(&e));
        e.response.schema = Some(crate::spec::Schema::inline(json!({"type": "object", "properties": {"id": {"type": "integer"}}})));
        assert!(takes_extra_field(&e));
        e.response.example = json!([{"id": 1}]);
        e.response.schema = Some(crate::spec::Schema::inline(json!({"type": "array", "items": closed})));
        assert!(!takes_extra_field(&e));
        e.response.example = json!("text");
        e.response.schema = None;
        assert!(!takes_extra_field(&e), "no object to add a field to");
    }
}
