//! One Tester round of one service, run the way the project runs its suite: the project's
//! client is compiled into the project's own harness target (`tests/integrations.rs`, which
//! `oc-integrate build` generates), so a round is `OC_SERVICE=<service> cargo test --test
//! <target>` in the project, a child process. `OC_SERVICE` keeps that one service in the
//! harness and the run stays unfiltered, so its complete run is the service's round: the
//! child writes `test-round-M.md` and records it in the checkpoint, and what this returns is
//! read back from there (the round, its score, its failures), never from libtest's text; the
//! child's PM write-back (write-on-close, in the harness's outputs) is read from its notes.
//! A round leaves the sandbox trials out (`OC_SANDBOX=0`: ignored with the reason) unless
//! [`Request::sandbox`] asks for them.
//!
//! [`smoke`] is the quick build's test instead (`oc-integrate connect`): the service's
//! conformance cases, then its sandbox trials, as two filtered runs, which write no round;
//! what they found is read from libtest's lines ([`Trials`]).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::case::SANDBOX_ENV;
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
    /// A smoke run ran none of the trials it selects.
    #[error(
        "{command} exited with {status} and ran no trial of {service} (the suite did not build, or the harness does not bind it); the end of its output:\n{tail}\nthe whole of it: {}",
        log.display()
    )]
    NoTrials {
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
    /// Whether the sandbox trials run (when their credentials are set and the sandbox
    /// answers); otherwise the child gets `OC_SANDBOX=0` and they are ignored, saying so.
    pub sandbox: bool,
}

impl Request {
    /// The round of `service` in the project at `project`, through the `integrations` target,
    /// recorded in the checkpoint the environment names, the sandbox trials left out.
    pub fn new(project: impl Into<PathBuf>, service: &str) -> Request {
        let checkpoint = std::env::var_os("OC_CHECKPOINT").filter(|v| !v.is_empty()).map(PathBuf::from);
        Request {
            project: project.into(),
            service: service.to_string(),
            target: "integrations".into(),
            checkpoint: checkpoint.unwrap_or_else(|| checkpoint::DEFAULT_PATH.into()),
            sandbox: false,
        }
    }

    /// The environment the child runs with: the service, the sandbox switch (as a person
    /// types them), and the checkpoint.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.shown_env();
        env.push(("OC_CHECKPOINT", self.checkpoint_file().display().to_string()));
        env
    }

    fn shown_env(&self) -> Vec<(&'static str, String)> {
        vec![("OC_SERVICE", self.service.clone()), (SANDBOX_ENV, if self.sandbox { "1" } else { "0" }.into())]
    }

    /// cargo's arguments: `test --test <target>`, then `-- <filter>` when there is one.
    pub fn args(&self, filter: Option<&str>) -> Vec<String> {
        let mut args = vec!["test".to_string(), "--test".into(), self.target.clone()];
        args.extend(filter.into_iter().flat_map(|f| ["--".to_string(), f.to_string()]));
        args
    }

    /// The round's command, as a person would type it.
    pub fn command(&self) -> String {
        self.command_with(None)
    }

    fn command_with(&self, filter: Option<&str>) -> String {
        let env: String = self.shown_env().iter().map(|(k, v)| format!("{k}={v} ")).collect();
        format!("{env}cargo {}", self.args(filter).join(" "))
    }

    /// The round's rounds recorded so far: what [`Request::read_back`] compares with.
    pub fn rounds_before(&self) -> Result<u64, RoundError> {
        Ok(rounds(&checkpoint::read(&self.checkpoint_file())?, &self.service))
    }

    /// The round a child run wrote, read back from the checkpoint (`before`: the rounds
    /// recorded before it, [`Request::rounds_before`]); `out` is what it printed, saved as its log.
    pub fn read_back(&self, before: u64, out: &Output) -> Result<Ran, RoundError> {
        let log = save_log(&format!("round-{}", self.service), out)?;
        let state = checkpoint::read(&self.checkpoint_file())?;
        let entry = &state["skill_state"]["integrations"][self.service.as_str()];
        let number = rounds(&state, &self.service);
        let path = entry["last_round"].as_str().map(PathBuf::from);
        let (Some(path), true) = (path, number > before) else {
            return Err(RoundError::NoRound {
                command: self.command(),
                service: self.service.clone(),
                status: out.status(),
                tail: out.tail(),
                log,
            });
        };
        let passed = entry["last_test"] == "PASS";
        let failed_in_a_row = entry["failed_rounds_in_a_row"].as_u64().unwrap_or(0);
        let sandbox = match (entry["sandbox"].as_str(), entry["sandbox_skipped"].as_str()) {
            (Some("not run"), Some(why)) => format!("not run: {why}"),
            (Some(s), _) => s.to_string(),
            (None, _) => "not run".into(),
        };
        Ok(Ran {
            round: Round {
                path,
                number: u32::try_from(number).unwrap_or(u32::MAX),
                passed,
                failed_in_a_row: u32::try_from(failed_in_a_row).unwrap_or(u32::MAX),
            },
            score: entry["score"].as_str().unwrap_or("?").to_string(),
            failures: checkpoint::failures(&state, &self.service),
            status: entry["status"].as_str().unwrap_or_default().to_string(),
            sandbox,
            log,
            pm: crate::pm::notes_in(&crate::redact::redact(&out.stdout)),
        })
    }

    /// The checkpoint's file: [`Request::checkpoint`] from the project.
    pub fn checkpoint_file(&self) -> PathBuf {
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
    /// How its sandbox trials went: `PASS`, `FAIL`, or `not run: <why>`.
    pub sandbox: String,
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

/// What a child run printed, and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// Its exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    fn all(&self) -> String {
        format!("{}{}", self.stderr, self.stdout)
    }

    fn status(&self) -> String {
        self.code.map_or_else(|| "a signal".to_string(), |c| format!("status {c}"))
    }

    /// Its last 25 lines, redacted.
    fn tail(&self) -> String {
        let all = self.all();
        let lines: Vec<&str> = all.lines().collect();
        crate::redact::redact(&lines[lines.len().saturating_sub(25)..].join("\n"))
    }
}

