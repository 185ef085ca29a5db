//! Reading and validating spec files. Every problem becomes a [`SpecError`] that says
//! where (`file:line:col`), at which path, what was expected and what was found.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::yaml::{self, Location, SourceMap};
use super::{Action, Auth, Direction, Field, Method, RECEIVER, RetryPolicy, SENDER, Schema, Side, Spec, StatusMatch};
use crate::text::{clip, fit};
use crate::webhook::Scheme;

/// A spec that cannot be used, with where and why.
#[derive(Debug, Clone, thiserror::Error)]
pub struct SpecError {
    /// The spec file.
    pub file: PathBuf,
    /// Where in the file, when known.
    pub at: Option<Location>,
    /// The path of the offending value (`endpoints[2].method`), empty for the whole file.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(at) = self.at {
            write!(f, ":{}:{}", at.line, at.col)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Rewrite serde's wording into "expected …, found …", in the spec's terms.
pub(crate) fn reword(msg: &str) -> String {
    plain(&serde_wording(msg))
}

/// serde's and Rust's names for what was expected or found, as a spec's author says them.
fn plain(msg: &str) -> String {
    let mut out = msg.to_string();
    for (rust, spec) in [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number of at least 0"),
        ("expected usize", "expected a whole number of at least 0"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a mapping"),
        ("expected variant identifier", "expected a name"),
        ("expected string or map", "expected a name"),
    ] {
        if let Some(rest) = out.strip_prefix(rust).filter(|rest| rest.is_empty() || rest.starts_with(',')) {
            out = format!("{spec}{rest}");
        }
    }
    for (serde, spec) in [("found integer `", "found "), ("found floating point `", "found "), ("found boolean `", "found ")] {
        if let Some(i) = out.find(serde) {
            let tail = &out[i + serde.len()..];
            if let Some(end) = tail.find('`') {
                out = format!("{}{}{}{}", &out[..i], spec, &tail[..end], &tail[end + 1..]);
            }
        }
    }
    out.replace("found sequence", "found a list").replace("found map", "found a mapping").replace("found unit value", "found nothing")
}

/// serde's message shapes as "expected …, found …".
fn serde_wording(msg: &str) -> String {
    // serde appends " at line x column y" for some formats; ours never does, but be safe.
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {}, found {found}", spec_terms(expected));
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {}, found {found}", spec_terms(expected));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {}, found {}", expected.replace('`', ""), found.replace('`', "\""));
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "no other fields"));
        let expected = expected.replace('`', "");
        let found = found.trim_matches('`');
        let hint = expected
            .trim_start_matches("one of ")
            .split(", ")
            .map(|c| (edit_distance(c, found), c))
            .filter(|(d, c)| *d <= 2.max(c.len() / 4))
            .min()
            .map(|(_, c)| format!(" (did you mean \"{c}\"?)"))
            .unwrap_or_default();
        return format!("expected {expected}, found unknown field \"{found}\"{hint}");
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("expected field {}, found none", rest.replace('`', "\""));
    }
    msg.to_string()
}

/// serde's names for an externally tagged enum and for a struct, in the spec's terms.
fn spec_terms(expected: &str) -> String {
    match expected {
        "map with a single key" => "a mapping with one key ({header: NAME} or {body: /pointer})".to_string(),
        e if e.starts_with("struct ") => format!("a mapping ({})", e.trim_start_matches("struct ")),
        e => e.to_string(),
    }
}

/// Levenshtein distance, for "did you mean" hints on misspelt fields.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

struct Ctx<'a> {
    file: &'a Path,
    map: &'a SourceMap,
    /// The files a `schema_file` or `example_file` named and [`spec_file`] found, by the name
    /// written: a provider's spec names the same two files a thousand times.
    found: std::sync::Mutex<std::collections::HashMap<String, PathBuf>>,
}

impl Ctx<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> SpecError {
        let message = fit(&message.into());
        let at = if message.contains("found unknown field") { self.map.locate_key(path) } else { self.map.locate(path) };
        SpecError { file: self.file.to_path_buf(), at: Some(at), path: path.to_string(), message }
    }
}

/// Read and validate one spec file. The service id is the name of its directory.
pub fn load_file(file: &Path) -> Result<Spec, SpecError> {
    load_file_with(file, Written::default())
}

/// What this process has just written and still holds (`oc-integrate plan`, loading the spec it
/// has just written): a spec that names one of these files by `name`, when the file read is
/// still `text` byte for byte, takes its value instead of parsing it again, so a provider's
/// schemas compile once and its examples are parsed once.
#[derive(Default)]
pub(crate) struct Written<'a> {
    /// The shared schema file, and a part of the document compiled from it (its other parts
    /// are reached through it).
    pub(crate) schemas: Option<Held<'a, &'a Schema>>,
    /// The example file, and its JSON.
    pub(crate) examples: Option<Held<'a, Value>>,
}

/// A file as [`Written`] holds it: its name in the spec, its text, and its value.
pub(crate) struct Held<'a, T> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
    pub(crate) value: T,
}

/// [`load_file`], the files `written` holds taken from it instead of read.
pub(crate) fn load_file_with(file: &Path, written: Written) -> Result<Spec, SpecError> {
    let whole = |message: String| SpecError { file: file.to_path_buf(), at: None, path: String::new(), message };
    let bytes = std::fs::read(file).map_err(|e| whole(format!("expected a readable file, found {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let col = good.len() - good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        SpecError {
            file: file.to_path_buf(),
            at: Some(Location { line, col }),
            path: String::new(),
            message: format!(
                "expected UTF-8 text, found an invalid byte (0x{:02x}) at byte offset {}",
                e.as_bytes()[good.len()],
                good.len()
            ),
        }
    })?;
    let (value, map) = yaml::parse(&text).map_err(|e| SpecError {
        file: file.to_path_buf(),
        at: Some(e.at),
        path: String::new(),
        message: fit(&format!("expected valid YAML, found a syntax error: {}", e.message)),
    })?;
    let ctx = Ctx { file, map: &map, found: Default::default() };
    if !value.is_object() {
        return Err(ctx.err("", format!("expected a mapping with name, overview, endpoints, …, found {}", kind(&value))));
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let named = files_named(&value, "schema_file");
    let examples_named = files_named(&value, "example_file");
    let mut spec = std::thread::scope(|scope| {
        // the schema files read and compiled, and the example files read, on other cores while
        // the spec is typed and checked
        let Written { schemas, examples } = written;
        let ahead = (!named.is_empty()).then(|| scope.spawn(|| read_schema_files(&named, &ctx, dir, schemas)));
        let schema_files = || ahead.map(crate::cores::join).unwrap_or_default();
        let examples_ahead = (!examples_named.is_empty()).then(|| scope.spawn(|| read_example_files(&examples_named, &ctx, dir, examples)));
        let typed = typed(&value, &ctx);
        let example_files = examples_ahead.map(crate::cores::join).unwrap_or_default();
        // what is wrong with the examples is said first, as when they were read before typing
        let examples = resolve_examples(&value, &ctx, dir, example_files)?;
        let mut spec = typed?;
        for (i, side, example) in examples {
            let e = &mut spec.endpoints[i];
            match side {
                // as a typed `example: null` is none
                Side::Request => e.request.example = (!example.is_null()).then_some(example),
                Side::Response => e.response.example = example,
            }
        }
        spec.id =
            file.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| spec.name.to_lowercase());
        spec.file = file.to_path_buf();
        validate(&mut spec, &ctx, dir, schema_files)?;
        Ok::<_, SpecError>(spec)
    })?;
    spec.source_map = map.clone();
    Ok(spec)
}

