//! Secrets never reach output. Planted canaries — the harness-issued credentials, tokens
//! minted mid-trial, and the value of an environment variable named in a spec's secrets —
//! are leaked by a deliberately careless client into its errors, its returned values and
//! its panics; none of them may appear in any text the harness produces.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::Path;
use std::process::Command;

use oc_integrate::{Binding, Call, ClientError, Handler, Harness, ReceiverContext, redact};
use serde_json::json;

const ENV_CANARY: &str = "sk_live_CANARY_7f3a9c2e5b";
/// The sandbox key of the sandbox-trial run (localstripe takes any `sk_test_…` key).
const SANDBOX_CANARY: &str = "sk_test_CANARY_3e9d52a1c7";
/// The PM tracker's token (the fake GitHub accepts it; a careless error of its quotes it back).
const GITHUB_CANARY: &str = "ghp_CANARY_5d1e7a9b3c08";
/// Every credential the harness issues starts with one of these (webhook secrets too).
const ISSUED: [&str; 6] = ["oc_key_", "oc_secret_", "oc_at_", "oc_rt_", "oc_whsec_", "whsec_"];

/// Wraps a correct example binding and leaks every secret it can reach.
fn leaky(inner: Binding, env: &'static str) -> Binding {
    Binding::new(
        move |ctx| {
            let c = ctx.credentials();
            let secrets = [&c.api_key, &c.client_secret, &c.access_token, &c.refresh_token, &c.webhook_secret]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(",");
            (inner.instantiate(ctx), secrets)
        },
        move |state, call: Call| async move {
            let (client, secrets) = &*state;
            let env_value = std::env::var(env).unwrap_or_default();
            let leak = format!("creds={secrets} env={env_value}");
            match client(call).await {
                Ok(mut v) => {
                    if let Some(m) = v.as_object_mut() {
                        m.insert("debug".into(), json!(leak));
                    }
                    Ok(v)
                }
                Err(e) if e.kind == oc_integrate::ErrorKind::InvalidResponse => panic!("cannot parse response ({leak})"),
                Err(e) => Err(ClientError { message: format!("{} [{leak}]", e.message), ..e }),
            }
        },
    )
    .with_receiver(leaky_handler)
}

/// A webhook handler that answers every delivery with a 400 quoting its signing secret.
async fn leaky_handler(ctx: ReceiverContext) -> Result<Handler, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let secret = ctx.secret().to_string();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = format!("invalid signature for secret {secret}");
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 16];
                let _ = socket.read(&mut buf).await;
                let head = format!("HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                let _ = socket.write_all(format!("{head}{body}").as_bytes()).await;
            });
        }
    });
    Ok(Handler::new(url, || 0).keep(support::AbortOnDrop(server)))
}

