//! The checkpoint's `pm_deferred_actions[]`: tracker writes that did not happen, kept for
//! `oc-integrate pm --retry-pm`. Other opchain skills keep theirs in the same list, so only
//! entries naming this skill are read or removed, through the checkpoint's locked
//! read-modify-write; an action deferred again replaces its earlier entry.

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::comment::SKILL;
use super::tracker::Failure;
use crate::checkpoint::{self, CheckpointError};
use crate::text::rfc3339;

/// The checkpoint's field.
pub const FIELD: &str = "pm_deferred_actions";

/// A tracker write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A comment on a ticket, written once per marker.
    Comment {
        /// The ticket (`PLAT-12`, `owner/repo#3`).
        ticket: String,
        /// The seed's marker the body starts with.
        marker: String,
        /// The whole comment (redacted).
        body: String,
    },
    /// A ticket moved to a state.
    Transition {
        /// The ticket.
        ticket: String,
        /// The tracker's state name, from `pm.yaml`'s `states`.
        state: String,
    },
    /// A ticket created in the project, once per marker.
    CreateIssue {
        /// The marker its description starts with.
        marker: String,
        /// Its title.
        title: String,
        /// Its description (redacted).
        body: String,
    },
}

impl Action {
    /// One line saying what it does.
    pub fn describe(&self) -> String {
        match self {
            Action::Comment { ticket, marker, .. } => format!("comment {} on {ticket}", correlation(marker)),
            Action::Transition { ticket, state } => format!("move {ticket} to {state:?}"),
            Action::CreateIssue { marker, .. } => format!("create the ticket {}", correlation(marker)),
        }
    }

    /// Whether `other` is the same write (a deferred entry it replaces).
    fn same(&self, other: &Action) -> bool {
        match (self, other) {
            (Action::Comment { ticket: a, marker: m, .. }, Action::Comment { ticket: b, marker: n, .. }) => a == b && m == n,
            (Action::Transition { ticket: a, .. }, Action::Transition { ticket: b, .. }) => a == b,
            (Action::CreateIssue { marker: m, .. }, Action::CreateIssue { marker: n, .. }) => m == n,
            _ => false,
        }
    }
}

/// A marker's `event:correlation`, for notes.
fn correlation(marker: &str) -> String {
    marker.trim_start_matches("<!-- opchain:").trim_end_matches(" -->").trim_start_matches(SKILL).trim_start_matches(':').to_string()
}

/// A deferred write, as the checkpoint keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// Its id.
    pub id: String,
    /// The skill that deferred it (always this one's among the entries read here).
    pub skill: String,
    /// `linear`, `jira` or `github-issues`.
    pub provider: String,
    /// What to write.
    #[serde(flatten)]
    pub action: Action,
    /// The service whose round it reports.
    pub service: String,
    /// Whether `--retry-pm` tries it again (`false`: `--retry-pm --force` clears it).
    pub retriable: bool,
    /// Why it did not happen (redacted).
    pub error: String,
    /// The HTTP status, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Attempts so far, each a whole retry budget.
    pub attempts: u32,
    /// When it was last deferred (RFC 3339).
    pub deferred_at: String,
}

impl Deferred {
    /// `action` deferred after `failure`.
    pub fn new(provider: &str, service: &str, action: Action, failure: &Failure) -> Deferred {
        Deferred {
            id: uuid::Uuid::new_v4().simple().to_string(),
            skill: SKILL.into(),
            provider: provider.into(),
            action,
            service: service.into(),
            retriable: failure.kind.retriable(),
            error: failure.message.clone(),
            status: failure.status,
            attempts: 1,
            deferred_at: rfc3339(SystemTime::now()),
        }
    }
}

fn ours(v: &Value) -> Option<Deferred> {
    serde_json::from_value::<Deferred>(v.clone()).ok().filter(|d| d.skill == SKILL)
}

/// This skill's deferred actions in the checkpoint at `path`.
pub fn list(path: &Path) -> Result<Vec<Deferred>, CheckpointError> {
    let state = checkpoint::read(path)?;
    Ok(state[FIELD].as_array().into_iter().flatten().filter_map(ours).collect())
}

/// Change the list under the checkpoint's lock: `change` gets this skill's entries and
/// returns the ones to keep; other skills' entries stay as they were.
pub fn update(path: &Path, change: impl FnOnce(Vec<Deferred>) -> Vec<Deferred>) -> Result<(), CheckpointError> {
    checkpoint::update(path, |state| {
        let all = state[FIELD].as_array().cloned().unwrap_or_default();
        let (mine, others): (Vec<Value>, Vec<Value>) = all.into_iter().partition(|v| ours(v).is_some());
        let kept = change(mine.iter().filter_map(ours).collect());
        let mut list = others;
        list.extend(kept.iter().filter_map(|d| serde_json::to_value(d).ok()));
        state[FIELD] = Value::Array(list);
    })
    .map(drop)
}

/// Record `entry`, replacing an entry of the same write (its attempts carried on).
pub fn record(path: &Path, mut entry: Deferred) -> Result<(), CheckpointError> {
    update(path, |mut mine| {
        if let Some(i) = mine.iter().position(|d| d.action.same(&entry.action)) {
            let old = mine.remove(i);
            entry.attempts += old.attempts;
            entry.id = old.id;
        }
        mine.push(entry);
        mine
    })
}