/// The spec `value` typed, examples aside; `Err` says where it is not a spec and why.
fn typed(value: &Value, ctx: &Ctx) -> Result<Spec, SpecError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = reword(&e.inner().to_string());
        let message = names_offered(value, &path, &message).unwrap_or(message);
        let path = refine(value, &path, &message);
        ctx.err(&path, message)
    })
}

/// The value at a serde path (`endpoints[2].method`) in `root`.
fn at_path<'a>(root: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut v = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indices) = part.split_once('[').map(|(k, rest)| (k, format!("[{rest}"))).unwrap_or((part, String::new()));
        if !key.is_empty() {
            v = v.get_mut(key)?;
        }
        for i in indices.split('[').filter(|i| !i.is_empty()) {
            v = v.get_mut(i.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(v)
}

/// For "expected a name" (an enum given something else): the names it takes, asked of serde
/// by putting a name it cannot know in the value's place.
fn names_offered(value: &Value, path: &str, message: &str) -> Option<String> {
    let found = message.strip_prefix("expected a name, found ")?;
    let mut probe = value.clone();
    *at_path(&mut probe, path)? = Value::String("\u{1}".into());
    let e = serde_path_to_error::deserialize::<_, Spec>(&probe).err()?;
    let names = reword(&e.inner().to_string());
    let names = names.strip_prefix("expected ")?.split(", found").next()?.to_string();
    (e.path().to_string() == path).then(|| format!("expected {names}, found {found}"))
}

/// An error serde placed at a whole mapping (an internally tagged one such as
/// `overview.auth` loses the field) placed at the one field whose value is what was found.
fn refine(value: &Value, path: &str, message: &str) -> String {
    let Some(found) = message.split(", found ").nth(1) else { return path.to_string() };
    let mut copy = value.clone();
    let Some(Value::Object(fields)) = at_path(&mut copy, path) else { return path.to_string() };
    let shown = |v: &Value| match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        other => other.to_string(),
    };
    let matching: Vec<&String> = fields.iter().filter(|(_, v)| shown(v) == found).map(|(k, _)| k).collect();
    match matching.as_slice() {
        [one] if !path.is_empty() => format!("{path}.{one}"),
        _ => path.to_string(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "an empty document",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether a spec takes `url` where it wants a URL: absolute http(s) with a host (`http://a b`
/// is not one). The planner writes only such URLs.
///
/// ```
/// use oc_integrate::spec::is_http_url;
/// assert!(is_http_url("https://api.stripe.com/v1"));
/// assert!(!is_http_url("http://a b") && !is_http_url("/oauth/token") && !is_http_url("ftp://x.com"));
/// ```
pub fn is_http_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn check_url(ctx: &Ctx, path: &str, url: &str) -> Result<(), SpecError> {
    if is_http_url(url) { Ok(()) } else { Err(ctx.err(path, format!("expected an absolute http(s) URL, found {url:?}"))) }
}

/// Where an endpoint's example is written, and what it is called in a message: the example
/// at `{p}.{side}.example`, or one read from a file, at the `example_file` line that names it.
fn example_at(p: &str, side: &str, file: &Option<String>, what: &str) -> (String, String) {
    match file {
        Some(f) => (format!("{p}.{side}.example_file"), format!("{what} ({})", clip(f))),
        None if side == "request" => (format!("{p}.request.example.body"), what.to_string()),
        None => (format!("{p}.{side}.example"), what.to_string()),
    }
}

/// `instance` checked against `schema` (written at `at`): the first way it fails, located at
/// `path`; a schema that does not compile is an error at `at`.
fn check_against(ctx: &Ctx, at: &str, schema: &Schema, path: &str, instance: &Value, what: &str) -> Result<(), SpecError> {
    let compiled = |e: String| match schema.file() {
        Some(f) => ctx.err(at, format!("expected a valid JSON Schema in {f}, found an error: {e}")),
        None => ctx.err(at, format!("expected a valid JSON Schema, found an error: {e}")),
    };
    if let Some(v) = schema.violations(instance, 1).map_err(compiled)?.first() {
        let found = if v.at.is_empty() { "the root".to_string() } else { v.at.clone() };
        return Err(ctx.err(path, format!("expected {what} to satisfy its schema, found at {found}: {v}")));
    }
    Ok(())
}

/// The schema files a spec's endpoints name, each by its confined path: its parts in the order
/// the endpoints first name them (compiled together), or why it cannot be read.
type SchemaFiles = Vec<(PathBuf, Result<(Vec<String>, Vec<Schema>), SpecError>)>;

/// Every `field` (`schema_file` or `example_file`) of the spec as written (where, and what it
/// says), before it is typed.
fn files_named(value: &Value, field: &str) -> Vec<(String, String)> {
    let endpoints = value.get("endpoints").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut named = Vec::new();
    for (i, e) in endpoints.iter().enumerate() {
        for side in [Side::Request, Side::Response] {
            if let Some(f) = e.get(side.name()).and_then(|s| s.get(field)).and_then(Value::as_str) {
                named.push((format!("endpoints[{i}].{}.{field}", side.name()), f.to_string()));
            }
        }
    }
    named
}

/// The files `named` read, and each compiled once for every part of it named: the slow part of
/// loading a provider's spec, done on another core while the rest of the spec is typed and
/// checked (or taken from `compiled`, when a file is its text). What goes wrong is kept for
/// [`resolve_schemas`] to say in its turn (a read error located at the first endpoint naming
/// the file; a compile error where an example is checked).
fn read_schema_files(named: &[(String, String)], ctx: &Ctx, dir: &Path, compiled: Option<Held<&Schema>>) -> SchemaFiles {
    // each file: its name as first written, what it holds (or why not), the parts named in it
    type Named<'n> = (&'n str, Result<Source, SpecError>, Vec<String>);
    let mut files: Vec<(PathBuf, Named)> = Vec::new();
    for (at, reference) in named {
        let read = |name, path: &Path| (name, read_source(ctx, at, path, name, compiled.as_ref()), Vec::new());
        let Ok((k, _, pointer)) = read_once(ctx, at, dir, reference, &mut files, read) else {
            continue; // a path out of the spec's tree: said in its turn
        };
        let pointers = &mut files[k].1.2;
        if !pointers.iter().any(|p| p == pointer) {
            pointers.push(pointer.to_string());
        }
    }
    let compile = |(path, (name, source, pointers)): (PathBuf, Named)| {
        let parts = source.map(|source| {
            let root = match source {
                Source::Json(root) => root,
                Source::Compiled(schema) => match pointers.iter().map(|p| schema.part(p)).collect::<Option<Vec<_>>>() {
                    Some(parts) => return (pointers, parts),
                    None => schema.root().clone(), // a part it was not compiled for: all compiled afresh
                },
            };
            let parts = Schema::parts(root, name.to_string(), pointers.clone());
            // compiled now, on this core; a schema that does not compile says so when it is used
            let _ = parts.first().map(Schema::check);
            (pointers, parts)
        });
        (path, parts)
    };
    files.into_iter().map(compile).collect()
}

/// A schema file as read: its JSON, or the document already compiled from its very text.
enum Source {
    Json(Value),
    Compiled(Schema),
}

/// The schema file at `path` (`name` in the spec, named first at `at`): `compiled`'s document
/// when the file is its text and that compiles, else the file's JSON.
fn read_source(ctx: &Ctx, at: &str, path: &Path, name: &str, compiled: Option<&Held<&Schema>>) -> Result<Source, SpecError> {
    let text = read_text(ctx, at, path)?;
    match compiled {
        Some(c) if c.name == name && c.text == text && c.value.check().is_ok() => Ok(Source::Compiled(c.value.clone())),
        _ => parse_json(ctx, at, path, &text).map(Source::Json),
    }
}

/// Every endpoint's `schema` / `schema_file` made a [`Schema`]: a part of a file of `files`
/// (a located error for a pointer to nothing), equal inline schemas sharing one document.
fn resolve_schemas(spec: &mut Spec, ctx: &Ctx, dir: &Path, files: SchemaFiles) -> Result<(), SpecError> {
    let mut inline: std::collections::HashMap<String, Schema> = std::collections::HashMap::new();
    for (i, e) in spec.endpoints.iter_mut().enumerate() {
        for side in [Side::Request, Side::Response] {
            let (schema, file) = match side {
                Side::Request => (&mut e.request.schema, &e.request.schema_file),
                Side::Response => (&mut e.response.schema, &e.response.schema_file),
            };
            let at = format!("endpoints[{i}].{}.schema_file", side.name());
            match (schema.as_ref(), file) {
                (Some(_), Some(_)) => return Err(ctx.err(&at, "expected either schema or schema_file, found both")),
                (Some(s), None) => {
                    let shared = inline.entry(s.value().to_string()).or_insert_with(|| s.clone());
                    *schema = Some(shared.clone());
                }
                (None, Some(f)) => {
                    let (name, pointer) = f.split_once('#').unwrap_or((f, ""));
                    let path = spec_file(ctx, &at, dir, name)?;
                    let not_read =
                        || ctx.err(&at, format!("expected {name} read with the spec, found it was not (a loader bug, please report it)"));
                    let (pointers, parts) =
                        files.iter().find(|(p, _)| *p == path).ok_or_else(not_read)?.1.as_ref().map_err(Clone::clone)?;
                    let root = parts.first().map(Schema::root).ok_or_else(not_read)?;
                    check_pointer(ctx, &at, name, root, pointer)?;
                    let part = pointers.iter().zip(parts).find(|(p, _)| *p == pointer).ok_or_else(not_read)?.1;
                    *schema = Some(part.clone());
                }
                (None, None) => {}
            }
        }
    }
    Ok(())
}

/// The example files a spec names and their JSON (or why not), each read once.
type ExampleFiles = Vec<(PathBuf, Result<Value, SpecError>)>;

/// The files `named` read, on another core while the spec is typed. What goes wrong is kept
/// for [`resolve_examples`] to say in its turn (located at the first endpoint naming the file).
fn read_example_files(named: &[(String, String)], ctx: &Ctx, dir: &Path, mut held: Option<Held<Value>>) -> ExampleFiles {
    let mut files = Vec::new();
    for (at, reference) in named {
        let read = |name: &str, path: &Path| {
            let text = read_text(ctx, at, path)?;
            match held.take_if(|h| h.name == name && h.text == text) {
                Some(h) => Ok(h.value),
                None => parse_json(ctx, at, path, &text),
            }
        };
        // a path out of the spec's tree: said in its turn
        let _ = read_once(ctx, at, dir, reference, &mut files, read);
    }
    files
}

/// Every endpoint's `example_file` found in `files` (read ahead by [`read_example_files`]):
/// the example, by endpoint and side, for the typed spec; a located error for a pointer to
/// nothing. A response needs one of the two, a request may have neither.
fn resolve_examples(value: &Value, ctx: &Ctx, dir: &Path, mut files: ExampleFiles) -> Result<Vec<(usize, Side, Value)>, SpecError> {
    let Some(endpoints) = value.get("endpoints").and_then(Value::as_array) else { return Ok(Vec::new()) };
    // where each example is: its file (by index) and pointer
    let mut found: Vec<(usize, Side, usize, &str)> = Vec::new();
    for (i, e) in endpoints.iter().enumerate() {
        for side in [Side::Request, Side::Response] {
            let Some(m) = e.get(side.name()).and_then(Value::as_object) else { continue };
            let at = format!("endpoints[{i}].{}", side.name());
            let file = match m.get("example_file") {
                None if side == Side::Response && !m.contains_key("example") => {
                    return Err(ctx.err(&at, "expected example or example_file, found neither"));
                }
                None => continue,
                Some(_) if m.contains_key("example") => {
                    return Err(ctx.err(&format!("{at}.example_file"), "expected either example or example_file, found both"));
                }
                Some(Value::String(f)) => f,
                Some(_) => continue, // not text: typing the spec says so
            };
            let at = format!("{at}.example_file");
            let (k, name, pointer) = read_once(ctx, &at, dir, file, &mut files, |_, path| read_json(ctx, &at, path))?;
            let root = files[k].1.as_ref().map_err(Clone::clone)?;
            find_pointer(ctx, &at, name, root, pointer, "an example")?;
            found.push((i, side, k, pointer));
        }
    }
    // an example named once, with no other named inside it or around it, is moved out of its
    // file (a provider's examples are megabytes); any other is copied
    let mut named: HashMap<(usize, &str), usize> = HashMap::new();
    let mut around: HashSet<(usize, &str)> = HashSet::new();
    for &(_, _, k, pointer) in &found {
        *named.entry((k, pointer)).or_default() += 1;
        around.extend(pointer.match_indices('/').map(|(end, _)| (k, &pointer[..end])));
    }
    let alone = |k: usize, p: &str| {
        named[&(k, p)] == 1 && !around.contains(&(k, p)) && !p.match_indices('/').any(|(end, _)| named.contains_key(&(k, &p[..end])))
    };
    // so taking one changes none of the others
    let mut examples = Vec::with_capacity(found.len());
    for &(i, side, k, p) in &found {
        let example = match (alone(k, p), &mut files[k].1) {
            (true, Ok(root)) => root.pointer_mut(p).map(std::mem::take),
            (false, Ok(root)) => root.pointer(p).cloned(),
            (_, Err(_)) => None,
        };
        examples.push((i, side, example.unwrap_or_default()));
    }
    Ok(examples)
}

/// The file a `schema_file` or `example_file` (`reference`, `name#pointer`, written at `at`)
/// names, read once per load: its index in `files` (`read` makes its entry the first time, from
/// its name and path), its name and the pointer.
fn read_once<'r, T>(
    ctx: &Ctx,
    at: &str,
    dir: &Path,
    reference: &'r str,
    files: &mut Vec<(PathBuf, T)>,
    read: impl FnOnce(&'r str, &Path) -> T,
) -> Result<(usize, &'r str, &'r str), SpecError> {
    let (name, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    let path = spec_file(ctx, at, dir, name)?;
    if let Some(k) = files.iter().position(|(p, _)| *p == path) {
        return Ok((k, name, pointer));
    }
    let entry = read(name, &path);
    files.push((path, entry));
    Ok((files.len() - 1, name, pointer))
}

/// The text of a schema or example file (`at` names the spec field that names it).
fn read_text(ctx: &Ctx, at: &str, path: &Path) -> Result<String, SpecError> {
    std::fs::read_to_string(path).map_err(|e| ctx.err(at, format!("expected a readable file at {}, found {e}", path.display())))
}

/// The JSON of an example file.
fn read_json(ctx: &Ctx, at: &str, path: &Path) -> Result<Value, SpecError> {
    read_text(ctx, at, path).and_then(|text| parse_json(ctx, at, path, &text))
}

/// The JSON of a schema or example file's `text`.
fn parse_json(ctx: &Ctx, at: &str, path: &Path, text: &str) -> Result<Value, SpecError> {
    serde_json::from_str(text)
        .map_err(|e| ctx.err(at, format!("expected JSON in {}, found an error at {}:{}: {e}", path.display(), e.line(), e.column())))
}

/// `pointer` (a `schema_file`'s fragment) names a schema in `root`, the file `name`.
fn check_pointer(ctx: &Ctx, at: &str, name: &str, root: &Value, pointer: &str) -> Result<(), SpecError> {
    match find_pointer(ctx, at, name, root, pointer, "a schema")? {
        Value::Object(_) | Value::Bool(_) => Ok(()),
        other => Err(ctx.err(at, format!("expected a schema (an object) at #{} in {name}, found {}", clip(pointer), kind(other)))),
    }
}

/// What `pointer` (a `schema_file`'s or `example_file`'s fragment, `what` it should name)
/// names in `root`, the file `name`.
fn find_pointer<'a>(ctx: &Ctx, at: &str, name: &str, root: &'a Value, pointer: &str, what: &str) -> Result<&'a Value, SpecError> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(ctx.err(at, format!("expected a JSON pointer after # (#/$defs/name), found #{}", clip(pointer))));
    }
    match root.pointer(pointer) {
        Some(v) => Ok(v),
        None => {
            // the deepest part that exists, and its keys nearest the first missing one
            let mut parent = String::new();
            let mut missing = "";
            for segment in pointer.split('/').skip(1) {
                let next = format!("{parent}/{segment}");
                if root.pointer(&next).is_none() {
                    missing = segment;
                    break;
                }
                parent = next;
            }
            let hint = root
                .pointer(&parent)
                .and_then(Value::as_object)
                .and_then(|m| {
                    let wanted = super::unescape(missing);
                    m.keys().map(|k| (edit_distance(k, &wanted), k)).filter(|(d, k)| *d <= 2.max(k.len() / 4)).min()
                })
                .map(|(_, k)| format!(" (did you mean #{parent}/{}?)", super::escape(k)))
                .unwrap_or_default();
            Err(ctx.err(at, format!("expected {what} at #{} in {name}, found nothing there{hint}", clip(pointer))))
        }
    }
}

fn validate(spec: &mut Spec, ctx: &Ctx, dir: &Path, schema_files: impl FnOnce() -> SchemaFiles) -> Result<(), SpecError> {
    if !is_ident(&spec.id) {
        return Err(SpecError {
            file: ctx.file.to_path_buf(),
            at: None,
            path: String::new(),
            message: fit(&format!(
                "expected the spec's directory to be named like a service id (lowercase letters, digits, _), found {:?}",
                spec.id
            )),
        });
    }
    check_url(ctx, "overview.base_url", &spec.overview.base_url)?;
    if let Some(s) = &spec.overview.sandbox_url {
        check_url(ctx, "overview.sandbox_url", s)?;
    }
    if let Auth::Oauth2 { token_url, .. } = &spec.overview.auth {
        check_url(ctx, "overview.auth.token_url", token_url)?;
    }
    if spec.endpoints.is_empty() && spec.webhooks.is_empty() {
        return Err(ctx.err("endpoints", "expected at least one endpoint (or a webhooks section), found none"));
    }
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, e) in spec.endpoints.iter().enumerate() {
        let p = format!("endpoints[{i}]");
        if !is_ident(&e.id) {
            return Err(ctx.err(&format!("{p}.id"), format!("expected a lowercase identifier (letters, digits, _), found {:?}", e.id)));
        }
        if let Some(j) = first.insert(&e.id, i) {
            return Err(ctx.err(&format!("{p}.id"), format!("expected a unique id, found {:?} again (first at endpoints[{j}])", e.id)));
        }
        if e.id == RECEIVER || e.id == SENDER {
            return Err(ctx.err(&format!("{p}.id"), format!("expected an id other than {:?}, which names the webhook cases", e.id)));
        }
        if !e.path.starts_with('/') {
            return Err(ctx.err(&format!("{p}.path"), format!("expected a path starting with '/', found {:?}", e.path)));
        }
        let concrete = e.concrete_path();
        if let Some(start) = concrete.find('{') {
            let name = concrete[start..].split('}').next().unwrap_or("").trim_start_matches('{');
            return Err(ctx.err(&format!("{p}.request.example"), format!("expected params.{name} for the path {:?}, found none", e.path)));
        }
        if let Some(ex) = &e.request.example {
            let ok = ex.as_object().is_some_and(|o| o.keys().all(|k| matches!(k.as_str(), "params" | "query" | "body")));
            if !ok {
                return Err(
                    ctx.err(&format!("{p}.request.example"), format!("expected a mapping with params, query and/or body, found {ex}"))
                );
            }
        }
        if e.idempotent == Some(true) && e.method == Method::POST && e.idempotency_header.is_none() {
            return Err(
                ctx.err(&format!("{p}.idempotent"), format!("expected an idempotency_header for an idempotent {}, found none", e.method))
            );
        }
        if !(200..300).contains(&e.response.status) {
            return Err(ctx.err(&format!("{p}.response.status"), format!("expected a 2xx success status, found {}", e.response.status)));
        }
    }
    resolve_schemas(spec, ctx, dir, schema_files())?;
    let numbered: Vec<_> = spec.endpoints.iter().enumerate().collect();
    // every example against its schema, a provider's worth on every core; the first error in spec order
    let examples = crate::cores::map(&numbered, |&(i, e)| {
        let p = format!("endpoints[{i}]");
        let written = |side: &str, f: &Option<String>| format!("{p}.{side}.{}", if f.is_some() { "schema_file" } else { "schema" });
        if let (Some(schema), Some(body)) = (&e.request.schema, e.request_body()) {
            let at = written("request", &e.request.schema_file);
            let (path, what) = example_at(&p, "request", &e.request.example_file, "the request example body");
            check_against(ctx, &at, schema, &path, body, &what)?;
        }
        if let Some(schema) = &e.response.schema {
            let at = written("response", &e.response.schema_file);
            let (path, what) = example_at(&p, "response", &e.response.example_file, "the response example");
            check_against(ctx, &at, schema, &path, &e.response.example, &what)?;
        }
        Ok(())
    });
    for ((i, e), examples) in numbered.into_iter().zip(examples) {
        examples?;
        if let Some(pg) = &e.pagination {
            let at = format!("endpoints[{i}].pagination");
            if e.method != Method::GET {
                return Err(ctx.err(&format!("{at}.style"), format!("expected pagination on a GET endpoint, found it on a {}", e.method)));
            }
            if let crate::spec::Pagination::Cursor { param, .. } | crate::spec::Pagination::Page { param, .. } = pg
                && (param.is_empty() || param.contains(['&', '=', '#', ' ']))
            {
                return Err(ctx.err(&format!("{at}.param"), format!("expected a query parameter name, found {param:?}")));
            }
            if let Some((field, problem)) = pg.problem(&e.response.example) {
                return Err(ctx.err(&format!("{at}.{field}"), problem));
            }
        }
    }
    check_retry(ctx, "retry", &spec.retry)?;
    if !(1..=HOUR_MS).contains(&spec.timeouts.request_ms) {
        return Err(ctx.err(
            "timeouts.request_ms",
            format!("expected a budget from 1 to {HOUR_MS} ms (an hour), found {}", spec.timeouts.request_ms),
        ));
    }
    let t = &spec.test_profile;
    if !(super::MIN_TIME_SCALE..=1.0).contains(&t.time_scale) {
        return Err(ctx.err(
            "test_profile.time_scale",
            format!(
                "expected a factor from {} to 1 (a finer scale asks for waits no timer can keep), found {}",
                super::MIN_TIME_SCALE,
                t.time_scale
            ),
        ));
    }
    if !(1..=3600).contains(&t.retry_after_s) {
        return Err(ctx.err("test_profile.retry_after_s", format!("expected 1 to 3600 seconds, found {}", t.retry_after_s)));
    }
    for (i, rule) in spec.error_handling.iter().enumerate() {
        let p = format!("error_handling[{i}]");
        if rule.action == Action::RefreshAndRetryOnce && !matches!(spec.overview.auth, Auth::Oauth2 { .. }) {
            return Err(
                ctx.err(&format!("{p}.action"), "expected overview.auth.kind oauth2 for refresh_and_retry_once, found no token endpoint")
            );
        }
        if !rule.when.is_empty() && !matches!(rule.status, StatusMatch::Code(_)) {
            return Err(ctx.err(&format!("{p}.when"), format!("expected one status on a row with `when`, found the class {}", rule.status)));
        }
        for (name, value) in &rule.when {
            if !is_header_name(name) || value.trim().is_empty() {
                return Err(ctx.err(
                    &format!("{p}.when.{name}"),
                    format!("expected a header name and a value (\"*\" for any), found {name:?}: {value:?}"),
                ));
            }
        }
        if let Some(r) = &rule.reset {
            if rule.action != Action::RespectRetryAfter {
                return Err(ctx.err(
                    &format!("{p}.reset"),
                    format!("expected a reset header only on a respect_retry_after row, found {}", rule.action.name()),
                ));
            }
            if !is_header_name(&r.header) {
                return Err(ctx.err(&format!("{p}.reset.header"), format!("expected a header name, found {:?}", r.header)));
            }
        }
        if let Some(f) = rule.delay_factor
            && (rule.action != Action::RetryWithLongerDelays || f <= 1.0 || f > 100.0)
        {
            return Err(ctx.err(
                &format!("{p}.delay_factor"),
                format!("expected a factor above 1 and at most 100 on a retry_with_longer_delays row, found {f}"),
            ));
        }
    }
    for (i, s) in spec.secrets.iter().enumerate() {
        if let Some(at) = &s.rotated_at
            && crate::text::parse_rfc3339(at).is_none()
        {
            return Err(ctx.err(
                &format!("secrets[{i}].rotated_at"),
                format!("expected an RFC 3339 date (2026-01-15) or date-time (2026-01-15T09:30:00Z), found {at:?}"),
            ));
        }
    }
    check_webhooks(spec, ctx)?;
    check_sandbox(spec, ctx)?;
    check_health(spec, ctx)
}

/// The largest schema or example file a spec may name.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// `file` (a spec's `schema_file` or `example_file`) under `dir`: a relative path that stays
/// in the spec's directory tree, to a regular file of at most [`MAX_FILE`] bytes (never a device,
/// a FIFO, or a link out of the tree). Found once per load.
fn spec_file(ctx: &Ctx, at: &str, dir: &Path, file: &str) -> Result<PathBuf, SpecError> {
    let found = || ctx.found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = found().get(file) {
        return Ok(path.clone());
    }
    let path = find_spec_file(ctx, at, dir, file)?;
    found().insert(file.to_string(), path.clone());
    Ok(path)
}

fn find_spec_file(ctx: &Ctx, at: &str, dir: &Path, file: &str) -> Result<PathBuf, SpecError> {
    let relative = Path::new(file);
    let escapes = relative.components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if file.is_empty() || escapes {
        return Err(ctx.err(at, format!("expected a path inside the spec's directory (relative, without ..), found {:?}", clip(file))));
    }
    let path = dir.join(relative);
    let meta = std::fs::metadata(&path).map_err(|e| ctx.err(at, format!("expected a readable file at {}, found {e}", path.display())))?;
    if !meta.is_file() {
        return Err(ctx.err(at, format!("expected a regular file at {}, found a directory, device or FIFO", path.display())));
    }
    if meta.len() > MAX_FILE {
        return Err(ctx.err(at, format!("expected a file of at most {MAX_FILE} bytes, found {} at {}", meta.len(), path.display())));
    }
    let inside = |p: &Path| std::fs::canonicalize(p).ok();
    if let (Some(real), Some(root)) = (inside(&path), inside(dir))
        && !real.starts_with(&root)
    {
        return Err(ctx.err(at, format!("expected a file inside the spec's directory, found a link to {}", real.display())));
    }
    Ok(path)
}

/// The longest wait or budget a policy may declare: an hour (a run must be able to honour it).
const HOUR_MS: u64 = 3_600_000;

fn check_retry(ctx: &Ctx, p: &str, r: &RetryPolicy) -> Result<(), SpecError> {
    if !(1..=10).contains(&r.max_attempts) {
        return Err(ctx.err(&format!("{p}.max_attempts"), format!("expected 1 to 10 attempts, found {}", r.max_attempts)));
    }
    if r.max_attempts > 1 && r.base_delay_ms == 0 {
        return Err(ctx.err(&format!("{p}.base_delay_ms"), "expected a positive delay when retries are allowed, found 0"));
    }
    if !(1.0..=100.0).contains(&r.multiplier) {
        return Err(ctx.err(&format!("{p}.multiplier"), format!("expected a multiplier from 1 to 100, found {}", r.multiplier)));
    }
    for (field, v) in [("base_delay_ms", r.base_delay_ms), ("max_delay_ms", r.max_delay_ms), ("jitter_ms", r.jitter_ms)] {
        if v > HOUR_MS {
            return Err(ctx.err(&format!("{p}.{field}"), format!("expected at most {HOUR_MS} ms (an hour), found {v}")));
        }
    }
    if r.max_delay_ms < r.base_delay_ms {
        return Err(ctx.err(
            &format!("{p}.max_delay_ms"),
            format!("expected at least base_delay_ms ({}), found {}", r.base_delay_ms, r.max_delay_ms),
        ));
    }
    Ok(())
}

const TEN_YEARS: u64 = 315_360_000;

/// The webhook section: paths, secrets that exist, JSON schemes, payloads the harness can send.
fn check_webhooks(spec: &Spec, ctx: &Ctx) -> Result<(), SpecError> {
    let secret = |p: &str, name: &str| {
        if spec.secrets.iter().any(|s| s.name == name) {
            Ok(())
        } else {
            let known: Vec<&str> = spec.secrets.iter().map(|s| s.name.as_str()).collect();
            Err(ctx.err(
                &format!("{p}.secret"),
                format!("expected the name of a row in secrets ({}), found {name:?}", crate::text::hints(&known)),
            ))
        }
    };
    let json_scheme = |p: &str, scheme: Scheme| {
        if scheme == Scheme::Twilio {
            Err(ctx.err(
                &format!("{p}.scheme"),
                "expected a scheme that signs a JSON body, found twilio (Twilio posts form fields; its cases are not generated yet: use `oc-integrate webhook verify` in a test of your own)",
            ))
        } else {
            Ok(())
        }
    };
    let path = |p: &str, path: &str| {
        if path.starts_with('/') && !path.contains(['?', '#', ' ']) {
            Ok(())
        } else {
            Err(ctx.err(&format!("{p}.path"), format!("expected a path starting with '/', without query or fragment, found {path:?}")))
        }
    };
    let object = |p: &str, v: &Value| {
        if v.is_object() { Ok(()) } else { Err(ctx.err(p, format!("expected a JSON object payload, found {v}"))) }
    };
    let pointer = |p: &str, f: &Field| match f {
        Field::Body(ptr) if !ptr.starts_with('/') => Err(ctx.err(p, format!("expected a JSON pointer such as /id, found {ptr:?}"))),
        Field::Header(h) if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            Err(ctx.err(p, format!("expected a header name, found {h:?}")))
        }
        _ => Ok(()),
    };
    if let Some(r) = &spec.webhooks.receiver {
        let p = "webhooks.receiver";
        if spec.overview.direction == Direction::Outbound {
            return Err(ctx.err("overview.direction", "expected inbound or both for a spec with webhooks.receiver, found outbound"));
        }
        json_scheme(p, r.scheme)?;
        path(p, &r.path)?;
        secret(p, &r.secret)?;
        if r.events.is_empty() {
            return Err(ctx.err(&format!("{p}.events"), "expected at least one event type, found none"));
        }
        for (i, e) in r.events.iter().enumerate() {
            object(&format!("{p}.events[{i}].example"), &e.example)?;
            if e.kind.trim().is_empty() {
                return Err(ctx.err(&format!("{p}.events[{i}].type"), "expected an event type, found an empty one"));
            }
            // the harness sends each example spaced out; the oversized case pads past the limit
            let size = serde_json::to_string_pretty(&e.example).map(|t| t.len() * 2 + 512).unwrap_or_default() as u64;
            if size > r.max_body_bytes {
                return Err(ctx.err(
                    &format!("{p}.max_body_bytes"),
                    format!("expected room for the example deliveries (about {size} bytes for events[{i}]), found {}", r.max_body_bytes),
                ));
            }
            if let Some(j) = r.events[..i].iter().position(|o| o.kind == e.kind) {
                return Err(ctx.err(
                    &format!("{p}.events[{i}].type"),
                    format!("expected a unique type, found {:?} again (first at events[{j}])", e.kind),
                ));
            }
        }
        if let Some(k) = &r.idempotency.key {
            pointer(&format!("{p}.idempotency.key"), k)?;
        }
        if let Some(t) = &r.event_type {
            pointer(&format!("{p}.event_type"), t)?;
        }
        if let Some(t) = r.tolerance_s {
            if r.scheme.tolerance().is_none() {
                return Err(
                    ctx.err(&format!("{p}.tolerance_s"), format!("expected no tolerance_s: {} signs no timestamp, found {t}", r.scheme))
                );
            }
            if !(1..=86_400).contains(&t) {
                return Err(ctx.err(&format!("{p}.tolerance_s"), format!("expected 1 to 86400 seconds, found {t}")));
            }
        }
        if !(60..=TEN_YEARS).contains(&r.idempotency.ttl_s) {
            return Err(ctx.err(
                &format!("{p}.idempotency.ttl_s"),
                format!("expected 60 s to 10 years ({TEN_YEARS} s), found {}", r.idempotency.ttl_s),
            ));
        }
        if let Some(t) = r.tolerance()
            && r.idempotency.ttl_s <= t as u64
        {
            return Err(ctx.err(
                &format!("{p}.idempotency.ttl_s"),
                format!(
                    "expected a TTL longer than the signature tolerance ({t} s), found {} s: a replay could pass both",
                    r.idempotency.ttl_s
                ),
            ));
        }
        if !(1024..=(64 << 20)).contains(&r.max_body_bytes) {
            return Err(ctx.err(&format!("{p}.max_body_bytes"), format!("expected 1 KiB to 64 MiB, found {}", r.max_body_bytes)));
        }
        if !(1..=300_000).contains(&r.response_timeout_ms) {
            return Err(ctx.err(&format!("{p}.response_timeout_ms"), format!("expected 1 to 300000 ms, found {}", r.response_timeout_ms)));
        }
    }
    if let Some(s) = &spec.webhooks.sender {
        let p = "webhooks.sender";
        json_scheme(p, s.scheme)?;
        path(p, &s.path)?;
        secret(p, &s.secret)?;
        object(&format!("{p}.event.example"), &s.event.example)?;
        if let Some(h) = &s.event_id_header {
            pointer(&format!("{p}.event_id_header"), &Field::Header(h.clone()))?;
            // Standard Webhooks and Svix sign their id header: it cannot be another one
            if let (Scheme::StandardWebhooks | Scheme::Svix, Field::Header(signed)) = (s.scheme, super::default_key(s.scheme))
                && !h.eq_ignore_ascii_case(&signed)
            {
                return Err(ctx.err(&format!("{p}.event_id_header"), format!("expected {signed} ({} signs it), found {h:?}", s.scheme)));
            }
        }
        if let Some(r) = &s.retry {
            check_retry(ctx, &format!("{p}.retry"), r)?;
        }
    }
    Ok(())
}

