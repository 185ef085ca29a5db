//! Drift: catching the provider changing under you. A baseline holds the *shape* of each
//! endpoint's sandbox answer — field paths and the JSON types seen there, the status, the
//! rate-limit headers; never a value, so it holds no customer data and no secret — under
//! `integrations/<service>/baselines/<endpoint>.json`. A drift check compares a live answer
//! with it (and with the spec's schema) and sorts what changed: a field added is additive,
//! a field removed, a type changed, a value become nullable, a status or a rate-limit header
//! changed is breaking. `drift-<date>.md` beside the spec reports each run.
//!
//! ```
//! use oc_integrate::drift::{Severity, Shape};
//! use serde_json::json;
//! let baseline = Shape::of(200, &[], &json!({"id": "cus_1", "email": "a@b.c"}));
//! let live = Shape::of(200, &[], &json!({"id": 42, "email": "a@b.c", "phone": "+1"}));
//! let changes = baseline.diff(&live);
//! assert_eq!(changes.iter().filter(|c| c.severity == Severity::Breaking).count(), 1); // id: string → integer
//! assert_eq!(changes.iter().filter(|c| c.severity == Severity::Additive).count(), 1); // phone added
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::Spec;
use crate::text::cell;

/// The shape of one answer (or of several, merged): status, rate-limit headers, and the
/// JSON types seen at each field path (`$`, `$.data[].id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Status codes seen.
    pub status: BTreeSet<u16>,
    /// Rate-limit headers present (lower-case names), e.g. `x-ratelimit-remaining`.
    pub rate_limit_headers: BTreeSet<String>,
    /// Field path → JSON types seen there (`string`, `integer`, `number`, `boolean`, `null`, `object`, `array`).
    pub fields: BTreeMap<String, BTreeSet<String>>,
}

/// How much a change matters to a client written against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// Something was added: a tolerant client keeps working.
    Additive,
    /// A client written against the baseline can break.
    Breaking,
}

/// One difference between a baseline and a live answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Where: a field path, `status`, `header <name>`, or `schema`.
    pub at: String,
    /// What happened, e.g. `type changed: string → integer`.
    pub what: String,
    /// Additive or breaking.
    pub severity: Severity,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Additive => "additive",
            Severity::Breaking => "BREAKING",
        };
        write!(f, "{s}: {}: {}", self.at, self.what)
    }
}

/// The JSON type of `v` (`integer` apart from `number`), for shapes and messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a header is one a client reads to pace itself.
fn is_rate_limit_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("ratelimit") || n.contains("rate-limit") || n == "retry-after"
}

fn join(types: &BTreeSet<String>) -> String {
    types.iter().map(String::as_str).collect::<Vec<_>>().join(" | ")
}

impl Shape {
    /// The shape of one answer.
    pub fn of(status: u16, headers: &[(String, String)], body: &Value) -> Shape {
        let mut s = Shape { status: BTreeSet::from([status]), ..Shape::default() };
        s.rate_limit_headers = headers.iter().map(|(k, _)| k.to_ascii_lowercase()).filter(|k| is_rate_limit_header(k)).collect();
        s.walk("$".into(), body);
        s
    }

    fn walk(&mut self, path: String, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    self.walk(format!("{path}.{k}"), child);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(format!("{path}[]"), item);
                }
            }
            _ => {}
        }
        self.fields.entry(path).or_default().insert(json_type(v).to_string());
    }

    /// This shape widened by `other` (a baseline accepted again from a new answer).
    pub fn merge(&mut self, other: &Shape) {
        self.status.extend(other.status.iter().copied());
        self.rate_limit_headers.extend(other.rate_limit_headers.iter().cloned());
        for (path, types) in &other.fields {
            self.fields.entry(path.clone()).or_default().extend(types.iter().cloned());
        }
    }

    /// What changed from this baseline to `live`: fields added (additive); fields removed,
    /// types changed, values become nullable, statuses and rate-limit headers changed
    /// (breaking). Under a field added or removed only the topmost is reported.
    pub fn diff(&self, live: &Shape) -> Vec<Change> {
        let mut out = Vec::new();
        let change = |at: &str, what: String, severity| Change { at: at.to_string(), what, severity };
        let list = |s: &BTreeSet<u16>| s.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        if !live.status.is_subset(&self.status) {
            out.push(change("status", format!("changed: {} → {}", list(&self.status), list(&live.status)), Severity::Breaking));
        }
        for h in self.rate_limit_headers.difference(&live.rate_limit_headers) {
            out.push(change(&format!("header {h}"), "removed".into(), Severity::Breaking));
        }
        for h in live.rate_limit_headers.difference(&self.rate_limit_headers) {
            out.push(change(&format!("header {h}"), "added".into(), Severity::Additive));
        }
        let under = |path: &str, parents: &BTreeSet<&str>| {
            parents.iter().any(|p| path.len() > p.len() && path.starts_with(p) && matches!(path.as_bytes()[p.len()], b'.' | b'['))
        };
        let mut removed: BTreeSet<&str> = BTreeSet::new();
        for (path, types) in &self.fields {
            match live.fields.get(path) {
                None if under(path, &removed) => {}
                None => {
                    removed.insert(path);
                    out.push(change(path, format!("removed (was {})", join(types)), Severity::Breaking));
                }
                Some(now) => {
                    let gained: BTreeSet<&String> = now.difference(types).collect();
                    if gained.is_empty() {
                        continue;
                    }
                    let what = if gained.iter().all(|t| *t == "null") {
                        format!("became nullable ({} → {})", join(types), join(now))
                    } else {
                        format!("type changed: {} → {}", join(types), join(now))
                    };
                    out.push(change(path, what, Severity::Breaking));
                }
            }
        }
        let mut added: BTreeSet<&str> = BTreeSet::new();
        for (path, types) in &live.fields {
            if !self.fields.contains_key(path) && !under(path, &added) {
                added.insert(path);
                out.push(change(path, format!("added ({})", join(types)), Severity::Additive));
            }
        }
        out
    }

    /// One line per path, for diffs and review: `$.id: string`.
    pub fn render(&self) -> String {
        let mut s = format!("status: {}\n", self.status.iter().map(u16::to_string).collect::<Vec<_>>().join(", "));
        for h in &self.rate_limit_headers {
            s.push_str(&format!("header {h}\n"));
        }
        for (path, types) in &self.fields {
            s.push_str(&format!("{path}: {}\n", join(types)));
        }
        s
    }
}