fn assert_clean(text: &str, what: &str) {
    assert!(!text.contains(ENV_CANARY), "{what} leaks the env canary:\n{text}");
    assert!(!text.contains(SANDBOX_CANARY), "{what} leaks the sandbox key:\n{text}");
    assert!(!text.contains(GITHUB_CANARY), "{what} leaks the PM tracker's token:\n{text}");
    for p in ISSUED {
        assert!(!text.contains(p), "{what} leaks an issued credential ({p}…):\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_output() {
    // SAFETY: this test binary sets the variable before any thread reads it.
    unsafe { std::env::set_var("PAYMENTS_API_KEY", ENV_CANARY) };
    // the leaky clients fail most cases on purpose; deciding each again alone adds nothing
    // here but minutes (the notes a quiet re-run adds are checked in tests/confirm.rs)
    let harness = Harness::new("examples/integrations")
        .concurrency(32)
        .quiet_reruns(false)
        .bind("payments", leaky(clients::payments::binding(&[]), "PAYMENTS_API_KEY"))
        .bind("tracker", leaky(clients::tracker::binding(&[]), "PAYMENTS_API_KEY"));
    let results = harness.evaluate(|_| true).await.unwrap();
    let mut masked = 0;
    for r in &results {
        let o = &r.outcome;
        let all = [r.message.as_str(), &o.expected, &o.actual, &o.problems.join("\n"), &o.evidence].join("\n");
        assert_clean(&all, &r.case.name());
        masked += all.matches("[REDACTED]").count();
    }
    // the handler's leak reached the failure text, masked
    assert!(
        results.iter().any(|r| r.message.contains("invalid signature for secret [REDACTED]")),
        "the leaky handler's answers must appear in receiver failures, masked"
    );
    let mut services = Vec::new();
    for service in ["payments", "tracker"] {
        let spec = oc_integrate::spec::load_file(std::path::Path::new(&format!("examples/integrations/{service}/spec.yaml"))).unwrap();
        let mut run =
            oc_integrate::results::ServiceRun::new(std::sync::Arc::new(spec.clone()), oc_integrate::scenario::plan(&spec), vec![]);
        run.cases = results.iter().filter(|r| r.case.service == service).cloned().collect();
        let round = oc_integrate::report::render(&run, 1, 2);
        assert_clean(&round, &format!("the {service} round report"));
        assert!(round.contains("**Escalated:**"), "the leaky client's round must fail and list its failures");
        services.push(run);
    }
    // the HTML report of the same run: every failing case with its timeline, masked
    let run = oc_integrate::results::Run {
        started: std::time::SystemTime::UNIX_EPOCH,
        elapsed: std::time::Duration::ZERO,
        services,
        setup: vec![],
    };
    let html = oc_integrate::report::html::render(&run);
    assert_clean(&html, "the HTML report");
    assert!(html.contains("[REDACTED]") && html.contains("<svg"), "the leaky client's failures must reach the HTML report, masked");
    assert!(results.iter().any(|r| !r.outcome.passed), "the leaky client must fail cases, so failure output is exercised");
    assert!(results.iter().any(|r| r.outcome.evidence.contains("[REDACTED]")), "diffs must carry masked leaks");
    assert!(masked > results.len(), "leaks must have been attempted and masked ({masked} masks)");
}

/// Every file a complete run writes (round reports, checkpoint, JUnit, step summary, the
/// HTML report) and everything it prints (annotations included) is free of the canaries. The run happens
/// in a child process, so its environment (GitHub Actions, the env canary) is its own.
#[test]
fn no_secret_reaches_any_file_a_run_writes() {
    if let Ok(root) = std::env::var("OC_CANARY_RUN") {
        let root = Path::new(&root);
        let _ = Harness::new(root.join("integrations"))
            .quiet_reruns(false)
            .bind("payments", leaky(clients::payments::binding(&[]), "PAYMENTS_API_KEY"))
            .bind("tracker", leaky(clients::tracker::binding(&[]), "PAYMENTS_API_KEY"))
            .run_with(libtest_mimic::Arguments { test_threads: Some(32), ..Default::default() });
        return;
    }
    let root = support::scratch("canary");
    for service in ["payments", "tracker"] {
        support::copy_example(service, &root.join("integrations").join(service));
    }
    // PM write-back on: the comments carry the leaky clients' failures, and the tracker's
    // first refusal quotes the request's credential (its token) back
    let fake = support::trackers::Fake::start_with(&[("FAKE_GITHUB_TOKEN", GITHUB_CANARY)]);
    fake.fault(
        serde_json::json!({"provider": "github", "method": "POST", "path_contains": "/comments", "status": 422, "count": 1, "echo": true}),
    );
    let pm_yaml = root.join(".opchain/pm.yaml");
    std::fs::create_dir_all(pm_yaml.parent().unwrap()).unwrap();
    std::fs::write(&pm_yaml, "provider: github-issues\nteam_or_project: acme/shop\n").unwrap();
    let api = fake.process.url("/github");
    let pm = [
        ("OC_PM_CONFIG", pm_yaml.to_str().unwrap()),
        ("GITHUB_API_URL", &api),
        ("GITHUB_TOKEN", GITHUB_CANARY),
        ("OC_TICKET", "acme/shop#1"),
    ];
    let out = canary_run(&root, &[&[("PAYMENTS_API_KEY", ENV_CANARY)][..], &pm].concat());
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_clean(&stdout, "the run's stdout");
    assert_clean(&stderr, "the run's stderr");
    assert!(stdout.contains("::error file="), "annotations must have been printed:\n{stdout}");
    let files = support::files(&root);
    for want in ["summary.md", "junit.xml", "state.json", "test-round-1.md", "report.html"] {
        assert!(files.iter().any(|f| f.ends_with(want)), "the run must have written {want}: {files:?}");
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert_clean(&text, &f.display().to_string());
    }
    assert!(std::fs::read_to_string(root.join("junit.xml")).unwrap().contains("[REDACTED]"), "leaks reached the JUnit failures, masked");
    // what reached the tracker: one round's comment written (masked leaks), the other refused
    // with the token quoted back, which the notes and the deferred action show masked
    let tracker = fake.state().to_string();
    assert_clean(&tracker, "the comments written to the tracker");
    let comments = fake.comments(oc_integrate::pm::Provider::GithubIssues, "acme/shop#1");
    assert_eq!(comments.len(), 1, "{stdout}");
    assert!(comments[0].contains("Failures:") && comments[0].contains("[REDACTED]"), "{}", comments[0]);
    assert!(stdout.contains("pm: comment ") && stdout.contains("422"), "{stdout}");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join(".checkpoints/state.json")).unwrap()).unwrap();
    let error = state["pm_deferred_actions"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("echo_authorization") && error.contains("[REDACTED]"), "the quoted token, masked: {state:#}");
}

