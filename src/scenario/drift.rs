//! Response-shape drift: the provider adds, drops, retypes, nulls or renames a field, or
//! sends an empty, truncated or non-JSON body, or the wrong content type. The client must
//! tolerate what the spec allows (extra fields) and otherwise return a clear
//! InvalidResponse error: never panic, never make up a default.

use serde_json::{Value, json};

use super::conformance::json_diff;
use super::{Prepared, Setup, Verdict, expect_error, expect_ok};
use crate::binding::ErrorKind;
use crate::case::Kind;
use crate::server::{Reply, Step};
use crate::spec::Endpoint;

/// The schema of the object whose field is mutated: the body, or its first element.
fn object_schema(e: &Endpoint) -> Option<&Value> {
    let schema = e.response.schema.as_ref()?;
    if e.response.example.is_array() { schema.get("items") } else { Some(schema) }
}

/// The required, non-nullable fields of the response object (or of its first element)
/// that the example carries, with their JSON Schema type, in `required` order.
pub(super) fn fields_to_mutate(e: &Endpoint) -> Vec<(String, String)> {
    let Some(schema) = object_schema(e) else { return Vec::new() };
    let (Some(props), Some(required)) = (schema.get("properties"), schema.get("required").and_then(Value::as_array)) else {
        return Vec::new();
    };
    let object = if e.response.example.is_array() { e.response.example.get(0) } else { Some(&e.response.example) };
    let Some(object) = object else { return Vec::new() };
    required
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|f| {
            let ty = props.get(f)?.get("type")?.as_str()?;
            (ty != "null" && object.get(f).is_some()).then(|| (f.to_string(), ty.to_string()))
        })
        .collect()
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

/// A change to one field (name, schema type) of the drifting object.
type Mutation = dyn Fn(&str, &str, &mut serde_json::Map<String, Value>);

/// Apply `f` to the object whose field drifts.
fn mutate(example: &Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
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
    let fields = fields_to_mutate(e);
    let names = fields.iter().map(|(f, _)| format!("`{f}`")).collect::<Vec<_>>().join(", ");
    // one call per required field for the field kinds, one call otherwise
    let each = |f: &Mutation| -> Vec<Reply> {
        fields.iter().map(|(name, ty)| Reply::json(status, &mutate(example, |m| f(name, ty, m)))).collect()
    };
    let (replies, tolerated, what): (Vec<Reply>, bool, String) = match kind {
        Kind::DriftExtraField => {
            let v = mutate(example, |m| {
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
        fields.iter().map(|(f, _)| format!("`{f}`: ")).collect()
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
