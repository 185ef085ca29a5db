//! The resources: each integration's spec.yaml, integration-spec.md, contract.md, round
//! reports and drift reports, as `oc-integrate://<path in the project>`. Only those files
//! are served, redacted, and only inside the integrations directory: a resource URI is not a
//! way to read the project's `.env`.

use std::path::Path;

use oc_integrate::redact;
use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use serde_json::json;

use super::project::Project;

/// The URI scheme of the resources.
const SCHEME: &str = "oc-integrate://";

/// What a file in a service's directory is, when it is one this server serves.
fn kind(name: &str) -> Option<(&'static str, &'static str)> {
    let round = name.strip_prefix("test-round-").and_then(|r| r.strip_suffix(".md")).is_some_and(|n| n.parse::<u32>().is_ok());
    let drift = name.starts_with("drift-") && name.ends_with(".md");
    match name {
        "spec.yaml" => Some(("the integration spec (the source of truth the cases come from)", "application/yaml")),
        "integration-spec.md" => Some(("the seed's integration-spec.md, rendered from the spec", "text/markdown")),
        "contract.md" => Some(("the contract: deliverables and testable criteria mapped to trials", "text/markdown")),
        _ if round => Some(("a round report: the Tester's verdict, score and failures", "text/markdown")),
        _ if drift => Some(("a drift report: response shapes against their baselines", "text/markdown")),
        _ => None,
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
        let mut files: Vec<String> = std::fs::read_dir(service.path())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| kind(n).is_some())
            .collect();
        files.sort_by_key(|n| (round_number(n), n.clone()));
        for name in files {
            let Some((description, mime)) = kind(&name) else { continue };
            let path = service.path().join(&name);
            let rel = project.relative(&path);
            let mut r = Resource::new(format!("{SCHEME}{rel}"), format!("{}/{name}", service.file_name().to_string_lossy()));
            r.description = Some(description.into());
            r.mime_type = Some(mime.into());
            r.size = std::fs::metadata(&path).ok().map(|m| m.len());
            out.push(r);
        }
    }
    out
}

/// The round number of a round report's file name (0 for the other files, listed first).
fn round_number(name: &str) -> u32 {
    name.strip_prefix("test-round-").and_then(|r| r.strip_suffix(".md")).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The resource at `uri`, redacted; refused with what was expected when it is not one.
pub fn read(project: &Project, dir: &str, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let refuse = |message: String| ErrorData::resource_not_found(message, Some(json!({"uri": uri})));
    let Some(rel) = uri.strip_prefix(SCHEME) else {
        return Err(refuse(format!("expected a URI starting {SCHEME}, found {uri:?}")));
    };
    let path = project.resolve("uri", rel).map_err(|e| refuse(e.to_string()))?;
    let integrations = project.root().join(dir);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let in_service = path.parent().and_then(Path::parent) == Some(integrations.as_path());
    let Some((_, mime)) = kind(&name).filter(|_| in_service) else {
        return Err(refuse(format!(
            "expected {SCHEME}{dir}/<service>/ spec.yaml, integration-spec.md, contract.md, test-round-M.md or drift-<date>.md, found {uri:?}"
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
