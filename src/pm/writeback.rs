//! Write-on-close: after a run's rounds, each round's comment on the ticket the work comes
//! from (once per marker: listed first, re-checked after writing, a duplicate of one's own
//! removed), the ticket moved to the state `pm.yaml` names for the verdict, and on
//! escalation a bug ticket created once per failing streak. A tracker failure is a note,
//! never a failed run: transient ones are deferred to the checkpoint as retriable, 403 and
//! 422 as not retriable, 404 asks to confirm the ticket id. `retry` flushes what was deferred.

use std::path::{Path, PathBuf};

use super::comment::{Marker, escalation_ticket, round_comment};
use super::config::{self, PmConfig};
use super::deferred::{self, Action, Deferred};
use super::mcp::{self, Mcp};
use super::ticket::{Places, Ticket};
use super::tracker::{Api, Failure, Issue, Kind, Tracker, retry_of};
use crate::results::{Run, ServiceRun};

/// How write-back finds its configuration, ticket, tracker and checkpoint.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The project directory (where the branch is read).
    pub project: PathBuf,
    /// `pm.yaml` (default: `OC_PM_CONFIG`, else `.opchain/pm.yaml`).
    pub config: PathBuf,
    /// The ticket given to the command (`--ticket`, or `OC_TICKET` for a test run).
    pub ticket: Option<String>,
    /// The tracker's API (`None`: from the environment, see [`Api::from_env`]).
    pub api: Option<Api>,
    /// Where deferred actions are recorded (`None`: they are only reported).
    pub checkpoint: Option<PathBuf>,
    /// The `.mcp.json` that defines `pm.yaml`'s `mcp_server` (default: `OC_MCP_CONFIG`, else
    /// the project's).
    pub mcp: PathBuf,
}

impl Settings {
    /// The settings the environment gives a run in `project`: `OC_PM_CONFIG` or
    /// `.opchain/pm.yaml`, `OC_TICKET`, the tracker's variables, and `checkpoint`.
    pub fn from_env(project: &Path, checkpoint: Option<PathBuf>) -> Settings {
        Settings {
            project: project.to_path_buf(),
            config: config::path_in(project),
            ticket: std::env::var("OC_TICKET").ok().filter(|t| !t.trim().is_empty()),
            api: None,
            checkpoint,
            mcp: mcp::path_in(project),
        }
    }

    /// The configuration, or a note saying why write-back is off.
    pub fn load(&self) -> Result<PmConfig, String> {
        match config::load(&self.config) {
            Ok(Some(c)) => Ok(c),
            Ok(None) => {
                Err(format!("pm: write-back off: pm-mcp not configured (no {}; `oc-integrate pm init` writes one)", self.config.display()))
            }
            Err(e) => Err(format!("pm: write-back off: {e}")),
        }
    }

    /// The MCP server `config` names, when `.mcp.json` defines it.
    pub fn mcp_server(&self, config: &PmConfig) -> Result<Option<mcp::Server>, String> {
        match &config.mcp_server {
            Some(name) => mcp::server(&self.mcp, name).map_err(|e| format!("pm: write-back off: {e}")),
            None => Ok(None),
        }
    }

    /// The tracker `config` names — its MCP server when `.mcp.json` defines `mcp_server`,
    /// else its API — or a note saying why write-back is off. Tracker calls are retried by
    /// `run`'s spec's policy (the seed's "max 3" without one).
    pub async fn connect(&self, config: &PmConfig, run: Option<&ServiceRun>) -> Result<Tracker, String> {
        let retry = retry_of(run.map(|r| &r.spec.retry));
        if let Some(server) = self.mcp_server(config)? {
            return Mcp::connect(config, &server, retry).await.map(Tracker::Mcp).map_err(|e| format!("pm: write-back off: {e}"));
        }
        let api = self.api(config)?;
        Tracker::direct(config, &api, retry).map_err(|e| format!("pm: write-back off: {e}"))
    }

