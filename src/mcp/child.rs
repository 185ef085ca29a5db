//! A tool's work run as a child process: the `oc-integrate` verb itself (this same binary),
//! or `cargo test` for a round. The verbs print to stdout, which over stdio is the protocol
//! stream, so they run apart; a child in its own process group is also what a cancellation
//! can stop at once (the whole group, `cargo test`'s test binary included), and what the CLI
//! would have answered is, by construction, what the tool answers.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio_util::sync::CancellationToken;

use super::project::Project;

/// Why a child gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// It could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    /// Reading its output or waiting for it failed.
    #[error("{program}: {source}")]
    Io { program: String, source: std::io::Error },
    /// The client cancelled the request; the child's process group was killed.
    #[error("cancelled: {command} was stopped")]
    Cancelled { command: String },
}

/// What a child left: its exit status (-1 when a signal ended it) and its output.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A command to run in the project directory.
pub struct Child {
    program: PathBuf,
    /// How it reads at the terminal (`oc-integrate …`, `cargo …`).
    shown: String,
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
}

impl Child {
    /// `oc-integrate ARGS` (this binary), uncoloured.
    pub fn verb<S: Into<OsString>>(args: impl IntoIterator<Item = S>) -> Child {
        let program = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("oc-integrate"));
        let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        args.push("--color=never".into());
        Child { program, shown: "oc-integrate".into(), args, envs: Vec::new(), stdin: None }
    }

    /// `cargo ARGS` (`CARGO` when cargo set it, else the one on PATH).
    pub fn cargo<S: Into<OsString>>(args: impl IntoIterator<Item = S>) -> Child {
        let program = std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"));
        Child { program, shown: "cargo".into(), args: args.into_iter().map(Into::into).collect(), envs: Vec::new(), stdin: None }
    }

    /// With `name=value` in its environment.
    pub fn env(mut self, name: &str, value: &str) -> Child {
        self.envs.push((name.into(), value.into()));
        self
    }

    /// With `bytes` on its standard input (otherwise it reads nothing).
    pub fn stdin(mut self, bytes: Vec<u8>) -> Child {
        self.stdin = Some(bytes);
        self
    }

    /// The command line a person would type for it (environment first, `--color` left out).
    pub fn command(&self) -> String {
        let quote = |s: &str| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c)) {
                s.to_string()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        };
        let env = self.envs.iter().map(|(k, v)| format!("{k}={} ", quote(v)));
        let args = self.args.iter().map(|a| a.to_string_lossy()).filter(|a| a != "--color=never").map(|a| format!(" {}", quote(&a)));
        env.chain([self.shown.clone()]).chain(args).collect()
    }

    /// Run it in `project`'s directory; each stdout line goes to `line` as it comes. When
    /// `cancel` fires, the child's process group is killed and the run is
    /// [`ChildError::Cancelled`]; so it is when this future is dropped.
    pub async fn run(self, project: &Project, cancel: &CancellationToken, mut line: impl FnMut(&str)) -> Result<Ran, ChildError> {
        let command = self.command();
        let program = self.program.display().to_string();
        let io = |source| ChildError::Io { program: program.clone(), source };
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(project.root())
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| ChildError::Spawn { program: program.clone(), source })?;
        let group = Group(child.id());
        if let (Some(bytes), Some(mut input)) = (self.stdin, child.stdin.take()) {
            // a small body; a child that exits without reading it is not an error here
            let _ = input.write_all(&bytes).await;
        }
        let (Some(out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io(std::io::Error::other("the child's output was not captured")));
        };
        let work = async {
            let mut stderr = String::new();
            let read_err = err.read_to_string(&mut stderr);
            let read_out = async {
                let mut stdout = String::new();
                let mut lines = BufReader::new(out).lines();
                while let Some(l) = lines.next_line().await? {
                    line(&l);
                    stdout.push_str(&l);
                    stdout.push('\n');
                }
                Ok::<_, std::io::Error>(stdout)
            };
            let (stdout, _) = tokio::try_join!(read_out, read_err)?;
            let status = child.wait().await?;
            Ok::<_, std::io::Error>(Ran { code: status.code().unwrap_or(-1), stdout, stderr })
        };
        tokio::select! {
            ran = work => {
                group.disarm();
                ran.map_err(io)
            }
            () = cancel.cancelled() => Err(ChildError::Cancelled { command }),
        }
    }
}

/// A child's process group, killed when dropped unless disarmed (it finished).
struct Group(Option<u32>);

impl Group {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) on a process group this server created (process_group(0) made the
            // child its leader); no memory is touched
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}