/// The highest severity among `changes`, or `None` when nothing drifted.
pub fn worst(changes: &[Change]) -> Option<Severity> {
    changes.iter().map(|c| c.severity).max()
}

/// A unified diff of two shapes (baseline first).
pub fn unified_diff(baseline: &Shape, live: &Shape) -> String {
    let (a, b) = (baseline.render(), live.render());
    similar::TextDiff::from_lines(&a, &b).unified_diff().context_radius(2).header("baseline", "live").to_string()
}

/// Why a baseline cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct BaselineError {
    /// The baseline file.
    pub path: PathBuf,
    /// Expected / found.
    pub message: String,
}

/// Where the baseline of `endpoint` lives: `<spec dir>/baselines/<endpoint>.json`.
pub fn baseline_path(spec: &Spec, endpoint: &str) -> PathBuf {
    spec.file.parent().unwrap_or(Path::new(".")).join("baselines").join(format!("{endpoint}.json"))
}

/// Where a drift check leaves a live shape that differs from the baseline, for review
/// (`oc-integrate drift`) and acceptance (`oc-integrate drift --accept`), as insta leaves a
/// `.snap.new`: `<baseline>.new`.
pub fn pending_path(baseline: &Path) -> PathBuf {
    let mut name = baseline.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The baseline at `path`: `Ok(None)` when there is none yet.
pub fn read_baseline(path: &Path) -> Result<Option<Shape>, BaselineError> {
    let err = |message: String| BaselineError { path: path.to_path_buf(), message };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(format!("expected a readable file, found {e}"))),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| err(format!("{}:{}: expected a baseline shape (status, rate_limit_headers, fields), found {e}", e.line(), e.column())))
}

/// Write (or widen) the baseline at `path` with `shape`, atomically.
pub fn accept(path: &Path, shape: &Shape) -> Result<(), BaselineError> {
    let err = |message: String| BaselineError { path: path.to_path_buf(), message };
    let mut merged = read_baseline(path)?.unwrap_or_default();
    merged.merge(shape);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create the directory: {e}")))?;
    }
    let text = serde_json::to_string_pretty(&merged).unwrap_or_default() + "\n";
    crate::file::write_atomic(path, &text).map_err(|e| err(format!("cannot write it: {e}")))
}

/// What a drift check of one endpoint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The endpoint id.
    pub endpoint: String,
    /// What changed (empty: no drift).
    pub changes: Vec<Change>,
    /// The unified diff of the baseline and the live shape (empty when none changed).
    pub diff: String,
    /// Whether the live shape was accepted as the new baseline in this run.
    pub accepted: bool,
}

