//! `oc-integrate retry`: the seed's "configure retry/backoff for an integration". Shows the
//! declared policy as the schedule it implies (each attempt's wait with its jitter, the 503
//! factor, the worst case per call, what each status class does), and `--set key=value`
//! changes it in spec.yaml where it is written (comments and layout kept), re-validated,
//! with the diff shown; the documents rendered from the spec follow, and so do the cases.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use oc_integrate::case::Subject;
use oc_integrate::scenario::Policy;
use oc_integrate::spec::{self, Action, Spec};
use serde_json::json;

use super::render::write_documents;
use super::table::{Paint, fail, json, say, table};

/// Show SERVICE's retry schedule, or change its policy in spec.yaml with --set.
#[derive(clap::Args)]
pub struct Args {
    /// The service (its directory name).
    service: String,
    /// Directory of integrations.
    #[arg(long, default_value = "integrations")]
    dir: PathBuf,
    /// Change a setting in spec.yaml, keeping its comments and layout: max_attempts,
    /// base_delay_ms, multiplier, max_delay_ms, jitter_ms, request_ms (the per-attempt
    /// timeout), delay_factor (the retry_with_longer_delays row's), or any spec path such as
    /// retry.max_attempts. Repeatable; all or none are applied.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print JSON (the policy, the schedule, the matrix), for scripts.
    #[arg(long)]
    json: bool,
}

/// The settings `--set` knows by a short name, and where each is written.
const SHORT: [(&str, &str); 6] = [
    ("max_attempts", "retry.max_attempts"),
    ("base_delay_ms", "retry.base_delay_ms"),
    ("multiplier", "retry.multiplier"),
    ("max_delay_ms", "retry.max_delay_ms"),
    ("jitter_ms", "retry.jitter_ms"),
    ("request_ms", "timeouts.request_ms"),
];

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let file = args.dir.join(&args.service).join("spec.yaml");
    if !file.is_file() {
        return fail(format!("{}: expected the service's spec.yaml, found none", file.display()));
    }
    let mut spec = match spec::load_file(&file) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if !args.set.is_empty() {
        match edit(&file, &spec, &args.set) {
            Ok(edited) => spec = edited,
            Err(e) => return fail(e),
        }
    }
    let s = Schedule::of(&spec);
    if args.json {
        return json(&s.to_json(&spec));
    }
    s.print(&spec, paint);
    ExitCode::SUCCESS
}

/// Apply every `key=value` to the spec file (all or none), show the diff, re-render the
/// documents beside it. The edited spec, loaded.
fn edit(file: &Path, spec: &Spec, settings: &[String]) -> Result<Spec, String> {
    let mut edits = Vec::new();
    for setting in settings {
        let Some((key, value)) = setting.split_once('=') else {
            return Err(format!("--set: expected KEY=VALUE, found {setting:?}"));
        };
        edits.push((path_of(spec, key.trim())?, value.trim().to_string()));
    }
    let edited = spec::edit::apply(file, &edits).map_err(|e| e.to_string())?;
    let name = file.display().to_string();
    say!("{}", similar::TextDiff::from_lines(&edited.before, &edited.after).unified_diff().context_radius(1).header(&name, &name));
    for p in write_documents(&edited.spec, &oc_integrate::scenario::plan(&edited.spec))? {
        say!("wrote {}", p.display());
    }
    Ok(edited.spec)
}

/// Where the setting `key` is written in `spec`.
fn path_of(spec: &Spec, key: &str) -> Result<String, String> {
    if let Some((_, path)) = SHORT.iter().find(|(k, _)| *k == key) {
        return Ok(path.to_string());
    }
    if key == "delay_factor" {
        return spec
            .error_handling
            .iter()
            .position(|r| r.action == Action::RetryWithLongerDelays)
            .map(|i| format!("error_handling[{i}].delay_factor"))
            .ok_or_else(|| "--set delay_factor: expected a retry_with_longer_delays row in error_handling, found none".to_string());
    }
    if key.contains('.') {
        return Ok(key.to_string());
    }
    let known: Vec<&str> = SHORT.iter().map(|(k, _)| *k).chain(["delay_factor"]).collect();
    Err(format!("--set: expected one of {} or a spec path (retry.max_attempts), found {key:?}", known.join(", ")))
}

/// The schedule a spec's policy implies for one call, as declared (not scaled by the test profile).
struct Schedule {
    policy: Policy,
    /// Per attempt from the second: the wait before it, least and most (jitter added).
    waits: Vec<(Duration, Duration)>,
}

