//! Reading a provider's API description: OpenAPI 3.0 / 3.1 as is, Swagger 2.0 brought to
//! the same shape; `$ref`s resolved into self-contained JSON Schemas (shared parts under
//! `$defs`, so cycles stay references instead of expanding forever); examples taken from
//! the document or made from the schema.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value, json};

/// How deep example synthesis follows nested schemas before it stops.
const EXAMPLE_DEPTH: usize = 8;

/// How deep one schema is converted, inline (a referenced schema is converted on its own, at
/// the top of `$defs`); deeper, a nested schema becomes `{}`, which accepts anything.
/// Hostile documents nest thousands deep, and a spec must stay within the reader's nesting
/// limit.
const CONVERT_DEPTH: usize = 48;

/// The longest enum a converted schema keeps.
const MAX_ENUM: usize = 1000;

/// How deep a pattern's groups are read before it is given up on.
const PATTERN_DEPTH: usize = 16;

/// The longest string an example is made long enough for (`minLength`); a longer minimum is
/// left unmet, so no example satisfies the schema and the planner says so.
const EXAMPLE_TEXT: usize = 4096;

/// An OpenAPI document in the 3.x shape, with what the planner asks of it.
pub struct Document {
    /// The whole document (Swagger 2.0 rewritten to 3.x names).
    pub root: Value,
}

impl Document {
    /// Read `root`: OpenAPI 3.x as is, Swagger 2.0 rewritten. `Err` names what is missing.
    pub fn new(root: Value) -> Result<Document, String> {
        // YAML writes `openapi: 3.1` and `swagger: 2.0` unquoted: numbers, not strings
        let version = |k: &str| root.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        if let Some(v) = version("openapi") {
            if !v.starts_with('3') {
                return Err(format!("expected OpenAPI 3.0 or 3.1 (or Swagger 2.0), found openapi: {v:?}"));
            }
            return Ok(Document { root });
        }
        match version("swagger").as_deref() {
            Some("2.0" | "2") => Ok(Document { root: from_swagger2(root) }),
            Some(v) => Err(format!("expected Swagger 2.0, found swagger: {v:?}")),
            None => Err("expected an `openapi: 3.x` or `swagger: \"2.0\"` document, found neither key at the top level".into()),
        }
    }

    /// The value a local `$ref` (`#/components/schemas/X`) points at.
    pub fn pointer(&self, reference: &str) -> Option<&Value> {
        let (decoded, written) = pointers(reference)?;
        self.root.pointer(&decoded).or_else(|| self.root.pointer(written))
    }

