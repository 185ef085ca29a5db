//! `oc-integrate checkpoint`: the seed's /checkpoint, each integration's state and the
//! current build, from the checkpoint file (or its JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::checkpoint;
use oc_integrate::results::MAX_FAILED_ROUNDS;
use serde_json::Value;

use super::table::{Paint, fail, json, say, table, text};

/// Show the checkpoint (the seed's /checkpoint): each integration's state and the current build.
#[derive(clap::Args)]
pub struct Args {
    /// The checkpoint file.
    #[arg(long, alias = "file", env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
    checkpoint: PathBuf,
    /// Print the checkpoint's JSON, for scripts.
    #[arg(long)]
    json: bool,
}

/// The seed's /checkpoint.
pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let (path, as_json) = (args.checkpoint.as_path(), args.json);
    let state = match checkpoint::read(path) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if as_json {
        return json(&state);
    }
    if state.as_object().is_none_or(|o| o.is_empty()) {
        say!("no checkpoint at {} yet: a complete harness run writes it", path.display());
        return ExitCode::SUCCESS;
    }
    say!("{} (updated {})", paint.bold(&path.display().to_string()), text(&state["updated_at"]));
    let s = &state["skill_state"];
    if let Some(current) = s.get("current_build").and_then(Value::as_str) {
        say!("current build: {current}, iteration {} of {}", text(&s["build_iteration"]), MAX_FAILED_ROUNDS);
    }
    let rows: Vec<Vec<String>> = s["integrations"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(id, v)| {
                    std::iter::once(id.clone())
                        .chain(
                            ["status", "auth", "endpoints", "contract", "test_rounds", "last_test", "last_health", "secrets"]
                                .iter()
                                .map(|k| text(&v[*k])),
                        )
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let header = ["SERVICE", "STATUS", "AUTH", "ENDPOINTS", "CONTRACT", "ROUNDS", "LAST TEST", "LAST HEALTH", "SECRETS"];
    table(paint, &header, &rows, &[1, 6]);
    ExitCode::SUCCESS
}
