//! `oc-integrate health` against the real stand-ins: localstripe (the payments example) and
//! Prism serving GitHub's description with oidc-provider (the tracker). Healthy when both
//! answer; ❌ with the reason for a stopped stand-in, a revoked refresh token, a webhook
//! receiver answering 504, a host outside the allow-list (refused before any connection);
//! ⚠️ behind a proxy slower than the latency threshold; one silent host never stalls the
//! others. The Prometheus output is read by the reference parser (`prometheus_client`), and
//! no secret reaches any output or the checkpoint.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

/// The payments example's sandbox key in these runs; a canary.
const KEY: &str = "sk_test_CANARY_health_8c2f0e";

/// A scratch project holding the payments and tracker examples, each spec with `health`
/// (a YAML block, or nothing) appended and `edit` applied.
fn project(name: &str, payments: &str, tracker: &str, edit: impl Fn(&str, String) -> String) -> PathBuf {
    let root = support::scratch(name);
    for (service, health) in [("payments", payments), ("tracker", tracker)] {
        let dir = root.join("integrations").join(service);
        support::copy_example(service, &dir);
        let file = dir.join("spec.yaml");
        let mut spec = std::fs::read_to_string(&file).unwrap();
        if !health.is_empty() {
            spec.push_str(&format!("\nhealth:\n{health}\n"));
        }
        std::fs::write(&file, edit(service, spec)).unwrap();
    }
    root
}

/// Generous thresholds: a stand-in on a busy machine is still healthy.
const CALM: &str = "  latency_warn_ms: 5000\n  timeout_ms: 20000";

/// What one `oc-integrate health` run printed, and its exit code.
struct Run {
    code: i32,
    out: String,
    err: String,
}

/// Run `oc-integrate health <root>/integrations ARGS` with exactly `env` for the examples'
/// variables, the checkpoint in the project.
fn health(root: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oc-integrate"));
    cmd.arg("health").arg(root.join("integrations")).args(["--project", "shop", "--color", "never"]).args(args);
    cmd.env("OC_CHECKPOINT", root.join(".checkpoints/state.json"));
    for v in ["PAYMENTS_SANDBOX_URL", "PAYMENTS_API_KEY", "PAYMENTS_WEBHOOK_URL", "TRACKER_SANDBOX_URL", "TRACKER_TOKEN_URL"] {
        cmd.env_remove(v);
    }
    for v in ["TRACKER_CLIENT_ID", "TRACKER_CLIENT_SECRET", "TRACKER_REFRESH_TOKEN", "TRACKER_WEBHOOK_URL"] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let run = Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(run.err.trim().is_empty() || run.err.contains("warning"), "no error expected on stderr, found:\n{}", run.err);
    run
}

/// The line of the table that starts with `symbol` and names `service`.
fn line<'a>(run: &'a Run, symbol: &str, service: &str) -> &'a str {
    run.out
        .lines()
        .find(|l| l.starts_with(symbol) && l.contains(service))
        .unwrap_or_else(|| panic!("expected a {symbol} line for {service}, found:\n{}", run.out))
}

/// The environment that points the payments example at `localstripe`.
fn payments_env(url: &str) -> Vec<(&'static str, String)> {
    vec![("PAYMENTS_SANDBOX_URL", url.to_string()), ("PAYMENTS_API_KEY", KEY.to_string())]
}

/// The checkpoint the run left.
fn checkpoint(root: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root.join(".checkpoints/state.json")).unwrap()).unwrap()
}

/// The Prometheus text `text`, read by the reference parser: `(name, labels, value)` per sample.
fn parse_prometheus(text: &str) -> Vec<(String, Value, f64)> {
    let py = support::pip_target(Path::new("tests/fixtures/prometheus"), &[]);
    let script = "import json, sys\nfrom prometheus_client.parser import text_string_to_metric_families as parse\n\
                  print(json.dumps([[s.name, s.labels, s.value] for f in parse(sys.stdin.read()) for s in f.samples]))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .env("PYTHONPATH", py)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "the reference parser refused the output:\n{}\n{text}", String::from_utf8_lossy(&o.stderr));
    let samples: Vec<(String, Value, f64)> = serde_json::from_slice(&o.stdout).unwrap();
    samples
}

