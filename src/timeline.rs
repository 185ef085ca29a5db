//! What the mock servers saw: every request with its server-side arrival time, the
//! reply it got, and when the client hung up. Scenario checks judge a client only from
//! this and from the value the client returned.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;

use crate::redact;

/// Which server endpoint a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The endpoint under test.
    Api,
    /// The OAuth token endpoint.
    Token,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// Offset from the start of the trial, taken when the request was fully read.
    pub at: Duration,
    /// Wall-clock arrival time (for checks against an HTTP-date).
    pub wall: SystemTime,
    /// Which call of the scenario it belongs to (0-based).
    pub call: usize,
    /// Which endpoint it hit.
    pub target: Target,
    /// Request method.
    pub method: String,
    /// Request path and query.
    pub path: String,
    /// Request headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
    /// What the server did, e.g. `429 Retry-After: 1`, `reset`, `stalled`.
    pub reply: String,
    /// Whether the server refused the request outright (a complete 4xx answer): it was not
    /// processed, so even a call that is not idempotent may be repeated.
    pub refused: bool,
    /// When the client closed the connection, measured from `at` (raw server only).
    pub hung_up_after: Option<Duration>,
    /// Offset at which the server began its final act on this request (the last bytes, a
    /// reset, a close): the earliest the client can have seen the outcome. `None` means at
    /// arrival (wiremock answers at once).
    pub answered: Option<Duration>,
}

impl Arrival {
    /// The earliest moment the client can have seen how this attempt ended.
    pub fn outcome_at(&self) -> Duration {
        self.answered.unwrap_or(self.at)
    }
}

impl Arrival {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Debug, Default)]
struct State {
    call: usize,
    arrivals: Vec<Arrival>,
    mandated: Option<Duration>,
}

/// The shared record of one trial, written by its servers.
#[derive(Debug, Clone)]
pub struct Timeline {
    start: Instant,
    state: Arc<Mutex<State>>,
    violation: Arc<Notify>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline { start: Instant::now(), state: Arc::default(), violation: Arc::new(Notify::new()) }
    }
}

impl Timeline {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offset of now from the start of the trial.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Mark the start of the next call of the scenario.
    pub fn begin_call(&self, call: usize) {
        self.lock().call = call;
    }

    /// Record a request; returns its index and its 0-based attempt number within the
    /// current call at this target. Sets the arrival's call.
    pub fn record(&self, a: &mut Arrival) -> (usize, usize) {
        let mut s = self.lock();
        a.call = s.call;
        let attempt = s.arrivals.iter().filter(|o| o.call == a.call && o.target == a.target).count();
        s.arrivals.push(a.clone());
        (s.arrivals.len() - 1, attempt)
    }

    /// Set what the server did with request `index`, and whether that refused it outright.
    pub fn set_reply(&self, index: usize, reply: impl Into<String>, refused: bool) {
        if let Some(a) = self.lock().arrivals.get_mut(index) {
            a.reply = reply.into();
            a.refused = refused;
        }
    }

    /// Record that the server is about to deliver its final act on request `index`.
    pub fn answering(&self, index: usize) {
        let now = self.now();
        if let Some(a) = self.lock().arrivals.get_mut(index) {
            a.answered = Some(now);
        }
    }

    /// Record that the client hung up on request `index`.
    pub fn hung_up(&self, index: usize, after: Duration) {
        if let Some(a) = self.lock().arrivals.get_mut(index) {
            a.hung_up_after.get_or_insert(after);
        }
    }

    /// Record a wait an answer forces on a correct client that only the answer fixes: from the
    /// moment it is sent to the instant it names (a reset in whole seconds, so up to a second
    /// longer than the nominal wait). A scenario that records one records every wait it mandates.
    pub fn mandate(&self, wait: Duration) {
        let mut s = self.lock();
        s.mandated = Some(s.mandated.unwrap_or_default() + wait);
    }

    /// The waits recorded by [`Timeline::mandate`], summed; `None` when there were none.
    pub fn mandated(&self) -> Option<Duration> {
        self.lock().mandated
    }

    /// A copy of every arrival so far.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.lock().arrivals.clone()
    }

    /// Arrivals of `call` at `target`, in order.
    pub fn attempts(&self, call: usize, target: Target) -> Vec<Arrival> {
        self.lock().arrivals.iter().filter(|a| a.call == call && a.target == target).cloned().collect()
    }

    /// Tell the trial the client has already broken a hard limit, so it need not wait.
    pub fn violated(&self) {
        self.violation.notify_one();
    }

    /// Resolves once a server called [`Timeline::violated`].
    pub async fn violation(&self) {
        self.violation.notified().await;
    }

    /// The timeline as a table for humans, secrets redacted. `headers` names the request
    /// headers worth showing for this scenario.
    pub fn render(&self, headers: &[&str]) -> String {
        let mut out = String::new();
        for a in self.arrivals() {
            let target = if a.target == Target::Token { " (token endpoint)" } else { "" };
            let _ = write!(out, "  +{:>8.3}s  call {}  {} {}{} -> {}", a.at.as_secs_f64(), a.call + 1, a.method, a.path, target, a.reply);
            if let Some(h) = a.hung_up_after {
                let _ = write!(out, "  (client hung up after {:.3}s)", h.as_secs_f64());
            }
            let shown: Vec<String> =
                headers.iter().filter_map(|h| a.header(h).map(|v| format!("{h}: {}", redact::header_value(h, v)))).collect();
            if !shown.is_empty() {
                let _ = write!(out, "\n             {}", shown.join("  "));
            }
            out.push('\n');
        }
        if out.is_empty() {
            out.push_str("  (no request reached the server)\n");
        }
        redact::redact(&out)
    }
}

/// Seconds with millisecond precision, as shown in messages.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}
