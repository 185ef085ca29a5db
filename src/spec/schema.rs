//! A JSON Schema as a spec holds one: written inline, or a part of a schema file that many
//! endpoints share (`schema_file: schemas/components.json#/$defs/customer`). A shared file is
//! read once per load and compiled once for every part of it the spec names: one validator
//! whose `properties` are those parts (each a `$ref` into the file), an instance checked
//! under its part's key (the file is a registry resource, not copied). `#/…` references
//! inside a part resolve in its file. A shared file is not meta-validated as a whole: what
//! a named part reaches is checked as it compiles, so a broken schema nothing names is no error.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

/// A schema, and the document its `#/…` references resolve in.
#[derive(Clone)]
pub struct Schema {
    doc: Arc<Document>,
    part: usize,
}

/// A schema document: an inline schema, or a schema file and the parts of it a spec names.
struct Document {
    root: Value,
    /// The file as the spec names it (`schemas/components.json`); `None` inline.
    file: Option<String>,
    /// The JSON pointers of the parts named (`""`: the whole document).
    parts: Vec<String>,
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
    digest: OnceLock<String>,
}

/// Where an instance fails its schema, and how.
#[derive(Debug)]
pub struct Violation {
    /// The JSON pointer of the failing value in the instance (`""`: the instance itself).
    pub at: String,
    /// What the schema says of it.
    pub error: jsonschema::ValidationError<'static>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

/// Which side of an endpoint a schema is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The request body's.
    Request,
    /// The success response's.
    Response,
}

impl Side {
    /// `request` or `response`, as the spec's fields are named.
    pub fn name(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }
}

/// The base URI a shared document is registered under while its parts compile.
const BASE: &str = "urn:oc-integrate:schema-file";

impl Schema {
    /// A schema written inline: its own document.
    pub fn inline(schema: Value) -> Schema {
        Schema { doc: Arc::new(Document::new(schema, None, vec![String::new()])), part: 0 }
    }

    /// The parts at `pointers` (each checked to exist by the caller) of the schema file
    /// `root`, as `file` names it: one document for them all, compiled once.
    pub(crate) fn parts(root: Value, file: String, pointers: Vec<String>) -> Vec<Schema> {
        let n = pointers.len();
        let doc = Arc::new(Document::new(root, Some(file), pointers));
        (0..n).map(|part| Schema { doc: doc.clone(), part }).collect()
    }

    /// The part of the same document at `pointer`, when it is one of the parts it was made with.
    pub(crate) fn part(&self, pointer: &str) -> Option<Schema> {
        let part = self.doc.parts.iter().position(|p| p == pointer)?;
        Some(Schema { doc: self.doc.clone(), part })
    }

    /// The schema itself.
    pub fn value(&self) -> &Value {
        pointer(&self.doc.root, &self.doc.parts[self.part]).unwrap_or(&Value::Null)
    }

    /// The document its `#/…` references resolve in (the schema itself when inline).
    pub fn root(&self) -> &Value {
        &self.doc.root
    }

    /// Where it is written: `schemas/components.json#/$defs/customer`, or `None` inline.
    pub fn file(&self) -> Option<String> {
        let pointer = &self.doc.parts[self.part];
        let file = self.doc.file.as_ref()?;
        Some(if pointer.is_empty() { file.clone() } else { format!("{file}#{pointer}") })
    }

    /// Whether the schema compiles; `Err` says why not.
    pub fn check(&self) -> Result<(), String> {
        self.doc.validator().map(|_| ())
    }

    /// Up to `limit` ways `instance` fails the schema (none: it is valid); `Err` when the
    /// schema does not compile.
    pub fn violations(&self, instance: &Value, limit: usize) -> Result<Vec<Violation>, String> {
        let validator = self.doc.validator()?;
        let whole = self.doc.parts.len() == 1 && self.doc.parts[0].is_empty();
        if whole {
            return Ok(validator
                .iter_errors(instance)
                .take(limit)
                .map(|e| Violation { at: e.instance_path().to_string(), error: e.to_owned() })
                .collect());
        }
        // the shared validator checks each part under its key: /<part>/rest → /rest
        let key = self.part.to_string();
        let mut wrapped = Map::new();
        wrapped.insert(key.clone(), instance.clone());
        let wrapped = Value::Object(wrapped);
        let prefix = format!("/{key}");
        Ok(validator
            .iter_errors(&wrapped)
            .take(limit)
            .map(|e| {
                let path = e.instance_path().to_string();
                let at = path.strip_prefix(&prefix).unwrap_or(&path).to_string();
                Violation { at, error: e.to_owned() }
            })
            .collect())
    }

    /// Whether `instance` satisfies the schema (`false` when it does not compile).
    pub fn accepts(&self, instance: &Value) -> bool {
        self.violations(instance, 1).is_ok_and(|v| v.is_empty())
    }
}

impl Document {
    fn new(root: Value, file: Option<String>, parts: Vec<String>) -> Document {
        Document { root, file, parts, compiled: OnceLock::new(), digest: OnceLock::new() }
    }

    fn validator(&self) -> Result<&jsonschema::Validator, String> {
        self.compiled.get_or_init(|| self.compile()).as_ref().map_err(Clone::clone)
    }

    fn compile(&self) -> Result<jsonschema::Validator, String> {
        if self.parts.len() == 1 && self.parts[0].is_empty() {
            return jsonschema::validator_for(&self.root).map_err(|e| e.to_string());
        }
        let registry = jsonschema::Registry::new().add(BASE, &self.root).and_then(|r| r.prepare()).map_err(|e| e.to_string())?;
        let properties: Map<String, Value> =
            self.parts.iter().enumerate().map(|(i, p)| (i.to_string(), json!({"$ref": format!("{BASE}#{}", fragment(p))}))).collect();
        jsonschema::options().with_registry(&registry).build(&json!({"properties": properties})).map_err(|e| e.to_string())
    }

