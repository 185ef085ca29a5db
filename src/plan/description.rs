//! A provider's API description read from JSON as the planner needs it. Building
//! `serde_json::Value`s is most of what reading costs, and much of a provider's document is
//! never planned: GitHub's 13 MB carry 600 KB of webhook payloads, and 2.9 MB of schemas of
//! which its operations reach 0.8 MB. So each entry of `components.schemas`, and the webhooks
//! (`webhooks`, `x-webhooks`: requests the provider sends, not calls the client makes), stay
//! text until a reference in what is built reaches them, read as the planner reads a `$ref`;
//! what is never reached is left out. Everything else is what `serde_json` reads. (A part left
//! out is only checked to be JSON: a number out of range or nesting too deep there is no error.)

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// The top-level keys held back as text: the webhooks, requests the provider sends.
const WEBHOOKS: [&str; 2] = ["webhooks", "x-webhooks"];

/// The document `text` (JSON) with only the component schemas and webhooks that the rest of it
/// reaches, transitively. `Err`: where the text is not JSON and why (`line:col: …`).
pub fn from_json(text: &str) -> Result<Value, String> {
    let (wanted, all) = (RefCell::new(Vec::new()), Cell::new(false));
    let noting = Noting { wanted: &wanted, all: &all };
    let mut de = serde_json::Deserializer::from_str(text);
    let Root { mut top, schemas, held } = RootSeed(noting).deserialize(&mut de).map_err(|e| error(text, 0, &e))?;
    de.end().map_err(|e| error(text, 0, &e))?;
    let schemas = schemas.unwrap_or_default();
    let Reached { schemas: reached, mut webhooks } = reach(&schemas, &held, noting, text)?;
    if let Some(Value::Object(components)) = top.get_mut("components")
        && components.contains_key("schemas")
    {
        components.insert("schemas".into(), Value::Object(reached));
    }
    // a webhook reached takes its place, one never reached goes
    for key in WEBHOOKS {
        match webhooks.remove(key) {
            Some(v) => {
                top.insert(key.into(), v);
            }
            None => {
                top.shift_remove(key);
            }
        }
    }
    Ok(Value::Object(top))
}

/// What was held back and is reached, built.
struct Reached {
    /// The component schemas, in the document's order.
    schemas: Map<String, Value>,
    /// The webhooks, by key.
    webhooks: HashMap<&'static str, Value>,
}

