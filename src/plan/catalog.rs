//! The provider catalog: what the providers' own documentation says about them, one data
//! file per provider (`catalog/<provider>.yaml`, embedded in the binary), each fact with the
//! documentation URL it came from. The planner fills from it what an API description does
//! not say (sandbox, rate limit, idempotency header, webhook scheme), and without one makes
//! a skeleton spec from the catalog alone. What a file does not state is not known: the
//! planner writes it as a TODO, never a guess.
//!
//! ```
//! use oc_integrate::plan::catalog;
//!
//! let stripe = catalog::find("stripe")?.expect("Stripe is in the catalog");
//! assert_eq!(stripe.idempotency.as_ref().map(|i| i.header.as_str()), Some("Idempotency-Key"));
//! assert_eq!(catalog::find("google")?.map(|p| p.id), Some("google_apis".to_string()));
//! # Ok::<(), catalog::CatalogError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::draft::{self, Draft, Gap};

use crate::spec::yaml::{self, Location, SourceMap};
use crate::spec::{ErrorRule, RateLimit, reword};
use crate::webhook::Scheme;

/// The embedded catalog files: (path in the repository, contents).
const FILES: [(&str, &str); 11] = [
    ("catalog/github.yaml", include_str!("../../catalog/github.yaml")),
    ("catalog/google_apis.yaml", include_str!("../../catalog/google_apis.yaml")),
    ("catalog/jira.yaml", include_str!("../../catalog/jira.yaml")),
    ("catalog/linear.yaml", include_str!("../../catalog/linear.yaml")),
    ("catalog/salesforce.yaml", include_str!("../../catalog/salesforce.yaml")),
    ("catalog/sendgrid.yaml", include_str!("../../catalog/sendgrid.yaml")),
    ("catalog/shopify.yaml", include_str!("../../catalog/shopify.yaml")),
    ("catalog/slack.yaml", include_str!("../../catalog/slack.yaml")),
    ("catalog/stripe.yaml", include_str!("../../catalog/stripe.yaml")),
    ("catalog/telegram.yaml", include_str!("../../catalog/telegram.yaml")),
    ("catalog/twilio.yaml", include_str!("../../catalog/twilio.yaml")),
];

/// Why the catalog cannot answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    /// A catalog file is not a valid provider description.
    #[error("{file}:{}:{}: {}{message}", at.line, at.col, if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Invalid {
        /// The catalog file (`catalog/stripe.yaml`).
        file: &'static str,
        /// Where in it.
        at: Location,
        /// The path of the offending value (`rate_limit.limit`), empty for the whole file.
        path: String,
        /// What was expected and what was found.
        message: String,
    },
    /// No provider has this name or alias.
    #[error("expected a provider the catalog knows ({known}), found {name:?}: pass --openapi <document> to plan from its API description")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The known provider ids, comma-separated.
        known: String,
    },
}

/// One provider, as `catalog/<id>.yaml` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// The provider's id: its file's name (`google_apis`).
    #[serde(skip)]
    pub id: String,
    /// The catalog file it was read from.
    #[serde(skip)]
    pub file: &'static str,
    /// Display name (`Google APIs`).
    pub name: String,
    /// Other names it is looked up by (`google`, `googleapis`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Full harness or quick build, and why.
    pub build: Build,
    /// The provider's API documentation.
    pub docs: String,
    /// How clients authenticate.
    pub auth: AuthFact,
    /// The API's base URL, or its pattern when it differs per account.
    #[serde(default)]
    pub base_url: Option<BaseUrl>,
    /// The sandbox or test mode.
    #[serde(default)]
    pub sandbox: Option<Sandbox>,
    /// The documented rate limit and its headers.
    #[serde(default)]
    pub rate_limit: Option<Limits>,
    /// The header that makes a POST safe to retry.
    #[serde(default)]
    pub idempotency: Option<Idempotency>,
    /// How the provider signs its webhooks.
    #[serde(default)]
    pub webhook: Option<Webhook>,
    /// How its list endpoints page their results.
    #[serde(default)]
    pub pagination: Option<PaginationFact>,
    #[serde(skip)]
    source_map: SourceMap,
}

