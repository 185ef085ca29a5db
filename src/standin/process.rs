//! Starting, watching and stopping one sandbox process.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The placeholder replaced by the chosen port in arguments and environment values.
const PORT: &str = "{port}";
/// How much of the log an error shows.
const TAIL_LINES: usize = 40;
const TAIL_BYTES: usize = 6000;
/// How many fresh ports a start tries when other programs take the ones it picked.
const PORT_TRIES: usize = 3;

/// Why a sandbox could not be started. Every message says what was expected and what was
/// found; one from a process that ran carries its command line (never its environment) and
/// the tail of its log.
///
/// ```
/// use oc_integrate::standin::{Launch, SandboxError};
///
/// let err = Launch::new("oidc", "node", std::path::Path::new("."))
///     .requires("no/such/install", "cd sandboxes/oidc && npm ci")
///     .start()
///     .unwrap_err();
/// assert!(matches!(err, SandboxError::NotInstalled { .. }));
/// assert!(err.to_string().contains("install it with `cd sandboxes/oidc && npm ci`"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A file the sandbox needs is missing: it was not installed.
    #[error("sandbox {name}: expected {} to exist, found nothing there; install it with `{install}` (from the project root)", path.display())]
    NotInstalled {
        /// The sandbox.
        name: String,
        /// The missing file.
        path: PathBuf,
        /// The shell command that installs it.
        install: String,
    },
    /// The operating system refused something (creating the log, picking a port, spawning).
    #[error("sandbox {name}: cannot {action}: {source}")]
    Io {
        /// The sandbox.
        name: String,
        /// What was being done.
        action: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Another program took each port picked before the sandbox could listen on it.
    #[error(
        "sandbox {name}: expected a free loopback port, found the ports {ports:?} taken by other programs before the sandbox listened on them"
    )]
    PortsTaken {
        /// The sandbox.
        name: String,
        /// The ports tried.
        ports: Vec<u16>,
    },
    /// The process ran, but did not answer as expected before the deadline.
    #[error(
        "sandbox {}: expected GET {} to answer HTTP {} within {:.1} s, found {found}\n{}",
        .start.name, .start.url, .start.expected, deadline.as_secs_f64(), .start.evidence()
    )]
    NotReady {
        /// The last answer (or failure to connect) seen.
        found: String,
        /// How long it was given.
        deadline: Duration,
        /// The start that failed.
        start: Box<FailedStart>,
    },
    /// The process exited before it was ready.
    #[error(
        "sandbox {}: expected it to run until GET {} answers HTTP {}, found it exited ({status})\n{}",
        .start.name, .start.url, .start.expected, .start.evidence()
    )]
    Exited {
        /// How it ended.
        status: ExitStatus,
        /// The start that failed.
        start: Box<FailedStart>,
    },
}

/// What a start that spawned its process but failed knew (the process group is killed by then).
///
/// ```
/// use oc_integrate::standin::{Launch, SandboxError};
///
/// let err = Launch::new("exits", "sh", std::path::Path::new(".")).args(["-c", "echo bad config; exit 2"]).start().unwrap_err();
/// let SandboxError::Exited { status, start } = err else { panic!("{err}") };
/// assert_eq!((status.code(), start.tail.as_str()), (Some(2), "bad config"));
/// std::fs::remove_file(&start.log)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FailedStart {
    /// The sandbox.
    pub name: String,
    /// The readiness URL.
    pub url: String,
    /// The status expected there.
    pub expected: u16,
    /// The command line (the environment, which may hold secrets, is not shown).
    pub command: String,
    /// The log file, kept.
    pub log: PathBuf,
    /// The log's last lines.
    pub tail: String,
}

impl FailedStart {
    fn evidence(&self) -> String {
        format!("command: {}\nlog ({}):\n{}", self.command, self.log.display(), self.tail)
    }
}

