//! The sandbox trials (`<service>::sandbox::…`) of the payments example against localstripe,
//! started by the test (installed on demand from `sandboxes/localstripe`): they pass with
//! the correct client; a missing credential makes them ignored with the reason, and failing
//! under `OC_REQUIRE_SANDBOX=1`; a client's write to an undeclared host and a URL override
//! aimed at production are refused before any request leaves; a response off its schema is
//! named by JSON path, expected and found; the sandbox key never reaches any output; and
//! their progress is drawn on a terminal (a pty through `script`), never into a pipe or in CI.
//!
//! Each run happens in a child process of this test binary, so its environment is its own.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clients::flaw::Flaw;
use oc_integrate::standin::LocalSandbox;
use oc_integrate::{Binding, ClientError, ErrorKind, Harness, outcome};

/// The sandbox key the runs use; a canary: it must never appear in any output.
const KEY: &str = "sk_test_CANARY_sandbox_4d1e8b";

fn localstripe() -> LocalSandbox {
    support::localstripe().unwrap_or_else(|e| panic!("{e}"))
}

/// A client that sends its write to `target` (a host the spec does not declare as sandbox)
/// through the harness's proxy.
fn stray_writer(target: String) -> Binding {
    Binding::new(
        move |ctx| {
            let proxy = reqwest::Proxy::all(ctx.proxy_url().unwrap_or("http://127.0.0.1:9")).unwrap();
            (reqwest::Client::builder().proxy(proxy).build().unwrap(), target.clone())
        },
        |client, _call| async move {
            let (http, target) = &*client;
            let r = http.post(format!("{target}/v1/customers")).json(&serde_json::json!({"email": "ada@example.com"})).send().await;
            match r {
                Ok(r) => outcome(Ok::<_, ClientError>(serde_json::json!({"status": r.status().as_u16()}))),
                Err(e) => Err(ClientError::new(ErrorKind::Connection, e.to_string())),
            }
        },
    )
}

/// In the child: run the harness on `OC_SBT_ROOT` with the binding `OC_SBT_CLIENT` names
/// (the payments client, a stray writer, or `tracker` with the flaws `OC_SBT_FLAWS` names).
fn child(root: &Path) {
    let (service, binding) = match std::env::var("OC_SBT_CLIENT").as_deref() {
        Ok(target) if target.starts_with("http") => ("payments", stray_writer(target.to_string())),
        Ok("tracker") => {
            let names = std::env::var("OC_SBT_FLAWS").unwrap_or_default();
            let flaws: Vec<Flaw> = names.split(',').filter(|n| !n.is_empty()).map(|n| Flaw::named(n).unwrap()).collect();
            ("tracker", clients::tracker::binding(Vec::leak(flaws)))
        }
        _ => ("payments", clients::payments::binding(&[])),
    };
    let filter = std::env::var("OC_SBT_FILTER").ok();
    let code = Harness::new(root.join("integrations")).bind(service, binding).run_with(libtest_mimic::Arguments {
        filter,
        test_threads: Some(16),
        ..Default::default()
    });
    std::process::exit(if code == std::process::ExitCode::SUCCESS { 0 } else { 101 });
}