/// The seed's "full harness" or "quick build" for a provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Which one.
    pub mode: BuildMode,
    /// Why: the seed's Common Integration Patterns row, or its rule for providers it does not list.
    pub why: String,
}

/// Full harness or quick build (the seed's Quick Build Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildMode {
    /// Contract, builder, tester, rounds.
    Full,
    /// A typed client with retry and a smoke test.
    Quick,
}

impl fmt::Display for BuildMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildMode::Full => "full harness",
            BuildMode::Quick => "quick build",
        })
    }
}

/// How clients authenticate, as documented.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthFact {
    /// A static key or token in a header.
    ApiKey {
        /// The header.
        header: String,
        /// Text before the key (`"Bearer "`).
        #[serde(default)]
        prefix: String,
        /// What the key is.
        #[serde(default)]
        note: Option<String>,
        /// Where this is documented.
        source: String,
    },
    /// HTTP Basic auth.
    Basic {
        /// What the user and password are.
        #[serde(default)]
        note: Option<String>,
        /// Where this is documented.
        source: String,
    },
    /// OAuth 2.0 with a token endpoint.
    Oauth2 {
        /// The token endpoint.
        token_url: String,
        /// Scopes every client needs, when the provider fixes them.
        #[serde(default)]
        scopes: Vec<String>,
        /// Whether each refresh returns a new refresh token.
        #[serde(default)]
        rotates_refresh_token: bool,
        /// Variants (service accounts, sandbox token URLs).
        #[serde(default)]
        note: Option<String>,
        /// Where this is documented.
        source: String,
    },
    /// A scheme the harness cannot drive (a token in the URL path, say).
    Unsupported {
        /// What the scheme is.
        note: String,
        /// Where this is documented.
        source: String,
    },
}

impl AuthFact {
    /// The documentation URL.
    pub fn source(&self) -> &str {
        match self {
            AuthFact::ApiKey { source, .. }
            | AuthFact::Basic { source, .. }
            | AuthFact::Oauth2 { source, .. }
            | AuthFact::Unsupported { source, .. } => source,
        }
    }

    /// The provider's remark on it, if any.
    pub fn note(&self) -> Option<&str> {
        match self {
            AuthFact::ApiKey { note, .. } | AuthFact::Basic { note, .. } | AuthFact::Oauth2 { note, .. } => note.as_deref(),
            AuthFact::Unsupported { note, .. } => Some(note),
        }
    }

    /// A short name: `api_key`, `basic`, `oauth2`, `unsupported`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthFact::ApiKey { .. } => "api_key",
            AuthFact::Basic { .. } => "basic",
            AuthFact::Oauth2 { .. } => "oauth2",
            AuthFact::Unsupported { .. } => "unsupported",
        }
    }
}

/// The base URL: one for everyone, or a pattern to fill per account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseUrl {
    /// The URL, when it is the same for every account.
    #[serde(default)]
    pub url: Option<String>,
    /// The documented pattern, when it differs per account or instance.
    #[serde(default)]
    pub template: Option<String>,
    /// Where this is documented.
    pub source: String,
}

/// The sandbox or test mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// Its base URL, when it is one URL for everyone (it may be the live host).
    #[serde(default)]
    pub url: Option<String>,
    /// How a client reaches it (test keys, a flag in the body, a separate org).
    pub how: String,
    /// Where this is documented.
    pub source: String,
}

/// The documented rate limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// The service-wide limit, when there is one.
    #[serde(default)]
    pub limit: Option<RateLimit>,
    /// The sandbox's limit, when it differs.
    #[serde(default)]
    pub sandbox_limit: Option<RateLimit>,
    /// Response headers that report the limit.
    #[serde(default)]
    pub headers: Vec<String>,
    /// How the limit works and how it is signalled.
    #[serde(default)]
    pub note: Option<String>,
    /// Error-matrix rows for how a limited answer looks (a 403 with headers, a reset
    /// header), written as the spec writes them; they come before the planner's generic rows.
    #[serde(default)]
    pub rows: Vec<ErrorRule>,
    /// Where this is documented.
    pub source: String,
}