/// Both stand-ins up, the credentials set: ✅ for each in the seed's form, exit 0, the
/// checkpoint's `last_health`, Prometheus text the reference parser reads, JSON for scripts;
/// neither the key, the client secret nor the refresh token in any of it.
#[test]
fn both_stand_ins_up_are_healthy_in_the_seeds_table() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let (_oidc, tracker_env) = support::tracker_sandbox();
    let root = project("health-ok", CALM, CALM, |_, s| s);
    let mut env = payments_env(&stripe.url("/v1"));
    env.extend(tracker_env.iter().cloned());

    let table = health(&root, &[], &env);
    assert_eq!(table.code, 0, "all healthy exits 0:\n{}", table.out);
    let lines: Vec<&str> = table.out.lines().collect();
    assert_eq!(lines[0], "INTEGRATION HEALTH — shop");
    assert_eq!(lines[1], "━".repeat(39));
    let payments = line(&table, "✅", "Payments");
    assert!(regex_like(payments, &["✅ Payments ", "reachable ", "ms key accepted"]), "{payments}");
    let tracker = line(&table, "✅", "Tracker");
    assert!(regex_like(tracker, &["✅ Tracker ", "reachable ", "ms token valid, expires in "]), "{tracker}");
    assert_eq!(&lines[4..], ["Issues:", "none", &"━".repeat(39)]);

    let state = checkpoint(&root);
    for service in ["payments", "tracker"] {
        let entry = &state["skill_state"]["integrations"][service];
        assert!(entry["last_health"].as_str().is_some_and(|t| t.ends_with('Z')), "last_health of {service}: {entry}");
        assert_eq!(entry["health"], "healthy");
    }

    let prom = health(&root, &["--format", "prometheus"], &env);
    assert_eq!(prom.code, 0);
    let samples = parse_prometheus(&prom.out);
    for service in ["payments", "tracker"] {
        let value = |name: &str| {
            samples.iter().find(|(n, l, _)| n == name && l["service"] == service).map(|s| s.2).unwrap_or_else(|| panic!("{name} {service}"))
        };
        assert_eq!(value("oc_integration_up"), 1.0);
        assert_eq!(value("oc_integration_token_valid"), 1.0);
        assert!(value("oc_integration_latency_seconds") > 0.0);
    }

    let json = health(&root, &["--json"], &env);
    let v: Value = serde_json::from_str(&json.out).unwrap();
    assert_eq!(v["state"], "healthy");
    assert_eq!(v["target"], "sandbox");
    assert_eq!(v["integrations"][1]["token"]["of"], "refresh token", "the refresh token is introspected, never spent");

    let watched = health(&root, &["--watch", "1", "--times", "2"], &env);
    assert_eq!(watched.out.matches("INTEGRATION HEALTH — shop").count(), 2, "--watch 1 --times 2 checks twice:\n{}", watched.out);
    let lines = health(&root, &["--json", "--watch", "1", "--times", "2"], &env);
    let checks: Vec<Value> = lines.out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(checks.len(), 2, "watching, --json prints one line per check:\n{}", lines.out);

    let written = std::fs::read_to_string(root.join(".checkpoints/state.json")).unwrap();
    let refresh = tracker_env.iter().find(|(k, _)| *k == "TRACKER_REFRESH_TOKEN").map(|(_, v)| v.clone()).unwrap();
    for (what, canary) in [("API key", KEY), ("client secret", support::TRACKER_CLIENT_SECRET), ("refresh token", refresh.as_str())] {
        for (output, text) in [("table", &table.out), ("prometheus", &prom.out), ("json", &json.out), ("checkpoint", &written)] {
            assert!(!text.contains(canary), "the {what} leaked into the {output}:\n{text}");
        }
    }
}