/// Run the harness in a child on a copy of the payments example, with `env` set
/// (`PAYMENTS_API_KEY`, `PAYMENTS_SANDBOX_URL` and `OC_REQUIRE_SANDBOX` removed unless given).
fn run(root: &Path, filter: Option<&str>, env: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(CHILD);
    let out = with_child_env(&mut cmd, root, filter, env).output().unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

/// The arguments that run [`child_run`] alone in a child of this test binary.
const CHILD: [&str; 3] = ["child_run", "--exact", "--nocapture"];

/// `cmd` with the environment of a child run ([`run`]).
fn with_child_env<'c>(cmd: &'c mut Command, root: &Path, filter: Option<&str>, env: &[(&str, &str)]) -> &'c mut Command {
    cmd.env("OC_SBT_ROOT", root)
        .env("OC_JUNIT", root.join("junit.xml"))
        .env("OC_CHECKPOINT", root.join(".checkpoints/state.json"))
        .env("GITHUB_STEP_SUMMARY", root.join("summary.md"))
        .env("GITHUB_ACTIONS", "true")
        .env_remove("PAYMENTS_API_KEY")
        .env_remove("PAYMENTS_SANDBOX_URL")
        .env_remove("TRACKER_SANDBOX_URL")
        .env_remove("TRACKER_TOKEN_URL")
        .env_remove("TRACKER_CLIENT_ID")
        .env_remove("TRACKER_CLIENT_SECRET")
        .env_remove("TRACKER_REFRESH_TOKEN")
        .env_remove("OC_REQUIRE_SANDBOX")
        .env_remove("OC_SANDBOX")
        .env_remove("NEXTEST");
    if let Some(f) = filter {
        cmd.env("OC_SBT_FILTER", f);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A scratch project holding the payments example (with `edit` applied to its spec).
fn project(name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    project_of("payments", name, edit)
}

/// A scratch project holding the example `service` (with `edit` applied to its spec).
fn project_of(service: &str, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let root = support::scratch(name);
    let dir = root.join("integrations").join(service);
    support::copy_example(service, &dir);
    let spec = std::fs::read_to_string(dir.join("spec.yaml")).unwrap();
    std::fs::write(dir.join("spec.yaml"), edit(spec)).unwrap();
    root
}

fn outcome_of<'a>(text: &'a str, trial: &str) -> &'a str {
    let prefix = format!("test {trial} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map(|rest| rest.trim_start_matches([' ', '.']).trim()).unwrap_or("(not run)")
}

#[test]
fn child_run() {
    if let Ok(root) = std::env::var("OC_SBT_ROOT") {
        child(Path::new(&root));
    }
}

const TRIALS: [&str; 7] = [
    "payments::sandbox::connectivity",
    "payments::sandbox::auth",
    "payments::sandbox::create_customer",
    "payments::sandbox::get_customer",
    "payments::sandbox::capture_payment",
    "payments::sandbox::idempotency::create_customer",
    "payments::sandbox::rate_limit",
];

/// A complete run against localstripe with OC_REQUIRE_SANDBOX=1: every sandbox trial passes,
/// the round report carries the sandbox's results, localstripe's ignored Idempotency-Key is
/// reported as a finding, and the key appears in no output, file or recording.
#[test]
fn example_sandbox_trials_pass_against_localstripe_and_never_show_the_key() {
    let stripe = localstripe();
    let root = project("sbt-pass", |s| s);
    let url = stripe.url("/v1");
    let (out, text) = run(&root, None, &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", &url), ("OC_REQUIRE_SANDBOX", "1")]);
    for t in TRIALS {
        assert_eq!(outcome_of(&text, t), "ok", "{t}:\n{text}");
    }
    assert!(out.status.success(), "{text}");
    let round = std::fs::read_to_string(root.join("integrations/payments/test-round-1.md")).unwrap();
    assert!(round.contains("- Endpoint reachable: Yes (reachable: HTTP "), "{round}");
    assert!(round.contains("- Auth succeeds: Yes (key accepted (HTTP 200), no key → HTTP 401"), "{round}");
    assert!(round.contains("| POST /customers | PASS | Sandbox: Matches schema; mock: "), "{round}");
    assert!(
        round.contains(
            "- Idempotency (create_customer): PASS — finding about the sandbox, not the client: the sandbox does not honour Idempotency-Key"
        ),
        "{round}"
    );
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    for t in TRIALS {
        assert!(junit.contains(&format!("<testcase name=\"{t}\"")), "{t} in JUnit");
    }
    assert_eq!(text.matches(KEY).count(), 0, "the run's output shows the key:\n{text}");
    let recordings = std::env::current_exe().unwrap().ancestors().nth(3).unwrap().join("oc-integrate/recordings");
    let mut files = support::files(&root);
    files.extend(TRIALS.iter().map(|t| recordings.join(format!("{}.json", t.replace("::", ".")))));
    for f in files {
        let body = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!body.contains(KEY), "{} shows the sandbox key", f.display());
    }
    let recorded = std::fs::read_to_string(recordings.join("payments.sandbox.create_customer.json")).unwrap();
    assert!(recorded.contains("\"Bearer [REDACTED]\"") || recorded.contains("\"authorization\": \"[REDACTED]\""), "{recorded}");
    let state = checkpoint(&root);
    assert_eq!((state["sandbox"].as_str(), state["endpoint_results"]["create_customer"].as_str()), (Some("PASS"), Some("PASS")), "{state}");
}