/// The idempotency header.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    /// The header (`Idempotency-Key`).
    pub header: String,
    /// Where this is documented.
    pub source: String,
}

/// How list endpoints page their results.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaginationFact {
    /// The spec's `pagination:` for a list endpoint of this provider.
    pub how: crate::spec::Pagination,
    /// Where this is documented.
    pub source: String,
}

/// How webhooks are signed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// The [`Scheme`] that verifies them, or `None` (`none` in the file) when it is not one
    /// oc-integrate knows.
    #[serde(deserialize_with = "scheme_or_none")]
    pub scheme: Option<Scheme>,
    /// What the scheme is, when it is none of ours.
    #[serde(default)]
    pub note: Option<String>,
    /// Where this is documented.
    pub source: String,
}

fn scheme_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scheme>, D::Error> {
    let name = String::deserialize(d)?;
    if name == "none" {
        return Ok(None);
    }
    Scheme::named(&name).map(Some).ok_or_else(|| {
        let all: Vec<&str> = Scheme::ALL.iter().map(|s| s.name()).chain(["none"]).collect();
        serde::de::Error::custom(format!("expected one of {}, found {name:?}", all.join(", ")))
    })
}

impl Provider {
    /// Whether `name` (a service id, any case, `-` or `_`) names this provider.
    pub fn is_named(&self, name: &str) -> bool {
        let wanted = super::snake(name);
        wanted == self.id || self.aliases.contains(&wanted)
    }

    /// `file:line:col` of the fact at `path` (`rate_limit.source`).
    pub fn locate(&self, path: &str) -> String {
        let at = self.source_map.locate(path);
        format!("{}:{}:{}", self.file, at.line, at.col)
    }
}

/// An absolute https URL.
fn is_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
}

/// Read one catalog file.
fn parse(file: &'static str, text: &str) -> Result<Provider, CatalogError> {
    let invalid = |at: Location, path: &str, message: String| CatalogError::Invalid { file, at, path: path.to_string(), message };
    let (value, map) =
        yaml::parse(text).map_err(|e| invalid(e.at, "", format!("expected valid YAML, found a syntax error: {}", e.message)))?;
    let mut p: Provider = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let at = if e.inner().to_string().starts_with("unknown field") { map.locate_key(&path) } else { map.locate(&path) };
        invalid(at, &path, reword(&e.inner().to_string()))
    })?;
    let stem = file.trim_start_matches("catalog/").trim_end_matches(".yaml");
    p.id = stem.to_string();
    p.file = file;
    let err = |path: &str, message: String| invalid(map.locate(path), path, message);
    let mut urls: Vec<(&str, &str)> = vec![("docs", &p.docs), ("auth.source", p.auth.source())];
    if let AuthFact::Oauth2 { token_url, .. } = &p.auth {
        urls.push(("auth.token_url", token_url));
    }
    if let Some(b) = &p.base_url {
        urls.push(("base_url.source", &b.source));
        if let Some(u) = &b.url {
            urls.push(("base_url.url", u));
        }
        if b.url.is_some() == b.template.is_some() {
            return Err(err("base_url", "expected either url or template, found both or neither".into()));
        }
    }
    if let Some(s) = &p.sandbox {
        urls.push(("sandbox.source", &s.source));
        if let Some(u) = &s.url {
            urls.push(("sandbox.url", u));
        }
    }
    if let Some(r) = &p.rate_limit {
        urls.push(("rate_limit.source", &r.source));
        if r.limit.is_none() && r.headers.is_empty() && r.note.is_none() {
            return Err(err("rate_limit", "expected a limit, headers or a note, found none (leave out what is not documented)".into()));
        }
    }
    if let Some(i) = &p.idempotency {
        urls.push(("idempotency.source", &i.source));
    }
    if let Some(f) = &p.pagination {
        urls.push(("pagination.source", &f.source));
    }
    if let Some(w) = &p.webhook {
        urls.push(("webhook.source", &w.source));
        if w.scheme.is_none() && w.note.is_none() {
            return Err(err("webhook.note", "expected a note saying how webhooks are signed when the scheme is none, found none".into()));
        }
    }
    if let Some((path, url)) = urls.into_iter().find(|(_, u)| !is_url(u)) {
        return Err(err(path, format!("expected an absolute https URL (the documentation a fact came from), found {url:?}")));
    }
    if let Some(a) = p.aliases.iter().find(|a| super::snake(a) != **a) {
        return Err(err("aliases", format!("expected aliases written as service ids (lowercase, digits, _), found {a:?}")));
    }
    p.source_map = map;
    Ok(p)
}

