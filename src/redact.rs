//! Secret redaction for everything the harness prints or writes.
//!
//! Every credential the harness hands a client, every value of an environment variable
//! named in a spec's secrets, and every token the mock servers mint is registered here
//! (process-wide; a trial's own secrets for as long as the trial runs) and replaced by
//! `[REDACTED]` in output. Credential-bearing
//! headers are masked whatever their value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

const MASK: &str = "[REDACTED]";

/// Headers whose values are always masked.
pub const SENSITIVE_HEADERS: [&str; 6] = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"];

type Entries = Arc<Vec<(u64, String)>>;

fn registry() -> &'static RwLock<Entries> {
    static SECRETS: OnceLock<RwLock<Entries>> = OnceLock::new();
    SECRETS.get_or_init(RwLock::default)
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Copy-on-write update, so readers never wait on a long scan.
fn update(f: impl FnOnce(&mut Vec<(u64, String)>)) {
    let mut guard = registry().write().unwrap_or_else(|p| p.into_inner());
    let mut next = guard.as_ref().clone();
    f(&mut next);
    // longest first, so a secret that contains another is masked whole
    next.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
    *guard = Arc::new(next);
}

fn add(id: u64, secret: &str) {
    if secret.len() < 4 {
        return;
    }
    // as it is written, and as a form or URL, or a JSON string, would carry it (a server
    // that echoes a request back shows it encoded)
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_string();
    update(|all| {
        for v in [secret.to_string(), form, percent, json] {
            if !all.iter().any(|(i, s)| *i == id && *s == v) {
                all.push((id, v));
            }
        }
    });
}

/// Register a value that must never appear in output, for the life of the process (and its
/// form-, percent- and JSON-encoded forms). Values shorter than 4 bytes are ignored (masking
/// them would shred ordinary text).
pub fn register(secret: &str) {
    add(0, secret);
}

/// Secrets registered for as long as this value lives (one trial's credentials), so the
/// registry does not grow with the number of trials.
#[derive(Debug)]
pub struct Registration {
    id: u64,
}

impl Default for Registration {
    fn default() -> Self {
        Registration { id: next_id() }
    }
}

impl Registration {
    /// Mask `secret` until this registration is dropped.
    pub fn add(&self, secret: &str) {
        add(self.id, secret);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let id = self.id;
        update(|all| all.retain(|(i, _)| *i != id));
    }
}

/// Register the values of the environment variables named by `names`, when set.
pub fn register_env<'a>(names: impl IntoIterator<Item = &'a str>) {
    for n in names {
        if let Ok(v) = std::env::var(n) {
            register(&v);
        }
    }
}

/// `text` with every registered secret masked.
pub fn redact(text: &str) -> String {
    let all = registry().read().unwrap_or_else(|p| p.into_inner()).clone();
    let mut out = text.to_string();
    for (_, s) in all.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

/// A header value as it may be shown: masked for credential headers, redacted otherwise.
pub fn header_value(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if SENSITIVE_HEADERS.contains(&lower.as_str()) {
        // keep the scheme, which helps debugging and reveals nothing
        match value.split_once(' ') {
            Some((scheme, _)) if !scheme.is_empty() && scheme.len() < 16 => format!("{scheme} {MASK}"),
            _ => MASK.to_string(),
        }
    } else {
        redact(value)
    }
}

/// The text of a panic payload (not yet redacted).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_and_auth_headers_are_masked() {
        let r = Registration::default();
        r.add("sk_test_canary_0123456789");
        assert_eq!(redact("key=sk_test_canary_0123456789;"), "key=[REDACTED];");
        assert_eq!(header_value("Authorization", "Bearer abc.def"), "Bearer [REDACTED]");
        assert_eq!(header_value("X-Api-Key", "whatever"), "[REDACTED]");
        assert_eq!(header_value("Idempotency-Key", "k-1"), "k-1");
        drop(r);
        assert_eq!(redact("sk_test_canary_0123456789"), "sk_test_canary_0123456789");
    }

    /// A server that echoes a request shows its secrets encoded: form, percent, JSON.
    #[test]
    fn encoded_forms_of_a_secret_are_masked_too() {
        let r = Registration::default();
        r.add("s3cr/t+x=y&z \"q\"");
        assert_eq!(redact("client_secret=s3cr%2Ft%2Bx%3Dy%26z+%22q%22&x=1"), "client_secret=[REDACTED]&x=1");
        assert_eq!(redact("/a?s=s3cr%2Ft%2Bx%3Dy%26z%20%22q%22"), "/a?s=[REDACTED]");
        assert_eq!(redact(r#"{"secret": "s3cr/t+x=y&z \"q\""}"#), r#"{"secret": "[REDACTED]"}"#);
    }
}