/// Save what a run printed (redacted) as `target/oc-integrate/<name>.log`.
fn save_log(name: &str, out: &Output) -> Result<PathBuf, RoundError> {
    let log = crate::file::target_dir().join("oc-integrate").join(format!("{name}.log"));
    let saved = log.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&log, crate::redact::redact(&out.all())));
    saved.map_err(|source| RoundError::Log { path: log.clone(), source })?;
    Ok(log)
}

/// Run `cargo` with `request`'s environment and `args(filter)` in the project, to the end.
fn cargo(request: &Request, filter: Option<&str>) -> Result<Output, RoundError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(request.args(filter))
        .envs(request.env())
        .current_dir(&request.project)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| RoundError::Spawn { command: request.command_with(filter), source })?;
    Ok(Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Run one round of `request`'s service. A round that fails is `Ok` (its verdict is in
/// [`Ran::round`]); `Err` means no round was written.
pub fn run(request: &Request) -> Result<Ran, RoundError> {
    let before = request.rounds_before()?;
    let out = cargo(request, None)?;
    request.read_back(before, &out)
}

/// What libtest printed of a run's trials: each one's verdict, and the failures' accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trials {
    /// The trials that passed.
    pub passed: Vec<String>,
    /// The trials that failed, each with the harness's account of it (expected, found, problems,
    /// the request timeline, the spec line, how to reproduce).
    pub failed: Vec<(String, String)>,
    /// The trials ignored, each with the reason (a sandbox credential unset, say).
    pub ignored: Vec<(String, String)>,
}

/// A trial's line of libtest's output (`test NAME ... VERDICT`): its name and verdict.
pub fn trial_line(line: &str) -> Option<(&str, &str)> {
    line.strip_prefix("test ").and_then(|r| r.split_once(" ... ")).map(|(name, verdict)| (name.trim_end(), verdict))
}

impl Trials {
    /// Read libtest's standard output: the trial lines, then the failures' accounts (each
    /// `---- NAME ----` block, up to the next or the closing `failures:` list).
    pub fn read(stdout: &str) -> Trials {
        let mut t = Trials::default();
        let mut accounts: Vec<(String, String)> = Vec::new();
        let mut current: Option<(String, String)> = None;
        for line in stdout.lines() {
            if let Some((name, verdict)) = trial_line(line) {
                match verdict {
                    "ok" => t.passed.push(name.into()),
                    "FAILED" => t.failed.push((name.into(), String::new())),
                    v if v.starts_with("ignored") => {
                        let why = v.trim_start_matches("ignored").trim_start_matches([',', ' ']);
                        t.ignored.push((name.into(), why.trim_start_matches('(').trim_end_matches(')').into()));
                    }
                    _ => {}
                }
            } else if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" ----")) {
                accounts.extend(current.take());
                current = Some((name.into(), String::new()));
            } else if line == "failures:" {
                accounts.extend(current.take());
            } else if let Some((_, text)) = &mut current {
                text.push_str(line);
                text.push('\n');
            }
        }
        accounts.extend(current);
        for (name, text) in accounts {
            match t.failed.iter_mut().find(|(n, _)| *n == name) {
                Some((_, account)) => *account = text.trim().to_string(),
                None => t.failed.push((name, text.trim().to_string())),
            }
        }
        t
    }

    /// How many trials ran or were ignored.
    pub fn len(&self) -> usize {
        self.passed.len() + self.failed.len() + self.ignored.len()
    }

    /// Whether no trial was reported.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The failed trials as the Builder's to-do list, read from each account the harness
    /// wrote: its `spec:` line (the location, without the label), its `found:` line (what
    /// the client did) and its `reproduce:` line; a line the account lacks is empty.
    pub fn to_do(&self) -> Vec<Failure> {
        self.failed
            .iter()
            .map(|(name, account)| {
                let line = |label: &str| account.lines().find_map(|l| l.strip_prefix(label)).map_or("", str::trim);
                Failure {
                    case: name.clone(),
                    at: line("spec:").split(" (").next().unwrap_or_default().to_string(),
                    did: crate::redact::redact(line("found:")),
                    reproduce: line("reproduce:").to_string(),
                }
            })
            .collect()
    }
}