/// Every provider of the catalog, sorted by id.
pub fn providers() -> Result<Vec<Provider>, CatalogError> {
    FILES.iter().map(|(file, text)| parse(file, text)).collect()
}

/// The provider called `name` (its id or an alias), if the catalog has one.
pub fn find(name: &str) -> Result<Option<Provider>, CatalogError> {
    Ok(providers()?.into_iter().find(|p| p.is_named(name)))
}

/// The provider called `name`, or [`CatalogError::Unknown`] listing the known ones.
pub fn get(name: &str) -> Result<Provider, CatalogError> {
    let all = providers()?;
    let known = all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ");
    all.into_iter().find(|p| p.is_named(name)).ok_or_else(|| CatalogError::Unknown { name: name.to_string(), known })
}

/// Fill from `p` what `d` leaves undecided: auth and its secrets, base URL, sandbox (and the
/// sandbox test plan), rate limit, the idempotency header of POSTs, the webhook signing
/// secret. Each filled value gets a comment naming the catalog file and the source URL; a
/// fact that cannot settle a TODO (a URL pattern, a sandbox without a URL, a rate limit
/// without a number) rewrites the TODO with what the catalog knows.
pub(super) fn fill(d: &mut Draft, p: &Provider, service: &str) {
    let env = service.to_ascii_uppercase();
    let cite = |text: &str, source: &str| format!("catalog ({}): {text} ({source})", p.file);
    d.head.push(format!("# Catalog: {} ({}: {}; {}).", p.file, p.name, p.build.mode, p.build.why));
    if d.has(Gap::Auth) {
        d.settle(Gap::Auth);
        let note = p.auth.note().unwrap_or("documented auth");
        let (auth, secrets) = match &p.auth {
            AuthFact::ApiKey { header, prefix, .. } => {
                (json!({"kind": "api_key", "header": header, "prefix": prefix}), draft::key_secrets(&env, &format!("{} API key", p.name)))
            }
            AuthFact::Basic { .. } => {
                d.todo("overview.auth", Gap::Auth, draft::BASIC_AUTH_TODO);
                (json!({"kind": "api_key", "header": "Authorization", "prefix": "Basic "}), draft::key_secrets(&env, "Basic credentials"))
            }
            AuthFact::Oauth2 { token_url, scopes, rotates_refresh_token, .. } => {
                if scopes.is_empty() {
                    d.todo(
                        "overview.auth",
                        Gap::Auth,
                        "the catalog names no scopes (they depend on what the project calls): set overview.auth.scopes",
                    );
                }
                let auth =
                    json!({"kind": "oauth2", "token_url": token_url, "scopes": scopes, "rotates_refresh_token": rotates_refresh_token});
                (auth, draft::oauth_secrets(&env, true))
            }
            AuthFact::Unsupported { note, source } => {
                d.todo(
                    "overview.auth",
                    Gap::Auth,
                    format!("{note}: the harness sends credentials in headers only, set overview.auth by hand ({source})"),
                );
                (json!({"kind": "none"}), Vec::new())
            }
        };
        if !matches!(p.auth, AuthFact::Unsupported { .. }) {
            d.notes.push(("overview.auth".into(), cite(note, p.auth.source())));
        }
        d.overview.insert("auth".into(), auth);
        d.secrets = secrets;
    }
    if let Some(b) = &p.base_url
        && d.has(Gap::BaseUrl)
    {
        d.settle(Gap::BaseUrl);
        match (&b.url, &b.template) {
            (Some(url), _) => {
                d.overview.insert("base_url".into(), json!(url));
                d.notes.push(("overview.base_url".into(), cite("the API's base URL", &b.source)));
            }
            (None, template) => d.todo(
                "overview.base_url",
                Gap::BaseUrl,
                format!("the base URL differs per account: set it from {} ({})", template.as_deref().unwrap_or("the docs"), b.source),
            ),
        }
    }
    if let Some(s) = &p.sandbox {
        if !d.overview.contains_key("sandbox_url") {
            d.settle(Gap::Sandbox);
            match &s.url {
                Some(url) => {
                    d.overview.insert("sandbox_url".into(), json!(url));
                    d.notes.push(("overview.sandbox_url".into(), cite(&s.how, &s.source)));
                }
                None => d.todo(
                    "overview.base_url",
                    Gap::Sandbox,
                    format!("no single sandbox URL: {}; set overview.sandbox_url ({})", s.how, s.source),
                ),
            }
        }
        if d.has(Gap::SandboxPlan) {
            d.settle(Gap::SandboxPlan);
            d.test_plan.insert("sandbox".into(), json!(s.how));
            d.notes.push(("test_plan.sandbox".into(), cite("the provider's sandbox", &s.source)));
        }
    }
    if let Some(r) = &p.rate_limit
        && !d.overview.contains_key("rate_limit")
    {
        d.settle(Gap::RateLimit);
        let mut what: Vec<String> = r.note.iter().cloned().collect();
        if let Some(s) = r.sandbox_limit {
            what.push(format!("sandbox: {s}"));
        }
        if !r.headers.is_empty() {
            what.push(format!("headers: {}", r.headers.join(", ")));
        }
        if !r.rows.is_empty() {
            d.error_rows = r.rows.iter().filter_map(|row| serde_json::to_value(row).ok()).collect();
            d.notes.push(("error_handling".into(), cite("how a limited answer looks", &r.source)));
        }
        match r.limit {
            Some(limit) => {
                d.overview.insert("rate_limit".into(), json!(limit.to_string()));
                d.notes.push(("overview.rate_limit".into(), cite(&what.join("; "), &r.source)));
            }
            None => d.todo(
                "overview.base_url",
                Gap::RateLimit,
                format!(
                    "no single rate limit documented ({}): set overview.rate_limit to the project's budget ({})",
                    what.join("; "),
                    r.source
                ),
            ),
        }
    }
    if let Some(i) = &p.idempotency {
        let posts: Vec<usize> = d.todos.iter().filter_map(|t| if let Gap::Idempotency(n) = t.gap { Some(n) } else { None }).collect();
        for n in posts {
            d.settle(Gap::Idempotency(n));
            if let Some(e) = d.endpoints.get_mut(n).and_then(Value::as_object_mut) {
                e.insert("idempotent".into(), json!(true));
                e.insert("idempotency_header".into(), json!(i.header));
            }
            let text = format!("{} makes a POST safe to retry: send one key per call, the same on every attempt", i.header);
            d.notes.push((format!("endpoints[{n}].idempotent"), cite(&text, &i.source)));
        }
    }
    if let Some(f) = &p.pagination {
        // a GET endpoint whose answer is a page of this shape, and says no pagination yet
        for (n, e) in d.endpoints.iter_mut().enumerate() {
            let Some(e) = e.as_object_mut().filter(|e| e.get("method") == Some(&json!("GET")) && !e.contains_key("pagination")) else {
                continue;
            };
            let Some(example) = e.get_mut("response").and_then(|r| r.get_mut("example")) else { continue };
            let last = f.how.last_page(example);
            if f.how.problem(&last).is_some() {
                continue;
            }
            *example = last;
            e.insert("pagination".into(), serde_json::to_value(&f.how).unwrap_or_default());
            let text = format!("list results come in pages ({}): the client follows every page", f.how.style());
            d.notes.push((format!("endpoints[{n}].pagination"), cite(&text, &f.source)));
        }
    }
    if let Some(w) = &p.webhook {
        match (w.scheme, &w.note) {
            (Some(scheme), _) => {
                d.notes.push((
                    format!("secrets[{}]", d.secrets.len()),
                    cite(&format!("webhooks are signed with the {scheme} scheme: verify every delivery (oc-integrate webhook verify --scheme {scheme})"), &w.source),
                ));
                d.secrets.push(json!({"name": "Webhook signing secret", "storage": "TODO: vault / KV / CI secret", "rotation": "TODO", "env": format!("{env}_WEBHOOK_SECRET")}));
            }
            (None, note) => d.todo(
                "secrets",
                Gap::Other,
                format!("webhooks: {}; verify them yourself ({})", note.as_deref().unwrap_or("unknown scheme"), w.source),
            ),
        }
    }
    if !d.overview.contains_key("docs") {
        d.overview.insert("docs".into(), json!(p.docs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_loads_and_every_catalog_file_is_embedded() {
        let all = providers().unwrap_or_else(|e| panic!("{e}"));
        let mut on_disk: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/catalog"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| format!("catalog/{}", e.file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = FILES.iter().map(|(f, _)| *f).collect();
        assert_eq!(on_disk, embedded);
        // the seed's Common Integration Patterns table, plus the issue's four
        for name in ["salesforce", "slack", "telegram", "stripe", "google", "sendgrid", "github", "linear", "jira", "twilio", "shopify"] {
            assert!(all.iter().any(|p| p.is_named(name)), "{name}");
        }
        // no two providers answer to the same name
        let mut names: Vec<&str> =
            all.iter().flat_map(|p| std::iter::once(p.id.as_str()).chain(p.aliases.iter().map(String::as_str))).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "a name or alias is used twice");
    }

    #[test]
    fn lookup_by_id_alias_and_spelling() {
        assert_eq!(find("google_apis").unwrap().unwrap().name, "Google APIs");
        assert_eq!(find("Google-APIs").unwrap().unwrap().id, "google_apis");
        assert_eq!(find("sendgrid").unwrap().unwrap().build.mode, BuildMode::Quick);
        assert!(find("acme").unwrap().is_none());
        let err = get("acme").unwrap_err().to_string();
        assert!(err.starts_with("expected a provider the catalog knows (github, google_apis, jira,"), "{err}");
        assert!(err.ends_with("found \"acme\": pass --openapi <document> to plan from its API description"), "{err}");
    }

    #[test]
    fn a_broken_file_is_an_error_at_its_line() {
        let good = FILES.iter().find(|(f, _)| *f == "catalog/stripe.yaml").unwrap().1;
        let cases = [
            (good.replace("limit: 100/s", "limit: 100 per second"), "catalog/stripe.yaml:21:10: rate_limit.limit: expected a rate like"),
            (
                good.replace("scheme: stripe", "scheme: stripey"),
                "catalog/stripe.yaml:32:11: webhook.scheme: expected one of stripe, github,",
            ),
            (
                good.replace("  source: https://docs.stripe.com/rate-limits", "  source: docs"),
                "catalog/stripe.yaml:24:11: rate_limit.source: expected an absolute https URL",
            ),
            (
                good.replace("  header: Idempotency-Key", "  heder: Idempotency-Key"),
                "catalog/stripe.yaml:26:3: idempotency.heder: expected header or source, found unknown field \"heder\"",
            ),
            (
                good.replace("kind: api_key", "kind: apikey"),
                "catalog/stripe.yaml:8:9: auth.kind: expected one of api_key, basic, oauth2, unsupported, found \"apikey\"",
            ),
            (
                good.replace(
                    "  url: https://api.stripe.com\n  source: https://docs.stripe.com/api\n",
                    "  source: https://docs.stripe.com/api\n",
                ),
                "catalog/stripe.yaml:14:9: base_url: expected either url or template, found both or neither",
            ),
            (good.replace("name: Stripe", "name: [Stripe"), "catalog/stripe.yaml:"),
        ];
        for (text, want) in cases {
            let err = parse("catalog/stripe.yaml", &text).unwrap_err().to_string();
            assert!(err.starts_with(want), "expected {want:?}, found {err:?}");
        }
    }

    #[test]
    fn every_fact_names_its_source() {
        for p in providers().unwrap() {
            let line = p.locate("auth.source");
            assert!(line.starts_with(&format!("catalog/{}.yaml:", p.id)) && !line.ends_with(":1:1"), "{line}");
        }
    }
}