/// `drift-<date>.md`: the findings of one run for `spec`, in the round report's style.
pub fn render(spec: &Spec, date: &str, findings: &[Finding]) -> String {
    let all: Vec<&Change> = findings.iter().flat_map(|f| &f.changes).collect();
    let verdict = match worst(&all.iter().map(|c| (*c).clone()).collect::<Vec<_>>()) {
        None => "NO DRIFT",
        Some(Severity::Additive) => "ADDITIVE DRIFT",
        Some(Severity::Breaking) => "BREAKING DRIFT",
    };
    let mut md = format!("## Drift Check — {} — {date}\n\n", spec.name);
    md.push_str("### Endpoints\n| Endpoint | Drift | Changes |\n|---|---|---|\n");
    for f in findings {
        let status = match (f.accepted, worst(&f.changes)) {
            (true, _) => "baseline accepted",
            (false, None) => "none",
            (false, Some(Severity::Additive)) => "additive",
            (false, Some(Severity::Breaking)) => "BREAKING",
        };
        let changes: Vec<String> = f.changes.iter().map(ToString::to_string).collect();
        let _ = writeln!(md, "| {} | {status} | {} |", f.endpoint, cell(&changes.join("\n")));
    }
    let _ = writeln!(md, "\n### Verdict: {verdict}\n");
    for f in findings.iter().filter(|f| !f.diff.is_empty()) {
        let _ = writeln!(md, "#### {}\n```diff\n{}```\n", f.endpoint, f.diff);
    }
    md
}

/// Write `drift-<date>.md` beside the spec (atomically; a second run the same day replaces it).
pub fn write(spec: &Spec, date: &str, findings: &[Finding]) -> std::io::Result<PathBuf> {
    let path = spec.file.parent().unwrap_or(Path::new(".")).join(format!("drift-{date}.md"));
    crate::file::write_atomic(&path, &render(spec, date, findings))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape(body: Value) -> Shape {
        Shape::of(200, &[("X-RateLimit-Remaining".into(), "99".into()), ("Content-Type".into(), "application/json".into())], &body)
    }

    #[test]
    fn a_shape_keeps_paths_and_types_never_values() {
        let s = shape(json!({"id": "cus_secret_value", "items": [{"n": 1}, {"n": 2.5}], "deleted": null}));
        let text = serde_json::to_string(&s).unwrap() + &s.render();
        assert!(!text.contains("cus_secret_value"));
        assert_eq!(s.fields["$.items[].n"], BTreeSet::from(["integer".to_string(), "number".to_string()]));
        assert_eq!(s.rate_limit_headers, BTreeSet::from(["x-ratelimit-remaining".to_string()]));
        assert!(s.render().contains("$.deleted: null\n"));
    }

    #[test]
    fn each_kind_of_drift_has_its_severity() {
        let base = shape(json!({"id": "a", "amount": 1, "customer": {"email": "e", "name": "n"}, "note": "x"}));
        let unchanged = shape(json!({"id": "b", "amount": 7, "customer": {"email": "f", "name": "m"}, "note": "y"}));
        assert!(base.diff(&unchanged).is_empty(), "values changing is not drift");
        let cases = [
            (
                json!({"id": "a", "amount": 1, "customer": {"email": "e", "name": "n"}, "note": "x", "extra": {"deep": 1}}),
                "$.extra",
                Severity::Additive,
                "added",
            ),
            (json!({"id": "a", "amount": 1, "note": "x"}), "$.customer", Severity::Breaking, "removed"),
            (
                json!({"id": "a", "amount": "1", "customer": {"email": "e", "name": "n"}, "note": "x"}),
                "$.amount",
                Severity::Breaking,
                "type changed: integer → string",
            ),
            (
                json!({"id": "a", "amount": 1, "customer": {"email": "e", "name": "n"}, "note": null}),
                "$.note",
                Severity::Breaking,
                "became nullable",
            ),
        ];
        for (body, at, severity, what) in cases {
            let changes = base.diff(&shape(body));
            assert_eq!(changes.len(), 1, "{changes:?}");
            assert_eq!((changes[0].at.as_str(), changes[0].severity), (at, severity), "{changes:?}");
            assert!(changes[0].what.contains(what), "{changes:?}");
        }
        let moved = Shape::of(201, &[], &json!({"id": "a", "amount": 1, "customer": {"email": "e", "name": "n"}, "note": "x"}));
        let changes = base.diff(&moved);
        assert!(changes.iter().any(|c| c.at == "status" && c.severity == Severity::Breaking), "{changes:?}");
        assert!(changes.iter().any(|c| c.at == "header x-ratelimit-remaining" && c.what == "removed"), "{changes:?}");
        assert_eq!(worst(&changes), Some(Severity::Breaking));
    }

    #[test]
    fn an_accepted_baseline_widens_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("oc-drift-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("baselines/list.json");
        assert_eq!(read_baseline(&path).unwrap(), None);
        accept(&path, &shape(json!({"next": "c1"}))).unwrap();
        accept(&path, &shape(json!({"next": null}))).unwrap();
        let base = read_baseline(&path).unwrap().unwrap();
        assert!(base.diff(&shape(json!({"next": null}))).is_empty());
        std::fs::write(&path, "{\"status\": 200").unwrap();
        let err = read_baseline(&path).unwrap_err().to_string();
        assert!(err.contains("list.json: 1:") && err.contains("expected a baseline shape"), "{err}");
        let diff = unified_diff(&shape(json!({"a": 1})), &shape(json!({"a": "x"})));
        assert!(diff.contains("-$.a: integer") && diff.contains("+$.a: string"), "{diff}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