    /// The tracker's API: as given, else from the environment (its credential registered
    /// with the redactor either way).
    pub fn api(&self, config: &PmConfig) -> Result<Api, String> {
        match &self.api {
            Some(a) => {
                a.register();
                Ok(a.clone())
            }
            None => Api::from_env(config.provider).map_err(|e| {
                let mcp = config
                    .mcp_server
                    .as_ref()
                    .map(|m| format!(", and {} defines no MCP server {m}", self.mcp.display()))
                    .unwrap_or_default();
                format!("pm: write-back off: pm-mcp not configured: {e} ({} API){mcp}", config.provider.name())
            }),
        }
    }
}

/// Read `ticket` (title, description, state, comments) through the configured tracker, for
/// planning from it (read-then-shape); the note to print when it cannot be read.
pub async fn read_ticket(settings: &Settings, ticket: &Ticket) -> Result<Issue, String> {
    let config = settings.load()?;
    let tracker = settings.connect(&config, None).await?;
    tracker.accepts(config.provider, ticket).map_err(|e| format!("pm: {e}"))?;
    tracker.issue(ticket).await.map_err(|f| match f.kind {
        Kind::NotFound => format!("pm: ticket {ticket} not found (404): {f}; confirm the id; planning without its context"),
        _ => format!("pm: ticket {ticket}: {f}; planning without its context"),
    })
}

/// What happened to one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// It was made.
    Written(String),
    /// Its marker was there already.
    AlreadyThere(String),
    /// It was made beside another run's, and removed again.
    DuplicateRemoved,
    /// It was made beside another run's and could not be removed (why).
    DuplicateKept(String),
}

/// Make `action` on `tracker`, idempotently by its marker.
pub async fn perform(tracker: &Tracker, action: &Action) -> Result<Done, Failure> {
    let ticket = |t: &str| Ticket::parse(t).ok_or_else(|| Failure::new(Kind::Invalid, None, format!("{t}: not a ticket reference")));
    match action {
        Action::Comment { ticket: t, marker, body } => {
            let t = ticket(t)?;
            if tracker.comments(&t).await?.iter().any(|c| c.body.contains(marker.as_str())) {
                return Ok(Done::AlreadyThere(t.to_string()));
            }
            let mine = tracker.add_comment(&t, body).await?;
            // another run may have written the same marker meanwhile: the earliest stays
            let mut same: Vec<_> = tracker.comments(&t).await?.into_iter().filter(|c| c.body.contains(marker.as_str())).collect();
            same.sort_by_key(|c| c.order());
            match same.first() {
                Some(first) if first.id != mine.id && same.iter().any(|c| c.id == mine.id) => {
                    match tracker.delete_comment(&t, &mine.id).await {
                        Ok(()) => Ok(Done::DuplicateRemoved),
                        Err(f) => Ok(Done::DuplicateKept(f.message)),
                    }
                }
                _ => Ok(Done::Written(t.to_string())),
            }
        }
        Action::Transition { ticket: t, state } => {
            let t = ticket(t)?;
            tracker.transition(&t, state).await?;
            Ok(Done::Written(t.to_string()))
        }
        Action::CreateIssue { marker, title, body } => {
            if let Some(existing) = tracker.find_issue(marker).await? {
                return Ok(Done::AlreadyThere(existing));
            }
            tracker.create_issue(title, body).await.map(Done::Written)
        }
    }
}

/// The writes a service's round asks for: the comment and the transition when there is a
/// ticket, the bug ticket when the round escalates.
pub fn actions(config: &PmConfig, run: &ServiceRun, ticket: Option<&Ticket>) -> Vec<Action> {
    let Some(round) = &run.round else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(t) = ticket {
        let marker = Marker::round(&run.spec.id, round.number).to_string();
        out.push(Action::Comment { ticket: t.to_string(), marker, body: round_comment(run, round) });
        let state = if round.passed { config.state("done") } else { config.state("in_progress") };
        if let Some(state) = state {
            out.push(Action::Transition { ticket: t.to_string(), state: state.into() });
        }
    }
    if round.escalated() {
        let (title, body) = escalation_ticket(run, round, ticket.map(|t| t.to_string()).as_deref());
        out.push(Action::CreateIssue { marker: Marker::escalation(&run.spec.id, round).to_string(), title, body });
    }
    out
}

