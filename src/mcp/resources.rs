//! The resources: each integration's spec.yaml, integration-spec.md, contract.md, the files
//! its spec points into (the JSON Schema files under `schemas/`, the planner's `examples.json`),
//! round reports and drift reports, as `oc-integrate://<path in the project>`. Only those files
//! are served, redacted, and only inside the integrations directory: a resource URI is not a
//! way to read the project's `.env`.

use std::path::{Component, Path, PathBuf};

use oc_integrate::redact;
use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use serde_json::json;

use super::project::Project;

/// The URI scheme of the resources.
const SCHEME: &str = "oc-integrate://";

/// What a file of a service's directory is (`rel`: its path there), when it is one this
/// server serves.
fn kind(rel: &Path) -> Option<(&'static str, &'static str)> {
    let mut parts = rel.components();
    let first = match parts.next()? {
        Component::Normal(first) => first.to_str()?,
        _ => return None,
    };
    let deeper = parts.next().is_some();
    let json = rel.extension().is_some_and(|e| e == "json");
    if first == "schemas" && deeper && json && rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Some(("a JSON Schema file the spec's schema_file entries point into", "application/schema+json"));
    }
    if deeper {
        return None;
    }
    let round = first.strip_prefix("test-round-").and_then(|r| r.strip_suffix(".md")).is_some_and(|n| n.parse::<u32>().is_ok());
    let drift = first.starts_with("drift-") && first.ends_with(".md");
    match first {
        "spec.yaml" => Some(("the integration spec (the source of truth the cases come from)", "application/yaml")),
        "integration-spec.md" => Some(("the seed's integration-spec.md, rendered from the spec", "text/markdown")),
        "contract.md" => Some(("the contract: deliverables and testable criteria mapped to trials", "text/markdown")),
        "examples.json" => Some(("the planner's large examples, which the spec's example_file entries point into", "application/json")),
        _ if round => Some(("a round report: the Tester's verdict, score and failures", "text/markdown")),
        _ if drift => Some(("a drift report: response shapes against their baselines", "text/markdown")),
        _ => None,
    }
}

/// The files under `dir`, as paths relative to `base`: those directly in it, and with
/// `deeper`, those in its subdirectories too.
fn files(base: &Path, dir: &Path, deeper: bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_file() => out.extend(path.strip_prefix(base).ok().map(Path::to_path_buf)),
            Ok(t) if t.is_dir() && deeper => files(base, &path, true, out),
            _ => {}
        }
    }
}

/// Every resource under the integrations directory `dir` (relative to the project).
pub fn list(project: &Project, dir: &str) -> Vec<Resource> {
    let root = project.root().join(dir);
    let mut services: Vec<_> =
        std::fs::read_dir(&root).into_iter().flatten().filter_map(Result::ok).filter(|e| e.path().is_dir()).collect();
    services.sort_by_key(|e| e.file_name());
    let mut out = Vec::new();
    for service in services {
        let base = service.path();
        let mut found = Vec::new();
        files(&base, &base, false, &mut found);
        files(&base, &base.join("schemas"), true, &mut found);
        found.retain(|rel| kind(rel).is_some());
        found.sort_by_key(|rel| (round_number(rel), rel.clone()));
        for rel in found {
            let Some((description, mime)) = kind(&rel) else { continue };
            let path = base.join(&rel);
            let uri = format!("{SCHEME}{}", project.relative(&path));
            let mut r = Resource::new(uri, format!("{}/{}", service.file_name().to_string_lossy(), rel.display()));
            r.description = Some(description.into());
            r.mime_type = Some(mime.into());
            r.size = std::fs::metadata(&path).ok().map(|m| m.len());
            out.push(r);
        }
    }
    out
}

/// The round number of a round report (0 for the other files, listed first).
fn round_number(rel: &Path) -> u32 {
    rel.to_str()
        .and_then(|name| name.strip_prefix("test-round-"))
        .and_then(|r| r.strip_suffix(".md"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The resource at `uri`, redacted; refused with what was expected when it is not one.
pub fn read(project: &Project, dir: &str, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let refuse = |message: String| ErrorData::resource_not_found(message, Some(json!({"uri": uri})));
    let Some(rel) = uri.strip_prefix(SCHEME) else {
        return Err(refuse(format!("expected a URI starting {SCHEME}, found {uri:?}")));
    };
    let path = project.resolve("uri", rel).map_err(|e| refuse(e.to_string()))?;
    let integrations = project.root().join(dir);
    // the path in its service's directory: <integrations>/<service>/<rel>
    let in_service = path.strip_prefix(&integrations).ok().and_then(|p| {
        let mut parts = p.components();
        matches!(parts.next(), Some(Component::Normal(_))).then(|| parts.as_path().to_path_buf())
    });
    let Some((_, mime)) = in_service.as_deref().and_then(kind) else {
        return Err(refuse(format!(
            "expected {SCHEME}{dir}/<service>/ spec.yaml, integration-spec.md, contract.md, examples.json, schemas/….json, \
             test-round-M.md or drift-<date>.md, found {uri:?}"
        )));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| refuse(format!("{}: {e}", project.relative(&path))))?;
    let contents = match ResourceContents::text(redact::redact(&text), uri) {
        ResourceContents::TextResourceContents { uri, text, meta, .. } => {
            ResourceContents::TextResourceContents { uri, mime_type: Some(mime.into()), text, meta }
        }
        other => other,
    };
    Ok(ReadResourceResult::new(vec![contents]))
}