/// The service's entry in the run's checkpoint.
fn checkpoint(root: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(root.join(".checkpoints/state.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["skill_state"]["integrations"]["payments"].clone()
}

/// A sandbox trial that fails while every mock case passes fails the round, and the
/// checkpoint's result for its endpoint: a spec that requires the sandbox to honour
/// idempotency keys, against localstripe, which does not.
#[test]
fn a_failed_sandbox_trial_fails_its_endpoint_in_the_checkpoint() {
    let stripe = localstripe();
    let root = project("sbt-checkpoint", |s| s.replace("  honours_idempotency: false", "  honours_idempotency: true"));
    let url = stripe.url("/v1");
    let (out, text) = run(&root, None, &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", &url)]);
    assert!(!out.status.success(), "{text}");
    assert_eq!(outcome_of(&text, "payments::sandbox::idempotency::create_customer"), "FAILED", "{text}");
    assert_eq!(outcome_of(&text, "payments::create_customer::duplicate_post"), "ok", "{text}");
    let state = checkpoint(&root);
    assert_eq!(state["last_test"], "FAIL", "{state}");
    assert_eq!(state["sandbox"], "FAIL", "{state}");
    assert_eq!(state["endpoint_results"]["create_customer"], "FAIL", "{state}");
    assert_eq!(state["endpoint_results"]["get_customer"], "PASS", "{state}");
}

/// Without the key the sandbox trials are ignored with the reason; with OC_REQUIRE_SANDBOX=1 they fail.
#[test]
fn a_missing_credential_is_ignored_with_its_reason_or_fails_when_required() {
    let root = project("sbt-missing", |s| s);
    let (out, text) = run(&root, Some("sandbox"), &[]);
    assert!(out.status.success(), "{text}");
    for t in TRIALS {
        assert_eq!(outcome_of(&text, t), "ignored (set PAYMENTS_API_KEY to run)", "{t}:\n{text}");
    }
    // JUnit and the step summary say so too
    let junit = std::fs::read_to_string(root.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<skipped message=\"set PAYMENTS_API_KEY to run\"/>").count(), TRIALS.len(), "{junit}");
    let summary = std::fs::read_to_string(root.join("summary.md")).unwrap();
    assert!(summary.contains("| payments | ✅ PASS | 0/0 (7 ignored) | partial run (7 of "), "{summary}");
    let (out, text) = run(&root, Some("sandbox"), &[("OC_REQUIRE_SANDBOX", "1")]);
    assert!(!out.status.success(), "{text}");
    for t in TRIALS {
        assert_eq!(outcome_of(&text, t), "FAILED", "{t}:\n{text}");
    }
    assert!(text.contains("OC_REQUIRE_SANDBOX=1 requires the sandbox trials to run: set PAYMENTS_API_KEY to run"), "{text}");
}

/// `OC_SANDBOX=0` (a round of `oc-integrate test` without `--sandbox`) leaves the sandbox trials
/// out, each ignored saying so, even with the key set and the sandbox required; a value other
/// than 0 or 1 stops the harness before any trial, naming what it takes.
#[test]
fn the_sandbox_switch_leaves_the_trials_out_saying_so() {
    let root = project("sbt-off", |s| s);
    let env =
        [("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", "http://127.0.0.1:9/v1"), ("OC_REQUIRE_SANDBOX", "1"), ("OC_SANDBOX", "0")];
    let (out, text) = run(&root, Some("sandbox"), &env);
    assert!(out.status.success(), "{text}");
    for t in TRIALS {
        assert_eq!(
            outcome_of(&text, t),
            "ignored (the sandbox trials are off for this run (OC_SANDBOX=0: `oc-integrate test --sandbox` runs them))",
            "{t}:\n{text}"
        );
    }
    let (out, text) = run(&root, Some("sandbox"), &[("OC_SANDBOX", "yes")]);
    assert!(!out.status.success() && !text.contains("test payments::"), "no trial runs: {text}");
    assert!(text.contains("OC_SANDBOX: expected `0` (the sandbox trials are left out, ignored) or `1`"), "{text}");
}

/// On a terminal the sandbox trials' progress (`done/total`) is drawn on the last row, below
/// libtest's lines, and the row given back at the end; with stderr piped, or in CI, nothing
/// is (`OC_PROGRESS_AFTER_MS=0`: drawn at once, not after a second).
#[test]
fn sandbox_trials_show_progress_on_a_terminal_only() {
    let root = project("sbt-progress", |s| s);
    let at_once = [("OC_PROGRESS_AFTER_MS", "0")];
    let line = format!("sandbox and drift trials {n}/{n} [####################]", n = TRIALS.len());
    let mut terminal = support::on_terminal(&std::env::current_exe().unwrap(), &CHILD);
    let out = with_child_env(&mut terminal, &root, Some("sandbox"), &at_once).output().expect("util-linux `script` (Debian: bsdutils)");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains(&line), "{shown:?}");
    let (kept, given_back) = (shown.find("\x1b[1;23r").unwrap(), shown.rfind("\x1b7\x1b[r").unwrap());
    assert!(kept < shown.find(&line).unwrap() && shown.find(&line).unwrap() < given_back, "{shown:?}");
    assert_eq!(shown.matches("ignored (set PAYMENTS_API_KEY to run)").count(), TRIALS.len(), "libtest's lines are all there: {shown:?}");

    let mut piped = Command::new(std::env::current_exe().unwrap());
    let out = with_child_env(piped.args(CHILD), &root, Some("sandbox"), &at_once).env("TERM", "xterm").env_remove("CI").output().unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(!text.contains('\x1b') && !text.contains("sandbox and drift trials"), "{text:?}");

    let ci = with_child_env(&mut support::on_terminal(&std::env::current_exe().unwrap(), &CHILD), &root, Some("sandbox"), &at_once)
        .env("CI", "true")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&ci.stdout);
    assert!(ci.status.success() && !shown.contains("sandbox and drift trials") && !shown.contains("\x1b[1;23r"), "{shown:?}");
}