impl Schedule {
    fn of(spec: &Spec) -> Schedule {
        let policy = Policy::scaled(spec, Subject::Endpoint(0), 1.0);
        let r = &policy.retry;
        let waits = (0..r.max_attempts.saturating_sub(1)).map(|k| (r.backoff(k), r.backoff(k) + r.jitter)).collect();
        Schedule { policy, waits }
    }

    fn factor(&self) -> f64 {
        self.policy.retry.longer_delay_factor
    }

    /// The longest a call can take: every attempt its whole budget, every wait its most.
    fn worst(&self, factor: f64) -> Duration {
        let budget = self.policy.budget * self.policy.retry.max_attempts;
        budget + self.waits.iter().map(|(_, most)| most.mul_f64(factor)).sum::<Duration>()
    }

    fn print(&self, spec: &Spec, paint: &Paint) {
        let r = &self.policy.retry;
        say!("{} — retry policy ({})", paint.bold(&spec.name), spec.locate("retry"));
        say!(
            "  {} attempts in all · waits {} × {} up to {} · jitter up to {} · {} per attempt",
            r.max_attempts,
            secs(r.base_delay),
            r.multiplier,
            secs(r.max_delay),
            secs(r.jitter),
            secs(self.policy.budget)
        );
        say!("");
        let f = self.factor();
        let mut elapsed = (Duration::ZERO, Duration::ZERO);
        let mut rows = vec![vec!["1".into(), "-".into(), "-".into(), format!("by {}", secs(self.policy.budget))]];
        elapsed.0 += self.policy.budget;
        elapsed.1 += self.policy.budget;
        for (i, (least, most)) in self.waits.iter().enumerate() {
            elapsed.0 += *most + self.policy.budget;
            elapsed.1 += most.mul_f64(f) + self.policy.budget;
            rows.push(vec![
                (i + 2).to_string(),
                format!("{}–{}", secs(*least), secs(*most)),
                format!("{}–{}", secs(least.mul_f64(f)), secs(most.mul_f64(f))),
                format!("by {} (503: {})", secs(elapsed.0), secs(elapsed.1)),
            ]);
        }
        table(paint, &["attempt", "wait before it (5xx)", &format!("503 (× {f})"), "worst case, ended"], &rows, &[]);
        say!("");
        for row in &spec.error_handling {
            say!("  {:<4} {:<25} {}", row.status.to_string(), row.action.name(), means(row.action, spec, f));
        }
        say!("");
        say!("  worst case per call: {} (5xx every time), {} (503 every time)", secs(self.worst(1.0)), secs(self.worst(f)));
    }

    fn to_json(&self, spec: &Spec) -> serde_json::Value {
        let ms = |d: Duration| d.as_millis() as u64;
        let f = self.factor();
        let r = &self.policy.retry;
        json!({
            "service": spec.id,
            "policy": {
                "max_attempts": r.max_attempts, "base_delay_ms": ms(r.base_delay), "multiplier": r.multiplier,
                "max_delay_ms": ms(r.max_delay), "jitter_ms": ms(r.jitter), "request_ms": ms(self.policy.budget), "delay_factor_503": f,
            },
            "waits": self.waits.iter().enumerate().map(|(i, (least, most))| json!({
                "before_attempt": i + 2, "least_ms": ms(*least), "most_ms": ms(*most),
                "least_503_ms": ms(least.mul_f64(f)), "most_503_ms": ms(most.mul_f64(f)),
            })).collect::<Vec<_>>(),
            "matrix": spec.error_handling.iter().map(|row| json!({
                "status": row.status.to_string(), "action": row.action.name(), "means": means(row.action, spec, f),
            })).collect::<Vec<_>>(),
            "worst_case_ms": ms(self.worst(1.0)),
            "worst_case_503_ms": ms(self.worst(f)),
        })
    }
}

/// What a matrix action makes the client do, in a line.
fn means(action: Action, spec: &Spec, factor: f64) -> String {
    match action {
        Action::RefreshAndRetryOnce => "refresh the token once, then retry once with the new one".into(),
        Action::RespectRetryAfter => {
            "wait what Retry-After says (seconds or a date; else the row's reset header, else the backoff above), then retry".into()
        }
        Action::RetryWithBackoff => format!(
            "the schedule above, up to {} attempts; a call that is not idempotent is not retried after a 5xx, a timeout or a dropped connection",
            spec.retry.max_attempts
        ),
        Action::RetryWithLongerDelays => format!("the schedule above with each wait × {factor}"),
        Action::Fail => "fail at once with the status; never retried".into(),
    }
}

/// `2.5 s`, `200 ms`.
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) { format!("{} ms", d.as_millis()) } else { format!("{} s", (d.as_secs_f64() * 100.0).round() / 100.0) }
}