/// `parts` appear in `text` in order.
fn regex_like(text: &str, parts: &[&str]) -> bool {
    let mut rest = text;
    for p in parts {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// A stopped stand-in is ❌ unreachable with the system's reason; the other stays ✅; exit 4.
#[test]
fn a_stopped_stand_in_is_down_with_the_reason() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let url = stripe.url("/v1");
    drop(stripe);
    let running = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    // beside it a second copy of the payments example, "Shop", at the running one
    let root = project("health-stopped", CALM, "", |_, s| s);
    std::fs::remove_dir_all(root.join("integrations/tracker")).unwrap();
    support::copy_example("payments", &root.join("integrations/shop"));
    let shop = root.join("integrations/shop/spec.yaml");
    let spec = std::fs::read_to_string(&shop)
        .unwrap()
        .replacen("name: Payments", "name: Shop", 1)
        .replace("PAYMENTS_SANDBOX_URL", "SHOP_SANDBOX_URL");
    std::fs::write(&shop, format!("{spec}\nhealth:\n{CALM}\n")).unwrap();

    let mut env = payments_env(&url);
    env.push(("SHOP_SANDBOX_URL", running.url("/v1")));
    let run = health(&root, &[], &env);
    assert_eq!(run.code, 4, "one down exits 4:\n{}", run.out);
    let down = line(&run, "❌", "Payments");
    assert!(down.contains("unreachable — ") && down.to_lowercase().contains("connection refused"), "{down}");
    line(&run, "✅", "Shop");
    assert!(run.out.contains("1. Payments unreachable at http://"), "{}", run.out);
    assert_eq!(checkpoint(&root)["skill_state"]["integrations"]["payments"]["health"], "down");
}

/// A proxy that holds each answer back by `delay` before relaying it (the request passes at once).
fn slow_proxy(upstream: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
                let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                });
                let (mut s_read, mut c_write) = (server, client);
                let mut buf = [0u8; 8192];
                let mut first = true;
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if std::mem::take(&mut first) {
                        std::thread::sleep(delay);
                    }
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Behind a proxy that answers 600 ms late, with a 300 ms threshold: ⚠️ high latency, exit 3.
/// (The round trip cannot be shorter than the proxy's delay, whatever the machine's load.)
#[test]
fn a_slow_stand_in_is_degraded() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let port = slow_proxy(stripe.port(), Duration::from_millis(600));
    let root = project("health-slow", "  latency_warn_ms: 300\n  timeout_ms: 20000", CALM, |_, s| s);
    std::fs::remove_dir_all(root.join("integrations/tracker")).unwrap();
    let run = health(&root, &[], &payments_env(&format!("http://127.0.0.1:{port}/v1")));
    assert_eq!(run.code, 3, "degraded exits 3:\n{}", run.out);
    let slow = line(&run, "⚠️", "Payments");
    assert!(slow.ends_with("high latency"), "{slow}");
    let ms: u64 = slow.split_whitespace().find_map(|w| w.strip_suffix("ms")?.parse().ok()).unwrap();
    assert!(ms >= 600, "the round trip includes the proxy's delay: {slow}");
    assert!(run.out.contains(&format!("1. Payments latency {ms}ms > 300ms threshold")), "{}", run.out);
}

