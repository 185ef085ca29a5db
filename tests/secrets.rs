//! `oc-integrate secrets` on real git repositories made here with the git CLI: a secret of
//! every detector's format planted in the working tree, in commits whose files were deleted
//! later, in a `.env` committed then removed, on a branch never merged, in an allow-listed
//! fixture; near-misses beside them (test keys, placeholders, low-entropy values). Every
//! planted secret is found with its commit, path and line, no near-miss is, and no output
//! holds a planted value. The audit of each declared secret (storage, rotation, age, its
//! value found) is pinned on a spec beside them.
//!
//! Every value is built at run time from a hash, so this file holds no literal that looks
//! like a live credential.

#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{commit, git};

use serde_json::Value;
use sha2::Digest as _;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` characters of `alphabet`, determined by `seed`.
fn random(seed: &str, len: usize, alphabet: &[u8]) -> String {
    let mut out = String::new();
    let mut block = 0u32;
    while out.len() < len {
        let digest = sha2::Sha256::digest(format!("{seed}/{block}").as_bytes());
        out.extend(digest.iter().map(|b| alphabet[*b as usize % alphabet.len()] as char));
        block += 1;
    }
    out.truncate(len);
    out
}

/// A secret of one format, as the detector that must find it names it.
struct Planted {
    detector: &'static str,
    /// The line it is written on.
    text: String,
    /// The value itself (what no output may hold).
    value: String,
}

/// One secret of every format the catalog knows, keyed by `seed`.
fn every_format(seed: &str) -> Vec<Planted> {
    let r = |n: &str, len: usize, a: &[u8]| random(&format!("{seed}-{n}"), len, a);
    let b64url = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let jwt = format!(
        "{}.{}.{}",
        b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(&format!(r#"{{"sub":"{}","iat":1700000000}}"#, r("sub", 12, HEX))),
        r("sig", 43, B64URL)
    );
    let pem_body = r("pem", 64, B64);
    let pem = [&["-----BEGIN", "RSA PRIVATE KEY-----"].join(" "), pem_body.as_str()].join("\n");
    let twilio_token = r("twilio-token", 32, HEX);
    let one = |detector, text: String, value: String| Planted { detector, text, value };
    let lit = |detector: &'static str, name: &str, value: String| one(detector, format!("{name} = \"{value}\""), value);
    vec![
        lit("stripe-live-key", "stripe_key", ["sk", "live", &r("sk", 24, BASE62)].join("_")),
        lit("stripe-live-key", "restricted_key", ["rk", "live", &r("rk", 24, BASE62)].join("_")),
        lit("webhook-signing-secret", "signing", ["whsec", &r("whsec", 32, BASE62)].join("_")),
        lit("github-token", "gh", ["ghp", &r("ghp", 36, BASE62)].join("_")),
        lit("github-token", "gh_oauth", ["gho", &r("gho", 36, BASE62)].join("_")),
        lit("github-token", "gh_server", ["ghs", &r("ghs", 36, BASE62)].join("_")),
        lit("github-fine-grained-token", "gh_pat", ["github", "pat", &r("pat1", 22, BASE62), &r("pat2", 59, BASE62)].join("_")),
        lit(
            "slack-token",
            "slack",
            format!("xoxb-{}-{}-{}", r("sl1", 12, b"0123456789"), r("sl2", 13, b"0123456789"), r("sl3", 24, BASE62)),
        ),
        lit("slack-token", "slack_user", format!("xoxp-{}-{}", r("sp1", 12, b"0123456789"), r("sp2", 32, BASE62))),
        lit(
            "slack-webhook",
            "hook",
            format!("https://hooks.slack.com/services/T{}/B{}/{}", r("t", 8, UPPER), r("b", 10, UPPER), r("w", 24, BASE62)),
        ),
        lit("aws-access-key-id", "aws_access_key_id", format!("AKIA{}", r("akia", 16, UPPER))),
        lit("aws-access-key-id", "aws_session_key_id", format!("ASIA{}", r("asia", 16, UPPER))),
        one("aws-secret-access-key", format!("aws_secret_access_key={}", r("aws", 40, B64)), r("aws", 40, B64)),
        lit("google-api-key", "maps", format!("AIza{}", r("aiza", 35, B64URL))),
        lit("sendgrid-api-key", "sendgrid", format!("SG.{}.{}", r("sg1", 22, B64URL), r("sg2", 43, B64URL))),
        lit("twilio-api-key", "twilio_key", format!("SK{}", r("sk32", 32, HEX))),
        one("twilio-auth-token", format!("client = Client(\"AC{}\", \"{twilio_token}\")", r("ac", 32, HEX)), twilio_token),
        lit("shopify-token", "shopify", format!("shpat_{}", r("shpat", 32, HEX))),
        lit("shopify-token", "shopify_secret", format!("shpss_{}", r("shpss", 32, HEX))),
        lit("telegram-bot-token", "bot", format!("{}:AA{}", r("tg1", 10, b"123456789"), r("tg2", 33, B64URL))),
        one("private-key", pem.clone(), pem_body),
        lit("jwt", "session", jwt),
        one("generic-secret", format!("PAYMENT_SERVICE_TOKEN={}", r("generic", 32, BASE62)), r("generic", 32, BASE62)),
    ]
}

/// Lines that look like secrets and are not: none may be reported.
fn near_misses(seed: &str) -> String {
    let r = |n: &str, len: usize| random(&format!("{seed}-{n}"), len, BASE62);
    [
        format!("STRIPE_TEST_KEY={}", ["sk", "test", &r("t1", 24)].join("_")),
        format!("STRIPE_SECRET={}", ["sk", "test", &r("t2", 24)].join("_")),
        format!("publishable = \"{}\"", ["pk", "live", &r("pk", 24)].join("_")),
        format!("placeholder = \"{}\"", ["sk", "live", &"x".repeat(24)].join("_")),
        format!("docs_key = \"{}\"", ["sk", "live", "your_key_here_0123456789"].join("_")),
        "API_TOKEN=changeme".into(),
        "API_TOKEN=aaaaaaaaaaaaaaaaaaaaaaaa".into(),
        "CLIENT_SECRET=${CLIENT_SECRET}".into(),
        "token = settings.api_token_value".into(),
        format!("aws_access_key_id = \"{}\"", ["AKIA", "IOSFODNN7", "EXAMPLE"].concat()),
        "password: hunter2".into(),
        format!("request_id = \"{}\"", random(&format!("{seed}-uuid"), 32, HEX)),
        format!("-----BEGIN {}-----\n...\n-----END {}-----", "PRIVATE KEY", "PRIVATE KEY"),
    ]
    .join("\n")
        + "\n"
}

/// A minimal valid spec whose secrets rows are `rows` (YAML flow mappings, one a line).
fn spec(rows: &[String]) -> String {
    format!(
        "name: Shop\noverview:\n  direction: outbound\n  auth: {{kind: api_key, prefix: \"Bearer \"}}\n  base_url: https://api.shop.example/v1\n\
         endpoints:\n  - id: get_thing\n    method: GET\n    path: /things\n    purpose: Read things\n    response:\n      example: {{id: t1}}\n\
         error_handling:\n  - {{status: 5xx, meaning: Server error, action: retry_with_backoff}}\n\
         retry: {{max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1000}}\ntimeouts: {{request_ms: 1000}}\nsecrets:\n{}",
        rows.iter().map(|r| format!("  - {r}\n")).collect::<String>()
    )
}

/// `days` days ago, as an RFC 3339 date.
fn days_ago(days: u64) -> String {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400);
    oc_integrate::text::rfc3339(t)[..10].to_string()
}

/// Where a planted secret must be reported.
struct Expect {
    detector: &'static str,
    path: String,
    line: usize,
    commit: Option<String>,
    in_worktree: bool,
    value: String,
}

/// The declared variable planted in the history, and its value.
const DECLARED_ENV: &str = "SHOP_API_KEY";

/// A repository with every format planted (some deleted later, a `.env` committed then
/// removed, a branch never merged, one uncommitted), an allow-listed fixture, near-misses,
/// and a spec whose secrets rows exercise the audit. What must be found, and the declared value.
fn planted_repo() -> (PathBuf, Vec<Expect>, String) {
    let dir = support::scratch("secrets-repo");
    git(&dir, &["init", "-q"]);
    let mut expect = Vec::new();
    let formats = every_format("kept");
    commit(&dir, "README.md", "# shop\n", "start");
    // every format in one config file that stays: line i+2 (a header line first)
    let text =
        std::iter::once("# settings".to_string()).chain(formats.iter().map(|p| p.text.clone())).collect::<Vec<_>>().join("\n") + "\n";
    let kept = commit(&dir, "app/settings.py", &text, "settings");
    let mut line = 2;
    for p in formats {
        expect.push(Expect {
            detector: p.detector,
            path: "app/settings.py".into(),
            line,
            commit: Some(kept.clone()),
            in_worktree: true,
            value: p.value,
        });
        line += p.text.lines().count();
    }
    // every format again in files committed one per commit, then deleted
    for (i, p) in every_format("deleted").into_iter().enumerate() {
        let path = format!("old/leak_{i}.txt");
        let c = commit(&dir, &path, &format!("noise\n{}\n", p.text), &format!("leak {i}"));
        expect.push(Expect { detector: p.detector, path, line: 2, commit: Some(c), in_worktree: false, value: p.value });
    }
    git(&dir, &["rm", "-q", "-r", "old"]);
    git(&dir, &["commit", "-q", "-m", "remove the leaks"]);
    // a .env committed, then removed and ignored
    let env = every_format("dotenv").into_iter().next().unwrap();
    let c = commit(&dir, ".env", &format!("DEBUG=1\nSTRIPE_KEY={}\n", env.value), "env");
    expect.push(Expect { detector: env.detector, path: ".env".into(), line: 2, commit: Some(c), in_worktree: false, value: env.value });
    git(&dir, &["rm", "-q", "--cached", ".env"]);
    std::fs::remove_file(dir.join(".env")).unwrap();
    commit(&dir, ".gitignore", ".env\n", "ignore .env");
    // an ignored file is not scanned
    std::fs::write(dir.join(".env"), every_format("ignored")[0].text.clone()).unwrap();
    // near-misses and an allow-listed fixture
    commit(&dir, "app/examples.txt", &near_misses("near"), "near-misses");
    commit(&dir, "tests/fixtures/keys.env", &format!("{}\n", every_format("fixture")[0].text), "fixture");
    commit(&dir, ".oc-secrets-allow", "# fixtures hold fake keys\ntests/fixtures/**\n", "allow-list");
    // the declared value, on a branch never merged
    let declared = random("declared", 30, BASE62);
    git(&dir, &["checkout", "-q", "-b", "feature/notes"]);
    let c = commit(&dir, "docs/notes.md", &format!("# notes\n\nthe shop key is {declared}\n"), "notes");
    expect.push(Expect {
        detector: "declared",
        path: "docs/notes.md".into(),
        line: 3,
        commit: Some(c),
        in_worktree: false,
        value: declared.clone(),
    });
    git(&dir, &["checkout", "-q", "main"]);
    // the spec; one secret uncommitted in the working tree
    let rows = [
        format!("{{name: API key, storage: vault, rotation: 90 days, rotated_at: {}, env: {DECLARED_ENV}}}", days_ago(200)),
        format!("{{name: Webhook secret, storage: .env, rotation: Yearly, rotated_at: {}}}", days_ago(10)),
        "{name: Client ID, storage: KV, rotation: Static}".to_string(),
        "{name: Legacy token, storage: config file, rotation: TODO}".to_string(),
        "{name: Refresh token, storage: wrangler secret, rotation: Auto-refresh on 401}".to_string(),
        "{name: Signing key, storage: AWS Secrets Manager, rotation: Yearly}".to_string(),
        format!("{{name: Fresh key, storage: vault, rotation: Quarterly, rotated_at: {}}}", days_ago(30)),
    ];
    commit(&dir, "integrations/shop/spec.yaml", &spec(&rows), "spec");
    let loose = every_format("loose").into_iter().nth(3).unwrap();
    std::fs::write(dir.join("scratch.txt"), format!("todo\n\n{}\n", loose.text)).unwrap();
    expect.push(Expect {
        detector: loose.detector,
        path: "scratch.txt".into(),
        line: 3,
        commit: None,
        in_worktree: true,
        value: loose.value,
    });
    (dir, expect, declared)
}

/// Run `oc-integrate secrets` with `args` in `dir`, with the declared variable set to `declared`.
fn secrets(dir: &Path, args: &[&str], declared: &str) -> Output {
    let checkpoint = dir.join("state.checkpoint.json");
    Command::new(env!("CARGO_BIN_EXE_oc-integrate"))
        .arg("secrets")
        .args(args)
        .current_dir(dir)
        .env(DECLARED_ENV, declared)
        .env("OC_CHECKPOINT", &checkpoint)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// No planted value in `output`: the canaries.
fn assert_no_value(output: &str, expect: &[Expect], what: &str) {
    for e in expect {
        assert!(!output.contains(&e.value), "{what} holds the {} planted in {}:{}:\n{output}", e.detector, e.path, e.line);
    }
}

#[test]
fn every_planted_secret_is_found_with_commit_path_and_line_and_no_near_miss_is() {
    let (dir, expect, declared) = planted_repo();
    // the checkpoint's date for a row the spec leaves undated
    std::fs::write(
        dir.join("state.checkpoint.json"),
        format!(r#"{{"skill_state": {{"integrations": {{"shop": {{"rotated_at": {{"Signing key": "{}"}}}}}}}}}}"#, days_ago(400)),
    )
    .unwrap();
    let out = secrets(&dir, &["integrations", "--json"], &declared);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "findings exit 1:\n{all}");
    assert_no_value(&all, &expect, "the JSON");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
    let findings = json["scan"]["findings"].as_array().unwrap();
    for e in &expect {
        let hit = findings.iter().find(|f| f["path"] == e.path.as_str() && f["line"] == e.line && f["detector"] == e.detector);
        let hit = hit.unwrap_or_else(|| panic!("{} planted at {}:{} not found; found:\n{findings:#?}", e.detector, e.path, e.line));
        assert_eq!(hit["commit"].as_str(), e.commit.as_deref(), "{} at {}:{}: the commit that introduced it", e.detector, e.path, e.line);
        assert_eq!(hit["in_worktree"], e.in_worktree, "{} at {}:{}", e.detector, e.path, e.line);
        let preview = hit["preview"].as_str().unwrap();
        let want = if e.detector == "declared" { format!("${DECLARED_ENV} value") } else { "…".to_string() };
        assert!(preview.contains(&want), "{} at {}:{}: {preview}", e.detector, e.path, e.line);
    }
    assert_eq!(findings.len(), expect.len(), "only the planted ones (no near-miss, no ignored file, no fixture):\n{findings:#?}");
    assert_eq!(json["scan"]["allowed"], 1, "the allow-listed fixture is counted, not listed");
    assert!(json["scan"]["commits"].as_u64().unwrap() >= 30, "{}", json["scan"]);
    assert_eq!(json["verdict"], "findings");
    // the audit of each row
    let rows = json["secrets"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no row {name}"));
    let issues = |name: &str| row(name)["issues"].to_string();
    assert_eq!(row("API key")["verdict"], "finding");
    assert!(issues("API key").contains("overdue by 110 days"), "{}", issues("API key"));
    assert!(issues("API key").contains("the value of $SHOP_API_KEY is in the repository"), "{}", issues("API key"));
    assert_eq!(row("API key")["found_at"][0].as_str().unwrap().split(' ').nth(1), Some("docs/notes.md:3"));
    assert_eq!(row("Webhook secret")["storage_kind"]["kind"], "exposed");
    assert_eq!(row("Webhook secret")["verdict"], "finding");
    assert_eq!((row("Client ID")["schedule"]["kind"].as_str(), row("Client ID")["verdict"].as_str()), (Some("static"), Some("note")));
    assert_eq!(row("Legacy token")["schedule"]["kind"], "undefined");
    assert_eq!(row("Legacy token")["issues"].as_array().unwrap().len(), 2, "storage and rotation: {}", issues("Legacy token"));
    assert_eq!(
        (row("Refresh token")["schedule"]["kind"].as_str(), row("Refresh token")["verdict"].as_str()),
        (Some("automatic"), Some("ok"))
    );
    assert_eq!(row("Signing key")["age_days"], 400, "the checkpoint's date: {}", row("Signing key"));
    assert!(issues("Signing key").contains("overdue by 35 days"), "{}", issues("Signing key"));
    assert_eq!((row("Fresh key")["age_days"].as_i64(), row("Fresh key")["verdict"].as_str()), (Some(30), Some("ok")));

    // the table says the same, and holds no value either
    let out = secrets(&dir, &["integrations"], &declared);
    let table = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_no_value(&table, &expect, "the table");
    for e in &expect {
        let commit = e.commit.as_deref().map_or("-".to_string(), |c| c[..8].to_string());
        assert!(
            table.lines().any(|l| l.starts_with(&commit) && l.contains(&format!(" {} ", e.path)) && l.contains(&format!(" {} ", e.line))),
            "{commit} {}:{} not in the table:\n{table}",
            e.path,
            e.line
        );
    }
    assert!(table.contains("1 finding(s) allowed by"), "{table}");
    assert!(table.contains("❌ Shop Webhook secret: stored in \".env\", not secret storage"), "{table}");
}

#[test]
fn the_working_tree_alone_is_scanned_with_no_history() {
    let (dir, expect, declared) = planted_repo();
    // a nested repository is another repository's tree, as git sees it
    let nested = dir.join("vendor/lib");
    std::fs::create_dir_all(&nested).unwrap();
    git(&nested, &["init", "-q"]);
    std::fs::write(nested.join("keys.py"), format!("{}\n", every_format("nested")[0].text)).unwrap();
    let out = secrets(&dir, &["integrations", "--json", "--no-history"], &declared);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let found: Vec<(String, u64)> = json["scan"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect();
    let want: Vec<(String, u64)> = expect.iter().filter(|e| e.in_worktree).map(|e| (e.path.clone(), e.line as u64)).collect();
    assert_eq!(found, want);
    assert_eq!(json["scan"]["commits"], 0);
    assert_no_value(&text(&out), &expect, "the JSON");
}

#[test]
fn a_clean_repository_exits_0() {
    let dir = support::scratch("secrets-clean");
    git(&dir, &["init", "-q"]);
    commit(&dir, "app/examples.txt", &near_misses("clean"), "near-misses only");
    let rows = [format!("{{name: API key, storage: vault, rotation: Yearly, rotated_at: {}, env: {DECLARED_ENV}}}", days_ago(3))];
    commit(&dir, "integrations/shop/spec.yaml", &spec(&rows), "spec");
    let out = secrets(&dir, &["integrations"], &random("unplanted", 30, BASE62));
    let table = text(&out);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains("Leaks: none") && table.contains("Issues:\nnone"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("shop") && l.contains("3 d of 365") && l.ends_with("ok")), "{table}");
}

#[test]
fn bad_input_is_a_clear_error_never_a_panic() {
    let dir = support::scratch("secrets-bad");
    std::fs::create_dir_all(dir.join("integrations/shop")).unwrap();
    std::fs::write(dir.join("integrations/shop/spec.yaml"), spec(&["{name: K, storage: vault, rotation: Yearly}".into()])).unwrap();
    // not a git repository
    let out = secrets(&dir, &["integrations", "--repo", "."], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("expected a git repository, found"), "{}", text(&out));
    // no such repository
    let out = secrets(&dir, &["integrations", "--repo", "nowhere"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("nowhere: expected a git repository, found no such directory"), "{}", text(&out));
    // no integrations
    let out = secrets(&dir, &["missing"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("missing: expected a directory of integrations"), "{}", text(&out));
    // an allow-list line that is no glob
    git(&dir, &["init", "-q"]);
    std::fs::write(dir.join(".oc-secrets-allow"), "tests/**\n!tests/real.env\n").unwrap();
    let out = secrets(&dir, &["integrations"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(".oc-secrets-allow:2: expected a path glob (negation is not supported), found \"!tests/real.env\""),
        "{}",
        text(&out)
    );
    std::fs::write(dir.join(".oc-secrets-allow"), "fingerprint:xyz\n").unwrap();
    let out = secrets(&dir, &["integrations"], "");
    assert!(text(&out).contains(".oc-secrets-allow:1: expected fingerprint:<12 hex digits>"), "{}", text(&out));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
}
