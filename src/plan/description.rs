//! A provider's API description read from JSON as the planner needs it. Building
//! `serde_json::Value`s is most of what reading costs, and much of a provider's document is
//! never planned: GitHub's 13 MB carry 600 KB of webhook payloads, and 2.9 MB of schemas of
//! which its operations reach 0.8 MB. So the webhooks (`webhooks`, `x-webhooks`: requests
//! the provider sends, not calls the client makes) are skipped, and each entry of
//! `components.schemas` stays text until a reference in what is built reaches it; one never
//! reached is never built. Everything else is what `serde_json` reads.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// How a reference into the component schemas starts.
const SCHEMAS: &str = "#/components/schemas";

/// The document `text` (JSON) without its webhooks, with only the component schemas that the
/// rest of it reaches, transitively. `Err`: where the text is not JSON and why (`line:col: …`).
pub fn from_json(text: &str) -> Result<Value, String> {
    let Root { mut top, schemas } = serde_json::from_str(text).map_err(|e| error(text, 0, &e))?;
    if let Some(entries) = schemas {
        let reached = reach(&top, &entries, text)?;
        if let Some(Value::Object(components)) = top.get_mut("components") {
            components.insert("schemas".into(), Value::Object(reached));
        }
    }
    Ok(Value::Object(top))
}

/// The entries of `components.schemas` that references in `top` reach, and those they reach in
/// turn, built, in the document's order (a name written twice: its last value, at its first
/// place, as a mapping keeps it).
fn reach(top: &Map<String, Value>, entries: &[(String, &RawValue)], text: &str) -> Result<Map<String, Value>, String> {
    let by_name: HashMap<&str, &RawValue> = entries.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let mut built: HashMap<&str, Value> = HashMap::new();
    let mut wanted = Vec::new();
    let mut all = false;
    references(top.values(), &mut wanted, &mut all);
    loop {
        if std::mem::take(&mut all) {
            wanted.extend(entries.iter().map(|(n, _)| n.clone()));
        }
        let Some(name) = wanted.pop() else { break };
        let Some((&name, raw)) = by_name.get_key_value(name.as_str()) else { continue };
        if built.contains_key(name) {
            continue;
        }
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        let value: Value = serde_json::from_str(raw.get()).map_err(|e| error(text, offset, &e))?;
        references([&value], &mut wanted, &mut all);
        built.insert(name, value);
    }
    Ok(entries.iter().filter_map(|(n, _)| Some((n.clone(), built.remove(n.as_str())?))).collect())
}

/// The component schema names that the strings of `values` reference (`#/components/schemas/<name>…`,
/// its `~1` and `~0` decoded, and as written), added to `wanted`; `all` set when one
/// references them all (`#/components/schemas`, `#/components`, `#`).
fn references<'v>(values: impl IntoIterator<Item = &'v Value>, wanted: &mut Vec<String>, all: &mut bool) {
    let mut stack: Vec<&Value> = values.into_iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.starts_with('#') => match s.strip_prefix(SCHEMAS) {
                Some(rest) if rest.len() > 1 && rest.starts_with('/') => {
                    let written = rest[1..].split('/').next().unwrap_or_default();
                    let decoded = written.replace("~1", "/").replace("~0", "~");
                    if decoded != written {
                        wanted.push(written.to_string());
                    }
                    wanted.push(decoded);
                }
                Some(_) => *all = true,
                None => *all |= matches!(s.as_str(), "#" | "#/" | "#/components" | "#/components/"),
            },
            Value::Array(items) => stack.extend(items),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
}

/// `e`, met reading the part of `text` that starts at byte `offset`, placed in the whole text.
fn error(text: &str, offset: usize, e: &serde_json::Error) -> String {
    let before = &text[..offset];
    let line = before.matches('\n').count() + e.line();
    let col = if e.line() == 1 { before.len() - before.rfind('\n').map_or(0, |i| i + 1) + e.column() } else { e.column() };
    let message = e.to_string();
    let message = message.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&message);
    format!("{line}:{col}: expected JSON, found an error: {message} at line {line} column {col}")
}

/// The document's top level as read: its component schemas aside, as text.
struct Root<'a> {
    top: Map<String, Value>,
    schemas: Option<Vec<(String, &'a RawValue)>>,
}

/// `components`, its `schemas` aside as text (an empty mapping in their place).
struct Components<'a> {
    rest: Map<String, Value>,
    schemas: Option<Vec<(String, &'a RawValue)>>,
}

/// The entries of `components.schemas`, each as text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

/// A visitor for a JSON object, named for what it expects.
struct Expect<T>(&'static str, std::marker::PhantomData<T>);

fn expect<T>(what: &'static str) -> Expect<T> {
    Expect(what, std::marker::PhantomData)
}

impl<'de> Deserialize<'de> for Root<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(expect::<Root<'de>>("an OpenAPI document (a JSON object)"))
    }
}

