//! The `oc-integrate` commands that show state: `list`, `report`, `checkpoint`, on a
//! scratch project after a real harness run; plain when piped, `--json` for scripts,
//! clear errors (and exit 2) for what is missing or corrupt.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use clients::flaw::Flaw;
use oc_integrate::{Harness, Outputs, checkpoint};
use serde_json::Value;

/// A project with two payments rounds (a FAIL, then a PASS) and a tracker spec never run.
fn project() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = support::scratch("cli");
        support::copy_example("payments", &root.join("integrations/payments"));
        support::copy_example("tracker", &root.join("integrations/tracker"));
        let state = root.join(checkpoint::DEFAULT_PATH);
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        std::fs::write(&state, r#"{"skill_state": {"integrations": {"slack": {"status": "planned", "auth": "oauth", "last_health": "2026-04-03T10:00:00Z", "health": "degraded"}}}}"#).unwrap();
        for flaws in [&[Flaw::StrictUnknownFields][..], &[]] {
            let flaws: &'static [Flaw] = flaws.to_vec().leak();
            let _ = Harness::new(root.join("integrations"))
                .bind("payments", clients::payments::binding(flaws))
                .bind("tracker", clients::tracker::binding(&[]))
                .outputs(Outputs { checkpoint: Some(state.clone()), ..Outputs::default() })
                .run_with(libtest_mimic::Arguments { filter: None, quiet: true, test_threads: Some(32), ..Default::default() });
        }
        root
    })
}

fn oc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oc-integrate")).args(args).current_dir(project()).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// `cases --json` lists the same trials as `cases --names`, each with its kind, what it
/// targets and where in the spec, and whether it runs against mocks or the sandbox.
#[test]
fn cases_as_json_match_the_names() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/integrations");
    let dir = examples.to_str().unwrap();
    let names: Vec<String> = stdout(&oc(&["cases", dir, "--names"])).lines().map(str::to_string).collect();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&oc(&["cases", dir, "--json"]))).unwrap();
    assert_eq!(rows.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect::<Vec<_>>(), names);
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} not listed"));
    let refresh = row("tracker::sandbox::token_refresh");
    assert_eq!((refresh["kind"].as_str(), refresh["against"].as_str()), (Some("token_refresh"), Some("sandbox")), "{refresh}");
    let expired = row("tracker::get_issue::auth_expired");
    assert_eq!((expired["kind"].as_str(), expired["against"].as_str()), (Some("auth_expired"), Some("mock")), "{expired}");
    let spec = expired["spec"].as_str().unwrap();
    assert!(spec.starts_with(&format!("{dir}/tracker/spec.yaml:")) && spec.matches(':').count() == 2, "{spec}");
}

#[test]
fn list_joins_specs_rounds_and_checkpoint() {
    let text = stdout(&oc(&["list"]));
    assert!(!text.contains('\x1b'), "piped output is plain:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("SERVICE") && lines[0].contains("LAST HEALTH"), "{text}");
    let row = |name: &str| lines.iter().find(|l| l.starts_with(name)).map(|l| l.split_whitespace().collect::<Vec<_>>()).unwrap();
    assert_eq!(row("payments"), ["payments", "api_key", "3", "2", "PASS", "-", "-", "tested"]);
    assert_eq!(row("tracker"), ["tracker", "oauth", "4", "2", "PASS", "-", "-", "tested"]);
    assert_eq!(row("slack"), ["slack", "oauth", "-", "0", "-", "2026-04-03T10:00:00Z", "degraded", "planned"]);

    let json: Value = serde_json::from_str(&stdout(&oc(&["list", "--json"]))).unwrap();
    let payments = json.as_array().unwrap().iter().find(|r| r["service"] == "payments").unwrap();
    assert_eq!(
        (payments["rounds"].as_u64(), payments["last_test"].as_str(), payments["escalated"].as_bool()),
        (Some(2), Some("PASS"), Some(false))
    );
    assert!(payments["cases"].as_u64().unwrap() > 50);

    let colored = stdout(&oc(&["--color", "always", "list"]));
    assert!(colored.contains("\x1b[32mPASS"), "--color always colors verdicts:\n{colored}");
}

#[test]
fn report_prints_the_latest_or_the_asked_round() {
    let latest = stdout(&oc(&["report", "payments"]));
    assert!(latest.contains("## Integration Test — Payments — Round 2") && latest.contains("### Verdict: PASS"), "{latest}");
    let first = stdout(&oc(&["report", "payments", "--round", "1"]));
    assert!(first.contains("Round 1") && first.contains("### Verdict: FAIL") && first.contains("drift_extra_field --exact"));
    let all: Value = serde_json::from_str(&stdout(&oc(&["report", "--json"]))).unwrap();
    let services: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["service"].as_str().unwrap()).collect();
    assert_eq!(services, ["payments", "tracker"]);
    assert_eq!(all[0]["round"], 2);
    assert!(all[0]["markdown"].as_str().unwrap().starts_with("## Integration Test — Payments — Round 2"));

    let missing = oc(&["report", "payments", "--round", "7"]);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("expected round 7 of \"payments\", found rounds 1-2"), "{err}");
    let unknown = oc(&["report", "stripe"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("integrations/stripe: expected a service with a spec.yaml, found none"));
}