    /// `v` with a `$ref` to a non-schema component (parameter, response, request body)
    /// followed, up to a few hops.
    pub fn deref<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..8 {
            match v.get("$ref").and_then(Value::as_str).and_then(|r| self.pointer(r)) {
                Some(target) => v = target,
                None => break,
            }
        }
        v
    }

    /// The JSON Schema (draft 2020-12) for the OpenAPI schema `schema`, its references
    /// `#/$defs/<name>` into `shared`, where each referenced schema is converted once for the
    /// whole document (from a work list rather than by recursion, so a chain of a thousand
    /// references costs no stack and no depth). A top-level reference is followed, so its
    /// `required` and `properties` can be read directly.
    pub fn json_schema(&self, schema: &Value, shared: &mut Shared) -> Value {
        let top = self.deref(schema);
        let mut pending = Vec::new();
        let out = self.convert(top, shared, &mut pending, 0);
        self.convert_pending(pending, shared);
        out
    }

    /// Each reference in `pending` converted into `shared`, and those it meets in turn.
    fn convert_pending(&self, mut pending: Vec<(String, String)>, shared: &mut Shared) {
        let nothing = json!({});
        while let Some((reference, name)) = pending.pop() {
            let target = self.pointer(&reference).unwrap_or(&nothing);
            let converted = self.convert(target, shared, &mut pending, 0);
            shared.insert(name, converted);
        }
    }

    /// The name in `shared` of the schema a top-level `$ref` of `schema` names, converted
    /// there: where an endpoint's schema is one of the document's components, it points at it.
    pub fn component(&self, schema: &Value, shared: &mut Shared) -> Option<String> {
        let r = schema.get("$ref").and_then(Value::as_str)?;
        self.pointer(r).filter(|t| t.is_object())?;
        let mut pending = Vec::new();
        let name = shared.name(r, &mut pending);
        self.convert_pending(pending, shared);
        Some(name)
    }

    /// `v` converted, its references noted in `pending` (reference, `$defs` name) the first
    /// time `shared` meets them.
    fn convert(&self, v: &Value, shared: &mut Shared, pending: &mut Vec<(String, String)>, depth: usize) -> Value {
        if depth > CONVERT_DEPTH {
            return match v {
                // a schema cut here accepts anything; keyword values (types, enums, required
                // names) are kept whole, so what is left is still a valid schema
                Value::Object(_) => json!({}),
                Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => json!([{}]),
                other => other.clone(),
            };
        }
        let depth = depth + 1;
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    let name = shared.name(r, pending);
                    return json!({"$ref": format!("#/$defs/{name}")});
                }
                // room for every key at most (some are left out), not for a map grown one by one
                let mut out = Map::with_capacity(m.len());
                for (k, val) in m {
                    match k.as_str() {
                        // OpenAPI-only keywords with no JSON Schema meaning, and prose that only
                        // makes a spec long (the provider's docs keep it)
                        "nullable" | "discriminator" | "xml" | "externalDocs" | "readOnly" | "writeOnly" | "deprecated" | "description" => {
                        }
                        "example" => {
                            out.insert("examples".into(), json!([val]));
                        }
                        k if k.starts_with("x-") => {}
                        "exclusiveMinimum" | "exclusiveMaximum" if val.is_boolean() => {
                            // OpenAPI 3.0: a boolean beside minimum / maximum
                            let bound = if k == "exclusiveMinimum" { "minimum" } else { "maximum" };
                            if val == &Value::Bool(true)
                                && let Some(b) = m.get(bound)
                            {
                                out.insert(k.into(), b.clone());
                            }
                        }
                        "minimum" | "maximum" if m.get(&format!("exclusive{}", capitalise(k))) == Some(&Value::Bool(true)) => {}
                        // bounds like 9.2e18 (a 64-bit limit written as a float) say nothing a
                        // client can check, and do not survive YAML as numbers
                        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum"
                            if val.as_f64().is_some_and(|f| f.abs() > 1e15) && val.as_i64().is_none() => {}
                        "properties" | "patternProperties" | "$defs" | "definitions" => {
                            let inner: Map<String, Value> = val
                                .as_object()
                                .map(|props| props.iter().map(|(pk, pv)| (pk.clone(), self.convert(pv, shared, pending, depth))).collect())
                                .unwrap_or_default();
                            out.insert(k.into(), Value::Object(inner));
                        }
                        "type" if val == "file" => {
                            out.insert("type".into(), json!("string"));
                        }
                        // an enum too long to read in a spec says little a client checks: left out
                        // (the schema then accepts any value of its type)
                        "enum" if val.as_array().is_some_and(|e| e.len() > MAX_ENUM) => {}
                        _ => {
                            out.insert(k.clone(), self.convert(val, shared, pending, depth));
                        }
                    }
                }
                if m.get("nullable") == Some(&Value::Bool(true)) || m.get("x-nullable") == Some(&Value::Bool(true)) {
                    match out.get("type").cloned() {
                        Some(Value::String(t)) => {
                            out.insert("type".into(), json!([t, "null"]));
                        }
                        Some(_) => {}
                        None => {
                            let inner = Value::Object(std::mem::take(&mut out));
                            out.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                        }
                    }
                    if let Some(Value::Array(e)) = out.get_mut("enum")
                        && !e.contains(&Value::Null)
                    {
                        e.push(Value::Null);
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.convert(x, shared, pending, depth)).collect()),
            other => other.clone(),
        }
    }
}