/// What is held back as text, by name: a component schema, or a top-level key.
enum Held {
    Schema(String),
    Top(&'static str),
}

/// The entries of `components.schemas` and the top-level values `held` that the references
/// `noting` has noted reach, and those they reach in turn, built: the schemas in the
/// document's order (a name written twice: its last value, at its first place, as a mapping
/// keeps it).
fn reach(entries: &[(String, &RawValue)], held: &[(&'static str, &RawValue)], noting: Noting, text: &str) -> Result<Reached, String> {
    let by_name: HashMap<&str, &RawValue> = entries.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let top: HashMap<&str, &RawValue> = held.iter().map(|(k, r)| (*k, *r)).collect();
    let build = |raw: &RawValue| {
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        noting.deserialize(&mut serde_json::Deserializer::from_str(raw.get())).map_err(|e| error(text, offset, &e))
    };
    let (mut schemas, mut tops): (HashMap<&str, Value>, HashMap<&'static str, Value>) = Default::default();
    loop {
        if noting.all.take() {
            let mut wanted = noting.wanted.borrow_mut();
            wanted.extend(entries.iter().map(|(n, _)| Held::Schema(n.clone())));
            wanted.extend(held.iter().map(|(k, _)| Held::Top(k)));
        }
        let Some(next) = noting.wanted.borrow_mut().pop() else { break };
        match next {
            Held::Schema(name) => {
                if let Some((&name, raw)) = by_name.get_key_value(name.as_str())
                    && !schemas.contains_key(name)
                {
                    let value = build(raw)?;
                    schemas.insert(name, value);
                }
            }
            Held::Top(key) => {
                if let Some(raw) = top.get(key)
                    && !tops.contains_key(key)
                {
                    let value = build(raw)?;
                    tops.insert(key, value);
                }
            }
        }
    }
    let schemas = entries.iter().filter_map(|(n, _)| Some((n.clone(), schemas.remove(n.as_str())?))).collect();
    Ok(Reached { schemas, webhooks: tops })
}

/// Builds a value as `serde_json` does, noting on the way what its strings reference of what is
/// held back: a local `$ref` read as [`Document::pointer`](super::openapi::Document::pointer)
/// reads it (`#/components/schemas/<name>…`, `#/webhooks…`), or all of it (`#`,
/// `#/components`, `#/components/schemas`).
#[derive(Clone, Copy)]
struct Noting<'r> {
    wanted: &'r RefCell<Vec<Held>>,
    all: &'r Cell<bool>,
}

impl Noting<'_> {
    fn note(self, s: &str) {
        let Some((decoded, written)) = super::openapi::pointers(s) else { return };
        self.reaches(&decoded);
        if decoded != written {
            self.reaches(written);
        }
    }

    /// What the JSON pointer `p` reaches, its tokens read as `Value::pointer` reads them.
    fn reaches(self, p: &str) {
        let Some(rest) = p.strip_prefix('/') else {
            // `""` is the whole document; a pointer without its leading `/` reaches nothing
            self.all.set(self.all.get() || p.is_empty());
            return;
        };
        let mut tokens = rest.split('/').map(crate::spec::unescape);
        let (first, second, third) = (tokens.next(), tokens.next(), tokens.next());
        match (first.as_deref(), second.as_deref()) {
            (Some("components"), None) | (Some("components"), Some("schemas")) if third.is_none() => self.all.set(true),
            (Some("components"), Some("schemas")) => self.wanted.borrow_mut().extend(third.map(|t| Held::Schema(t.into_owned()))),
            (Some(key), _) => {
                if let Some(key) = WEBHOOKS.into_iter().find(|k| *k == key) {
                    self.wanted.borrow_mut().push(Held::Top(key));
                }
            }
            _ => {}
        }
    }
}

impl<'de> DeserializeSeed<'de> for Noting<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Noting<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        self.note(s);
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        self.note(&s);
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        // the members gathered first, so the mapping is made as large as it is: grown one
        // insert at a time, a mapping of one member keeps room for three (GitHub's document
        // read took 6 MiB less made this way, and each page is one more the kernel clears)
        let mut members = Vec::new();
        while let Some(key) = m.next_key::<String>()? {
            let value = m.next_value_seed(self)?;
            members.push((key, value));
        }
        let mut map = Map::with_capacity(members.len());
        map.extend(members);
        Ok(Value::Object(map))
    }
}

/// `e`, met reading the part of `text` that starts at byte `offset`, placed in the whole text.
fn error(text: &str, offset: usize, e: &serde_json::Error) -> String {
    let before = &text[..offset];
    let line = before.matches('\n').count() + e.line();
    // serde_json says column 0 for a value it has only peeked at: its first column
    let col = if e.line() == 1 { before.len() - before.rfind('\n').map_or(0, |i| i + 1) + e.column() } else { e.column() }.max(1);
    let message = e.to_string();
    let message = message.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&message);
    // JSON, but not shaped as a description: the top level or `components` not a mapping
    let expected = if e.classify() == serde_json::error::Category::Data { "an OpenAPI description" } else { "JSON" };
    format!("{line}:{col}: expected {expected}, found an error: {message} at line {line} column {col}")
}

/// The document's top level as read: its component schemas aside, as text.
struct Root<'a> {
    top: Map<String, Value>,
    schemas: Option<Entries<'a>>,
    /// The webhooks as text (a placeholder in `top` keeps their place).
    held: Vec<(&'static str, &'a RawValue)>,
}

/// Reads the top level, noting references as it builds.
struct RootSeed<'r>(Noting<'r>);

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = Root<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Root<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = Root<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OpenAPI document (a JSON object)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Root<'de>, A::Error> {
        let mut root = Root { top: Map::new(), schemas: None, held: Vec::new() };
        while let Some(key) = m.next_key::<String>()? {
            if let Some(webhooks) = WEBHOOKS.into_iter().find(|k| *k == key) {
                let raw: &RawValue = m.next_value()?;
                // written twice: the last, as a mapping keeps it
                root.held.retain(|(k, _)| *k != webhooks);
                root.held.push((webhooks, raw));
                root.top.insert(key, Value::Null);
            } else if key == "components" {
                let (rest, schemas) = m.next_value_seed(ComponentsSeed(self.0))?;
                root.schemas = schemas;
                root.top.insert(key, Value::Object(rest));
            } else {
                root.top.insert(key, m.next_value_seed(self.0)?);
            }
        }
        Ok(root)
    }
}