/// An unreachable sandbox is ignored with the reason, and a failure when required.
#[test]
fn an_unreachable_sandbox_is_ignored_or_fails_when_required() {
    let root = project("sbt-unreachable", |s| s);
    let (_socket, origin) = oc_integrate::server::refusing_origin().unwrap();
    let url = format!("{origin}/v1");
    let (out, text) = run(&root, Some("sandbox::auth"), &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", &url)]);
    assert!(out.status.success(), "{text}");
    assert!(outcome_of(&text, "payments::sandbox::auth").starts_with(&format!("ignored (the sandbox at {url} is unreachable")), "{text}");
    let (out, text) =
        run(&root, Some("sandbox::auth"), &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", &url), ("OC_REQUIRE_SANDBOX", "1")]);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("OC_REQUIRE_SANDBOX=1 requires the sandbox trials to run: the sandbox at {url} is unreachable")),
        "{text}"
    );
}

/// A client that sends a write to a host the spec does not declare as sandbox is refused
/// by the proxy: the trial fails naming the host, and nothing reaches that host.
#[test]
fn a_write_to_an_undeclared_host_is_refused_before_it_leaves() {
    let stripe = localstripe();
    let root = project("sbt-stray", |s| s);
    // a listener on another loopback host, counting the connections that reach it
    let stray = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let target = format!("http://{}", stray.local_addr().unwrap());
    stray.set_nonblocking(true).unwrap();
    let url = stripe.url("/v1");
    let (out, text) = run(
        &root,
        Some("sandbox::create_customer"),
        &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", &url), ("OC_SBT_CLIENT", &target)],
    );
    // connections made while the child ran wait in the backlog
    let mut reached = 0;
    while stray.accept().is_ok() {
        reached += 1;
    }
    assert!(!out.status.success(), "{text}");
    assert_eq!(outcome_of(&text, "payments::sandbox::create_customer"), "FAILED", "{text}");
    assert!(
        text.contains(&format!(
            "the client sent POST {target}/v1/customers: a write (POST) to host 127.0.0.2, which the spec does not declare as sandbox (allowed: 127.0.0.1, localhost); refused before it left"
        )),
        "{text}"
    );
    assert_eq!(reached, 0, "the refused write reached its host");
}

/// A URL override aimed at production's host is refused before any request, required or not.
#[test]
fn a_sandbox_url_override_aimed_at_production_is_refused() {
    let root = project("sbt-prod", |s| s);
    let (out, text) = run(
        &root,
        Some("sandbox::create_customer"),
        &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", "https://api.payments.example/v1")],
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(
            "\n---- payments::sandbox::create_customer ----\nPAYMENTS_SANDBOX_URL points at production's host (api.payments.example): refused before any request left"
        ),
        "{text}"
    );
}

/// A spec whose sandbox URL is production's is refused at load, with its location.
#[test]
fn a_spec_whose_sandbox_is_production_is_refused() {
    let root = project("sbt-spec", |s| s.replace("  url: http://127.0.0.1:8420/v1", "  url: https://api.payments.example/v1"));
    let file = root.join("integrations/payments/spec.yaml");
    let e = oc_integrate::spec::load_file(&file).unwrap_err().to_string();
    let line =
        std::fs::read_to_string(&file).unwrap().lines().position(|l| l.trim_start() == "url: https://api.payments.example/v1").unwrap() + 1;
    assert_eq!(
        e,
        format!(
            "{}:{line}:8: sandbox.url: expected a sandbox on a host other than production's (api.payments.example), found \"https://api.payments.example/v1\": writes would reach production",
            file.display()
        )
    );
}

/// A response that does not match the endpoint's schema fails its trial, naming the JSON path,
/// the expected and the found type.
#[test]
fn a_response_off_its_schema_names_path_expected_and_found() {
    let stripe = localstripe();
    // the spec claims `amount` is a string; localstripe answers an integer
    let root = project("sbt-shape", |s| {
        s.replace("          amount: {type: integer}", "          amount: {type: [string, \"null\"]}")
            .replace("amount: 2000, currency: usd, status: succeeded}", "amount: \"2000\", currency: usd, status: succeeded}")
    });
    let url = stripe.url("/v1");
    let (out, text) = run(&root, Some("sandbox::capture_payment"), &[("PAYMENTS_API_KEY", KEY), ("PAYMENTS_SANDBOX_URL", &url)]);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("expected the response to satisfy the schema, found at /amount: expected type null or string, found integer 2000"),
        "{text}"
    );
}

