//! Benign variation: what a real provider sends that a correct client must accept and return
//! faithfully, each served with the endpoint's success status — optional fields absent,
//! nullable fields `null` (GitHub's `user` of a deleted account), a media type with parameters, unknown fields inside nested objects, empty arrays,
//! integers past 2^53, non-ASCII text raw and `\u`-escaped. A client that only accepts the
//! exact example is as broken as one that accepts anything. What is optional or nullable
//! comes from the response schema; nothing new is needed from the user.
//!
//! Not generated, because no Rust HTTP client can get them wrong (so no case could fail):
//! header names in another case (HTTP libraries compare them case-insensitively) and fields
//! in another order (JSON objects are maps to every JSON library).

use serde_json::{Map, Value, json};

use super::conformance::{differences, free_text, json_diff, resolved};
use super::{Prepared, Setup, Verdict, expect_ok};
use crate::case::Kind;
use crate::server::{Reply, Step};
use crate::spec::Endpoint;

/// Text a provider may well send: accents, an emoji (a surrogate pair when escaped), a dash.
const NON_ASCII: &str = "Zoë Ångström — naïve 🎉";

/// An integer past 2^53: a client that parses numbers as floats returns another one.
const LARGE: i64 = 9_007_199_254_740_993;

/// Whether `schema` lets a value be `null`.
fn nullable(schema: &Value) -> bool {
    schema.get("nullable") == Some(&json!(true))
        || match schema.get("type") {
            Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
            Some(t) => t == "null",
            None => false,
        }
}

/// Whether `schema` is of JSON type `ty` (alone or among others).
fn typed(schema: &Value, ty: &str) -> bool {
    match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == ty),
        Some(t) => t == ty,
        None => false,
    }
}

/// One change to a field of an object: its new value, or `None` to remove it.
type Edit = (String, Option<Value>);

/// What one variation does to an object, given its schema, the root schema, and where it is
/// (the dotted field path of [`crate::spec::pagination::at`], `[]` after an array nested in
/// it; empty for the top level, and for the items of a top-level array): its edits, none when
/// the variation leaves it as it is.
type Change<'a> = &'a dyn Fn(&Map<String, Value>, &Value, &Value, &str) -> Vec<Edit>;

/// A step from a value to one inside it.
#[derive(Clone, Copy)]
enum Part<'v> {
    Field(&'v str),
    Item(usize),
}

/// The objects of an example a variation changes (the steps to each) and their edits.
type Found<'v> = Vec<(Vec<Part<'v>>, Vec<Edit>)>;

/// The dotted path of field `key` of the object at `at`.
fn field_path(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_string() } else { format!("{at}.{key}") }
}

/// A search of an example for the objects one variation changes.
struct Search<'a> {
    /// The root schema, where references lead.
    root: &'a Value,
    /// Stop at the first object changed: all that is asked is whether the kind applies (a
    /// provider's endpoints are many, their examples large, and nothing is copied to find out).
    until_first: bool,
    change: Change<'a>,
}