/// How to start a sandbox: the command (run in `dir`), what must be installed, and how to
/// tell it is ready. `{port}` in an argument or environment value becomes the free loopback
/// port chosen at start. [`LocalSandbox`]'s constructors are made of these; use it for
/// another server.
///
/// ```no_run
/// use std::time::Duration;
/// use oc_integrate::standin::Launch;
///
/// let web = Launch::new("static-files", "python3", std::path::Path::new("."))
///     .args(["-m", "http.server", "{port}", "--bind", "127.0.0.1"])
///     .ready_when("/", 200)
///     .deadline(Duration::from_secs(10))
///     .start()?;
/// println!("serving on {}", web.base_url());
/// # Ok::<(), oc_integrate::standin::SandboxError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Launch {
    name: String,
    program: OsString,
    dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    requires: Vec<(PathBuf, String)>,
    ready_path: String,
    ready_status: u16,
    ready_headers: Vec<(String, String)>,
    deadline: Duration,
}

impl Launch {
    /// Run `program` in `dir`; the name appears in errors and the log file's name. By
    /// default it is ready when `GET /` answers 200, within 30 s.
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("never-ready", "sleep", std::path::Path::new("."));
    /// # let _ = launch;
    /// ```
    pub fn new(name: impl Into<String>, program: impl AsRef<OsStr>, dir: &Path) -> Launch {
        Launch {
            name: name.into(),
            program: program.as_ref().to_owned(),
            dir: dir.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            requires: Vec::new(),
            ready_path: "/".into(),
            ready_status: 200,
            ready_headers: Vec::new(),
            deadline: Duration::from_secs(30),
        }
    }

