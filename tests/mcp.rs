//! `oc-integrate mcp` driven by a real MCP client: the official Python SDK's (`mcp`, pinned in
//! `sandboxes/mcp-client/requirements.txt`, installed on demand) over stdio and streamable
//! HTTP. The tools list with their schemas, `cases` answers what the CLI prints, resources and
//! prompts are served, paths outside the project are refused, `test` reports progress and
//! stops its run when cancelled, HTTP is loopback-only behind a bearer token. `.ci/run` also
//! runs a real round through the `test` tool against the examples and compares it with the CLI.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_oc-integrate");
const TOOLS: [&str; 15] = [
    "build",
    "cases",
    "check",
    "checkpoint",
    "connect",
    "drift",
    "health",
    "list",
    "plan",
    "report",
    "retry",
    "secrets",
    "test",
    "webhook_sign",
    "webhook_verify",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The CLI's own JSON answer to `args`, run in the repository.
fn cli_json(args: &[&str]) -> Value {
    let out = Command::new(BIN).args(args).current_dir(root()).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A tool call's structured answer, or its error text.
fn answer(result: &Value) -> Result<&Value, String> {
    if result["isError"] == true {
        Err(result["content"][0]["text"].as_str().unwrap_or_default().to_string())
    } else {
        Ok(&result["structuredContent"])
    }
}

#[test]
fn tools_resources_and_prompts_over_stdio_answer_what_the_cli_does() {
    let steps = json!([
        {"op": "tools"},
        {"op": "call", "tool": "cases", "args": {}},
        {"op": "call", "tool": "cases", "args": {"service": "tracker"}},
        {"op": "call", "tool": "retry", "args": {"service": "payments"}},
        {"op": "resources"},
        {"op": "read", "uri": "oc-integrate://examples/integrations/payments/contract.md"},
        {"op": "prompts"},
        {"op": "prompt", "name": "tester", "args": {"service": "payments"}},
        {"op": "read", "uri": "oc-integrate://examples/integrations/payments/schemas/customer.schema.json"},
        {"op": "read", "uri": "oc-integrate://examples/integrations/payments/baselines/get_customer.json"},
    ]);
    let (r, log) = support::mcp_session(&root(), &["mcp", "--dir", "examples/integrations"], &[], &steps);

    let tools = r[0].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, TOOLS, "{log}");
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
        assert_eq!(t["outputSchema"]["type"], "object", "every tool answers structured data: {t}");
        assert!(t["description"].as_str().is_some_and(|d| d.len() > 60), "{t}");
    }
    let test = tools.iter().find(|t| t["name"] == "test").unwrap();
    for field in ["verdict", "passed", "failed", "failures", "rounds"] {
        assert!(test["outputSchema"]["properties"][field].is_object(), "test's output names {field}: {test}");
    }

    let cases = answer(&r[1]).unwrap();
    assert_eq!(cases["data"], cli_json(&["cases", "examples/integrations", "--json"]), "the tool's cases are the CLI's");
    assert_eq!(cases["command"], "oc-integrate cases examples/integrations --json");
    let progress: Vec<&str> = r[1]["progress"].as_array().unwrap().iter().map(|p| p["message"].as_str().unwrap()).collect();
    assert_eq!(progress, ["running oc-integrate cases examples/integrations --json", "exit 0: every spec loads"]);
    let tracker = answer(&r[2]).unwrap()["data"].as_array().unwrap();
    assert!(!tracker.is_empty() && tracker.iter().all(|c| c["service"] == "tracker"));
    assert_eq!(answer(&r[3]).unwrap()["data"], cli_json(&["retry", "payments", "--dir", "examples/integrations", "--json"]));

    let uris: Vec<&str> = r[4].as_array().unwrap().iter().map(|x| x["uri"].as_str().unwrap()).collect();
    for service in ["payments", "tracker"] {
        for doc in ["spec.yaml", "integration-spec.md", "contract.md"] {
            let uri = format!("oc-integrate://examples/integrations/{service}/{doc}");
            assert!(uris.contains(&uri.as_str()), "{uri} in {uris:?}");
        }
    }
    let contract = std::fs::read_to_string(root().join("examples/integrations/payments/contract.md")).unwrap();
    assert_eq!(r[5]["contents"][0]["text"], contract);
    // the schema file the spec points into is served; a baseline, also JSON, is not a resource
    let schema = "oc-integrate://examples/integrations/payments/schemas/customer.schema.json";
    assert!(uris.contains(&schema), "{schema} in {uris:?}");
    assert!(!uris.iter().any(|u| u.contains("/baselines/")), "{uris:?}");
    let text = std::fs::read_to_string(root().join("examples/integrations/payments/schemas/customer.schema.json")).unwrap();
    assert_eq!(r[8]["contents"][0]["text"], text);
    assert_eq!(r[8]["contents"][0]["mimeType"], "application/schema+json");
    let e = r[9]["error"].as_str().unwrap();
    assert!(e.contains("examples.json, schemas/….json"), "{e}");

    let prompts: Vec<&str> = r[6].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(prompts.len(), 3, "{prompts:?}");
    for p in ["planner", "builder", "tester"] {
        assert!(prompts.contains(&p), "{prompts:?}");
    }
    let brief = r[7]["messages"][0]["content"]["text"].as_str().unwrap();
    assert!(
        brief.contains("Never read the Builder's") && brief.contains("oc-integrate://examples/integrations/payments/contract.md"),
        "{brief}"
    );
}