/// The sandbox section: a host other than production's, credentials from secrets with
/// `env:`, setup requests and params that quote only earlier answers, known endpoints.
fn check_sandbox(spec: &Spec, ctx: &Ctx) -> Result<(), SpecError> {
    let Some(s) = &spec.sandbox else { return Ok(()) };
    let p = "sandbox";
    check_url(ctx, &format!("{p}.url"), &s.url)?;
    let production = super::host_of(&spec.overview.base_url).unwrap_or_default();
    let hosts = s.allowed_hosts();
    if super::host_of(&s.url).as_deref() == Some(production.as_str()) {
        return Err(ctx.err(
            &format!("{p}.url"),
            format!(
                "expected a sandbox on a host other than production's ({production}), found {:?}: writes would reach production",
                s.url
            ),
        ));
    }
    if let Some(i) = s.hosts.iter().position(|h| h.eq_ignore_ascii_case(&production)) {
        return Err(ctx.err(&format!("{p}.hosts[{i}]"), format!("expected sandbox hosts only, found production's host {production:?}")));
    }
    if let Some(h) = super::host_of(&s.url).filter(|h| !hosts.contains(h)) {
        return Err(ctx.err(&format!("{p}.hosts"), format!("expected the host of sandbox.url ({h}) among the hosts, found {:?}", s.hosts)));
    }
    check_sandbox_auth(spec, ctx, s, &hosts)?;
    if !s.auth_check.starts_with('/') {
        return Err(ctx.err(&format!("{p}.auth_check"), format!("expected a path starting with '/', found {:?}", s.auth_check)));
    }
    if let Some(i) = spec
        .endpoints
        .iter()
        .position(|e| matches!(e.id.as_str(), "connectivity" | "auth" | "idempotency" | "rate_limit" | "token_refresh"))
    {
        return Err(ctx.err(
            &format!("endpoints[{i}].id"),
            format!("expected an id other than {:?}, which names a sandbox trial, in a spec with a sandbox section", spec.endpoints[i].id),
        ));
    }
    for (id, e) in &s.endpoints {
        let ep = format!("{p}.endpoints.{id}");
        let Some(endpoint) = spec.endpoints.iter().find(|x| &x.id == id) else {
            let known: Vec<&str> = spec.endpoints.iter().map(|x| x.id.as_str()).collect();
            return Err(ctx.err(&ep, format!("expected an endpoint id ({}), found {id:?}", crate::text::hints(&known))));
        };
        let mut names: Vec<&str> = Vec::new();
        let quoted = |at: &str, v: &Value, names: &[&str]| -> Result<(), SpecError> {
            for (n, _) in super::references(&v.to_string()) {
                if !names.contains(&n.as_str()) {
                    return Err(ctx.err(
                        at,
                        format!("expected ${{name.field}} to quote an earlier setup request ({}), found {n:?}", crate::text::hints(names)),
                    ));
                }
            }
            Ok(())
        };
        for (i, r) in e.setup.iter().enumerate() {
            let at = format!("{ep}.setup[{i}]");
            if !is_ident(&r.name) || names.contains(&r.name.as_str()) {
                return Err(ctx.err(&format!("{at}.name"), format!("expected a new lowercase identifier, found {:?}", r.name)));
            }
            if !r.path.starts_with('/') {
                return Err(ctx.err(&format!("{at}.path"), format!("expected a path starting with '/', found {:?}", r.path)));
            }
            if let Some(b) = &r.body {
                quoted(&format!("{at}.body"), b, &names)?;
            }
            quoted(&format!("{at}.path"), &Value::String(r.path.clone()), &names)?;
            names.push(&r.name);
        }
        for (k, v) in &e.params {
            if !endpoint.path.contains(&format!("{{{k}}}")) {
                return Err(
                    ctx.err(&format!("{ep}.params.{k}"), format!("expected a parameter of the path {:?}, found {k:?}", endpoint.path))
                );
            }
            quoted(&format!("{ep}.params.{k}"), v, &names)?;
        }
    }
    Ok(())
}