    /// The SHA-256 of the document's JSON, what a part stands for when a spec is hashed.
    fn digest(&self) -> &str {
        use sha2::Digest as _;
        self.digest.get_or_init(|| hex::encode(sha2::Sha256::digest(self.root.to_string().as_bytes())))
    }
}

/// The value at JSON `pointer` in `root`, found as [`Value::pointer`] finds it, without a
/// string made for each token: references are followed for every object of every example a
/// provider's endpoints have, many times over.
pub fn pointer<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    pointer.strip_prefix('/')?.split('/').try_fold(root, |at, token| {
        let token = unescape(token);
        match at {
            Value::Object(m) => m.get(token.as_ref()),
            // an index as serde_json reads one: digits, no sign, no leading zero
            Value::Array(items) if token.bytes().all(|b| b.is_ascii_digit()) && (token.len() == 1 || !token.starts_with('0')) => {
                token.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        }
    })
}

/// `key` as a JSON pointer token: `~` written `~0`, then `/` written `~1`; [`unescape`] reads it back.
///
/// ```
/// use oc_integrate::spec::{escape, unescape};
///
/// assert_eq!(escape("a/b~c"), "a~1b~0c");
/// assert_eq!(unescape(&escape("~1/")), "~1/");
/// ```
pub fn escape(key: &str) -> std::borrow::Cow<'_, str> {
    match key.contains(['~', '/']) {
        true => std::borrow::Cow::Owned(key.replace('~', "~0").replace('/', "~1")),
        false => std::borrow::Cow::Borrowed(key),
    }
}

/// A JSON pointer token read back: `~1` is `/`, `~0` is `~` (in that order, so `~01` is `~1`).
pub fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
    match token.contains('~') {
        true => std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
        false => std::borrow::Cow::Borrowed(token),
    }
}

/// A JSON pointer as a URI fragment: what is not allowed there percent-encoded.
fn fragment(pointer: &str) -> String {
    let mut out = String::new();
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/$!&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.file() {
            Some(file) => write!(f, "Schema({file})"),
            None => write!(f, "Schema({})", self.value()),
        }
    }
}

impl Serialize for Schema {
    /// Inline or a whole file: the schema; a part of a shared file: where it is and the
    /// file's digest (a spec's hash changes with the file).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.file() {
            Some(file) if !self.doc.parts[self.part].is_empty() => json!({"$ref": file, "sha256": self.doc.digest()}).serialize(s),
            _ => self.value().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Schema, D::Error> {
        Value::deserialize(d).map(Schema::inline)
    }
}

impl schemars::JsonSchema for Schema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Value::schema_name()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Value::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pointer is read exactly as serde_json reads one: escapes, indices, empty tokens.
    #[test]
    fn pointers_are_found_as_serde_json_finds_them() {
        let root = json!({"a/b": {"c~d": [1, {"": 2}]}, "": {"": 3}, "0": ["x", "y"], "e": [[5]], "~1": 6});
        let cases = [
            "",
            "/",
            "//",
            "/a~1b",
            "/a~1b/c~0d",
            "/a~1b/c~0d/1",
            "/a~1b/c~0d/1/",
            "/a~1b/c~0d/01",
            "/a~1b/c~0d/+1",
            "/a~1b/c~0d/-1",
            "/a~1b/c~0d/2",
            "/0/1",
            "/0/00",
            "/e/0/0",
            "/e/0/0/",
            "/~01",
            "/~1",
            "/~2",
            "a",
            "/a~1b/c~0d/18446744073709551616",
            "/0/1 ",
        ];
        for p in cases {
            assert_eq!(pointer(&root, p), root.pointer(p), "{p:?}");
        }
    }

    #[test]
    fn parts_of_a_shared_file_resolve_in_it_and_compile_once() {
        let root = json!({"$defs": {
            "customer": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "address": {"$ref": "#/$defs/address"}}},
            "address": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
            "odd name": {"type": "integer"}
        }});
        let parts = Schema::parts(root, "schemas/components.json".into(), vec!["/$defs/customer".into(), "/$defs/odd name".into()]);
        let (customer, odd) = (&parts[0], &parts[1]);
        assert_eq!(customer.file().as_deref(), Some("schemas/components.json#/$defs/customer"));
        assert_eq!(customer.value()["required"], json!(["id"]));
        assert!(customer.root()["$defs"]["address"].is_object());
        assert!(customer.accepts(&json!({"id": "cus_1", "address": {"city": "Paris"}})));
        let v = customer.violations(&json!({"id": 1, "address": {}}), 10).unwrap();
        let mut at: Vec<&str> = v.iter().map(|v| v.at.as_str()).collect();
        at.sort();
        assert_eq!(at, ["/address", "/id"], "{v:?}");
        assert!(odd.accepts(&json!(3)) && !odd.accepts(&json!("3")));
        assert!(std::ptr::eq(customer.root(), odd.root()), "one document for both parts");
        let hashed = serde_json::to_value(customer).unwrap();
        assert_eq!(hashed["$ref"], "schemas/components.json#/$defs/customer");
    }

    #[test]
    fn an_inline_schema_is_its_own_document() {
        let s = Schema::inline(
            json!({"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"type": "string"}}}),
        );
        assert_eq!(s.file(), None);
        assert!(s.accepts(&json!({"a": "x"})));
        assert_eq!(s.violations(&json!({"a": 1}), 5).unwrap()[0].at, "/a");
        assert_eq!(serde_json::to_value(&s).unwrap(), *s.value());
        assert!(Schema::inline(json!({"type": 12})).check().is_err());
    }
}