#[test]
fn webhook_tools_sign_and_verify_as_the_cli_does() {
    let secret = ("OC_MCP_TEST_WEBHOOK_SECRET", "mcp-test-webhook-secret-1f0c9a");
    let body = r#"{"id":"evt_1","type":"customer.created"}"#;
    let file = support::scratch("mcp-webhook").join("event.json");
    std::fs::write(&file, body).unwrap();
    let out = Command::new(BIN)
        .args(["webhook", "sign", "--scheme", "stripe", "--secret-env", secret.0, "--timestamp", "1700000000", "--json", "--body"])
        .arg(&file)
        .env(secret.0, secret.1)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let header = format!("Stripe-Signature: {}", cli["Stripe-Signature"].as_str().unwrap());
    let verify = |headers: Vec<String>| {
        json!({"op": "call", "tool": "webhook_verify", "args":
        {"scheme": "stripe", "secret_env": secret.0, "body": body, "headers": headers, "now": 1700000100}})
    };
    let steps = json!([
        {"op": "call", "tool": "webhook_sign", "args": {"scheme": "stripe", "secret_env": secret.0, "body": body, "timestamp": 1700000000}},
        verify(vec![header.clone()]),
        verify(vec![header.replace("v1=", "v1=0")]),
        verify(vec![]),
        {"op": "call", "tool": "webhook_sign", "args": {"scheme": "stripe", "secret_env": secret.0}},
    ]);
    let (r, _) = support::mcp_session(&root(), &["mcp", "--dir", "examples/integrations"], &[secret], &steps);
    assert_eq!(answer(&r[0]).unwrap()["data"], cli, "the tool signs as the CLI does");
    let valid = answer(&r[1]).unwrap();
    assert_eq!((valid["exit_code"].as_i64(), valid["meaning"].as_str()), (Some(0), Some("valid signature")), "{valid}");
    for i in [2, 3] {
        let invalid = answer(&r[i]).unwrap();
        assert_eq!(invalid["exit_code"], 1, "{invalid}");
        assert!(invalid["errors"].as_str().unwrap().starts_with("invalid: "), "the reason is given: {invalid}");
    }
    assert_eq!(answer(&r[4]).unwrap_err(), "body: expected the raw body (body) or a file holding it (body_file), found neither");
}

#[test]
fn paths_outside_the_project_are_refused_with_what_was_expected() {
    let steps = json!([
        {"op": "call", "tool": "check", "args": {"dir": "../"}},
        {"op": "call", "tool": "list", "args": {"dir": "/etc"}},
        {"op": "call", "tool": "webhook_verify", "args": {"scheme": "github", "secret_env": "X", "body_file": "examples/../../../etc/passwd"}},
        {"op": "call", "tool": "plan", "args": {"service": "stripe", "openapi": "/etc/hostname", "preview": true}},
        {"op": "read", "uri": "oc-integrate://../Cargo.toml"},
        {"op": "read", "uri": "oc-integrate://Cargo.toml"},
        {"op": "call", "tool": "check", "args": {}},
        {"op": "call", "tool": "retry", "args": {"service": "../../tmp", "set": ["max_attempts=9"]}},
        {"op": "call", "tool": "report", "args": {"service": ".."}},
    ]);
    let (r, _) = support::mcp_session(&root(), &["mcp", "--dir", "examples/integrations"], &[], &steps);
    let project = std::fs::canonicalize(root()).unwrap();
    for (i, param) in [(0, "dir"), (1, "dir"), (2, "body_file"), (3, "openapi")] {
        let e = answer(&r[i]).unwrap_err();
        assert!(e.starts_with(&format!("{param}: expected a path inside the project directory {}", project.display())), "{e}");
    }
    let e = r[4]["error"].as_str().unwrap();
    assert!(e.contains("uri: expected a path inside the project directory"), "{e}");
    let e = r[5]["error"].as_str().unwrap();
    assert!(
        e.contains("expected oc-integrate://examples/integrations/<service>/ spec.yaml"),
        "a project file that is no document is not served: {e}"
    );
    assert_eq!(answer(&r[6]).unwrap()["exit_code"], 0, "the default dir is the server's --dir");
    for i in [7, 8] {
        let e = answer(&r[i]).unwrap_err();
        assert!(e.starts_with("service: expected a service id (a directory name under the integrations directory), found \".."), "{e}");
    }

    let out = Command::new(BIN).args(["mcp", "--dir", ".."]).current_dir(root()).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dir: expected a path inside the project directory"));
}