/// The sandbox's credentials as the spec's auth needs them (each a secrets row with `env:`),
/// and for OAuth 2.0 its token endpoint (on a sandbox host) and endpoint paths.
/// The health section: one probe target (a GET endpoint whose path the example fills, or a
/// path), a status that exists, a latency warning below the timeout, both within a minute
/// or ten, OAuth 2.0 fields only with OAuth 2.0, URLs and variable names that can be used.
fn check_health(spec: &Spec, ctx: &Ctx) -> Result<(), SpecError> {
    let Some(h) = &spec.health else { return Ok(()) };
    let p = "health";
    if h.endpoint.is_some() && h.path.is_some() {
        return Err(ctx.err(&format!("{p}.path"), "expected either endpoint or path, found both"));
    }
    if let Some(id) = &h.endpoint {
        let at = format!("{p}.endpoint");
        let Some(e) = spec.endpoints.iter().find(|e| &e.id == id) else {
            let gets: Vec<&str> = spec.endpoints.iter().filter(|e| e.method == super::Method::GET).map(|e| e.id.as_str()).collect();
            return Err(ctx.err(&at, format!("expected the id of a GET endpoint ({}), found {id:?}", crate::text::hints(&gets))));
        };
        if e.method != super::Method::GET {
            return Err(ctx.err(&at, format!("expected a GET endpoint (probes never write), found {id:?}, a {}", e.method)));
        }
        if e.concrete_path().contains('{') {
            return Err(ctx.err(
                &at,
                format!("expected an endpoint whose path parameters have example values, found {:?} unfilled", e.concrete_path()),
            ));
        }
    }
    if let Some(path) = h.path.as_ref().filter(|x| !x.starts_with('/')) {
        return Err(ctx.err(&format!("{p}.path"), format!("expected a path starting with '/', found {path:?}")));
    }
    if let Some(status) = h.status.filter(|s| !(100..=599).contains(s)) {
        return Err(ctx.err(&format!("{p}.status"), format!("expected an HTTP status (100-599), found {status}")));
    }
    for (field, v) in [("latency_warn_ms", h.latency_warn_ms), ("timeout_ms", h.timeout_ms)] {
        if !(1..=600_000).contains(&v) {
            return Err(ctx.err(&format!("{p}.{field}"), format!("expected milliseconds from 1 to 600000 (ten minutes), found {v}")));
        }
    }
    if h.latency_warn_ms >= h.timeout_ms {
        return Err(ctx.err(
            &format!("{p}.latency_warn_ms"),
            format!("expected a warning below the probe's timeout_ms ({}), found {}", h.timeout_ms, h.latency_warn_ms),
        ));
    }
    if let Some(path) = &h.introspection_path {
        let at = format!("{p}.introspection_path");
        if !matches!(spec.overview.auth, Auth::Oauth2 { .. }) {
            return Err(ctx.err(&at, "expected introspection_path only with overview.auth.kind: oauth2, found it without"));
        }
        if !path.starts_with('/') {
            return Err(ctx.err(&at, format!("expected a path on the token endpoint's origin, starting with '/', found {path:?}")));
        }
    }
    if let Some(url) = &h.webhook_url {
        check_url(ctx, &format!("{p}.webhook_url"), url)?;
    }
    if let Some(v) = h.webhook_url_env.as_ref().filter(|v| !is_env_name(v)) {
        return Err(ctx.err(
            &format!("{p}.webhook_url_env"),
            format!("expected an environment variable name such as PAYMENTS_WEBHOOK_URL, found {v:?}"),
        ));
    }
    if let Some(c) = &h.credentials {
        check_credentials(spec, ctx, &format!("{p}.credentials"), c, "health.credentials")?;
    }
    Ok(())
}