impl<'de> Visitor<'de> for Expect<Root<'de>> {
    type Value = Root<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Root<'de>, A::Error> {
        let mut root = Root { top: Map::new(), schemas: None };
        while let Some(key) = m.next_key::<String>()? {
            match key.as_str() {
                "webhooks" | "x-webhooks" => {
                    m.next_value::<IgnoredAny>()?;
                }
                "components" => {
                    let Components { rest, schemas } = m.next_value()?;
                    root.schemas = schemas;
                    root.top.insert(key, Value::Object(rest));
                }
                _ => {
                    root.top.insert(key, m.next_value()?);
                }
            }
        }
        Ok(root)
    }
}

impl<'de> Deserialize<'de> for Components<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(expect::<Components<'de>>("components as a mapping"))
    }
}

impl<'de> Visitor<'de> for Expect<Components<'de>> {
    type Value = Components<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Components<'de>, A::Error> {
        let mut c = Components { rest: Map::new(), schemas: None };
        while let Some(key) = m.next_key::<String>()? {
            if key == "schemas" {
                c.schemas = Some(m.next_value::<Entries<'de>>()?.0);
                c.rest.insert(key, Value::Object(Map::new()));
            } else {
                c.rest.insert(key, m.next_value()?);
            }
        }
        Ok(c)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(expect::<Entries<'de>>("components.schemas as a mapping"))
    }
}

impl<'de> Visitor<'de> for Expect<Entries<'de>> {
    type Value = Entries<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = m.next_entry::<String, &'de RawValue>()? {
            entries.push(entry);
        }
        Ok(Entries(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_the_rest_reaches_is_built_and_the_webhooks_are_left_out() {
        let schemas = json!({
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B/properties/x"}}},
            "B": {"properties": {"x": {"$ref": "#/components/schemas/C"}}},
            "Unused": {"type": "object"},
            "C": {"type": "string"},
            "c/d": {"type": "integer"},
            "W": {"$ref": "#/components/schemas/Unused"},
        });
        let doc = |schemas: Value, webhooks: bool| {
            let mut doc = json!({
                "openapi": "3.1.0",
                "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}},
                "webhooks": {"w": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/W"}}}}}}},
                "components": {"parameters": {"p": {"schema": {"$ref": "#/components/schemas/c~1d"}}}, "schemas": schemas, "x": 1},
                "x-webhooks": {"$ref": "#/components/schemas/W"},
            });
            if !webhooks {
                doc.as_object_mut().unwrap().retain(|k, _| !k.ends_with("webhooks"));
            }
            doc
        };
        let read = from_json(&serde_json::to_string_pretty(&doc(schemas.clone(), true)).unwrap()).unwrap();
        let mut reached = schemas.clone();
        reached.as_object_mut().unwrap().retain(|k, _| !["Unused", "W"].contains(&k.as_str()));
        // the same values in the same order
        assert_eq!(read.to_string(), doc(reached, false).to_string());

        // a reference to them all builds them all
        let mut all = doc(schemas.clone(), false);
        all["paths"]["/b"] = json!({"$ref": "#/components/schemas"});
        assert_eq!(from_json(&all.to_string()).unwrap().to_string(), all.to_string());
    }

    #[test]
    fn a_name_written_twice_is_read_as_serde_json_reads_it() {
        let text = r##"{"paths": {"$ref": "#/components/schemas/B"}, "components": {"schemas": {"A": 1, "B": {"$ref": "#/components/schemas/A"}, "Z": 3, "A": 2}}}"##;
        let mut whole: Value = serde_json::from_str(text).unwrap();
        whole["components"]["schemas"].as_object_mut().unwrap().remove("Z");
        assert_eq!(from_json(text).unwrap().to_string(), whole.to_string());
    }

    #[test]
    fn errors_are_placed_in_the_whole_text() {
        let e = serde_json::from_str::<Value>("{\n \"a\": [1,,]}").unwrap_err();
        assert_eq!(from_json("{\n \"a\": [1,,]}").unwrap_err(), format!("2:10: expected JSON, found an error: {e}"));
        // deeper than serde_json goes, inside a schema built later: placed where it is
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let text =
            format!("{{\"paths\": {{\"$ref\": \"#/components/schemas/D\"}},\n\"components\": {{\"schemas\": {{\n  \"D\": {deep}}}}}}}");
        let e = from_json(&text).unwrap_err();
        assert!(e.starts_with("3:135: expected JSON, found an error: recursion limit exceeded at line 3 column 135"), "{e}");
    }
}