    /// Add an argument (`{port}` is replaced).
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("s", "node", std::path::Path::new(".")).arg("server.mjs");
    /// # let _ = launch;
    /// ```
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Launch {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Add arguments (`{port}` is replaced).
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("s", "node", std::path::Path::new(".")).args(["server.mjs", "{port}"]);
    /// # let _ = launch;
    /// ```
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Launch {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Set an environment variable (`{port}` in the value is replaced). Values never
    /// appear in errors: pass secrets this way, not as arguments.
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("s", "node", std::path::Path::new(".")).env("PORT", "{port}");
    /// # let _ = launch;
    /// ```
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Launch {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Refuse to start unless `path` exists, naming `install`, the command that creates it.
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("oidc", "node", std::path::Path::new("sandboxes/oidc"))
    ///     .requires("sandboxes/oidc/node_modules/oidc-provider/package.json", "cd sandboxes/oidc && npm ci");
    /// # let _ = launch;
    /// ```
    pub fn requires(mut self, path: impl Into<PathBuf>, install: impl Into<String>) -> Launch {
        self.requires.push((path.into(), install.into()));
        self
    }

    /// Ready when `GET path` on the chosen port answers `status`.
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("s", "node", std::path::Path::new("."))
    ///     .ready_when("/.well-known/openid-configuration", 200);
    /// # let _ = launch;
    /// ```
    pub fn ready_when(mut self, path: impl Into<String>, status: u16) -> Launch {
        self.ready_path = path.into();
        self.ready_status = status;
        self
    }

    /// Send this header with each readiness request.
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("s", "python3", std::path::Path::new("."))
    ///     .ready_header("Authorization", "Bearer sk_test_123");
    /// # let _ = launch;
    /// ```
    pub fn ready_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Launch {
        self.ready_headers.push((name.into(), value.into()));
        self
    }

    /// How long the process may take to become ready (polled, never slept through).
    ///
    /// ```
    /// let launch = oc_integrate::standin::Launch::new("s", "node", std::path::Path::new("."))
    ///     .deadline(std::time::Duration::from_secs(5));
    /// # let _ = launch;
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Launch {
        self.deadline = deadline;
        self
    }

    /// Check the install, pick a free loopback port, spawn the process (its own process
    /// group, output to `<target>/oc-integrate/sandboxes/<name>-<port>.log`) and wait until
    /// it is ready: the readiness URL answers the expected status and, on Linux, the socket
    /// answering belongs to the process group. When another program took the port in the
    /// meantime (the process then answers nothing, or exits), it is stopped and started again
    /// on a fresh port, up to 3 times, each with the whole deadline. On an error the process
    /// group is killed and the log kept.
    ///
    /// ```no_run
    /// let server = oc_integrate::standin::Launch::new("web", "python3", std::path::Path::new("."))
    ///     .args(["-m", "http.server", "{port}", "--bind", "127.0.0.1"])
    ///     .start()?;
    /// # let _ = server;
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn start(self) -> Result<LocalSandbox, SandboxError> {
        for (path, install) in &self.requires {
            if !path.exists() {
                return Err(SandboxError::NotInstalled { name: self.name.clone(), path: path.clone(), install: install.clone() });
            }
        }
        let mut taken = Vec::new();
        loop {
            match self.attempt()? {
                Attempt::Ready(sandbox) => return Ok(sandbox),
                Attempt::PortTaken(port) => {
                    taken.push(port);
                    if taken.len() == PORT_TRIES {
                        return Err(SandboxError::PortsTaken { name: self.name, ports: taken });
                    }
                }
            }
        }
    }

    /// One start on a fresh port.
    fn attempt(&self) -> Result<Attempt, SandboxError> {
        let io = |action: String| {
            let name = self.name.clone();
            move |source| SandboxError::Io { name, action, source }
        };
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(io("pick a free loopback port".into()))?
            .port();
        let logs = crate::file::target_dir().join("oc-integrate/sandboxes");
        std::fs::create_dir_all(&logs).map_err(io(format!("create {}", logs.display())))?;
        let log = logs.join(format!("{}-{port}.log", self.name));
        let out = File::create(&log).map_err(io(format!("create {}", log.display())))?;
        let err = out.try_clone().map_err(io(format!("open {}", log.display())))?;

        let with_port = |s: &OsStr| match s.to_str() {
            Some(t) if t.contains(PORT) => OsString::from(t.replace(PORT, &port.to_string())),
            _ => s.to_owned(),
        };
        let args: Vec<OsString> = self.args.iter().map(|a| with_port(a)).collect();
        let mut command = Command::new(&self.program);
        command.args(&args).current_dir(&self.dir).stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        for (k, v) in &self.env {
            command.env(k, with_port(v));
        }
        die_with_parent(&mut command);
        let shown = std::iter::once(&self.program).chain(&args).map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
        let child = spawn(command).map_err(|e| {
            let _ = std::fs::remove_file(&log);
            io(format!("start `{shown}` in {}", self.dir.display()))(e)
        })?;

        let mut sandbox = LocalSandbox { port, base_url: format!("http://127.0.0.1:{port}"), log, keep_log: false, child };
        let url = sandbox.url(&self.ready_path);
        let failed = |sandbox: LocalSandbox| {
            let tail = tail(&sandbox.log);
            let log = sandbox.keep();
            let (name, url, expected, command) = (self.name.clone(), url.clone(), self.ready_status, shown.clone());
            Box::new(FailedStart { name, url, expected, command, log, tail })
        };
        let started = Instant::now();
        let mut found = String::from("no attempt");
        loop {
            if let Ok(Some(status)) = sandbox.child.try_wait() {
                // most likely it could not listen because another program took the port first
                if listener(port, sandbox.pid()) == Listener::Theirs {
                    return Ok(Attempt::PortTaken(port));
                }
                return Err(SandboxError::Exited { status, start: failed(sandbox) });
            }
            let left = self.deadline.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(SandboxError::NotReady { found, deadline: self.deadline, start: failed(sandbox) });
            }
            match probe(port, &self.ready_path, &self.ready_headers, left.min(Duration::from_secs(5))) {
                Ok(status) if status == self.ready_status => match listener(port, sandbox.pid()) {
                    Listener::Ours => return Ok(Attempt::Ready(sandbox)),
                    Listener::Theirs => return Ok(Attempt::PortTaken(port)),
                    Listener::Nobody => found = format!("HTTP {status} from a listener that was gone right after"),
                },
                Ok(status) => found = format!("HTTP {status}"),
                Err(e) => found = e,
            }
            std::thread::sleep(Duration::from_millis(100).min(self.deadline.saturating_sub(started.elapsed())));
        }
    }
}

/// How one start on a port ended, when it did not fail outright.
enum Attempt {
    Ready(LocalSandbox),
    /// Another program listens on the port picked (between picking it and the sandbox
    /// binding it, a slow starter leaves a window); the sandbox was stopped.
    PortTaken(u16),
}

/// Who listens on a loopback port.
#[derive(Debug, PartialEq, Eq)]
enum Listener {
    /// A process of the sandbox's process group.
    Ours,
    /// Some other process.
    Theirs,
    /// Nobody.
    Nobody,
}

/// Who listens on 127.0.0.1:`port` (or on every IPv4 or IPv6 address at that port), from
/// the kernel's socket tables and the open files of the processes in process group `group`.
#[cfg(target_os = "linux")]
fn listener(port: u16, group: u32) -> Listener {
    const LISTEN: &str = "0A";
    const ADDRESSES: [&str; 4] = ["0100007F", "00000000", "00000000000000000000000000000000", "0000000000000000FFFF00000100007F"];
    let mut sockets = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9)) else { continue };
            let Some((address, hex_port)) = local.split_once(':') else { continue };
            if *state == LISTEN && ADDRESSES.contains(&address) && u16::from_str_radix(hex_port, 16) == Ok(port) {
                sockets.insert(format!("socket:[{inode}]"));
            }
        }
    }
    if sockets.is_empty() {
        return Listener::Nobody;
    }
    let group = group.to_string();
    let in_group = |proc: &Path| {
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses
        let stat = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
        stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.split_whitespace().nth(2) == Some(group.as_str()))
    };
    let holds = |proc: &Path| {
        let fds = std::fs::read_dir(proc.join("fd")).into_iter().flatten().flatten();
        fds.filter_map(|fd| std::fs::read_link(fd.path()).ok()).any(|target| sockets.contains(target.to_string_lossy().as_ref()))
    };
    let procs = std::fs::read_dir("/proc").into_iter().flatten().flatten().map(|e| e.path());
    if procs.filter(|p| in_group(p)).any(|p| holds(&p)) { Listener::Ours } else { Listener::Theirs }
}