// ---------------------------------------------------------------- the tracker: OAuth 2.0

/// The tracker's client secret in these runs; a canary like [`KEY`].
const CLIENT_SECRET: &str = support::TRACKER_CLIENT_SECRET;

/// Run the tracker's harness in a child with the tracker's client (with `flaws`) and `env`.
fn run_tracker(root: &Path, filter: Option<&str>, flaws: &str, env: &[(&str, String)]) -> (Output, String) {
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend([("OC_SBT_CLIENT", "tracker"), ("OC_SBT_FLAWS", flaws)]);
    run(root, filter, &all)
}

const TRACKER_TRIALS: [&str; 8] = [
    "tracker::sandbox::connectivity",
    "tracker::sandbox::auth",
    "tracker::sandbox::token_refresh",
    "tracker::sandbox::list_issues",
    "tracker::sandbox::get_issue",
    "tracker::sandbox::create_comment",
    "tracker::sandbox::close_issue",
    "tracker::sandbox::rate_limit",
];

/// The tracker (OAuth 2.0 with rotating refresh tokens) against Prism serving GitHub's
/// description and oidc-provider as its authorization server, OC_REQUIRE_SANDBOX=1: every
/// sandbox trial passes with the correct client; the round report shows the token's expiry
/// and rotation and the client's refreshes; neither the client secret nor any token appears
/// in any output, file or recording.
#[test]
fn tracker_sandbox_trials_pass_against_prism_and_oidc_provider() {
    let (_oidc, env) = support::tracker_sandbox();
    let root = project_of("tracker", "sbt-tracker", |s| s);
    let mut env = env;
    env.push(("OC_REQUIRE_SANDBOX", "1".into()));
    let (out, text) = run_tracker(&root, None, "", &env);
    for t in TRACKER_TRIALS {
        assert_eq!(outcome_of(&text, t), "ok", "{t}:\n{text}");
    }
    assert!(out.status.success(), "{text}");
    let round = std::fs::read_to_string(root.join("integrations/tracker/test-round-1.md")).unwrap();
    assert!(
        round.contains("- Auth succeeds: Yes (token accepted (HTTP 200), no token → HTTP 401; token obtained (refresh_token grant), expires in 3600 s, refresh token rotated, a wrong client secret refused (HTTP 401))"),
        "{round}"
    );
    // the reachability probe reaches Prism itself, not the token gate in front of it
    assert!(round.contains("- Endpoint reachable: Yes (reachable: HTTP 200 in "), "{round}");
    assert!(
        round.contains(
            "- Token refresh: PASS — round 1: 401 then 1 token request(s) then 200; round 2: 401 then 1 token request(s) then 200"
        ),
        "{round}"
    );
    let refresh = env.iter().find(|(k, _)| *k == "TRACKER_REFRESH_TOKEN").map(|(_, v)| v.clone()).unwrap();
    let recordings = std::env::current_exe().unwrap().ancestors().nth(3).unwrap().join("oc-integrate/recordings");
    let mut files = support::files(&root);
    files.extend(TRACKER_TRIALS.iter().map(|t| recordings.join(format!("{}.json", t.replace("::", ".")))));
    for (what, canary) in [("client secret", CLIENT_SECRET), ("refresh token", refresh.as_str())] {
        assert_eq!(text.matches(canary).count(), 0, "the run's output shows the {what}:\n{text}");
        for f in &files {
            let body = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(!body.contains(canary), "{} shows the {what}", f.display());
        }
    }
    // the tokens the authorization server issued during the run are masked in the recordings too
    let refreshed = std::fs::read_to_string(recordings.join("tracker.sandbox.token_refresh.json")).unwrap();
    assert!(refreshed.contains("\"access_token\": \"[REDACTED]\"") && !refreshed.contains("\"refresh_token\": \"ey"), "{refreshed}");
}