/// What a smoke test found.
#[derive(Debug, Clone)]
pub struct Smoke {
    /// The conformance cases' run, and its command.
    pub conformance: Trials,
    /// The sandbox trials' run (empty when [`Request::sandbox`] is off).
    pub sandbox: Trials,
    /// The commands run, as a person would type them.
    pub commands: Vec<String>,
    /// Where the runs' output was saved.
    pub log: PathBuf,
}

impl Smoke {
    /// Whether nothing failed (ignored sandbox trials do not fail it).
    pub fn passed(&self) -> bool {
        self.conformance.failed.is_empty() && self.sandbox.failed.is_empty()
    }
}

/// The quick build's smoke test of `request`'s service: its conformance cases (`-- ::conformance`),
/// then, when [`Request::sandbox`], its sandbox trials (`-- <service>::sandbox::`); filtered
/// runs, so neither writes a round report nor the checkpoint. `Err` when the conformance run
/// ran no trial (the suite did not build, or does not bind the service).
pub fn smoke(request: &Request) -> Result<Smoke, RoundError> {
    let conformance_filter = "::conformance".to_string();
    let sandbox_filter = format!("{}::sandbox::", request.service);
    let mut filters = vec![conformance_filter];
    if request.sandbox {
        filters.push(sandbox_filter);
    }
    let mut runs = Vec::new();
    let mut all = Output { code: Some(0), stdout: String::new(), stderr: String::new() };
    for filter in &filters {
        let out = cargo(request, Some(filter))?;
        all.stdout.push_str(&out.stdout);
        all.stderr.push_str(&out.stderr);
        let trials = Trials::read(&out.stdout);
        if runs.is_empty() && trials.is_empty() {
            let log = save_log(&format!("smoke-{}", request.service), &all)?;
            return Err(RoundError::NoTrials {
                command: request.command_with(Some(filter)),
                service: request.service.clone(),
                status: out.status(),
                tail: out.tail(),
                log,
            });
        }
        runs.push(trials);
    }
    let log = save_log(&format!("smoke-{}", request.service), &all)?;
    let commands = filters.iter().map(|f| request.command_with(Some(f))).collect();
    let mut runs = runs.into_iter();
    Ok(Smoke { conformance: runs.next().unwrap_or_default(), sandbox: runs.next().unwrap_or_default(), commands, log })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_leaves_the_sandbox_out_unless_asked() {
        let mut r = Request::new("/p", "payments");
        assert_eq!(r.command(), "OC_SERVICE=payments OC_SANDBOX=0 cargo test --test integrations");
        r.sandbox = true;
        assert_eq!(
            r.command_with(Some("payments::sandbox::")),
            "OC_SERVICE=payments OC_SANDBOX=1 cargo test --test integrations -- payments::sandbox::"
        );
    }

    #[test]
    fn trials_are_read_from_libtest_lines() {
        let out = "running 4 tests\ntest s::a::conformance    ... ok\ntest s::a::timeout_no_answer ... FAILED\n\
                   test s::sandbox::auth ... ignored (set S_KEY to run)\n\nfailures:\n\n---- s::a::timeout_no_answer ----\n\
                   expected: a timeout\nfound:    none\n\n\nfailures:\n    s::a::timeout_no_answer\n";
        let t = Trials::read(
            &out.replace("found:    none\n", "found:    none\nspec:      s/spec.yaml:4:7 (endpoint GET /a)\nreproduce: cargo test\n"),
        );
        assert_eq!(
            t.to_do(),
            [Failure {
                case: "s::a::timeout_no_answer".into(),
                at: "s/spec.yaml:4:7".into(),
                did: "none".into(),
                reproduce: "cargo test".into()
            }]
        );
        let t = Trials::read(out);
        assert_eq!(t.passed, ["s::a::conformance"]);
        assert_eq!(t.failed, [("s::a::timeout_no_answer".to_string(), "expected: a timeout\nfound:    none".to_string())]);
        assert_eq!(t.ignored, [("s::sandbox::auth".to_string(), "set S_KEY to run".to_string())]);
        assert_eq!(t.len(), 3);
    }
}
