//! Contract lint: the tester's pushback from the seed, as findings on the spec. A contract
//! is sent back when it has no edge-case criteria (timeout, malformed response), no
//! rate-limit handling, no sandbox testing, no 401 or 5xx rows in the error matrix, a row
//! of the matrix that generates no case, or secrets kept in code or `.env`. Each finding names the spec line and what to add.
//! `oc-integrate plan --check` prints them; the harness turns them into a failing
//! `<service>::contract` trial.

use std::fmt;
use std::path::PathBuf;

use crate::scenario::matrix::{self, Coverage};
use crate::spec::yaml::Location;
use crate::spec::{Action, Auth, Spec, StatusMatch};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `test_plan.edge_cases` names no timeout.
    TimeoutEdgeCase,
    /// `test_plan.edge_cases` names no malformed response.
    MalformedEdgeCase,
    /// No 429 row that respects Retry-After.
    RateLimitHandling,
    /// No `test_plan.sandbox`.
    SandboxTesting,
    /// An authenticated spec without a 401 row.
    UnauthorizedRow,
    /// No row for 5xx.
    ServerErrorRow,
    /// A secret stored in code or `.env`.
    SecretStorage,
    /// A row of the error matrix that no case can test.
    UntestedRow,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::TimeoutEdgeCase => "timeout-edge-case",
            Rule::MalformedEdgeCase => "malformed-edge-case",
            Rule::RateLimitHandling => "rate-limit-handling",
            Rule::SandboxTesting => "sandbox-testing",
            Rule::UnauthorizedRow => "401-row",
            Rule::ServerErrorRow => "5xx-row",
            Rule::SecretStorage => "secret-storage",
            Rule::UntestedRow => "untested-row",
        })
    }
}

/// One reason the tester sends the contract back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which rule.
    pub rule: Rule,
    /// The spec file.
    pub file: PathBuf,
    /// Where in it (the value concerned, or the nearest one that exists).
    pub at: Location,
    /// The spec path concerned (`test_plan.edge_cases`).
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
    /// What to add or change.
    pub add: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {} [{}]; add {}",
            self.file.display(),
            self.at.line,
            self.at.col,
            self.path,
            self.message,
            self.rule,
            self.add
        )
    }
}

/// Every finding on `spec`, in spec order.
pub fn check(spec: &Spec) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut find = |rule: Rule, path: &str, message: String, add: String| {
        out.push(Finding { rule, file: spec.file.clone(), at: spec.source_map.locate(path), path: path.to_string(), message, add });
    };
    let rows = &spec.error_handling;
    if !matches!(spec.overview.auth, Auth::None) && !rows.iter().any(|r| r.status == StatusMatch::Code(401)) {
        let row = if matches!(spec.overview.auth, Auth::Oauth2 { .. }) {
            "{status: 401, meaning: Access token expired, action: refresh_and_retry_once}"
        } else {
            "{status: 401, meaning: Credential rejected, action: fail}"
        };
        find(
            Rule::UnauthorizedRow,
            "error_handling",
            "expected a 401 row for an authenticated integration, found none".into(),
            format!("`- {row}` to error_handling"),
        );
    }
    let retry_after = spec.rule_for(429).is_some_and(|r| r.status == StatusMatch::Code(429) && r.action == Action::RespectRetryAfter);
    if !retry_after {
        let found = match spec.rule_for(429) {
            Some(r) => format!("429 falls under the {} row ({:?})", r.status, r.action),
            None => "no row for 429".into(),
        };
        find(
            Rule::RateLimitHandling,
            "error_handling",
            format!("expected rate-limit handling (a 429 row that respects Retry-After), found {found}"),
            "`- {status: 429, meaning: Rate limited, action: respect_retry_after}` to error_handling".into(),
        );
    }
    if !rows.iter().any(|r| r.status.matches(500)) {
        find(
            Rule::ServerErrorRow,
            "error_handling",
            "expected a 5xx row, found none".into(),
            "`- {status: 5xx, meaning: Server error, action: retry_with_backoff}` to error_handling".into(),
        );
    }
    for (i, c) in matrix::coverage(spec).into_iter().enumerate() {
        if let Coverage::Untested(why) = c {
            let r = &spec.error_handling[i];
            find(
                Rule::UntestedRow,
                &format!("error_handling[{i}]"),
                format!("expected every row to generate a case, found {} ({}) generates none: {why}", r.status, r.action.name()),
                "a row the mock provider can play (a 4xx or 5xx status, `when` headers on one status), or remove it".into(),
            );
        }
    }
    for (i, s) in spec.secrets.iter().enumerate() {
        if crate::secrets::Storage::judge(&s.storage) == crate::secrets::Storage::Exposed {
            find(
                Rule::SecretStorage,
                &format!("secrets[{i}].storage"),
                format!("expected {:?} in a secret store, found {:?} (never in code or .env)", s.name, s.storage),
                "a secret store as its storage (vault, wrangler secret, KV, the CI's secrets), and rotate it if it was ever committed"
                    .into(),
            );
        }
    }
    let edge = |words: &[&str]| spec.test_plan.edge_cases.iter().any(|c| words.iter().any(|w| c.to_ascii_lowercase().contains(w)));
    if !edge(&["timeout", "timed out", "time out"]) {
        find(
            Rule::TimeoutEdgeCase,
            "test_plan.edge_cases",
            "expected a timeout edge case, found none".into(),
            "`timeout` to test_plan.edge_cases".into(),
        );
    }
    if !edge(&["malformed", "invalid response", "invalid json"]) {
        find(
            Rule::MalformedEdgeCase,
            "test_plan.edge_cases",
            "expected a malformed-response edge case, found none".into(),
            "`malformed response` to test_plan.edge_cases".into(),
        );
    }
    let plan = spec.test_plan.sandbox.as_deref().map(str::trim).unwrap_or_default();
    match not_available(plan) {
        _ if plan.is_empty() => find(
            Rule::SandboxTesting,
            "test_plan.sandbox",
            "expected sandbox testing in the test plan, found none".into(),
            format!(
                "test_plan.sandbox: which sandbox (overview.sandbox_url or test mode), account and data; or, when the provider has none, `{NOT_AVAILABLE}: <why>` (then read-only calls against production)"
            ),
        ),
        Some("") => find(
            Rule::SandboxTesting,
            "test_plan.sandbox",
            format!("expected a reason after {NOT_AVAILABLE:?}, found none"),
            format!(
                "the reason to test_plan.sandbox (`{NOT_AVAILABLE}: the provider has no test mode; read-only calls against production`)"
            ),
        ),
        Some(_) if spec.sandbox.is_some() => find(
            Rule::SandboxTesting,
            "test_plan.sandbox",
            format!("expected {NOT_AVAILABLE:?} only for a provider without a sandbox, found a sandbox section"),
            "to test_plan.sandbox the sandbox that the sandbox section describes (or remove that section)".into(),
        ),
        _ => {}
    }
    out
}

/// How a test plan says the provider has no sandbox (the seed's Overview: `Sandbox: [URL or
/// "not available"]`).
pub const NOT_AVAILABLE: &str = "not available";

/// The reason a test plan's `not available: <why>` gives (empty when it gives none), or
/// `None` when the plan names a sandbox.
fn not_available(plan: &str) -> Option<&str> {
    let head = plan.get(..NOT_AVAILABLE.len()).filter(|h| h.eq_ignore_ascii_case(NOT_AVAILABLE))?;
    Some(plan[head.len()..].trim_start_matches([':', '-', '—', ',', '.', ' ', '(']).trim_end_matches(')').trim())
}
