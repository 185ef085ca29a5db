//! `oc-integrate list`: each integration as the specs, its round reports and the checkpoint
//! show it (auth, endpoints, cases, rounds, last verdict, last health and its state, status).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oc_integrate::{checkpoint, report, scenario, spec};
use serde_json::{Value, json};

use super::table::{Paint, fail, json, table, text};

/// Show each integration (from the specs and the checkpoint): auth, endpoints, rounds,
/// last verdict, last health.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
    /// The checkpoint file.
    #[arg(long, env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
    checkpoint: PathBuf,
    /// Print JSON, for scripts.
    #[arg(long)]
    json: bool,
}

/// The specs under DIR joined with their rounds and the checkpoint.
pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let (dir, checkpoint_path, as_json) = (args.dir.as_path(), args.checkpoint.as_path(), args.json);
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
            "health": saved.get("health").cloned().unwrap_or(Value::Null),
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
            "health": saved.get("health"),
        }));
    }
    if as_json {
        return json(&out);
    }
    let rows: Vec<Vec<String>> = out
        .iter()
        .map(|r| {
            let status = if r["escalated"] == true { json!("escalated") } else { r["status"].clone() };
            ["service", "auth", "endpoints", "rounds", "last_test", "last_health", "health"]
                .iter()
                .map(|k| text(&r[*k]))
                .chain([text(&status)])
                .collect()
        })
        .collect();
    table(paint, &["SERVICE", "AUTH", "ENDPOINTS", "ROUNDS", "LAST TEST", "LAST HEALTH", "HEALTH", "STATUS"], &rows, &[4, 6, 7]);
    for r in out.iter().filter(|r| r.get("error").is_some()) {
        eprintln!("error: {}", text(&r["error"]));
    }
    ExitCode::SUCCESS
}
