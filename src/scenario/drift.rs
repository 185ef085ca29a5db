//! Response-shape drift: the provider adds, drops, retypes, nulls or renames a field, or
//! sends an empty, truncated or non-JSON body, or the wrong content type. The client must
//! tolerate what the spec allows (extra fields) and otherwise return a clear
//! InvalidResponse error: never panic, never make up a default.

use serde_json::{Value, json};

use super::conformance::json_diff;
use super::{Kind, Prepared, Setup, Verdict, expect_error, expect_ok};
use crate::binding::ErrorKind;
use crate::server::{Reply, Step};
use crate::spec::Endpoint;

/// The schema of the object whose field is mutated: the body, or its first element.
fn object_schema(e: &Endpoint) -> Option<&Value> {
    let schema = e.response.schema.as_ref()?;
    if e.response.example.is_array() { schema.get("items") } else { Some(schema) }
}

/// The first required, non-nullable field of the response object (or of its first element).
pub(super) fn field_to_mutate(e: &Endpoint) -> Option<(String, Value)> {
    let schema = object_schema(e)?;
    let props = schema.get("properties")?;
    let object = if e.response.example.is_array() { e.response.example.get(0)? } else { &e.response.example };
    schema.get("required")?.as_array()?.iter().filter_map(Value::as_str).find_map(|f| {
        let ty = props.get(f)?.get("type")?.as_str()?;
        (ty != "null" && object.get(f).is_some()).then(|| (f.to_string(), Value::String(ty.to_string())))
    })
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
    let field = field_to_mutate(e);
    let (fname, ftype) = field.clone().map(|(n, t)| (n, t.as_str().unwrap_or("").to_string())).unwrap_or_default();
    let (reply, tolerated, what): (Reply, bool, String) = match kind {
        Kind::DriftExtraField => {
            let v = mutate(example, |m| {
                m.insert("oc_unexpected_field".into(), json!({"added_by": "oc-integrate"}));
            });
            (Reply::json(status, &v), true, "an unknown field `oc_unexpected_field` added".into())
        }
        Kind::DriftMissingField => {
            let v = mutate(example, |m| {
                m.remove(&fname);
            });
            (Reply::json(status, &v), false, format!("required field `{fname}` missing"))
        }
        Kind::DriftTypeChanged => {
            let v = mutate(example, |m| {
                m.insert(fname.clone(), other_type(&ftype));
            });
            (
                Reply::json(status, &v),
                false,
                format!("`{fname}` changed from {ftype} to {}", if ftype == "string" { "number" } else { "another type" }),
            )
        }
        Kind::DriftNullValue => {
            let v = mutate(example, |m| {
                m.insert(fname.clone(), Value::Null);
            });
            (Reply::json(status, &v), false, format!("`{fname}` null where the schema requires a {ftype}"))
        }
        Kind::DriftRenamedField => {
            let new = renamed(&fname);
            let v = mutate(example, |m| {
                if let Some(x) = m.remove(&fname) {
                    m.insert(new.clone(), x);
                }
            });
            (Reply::json(status, &v), false, format!("`{fname}` renamed to `{new}`"))
        }
        Kind::DriftEmptyBody => (Reply::raw(status, "application/json", Vec::new()), false, format!("{status} with an empty body")),
        Kind::DriftTruncatedJson => {
            (Reply::raw(status, "application/json", text.as_bytes()[..text.len() / 2].to_vec()), false, "JSON cut off halfway".into())
        }
        Kind::DriftNotJson => (
            Reply::raw(status, "text/html; charset=utf-8", b"<html><body><h1>Service temporarily unavailable</h1></body></html>".to_vec()),
            false,
            format!("{status} with an HTML page"),
        ),
        _ => (
            Reply::raw(status, "text/plain", text.clone().into_bytes()),
            !e.response.strict_content_type,
            "valid JSON served as text/plain".into(),
        ),
    };
    let served: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let expected = if tolerated {
        format!("{what} → tolerated: the call succeeds with the known fields")
    } else {
        format!("{what} → a clear InvalidResponse error; no panic, no made-up value")
    };
    Prepared::new(
        s,
        vec![s.script(vec![vec![Step::Reply(reply)]], s.policy.retry.max_attempts as usize)],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut evidence = String::new();
            let r = &o.returned[0];
            if tolerated {
                expect_ok(r, &mut p);
            } else {
                expect_error(r, &[ErrorKind::InvalidResponse], None, &mut p);
                if let (Some(v), Some(served)) = (r.value(), &served) {
                    evidence = json_diff("served", served, "returned", v);
                }
                if matches!(r.error(), Some((ErrorKind::InvalidResponse, _)))
                    && let crate::scenario::Returned::Value(Err(err)) = r
                    && err.message.trim().is_empty()
                {
                    p.push("expected the error to say what was wrong, found an empty message".into());
                }
            }
            let actual = format!("{} attempt(s); returned {}", o.attempts(0).len(), r.describe());
            Verdict { actual, problems: p, evidence }
        }),
    )
}