/// The JSON pointers a local `$ref` is tried as, in turn: its segments' `~1` and `~0` decoded
/// first (a reference written unescaped), then as written. `None`: not a local reference.
pub(super) fn pointers(reference: &str) -> Option<(String, &str)> {
    let p = reference.strip_prefix('#')?;
    Some((p.split('/').map(crate::spec::unescape).collect::<Vec<_>>().join("/"), p))
}

/// The document's schemas converted to JSON Schema, each once, as the planned endpoints
/// reach them: the `$defs` an endpoint's converted schema points into.
#[derive(Debug)]
pub struct Shared {
    /// `{"$defs": {name: converted schema}}`: where `#/$defs/<name>` resolves.
    root: Value,
    /// The name given to each reference met.
    names: HashMap<String, String>,
    /// The names given.
    taken: HashSet<String>,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared { root: json!({"$defs": {}}), names: HashMap::new(), taken: HashSet::new() }
    }
}

impl Shared {
    /// `{"$defs": …}`, the root a converted schema's references resolve in.
    pub fn root(&self) -> &Value {
        &self.root
    }

    fn insert(&mut self, name: String, schema: Value) {
        if let Some(defs) = self.root.get_mut("$defs").and_then(Value::as_object_mut) {
            defs.insert(name, schema);
        }
    }

    /// The `$defs` name of `reference`: the one given before, or a new one (its last segment,
    /// made safe and unique), the reference then noted in `pending` to be converted.
    fn name(&mut self, reference: &str, pending: &mut Vec<(String, String)>) -> String {
        if let Some(name) = self.names.get(reference) {
            return name.clone();
        }
        let base = def_name(reference);
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.names.insert(reference.to_string(), name.clone());
        pending.push((reference.to_string(), name.clone()));
        name
    }

    /// Its converted schemas, by name: what is left of it once every endpoint is converted.
    pub fn into_defs(self) -> Map<String, Value> {
        match self.root {
            Value::Object(mut m) => match m.remove("$defs") {
                Some(Value::Object(defs)) => defs,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    }
}

/// The definition `name` of `root`'s `$defs`.
fn def<'r>(root: &'r Value, name: &str) -> Option<&'r Value> {
    root.get("$defs")?.get(name)
}

/// `schema` made self-contained: the definitions of `root` it reaches (transitively) under `$defs`.
pub fn self_contained(root: &Value, schema: &Value) -> Value {
    let defs = reached(root, [schema]);
    let mut out = schema.clone();
    if !defs.is_empty()
        && let Some(m) = out.as_object_mut()
    {
        m.insert("$defs".into(), Value::Object(defs.into_iter().filter_map(|n| Some((n.clone(), def(root, &n)?.clone()))).collect()));
    }
    out
}