/// A complete run of the leaky bindings over `root/integrations` in a child process (as a
/// GitHub Actions job, every output written under `root`), with `env` set.
fn canary_run(root: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["no_secret_reaches_any_file_a_run_writes", "--exact", "--nocapture"])
        .env("OC_CANARY_RUN", root)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", root.join("summary.md"))
        .env("OC_JUNIT", root.join("junit.xml"))
        .env("OC_HTML", root.join("report.html"))
        .env("OC_CHECKPOINT", root.join(".checkpoints/state.json"))
        .env_remove("PAYMENTS_SANDBOX_URL")
        .env_remove("OC_REQUIRE_SANDBOX")
        .env_remove("NEXTEST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The sandbox trials, run by the leaky client against localstripe with a sandbox key, leak it
/// into the client's errors (the spec asks for a customer that does not exist, so the
/// client's error reaches the failure text); it reaches no output, file or recording.
#[test]
fn no_sandbox_key_reaches_any_output_or_recording() {
    static INSTALLED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    INSTALLED.get_or_init(|| support::pip_target(&repo.join("sandboxes/localstripe"), &["--no-deps"]));
    let stripe = oc_integrate::standin::LocalSandbox::localstripe(repo).unwrap_or_else(|e| panic!("{e}"));
    let root = support::scratch("canary-sandbox");
    for service in ["payments", "tracker"] {
        support::copy_example(service, &root.join("integrations").join(service));
    }
    let spec = root.join("integrations/payments/spec.yaml");
    let text = std::fs::read_to_string(&spec).unwrap().replace("params: {id: \"${customer.id}\"}", "params: {id: cus_oc_canary_missing}");
    std::fs::write(&spec, text).unwrap();
    let url = stripe.url("/v1");
    let out = canary_run(&root, &[("PAYMENTS_API_KEY", SANDBOX_CANARY), ("PAYMENTS_SANDBOX_URL", &url), ("OC_REQUIRE_SANDBOX", "1")]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_clean(&stdout, "the run's stdout");
    assert_clean(&stderr, "the run's stderr");
    let outcome = |trial: &str| {
        let prefix = format!("test {trial} ");
        stdout.lines().find_map(|l| l.strip_prefix(&prefix)).map(|rest| rest.trim_start_matches([' ', '.']).trim().to_string())
    };
    assert_eq!(outcome("payments::sandbox::create_customer").as_deref(), Some("ok"), "the sandbox trials must have run:\n{stdout}");
    assert_eq!(outcome("payments::sandbox::get_customer").as_deref(), Some("FAILED"), "{stdout}");
    assert!(stdout.contains("creds=[REDACTED] env=[REDACTED]"), "the client's leak must reach the failure text, masked:\n{stdout}");
    let recordings = std::env::current_exe().unwrap().ancestors().nth(3).unwrap().join("oc-integrate/recordings");
    let mut files = support::files(&root);
    files.extend(support::files(&recordings).into_iter().filter(|f| f.to_string_lossy().contains("payments.sandbox.")));
    assert!(files.iter().any(|f| f.ends_with("payments.sandbox.get_customer.json")), "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert_clean(&text, &f.display().to_string());
    }
}

/// The panic hook the harness installs masks secrets in panic messages. Run in a child
/// process so its stderr can be read.
#[test]
fn panic_messages_are_redacted() {
    if std::env::var("OC_CANARY_CHILD").is_ok() {
        redact::register(ENV_CANARY);
        oc_integrate::trial::install_panic_hook();
        panic!("client blew up with key {ENV_CANARY}");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["panic_messages_are_redacted", "--exact", "--nocapture", "--test-threads=1"])
        .env("OC_CANARY_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("client blew up with key [REDACTED]"), "{stderr}");
    assert_clean(&stderr, "the panic hook");
    assert_clean(&String::from_utf8_lossy(&out.stdout), "the panic hook");
}

/// A handler whose processed counter panics (quoting the signing secret), and one whose kept
/// guard panics when dropped: each is a located, failed receiver case with the secret
/// masked, never a panic out of the harness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_counter_or_guard_is_a_masked_failure() {
    struct PanicsOnDrop(String);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("guard broke with {}", self.0);
        }
    }
    oc_integrate::trial::install_panic_hook();
    for counter_panics in [true, false] {
        let binding = clients::payments::binding(&[]).with_receiver(move |ctx: ReceiverContext| async move {
            let secret = ctx.secret().to_string();
            let real = clients::webhooks::start(ctx, &[]).await?;
            let url = real.url().to_string();
            let handler = if counter_panics {
                Handler::new(url, move || panic!("counter broke with {secret}"))
            } else {
                Handler::new(url, || 0).keep(PanicsOnDrop(secret))
            };
            Ok(handler.keep(real))
        });
        let results = Harness::new("examples/integrations")
            .bind("payments", binding)
            .evaluate(|n| n == "payments::webhook_receiver::webhook_missing_signature")
            .await
            .unwrap();
        let r = &results[0];
        assert!(!r.outcome.passed, "{}", r.message);
        let want = if counter_panics { "processed counter to answer, found it panicked" } else { "its guard panicked when dropped" };
        assert!(r.message.contains(want), "{}", r.message);
        assert!(r.message.contains("[REDACTED]") && r.message.contains("reproduce:"), "{}", r.message);
        assert_clean(&r.message, "a panicking handler's failure");
    }
}

