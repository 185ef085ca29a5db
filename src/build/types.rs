//! Rust types from the spec's JSON Schemas: an object with properties becomes a struct
//! (required fields plain, optional or nullable ones `Option`, unknown fields tolerated), an
//! array a `Vec`, a scalar its Rust type; what one struct cannot say (`oneOf` of several
//! shapes, several types, no schema) stays `serde_json::Value`. Equal schemas share a type.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::names::{doc_line, literal, pascal, snake};

/// Which way a type goes: a request's optional fields are left out when `None`; a
/// response's are kept as `null`, as served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Use {
    Request,
    Response,
}

/// How deep a schema is followed before the rest is `serde_json::Value`.
const MAX_DEPTH: usize = 24;

/// The types of one service, as they are made.
#[derive(Default)]
pub(super) struct Types {
    /// Each struct's source, in the order made.
    items: Vec<String>,
    /// The struct made for a schema, by its use and its text.
    made: HashMap<(Use, String), String>,
    /// Names taken.
    taken: HashSet<String>,
    /// Structs being made: a reference back to one is boxed.
    open: HashSet<String>,
}

impl Types {
    pub(super) fn new() -> Types {
        let taken = ["Option", "Vec", "String", "Box", "Some", "None", "Result", "Ok", "Err"].map(String::from).into_iter().collect();
        Types { taken, ..Types::default() }
    }

    /// The Rust type of `schema` (`$ref`s resolved in `root`), a struct named after `name`
    /// where one is needed; `Option` when the schema allows `null`.
    pub(super) fn type_of(&mut self, schema: &Value, root: &Value, name: &str, usage: Use) -> String {
        let inner = self.inner(schema, root, name, usage, 0);
        if nullable(schema, root) { format!("Option<{inner}>") } else { inner }
    }

    /// A struct of optional fields for a query, each typed by the example's value.
    pub(super) fn query(&mut self, example: &serde_json::Map<String, Value>, name: &str) -> String {
        let name = self.name(name);
        let mut fields = String::new();
        let mut idents = HashSet::new();
        for (key, value) in example {
            let ty = match value {
                Value::String(_) => "String",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_i64() || n.is_u64() => "i64",
                Value::Number(_) => "f64",
                _ => "serde_json::Value",
            };
            let ident = unique(snake(key), &mut idents);
            fields += &format!(
                "    /// `{key}`.\n{}    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n    pub {ident}: Option<{ty}>,\n",
                rename(&ident, key)
            );
        }
        self.items.push(format!(
            "/// The query of a call: each parameter sent when it is `Some`.\n#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]\npub struct {name} {{\n{fields}}}\n"
        ));
        name
    }

    /// Every type made, as the source of `types.rs`'s items.
    pub(super) fn render(&self) -> String {
        self.items.join("\n")
    }

    /// A free name based on `wanted`.
    fn name(&mut self, wanted: &str) -> String {
        let base = pascal(wanted);
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }

    fn inner(&mut self, schema: &Value, root: &Value, name: &str, usage: Use, depth: usize) -> String {
        const ANY: &str = "serde_json::Value";
        if depth > MAX_DEPTH {
            return ANY.into();
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            return match resolve(root, r) {
                Some((target, def)) => self.inner(target, root, def.unwrap_or(name), usage, depth + 1),
                None => ANY.into(),
            };
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(alternatives)) = schema.get(combinator) {
                let shapes: Vec<&Value> = alternatives.iter().filter(|a| !is_null_schema(a)).collect();
                return match shapes[..] {
                    [one] => self.inner(one, root, name, usage, depth + 1),
                    _ => ANY.into(),
                };
            }
        }
        let types = types_of(schema);
        let ty = match types[..] {
            [t] => t,
            [] if schema.get("properties").is_some() => "object",
            [] if schema.get("const").is_some_and(Value::is_string) => "string",
            [] if schema.get("enum").and_then(Value::as_array).is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string)) => "string",
            _ => return ANY.into(),
        };
        match ty {
            "string" => "String".into(),
            "integer" => "i64".into(),
            "number" => "f64".into(),
            "boolean" => "bool".into(),
            "array" => {
                let item = match schema.get("items") {
                    Some(items) if items.is_object() => {
                        let inner = self.inner(items, root, &format!("{name}Item"), usage, depth + 1);
                        if nullable(items, root) { format!("Option<{inner}>") } else { inner }
                    }
                    _ => ANY.into(),
                };
                format!("Vec<{item}>")
            }
            "object" => match schema.get("properties").and_then(Value::as_object) {
                Some(props) if !props.is_empty() => self.object(schema, props, root, name, usage, depth),
                _ => "serde_json::Map<String, serde_json::Value>".into(),
            },
            _ => ANY.into(),
        }
    }

    /// The struct for an object schema with properties.
    fn object(
        &mut self,
        schema: &Value,
        props: &serde_json::Map<String, Value>,
        root: &Value,
        name: &str,
        usage: Use,
        depth: usize,
    ) -> String {
        let key = (usage, schema.to_string());
        if let Some(made) = self.made.get(&key) {
            return if self.open.contains(made) { format!("Box<{made}>") } else { made.clone() };
        }
        let wanted = schema.get("title").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| name.to_string());
        let name = self.name(&wanted);
        self.made.insert(key, name.clone());
        self.open.insert(name.clone());
        let required: HashSet<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let mut idents = HashSet::new();
        let mut fields = String::new();
        for (key, prop) in props {
            let inner = self.inner(prop, root, &format!("{name}_{key}"), usage, depth + 1);
            let optional = !required.contains(key.as_str()) || nullable(prop, root);
            let ident = unique(snake(key), &mut idents);
            let doc = prop.get("description").and_then(Value::as_str).map(doc_line).filter(|d| !d.is_empty());
            fields += &format!("    /// {}\n", doc.unwrap_or_else(|| format!("`{key}`{}.", if optional { "" } else { " (required)" })));
            fields += &rename(&ident, key);
            if optional && usage == Use::Request && !required.contains(key.as_str()) {
                fields += "    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n";
            } else if optional {
                fields += "    #[serde(default)]\n";
            }
            let ty = if optional { format!("Option<{inner}>") } else { inner };
            fields += &format!("    pub {ident}: {ty},\n");
        }
        if usage == Use::Request && schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            let extra = unique("extra".into(), &mut idents);
            fields += &format!(
                "    /// Fields the schema does not name, sent as they are.\n    #[serde(flatten)]\n    pub {extra}: serde_json::Map<String, serde_json::Value>,\n"
            );
        }
        let doc = schema.get("description").and_then(Value::as_str).map(doc_line).filter(|d| !d.is_empty()).unwrap_or_else(|| {
            format!(
                "`{name}`, as its schema says; fields it does not name are {}.",
                match usage {
                    Use::Request => "sent from `extra`",
                    Use::Response => "ignored",
                }
            )
        });
        self.items
            .push(format!("/// {doc}\n#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\npub struct {name} {{\n{fields}}}\n"));
        self.open.remove(&name);
        name
    }
}

/// `ident` or, when taken in this struct, `ident_2`, `ident_3`…
fn unique(ident: String, taken: &mut HashSet<String>) -> String {
    let mut name = ident.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{ident}_{n}");
        n += 1;
    }
    name
}

/// The serde attribute that maps `ident` to the JSON name `key`, when they differ.
fn rename(ident: &str, key: &str) -> String {
    if ident == key { String::new() } else { format!("    #[serde(rename = {})]\n", literal(key)) }
}