/// The names of the definitions of `root`'s `$defs` that `schemas` reach, transitively, in name order.
pub fn reached<'a>(root: &'a Value, schemas: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&Value> = schemas.into_iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(name) = m.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
                    && let Some(def) = def(root, name)
                    && seen.insert(name.to_string())
                {
                    stack.push(def);
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    seen
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// The `$defs` name for a reference: its last segment, made safe.
fn def_name(reference: &str) -> String {
    let last = crate::spec::unescape(reference.rsplit('/').next().unwrap_or(reference));
    last.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// An example value for a converted JSON Schema: its own `examples`, `const`, `default` or
/// first `enum` value, else one made from its type (required properties only).
pub fn example(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > EXAMPLE_DEPTH {
        return Value::Null;
    }
    let Some(m) = schema.as_object() else { return Value::Null };
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix('#').and_then(|p| crate::spec::pointer(root, p)).unwrap_or(&Value::Null);
        return example(target, root, depth + 1);
    }
    for k in ["const", "default"] {
        if let Some(v) = m.get(k) {
            return v.clone();
        }
    }
    if let Some(v) = m.get("examples").and_then(Value::as_array).and_then(|a| a.first()) {
        return v.clone();
    }
    if let Some(v) = m.get("enum").and_then(Value::as_array).and_then(|a| a.iter().find(|v| !v.is_null())) {
        return v.clone();
    }
    for k in ["oneOf", "anyOf"] {
        if let Some(first) = m.get(k).and_then(Value::as_array).and_then(|a| a.iter().find(|s| s.get("type") != Some(&json!("null")))) {
            return example(first, root, depth + 1);
        }
    }
    if let Some(all) = m.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            match example(part, root, depth + 1) {
                Value::Object(o) => merged.extend(o),
                Value::Null => {}
                // a scalar part (a `$ref` to a string type beside a description-only part)
                other => return other,
            }
        }
        return Value::Object(merged);
    }
    let ty = match m.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null").to_string(),
        _ if m.contains_key("properties") => "object".into(),
        _ if m.contains_key("items") => "array".into(),
        _ => return json!({}),
    };
    match ty.as_str() {
        "object" => {
            let props = m.get("properties").and_then(Value::as_object);
            let required: Vec<&str> =
                m.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let mut out = Map::new();
            if let Some(props) = props {
                for (k, s) in props {
                    if required.contains(&k.as_str()) || (required.is_empty() && out.len() < 3) {
                        out.insert(k.clone(), example(s, root, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let min_items = m.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let item = m.get("items").map(|s| example(s, root, depth + 1)).unwrap_or(Value::Null);
            // an item the synthesis could not make (too deep) is left out when the array may be empty
            let n = if item.is_null() && min_items == 0 { 0 } else { min_items.clamp(1, 3) };
            Value::Array(vec![item; n])
        }
        "integer" => json!(m.get("minimum").and_then(Value::as_i64).map(|v| v.max(1)).unwrap_or(1)),
        "number" => json!(m.get("minimum").and_then(Value::as_f64).map(|v| v.max(1.5)).unwrap_or(1.5)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ if m.get("pattern").is_some() => {
            let made = m.get("pattern").and_then(Value::as_str).and_then(from_pattern);
            let nullable = matches!(m.get("type"), Some(Value::Array(ts)) if ts.contains(&json!("null")));
            match made {
                Some(text) => json!(text),
                None if nullable => Value::Null,
                None => json!("string"),
            }
        }
        _ => {
            let text = match m.get("format").and_then(Value::as_str) {
                Some("date-time") => "2026-01-01T00:00:00Z".to_string(),
                Some("date") => "2026-01-01".into(),
                Some("email") => "user@example.com".into(),
                Some("uri" | "url") => "https://example.com/".into(),
                Some("uuid") => "00000000-0000-4000-8000-000000000000".into(),
                Some("ipv4") => "192.0.2.1".into(),
                _ => "string".into(),
            };
            let min = m.get("minLength").and_then(Value::as_u64).unwrap_or(0).min(EXAMPLE_TEXT as u64) as usize;
            json!(if text.chars().count() < min { text.repeat(min / text.len() + 1) } else { text })
        }
    }
}

/// A string matching the regular expression `pattern`, for the common constructs (literals,
/// classes, `\\d \\w .`, groups with alternatives, `* + ? {n,m}`); `None` when it uses
/// something else (the caller falls back).
pub fn from_pattern(pattern: &str) -> Option<String> {
    pattern_at(pattern, 0)
}

fn pattern_at(pattern: &str, depth: usize) -> Option<String> {
    if depth > PATTERN_DEPTH || pattern.len() > EXAMPLE_TEXT {
        return None;
    }
    let chars: Vec<char> = pattern.strip_prefix('^').unwrap_or(pattern).chars().collect();
    let chars = if chars.last() == Some(&'$') && chars.len() > 1 && chars[chars.len() - 2] != '\\' {
        &chars[..chars.len() - 1]
    } else {
        &chars[..]
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let atom = match chars[i] {
            '\\' => {
                let c = *chars.get(i + 1)?;
                i += 2;
                match c {
                    'd' => "0".to_string(),
                    'w' => "a".into(),
                    's' => " ".into(),
                    'D' | 'W' | 'S' | 'b' | 'B' => return None,
                    c => c.to_string(),
                }
            }
            '[' => {
                let close = (i + 1..chars.len()).find(|&j| chars[j] == ']' && chars[j - 1] != '\\')?;
                let class = &chars[i + 1..close];
                i = close + 1;
                match class.first()? {
                    '^' => return None,
                    '\\' => match class.get(1)? {
                        'd' => "0".to_string(),
                        'w' => "a".into(),
                        c => c.to_string(),
                    },
                    c => c.to_string(),
                }
            }
            '(' => {
                let mut depth = 0;
                let close = (i..chars.len()).find(|&j| {
                    match chars[j] {
                        '(' if j == 0 || chars[j - 1] != '\\' => depth += 1,
                        ')' if chars[j - 1] != '\\' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })?;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.strip_prefix("?:").unwrap_or(&inner);
                i = close + 1;
                // the first top-level alternative
                let mut level = 0;
                let end = inner.char_indices().find(|(_, c)| {
                    match c {
                        '(' => level += 1,
                        ')' => level -= 1,
                        _ => {}
                    }
                    *c == '|' && level == 0
                });
                pattern_at(&inner[..end.map(|(k, _)| k).unwrap_or(inner.len())], depth + 1)?
            }
            '.' => {
                i += 1;
                "a".to_string()
            }
            '|' => break,
            '*' | '+' | '?' | '{' | '}' | ')' | '^' | '$' => return None,
            c => {
                i += 1;
                c.to_string()
            }
        };
        let mut times = 1;
        match chars.get(i) {
            Some('*') | Some('?') => {
                times = 0;
                i += 1;
            }
            Some('+') => i += 1,
            Some('{') => {
                let close = (i..chars.len()).find(|&j| chars[j] == '}')?;
                let spec: String = chars[i + 1..close].iter().collect();
                times = spec.split(',').next()?.trim().parse().ok()?;
                i = close + 1;
            }
            _ => {}
        }
        if chars.get(i) == Some(&'?') {
            i += 1; // lazy
        }
        out.push_str(&atom.repeat(times.min(64)));
        if out.len() > EXAMPLE_TEXT {
            return None;
        }
    }
    Some(out)
}

/// Swagger 2.0 brought to the OpenAPI 3 names the planner reads: servers, components
/// (schemas, security schemes), request bodies and response content.
fn from_swagger2(mut doc: Value) -> Value {
    let schemes: Vec<&str> = doc.get("schemes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let scheme = if schemes.is_empty() || schemes.contains(&"https") { "https" } else { schemes[0] }.to_string();
    let host = doc.get("host").and_then(Value::as_str).map(str::to_string);
    let base = doc.get("basePath").and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.0"));
    for k in ["info", "tags", "security", "x-speakeasy-retries"] {
        if let Some(v) = doc.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(h) = host {
        out.insert("servers".into(), json!([{"url": format!("{scheme}://{h}{base}")}]));
    }
    let mut components = Map::new();
    if let Some(d) = doc.get_mut("definitions").map(Value::take) {
        components.insert("schemas".into(), d);
    }
    if let Some(Value::Object(defs)) = doc.get("securityDefinitions") {
        let converted: Map<String, Value> = defs
            .iter()
            .map(|(name, d)| {
                let v = match d.get("type").and_then(Value::as_str) {
                    Some("basic") => json!({"type": "http", "scheme": "basic"}),
                    Some("oauth2") => json!({"type": "oauth2", "flows": {"clientCredentials": {
                        "tokenUrl": d.get("tokenUrl").cloned().unwrap_or(Value::Null), "scopes": d.get("scopes").cloned().unwrap_or(json!({}))}}}),
                    _ => d.clone(),
                };
                (name.clone(), v)
            })
            .collect();
        components.insert("securitySchemes".into(), Value::Object(converted));
    }
    out.insert("components".into(), Value::Object(components));
    let consumes = doc.get("consumes").and_then(|c| c.get(0)).and_then(Value::as_str).unwrap_or("application/json").to_string();
    let mut paths = Map::new();
    if let Some(Value::Object(ps)) = doc.get("paths") {
        for (p, item) in ps {
            let mut new_item = Map::new();
            let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for (method, op) in item.as_object().into_iter().flatten() {
                let Some(op_map) = op.as_object() else { continue };
                if method == "parameters" {
                    continue;
                }
                let mut new_op = op_map.clone();
                let mut params = Vec::new();
                for prm in shared.iter().chain(op_map.get("parameters").and_then(Value::as_array).into_iter().flatten()) {
                    match prm.get("in").and_then(Value::as_str) {
                        Some("body") => {
                            let schema = prm.get("schema").cloned().unwrap_or(json!({}));
                            new_op.insert(
                                "requestBody".into(),
                                json!({"required": prm.get("required"), "content": {consumes.clone(): {"schema": schema}}}),
                            );
                        }
                        _ => {
                            let mut q = prm.clone();
                            if let Some(qm) = q.as_object_mut() {
                                let mut schema = Map::new();
                                for k in ["type", "format", "enum", "default", "minimum", "maximum", "items"] {
                                    if let Some(v) = qm.remove(k) {
                                        schema.insert(k.into(), v);
                                    }
                                }
                                if !schema.is_empty() {
                                    qm.insert("schema".into(), Value::Object(schema));
                                }
                            }
                            params.push(q);
                        }
                    }
                }
                new_op.insert("parameters".into(), Value::Array(params));
                if let Some(Value::Object(rs)) = op_map.get("responses") {
                    let converted: Map<String, Value> = rs
                        .iter()
                        .map(|(code, r)| {
                            let mut nr = r.as_object().cloned().unwrap_or_default();
                            if let Some(schema) = nr.remove("schema") {
                                let mut media = json!({"schema": schema});
                                if let Some(ex) = nr.get("examples").and_then(|e| e.get("application/json")) {
                                    media["example"] = ex.clone();
                                }
                                nr.insert("content".into(), json!({"application/json": media}));
                            }
                            (code.clone(), Value::Object(nr))
                        })
                        .collect();
                    new_op.insert("responses".into(), Value::Object(converted));
                }
                new_item.insert(method.clone(), Value::Object(new_op));
            }
            paths.insert(p.clone(), Value::Object(new_item));
        }
    }
    out.insert("paths".into(), Value::Object(paths));
    let mut v = Value::Object(out);
    rewrite_refs(&mut v);
    v
}

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(rest) = r.strip_prefix("#/definitions/")
            {
                *r = format!("#/components/schemas/{rest}");
            }
            m.values_mut().for_each(rewrite_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_made_to_match_common_patterns() {
        for (pattern, want) in [
            ("^AC[0-9a-fA-F]{32}$", "AC00000000000000000000000000000000"),
            (r"^\d{3}-\d{4}$", "000-0000"),
            ("^(cus|acct)_[a-z0-9]+$", "cus_a"),
            ("^[A-Z]{2}(?:-[A-Z]+)?$", "AA"),
            ("^x.?y*z+$", "xz"),
        ] {
            assert_eq!(from_pattern(pattern).as_deref(), Some(want), "{pattern}");
        }
        assert_eq!(from_pattern("^[^a]+$"), None);
    }
}