impl Search<'_> {
    /// What the change does to every object of `v` (at `at`, reached by `here`) its schema
    /// describes, top level and nested, added to `found`. A field the change edits is not
    /// looked into: it is removed or replaced.
    fn find<'v>(&self, v: &'v Value, schema: &Value, at: &str, here: &mut Vec<Part<'v>>, found: &mut Found<'v>) {
        let schema = resolved(schema, self.root);
        let done = |found: &Found| self.until_first && !found.is_empty();
        match v {
            Value::Object(m) => {
                let edits = (self.change)(m, schema, self.root, at);
                if !edits.is_empty() && self.until_first {
                    found.push((here.clone(), edits));
                    return;
                }
                let props = schema.get("properties").and_then(Value::as_object);
                for (k, child) in m {
                    if done(found) {
                        return;
                    }
                    if let Some(s) = props.and_then(|p| p.get(k))
                        && !edits.iter().any(|(edited, _)| edited == k)
                    {
                        here.push(Part::Field(k));
                        self.find(child, s, &field_path(at, k), here, found);
                        here.pop();
                    }
                }
                if !edits.is_empty() {
                    found.push((here.clone(), edits));
                }
            }
            Value::Array(items) => {
                if let Some(s) = schema.get("items") {
                    let at = if at.is_empty() { String::new() } else { format!("{at}[]") };
                    for (i, item) in items.iter().enumerate() {
                        if done(found) {
                            return;
                        }
                        here.push(Part::Item(i));
                        self.find(item, s, &at, here, found);
                        here.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// `v` with the edits `found` in it (each object's fields edited in place, removed ones
/// taken out in order).
fn apply(mut v: Value, found: Found) -> Value {
    for (steps, edits) in found {
        let object = steps.iter().try_fold(&mut v, |at, step| match step {
            Part::Field(k) => at.get_mut(*k),
            Part::Item(i) => at.get_mut(*i),
        });
        if let Some(Value::Object(m)) = object {
            let mut removed = Vec::new();
            for (k, new) in edits {
                match new {
                    Some(new) => drop(m.insert(k, new)),
                    None => removed.push(k),
                }
            }
            if !removed.is_empty() {
                m.retain(|k, _| !removed.contains(k));
            }
        }
    }
    v
}

/// The properties of an object schema, each resolved.
fn properties<'a>(schema: &'a Value, root: &'a Value) -> Vec<(&'a String, &'a Value)> {
    schema.get("properties").and_then(Value::as_object).into_iter().flatten().map(|(k, s)| (k, resolved(s, root))).collect()
}

fn required(schema: &Value, key: &str) -> bool {
    schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|k| k == key))
}

/// Whether an object of `schema` may carry a field its schema does not name, of any value: not
/// a closed object (`additionalProperties: false`) nor a map whose values the schema types
/// (Stripe's `metadata`, `additionalProperties: {type: string}`), where a new key is data the
/// schema checks, not a field the provider added; nor one made of alternatives or parts
/// (`oneOf`, `anyOf`, `allOf`), whose branches may be closed (GitHub's user, private or public).
pub(super) fn takes_unknown_fields(schema: &Value) -> bool {
    ["oneOf", "anyOf", "allOf"].iter().all(|c| schema.get(*c).is_none())
        && schema.get("additionalProperties").is_none_or(|a| a == &json!(true) || a.as_object().is_some_and(Map::is_empty))
}

/// A string the schema leaves free (no pattern, format, enum or const to break).
fn free_string(schema: &Value) -> bool {
    typed(schema, "string") && free_text(schema)
}

/// Whether `kind` empties the whole example: a top-level array of items, under a schema.
fn empties_the_whole(kind: Kind, e: &Endpoint) -> bool {
    kind == Kind::TolerateEmptyArrays
        && e.response.schema.is_some()
        && matches!(&e.response.example, Value::Array(items) if !items.is_empty())
}

/// A field's new value, if it gets one, given its name, its schema and its value in the object (if any).
type NewValue<'a> = &'a dyn Fn(&str, &Value, Option<&Value>) -> Option<Value>;

/// The fields of an object's schema that `to` gives a new value.
fn set_fields(m: &Map<String, Value>, s: &Value, root: &Value, to: NewValue) -> Vec<Edit> {
    properties(s, root).into_iter().filter_map(|(k, p)| to(k, p, m.get(k)).map(|new| (k.clone(), Some(new)))).collect()
}

/// Where and how `kind`'s variation changes the objects of the endpoint's example, as far as
/// its schema gives it something to vary (`until_first`: only its first change, to tell
/// whether it applies).
fn changes(kind: Kind, e: &Endpoint, until_first: bool) -> Found<'_> {
    let mut found = Vec::new();
    let Some(schema) = e.response.schema.as_ref() else {
        return found;
    };
    let root = schema.root();
    let mut run =
        |change: Change| Search { root, until_first, change }.find(&e.response.example, schema.value(), "", &mut Vec::new(), &mut found);
    // the fields a page must carry for the spec's pagination to read it (its items, its flag),
    // optional in the schema or not: without them a correct client cannot tell what the page holds
    let paged: Vec<&str> = e.pagination.iter().flat_map(|p| [Some(p.items()), p.has_more()]).flatten().filter(|p| !p.is_empty()).collect();
    match kind {
        Kind::TolerateOptionalAbsent => run(&|m, s, _, at| {
            let gone = |k: &str| {
                let path = field_path(at, k);
                // a field on the way to one the pagination reads stays too
                let read = paged.iter().any(|p| p.strip_prefix(path.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')));
                !required(s, k) && s.get("properties").and_then(|p| p.get(k)).is_some() && !read
            };
            m.keys().filter(|k| gone(k)).map(|k| (k.clone(), None)).collect()
        }),
        Kind::TolerateNull => run(&|m, s, root, _| {
            set_fields(m, s, root, &|k, p, v| {
                // required or not: a nullable field is null whenever the provider has nothing
                let present_or_optional = v.is_some() || !required(s, k);
                (nullable(p) && present_or_optional && v != Some(&Value::Null)).then_some(Value::Null)
            })
        }),
        Kind::TolerateUnknownNestedFields => run(&|m, s, _, at| {
            let room = !at.is_empty() && takes_unknown_fields(s) && !m.contains_key("oc_unexpected_field");
            room.then(|| ("oc_unexpected_field".to_string(), Some(json!({"added_by": "oc-integrate"})))).into_iter().collect()
        }),
        Kind::TolerateEmptyArrays => run(&|m, s, root, _| {
            set_fields(m, s, root, &|_, p, v| {
                let may_be_empty = p.get("minItems").and_then(Value::as_u64).unwrap_or(0) == 0;
                (may_be_empty && matches!(v, Some(Value::Array(items)) if !items.is_empty())).then(|| json!([]))
            })
        }),
        Kind::TolerateLargeIntegers => run(&|m, s, root, _| {
            set_fields(m, s, root, &|_, p, v| {
                let fits = p.get("maximum").and_then(Value::as_f64).is_none_or(|max| max >= LARGE as f64);
                (typed(p, "integer") && fits && v.is_some_and(Value::is_i64)).then(|| json!(LARGE))
            })
        }),
        Kind::TolerateNonAscii => run(&|m, s, root, _| {
            set_fields(m, s, root, &|_, p, v| (free_string(p) && v.is_some_and(Value::is_string)).then(|| json!(NON_ASCII)))
        }),
        _ => {}
    }
    found
}

/// The endpoint's example with `kind`'s variation applied, when the schema gives it something to vary.
fn varied(kind: Kind, e: &Endpoint) -> Option<Value> {
    if empties_the_whole(kind, e) {
        return Some(json!([]));
    }
    let found = changes(kind, e, false);
    (!found.is_empty()).then(|| apply(e.response.example.clone(), found))
}

/// Whether the endpoint's schema gives `kind` something to vary (found without copying the example).
pub(super) fn applies(kind: Kind, e: &Endpoint) -> bool {
    match kind {
        Kind::TolerateMediaTypeParameters => e.response.schema.is_some(),
        _ => empties_the_whole(kind, e) || !changes(kind, e, true).is_empty(),
    }
}

/// `\u`-escapes every character past ASCII (a surrogate pair past the BMP), as some providers send.
fn ascii_json(v: &Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let e = s.endpoint;
    let status = e.response.status;
    let served = varied(kind, e).unwrap_or_else(|| e.response.example.clone());
    // benign variation is in the data: a paginated answer stays the last page
    let served = match &e.pagination {
        Some(p) => p.last_page(&served),
        None => served,
    };
    let (replies, what): (Vec<Reply>, &str) = match kind {
        Kind::TolerateOptionalAbsent => (vec![Reply::json(status, &served)], "every optional field absent"),
        Kind::TolerateNull => (vec![Reply::json(status, &served)], "every nullable field null"),
        Kind::TolerateUnknownNestedFields => (vec![Reply::json(status, &served)], "an unknown field in every nested object"),
        Kind::TolerateEmptyArrays => (vec![Reply::json(status, &served)], "every array that may be empty, empty"),
        Kind::TolerateLargeIntegers => (vec![Reply::json(status, &served)], "every integer field 9007199254740993 (past 2^53)"),
        Kind::TolerateNonAscii => (
            vec![Reply::json(status, &served), Reply::raw(status, "application/json", ascii_json(&served).into_bytes())],
            "every free text field non-ASCII: raw UTF-8, then \\u-escaped",
        ),
        _ => (
            vec![Reply::raw(status, "application/json; charset=utf-8", served.to_string().into_bytes())],
            "Content-Type: application/json; charset=utf-8",
        ),
    };
    let schema = e.response.schema.clone();
    let calls = replies.len();
    let script = replies.into_iter().map(|r| vec![Step::Reply(r)]).collect();
    Prepared::new(
        s,
        vec![s.script(script, s.policy.retry.max_attempts as usize)],
        format!("{status} with {what} → accepted: the call succeeds and returns what was served"),
        Box::new(move |o| {
            let mut p = Vec::new();
            let mut evidence = String::new();
            for r in o.returned {
                let mut q = Vec::new();
                expect_ok(r, &mut q);
                if let Some(v) = r.value() {
                    let changed = differences(&served, v, schema.as_ref());
                    if !changed.is_empty() {
                        q.push(format!("expected every returned field to equal the served one, found:\n{}", changed.join("\n")));
                        if evidence.is_empty() {
                            evidence = json_diff("served", &served, "returned", v);
                        }
                    }
                }
                p.extend(q);
            }
            let actual = o.returned.iter().map(|r| r.describe()).collect::<Vec<_>>().join("\n");
            Verdict { actual, problems: p, evidence }
        }),
    )
    .calls(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unknown field goes into every nested object its schema leaves open, and not into a
    /// closed one or a map of typed values (where it would be off the schema for a reason that
    /// is not the case's: a correct client that checks the schema must reject it).
    #[test]
    fn unknown_fields_go_only_where_the_schema_leaves_room() {
        let mut e: Endpoint = serde_json::from_value(json!({
            "id": "get", "method": "GET", "path": "/x", "purpose": "p",
            "response": {"example": {"id": "ch_1", "owner": {"login": "a"}, "any": {"k": 1}, "metadata": {"plan": "pro"}, "closed": {"n": 1}, "either": {"n": 1}}}
        }))
        .unwrap();
        e.response.schema = Some(crate::spec::Schema::inline(json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "owner": {"type": "object", "properties": {"login": {"type": "string"}}},
                "any": {"type": "object", "additionalProperties": {}},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "closed": {"type": "object", "additionalProperties": false, "properties": {"n": {"type": "integer"}}},
                "either": {"oneOf": [{"type": "object", "additionalProperties": false, "properties": {"n": {"type": "integer"}}}, {"type": "null"}]}
            }
        })));
        let v = varied(Kind::TolerateUnknownNestedFields, &e).expect("two objects take an unknown field");
        let added = |k: &str| v[k].get("oc_unexpected_field").is_some();
        assert!(added("owner") && added("any"), "{v}");
        assert!(!added("metadata") && !added("closed") && !added("either"), "{v}");
        assert!(v.get("oc_unexpected_field").is_none(), "the top level is another case's");
        // with only a map and a closed object nested, the case has nothing to vary
        e.response.example = json!({"id": "ch_1", "metadata": {"plan": "pro"}, "closed": {"n": 1}});
        assert!(!applies(Kind::TolerateUnknownNestedFields, &e));
    }

    /// Optional fields go, but not the ones the spec's pagination reads (GitHub's
    /// `repositories` of an installation's list, optional in its schema; a page's flag): a
    /// correct client that finds no items where the spec says they are must fail the call.
    /// The items' own optional fields still go.
    #[test]
    fn optional_fields_the_pagination_reads_stay() {
        let mut e: Endpoint = serde_json::from_value(json!({
            "id": "list", "method": "GET", "path": "/installation/repositories", "purpose": "p",
            "pagination": {"style": "page", "param": "page", "has_more": "meta.more", "items": "repositories"},
            "response": {"example": {"total_count": 1, "meta": {"more": false, "hint": "x"}, "repositories": [{"id": 1, "name": "a"}]}}
        }))
        .unwrap();
        e.response.schema = Some(crate::spec::Schema::inline(json!({
            "type": "object",
            "properties": {
                "total_count": {"type": "integer"},
                "meta": {"type": "object", "properties": {"more": {"type": "boolean"}, "hint": {"type": "string"}}},
                "repositories": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {"id": {}, "name": {}}}}
            }
        })));
        let v = varied(Kind::TolerateOptionalAbsent, &e).expect("total_count, the hint and the names are optional");
        assert_eq!(v, json!({"meta": {"more": false}, "repositories": [{"id": 1}]}));
        // with nothing optional but what the pagination reads, the case has nothing to vary
        e.response.example = json!({"meta": {"more": false}, "repositories": [{"id": 1}]});
        assert!(!applies(Kind::TolerateOptionalAbsent, &e));
        // without the pagination, the same fields are the case's to drop
        e.pagination = None;
        assert_eq!(varied(Kind::TolerateOptionalAbsent, &e), Some(json!({})));
    }

    /// A field the variation sets is not looked into: a schema that names the unknown field
    /// itself, as an object of its own schema, gets it once, not forever (the search used to
    /// recurse into what it had just added); an object that already has the field keeps it.
    #[test]
    fn what_a_variation_sets_is_not_varied_again() {
        let mut e: Endpoint = serde_json::from_value(json!({
            "id": "get", "method": "GET", "path": "/x", "purpose": "p",
            "response": {"example": {"a": {}, "b": {"oc_unexpected_field": 1}}}
        }))
        .unwrap();
        e.response.schema = Some(crate::spec::Schema::inline(json!({
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/node"}, "b": {"$ref": "#/$defs/node"}},
            "$defs": {"node": {"type": "object", "properties": {"oc_unexpected_field": {"$ref": "#/$defs/node"}}}}
        })));
        let added = json!({"added_by": "oc-integrate"});
        let v = varied(Kind::TolerateUnknownNestedFields, &e).expect("a takes the field");
        assert_eq!(v, json!({"a": {"oc_unexpected_field": added}, "b": {"oc_unexpected_field": 1}}));
        assert!(applies(Kind::TolerateUnknownNestedFields, &e));
    }
}