/// Elsewhere a listener is taken to be the sandbox's own.
#[cfg(not(target_os = "linux"))]
fn listener(_port: u16, _group: u32) -> Listener {
    Listener::Ours
}

/// A running sandbox. Dropping it kills its whole process group and reaps it; the log is
/// deleted then, unless the drop happens while panicking (a failing test), when it is kept.
///
/// ```no_run
/// use oc_integrate::standin::LocalSandbox;
///
/// {
///     let stripe = LocalSandbox::localstripe(std::path::Path::new("."))?;
///     println!("{} (pid {}, log {})", stripe.base_url(), stripe.pid(), stripe.log_path().display());
/// } // killed here
/// # Ok::<(), oc_integrate::standin::SandboxError>(())
/// ```
#[derive(Debug)]
pub struct LocalSandbox {
    port: u16,
    base_url: String,
    log: PathBuf,
    keep_log: bool,
    child: Child,
}

impl LocalSandbox {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    ///
    /// ```no_run
    /// # let sandbox = oc_integrate::standin::LocalSandbox::localstripe(std::path::Path::new("."))?;
    /// assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL followed by `path` (which starts with `/`).
    ///
    /// ```no_run
    /// # let sandbox = oc_integrate::standin::LocalSandbox::localstripe(std::path::Path::new("."))?;
    /// assert_eq!(sandbox.url("/v1/customers"), format!("{}/v1/customers", sandbox.base_url()));
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The loopback port it listens on.
    ///
    /// ```no_run
    /// # let sandbox = oc_integrate::standin::LocalSandbox::localstripe(std::path::Path::new("."))?;
    /// assert_ne!(sandbox.port(), 0);
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id, which is also its process group id.
    ///
    /// ```no_run
    /// # let sandbox = oc_integrate::standin::LocalSandbox::localstripe(std::path::Path::new("."))?;
    /// println!("pid {}", sandbox.pid());
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file its standard output and error go to.
    ///
    /// ```no_run
    /// # let sandbox = oc_integrate::standin::LocalSandbox::localstripe(std::path::Path::new("."))?;
    /// println!("{}", std::fs::read_to_string(sandbox.log_path()).unwrap_or_default());
    /// # Ok::<(), oc_integrate::standin::SandboxError>(())
    /// ```
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Stop the process group now and keep the log; returns the log's path.
    fn keep(mut self) -> PathBuf {
        self.keep_log = true;
        self.log.clone()
    }