/// The schema's types other than `null`.
fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) if t != "null" => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// Whether the schema allows `null`: a `null` type, OpenAPI 3.0's `nullable`, or a `null`
/// alternative (a `$ref` followed).
fn nullable(schema: &Value, root: &Value) -> bool {
    let listed = matches!(schema.get("type"), Some(Value::Array(ts)) if ts.iter().any(|t| t == "null"));
    let alternative =
        ["anyOf", "oneOf"].iter().any(|c| schema.get(*c).and_then(Value::as_array).is_some_and(|alts| alts.iter().any(is_null_schema)));
    let referenced = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
        .is_some_and(|(target, _)| target != schema && nullable_here(target));
    listed || alternative || schema.get("nullable") == Some(&Value::Bool(true)) || referenced
}

fn nullable_here(schema: &Value) -> bool {
    matches!(schema.get("type"), Some(Value::Array(ts)) if ts.iter().any(|t| t == "null"))
        || schema.get("nullable") == Some(&Value::Bool(true))
}

/// The schema a local `$ref` (`#/$defs/user`, `#/definitions/user`, any JSON pointer) points
/// at in `root`, and the definition's name when it names one.
fn resolve<'a>(root: &'a Value, reference: &'a str) -> Option<(&'a Value, Option<&'a str>)> {
    let pointer = reference.strip_prefix('#')?;
    let target = root.pointer(pointer)?;
    Some((target, pointer.rsplit('/').next().filter(|n| !n.is_empty())))
}

/// Each field of the structs in `text` with its type (for tests).
#[cfg(test)]
fn fields(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("pub ").and_then(|l| l.split_once(": ")))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches(',').to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn required_fields_are_plain_and_the_rest_optional() {
        let schema = json!({"type": "object", "title": "Customer", "required": ["id", "user"], "properties": {
            "id": {"type": "string"}, "created": {"type": "integer"}, "type": {"const": "customer"},
            "user": {"type": ["object", "null"], "required": ["login"], "properties": {"login": {"type": "string"}}},
            "tags": {"type": "array", "items": {"type": "string"}}, "meta": {"type": "object"}, "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        }});
        let mut types = Types::new();
        assert_eq!(types.type_of(&schema, &schema, "get_customer_response", Use::Response), "Customer");
        let text = types.render();
        let f = fields(&text);
        assert_eq!(f["id"], "String");
        assert_eq!(f["created"], "Option<i64>");
        assert_eq!(f["type_"], "Option<String>");
        assert_eq!(f["user"], "Option<CustomerUser>");
        assert_eq!(f["login"], "String");
        assert_eq!(f["tags"], "Option<Vec<String>>");
        assert_eq!(f["meta"], "Option<serde_json::Map<String, serde_json::Value>>");
        assert_eq!(f["either"], "Option<serde_json::Value>");
        assert!(text.contains("#[serde(rename = \"type\")]"), "{text}");
        assert!(!text.contains("skip_serializing_if"), "a response keeps its nulls: {text}");
    }

    #[test]
    fn equal_schemas_share_a_type_and_refs_are_followed() {
        let root = json!({"type": "array", "items": {"$ref": "#/$defs/issue"}, "$defs": {"issue": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, "parent": {"anyOf": [{"$ref": "#/$defs/issue"}, {"type": "null"}]}}}}});
        let mut types = Types::new();
        assert_eq!(types.type_of(&root, &root, "list", Use::Response), "Vec<Issue>");
        assert_eq!(fields(&types.render())["parent"], "Option<Box<Issue>>");
        let same = root["$defs"]["issue"].clone();
        assert_eq!(types.type_of(&same, &root, "get", Use::Response), "Issue");
    }

    #[test]
    fn a_request_skips_what_it_does_not_send_and_keeps_what_the_schema_does_not_name() {
        let schema =
            json!({"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}, "name": {"type": "string"}}});
        let mut types = Types::new();
        assert_eq!(types.type_of(&schema, &schema, "create_customer_request", Use::Request), "CreateCustomerRequest");
        let text = types.render();
        assert!(text.contains("skip_serializing_if = \"Option::is_none\")]\n    pub name: Option<String>"), "{text}");
        assert!(text.contains("#[serde(flatten)]\n    pub extra: serde_json::Map<String, serde_json::Value>"), "{text}");
    }
}