#[test]
fn checkpoint_shows_the_state_and_refuses_a_corrupt_file() {
    let text = stdout(&oc(&["checkpoint"]));
    assert!(text.starts_with(".checkpoints/oc-integrations-engineer.checkpoint.json (updated 20"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["payments", "tested", "api_key", "3", "-", "2", "PASS", "-", "-"]),
        "{text}"
    );
    let json: Value = serde_json::from_str(&stdout(&oc(&["checkpoint", "--json"]))).unwrap();
    assert_eq!(json["skill_state"]["integrations"]["payments"]["test_rounds"], 2);
    assert_eq!(json["skill_state"]["integrations"]["slack"]["status"], "planned", "other tools' entries are kept");
    assert_eq!(json["skill_state"]["current_build"], Value::Null, "the failing build passed since");

    let bad = project().join("bad.json");
    std::fs::write(&bad, "{\"skill_state\": \n  [}").unwrap();
    let out = oc(&["checkpoint", "--checkpoint", "bad.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: bad.json:2:4: the checkpoint is corrupt: expected JSON"), "{err}");
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "{\"skill_state\": \n  [}");
    let none = stdout(&oc(&["checkpoint", "--checkpoint", "absent.json"]));
    assert!(none.contains("no checkpoint at absent.json yet"));
    let via_env = Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
        .arg("checkpoint")
        .env("OC_CHECKPOINT", "bad.json")
        .current_dir(project())
        .output()
        .unwrap();
    assert_eq!(via_env.status.code(), Some(2), "OC_CHECKPOINT names the file, as for the harness");
}

/// `webhook sign` output fed to `webhook verify` is valid; an altered body is not (exit 1);
/// the secret comes only from the environment.
#[test]
fn webhook_sign_then_verify() {
    let body = "{\"id\":\"evt_1\",\"note\":\"café ✓\"}";
    let with_body = |args: &[&str], body: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oc-integrate"));
        c.args(args).env("OC_TEST_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").stdin(std::process::Stdio::piped());
        c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    // the scheme's own spelling (standard-webhooks) as well as ours
    for scheme in ["stripe", "github", "slack", "standard_webhooks", "standard-webhooks", "svix", "shopify", "generic"] {
        let common = ["--scheme", scheme, "--secret-env", "OC_TEST_WEBHOOK_SECRET"];
        let signed = stdout(&with_body(&[&["webhook", "sign", "--timestamp", "1700000000", "--id", "msg_1"], &common[..]].concat(), body));
        let mut verify_args: Vec<String> =
            ["webhook", "verify", "--now", "1700000060"].iter().chain(&common).map(|s| s.to_string()).collect();
        for line in signed.lines() {
            verify_args.extend(["-H".to_string(), line.to_string()]);
        }
        let args: Vec<&str> = verify_args.iter().map(String::as_str).collect();
        assert!(stdout(&with_body(&args, body)).starts_with(&format!("valid {} signature", scheme.replace('-', "_"))));
        let altered = with_body(&args, &body.replace("evt_1", "evt_2"));
        assert_eq!(altered.status.code(), Some(1), "{scheme}");
        assert!(String::from_utf8_lossy(&altered.stderr).contains("does not match"), "{scheme}");
    }
    // Twilio signs the URL: without --url the command says so, naming the flag
    let no_url = with_body(
        &["webhook", "verify", "--scheme", "twilio", "--secret-env", "OC_TEST_WEBHOOK_SECRET", "-H", "X-Twilio-Signature: x"],
        "a=1",
    );
    assert_eq!(no_url.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_url.stderr).contains("error: --url: expected the full URL Twilio posts to"), "{no_url:?}");
    let unset = oc(&["webhook", "sign", "--scheme", "github", "--secret-env", "OC_TEST_UNSET_SECRET"]);
    assert_eq!(unset.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unset.stderr).contains("--secret-env OC_TEST_UNSET_SECRET: expected the secret"));
}