/// The write-back notes in the output of a run made as a child (`harness::round`, the MCP
/// server's `test`): each line [`after_run`] printed, `pm: …`.
pub fn notes_in(output: &str) -> Vec<String> {
    output.lines().filter(|l| l.starts_with("pm: ")).map(str::to_string).collect()
}

/// Write back every round of `run`; the notes to print (each starts `pm: `). Never fails:
/// what cannot be written is reported, and deferred when it may succeed later.
pub fn after_run(run: &Run, settings: &Settings) -> Vec<String> {
    let rounds: Vec<&ServiceRun> = run.services.iter().filter(|s| s.round.is_some()).collect();
    if rounds.is_empty() {
        return Vec::new();
    }
    let config = match settings.load() {
        Ok(c) => c,
        Err(note) => return vec![note],
    };
    let settings = settings.clone();
    let rounds: Vec<ServiceRun> = rounds.into_iter().cloned().collect();
    // its own thread and runtime: the caller may be inside a runtime of its own
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return vec![format!("pm: write-back off: cannot start its runtime: {e}")],
            };
            rt.block_on(write_rounds(&config, &settings, &rounds))
        })
        .join()
        .unwrap_or_else(|_| vec!["pm: write-back stopped by a panic; the run's verdicts stand".into()])
    })
}

async fn write_rounds(config: &PmConfig, settings: &Settings, rounds: &[ServiceRun]) -> Vec<String> {
    let mut notes = Vec::new();
    // down: the tracker failed transiently, so the rest is deferred untried; stopped: a 403
    let (mut down, mut stopped): (Option<Failure>, bool) = (None, false);
    let mut tracker: Option<Tracker> = None;
    for run in rounds {
        // one connection (one MCP server process) for the whole run, each service's calls
        // retried by its own spec's policy
        let tracker = match &mut tracker {
            Some(t) => {
                t.set_retry(retry_of(Some(&run.spec.retry)));
                t
            }
            None => match settings.connect(config, Some(run)).await {
                Ok(t) => tracker.insert(t),
                Err(note) => {
                    notes.push(note);
                    return notes;
                }
            },
        };
        let places = Places { flag: settings.ticket.clone(), spec: run.spec.ticket.clone(), ..Places::from_env(&settings.project) };
        let ticket = match places.detect() {
            Ok(Some((t, source))) => match tracker.accepts(config.provider, &t) {
                Ok(()) => {
                    notes.push(format!("pm: {}: ticket {t} (from {})", run.spec.id, source.describe()));
                    Some(t)
                }
                Err(e) => {
                    notes.push(format!("pm: {}: {e}; no comment written", run.spec.id));
                    None
                }
            },
            Ok(None) => {
                notes.push(format!(
                    "pm: {}: no ticket found (--ticket, OC_TICKET, the spec's ticket:, the branch); no comment written",
                    run.spec.id
                ));
                None
            }
            Err(e) => {
                notes.push(format!("pm: {}: {e}; no comment written", run.spec.id));
                None
            }
        };
        let mut missing_ticket = false;
        for action in actions(config, run, ticket.as_ref()) {
            let on_ticket = !matches!(action, Action::CreateIssue { .. });
            if stopped || (missing_ticket && on_ticket) {
                continue;
            }
            let result = match &down {
                Some(f) => Err(f.clone()),
                None => perform(tracker, &action).await,
            };
            let what = action.describe();
            match result {
                Ok(Done::Written(id)) => notes.push(format!("pm: {what}: done ({id})")),
                Ok(Done::AlreadyThere(id)) => notes.push(format!("pm: {what}: already there ({id}), not written again")),
                Ok(Done::DuplicateRemoved) => {
                    notes.push(format!("pm: {what}: another run wrote it at the same time; this run's copy removed"))
                }
                Ok(Done::DuplicateKept(why)) => {
                    notes.push(format!("pm: {what}: another run wrote it at the same time; this run's copy stays: {why}"))
                }
                Err(f) => {
                    let why = match f.kind {
                        Kind::NotFound => {
                            missing_ticket |= on_ticket;
                            notes.push(format!("pm: {what}: not found (404): {f}; confirm the ticket id; continuing without PM context"));
                            continue;
                        }
                        Kind::Transient => {
                            down = Some(f.clone());
                            "deferred (retriable: `oc-integrate pm --retry-pm` writes it)"
                        }
                        Kind::Forbidden | Kind::Unauthorized => {
                            stopped = true;
                            "refused; recorded as not retriable, and no further PM write this run (scope is never widened; `oc-integrate pm --retry-pm --force` clears it)"
                        }
                        Kind::Invalid => "rejected as invalid, a bug to fix: recorded as not retriable",
                    };
                    notes.push(format!("pm: {what}: {f}: {why}"));
                    notes.extend(defer(settings, config, run, action, &f));
                }
            }
        }
    }
    notes
}