/// The secret audit names where a leaked secret is, never the secret: the env canary (the
/// value of a declared variable) and a key of Stripe's live format (built here, so this file
/// holds none), committed and deleted in a scratch repository, reach neither the table nor
/// the JSON; both are found.
#[test]
fn no_secret_reaches_the_secret_audit() {
    let root = support::scratch("canary-secrets");
    support::copy_example("payments", &root.join("integrations/payments"));
    support::git(&root, &["init", "-q"]);
    let live = ["sk", "live", "Q7vR2kX9mPz4LwT8nYc3HbJ6"].join("_");
    support::commit(
        &root,
        "config/keys.txt",
        &format!(
            "PAYMENTS_API_KEY={ENV_CANARY}
backup = \"{live}\"\n"
        ),
        "keys",
    );
    support::git(&root, &["rm", "-q", "config/keys.txt"]);
    support::git(&root, &["commit", "-q", "-m", "remove the keys"]);
    for json in [false, true] {
        let out = Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
            .args(["secrets", "integrations"])
            .args(json.then_some("--json"))
            .current_dir(&root)
            .env("PAYMENTS_API_KEY", ENV_CANARY)
            .env("OC_CHECKPOINT", root.join("checkpoint.json"))
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "both are findings:\n{text}");
        assert_clean(&text, "the secret audit");
        assert!(!text.contains(&live), "the secret audit leaks the live key:\n{text}");
        assert!(text.contains("config/keys.txt") && text.contains("sk_live_…HbJ6") && text.contains("$PAYMENTS_API_KEY value"), "{text}");
    }
}