/// A client that keeps the spent refresh token after a rotation fails the token-refresh
/// trial at the second revocation (the authorization server refuses the spent token); one
/// that never refreshes fails it at the first; one that authenticates with HTTP Basic where
/// the spec says client_secret_post fails it, though this authorization server accepts both.
#[rstest::rstest]
#[case::forgets_rotated(
    "forgets_rotated_refresh_token",
    "expected the refresh token issued by the previous refresh (refresh tokens rotate: the earlier one is spent), found another one: the authorization server answered 400 invalid_grant"
)]
#[case::never_refreshes(
    "never_refreshes",
    "expected the client to refresh its token (grant_type=refresh_token at the token URL) after the 401, found no token request"
)]
#[case::basic_auth(
    "refreshes_with_basic_auth",
    "expected the client to authenticate at the token endpoint with client_secret_post (client_id and client_secret in the form, no Basic header; overview.auth.client_auth), found HTTP Basic"
)]
fn a_client_that_mishandles_refresh_fails_the_token_refresh_trial(#[case] flaw: &str, #[case] want: &str) {
    let (_oidc, env) = support::tracker_sandbox();
    let root = project_of("tracker", &format!("sbt-{flaw}"), |s| s);
    let (out, text) = run_tracker(&root, Some("tracker::sandbox::token_refresh"), flaw, &env);
    assert!(!out.status.success(), "{text}");
    assert_eq!(outcome_of(&text, "tracker::sandbox::token_refresh"), "FAILED", "{text}");
    assert!(text.contains(want), "{text}");
}

/// Without the refresh token the tracker's sandbox trials are ignored, naming it.
#[test]
fn a_missing_refresh_token_is_named() {
    let (_oidc, env) = support::tracker_sandbox();
    let root = project_of("tracker", "sbt-tracker-missing", |s| s);
    let env: Vec<(&str, String)> = env.into_iter().filter(|(k, _)| *k != "TRACKER_REFRESH_TOKEN").collect();
    let (out, text) = run_tracker(&root, Some("tracker::sandbox"), "", &env);
    assert!(out.status.success(), "{text}");
    assert_eq!(outcome_of(&text, "tracker::sandbox::auth"), "ignored (set TRACKER_REFRESH_TOKEN to run)", "{text}");
}