/// Record a failed write in the checkpoint; a note when it cannot be.
fn defer(settings: &Settings, config: &PmConfig, run: &ServiceRun, action: Action, failure: &Failure) -> Option<String> {
    let Some(path) = &settings.checkpoint else {
        return Some("pm: no checkpoint to record the deferred action in; it is lost".into());
    };
    deferred::record(path, Deferred::new(config.provider.name(), &run.spec.id, action, failure))
        .err()
        .map(|e| format!("pm: cannot record the deferred action: {e}"))
}

/// What `--retry-pm` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flush {
    /// Writes made (or found made) now.
    pub written: usize,
    /// Still deferred, retriable.
    pub retriable: usize,
    /// Not retriable, kept (without `--force`).
    pub kept: usize,
    /// Not retriable, cleared by `--force`.
    pub cleared: usize,
    /// What happened, a line each.
    pub notes: Vec<String>,
}

/// Try every retriable deferred action again (each is idempotent by its marker); with
/// `force`, clear those that are not retriable. Actions another process flushes at the same
/// time stay written once.
pub async fn retry(settings: &Settings, force: bool) -> Result<Flush, String> {
    let path = settings.checkpoint.clone().ok_or("pm: no checkpoint to read deferred actions from")?;
    let pending = deferred::list(&path).map_err(|e| e.to_string())?;
    let mut flush = Flush::default();
    let retriable: Vec<&Deferred> = pending.iter().filter(|d| d.retriable).collect();
    let tracker = if retriable.is_empty() {
        None
    } else {
        let config = settings.load()?;
        Some(settings.connect(&config, None).await?)
    };
    let mut outcome: Vec<(String, Result<(), Failure>)> = Vec::new();
    for d in &retriable {
        let Some(tracker) = &tracker else { break };
        let result = perform(tracker, &d.action).await;
        let what = d.action.describe();
        match &result {
            Ok(Done::Written(id)) => flush.notes.push(format!("pm: {what}: done ({id})")),
            Ok(Done::AlreadyThere(id)) => flush.notes.push(format!("pm: {what}: already there ({id})")),
            Ok(Done::DuplicateRemoved) => flush.notes.push(format!("pm: {what}: written by another run meanwhile")),
            Ok(Done::DuplicateKept(why)) => {
                flush.notes.push(format!("pm: {what}: written by another run meanwhile; this copy stays: {why}"))
            }
            Err(f) => {
                flush.notes.push(format!("pm: {what}: {f}{}", if f.kind.retriable() { ": still deferred" } else { ": now not retriable" }))
            }
        }
        outcome.push((d.id.clone(), result.map(drop)));
    }
    deferred::update(&path, |mine| {
        let mut kept = Vec::new();
        for mut d in mine {
            match outcome.iter().find(|(id, _)| *id == d.id) {
                Some((_, Ok(()))) => {
                    flush.written += 1;
                    continue;
                }
                Some((_, Err(f))) => {
                    d.attempts += 1;
                    d.retriable = f.kind.retriable();
                    d.error = f.message.clone();
                    d.status = f.status;
                }
                None => {}
            }
            if d.retriable {
                flush.retriable += 1;
            } else if force {
                flush.cleared += 1;
                flush.notes.push(format!("pm: {}: cleared (--force): {}", d.action.describe(), d.error));
                continue;
            } else {
                flush.kept += 1;
                flush.notes.push(format!("pm: {}: not retriable, kept ({}); `--retry-pm --force` clears it", d.action.describe(), d.error));
            }
            kept.push(d);
        }
        kept
    })
    .map_err(|e| e.to_string())?;
    Ok(flush)
}