/// A stand-in for cargo that writes its pid and waits to be stopped, after a trial's line.
fn hanging_cargo(dir: &Path) -> PathBuf {
    let script = dir.join("cargo-hang");
    let body = format!("echo $$ > {}/pid\necho 'running 3 tests'\necho 'test svc::a::conformance ... ok'\nexec sleep 300\n", dir.display());
    std::fs::write(&script, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

/// A stand-in for the project's harness target under `cargo test`: a smoke run (`-- ::conformance`,
/// `-- <svc>::sandbox::`) prints its trials; a round (no filter, `OC_SANDBOX=0`) prints a failing
/// round and records it in `OC_CHECKPOINT` as the harness does, its report written.
const FAKE_HARNESS: &str = r###"#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
assert args[:3] == ["test", "--test", "integrations"], args
svc = os.environ["OC_SERVICE"]
filt = args[args.index("--") + 1] if "--" in args else None
if filt == "::conformance":
    names = ["create_customer", "get_customer", "capture_payment"]
    print(f"running {len(names)} tests")
    for n in names:
        print(f"test {svc}::{n}::conformance ... ok")
    sys.exit(0)
if filt == f"{svc}::sandbox::":
    print(f"running 1 test\ntest {svc}::sandbox::auth ... ignored (set PAYMENTS_API_KEY to run)")
    sys.exit(0)
assert filt is None and os.environ["OC_SANDBOX"] == "0", (filt, os.environ.get("OC_SANDBOX"))
path = os.environ["OC_CHECKPOINT"]
state = json.load(open(path)) if os.path.exists(path) else {}
entry = state.setdefault("skill_state", {}).setdefault("integrations", {}).setdefault(svc, {})
n = (entry.get("test_rounds") or 0) + 1
report = f"integrations/{svc}/test-round-{n}.md"
os.makedirs(os.path.dirname(report), exist_ok=True)
open(report, "w").write(f"## Integration Test — {svc} — Round {n}\n\n### Verdict: FAIL\n\nScore: 1/2 cases pass. Coverage:\n")
case = f"{svc}::a::timeout_no_answer"
entry.update({"status": "failing", "test_rounds": n, "last_test": "FAIL", "last_round": report, "failed_rounds_in_a_row": n,
              "score": "1/2", "sandbox": "not run", "sandbox_skipped": "the sandbox trials are off for this run",
              "failures": [{"case": case, "at": f"integrations/{svc}/spec.yaml:40:7", "did": "no answer after 3 s",
                            "reproduce": f"cargo test --test integrations -- {case} --exact"}]})
os.makedirs(os.path.dirname(path), exist_ok=True)
json.dump(state, open(path, "w"))
print(f"running 3 tests\ntest {svc}::a::conformance    ... ok\ntest {case} ... FAILED\n"
      f"test {svc}::sandbox::auth ... ignored (the sandbox trials are off for this run)\n\nfailures:\n\n---- {case} ----\n"
      f"expected: a timeout within 0.5 s\nfound:    no answer after 3 s\n\n\nfailures:\n    {case}\n\nround report: {report} (FAIL)\n"
      f"pm: {svc}: ticket acme/shop#1 (from --ticket)\npm: comment test-round:{svc}-round-{n} on acme/shop#1: done (acme/shop#1)")
sys.exit(101)
"###;

/// [`FAKE_HARNESS`] as `dir/cargo`.
fn fake_cargo(dir: &Path) -> PathBuf {
    let script = dir.join("cargo");
    std::fs::write(&script, FAKE_HARNESS).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

#[test]
fn test_reads_the_round_from_cargo_test_and_the_checkpoint() {
    let dir = support::scratch("mcp-test-tool");
    let cargo = fake_cargo(&dir);
    let steps = json!([{"op": "call", "tool": "test", "args": {"service": "svc"}}]);
    let (r, log) = support::mcp_session(&dir, &["mcp"], &[("CARGO", cargo.to_str().unwrap())], &steps);
    let round = answer(&r[0]).unwrap_or_else(|e| panic!("{e}\n{log}"));
    assert_eq!(round["command"], "OC_SERVICE=svc OC_SANDBOX=0 cargo test --test integrations", "the round `oc-integrate test svc` runs");
    assert_eq!((round["verdict"].as_str(), round["exit_code"].as_i64()), (Some("FAIL"), Some(101)));
    assert_eq!((round["passed"].as_u64(), round["failed"].as_u64(), round["ignored"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!(
        round["failures"],
        json!([{"name": "svc::a::timeout_no_answer", "text": "expected: a timeout within 0.5 s\nfound:    no answer after 3 s"}])
    );
    assert_eq!(
        round["rounds"],
        json!([{"service": "svc", "round": 1, "verdict": "FAIL", "path": "integrations/svc/test-round-1.md",
                "score": "Score: 1/2 cases pass. Coverage:", "escalated": false}])
    );
    // read back from the checkpoint, as `oc-integrate test` reads it
    assert_eq!(
        (round["score"].as_str(), round["sandbox"].as_str()),
        (Some("1/2"), Some("not run: the sandbox trials are off for this run"))
    );
    assert_eq!(round["todo"][0]["at"], "integrations/svc/spec.yaml:40:7", "{round}");
    assert_eq!(
        round["pm"],
        json!(["pm: svc: ticket acme/shop#1 (from --ticket)", "pm: comment test-round:svc-round-1 on acme/shop#1: done (acme/shop#1)"]),
        "the harness's write-back notes"
    );
    let progress: Vec<&str> = r[0]["progress"].as_array().unwrap().iter().map(|p| p["message"].as_str().unwrap()).collect();
    assert_eq!(
        progress[1..],
        [
            "svc::a::conformance ok",
            "svc::a::timeout_no_answer FAILED",
            "svc::sandbox::auth ignored (the sandbox trials are off for this run)"
        ]
    );
    assert_eq!(r[0]["progress"][3]["total"].as_f64(), Some(3.0));
}

/// `build` scaffolds, records the Builder's step and runs a round, answering the step taken and
/// the to-do list; `connect` smoke-tests an API-key service and refuses an OAuth one (the
/// project's harness target is [`FAKE_HARNESS`]: no crate is compiled here).
#[test]
fn build_and_connect_answer_the_step_taken() {
    let dir = support::scratch("mcp-build");
    let cargo = fake_cargo(&dir);
    support::copy_example("payments", &dir.join("integrations/payments"));
    support::copy_example("tracker", &dir.join("integrations/tracker"));
    let b = oc_integrate::build::CARGO_LINES.replace(
        "[dev-dependencies]",
        &format!("{}{}\n[dev-dependencies]", oc_integrate::build::WEBHOOK_LINES, oc_integrate::build::RECEIVER_LINES),
    );
    std::fs::write(dir.join("Cargo.toml"), format!("[package]\nname = \"mcp-build\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n{b}"))
        .unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub mod integrations;\n").unwrap();
    let steps = json!([
        {"op": "call", "tool": "build", "args": {"service": "payments"}},
        {"op": "call", "tool": "connect", "args": {"service": "payments"}},
        {"op": "call", "tool": "connect", "args": {"service": "tracker"}},
        {"op": "call", "tool": "build", "args": {"service": "../x"}},
    ]);
    let (r, log) = support::mcp_session(&dir, &["mcp"], &[("CARGO", cargo.to_str().unwrap())], &steps);
    let built = answer(&r[0]).unwrap_or_else(|e| panic!("{e}\n{log}"));
    assert_eq!(built["command"], "oc-integrate build payments --dir integrations");
    assert_eq!((built["step"].as_str(), built["exit_code"].as_i64()), (Some("round 1: FAIL"), Some(1)), "{built}");
    let files: Vec<&str> = built["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(files.contains(&"src/integrations/payments/client.rs") && files.contains(&"tests/integrations/payments.rs"), "{files:?}");
    assert_eq!(built["failures"][0]["case"], "payments::a::timeout_no_answer", "{built}");
    let entry = &built["integration"];
    assert_eq!((entry["status"].as_str(), entry["contract"].as_str()), (Some("failing"), Some("agreed")), "{entry}");

    let connected = answer(&r[1]).unwrap_or_else(|e| panic!("{e}\n{log}"));
    assert_eq!((connected["step"].as_str(), connected["exit_code"].as_i64()), (Some("smoke test: PASS"), Some(0)), "{connected}");
    let entry = &connected["integration"];
    assert_eq!(
        (entry["status"].as_str(), entry["smoke_score"].as_str(), entry["sandbox_skipped"].as_str()),
        (Some("connected"), Some("3/3"), Some("set PAYMENTS_API_KEY to run")),
        "{entry}"
    );
    assert!(connected["text"].as_str().unwrap().contains("smoke test of payments: PASS (3/3 conformance cases pass)"), "{connected}");

    let refused = answer(&r[2]).unwrap();
    assert_eq!((refused["step"].as_str(), refused["exit_code"].as_i64()), (Some("refused: nothing written (see errors)"), Some(2)));
    assert!(refused["errors"].as_str().unwrap().contains("the quick build expected an API-key service, found oauth2 auth"), "{refused}");
    assert!(!dir.join("src/integrations/tracker").exists(), "a refused connect writes nothing");
    let e = answer(&r[3]).unwrap_err();
    assert!(e.starts_with("service: expected a service id"), "{e}");
}

#[test]
fn cancelling_test_stops_the_run() {
    let dir = support::scratch("mcp-cancel");
    let cargo = hanging_cargo(&dir);
    let pid_file = dir.join("pid");
    let steps = json!([
        {"op": "cancel", "tool": "test", "args": {}, "after_progress": 2, "pid_file": pid_file},
        {"op": "call", "tool": "checkpoint", "args": {}},
    ]);
    let (r, log) = support::mcp_session(&dir, &["mcp"], &[("CARGO", cargo.to_str().unwrap())], &steps);
    assert_eq!(r[0]["cancelled"], true, "{log}");
    assert_eq!(r[0]["stopped"], true, "the server stops the run (its whole process group) when the request is cancelled: {log}");
    assert_eq!(answer(&r[1]).unwrap()["exit_code"], 0, "the server goes on after a cancellation");
}

/// `oc-integrate mcp --http 127.0.0.1:0` in `dir` with the token in OC_MCP_TOKEN, and its URL.
fn http_server(dir: &Path, token: &str) -> (std::process::Child, String) {
    let mut server = Command::new(BIN)
        .args(["mcp", "--http", "127.0.0.1:0"])
        .env("OC_MCP_TOKEN", token)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("oc-integrate mcp: serving ").unwrap_or_else(|| panic!("{line}")).to_string();
    (server, url)
}

/// The status line a POST to `url` with `authorization` (when given) is answered with.
fn status(url: &str, authorization: Option<&str>) -> String {
    let addr = url.trim_start_matches("http://").trim_end_matches("/mcp");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    write!(s, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn http_serves_loopback_only_behind_the_bearer_token() {
    let (mut server, url) = http_server(&root(), "oc-test-token-5d1e");
    assert!(status(&url, None).contains(" 401 "), "no token");
    assert!(status(&url, Some("Bearer wrong-token")).contains(" 401 "), "a wrong token");
    assert!(status(&url, Some("Basic b2M6dGVzdA==")).contains(" 401 "), "another scheme");
    let steps = json!([{"op": "tools"}, {"op": "call", "tool": "list", "args": {"dir": "examples/integrations"}}]);
    let (r, log) = support::mcp_session(&root(), &["http", &url, "OC_MCP_TOKEN"], &[("OC_MCP_TOKEN", "oc-test-token-5d1e")], &steps);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(r[0].as_array().unwrap().len(), TOOLS.len(), "{log}");
    assert_eq!(answer(&r[1]).unwrap()["data"], cli_json(&["list", "examples/integrations", "--json"]));

    for (args, env, expected) in [
        (
            ["mcp", "--http", "0.0.0.0:0"],
            Some("t0ken"),
            "--http: expected a loopback address (127.0.0.1:PORT or [::1]:PORT), found 0.0.0.0:0",
        ),
        (["mcp", "--http", "127.0.0.1:0"], None, "--token-env OC_MCP_TOKEN: expected the bearer token clients must send"),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_remove("OC_MCP_TOKEN").current_dir(root()).stdin(Stdio::null());
        if let Some(t) = env {
            cmd.env("OC_MCP_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(expected), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