/// Reads `components`: its `schemas` aside as text (an empty mapping in their place), the rest
/// built, noting references.
struct ComponentsSeed<'r>(Noting<'r>);

/// The entries of `components.schemas`, each as text.
type Entries<'a> = Vec<(String, &'a RawValue)>;

impl<'de> DeserializeSeed<'de> for ComponentsSeed<'_> {
    type Value = (Map<String, Value>, Option<Entries<'de>>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ComponentsSeed<'_> {
    type Value = (Map<String, Value>, Option<Entries<'de>>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("components as a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let (mut rest, mut schemas) = (Map::new(), None);
        while let Some(key) = m.next_key::<String>()? {
            if key == "schemas" {
                schemas = Some(m.next_value_seed(EntriesSeed)?);
                rest.insert(key, Value::Object(Map::new()));
            } else {
                rest.insert(key, m.next_value_seed(self.0)?);
            }
        }
        Ok((rest, schemas))
    }
}

/// Reads the entries of `components.schemas`, each as text, in their order.
struct EntriesSeed;

impl<'de> DeserializeSeed<'de> for EntriesSeed {
    type Value = Entries<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entries<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed {
    type Value = Entries<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("components.schemas as a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = m.next_entry::<String, &'de RawValue>()? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::super::openapi::Document;
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
    fn values_are_built_as_serde_json_builds_them() {
        let text = r##"{"paths": {"a": [1.0, -0.0, 18446744073709551615, -9223372036854775808, 1.5e300, 2e-308, true, null, "\u00e9\ud83d\ude00\n",
            {"k": 1, "k": 2, "j": [], "i": {}, "$ref": "#/components/schemas/S"}]}, "components": {"schemas": {"S": {"enum": [0.1, "#/components/schemas/S"]}}}}"##;
        let whole: Value = serde_json::from_str(text).unwrap();
        assert_eq!(from_json(text).unwrap().to_string(), whole.to_string());
    }

    #[test]
    fn every_reference_the_planner_follows_resolves_as_in_the_whole_document() {
        let refs = [
            "#/components/schemas/c~1d",
            "#/components/schemas/a~01",
            "#/components~1schemas/A",
            "#~1components~1schemas~1B",
            "#/components/schemas/E/properties/x",
            "#/webhooks/w/post",
        ];
        let text = json!({
            "openapi": "3.1.0",
            "paths": {"/p": {"get": {"parameters": refs.iter().map(|r| json!({"$ref": r})).collect::<Vec<_>>()}}},
            "components": {"schemas": {
                "c": {"d": {"type": "integer"}}, "c/d": {"type": "string"}, "a/": {"type": "null"},
                "A": {"type": "object"}, "B": {"type": "array"},
                "E": {"properties": {"x": {"$ref": "#/components/schemas/F"}}}, "F": {"type": "boolean"},
                "G": {"type": "number"}, "Unused": {"type": "object"}
            }},
            "webhooks": {"w": {"post": {"$ref": "#/components/schemas/G"}}},
            "x-webhooks": {"v": {"$ref": "#/components/schemas/Unused"}}
        })
        .to_string();
        let whole = Document::new(serde_json::from_str(&text).unwrap()).unwrap();
        let read = Document::new(from_json(&text).unwrap()).unwrap();
        for r in refs.iter().chain(&["#/components/schemas/F", "#/components/schemas/G", "#/components/schemas/c"]) {
            assert!(whole.pointer(r).is_some(), "{r}");
            assert_eq!(read.pointer(r), whole.pointer(r), "{r}");
        }
        // what nothing reaches is still left out
        assert_eq!(read.pointer("#/components/schemas/Unused"), None);
        assert_eq!(read.root.get("x-webhooks"), None);
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
        // JSON that is no description
        let e = from_json("{\"openapi\": \"3.0.0\",\n \"components\": []}").unwrap_err();
        assert_eq!(
            e,
            "2:15: expected an OpenAPI description, found an error: invalid type: sequence, expected components as a mapping at line 2 column 15"
        );
        let e = from_json("[1]").unwrap_err();
        assert!(
            e.starts_with("1:1: expected an OpenAPI description, found an error: invalid type: sequence, expected an OpenAPI document"),
            "{e}"
        );
    }
}
