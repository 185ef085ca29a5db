//! `oc-integrate`: check integration specs, list the cases they generate, show the state
//! of each integration (rounds, checkpoint), print round reports and the spec schema.
//! The trials themselves run under `cargo test`, through the project's harness target.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use oc_integrate::plan::catalog;
use oc_integrate::scenario::{self, Policy};
use oc_integrate::{checkpoint, plan, report, sandbox, spec, webhook};
use serde_json::{Value, json};

/// `println!` that ignores a closed stdout (`oc-integrate list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(name = "oc-integrate", version, about = "Client-resilience test harness for third-party API integrations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Color the output: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Validate every <service>/spec.yaml under DIR (errors name file:line:col) and check
    /// that each integration-spec.md and contract.md beside one is rendered from it.
    Check {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
    },
    /// List the cases each spec generates, with what each one demands.
    Cases {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
        /// Print only the trial names.
        #[arg(long)]
        names: bool,
        /// Print a JSON array: per trial its name, service, what it targets, kind, title and
        /// spec location (`file:line:col`), and whether it runs against mocks or the sandbox.
        #[arg(long, conflicts_with = "names")]
        json: bool,
    },
    /// Print the JSON Schema of spec.yaml.
    Schema,
    /// Review the drift the last drift checks found (shapes left beside their baselines as
    /// `<endpoint>.json.new`): exit 0 none, 4 additive only, 5 breaking; `--accept` makes
    /// them the new baselines.
    Drift {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
        /// Accept every pending shape as its endpoint's baseline (widening it).
        #[arg(long)]
        accept: bool,
    },
    /// Make integrations/<SERVICE>/spec.yaml from the provider's OpenAPI (3.0, 3.1) or
    /// Swagger 2.0 document and the provider catalog, or a skeleton from the catalog alone;
    /// what cannot be decided is written as TODOs and listed. `--catalog` lists the
    /// providers the catalog knows; `--check` lints the contract of every spec under DIR.
    Plan {
        /// The service id (lowercase letters, digits, _): the directory name, and the
        /// catalog provider when it names one (stripe, github, google, …).
        #[arg(required_unless_present_any = ["catalog", "check"])]
        service: Option<String>,
        /// The API description (JSON or YAML).
        #[arg(long)]
        openapi: Option<PathBuf>,
        /// Keep only these endpoints (ids like get_customer, or operationIds), comma-separated.
        #[arg(long, value_delimiter = ',', requires = "openapi")]
        endpoints: Vec<String>,
        /// Keep only operations with these tags, comma-separated.
        #[arg(long, value_delimiter = ',', requires = "openapi")]
        tag: Vec<String>,
        /// Keep at most N of the selected operations, in document order.
        #[arg(long, requires = "openapi")]
        limit: Option<usize>,
        /// Directory of integrations.
        #[arg(long, default_value = "integrations")]
        dir: PathBuf,
        /// Replace an existing spec.yaml.
        #[arg(long)]
        force: bool,
        /// Print the spec instead of writing it.
        #[arg(long)]
        stdout: bool,
        /// List the providers of the built-in catalog (harness mode, auth, what it knows).
        #[arg(long, conflicts_with_all = ["service", "check"])]
        catalog: bool,
        /// Lint the contract of every spec under DIR (default: integrations): print each
        /// finding with its spec line and what to add; exit 1 when there are any.
        #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "integrations", conflicts_with = "service")]
        check: Option<PathBuf>,
    },
    /// Write integration-spec.md and contract.md (the seed's templates) beside every spec.yaml under DIR.
    Render {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
    },
    /// Sign or verify a webhook delivery with a provider's scheme.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Show each integration (from the specs and the checkpoint): auth, endpoints, rounds,
    /// last verdict, last health.
    List {
        /// Directory of integrations.
        #[arg(default_value = "integrations")]
        dir: PathBuf,
        /// The checkpoint file.
        #[arg(long, env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
        checkpoint: PathBuf,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Print a round report: the latest of every service, or SERVICE's latest or round M.
    Report {
        /// The service (its directory name); all services when absent.
        service: Option<String>,
        /// The round number (default: the latest).
        #[arg(long, requires = "service")]
        round: Option<u32>,
        /// Directory of integrations.
        #[arg(long, default_value = "integrations")]
        dir: PathBuf,
        /// Print JSON (service, round, verdict, path, markdown), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Show the checkpoint (the seed's /checkpoint): each integration's state and the current build.
    Checkpoint {
        /// The checkpoint file.
        #[arg(long, alias = "file", env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
        checkpoint: PathBuf,
        /// Print the checkpoint's JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// `plan`: import a document and/or the catalog's facts, write (or print) the spec, check
/// it loads, render its documents, list the TODOs.
/// Ask on the terminal which of the document's operations to plan.
fn pick_endpoints(doc: serde_json::Value) -> Result<Vec<String>, String> {
    let offered = plan::pick::offer(doc).map_err(|e| e.to_string())?;
    for (i, o) in offered.iter().enumerate() {
        let tags = if o.tags.is_empty() { String::new() } else { format!("  [{}]", o.tags.join(", ")) };
        eprintln!("{:>5}  {:<7} {:<60} {}{tags}", i + 1, o.method, o.path, o.id);
    }
    loop {
        eprint!("plan which endpoints? (1,3-5, tag:NAME, ids, or all): ");
        let mut answer = String::new();
        match std::io::stdin().read_line(&mut answer) {
            Ok(0) => return Err("expected a selection on the terminal, found end of input (use --endpoints or --tag)".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("could not read the selection: {e}")),
        }
        match plan::pick::choose(&answer, &offered) {
            Ok(ids) => return Ok(ids),
            Err(e) => eprintln!("{e}"),
        }
    }
}

fn plan_command(service: &str, openapi: Option<&Path>, select: plan::Select, dir: &Path, force: bool, to_stdout: bool) -> ExitCode {
    if plan::snake(service) != service {
        return fail(format!(
            "expected a service id of lowercase letters, digits and _, found {service:?} (try {:?})",
            plan::snake(service)
        ));
    }
    let planned = match openapi {
        Some(openapi) => {
            let provider = match catalog::find(service) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let doc = match plan::read_document(openapi) {
                Ok(d) => d,
                Err(e) => return fail(e),
            };
            let mut select = select;
            let nothing_chosen = select.endpoints.is_empty() && select.tags.is_empty() && select.limit.is_none();
            if nothing_chosen && !to_stdout && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                match pick_endpoints(doc.clone()) {
                    Ok(ids) => select.endpoints = ids,
                    Err(e) => return fail(e),
                }
            }
            match plan::from_openapi(doc, service, &select, provider.as_ref()) {
                Ok(p) => p,
                Err(e) => return fail(format!("{}: {e}", openapi.display())),
            }
        }
        None => match catalog::get(service) {
            Ok(p) => plan::from_catalog(&p, service),
            Err(e) => return fail(e),
        },
    };
    if to_stdout {
        say!("{}", planned.yaml);
        for t in &planned.todos {
            eprintln!("TODO {t}");
        }
        return ExitCode::SUCCESS;
    }
    let path = dir.join(service).join("spec.yaml");
    if path.exists() && !force {
        return fail(format!("{}: expected no spec yet, found one (--force replaces it)", path.display()));
    }
    if force {
        // schema files an earlier plan wrote would otherwise linger beside the new spec
        let schemas = dir.join(service).join("schemas");
        for f in std::fs::read_dir(&schemas).into_iter().flatten().filter_map(Result::ok) {
            if f.file_name().to_string_lossy().contains(".response.schema.") {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    if let Err(e) = planned.write(&dir.join(service)) {
        return fail(e);
    }
    let loaded = match spec::load_file(&path) {
        Ok(s) => s,
        Err(e) => return fail(format!("the generated spec does not load (a planner bug, please report it): {e}")),
    };
    let cases = scenario::plan(&loaded).len();
    if let Err(e) = write_documents(&loaded) {
        return fail(e);
    }
    match openapi {
        Some(_) => say!("wrote {} ({} of {} operations, {cases} cases)", path.display(), planned.selected, planned.available),
        None => say!("wrote {} (a skeleton from the provider catalog, {cases} cases)", path.display()),
    }
    for t in &planned.todos {
        say!("  TODO {t}");
    }
    for f in plan::lint::check(&loaded) {
        say!("  contract: {f}");
    }
    ExitCode::SUCCESS
}

/// Write integration-spec.md and contract.md beside `spec`; `Err` names the file that failed.
fn write_documents(spec: &spec::Spec) -> Result<Vec<PathBuf>, String> {
    let docs = [
        (plan::document::path_for(spec), plan::document::integration_spec(spec)),
        (plan::contract::path_for(spec), plan::contract::render(spec)),
    ];
    let mut written = Vec::new();
    for (path, text) in docs {
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// `plan --catalog`: the providers of the built-in catalog.
fn list_providers(paint: &Paint) -> ExitCode {
    let providers = match catalog::providers() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            let known = |yes: bool, text: String| if yes { text } else { "-".into() };
            vec![
                p.id.clone(),
                p.name.clone(),
                p.build.mode.to_string(),
                p.auth.kind().to_string(),
                known(p.sandbox.is_some(), "yes".into()),
                p.rate_limit.as_ref().and_then(|r| r.limit).map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
                known(p.idempotency.is_some(), p.idempotency.as_ref().map(|i| i.header.clone()).unwrap_or_default()),
                p.webhook
                    .as_ref()
                    .map(|w| w.scheme.map(|s| s.name().to_string()).unwrap_or_else(|| "none".into()))
                    .unwrap_or_else(|| "-".into()),
                p.aliases.join(", "),
            ]
        })
        .collect();
    table(paint, &["PROVIDER", "NAME", "BUILD", "AUTH", "SANDBOX", "RATE LIMIT", "IDEMPOTENCY", "WEBHOOK", "ALIASES"], &rows, &[]);
    ExitCode::SUCCESS
}

/// Run `each` on every spec under `dir` (it prints what it finds and says whether the spec
/// is fine); a broken spec is printed as an error. Exit 1 when any was not fine.
fn each_spec(dir: &Path, mut each: impl FnMut(&spec::Spec) -> bool) -> ExitCode {
    let specs = match spec::load_dir(dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut bad = false;
    for s in specs {
        match s {
            Ok(s) => bad |= !each(&s),
            Err(e) => {
                bad = true;
                eprintln!("error: {e}");
            }
        }
    }
    if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `drift`: the pending shapes under `dir` against their baselines, or accepted.
fn drift_command(dir: &Path, accept: bool) -> ExitCode {
    use oc_integrate::drift::{self, Severity};
    let mut worst = None;
    let code = each_spec(dir, |s| {
        let mut fine = true;
        for e in &s.endpoints {
            let base = drift::baseline_path(s, &e.id);
            let pending = drift::pending_path(&base);
            let live = match drift::read_baseline(&pending) {
                Ok(Some(l)) => l,
                Ok(None) => continue,
                Err(err) => {
                    eprintln!("error: {err}");
                    fine = false;
                    continue;
                }
            };
            if accept {
                match drift::accept(&base, &live).and_then(|()| {
                    std::fs::remove_file(&pending).map_err(|err| drift::BaselineError { path: pending.clone(), message: err.to_string() })
                }) {
                    Ok(()) => say!("accepted {}", base.display()),
                    Err(err) => {
                        eprintln!("error: {err}");
                        fine = false;
                    }
                }
                continue;
            }
            let baseline = match drift::read_baseline(&base) {
                Ok(b) => b.unwrap_or_default(),
                Err(err) => {
                    eprintln!("error: {err}");
                    fine = false;
                    continue;
                }
            };
            let changes = baseline.diff(&live);
            worst = worst.max(drift::worst(&changes));
            say!("{}::{} ({})", s.id, e.id, pending.display());
            for c in &changes {
                say!("  {c}");
            }
            say!("{}", drift::unified_diff(&baseline, &live));
        }
        fine
    });
    if code != ExitCode::SUCCESS || accept {
        return code;
    }
    match worst {
        None => {
            say!("no pending drift");
            ExitCode::SUCCESS
        }
        Some(Severity::Additive) => ExitCode::from(oc_integrate::harness::DRIFT_ADDITIVE),
        Some(Severity::Breaking) => ExitCode::from(oc_integrate::harness::DRIFT_BREAKING),
    }
}

/// `plan --check`: the contract lint of every spec under `dir`.
fn lint_command(dir: &Path) -> ExitCode {
    each_spec(dir, |s| {
        let findings = plan::lint::check(s);
        if findings.is_empty() {
            say!("ok    {} (contract: nothing to push back on)", s.file.display());
        }
        for f in &findings {
            say!("{f}");
        }
        findings.is_empty()
    })
}

/// `render`: regenerate every integration-spec.md and contract.md from its spec.yaml.
fn render(dir: &Path) -> ExitCode {
    each_spec(dir, |s| match write_documents(s) {
        Ok(paths) => {
            for p in paths {
                say!("wrote {}", p.display());
            }
            true
        }
        Err(e) => {
            eprintln!("error: {e}");
            false
        }
    })
}

/// What `webhook` does.
#[derive(Subcommand)]
enum WebhookCommand {
    /// Print the headers that sign the body (stdin, or --body FILE) for SCHEME.
    Sign {
        #[command(flatten)]
        common: WebhookArgs,
        /// Unix seconds to sign (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
        /// The message / event id (Standard Webhooks, Svix, the generic scheme's X-Event-ID).
        #[arg(long)]
        id: Option<String>,
        /// Print the headers as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a delivery's signature: exit 0 when valid, 1 (with the reason) when not.
    Verify {
        #[command(flatten)]
        common: WebhookArgs,
        /// A received header, `Name: value` (repeat for each).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// Unix seconds to judge the timestamp against (default: now).
        #[arg(long)]
        now: Option<i64>,
        /// Override the scheme's timestamp tolerance, in seconds.
        #[arg(long)]
        tolerance: Option<i64>,
    },
}

#[derive(clap::Args)]
struct WebhookArgs {
    /// stripe, github, slack, standard_webhooks, svix, shopify, twilio, linear, telegram, generic.
    #[arg(long, value_parser = parse_scheme)]
    scheme: webhook::Scheme,
    /// The environment variable holding the secret (never the secret itself on the command line).
    #[arg(long)]
    secret_env: String,
    /// The raw body file (default: stdin). Its exact bytes are signed.
    #[arg(long)]
    body: Option<PathBuf>,
    /// The full URL the provider posts to (Twilio signs it).
    #[arg(long)]
    url: Option<String>,
}

fn parse_scheme(name: &str) -> Result<webhook::Scheme, String> {
    webhook::Scheme::named(name).ok_or_else(|| {
        let all: Vec<&str> = webhook::Scheme::ALL.iter().map(|s| s.name()).collect();
        format!("expected one of {}, found {name:?}", all.join(", "))
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `webhook sign|verify`.
fn webhook_command(command: WebhookCommand) -> ExitCode {
    let common = match &command {
        WebhookCommand::Sign { common, .. } | WebhookCommand::Verify { common, .. } => common,
    };
    let secret = match std::env::var(&common.secret_env) {
        Ok(s) if !s.is_empty() => s,
        _ => {
            return fail(format!(
                "--secret-env {}: expected the secret in that environment variable, found it unset or empty",
                common.secret_env
            ));
        }
    };
    let body = match &common.body {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf).map_err(|e| format!("stdin: {e}"))
        }
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    match command {
        WebhookCommand::Sign { common, timestamp, id, json } => {
            let with = webhook::Sign { timestamp: timestamp.unwrap_or_else(unix_now), id, url: common.url };
            match webhook::sign(common.scheme, &secret, &body, &with) {
                Ok(headers) if json => {
                    let map: serde_json::Map<String, Value> = headers.into_iter().map(|(k, v)| (k, json!(v))).collect();
                    say!("{}", serde_json::to_string_pretty(&map).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Ok(headers) => {
                    for (k, v) in headers {
                        say!("{k}: {v}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        WebhookCommand::Verify { common, headers, now, tolerance } => {
            let mut parsed = Vec::new();
            for h in &headers {
                match h.split_once(':') {
                    Some((k, v)) => parsed.push((k.trim().to_string(), v.trim().to_string())),
                    None => return fail(format!("--header: expected `Name: value`, found {h:?}")),
                }
            }
            let with = webhook::Verify { now: now.unwrap_or_else(unix_now), tolerance, url: common.url };
            match webhook::verify(common.scheme, &secret, &parsed, &body, &with) {
                Ok(()) => {
                    say!("valid {} signature", common.scheme);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("invalid: {}", oc_integrate::redact::redact(&e.to_string()));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Terminal styling, applied only when color is on.
struct Paint(bool);

impl Paint {
    fn new(choice: Color) -> Paint {
        Paint(match choice {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        })
    }

    /// `text` padded to `width`, then colored by what it says (PASS green, FAIL red, …).
    fn verdict(&self, text: &str, width: usize) -> String {
        let padded = format!("{text:<width$}");
        let code = match text {
            "PASS" | "tested" => "32",
            "FAIL" | "failing" => "31",
            "escalated" | "broken" => "1;31",
            _ => return padded,
        };
        if self.0 { format!("\x1b[{code}m{padded}\x1b[0m") } else { padded }
    }

    fn bold(&self, text: &str) -> String {
        if self.0 { format!("\x1b[1m{text}\x1b[0m") } else { text.to_string() }
    }
}

/// Print `rows` as aligned columns under `head`; columns named in `colored` go through
/// [`Paint::verdict`].
fn table(paint: &Paint, head: &[&str], rows: &[Vec<String>], colored: &[usize]) {
    let widths: Vec<usize> =
        (0..head.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([head[i].len()]).max().unwrap_or(0)).collect();
    let line: Vec<String> = head.iter().zip(&widths).map(|(h, w)| format!("{h:<w$}")).collect();
    say!("{}", paint.bold(line.join("  ").trim_end()));
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| if colored.contains(&i) { paint.verdict(c, widths[i]) } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        say!("{}", cells.join("  ").trim_end());
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Ascending numbers as ranges: `1-4, 6, 8-20`.
fn ranges(numbers: impl IntoIterator<Item = u32>) -> String {
    let mut spans: Vec<(u32, u32)> = Vec::new();
    for n in numbers {
        match spans.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => spans.push((n, n)),
        }
    }
    spans.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(", ")
}

/// `list`: the specs under `dir` joined with their rounds and the checkpoint.
fn list(dir: &Path, checkpoint_path: &Path, as_json: bool, paint: &Paint) -> ExitCode {
    let specs = match spec::load_dir(dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let state = match checkpoint::read(checkpoint_path) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let recorded = state.pointer("/skill_state/integrations").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut out: Vec<Value> = Vec::new();
    for loaded in &specs {
        let (id, file) = match loaded {
            Ok(s) => (s.id.clone(), s.file.clone()),
            Err(e) => {
                (e.file.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), e.file.clone())
            }
        };
        let history = report::history(file.parent().unwrap_or(Path::new(".")));
        let last = history.last();
        let saved = recorded.get(&id).cloned().unwrap_or(Value::Null);
        let mut row = json!({
            "service": id,
            "spec": file.display().to_string(),
            "rounds": last.map(|r| r.number).unwrap_or(0),
            "last_test": last.map(|r| if r.passed { "PASS" } else { "FAIL" }),
            "escalated": last.is_some_and(|r| r.escalated()),
            "status": saved.get("status").cloned().unwrap_or(Value::Null),
            "last_health": saved.get("last_health").cloned().unwrap_or(Value::Null),
        });
        match loaded {
            Ok(s) => {
                row["auth"] = json!(checkpoint::auth_name(&s.overview.auth));
                row["endpoints"] = json!(s.endpoints.len());
                row["cases"] = json!(scenario::plan(s).len());
            }
            Err(e) => {
                row["status"] = json!("broken");
                row["error"] = json!(e.to_string());
            }
        }
        out.push(row);
    }
    // integrations the checkpoint knows that have no spec here
    let with_spec: Vec<Value> = out.iter().map(|r| r["service"].clone()).collect();
    for (id, saved) in recorded.iter().filter(|(id, _)| !with_spec.contains(&json!(id))) {
        out.push(json!({
            "service": id,
            "spec": null,
            "auth": saved.get("auth"),
            "endpoints": saved.get("endpoints"),
            "rounds": saved.get("test_rounds").cloned().unwrap_or(json!(0)),
            "last_test": saved.get("last_test"),
            "escalated": saved.get("status").and_then(Value::as_str) == Some("escalated"),
            "status": saved.get("status"),
            "last_health": saved.get("last_health"),
        }));
    }
    if as_json {
        say!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let rows: Vec<Vec<String>> = out
        .iter()
        .map(|r| {
            let status = if r["escalated"] == true { json!("escalated") } else { r["status"].clone() };
            ["service", "auth", "endpoints", "rounds", "last_test", "last_health"]
                .iter()
                .map(|k| text(&r[*k]))
                .chain([text(&status)])
                .collect()
        })
        .collect();
    table(paint, &["SERVICE", "AUTH", "ENDPOINTS", "ROUNDS", "LAST TEST", "LAST HEALTH", "STATUS"], &rows, &[4, 6]);
    for r in out.iter().filter(|r| r.get("error").is_some()) {
        eprintln!("error: {}", text(&r["error"]));
    }
    ExitCode::SUCCESS
}

/// `report`: print round reports.
fn show_report(dir: &Path, service: Option<&str>, round: Option<u32>, as_json: bool, paint: &Paint) -> ExitCode {
    let services: Vec<String> = match service {
        Some(s) => vec![s.to_string()],
        None => match spec::load_dir(dir) {
            Ok(specs) => specs.iter().filter_map(|s| s.as_ref().ok().map(|s| s.id.clone())).collect(),
            Err(e) => return fail(e),
        },
    };
    let mut shown = Vec::new();
    for id in services {
        if !dir.join(&id).join("spec.yaml").is_file() {
            return fail(format!("{}: expected a service with a spec.yaml, found none", dir.join(&id).display()));
        }
        let history = report::history(&dir.join(&id));
        let picked = match round {
            Some(m) => history.iter().find(|r| r.number == m),
            None => history.last(),
        };
        let Some(r) = picked else {
            let have = if history.is_empty() {
                "no rounds yet (a complete harness run writes them)".to_string()
            } else {
                format!("rounds {}", ranges(history.iter().map(|r| r.number)))
            };
            let want = round.map(|m| format!("round {m}")).unwrap_or_else(|| "a round".into());
            if service.is_some() {
                return fail(format!("{}: expected {want} of {id:?}, found {have}", dir.join(&id).display()));
            }
            eprintln!("{id}: {have}");
            continue;
        };
        let markdown = match std::fs::read_to_string(&r.path) {
            Ok(t) => t,
            Err(e) => return fail(format!("{}: {e}", r.path.display())),
        };
        shown.push(json!({
            "service": id,
            "round": r.number,
            "verdict": if r.passed { "PASS" } else { "FAIL" },
            "escalated": r.escalated(),
            "path": r.path.display().to_string(),
            "markdown": markdown,
        }));
    }
    if as_json {
        say!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    for (i, r) in shown.iter().enumerate() {
        if i > 0 {
            say!();
        }
        say!("{}", paint.bold(&format!("# {}", text(&r["path"]))));
        for line in text(&r["markdown"]).lines() {
            match line.strip_prefix("### Verdict: ") {
                Some(v) => say!("### Verdict: {}", paint.verdict(v, 0)),
                None if line.starts_with('#') => say!("{}", paint.bold(line)),
                None => say!("{line}"),
            }
        }
    }
    ExitCode::SUCCESS
}

/// `checkpoint`: the seed's /checkpoint.
fn show_checkpoint(path: &Path, as_json: bool, paint: &Paint) -> ExitCode {
    let state = match checkpoint::read(path) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if as_json {
        say!("{}", serde_json::to_string_pretty(&state).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if state.as_object().is_none_or(|o| o.is_empty()) {
        say!("no checkpoint at {} yet: a complete harness run writes it", path.display());
        return ExitCode::SUCCESS;
    }
    say!("{} (updated {})", paint.bold(&path.display().to_string()), text(&state["updated_at"]));
    let s = &state["skill_state"];
    if let Some(current) = s.get("current_build").and_then(Value::as_str) {
        say!("current build: {current}, iteration {} of {}", text(&s["build_iteration"]), report::MAX_FAILED_ROUNDS);
    }
    let rows: Vec<Vec<String>> = s["integrations"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(id, v)| {
                    std::iter::once(id.clone())
                        .chain(["status", "auth", "endpoints", "test_rounds", "last_test", "last_health"].iter().map(|k| text(&v[*k])))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    table(paint, &["SERVICE", "STATUS", "AUTH", "ENDPOINTS", "ROUNDS", "LAST TEST", "LAST HEALTH"], &rows, &[1, 5]);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paint = Paint::new(cli.color);
    match cli.command {
        Command::List { dir, checkpoint, json } => list(&dir, &checkpoint, json, &paint),
        Command::Report { service, round, dir, json } => show_report(&dir, service.as_deref(), round, json, &paint),
        Command::Checkpoint { checkpoint, json } => show_checkpoint(&checkpoint, json, &paint),
        Command::Webhook { command } => webhook_command(command),
        Command::Render { dir } => render(&dir),
        Command::Plan { catalog: true, .. } => list_providers(&paint),
        Command::Plan { check: Some(dir), .. } => lint_command(&dir),
        Command::Plan { service, openapi, endpoints, tag, limit, dir, force, stdout, .. } => {
            let select = plan::Select { endpoints, tags: tag, limit, inline_schemas: stdout };
            plan_command(service.as_deref().unwrap_or_default(), openapi.as_deref(), select, &dir, force, stdout)
        }
        Command::Drift { dir, accept } => drift_command(&dir, accept),
        Command::Schema => {
            say!("{}", serde_json::to_string_pretty(&spec::json_schema()).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Command::Check { dir } => each_spec(&dir, |s| {
            let stale: Vec<String> = [plan::document::stale(s), plan::contract::stale(s)].into_iter().flatten().collect();
            for reason in &stale {
                eprintln!("error: {reason}");
            }
            if stale.is_empty() {
                let live = sandbox::trial::plan(s).len();
                let live = if live > 0 { format!(", {live} sandbox trials") } else { String::new() };
                say!("ok    {} ({} endpoints, {} cases{live})", s.file.display(), s.endpoints.len(), scenario::plan(s).len());
            }
            stale.is_empty()
        }),
        Command::Cases { dir, names, json } => {
            let specs = match spec::load_dir(&dir) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut bad = false;
            let mut rows = Vec::new();
            for s in specs {
                let s = match s {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: {e}");
                        bad = true;
                        continue;
                    }
                };
                if json {
                    rows.extend(scenario::plan(&s).iter().map(|c| {
                        serde_json::json!({"name": c.name(), "service": s.id, "subject": c.subject.label(&s), "kind": c.kind.name(),
                            "title": c.title(), "spec": s.locate(&c.subject.path()), "against": "mock"})
                    }));
                    rows.extend(sandbox::trial::plan(&s).iter().map(|c| {
                        serde_json::json!({"name": c.name(), "service": s.id, "subject": if c.subject_id.is_empty() { "sandbox" } else { &c.subject_id },
                            "kind": c.kind(), "title": c.title(&s), "spec": s.locate(&c.path()), "against": "sandbox"})
                    }));
                    continue;
                }
                let policy = Policy::of(&s, scenario::Subject::Endpoint(0));
                for case in scenario::plan(&s) {
                    if names {
                        say!("{}", case.name());
                    } else {
                        say!("{:<60} {} — {}", case.name(), case.subject.label(&s), case.title());
                    }
                }
                for case in sandbox::trial::plan(&s) {
                    if names {
                        say!("{}", case.name());
                    } else {
                        say!("{:<60} sandbox — {}", case.name(), case.title(&s));
                    }
                }
                if !names {
                    let sender = match &s.webhooks.sender {
                        Some(_) => format!(", webhook sender {} attempts", Policy::of(&s, scenario::Subject::Sender).retry.max_attempts),
                        None => String::new(),
                    };
                    say!(
                        "  ({}: time scale {}, attempt budget {:.3} s, {} attempts{sender}, Retry-After {} s)\n",
                        s.id,
                        policy.time_scale,
                        policy.budget.as_secs_f64(),
                        policy.retry.max_attempts,
                        policy.retry_after.as_secs()
                    );
                }
            }
            if json {
                say!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
            }
            if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
    }
}
