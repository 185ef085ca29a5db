//! `oc-integrate health`: the seed's "check health of all active integrations". Probes each
//! integration live (`oc_integrate::health`), prints the seed's table (or JSON, or Prometheus
//! text), records `last_health` in the checkpoint, and exits 0 when all are healthy, 3 when
//! one is degraded, 4 when one is down (a spec that does not load is one that is down), 2
//! when the directory cannot be read.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use oc_integrate::checkpoint::{self, HealthEntry};
use oc_integrate::health::{self, Integration, State, Target};
use oc_integrate::progress::Progress;

use super::table::{Paint, fail, project_name, say};

/// Probe every integration under DIR (its sandbox, or production with --production) and
/// print the seed's health table. Exit 0: all healthy; 3: one degraded; 4: one down.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
    /// Probe production (`overview.base_url`, its token endpoint, the deployed webhook
    /// receiver) instead of the sandbox. Nothing but GET/HEAD is sent to the API.
    #[arg(long)]
    production: bool,
    /// table (the seed's), json, or prometheus (the text exposition format, for a textfile
    /// collector or a scrape).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Check again every SECONDS, redrawing the table on a terminal, until interrupted
    /// (--json then prints one line of JSON per check).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    watch: Option<u64>,
    /// With --watch: stop after N checks.
    #[arg(long, value_name = "N", requires = "watch", value_parser = clap::value_parser!(u64).range(1..))]
    times: Option<u64>,
    /// The most one integration's probes may take in all, in seconds (each probe also has
    /// the spec's health.timeout_ms).
    #[arg(long, value_name = "SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=600))]
    budget: u64,
    /// The project name in the title (default: the current directory's name).
    #[arg(long)]
    project: Option<String>,
    /// The checkpoint file, where last_health is recorded.
    #[arg(long, env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
    checkpoint: PathBuf,
}

/// How the result is printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Prometheus,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let (specs, broken) = match super::loadable(&args.dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // a spec that does not load is an integration that cannot be checked: a ❌ row of its own
    let broken: Vec<Integration> = broken
        .iter()
        .map(|e| {
            let service = e.file.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Integration::unloadable(&service, &e.to_string())
        })
        .collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let format = if args.json { Format::Json } else { args.format };
    let target = if args.production { Target::Production } else { Target::Sandbox };
    let project = project_name(args.project.as_deref());
    let redraw = std::io::stdout().is_terminal() && format == Format::Table;
    let mut checks = 0;
    // on a terminal, the integrations checked so far (stderr: never in the table, JSON or metrics)
    let progress = Progress::on_stderr();
    loop {
        let mut found = runtime.block_on(health::check_all(&specs, target, Duration::from_secs(args.budget), &progress));
        found.extend(broken.iter().cloned());
        found.sort_by(|a, b| a.service.cmp(&b.service));
        checks += 1;
        if redraw && args.watch.is_some() {
            say!("\x1b[H\x1b[2J");
        }
        match format {
            Format::Table => print_table(&project, &found, paint),
            Format::Json => {
                let state = health::worst(&found);
                let all = serde_json::json!({"project": project, "target": target, "state": state, "integrations": found});
                // watching, one line per check (JSON Lines), so a reader can take them one by one
                let text = if args.watch.is_some() { serde_json::to_string(&all) } else { serde_json::to_string_pretty(&all) };
                say!("{}", text.unwrap_or_default());
            }
            Format::Prometheus => print!("{}", prometheus(&found)),
        }
        if let Err(e) = record(&args.checkpoint, &found) {
            eprintln!("warning: health not recorded in the checkpoint: {e}");
        }
        let code = match health::worst(&found) {
            State::Down => ExitCode::from(4),
            State::Degraded => ExitCode::from(3),
            State::Healthy => ExitCode::SUCCESS,
        };
        match args.watch {
            Some(seconds) if args.times.is_none_or(|n| checks < n) => std::thread::sleep(Duration::from_secs(seconds)),
            _ => return code,
        }
    }
}

/// The seed's table: the title, a rule, a line per integration, the numbered issues, a rule.
fn print_table(project: &str, found: &[Integration], paint: &Paint) {
    let rule = "━".repeat(39);
    say!("{}", paint.bold(&format!("INTEGRATION HEALTH — {project}")));
    say!("{rule}");
    let latency = |i: &Integration| i.api.as_ref().and_then(|p| p.latency_ms).map(|ms| format!("{ms}ms")).unwrap_or_default();
    let name_w = found.iter().map(|i| i.name.chars().count()).max().unwrap_or(0);
    let latency_w = found.iter().map(|i| latency(i).len()).max().unwrap_or(0);
    for i in found {
        let symbol = i.state.symbol();
        // the seed's "❌ Stripe unreachable — webhook endpoint 504": what is down stands alone
        let line = if !i.reachable() || i.remark.starts_with("unreachable") {
            format!("{symbol} {:<name_w$} {}", i.name, i.remark)
        } else {
            format!("{symbol} {:<name_w$} reachable {:>latency_w$} {}", i.name, latency(i), i.remark)
        };
        say!("{}", line.trim_end());
    }
    say!("Issues:");
    let issues: Vec<&String> = found.iter().flat_map(|i| &i.issues).collect();
    if issues.is_empty() {
        say!("none");
    }
    for (n, issue) in issues.iter().enumerate() {
        say!("{}. {issue}", n + 1);
    }
    say!("{rule}");
}

/// The Prometheus text exposition format (0.0.4): whether each integration is up, its API
/// probe's latency, whether its credential is valid (only where it was checked).
fn prometheus(found: &[Integration]) -> String {
    let label = |i: &Integration| format!("service=\"{}\",name=\"{}\"", escape(&i.service), escape(&i.name));
    let mut out = String::new();
    let mut family = |name: &str, help: &str, values: Vec<(String, String)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, v) in values {
            out.push_str(&format!("{name}{{{labels}}} {v}\n"));
        }
    };
    family(
        "oc_integration_up",
        "1 when the integration is healthy or degraded, 0 when it is down.",
        found.iter().map(|i| (label(i), if i.state == State::Down { "0" } else { "1" }.to_string())).collect(),
    );
    family(
        "oc_integration_latency_seconds",
        "The round trip of the integration's health probe.",
        found
            .iter()
            .filter_map(|i| i.api.as_ref().and_then(|p| p.latency_ms).map(|ms| (label(i), format!("{}", ms as f64 / 1000.0))))
            .collect(),
    );
    family(
        "oc_integration_token_valid",
        "1 when the integration's credential was accepted, 0 when it was refused (absent when not checked).",
        found.iter().filter_map(|i| i.token.valid().map(|v| (label(i), if v { "1" } else { "0" }.to_string()))).collect(),
    );
    out
}

/// A label value as the exposition format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Record each integration's state and issues in the checkpoint, under its lock.
fn record(path: &std::path::Path, found: &[Integration]) -> Result<(), checkpoint::CheckpointError> {
    let state = |s: State| match s {
        State::Healthy => "healthy",
        State::Degraded => "degraded",
        State::Down => "down",
    };
    let at = found.iter().map(|i| i.checked_at.clone()).max().unwrap_or_default();
    let entries: Vec<HealthEntry> =
        found.iter().map(|i| HealthEntry { service: &i.service, state: state(i.state), issues: &i.issues }).collect();
    checkpoint::record_health(path, &at, &entries).map(|_| ())
}
