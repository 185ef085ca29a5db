//! Drift checks (`<service>::drift::<endpoint>`) of the payments example against localstripe,
//! behind a response-mutating proxy the test controls: baselines are recorded on request,
//! an unchanged sandbox reports no drift (exit 0), a field added is additive drift (exit 4),
//! a field removed or retyped is breaking drift (exit 5), each in `drift-<date>.md` with the
//! shapes' diff; `oc-integrate drift` shows what is pending and `--accept` takes it;
//! without `OC_DRIFT=1` the drift trials are ignored with the reason.
//!
//! Each run happens in a child process of this test binary, so its environment is its own.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;
#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use oc_integrate::Harness;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk_test_oc_drift";

#[test]
fn child_run() {
    if let Ok(root) = std::env::var("OC_DRIFT_ROOT") {
        let code = Harness::new(Path::new(&root).join("integrations"))
            .bind("payments", clients::payments::binding(&[]))
            .run_with(libtest_mimic::Arguments { filter: Some("::drift::".into()), test_threads: Some(4), ..Default::default() });
        let n = [0u8, 2, 3, 4, 5].into_iter().find(|n| code == std::process::ExitCode::from(*n)).unwrap_or(101);
        std::process::exit(i32::from(n));
    }
}

fn run(root: &Path, url: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_run", "--exact", "--nocapture"])
        .env("OC_DRIFT_ROOT", root)
        .env("OC_JUNIT", root.join("junit.xml"))
        .env("PAYMENTS_API_KEY", KEY)
        .env("PAYMENTS_SANDBOX_URL", url)
        .env_remove("OC_DRIFT")
        .env_remove("OC_DRIFT_ACCEPT")
        .env_remove("OC_REQUIRE_SANDBOX")
        .env_remove("NEXTEST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().unwrap();
    (out.status.code(), format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// What the mutating proxy does to JSON object bodies.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Pass,
    AddField,
    RemoveAndRetype,
}

/// A proxy in front of `upstream` that rewrites every JSON object answer as `mode` says.
fn mutator(upstream: String, mode: Arc<Mutex<Mode>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let http = reqwest::Client::builder().no_proxy().build().unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                let (http, upstream) = (http.clone(), upstream.clone());
                let now = *mode.lock().unwrap();
                tokio::spawn(async move { forward(socket, &http, &upstream, now).await });
            }
        });
    });
    url
}

async fn forward(mut socket: tokio::net::TcpStream, http: &reqwest::Client, upstream: &str, mode: Mode) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, body) = loop {
        let Ok(n) = socket.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let Ok(n) = socket.read(&mut chunk).await else { return };
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            break (head, buf[end + 4..].to_vec());
        }
    };
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (first.next().unwrap_or("GET").to_string(), first.next().unwrap_or("/").to_string());
    let mut req = http.request(method.parse().unwrap(), format!("{upstream}{target}")).body(body);
    for (k, v) in lines.filter_map(|l| l.split_once(':')) {
        if !matches!(k.to_ascii_lowercase().as_str(), "host" | "content-length" | "connection") {
            req = req.header(k.trim(), v.trim());
        }
    }
    let Ok(resp) = req.send().await else { return };
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_string();
    let mut bytes = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&bytes) {
        match mode {
            Mode::Pass => {}
            Mode::AddField => {
                m.insert("oc_added".into(), Value::from("new"));
            }
            Mode::RemoveAndRetype => {
                m.remove("object");
                if let Some(v) = m.get_mut("created") {
                    *v = Value::from(v.to_string());
                }
            }
        }
        bytes = serde_json::to_vec(&Value::Object(m)).unwrap();
    }
    let head =
        format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", bytes.len());
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&bytes).await;
}

fn report(root: &Path) -> String {
    let dir = root.join("integrations/payments");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("drift-")))
        .collect();
    assert_eq!(found.len(), 1, "one drift report per day: {found:?}");
    std::fs::read_to_string(&found[0]).unwrap()
}

#[test]
fn drift_is_recorded_compared_and_graded() {
    let stripe = support::localstripe().unwrap_or_else(|e| panic!("{e}"));
    let mode = Arc::new(Mutex::new(Mode::Pass));
    let url = mutator(stripe.url(""), mode.clone());
    let proj = support::scratch("drift");
    support::copy_example("payments", &proj.join("integrations/payments"));
    // start from no baseline (the example commits its own)
    let _ = std::fs::remove_dir_all(proj.join("integrations/payments/baselines"));

    // not asked for: ignored with the reason
    let (code, text) = run(&proj, &url, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("drift checks run when OC_DRIFT=1"), "{text}");

    // no baseline yet: a plain failure (not drift) that says how to record one
    let (code, text) = run(&proj, &url, &[("OC_DRIFT", "1")]);
    assert_eq!(code, Some(101), "{text}");
    assert!(text.contains("found none: record one with OC_DRIFT=1 OC_DRIFT_ACCEPT=1"), "{text}");

    let (code, text) = run(&proj, &url, &[("OC_DRIFT", "1"), ("OC_DRIFT_ACCEPT", "1")]);
    assert_eq!(code, Some(0), "{text}");
    let baseline = std::fs::read_to_string(proj.join("integrations/payments/baselines/create_customer.json")).unwrap();
    assert!(baseline.contains("\"$.email\"") && !baseline.contains("ada@example.com") && !baseline.contains(KEY), "{baseline}");

    let (code, text) = run(&proj, &url, &[("OC_DRIFT", "1")]);
    assert_eq!(code, Some(0), "an unchanged sandbox drifts not at all:\n{text}");
    assert!(report(&proj).contains("### Verdict: NO DRIFT"));

    *mode.lock().unwrap() = Mode::AddField;
    let (code, text) = run(&proj, &url, &[("OC_DRIFT", "1")]);
    assert_eq!(code, Some(4), "{text}");
    let md = report(&proj);
    assert!(md.contains("### Verdict: ADDITIVE DRIFT") && md.contains("additive: $.oc_added: added (string)"), "{md}");

    // the differing shapes wait beside their baselines: reviewed, then accepted, like insta's snapshots
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_oc-integrate")).args(args).arg(proj.join("integrations")).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, shown) = cli(&["drift"]);
    assert_eq!(code, Some(4), "{shown}");
    assert!(shown.contains("payments::create_customer") && shown.contains("additive: $.oc_added: added (string)"), "{shown}");
    let (code, shown) = cli(&["drift", "--accept"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("accepted ") && shown.contains("baselines/create_customer.json"), "{shown}");
    assert_eq!(cli(&["drift"]).0, Some(0), "nothing pending once accepted");
    let (code, text) = run(&proj, &url, &[("OC_DRIFT", "1")]);
    assert_eq!(code, Some(0), "the accepted field is no drift any more:\n{text}");

    *mode.lock().unwrap() = Mode::RemoveAndRetype;
    let (code, text) = run(&proj, &url, &[("OC_DRIFT", "1")]);
    assert_eq!(code, Some(5), "{text}");
    let md = report(&proj);
    assert!(md.contains("### Verdict: BREAKING DRIFT"), "{md}");
    assert!(md.contains("BREAKING: $.object: removed (was string)"), "{md}");
    assert!(md.contains("BREAKING: $.created: type changed: integer → string"), "{md}");
    assert!(md.contains("-$.created: integer") && md.contains("+$.created: string"), "the report shows the shapes' diff:\n{md}");
    assert!(!md.contains(KEY) && !text.contains(KEY));
    assert_eq!(cli(&["drift"]).0, Some(5));
}