/// The tracker's refresh token revoked at the authorization server (RFC 7009): introspection
/// says inactive, ❌ token invalid, exit 4, `oc_integration_token_valid` 0.
#[test]
fn a_revoked_token_is_invalid() {
    let (oidc, env) = support::tracker_sandbox();
    let root = project("health-revoked", CALM, CALM, |_, s| s);
    std::fs::remove_dir_all(root.join("integrations/payments")).unwrap();
    let refresh = env.iter().find(|(k, _)| *k == "TRACKER_REFRESH_TOKEN").map(|(_, v)| v.clone()).unwrap();
    let body = format!(
        "token={refresh}&token_type_hint=refresh_token&client_id=oc-integrate-tracker&client_secret={}",
        support::TRACKER_CLIENT_SECRET
    );
    let revoked = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let r = reqwest::Client::new()
            .post(oidc.url("/token/revocation"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    });
    assert_eq!(revoked, 200, "the authorization server revokes the token");

    let run = health(&root, &[], &env);
    assert_eq!(run.code, 4, "{}", run.out);
    let bad = line(&run, "❌", "Tracker");
    assert!(bad.ends_with("token invalid"), "{bad}");
    assert!(run.out.contains("Tracker token invalid: the authorization server reports the refresh token inactive"), "{}", run.out);
    let prom = health(&root, &["--format", "prometheus"], &env);
    let samples = parse_prometheus(&prom.out);
    let valid = samples.iter().find(|(n, _, _)| n == "oc_integration_token_valid").unwrap();
    assert_eq!(valid.2, 0.0);
    let up = samples.iter().find(|(n, _, _)| n == "oc_integration_up").unwrap();
    assert_eq!(up.2, 0.0);
}

/// A listener that counts the connections it accepts and answers none.
fn silent(host: &str) -> (u16, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<TcpStream>>>) {
    let listener = TcpListener::bind((host, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (count, held) = (Arc::new(AtomicUsize::new(0)), Arc::new(std::sync::Mutex::new(Vec::new())));
    let (c, h) = (count.clone(), held.clone());
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            h.lock().unwrap().push(s);
        }
    });
    (port, count, held)
}

/// Sandbox URLs and a webhook URL on hosts the spec does not allow are refused before any
/// connection is made (a listener there sees none); ❌ with the reason.
#[test]
fn a_host_outside_the_allow_list_is_refused() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let (port, seen, _held) = silent("127.0.0.2");
    let root = project("health-refused", &format!("{CALM}\n  webhook_url_env: PAYMENTS_WEBHOOK_URL"), CALM, |_, s| s);
    std::fs::remove_dir_all(root.join("integrations/tracker")).unwrap();
    let mut env = payments_env(&stripe.url("/v1"));
    env.push(("PAYMENTS_WEBHOOK_URL", format!("http://127.0.0.2:{port}/webhooks/payments")));
    let run = health(&root, &[], &env);
    assert_eq!(run.code, 4, "{}", run.out);
    let refused = line(&run, "❌", "Payments");
    assert!(refused.contains("refused — webhook endpoint: host 127.0.0.2 is not one the spec allows for the sandbox"), "{refused}");

    // credentials written into a URL are refused, and never shown
    let mut env = payments_env(&stripe.url("/v1"));
    env.push(("PAYMENTS_WEBHOOK_URL", format!("http://ada:pw-canary-77@127.0.0.1:{}/hook", stripe.port())));
    let run = health(&root, &["--json"], &env);
    assert!(run.out.contains("expected a URL without credentials in it") && !run.out.contains("pw-canary-77"), "{}", run.out);

    let run = health(&root, &[], &payments_env(&format!("http://127.0.0.2:{port}/v1")));
    assert_eq!(run.code, 4, "{}", run.out);
    let refused = line(&run, "❌", "Payments");
    assert!(refused.contains("refused — PAYMENTS_SANDBOX_URL points at host 127.0.0.2, which sandbox.hosts does not list"), "{refused}");
    assert_eq!(seen.load(Ordering::SeqCst), 0, "no connection may reach a host outside the allow-list");
}