    fn kill(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group and touches no memory.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

impl Drop for LocalSandbox {
    fn drop(&mut self) {
        self.kill();
        if !self.keep_log && !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// `GET path` on the loopback port, returning the status code or what went wrong.
fn probe(port: u16, path: &str, headers: &[(String, String)], timeout: Duration) -> Result<u16, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("no connection ({e})"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("socket error ({e})"))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("no request sent ({e})"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("no answer ({e})")),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(v), Some(Ok(status))) if v.starts_with("HTTP/") => Ok(status),
        _ => Err(format!("not an HTTP status line: {line:?}")),
    }
}

/// The last lines of the log.
fn tail(log: &Path) -> String {
    let text =
        std::fs::read(log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|e| format!("(cannot read the log: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    if out.len() > TAIL_BYTES {
        let mut cut = out.len() - TAIL_BYTES;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = format!("…{}", &out[cut..]);
    }
    if out.trim().is_empty() { "(empty)".into() } else { out }
}

/// On Linux, have the kernel kill the child when its parent dies, however it dies (a test
/// binary killed by a timeout, a SIGKILL, an abort), where `Drop` cannot run.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: the closure runs between fork and exec and only makes two async-signal-safe
    // system calls, allocating nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // the parent died before prctl: nobody would kill this child
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawn from one thread that lives as long as the process. `PR_SET_PDEATHSIG` fires when
/// the *thread* that forked the child exits, and each test runs on its own thread: a child
/// forked by a test's thread would be killed when that test ends even if its handle lives on
/// (shared between tests), so every child is forked by this thread instead.
fn spawn(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("oc-integrate-sandbox-spawner".into())
            .spawn(move || {
                for (mut command, reply) in queue {
                    let _ = reply.send(command.spawn());
                }
            })
            .ok()
            .map(|_| jobs)
    });
    let gone = || io::Error::other("the sandbox spawner thread is not running");
    let (reply, answer) = mpsc::channel();
    spawner.as_ref().ok_or_else(gone)?.send((command, reply)).map_err(|_| gone())?;
    answer.recv().map_err(|_| gone())?
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn listener_tells_ours_from_theirs_and_nobody() {
        let socket = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = socket.local_addr().unwrap().port();
        // SAFETY: getpgrp(2) cannot fail and touches no memory.
        let ours = u32::try_from(unsafe { libc::getpgrp() }).unwrap();
        assert_eq!(listener(port, ours), Listener::Ours);
        assert_eq!(listener(port, u32::MAX), Listener::Theirs, "no process is in group u32::MAX");
        drop(socket);
        assert_eq!(listener(port, ours), Listener::Nobody);
    }
}