/// `plan` writes a spec that loads and its integration-spec.md, lists its TODOs, refuses to
/// overwrite; `check` then fails once the markdown is stale, and `render` brings it back.
#[test]
fn plan_then_check_and_render() {
    let root = support::scratch("cli-plan");
    let fixture = std::fs::canonicalize("tests/fixtures/petstore-swagger2.json").unwrap();
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_oc-integrate")).args(args).current_dir(&root).output().unwrap();
    let planned = stdout(&run(&["plan", "petstore", "--openapi", fixture.to_str().unwrap()]));
    assert!(planned.starts_with("wrote integrations/petstore/spec.yaml (2 of 2 operations, "), "{planned}");
    assert!(planned.contains("  TODO overview.base_url: no rate limit documented"), "{planned}");
    assert!(root.join("integrations/petstore/integration-spec.md").exists());
    // the seed's "integration spec created": planned, with its endpoints, auth and test plan
    let state = checkpoint::read(&root.join(checkpoint::DEFAULT_PATH)).unwrap();
    let entry = &state["skill_state"]["integrations"]["petstore"];
    assert_eq!((entry["status"].as_str(), entry["endpoints"].as_u64()), (Some("planned"), Some(2)), "{entry}");
    assert!(entry["planned_at"].is_string() && entry["todos"].as_u64() > Some(0) && entry["test_plan"].is_object(), "{entry}");
    assert!(stdout(&run(&["list"])).lines().any(|l| l.starts_with("petstore") && l.trim_end().ends_with("planned")));
    let again = run(&["plan", "petstore", "--openapi", fixture.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "an existing spec is not replaced without --force");
    assert!(stdout(&run(&["check"])).starts_with("ok    integrations/petstore/spec.yaml"));
    let spec = root.join("integrations/petstore/spec.yaml");
    std::fs::write(&spec, std::fs::read_to_string(&spec).unwrap().replace("purpose: Find a pet", "purpose: Look a pet up")).unwrap();
    let stale = run(&["check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("integration-spec.md: expected the integration spec rendered from"));
    stdout(&run(&["render"]));
    stdout(&run(&["check"]));
    let bad = run(&["plan", "Pet-Store", "--openapi", fixture.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("expected a service id of lowercase letters, digits and _, found \"Pet-Store\" (try \"pet_store\")")
    );
}

/// `retry` shows the schedule the declared policy implies; `--set` changes the policy where
/// it is written (comments and layout kept), shows the diff and re-renders the documents, and
/// the cases follow the new policy; a setting that breaks the spec is refused at its line,
/// the file left as it was.
#[test]
fn retry_shows_the_schedule_and_sets_the_policy_in_place() {
    let root = support::scratch("cli-retry");
    support::copy_example("payments", &root.join("integrations/payments"));
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_oc-integrate")).args(args).current_dir(&root).output().unwrap();
    let shown = stdout(&run(&["retry", "payments"]));
    for line in [
        "3 attempts in all · waits 2 s × 2 up to 8 s · jitter up to 200 ms · 10 s per attempt",
        "2 s–2.2 s",
        "8 s–8.8 s",
        "by 36.4 s (503: 55.6 s)",
        "503  retry_with_longer_delays  the schedule above with each wait × 4",
        "worst case per call: 36.4 s (5xx every time), 55.6 s (503 every time)",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }
    let json: Value = serde_json::from_str(&stdout(&run(&["retry", "payments", "--json"]))).unwrap();
    assert_eq!((json["waits"][1]["least_ms"].as_u64(), json["waits"][1]["most_ms"].as_u64()), (Some(4000), Some(4200)));
    assert_eq!(json["worst_case_ms"], 36400);
    let file = root.join("integrations/payments/spec.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let out = stdout(&run(&["retry", "payments", "--set", "max_attempts=1", "--set", "jitter_ms=0"]));
    assert!(out.contains("-  max_attempts: 3\n+  max_attempts: 1\n"), "{out}");
    assert!(out.contains("wrote integrations/payments/contract.md"), "{out}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        after,
        before.replace("max_attempts: 3", "max_attempts: 1").replace("jitter_ms: 200", "jitter_ms: 0"),
        "only the two values changed"
    );
    stdout(&run(&["check"]));
    // one attempt: nothing to weather in a storm, nothing to recover from
    let names = stdout(&run(&["cases", "--names"]));
    assert!(names.contains("payments::get_customer::rate_limit_retry_after\n"), "{names}");
    assert!(!names.contains("rate_limit_storm") && !names.contains("server_error_recovers"), "{names}");
    let bad = run(&["retry", "payments", "--set", "max_attempts=0"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("payments/spec.yaml:86:17: retry.max_attempts: expected 1 to 10 attempts, found 0 (the file is left unchanged)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
    let unknown = run(&["retry", "payments", "--set", "speed=3"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("expected one of max_attempts, base_delay_ms"), "{unknown:?}");
}

/// `plan <provider>` without a document writes a skeleton from the catalog that `check`
/// accepts; an unknown provider is an error naming the known ones; `plan --catalog` lists
/// them; `plan --check` lints contracts (exit 1 with the spec line and what to add).
#[test]
fn plan_from_the_catalog_and_lint_the_contract() {
    let root = support::scratch("cli-catalog");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_oc-integrate")).args(args).current_dir(&root).output().unwrap();
    let planned = stdout(&run(&["plan", "stripe"]));
    assert!(planned.starts_with("wrote integrations/stripe/spec.yaml (a skeleton from the provider catalog, "), "{planned}");
    assert!(planned.contains("  TODO endpoints[0]: no API description: replace this placeholder"), "{planned}");
    let yaml = std::fs::read_to_string(root.join("integrations/stripe/spec.yaml")).unwrap();
    assert!(yaml.contains("(https://docs.stripe.com/rate-limits)\n  rate_limit: \"100/s\""), "{yaml}");
    assert!(root.join("integrations/stripe/contract.md").exists() && root.join("integrations/stripe/integration-spec.md").exists());
    assert!(stdout(&run(&["check"])).starts_with("ok    integrations/stripe/spec.yaml (1 endpoints, "));
    assert!(stdout(&run(&["plan", "--check"])).starts_with("ok    integrations/stripe/spec.yaml (contract: nothing to push back on)"));
    // the seed's "contract negotiated": agreed, with its testable criteria
    let contract =
        |service: &str| checkpoint::read(&root.join(checkpoint::DEFAULT_PATH)).unwrap()["skill_state"]["integrations"][service].clone();
    let stripe = contract("stripe");
    assert_eq!((stripe["status"].as_str(), stripe["contract"].as_str()), (Some("planned"), Some("agreed")), "{stripe}");
    let criteria = stripe["contract_criteria"].as_array().unwrap();
    assert!(criteria.iter().any(|c| c.as_str().unwrap().contains("Retry works on 429 and 500")), "{criteria:?}");

    let unknown = run(&["plan", "acme"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("expected a provider the catalog knows (github, google_apis, jira, linear, salesforce, sendgrid, shopify, slack, stripe, telegram, twilio), found \"acme\""), "{err}");
    assert_eq!(run(&["plan", "acme", "--endpoints", "x"]).status.code(), Some(2), "--endpoints needs --openapi");

    let listed = stdout(&run(&["plan", "--catalog"]));
    let row = |id: &str| listed.lines().find(|l| l.starts_with(&format!("{id} "))).map(|l| l.to_string()).unwrap_or_default();
    assert!(
        row("stripe").contains("full harness") && row("stripe").contains("api_key") && row("stripe").contains("Idempotency-Key"),
        "{listed}"
    );
    assert!(row("sendgrid").contains("quick build"), "{listed}");
    assert_eq!(listed.lines().count(), 12, "a header and 11 providers:\n{listed}");

    // a contract without a sandbox test plan is sent back, at its line
    support::copy_example("tracker", &root.join("lint/tracker"));
    let spec = root.join("lint/tracker/spec.yaml");
    let text = std::fs::read_to_string(&spec).unwrap().replace("  sandbox: OAuth sandbox app with a test workspace\n", "");
    std::fs::write(&spec, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("  unit: ")).unwrap() + 1;
    let lint = run(&["plan", "--check", "lint"]);
    assert_eq!(lint.status.code(), Some(1));
    let out = String::from_utf8_lossy(&lint.stdout);
    assert!(
        out.starts_with(&format!("lint/tracker/spec.yaml:{line}:")) && out.contains(": test_plan.sandbox: expected sandbox testing"),
        "{out}"
    );
    assert!(out.contains("; add test_plan.sandbox: "), "{out}");
    let tracker = contract("tracker");
    assert_eq!(tracker["contract"], "sent back", "{tracker}");
    assert!(tracker["contract_findings"][0].as_str().unwrap().contains("test_plan.sandbox: expected sandbox testing"), "{tracker}");
    // and its contract.md, rendered from the old spec, is stale
    let stale = run(&["check", "lint"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("contract.md: expected the contract rendered from"));
}

/// On a terminal, `plan --openapi` with no selection lists the operations and asks; a bad
/// answer is explained and asked again. (`script` from util-linux gives the command a pty.)
#[test]
fn plan_asks_which_endpoints_on_a_terminal() {
    let root = support::scratch("cli-pick");
    let doc = root.join("pets.json");
    std::fs::write(
        &doc,
        r#"{"openapi":"3.0.0","info":{"title":"Pets","version":"1"},"servers":[{"url":"https://api.pets.example/v1"}],
"paths":{"/pets":{"get":{"operationId":"listPets","tags":["pets"],"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"object"}}}}}},
"post":{"operationId":"createPet","tags":["pets"],"responses":{"201":{"description":"ok","content":{"application/json":{"schema":{"type":"object"}}}}}}},
"/stores":{"get":{"operationId":"listStores","tags":["stores"],"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"object"}}}}}}}}}"#,
    )
    .unwrap();
    let cmd = format!(
        "{} plan pets --openapi {} --dir {}",
        env!("CARGO_BIN_EXE_oc-integrate"),
        doc.display(),
        root.join("integrations").display()
    );
    let mut script = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs the planner on a pty");
    // the pty buffers the answers until the planner reads them; the first, bad one is asked again
    std::io::Write::write_all(script.stdin.as_mut().unwrap(), b"nine\ntag:stores\n").unwrap();
    let out = script.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("    3  GET     /stores"), "{text}");
    assert!(text.contains("found \"nine\""), "{text}");
    assert!(text.contains("(1 of 3 operations"), "{text}");
    let spec = std::fs::read_to_string(root.join("integrations/pets/spec.yaml")).unwrap();
    assert!(spec.contains("id: list_stores") && !spec.contains("id: list_pets"), "{spec}");
}

/// The seed's "secret audit" event: `secrets` records each integration's verdict, issues and
/// rotation schedules, and the audit's own verdict and leak count, keeping the other fields.
#[test]
fn secrets_records_the_audit_in_the_checkpoint() {
    let root = support::scratch("cli-secrets");
    support::copy_example("payments", &root.join("integrations/payments"));
    let git = |args: &[&str]| assert!(Command::new("git").args(args).current_dir(&root).output().unwrap().status.success(), "git {args:?}");
    git(&["init", "-q"]);
    let state = root.join(checkpoint::DEFAULT_PATH);
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(&state, r#"{"skill_state": {"integrations": {"payments": {"status": "tested", "test_rounds": 2}}}}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
        .args(["secrets", "integrations", "--no-history"])
        .env_remove("PAYMENTS_API_KEY")
        .env_remove("OC_CHECKPOINT")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
    let s = checkpoint::read(&state).unwrap();
    let entry = &s["skill_state"]["integrations"]["payments"];
    assert_eq!((entry["status"].as_str(), entry["test_rounds"].as_u64()), (Some("tested"), Some(2)), "other fields kept: {entry}");
    assert!(entry["last_secrets_audit"].is_string() && entry["secrets"].is_string() && entry["secrets_issues"].is_array(), "{entry}");
    let spec = oc_integrate::spec::load_file(&root.join("integrations/payments/spec.yaml")).unwrap();
    for secret in &spec.secrets {
        assert_eq!(entry["rotation"][secret.name.as_str()], serde_json::json!(secret.rotation), "{entry}");
    }
    let audit = &s["skill_state"]["secrets_audit"];
    assert!(audit["at"].is_string() && audit["leaks"].is_u64(), "{audit}");
    assert_eq!(audit["verdict"] == "clean", out.status.success(), "{audit}");
}