/// A server that answers every request with `status` and nothing else.
fn answering(status: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(s, "HTTP/1.1 {status} Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    port
}

/// The seed's "❌ Stripe unreachable — webhook endpoint 504": the API answers, the deployed
/// receiver answers 504.
#[test]
fn a_receiver_answering_504_is_down() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let port = answering(504);
    let root = project("health-504", &format!("{CALM}\n  webhook_url_env: PAYMENTS_WEBHOOK_URL"), CALM, |_, s| s);
    std::fs::remove_dir_all(root.join("integrations/tracker")).unwrap();
    let mut env = payments_env(&stripe.url("/v1"));
    env.push(("PAYMENTS_WEBHOOK_URL", format!("http://127.0.0.1:{port}/webhooks/payments")));
    let run = health(&root, &[], &env);
    assert_eq!(run.code, 4, "{}", run.out);
    assert_eq!(
        line(&run, "❌", "Payments").split_whitespace().collect::<Vec<_>>(),
        ["❌", "Payments", "unreachable", "—", "webhook", "endpoint", "504"]
    );
    assert!(run.out.contains("1. Payments webhook endpoint returning 504 — investigate"), "{}", run.out);
}

/// A host that accepts and never answers is ❌ after its own timeout; the tracker beside it
/// is still probed and ✅.
#[test]
fn a_silent_host_does_not_stall_the_others() {
    let (oidc, mut env) = support::tracker_sandbox();
    let (port, _seen, _held) = silent("127.0.0.1");
    let root = project("health-silent", "  latency_warn_ms: 500\n  timeout_ms: 1500", CALM, |_, s| s);
    env.extend(payments_env(&format!("http://127.0.0.1:{port}/v1")));
    let run = health(&root, &[], &env);
    drop(oidc);
    assert_eq!(run.code, 4, "{}", run.out);
    assert!(line(&run, "❌", "Payments").ends_with("unreachable — no answer within 1500 ms"), "{}", run.out);
    line(&run, "✅", "Tracker");
}

/// `--production` probes `overview.base_url` with the credentials `health.credentials` names
/// (here a spec whose production is localstripe on loopback, with no sandbox section); the
/// default target then has nothing to probe and says so.
#[test]
fn production_is_probed_only_when_asked() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let root = project(
        "health-production",
        &format!("{CALM}\n  path: /customers\n  credentials: {{api_key: Secret API key}}"),
        "",
        |service, s| {
            if service != "payments" {
                return s;
            }
            let cut = s.find("\nsandbox:\n").unwrap();
            let rest = &s[cut + 1..];
            let end = rest.find("\n\n").map(|i| cut + 1 + i).unwrap_or(s.len());
            let s = format!("{}{}", &s[..cut], &s[end..]);
            s.replace("base_url: https://api.payments.example/v1", &format!("base_url: {}", stripe.url("/v1")))
        },
    );
    std::fs::remove_dir_all(root.join("integrations/tracker")).unwrap();
    let env = vec![("PAYMENTS_API_KEY", KEY.to_string())];
    let run = health(&root, &["--production"], &env);
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(line(&run, "✅", "Payments").ends_with("key accepted"));
    let run = health(&root, &[], &env);
    assert_eq!(run.code, 4, "{}", run.out);
    assert!(
        line(&run, "❌", "Payments").contains("not probed — no sandbox section (use --production for production, or declare sandbox:)"),
        "{}",
        run.out
    );
}

/// A spec that does not load is a ❌ row of its own (not only a line on stderr), and the
/// run exits 4 even when the others are healthy.
#[test]
fn a_spec_that_does_not_load_is_down() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let root = project("health-broken", CALM, "", |_, s| s);
    std::fs::write(root.join("integrations/tracker/spec.yaml"), "name: [\n").unwrap();
    let run = health(&root, &[], &payments_env(&stripe.url("/v1")));
    assert_eq!(run.code, 4, "{}", run.out);
    line(&run, "✅", "Payments");
    assert!(line(&run, "❌", "tracker").ends_with("not probed — the spec does not load"), "{}", run.out);
    assert!(run.out.contains("tracker not probed: its spec does not load: ") && run.out.contains("spec.yaml:"), "{}", run.out);
}