/// Nothing crosses the MCP protocol unredacted. A scratch project whose round report and
/// whose committed history hold the value of a variable the spec declares (as an earlier,
/// careless run or commit would leave them) is served to the official Python MCP client: the
/// round report through `report` and as a resource, an example file as a resource, the audit through `secrets`, a delivery
/// signed and checked with that variable as the secret, the state verbs. No answer, and
/// nothing the server or its verbs print on stderr, holds the canary; the masks show it was
/// there to be found.
#[test]
fn no_secret_crosses_the_mcp_protocol() {
    let root = support::scratch("canary-mcp");
    support::copy_example("payments", &root.join("integrations/payments"));
    support::git(&root, &["init", "-q"]);
    support::commit(&root, "config/keys.txt", &format!("PAYMENTS_API_KEY={ENV_CANARY}\n"), "keys");
    let report = format!(
        "## Integration Test — Payments — Round 1\n\n### Verdict: FAIL\n\nthe client said: auth failed for key {ENV_CANARY}\n\nScore: 0/1 cases pass.\n"
    );
    std::fs::write(root.join("integrations/payments/test-round-1.md"), report).unwrap();
    // an example file a spec points into, holding the key as a careless capture would
    let examples = json!({"get_customer": {"note": format!("captured with key {ENV_CANARY}")}});
    std::fs::write(root.join("integrations/payments/examples.json"), examples.to_string()).unwrap();
    let steps = json!([
        {"op": "call", "tool": "report", "args": {"service": "payments"}},
        {"op": "read", "uri": "oc-integrate://integrations/payments/test-round-1.md"},
        {"op": "call", "tool": "secrets", "args": {}},
        {"op": "call", "tool": "webhook_sign", "args": {"scheme": "stripe", "secret_env": "PAYMENTS_API_KEY", "body": ENV_CANARY, "timestamp": 1700000000}},
        {"op": "call", "tool": "webhook_verify", "args": {"scheme": "stripe", "secret_env": "PAYMENTS_API_KEY", "body": "{}",
                                                          "headers": [format!("Stripe-Signature: t=1700000000,v1={ENV_CANARY}")], "now": 1700000000}},
        {"op": "call", "tool": "list", "args": {}},
        {"op": "call", "tool": "checkpoint", "args": {}},
        {"op": "resources"},
        {"op": "read", "uri": "oc-integrate://integrations/payments/examples.json"},
    ]);
    let checkpoint = root.join("checkpoint.json");
    let envs = [("PAYMENTS_API_KEY", ENV_CANARY), ("OC_CHECKPOINT", checkpoint.to_str().unwrap())];
    let (results, stderr) = support::mcp_session(&root, &["mcp"], &envs, &steps);
    let all = results.to_string();
    assert_clean(&all, "the MCP answers");
    assert_clean(&stderr, "the MCP server's and client's stderr");
    assert!(results[0]["structuredContent"]["data"][0]["markdown"].as_str().is_some_and(|m| m.contains("for key [REDACTED]")), "{all}");
    assert!(results[1]["contents"][0]["text"].as_str().is_some_and(|m| m.contains("for key [REDACTED]")), "{all}");
    assert!(results[2]["structuredContent"]["text"].as_str().unwrap_or_default().is_empty() && all.contains("config/keys.txt"), "{all}");
    assert_eq!(results[3]["structuredContent"]["exit_code"], 0, "{all}");
    assert_eq!(results[4]["structuredContent"]["exit_code"], 1, "a forged signature is refused: {all}");
    assert!(results[8]["contents"][0]["text"].as_str().is_some_and(|m| m.contains("key [REDACTED]")), "{all}");
}

/// `plan --ticket` reads the ticket through the tracker as planning context: the ticket's text,
/// which quotes the tracker's token, is shown masked, and the spec and integration-spec.md
/// cite the ticket.
#[test]
fn a_fetched_ticket_reaches_plan_output_masked() {
    let fake = support::trackers::Fake::start_with(&[("FAKE_GITHUB_TOKEN", GITHUB_CANARY)]);
    let n = fake.github_issue(
        GITHUB_CANARY,
        "Integrate Stripe payments",
        &format!("Charge cards.\nDebug: curl -H 'Authorization: Bearer {GITHUB_CANARY}'"),
        &format!("use {GITHUB_CANARY} for the sandbox"),
    );
    let root = support::scratch("canary-plan");
    std::fs::create_dir_all(root.join(".opchain")).unwrap();
    std::fs::write(root.join(".opchain/pm.yaml"), "provider: github-issues\nteam_or_project: acme/shop\n").unwrap();
    let ticket = format!("https://github.com/acme/shop/issues/{n}");
    let out = Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
        .args(["plan", "stripe", "--ticket", &ticket])
        .current_dir(&root)
        .env("GITHUB_API_URL", fake.process.url("/github"))
        .env("GITHUB_TOKEN", GITHUB_CANARY)
        .env_remove("OC_PM_CONFIG")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_clean(&stdout, "plan's output");
    assert_clean(&stderr, "plan's errors");
    assert!(stdout.contains(&format!("ticket acme/shop#{n} (open): Integrate Stripe payments")), "{stdout}");
    assert!(stdout.contains("Debug: curl -H 'Authorization: [REDACTED]'") && stdout.contains("use [REDACTED] for the sandbox"), "{stdout}");
    let spec = std::fs::read_to_string(root.join("integrations/stripe/spec.yaml")).unwrap();
    assert!(spec.contains(&format!("ticket: \"acme/shop#{n}\"")), "{spec}");
    assert_eq!(
        oc_integrate::spec::load_file(&root.join("integrations/stripe/spec.yaml")).unwrap().ticket.as_deref(),
        Some(&*format!("acme/shop#{n}"))
    );
    let doc = std::fs::read_to_string(root.join("integrations/stripe/integration-spec.md")).unwrap();
    assert!(doc.contains(&format!("- **PM ticket:** acme/shop#{n}")), "{doc}");
    for f in support::files(&root) {
        assert_clean(&std::fs::read_to_string(&f).unwrap_or_default(), &f.display().to_string());
    }
}