/// Whether `v` looks like an environment variable name: upper-case letters, digits, `_`.
fn is_env_name(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Credentials as the spec's auth needs them, each the name of a secrets row with `env:`
/// (`at`: where they are written; `with`: what needs them, for the message).
fn check_credentials(spec: &Spec, ctx: &Ctx, at: &str, c: &super::SandboxCredentials, with: &str) -> Result<(), SpecError> {
    let (wanted, unwanted): (&[&str], &[&str]) = match &spec.overview.auth {
        Auth::ApiKey { .. } => (&["api_key"], &["client_id", "client_secret", "refresh_token"]),
        Auth::Oauth2 { .. } => (&["client_id", "client_secret", "refresh_token"], &["api_key"]),
        Auth::None => return Err(ctx.err("overview.auth.kind", format!("expected api_key or oauth2 for a spec with {with}, found none"))),
    };
    let named = c.named();
    let kind = if matches!(spec.overview.auth, Auth::ApiKey { .. }) { "api_key" } else { "oauth2" };
    for field in wanted.iter().filter(|f| **f != "refresh_token") {
        if !named.iter().any(|(k, _)| k == field) {
            return Err(ctx.err(at, format!("expected {field} (the name of a secrets row with env:) for {kind} auth, found none")));
        }
    }
    if let Some((field, _)) = named.iter().find(|(k, _)| unwanted.contains(k)) {
        let allowed = super::and_list(wanted);
        return Err(ctx.err(&format!("{at}.{field}"), format!("expected only {allowed} for {kind} auth, found {field}")));
    }
    for (field, name) in named {
        let at = format!("{at}.{field}");
        match spec.secrets.iter().find(|x| x.name == name) {
            Some(x) if x.env.is_some() => {}
            Some(_) => return Err(ctx.err(&at, format!("expected a secrets row with env:, found {name:?} without one"))),
            None => {
                let known: Vec<&str> = spec.secrets.iter().filter(|x| x.env.is_some()).map(|x| x.name.as_str()).collect();
                return Err(
                    ctx.err(&at, format!("expected the name of a secrets row with env: ({}), found {name:?}", crate::text::hints(&known)))
                );
            }
        }
    }
    Ok(())
}

fn check_sandbox_auth(spec: &Spec, ctx: &Ctx, s: &super::Sandbox, hosts: &[String]) -> Result<(), SpecError> {
    let p = "sandbox";
    let c = &s.credentials;
    check_credentials(spec, ctx, &format!("{p}.credentials"), c, "a sandbox section")?;
    let kind = if matches!(spec.overview.auth, Auth::ApiKey { .. }) { "api_key" } else { "oauth2" };
    for (field, v) in [("url_env", &s.url_env), ("token_url_env", &s.token_url_env)] {
        if let Some(v) = v.as_ref().filter(|v| !is_env_name(v)) {
            return Err(ctx
                .err(&format!("{p}.{field}"), format!("expected an environment variable name such as PAYMENTS_SANDBOX_URL, found {v:?}")));
        }
    }
    let oauth_fields = [
        ("token_url", s.token_url.is_some()),
        ("token_url_env", s.token_url_env.is_some()),
        ("revocation_path", s.revocation_path.is_some()),
        ("token_gate", s.token_gate.is_some()),
    ];
    let Auth::Oauth2 { token_url: production_token, .. } = &spec.overview.auth else {
        if let Some((field, _)) = oauth_fields.iter().find(|(_, set)| *set) {
            return Err(
                ctx.err(&format!("{p}.{field}"), format!("expected {field} only with overview.auth.kind: oauth2, found it with {kind}"))
            );
        }
        return Ok(());
    };
    let Some(token_url) = &s.token_url else {
        return Err(
            ctx.err(p, "expected token_url (the sandbox's token endpoint; token_url_env only overrides it) for oauth2 auth, found none")
        );
    };
    let at = format!("{p}.token_url");
    check_url(ctx, &at, token_url)?;
    let host = super::host_of(token_url).unwrap_or_default();
    if [production_token, &spec.overview.base_url].iter().any(|u| super::host_of(u).as_deref() == Some(host.as_str())) {
        return Err(ctx.err(&at, format!("expected a token endpoint on a host other than production's ({host}), found {token_url:?}")));
    }
    if !hosts.contains(&host) {
        return Err(ctx.err(&at, format!("expected a host among sandbox hosts ({}), found {host:?}", crate::text::hints(hosts))));
    }
    for (field, v) in [("revocation_path", &s.revocation_path), ("token_gate", &s.token_gate)] {
        if let Some(v) = v.as_ref().filter(|v| !v.starts_with('/')) {
            return Err(
                ctx.err(&format!("{p}.{field}"), format!("expected a path on the token endpoint's origin, starting with '/', found {v:?}"))
            );
        }
    }
    if s.revocation_path.is_some() && c.refresh_token.is_none() {
        return Err(ctx.err(
            &format!("{p}.revocation_path"),
            "expected credentials.refresh_token with revocation_path (the token_refresh trial revokes the client's token and needs a user's refresh token), found none",
        ));
    }
    Ok(())
}

/// Load every `*/spec.yaml` under `dir`, sorted by service id. Each entry is the spec or its error.
pub fn load_dir(dir: &Path) -> Result<Vec<Result<Spec, SpecError>>, SpecError> {
    let whole = |message: String| SpecError { file: dir.to_path_buf(), at: None, path: String::new(), message };
    let entries = std::fs::read_dir(dir).map_err(|e| whole(format!("expected a directory of integrations, found {e}")))?;
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path().join("spec.yaml")).filter(|p| p.is_file()).collect();
    files.sort();
    if files.is_empty() {
        return Err(whole("expected at least one <service>/spec.yaml, found none".into()));
    }
    Ok(files.iter().map(|f| load_file(f)).collect())
}

/// Whether `name` is an HTTP header name (an RFC 9110 token).
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
