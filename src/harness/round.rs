//! One Tester round of one service, run the way the project runs its suite: the project's
//! client is compiled into the project's own harness target (`tests/integrations.rs`, which
//! `oc-integrate build` generates), so a round is `OC_SERVICE=<service> cargo test --test
//! <target>` in the project, a child process. `OC_SERVICE` keeps that one service in the
//! harness and the run stays unfiltered, so its complete run is the service's round: the
//! child writes `test-round-M.md` and records it in the checkpoint, and what this returns is
//! read back from there (the round, its score, its failures), never from libtest's text; the
//! child's PM write-back (write-on-close, in the harness's outputs) is read from its notes.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::checkpoint::{self, CheckpointError, Failure};
use crate::results::Round;

/// Why no round was run.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// cargo could not be started.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The suite ran (or failed to build) but wrote no round for the service: the target did
    /// not compile, the harness could not start, or it does not bind the service.
    #[error(
        "{command} exited with {status} and wrote no round for {service} (the suite did not build, or the harness could not start or does not bind it); the end of its output:\n{tail}\nthe whole of it: {}",
        log.display()
    )]
    NoRound {
        /// The command.
        command: String,
        /// The service.
        service: String,
        /// Its exit status, as shown.
        status: String,
        /// The last lines of its output.
        tail: String,
        /// Where its whole output was saved.
        log: PathBuf,
    },
    /// The checkpoint could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The log of the run could not be written.
    #[error("{path}: cannot save the round's output: {source}")]
    Log {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What to run: a service of a project.
#[derive(Debug, Clone)]
pub struct Request {
    /// The project's root (where its Cargo.toml is).
    pub project: PathBuf,
    /// The service.
    pub service: String,
    /// The project's harness test target (`integrations`).
    pub target: String,
    /// The checkpoint the harness records in, relative to the project unless absolute
    /// (`OC_CHECKPOINT`, else [`checkpoint::DEFAULT_PATH`]).
    pub checkpoint: PathBuf,
}

impl Request {
    /// The round of `service` in the project at `project`, through the `integrations` target,
    /// recorded in the checkpoint the environment names.
    pub fn new(project: impl Into<PathBuf>, service: &str) -> Request {
        let checkpoint = std::env::var_os("OC_CHECKPOINT").filter(|v| !v.is_empty()).map(PathBuf::from);
        Request {
            project: project.into(),
            service: service.to_string(),
            target: "integrations".into(),
            checkpoint: checkpoint.unwrap_or_else(|| checkpoint::DEFAULT_PATH.into()),
        }
    }

    /// The command, as a person would type it.
    pub fn command(&self) -> String {
        format!("OC_SERVICE={} cargo test --test {}", self.service, self.target)
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.project.join(&self.checkpoint)
    }
}

/// A round that was run.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The round report written (its path relative to the project), number and verdict.
    pub round: Round,
    /// Mock cases passed, and run.
    pub score: String,
    /// What failed, with where the spec says it and how to run it alone.
    pub failures: Vec<Failure>,
    /// The integration's status in the checkpoint after it (`tested`, `failing`, `escalated`).
    pub status: String,
    /// Where the child's whole output was saved.
    pub log: PathBuf,
    /// What PM write-back did after the round (the harness writes back on close: `pm: …`
    /// notes, none when the harness target does not write back).
    pub pm: Vec<String>,
}

/// The recorded round count of `service` in `state`.
fn rounds(state: &Value, service: &str) -> u64 {
    state["skill_state"]["integrations"][service]["test_rounds"].as_u64().unwrap_or(0)
}

/// Run one round of `request`'s service. A round that fails is `Ok` (its verdict is in
/// [`Ran::round`]); `Err` means no round was written.
pub fn run(request: &Request) -> Result<Ran, RoundError> {
    let checkpoint = request.checkpoint_path();
    let before = rounds(&checkpoint::read(&checkpoint)?, &request.service);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let command = request.command();
    let out = Command::new(cargo)
        .args(["test", "--test", &request.target])
        .env("OC_SERVICE", &request.service)
        .env("OC_CHECKPOINT", &checkpoint)
        .current_dir(&request.project)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| RoundError::Spawn { command: command.clone(), source })?;
    let all = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    let log = crate::file::target_dir().join("oc-integrate").join(format!("round-{}.log", request.service));
    let saved = log.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&log, crate::redact::redact(&all)));
    saved.map_err(|source| RoundError::Log { path: log.clone(), source })?;
    let state = checkpoint::read(&checkpoint)?;
    let entry = &state["skill_state"]["integrations"][request.service.as_str()];
    let number = rounds(&state, &request.service);
    let path = entry["last_round"].as_str().map(PathBuf::from);
    let (Some(path), true) = (path, number > before) else {
        let lines: Vec<&str> = all.lines().collect();
        let tail = crate::redact::redact(&lines[lines.len().saturating_sub(25)..].join("\n"));
        let status = out.status.code().map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
        return Err(RoundError::NoRound { command, service: request.service.clone(), status, tail, log });
    };
    let passed = entry["last_test"] == "PASS";
    let failed_in_a_row = entry["failed_rounds_in_a_row"].as_u64().unwrap_or(0);
    Ok(Ran {
        round: Round {
            path,
            number: u32::try_from(number).unwrap_or(u32::MAX),
            passed,
            failed_in_a_row: u32::try_from(failed_in_a_row).unwrap_or(u32::MAX),
        },
        score: entry["score"].as_str().unwrap_or("?").to_string(),
        failures: checkpoint::failures(&state, &request.service),
        status: entry["status"].as_str().unwrap_or_default().to_string(),
        log,
        pm: crate::pm::notes_in(&crate::redact::redact(&String::from_utf8_lossy(&out.stdout))),
    })
}
