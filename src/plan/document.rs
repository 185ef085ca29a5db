//! The seed's "Integration Spec Template", rendered from `spec.yaml`: the markdown people
//! review at the spec-approval gate. spec.yaml stays the source of truth; the markdown is
//! regenerated from it, and `oc-integrate check` fails when it is stale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::spec::{Action, Auth, Direction, Method, Spec};

/// Where the rendered document lives: beside the spec.
pub fn path_for(spec: &Spec) -> PathBuf {
    spec.file.parent().unwrap_or(Path::new(".")).join("integration-spec.md")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The auth scheme in words (`Bearer token`, `OAuth 2.0 (token URL …)`).
pub(super) fn auth_text(auth: &Auth) -> String {
    match auth {
        Auth::None => "None".into(),
        Auth::ApiKey { prefix, .. } if prefix.trim().eq_ignore_ascii_case("bearer") => "Bearer token".into(),
        Auth::ApiKey { header, prefix } if prefix.trim().eq_ignore_ascii_case("basic") => format!("Basic auth ({header} header)"),
        Auth::ApiKey { header, .. } => format!("API key ({header} header)"),
        Auth::Oauth2 { token_url, scopes, rotates_refresh_token, .. } => {
            let mut t = format!("OAuth 2.0 (token URL {token_url}");
            if !scopes.is_empty() {
                let _ = write!(t, "; scopes {}", scopes.join(", "));
            }
            if *rotates_refresh_token {
                t.push_str("; refresh tokens rotate");
            }
            t + ")"
        }
    }
}

fn action_text(spec: &Spec, action: Action, factor: Option<f64>) -> String {
    match action {
        Action::RefreshAndRetryOnce => "Refresh, retry once".into(),
        Action::RespectRetryAfter => "Respect Retry-After, backoff".into(),
        Action::RetryWithBackoff => format!("Retry with backoff, max {}", spec.retry.max_attempts),
        Action::RetryWithLongerDelays => format!("Retry with longer delays (×{})", factor.unwrap_or(4.0)),
        Action::Fail => "Fail, surface the error".into(),
    }
}

/// The integration spec in the seed's template.
pub fn integration_spec(spec: &Spec) -> String {
    let o = &spec.overview;
    let mut md = format!("## Integration Spec: {}\n", spec.name);
    md.push_str("### Overview\n");
    let direction = match o.direction {
        Direction::Inbound => "Inbound",
        Direction::Outbound => "Outbound",
        Direction::Both => "Both",
    };
    let _ = writeln!(md, "- **Direction:** {direction}");
    let _ = writeln!(md, "- **Auth:** {}", auth_text(&o.auth));
    let _ = writeln!(md, "- **Base URL:** {}", o.base_url);
    let _ = writeln!(md, "- **Sandbox:** {}", o.sandbox_url.as_deref().unwrap_or("not available"));
    let _ = writeln!(md, "- **Rate limits:** {}", o.rate_limit.as_ref().map(|r| r.to_string()).unwrap_or_else(|| "not documented".into()));
    let _ = writeln!(md, "- **SDK:** {}", o.sdk.as_deref().unwrap_or("not decided"));
    let _ = writeln!(md, "- **Docs:** {}", o.docs.as_deref().unwrap_or("not given"));
    if let Some(t) = &spec.ticket {
        let _ = writeln!(md, "- **PM ticket:** {t} (planned from it; each test round is written back to it)");
    }

    md.push_str("### Endpoints\n| Method | Path | Purpose | Auth | Rate Limit | Idempotent |\n|---|---|---|---|---|---|\n");
    let scheme = match &o.auth {
        Auth::None => "None".to_string(),
        Auth::ApiKey { prefix, .. } if !prefix.trim().is_empty() => prefix.trim().to_string(),
        Auth::ApiKey { .. } => "API key".into(),
        Auth::Oauth2 { .. } => "Bearer".into(),
    };
    for e in &spec.endpoints {
        let auth = if e.auth { scheme.as_str() } else { "None" };
        let limit = e.rate_limit.as_ref().or(o.rate_limit.as_ref()).map(|r| r.to_string()).unwrap_or_else(|| "-".into());
        let idem = match (e.is_idempotent(), &e.idempotency_header) {
            (true, Some(h)) => format!("Yes ({h})"),
            (true, None) => "Yes".into(),
            (false, _) if e.method == Method::POST => "No (needs key)".into(),
            (false, _) => "No".into(),
        };
        let _ = writeln!(md, "| {} | {} | {} | {auth} | {limit} | {idem} |", e.method, cell(&e.path), cell(&e.purpose));
    }

    if !spec.webhooks.is_empty() {
        // not in the seed's template: the webhooks the spec declares, beside its endpoints
        md.push_str("### Webhooks\n| Direction | Method | Path | Scheme | Event id | Events |\n|---|---|---|---|---|---|\n");
        if let Some(r) = &spec.webhooks.receiver {
            let events: Vec<&str> = r.events.iter().map(|e| e.kind.as_str()).collect();
            let id = format!("{}, kept {} s", r.key().describe(), r.idempotency.ttl_s);
            let _ = writeln!(md, "| Inbound | POST | {} | {} | {} | {} |", cell(&r.path), r.scheme, cell(&id), cell(&events.join(", ")));
        }
        if let Some(w) = &spec.webhooks.sender {
            let id = format!("header {}", w.event_id_header());
            let _ = writeln!(md, "| Outbound | POST | {} | {} | {} | {} |", cell(&w.path), w.scheme, cell(&id), cell(&w.event.kind));
        }
    }
    md.push_str("### Data Flow\n");
    match &spec.data_flow {
        Some(flow) => {
            let _ = writeln!(md, "```\n{}\n```", flow.trim_end());
        }
        None => md.push_str("[not described: add data_flow to spec.yaml]\n"),
    }

    md.push_str("### Error Handling Matrix\n| Status | Meaning | Action |\n|---|---|---|\n");
    for r in &spec.error_handling {
        let when: Vec<String> = r.when.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let status = if when.is_empty() { r.status.to_string() } else { format!("{} ({})", r.status, when.join(", ")) };
        let reset = r.reset.as_ref().map(|h| format!(" or {}", h.header)).unwrap_or_default();
        let action = action_text(spec, r.action, r.delay_factor).replace("Retry-After", &format!("Retry-After{reset}"));
        let _ = writeln!(md, "| {} | {} | {} |", cell(&status), cell(&r.meaning), action);
    }

    md.push_str("### Secrets Required\n| Secret | Storage | Rotation |\n|---|---|---|\n");
    for s in &spec.secrets {
        let _ = writeln!(md, "| {} | {} | {} |", cell(&s.name), cell(&s.storage), cell(&s.rotation));
    }

    md.push_str("### Test Plan\n");
    let t = &spec.test_plan;
    let _ = writeln!(md, "- **Unit tests:** {}", t.unit.as_deref().unwrap_or("not planned"));
    let _ = writeln!(md, "- **Sandbox tests:** {}", t.sandbox.as_deref().unwrap_or("not planned"));
    let edge = if t.edge_cases.is_empty() { "none listed".to_string() } else { t.edge_cases.join(", ") };
    let _ = writeln!(md, "- **Edge cases:** {edge}");
    md
}

/// Whether the rendered document beside `spec` is missing or differs from what `spec`
/// renders now: `Some(reason)` when stale.
pub fn stale(spec: &Spec) -> Option<String> {
    stale_file(spec, &path_for(spec), &integration_spec(spec), "integration spec")
}

/// Whether the file at `path`, when there is one, differs from `rendered`, what `spec`
/// renders now as `what`: `Some(reason)` when stale.
pub(super) fn stale_file(spec: &Spec, path: &Path, rendered: &str, what: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Err(_) => None,
        Ok(text) if text == rendered => None,
        Ok(_) => Some(format!(
            "{}: expected the {what} rendered from {}, found an older or edited one: run `oc-integrate render {}` (spec.yaml is the source of truth)",
            path.display(),
            spec.file.display(),
            // the integrations directory: the one above the service's
            spec.file.parent().and_then(Path::parent).filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).display()
        )),
    }
}