/// A sandbox without a user's refresh token: the harness's token comes from the client
/// credentials grant, and the endpoints run with it (no token-refresh trial is planned).
#[test]
fn without_a_refresh_token_the_client_credentials_grant_serves() {
    let (_oidc, env) = support::tracker_sandbox();
    let root = project_of("tracker", "sbt-tracker-cc", |s| {
        // no refresh token, so no revocation either (the spec check demands one with the other)
        s.replace("client_secret: Client Secret, refresh_token: Refresh Token}", "client_secret: Client Secret}")
            .replace("  revocation_path: /token/revocation\n", "")
    });
    let mut env: Vec<(&str, String)> = env.into_iter().filter(|(k, _)| *k != "TRACKER_REFRESH_TOKEN").collect();
    env.push(("OC_REQUIRE_SANDBOX", "1".into()));
    let (out, text) = run_tracker(&root, Some("tracker::sandbox"), "", &env);
    assert!(out.status.success(), "{text}");
    assert_eq!(outcome_of(&text, "tracker::sandbox::token_refresh"), "(not run)", "{text}");
    for t in TRACKER_TRIALS.iter().filter(|t| !t.ends_with("token_refresh")) {
        assert_eq!(outcome_of(&text, t), "ok", "{t}:\n{text}");
    }
}

/// A client flaw that spends the shared token (the kept refresh token makes the server revoke
/// the grant) fails the token-refresh trial alone: a trial that finds the token spent after
/// it is ignored, naming it, and the others pass; their set never varies with the order.
#[test]
fn a_spent_token_fails_only_the_token_refresh_trial() {
    let (_oidc, env) = support::tracker_sandbox();
    let root = project_of("tracker", "sbt-tracker-spent", |s| s);
    let (out, text) = run_tracker(&root, Some("tracker::sandbox"), "forgets_rotated_refresh_token", &env);
    assert!(!out.status.success(), "{text}");
    for t in TRACKER_TRIALS {
        let outcome = outcome_of(&text, t);
        if t.ends_with("::token_refresh") {
            assert_eq!(outcome, "FAILED", "{t}:\n{text}");
        } else {
            assert!(
                outcome == "ok"
                    || outcome.starts_with("ignored (the shared OAuth token was spent by tracker::sandbox::token_refresh, which failed"),
                "{t}: {outcome}\n{text}"
            );
        }
    }
}

/// An unreachable authorization server is treated like an unreachable sandbox: ignored with
/// the reason, or a failure under OC_REQUIRE_SANDBOX=1.
#[test]
fn an_unreachable_authorization_server_is_ignored_or_fails_when_required() {
    let (_oidc, env) = support::tracker_sandbox();
    let root = project_of("tracker", "sbt-tracker-noauth", |s| s);
    let (_socket, origin) = oc_integrate::server::refusing_origin().unwrap();
    let token_url = format!("{origin}/token");
    let mut env: Vec<(&str, String)> = env.into_iter().filter(|(k, _)| *k != "TRACKER_TOKEN_URL").collect();
    env.push(("TRACKER_TOKEN_URL", token_url.clone()));
    let (out, text) = run_tracker(&root, Some("tracker::sandbox::auth"), "", &env);
    assert!(out.status.success(), "{text}");
    let want = format!("ignored (the sandbox's authorization server at {token_url} is unreachable");
    assert!(outcome_of(&text, "tracker::sandbox::auth").starts_with(&want), "{text}");
    env.push(("OC_REQUIRE_SANDBOX", "1".into()));
    let (out, text) = run_tracker(&root, Some("tracker::sandbox::auth"), "", &env);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "OC_REQUIRE_SANDBOX=1 requires the sandbox trials to run: the sandbox's authorization server at {token_url} is unreachable"
        )),
        "{text}"
    );
}

/// A rate-limit probe whose requests are refused shows nothing about the limit, and fails:
/// here the token gate asks a path that is not the introspection endpoint, so it refuses all.
#[test]
fn a_refused_rate_probe_fails() {
    let (_oidc, env) = support::tracker_sandbox();
    let root =
        project_of("tracker", "sbt-tracker-refused", |s| s.replace("token_gate: /token/introspection", "token_gate: /token/nowhere"));
    let (out, text) = run_tracker(&root, Some("tracker::sandbox::rate_limit"), "", &env);
    assert!(!out.status.success(), "{text}");
    assert_eq!(outcome_of(&text, "tracker::sandbox::rate_limit"), "FAILED", "{text}");
    assert!(text.contains("expected the probe's requests to be accepted, found harness GET "), "{text}");
    assert!(text.contains("the probe shows nothing about the rate limit"), "{text}");
}
