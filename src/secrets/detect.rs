//! What a leaked secret looks like: one detector per credential format the catalog's
//! providers issue (each a pattern, the public prefix a preview may keep, and a judgement
//! that turns away placeholders and test keys), an entropy check for generic
//! `*_SECRET`/`*_TOKEN` assignments, and the declared values (the specs' `env:` variables,
//! when set) searched for as they are. A [`Hit`] carries a masked preview and a fingerprint,
//! never the value.

use base64::Engine as _;
use regex::bytes::{Regex, RegexSet};
use sha2::Digest as _;

/// How a detector turns a match into a hit, or away.
#[derive(Clone, Copy)]
enum Judge {
    /// The random part (after the public prefix) must not be a placeholder.
    Random,
    /// Also must not contain `EXAMPLE` (the providers' documented sample keys).
    NotExample,
    /// A JWT: its header must decode to a JSON object with an `alg`.
    Jwt,
    /// A generic assignment: a value of enough entropy that is not a placeholder, a test-mode
    /// key or a reference to somewhere else (`${VAR}`, `process.env…`).
    Entropy,
}

/// What the preview shows of a value before the ellipsis.
#[derive(Clone, Copy)]
enum Keep {
    /// The first n bytes (a provider's public prefix such as `sk_live_`).
    Prefix(usize),
    /// The first line (a PEM header).
    Header,
    /// The assignment's name, then `=`.
    Name,
}

/// One credential format.
pub struct Detector {
    /// A stable id, e.g. `stripe-live-key`.
    pub id: &'static str,
    /// What it finds, for people: `Stripe live secret key`.
    pub title: &'static str,
    pattern: &'static str,
    keep: Keep,
    judge: Judge,
}

/// The catalogue. Each pattern captures the value as `v` (and a generic one the name as `n`).
const DETECTORS: &[Detector] = &[
    Detector {
        id: "stripe-live-key",
        title: "Stripe live secret key",
        pattern: r"\b(?P<v>[sr]k_live_[0-9A-Za-z]{20,247})\b",
        keep: Keep::Prefix(8),
        judge: Judge::Random,
    },
    Detector {
        id: "webhook-signing-secret",
        title: "Webhook signing secret (Stripe, Standard Webhooks)",
        pattern: r"\b(?P<v>whsec_[0-9A-Za-z+/]{24,}={0,2})",
        keep: Keep::Prefix(6),
        judge: Judge::Random,
    },
    Detector {
        id: "github-token",
        title: "GitHub token",
        pattern: r"\b(?P<v>gh[pousr]_[0-9A-Za-z]{36,251})\b",
        keep: Keep::Prefix(4),
        judge: Judge::Random,
    },
    Detector {
        id: "github-fine-grained-token",
        title: "GitHub fine-grained token",
        pattern: r"\b(?P<v>github_pat_[0-9A-Za-z_]{60,255})\b",
        keep: Keep::Prefix(11),
        judge: Judge::Random,
    },
    Detector {
        id: "slack-token",
        title: "Slack token",
        pattern: r"\b(?P<v>xox[abprs]-[0-9]{1,20}-[0-9A-Za-z-]{10,250})",
        keep: Keep::Prefix(5),
        judge: Judge::Random,
    },
    Detector {
        id: "slack-webhook",
        title: "Slack incoming webhook URL",
        pattern: r"(?P<v>https://hooks\.slack\.com/(?:services|workflows|triggers)/T[0-9A-Z]{6,}/[0-9A-Za-z]{6,}/[0-9A-Za-z]{20,})",
        keep: Keep::Prefix(24),
        judge: Judge::Random,
    },
    Detector {
        id: "aws-access-key-id",
        title: "AWS access key ID",
        pattern: r"\b(?P<v>(?:AKIA|ASIA)[0-9A-Z]{16})\b",
        keep: Keep::Prefix(4),
        judge: Judge::NotExample,
    },
    Detector {
        id: "aws-secret-access-key",
        title: "AWS secret access key",
        pattern: r#"(?i)aws[0-9a-z_.-]{0,24}(?:secret|sk)[0-9a-z_.-]{0,24}["']?\s*(?::=|=>|=|:)\s*["']?(?P<v>[0-9A-Za-z/+]{40})(?:[^0-9A-Za-z/+=]|$)"#,
        keep: Keep::Prefix(0),
        judge: Judge::NotExample,
    },
    Detector {
        id: "google-api-key",
        title: "Google API key",
        pattern: r"\b(?P<v>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
        keep: Keep::Prefix(4),
        judge: Judge::Random,
    },
    Detector {
        id: "sendgrid-api-key",
        title: "SendGrid API key",
        pattern: r"\b(?P<v>SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43})(?:[^0-9A-Za-z_-]|$)",
        keep: Keep::Prefix(3),
        judge: Judge::Random,
    },
    Detector {
        id: "twilio-api-key",
        title: "Twilio API key SID",
        pattern: r"\b(?P<v>SK[0-9a-f]{32})\b",
        keep: Keep::Prefix(2),
        judge: Judge::Random,
    },
    Detector {
        id: "twilio-auth-token",
        title: "Twilio auth token (beside its account SID)",
        pattern: r"\bAC[0-9a-f]{32}\b[^0-9A-Za-z\n]{1,40}(?P<v>[0-9a-f]{32})\b",
        keep: Keep::Prefix(0),
        judge: Judge::Random,
    },
    Detector {
        id: "shopify-token",
        title: "Shopify access token or shared secret",
        pattern: r"\b(?P<v>shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32})\b",
        keep: Keep::Prefix(6),
        judge: Judge::Random,
    },
    Detector {
        id: "telegram-bot-token",
        title: "Telegram bot token",
        pattern: r"\b(?P<v>[0-9]{8,10}:AA[0-9A-Za-z_-]{33})(?:[^0-9A-Za-z_-]|$)",
        keep: Keep::Prefix(0),
        judge: Judge::Random,
    },
    Detector {
        id: "private-key",
        title: "Private key (PEM)",
        pattern: r"(?P<v>-----BEGIN[A-Z ]{0,24} PRIVATE KEY(?: BLOCK)?-----\r?\n(?:[A-Za-z-]+:[^\n]*\n)*\s*[0-9A-Za-z+/=]{40,})",
        keep: Keep::Header,
        judge: Judge::Random,
    },
    Detector {
        id: "jwt",
        title: "JSON Web Token",
        pattern: r"\b(?P<v>eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{16,})",
        keep: Keep::Prefix(3),
        judge: Judge::Jwt,
    },
    Detector {
        id: "generic-secret",
        title: "High-entropy value assigned to a secret's name",
        pattern: r#"(?i)(?P<n>\b[0-9a-z_.-]*(?:secret|token|api_?key|password|passwd)[0-9a-z_]*)["']?\s*(?::=|=>|=|:)\s*["'`]?(?P<v>[0-9A-Za-z+/=_.~!@#%^*-]{12,200})"#,
        keep: Keep::Name,
        judge: Judge::Entropy,
    },
];

/// Placeholder words: a value containing one is an example, not a credential.
const PLACEHOLDERS: [&str; 14] = [
    "xxxx",
    "example",
    "changeme",
    "change_me",
    "placeholder",
    "your",
    "dummy",
    "fake",
    "redacted",
    "sample",
    "0000",
    "1234",
    "abcd",
    "test",
];

/// Values of these forms are not secrets (test-mode and publishable keys).
const NOT_SECRET: [&str; 5] = ["sk_test_", "rk_test_", "pk_test_", "pk_live_", "whsec_test"];

/// A value declared in a spec (the value of a secrets row's `env:` variable) that must appear
/// in no file and no commit. Its `Debug` shows the variable, never the value.
pub struct Declared {
    env: String,
    value: String,
}

impl std::fmt::Debug for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Declared(${})", self.env)
    }
}

impl Declared {
    /// The value of `$env`, when set and long enough to search for (8 bytes: shorter values
    /// match ordinary text); the value is registered with [`crate::redact`].
    pub fn from_env(env: &str) -> Option<Declared> {
        let value = std::env::var(env).ok()?;
        crate::redact::register(&value);
        (value.len() >= 8).then(|| Declared { env: env.to_string(), value })
    }

    /// The variable's name.
    pub fn env(&self) -> &str {
        &self.env
    }
}

/// One secret found in a text: where, by what, and how it may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The detector's id, or `declared` for a declared value.
    pub detector: &'static str,
    /// What was found, for people.
    pub title: String,
    /// The 1-based line.
    pub line: usize,
    /// The masked preview (`sk_live_…a1b2`); never the value.
    pub preview: String,
    /// The first 12 hex digits of the value's SHA-256: the same secret found twice has the same one.
    pub fingerprint: String,
    /// The declared variable whose value this is.
    pub env: Option<String>,
}

/// Every detector, compiled once, and the declared values.
pub struct Detectors {
    set: RegexSet,
    each: Vec<Regex>,
    declared: Vec<(Declared, memchr::memmem::Finder<'static>)>,
}

impl Detectors {
    /// The catalogue's detectors and `declared`.
    pub fn new(declared: Vec<Declared>) -> Detectors {
        // the patterns are constants this module's tests compile: a failure is a bug here
        let patterns: Vec<String> = DETECTORS.iter().map(|d| format!("(?-u){}", d.pattern)).collect();
        let set = RegexSet::new(&patterns).expect("the detector patterns compile");
        let each = patterns.iter().map(|p| Regex::new(p).expect("a detector pattern compiles")).collect();
        let declared = declared
            .into_iter()
            .map(|d| {
                let finder = memchr::memmem::Finder::new(d.value.as_bytes()).into_owned();
                (d, finder)
            })
            .collect();
        Detectors { set, each, declared }
    }

    /// The catalogue: each detector's id and title.
    pub fn catalogue() -> impl Iterator<Item = &'static Detector> {
        DETECTORS.iter()
    }

    /// The secrets in `text`, in order; a value two detectors find is reported once (a
    /// declared value over a provider's format over a generic assignment).
    pub fn scan(&self, text: &[u8]) -> Vec<Hit> {
        // (start, end, rank, hit): rank 0 declared, 1 a provider's format, 2 generic
        let mut found: Vec<(usize, usize, u8, Hit)> = Vec::new();
        for (d, finder) in &self.declared {
            for start in finder.find_iter(text) {
                let end = start + d.value.len();
                let hit = Hit {
                    detector: "declared",
                    title: format!("the value of ${}", d.env),
                    line: line_of(text, start),
                    preview: format!("${} value", d.env),
                    fingerprint: fingerprint(d.value.as_bytes()),
                    env: Some(d.env.clone()),
                };
                found.push((start, end, 0, hit));
            }
        }
        for i in self.set.matches(text).iter() {
            let d = &DETECTORS[i];
            for c in self.each[i].captures_iter(text) {
                let Some(v) = c.name("v") else { continue };
                let value = v.as_bytes();
                if !judge(d, value, c.name("n").map_or(&[][..], |n| n.as_bytes())) {
                    continue;
                }
                let kept = match d.keep {
                    Keep::Prefix(n) => String::from_utf8_lossy(&value[..n.min(value.len())]).into_owned(),
                    Keep::Header => String::from_utf8_lossy(value.split(|&b| b == b'\n').next().unwrap_or_default()).trim_end().to_string(),
                    Keep::Name => c.name("n").map(|n| format!("{}=", String::from_utf8_lossy(n.as_bytes()))).unwrap_or_default(),
                };
                let hit = Hit {
                    detector: d.id,
                    title: d.title.to_string(),
                    line: line_of(text, c.get(0).map_or(v.start(), |m| m.start())),
                    preview: preview(&kept, value, matches!(d.keep, Keep::Prefix(_))),
                    fingerprint: fingerprint(value),
                    env: None,
                };
                let rank = if matches!(d.judge, Judge::Entropy) { 2 } else { 1 };
                found.push((v.start(), v.end(), rank, hit));
            }
        }
        found.sort_by_key(|(start, end, rank, _)| (*rank, *start, std::cmp::Reverse(*end)));
        let mut kept: Vec<(usize, usize, Hit)> = Vec::new();
        for (start, end, _, hit) in found {
            if !kept.iter().any(|(s, e, _)| start < *e && *s < end) {
                kept.push((start, end, hit));
            }
        }
        kept.sort_by_key(|(start, _, _)| *start);
        kept.into_iter().map(|(_, _, h)| h).collect()
    }
}

/// Values that read a variable rather than hold one (`process.env.STRIPE_KEY`).
const ENV_READS: [&str; 4] = ["process.env.", "os.environ", "env.", "ENV."];

/// Names of values that are cursors, not credentials (`next_page_token`, `continuationToken`).
const CURSORS: [&str; 6] = ["pagetoken", "page_token", "nexttoken", "next_token", "continuation", "sync_token"];

/// Whether the match is a credential rather than a placeholder, a sample or a test key
/// (`name`: a generic assignment's name, else empty).
fn judge(d: &Detector, value: &[u8], name: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else { return false };
    let random = match d.keep {
        Keep::Prefix(n) => &text[n.min(text.len())..],
        _ => text,
    };
    let lower = random.to_ascii_lowercase();
    match d.judge {
        Judge::Random => !placeholder(&lower) && entropy(random) >= 3.0,
        Judge::NotExample => !lower.contains("example") && !placeholder(&lower) && entropy(random) >= 2.5,
        Judge::Jwt => {
            let header = text.split('.').next().unwrap_or_default();
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header.trim_end_matches('='))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|h| h.get("alg").is_some())
        }
        Judge::Entropy => {
            let t = text.trim_end_matches(['.', ',', ';']);
            let hex = t.bytes().all(|b| b.is_ascii_hexdigit());
            let classes = [
                t.bytes().any(|b| b.is_ascii_lowercase()),
                t.bytes().any(|b| b.is_ascii_uppercase()),
                t.bytes().any(|b| b.is_ascii_digit()),
            ]
            .iter()
            .filter(|c| **c)
            .count();
            let enough = if hex { t.len() >= 20 && entropy(t) >= 3.0 } else { t.len() >= 16 && classes >= 2 && entropy(t) >= 3.5 };
            // a dotted name (`config.api_token`, `settings.SECRET_KEY`) is a reference, not a value
            let reference = ENV_READS.iter().any(|p| t.starts_with(p))
                || t.contains('.')
                    && !t.contains(char::is_numeric)
                    && t.split('.').all(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            let cursor = CURSORS.iter().any(|c| name.to_ascii_lowercase().windows(c.len()).any(|w| w == c.as_bytes()));
            enough && !cursor && !reference && !placeholder(&t.to_ascii_lowercase()) && !NOT_SECRET.iter().any(|p| t.starts_with(p))
        }
    }
}

/// Whether a (lowercased) value is a placeholder: a placeholder word, or one character repeated.
fn placeholder(lower: &str) -> bool {
    PLACEHOLDERS.iter().any(|p| lower.contains(p)) || lower.bytes().collect::<std::collections::BTreeSet<u8>>().len() < 4
}

/// Shannon entropy of `s`, in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|&c| -(c as f64 / n) * (c as f64 / n).log2()).sum()
}

/// `kept…last4`: the public prefix, an ellipsis, the last four characters (none for a value
/// under 16 bytes beyond the prefix, where four would be too much of it).
fn preview(kept: &str, value: &[u8], prefix: bool) -> String {
    let rest = if prefix { value.len().saturating_sub(kept.len()) } else { value.len() };
    let tail = if rest >= 16 { String::from_utf8_lossy(&value[value.len() - 4..]).into_owned() } else { String::new() };
    format!("{kept}…{tail}")
}

/// The first 12 hex digits of the SHA-256 of `value`.
fn fingerprint(value: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(value))[..12].to_string()
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &[u8], offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &text[..offset]).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test values are built at run time, so this file holds no literal that looks live.
    fn key(prefix: &str, body: &str) -> String {
        format!("{prefix}{body}")
    }

    const RANDOM: &str = "Q7vR2kX9mPz4LwT8nYc3HbJ6fDs1GqUe5VaKo0Zi";

    #[test]
    fn provider_formats_are_found_with_a_masked_preview() {
        let d = Detectors::new(vec![]);
        let live = key("sk_", &format!("live_{}", &RANDOM[..24]));
        let hits = d.scan(format!("a\nSTRIPE_SECRET_KEY={live}\n").as_bytes());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].detector, hits[0].line), ("stripe-live-key", 2));
        assert_eq!(hits[0].preview, format!("sk_live_…{}", &RANDOM[20..24]));
        assert!(!format!("{hits:?}").contains(&live));
    }

    #[test]
    fn placeholders_test_keys_and_low_entropy_values_are_not_found() {
        let d = Detectors::new(vec![]);
        for text in [
            key("sk_", "live_xxxxxxxxxxxxxxxxxxxxxxxx"),
            key("sk_", &format!("test_{}", &RANDOM[..24])),
            format!("STRIPE_SECRET={}", key("sk_", &format!("test_{}", &RANDOM[..24]))),
            "API_TOKEN=changeme".into(),
            "API_TOKEN=aaaaaaaaaaaaaaaaaaaaaaaa".into(),
            "CLIENT_SECRET=${CLIENT_SECRET}".into(),
            "token = settings.api_token_value".into(),
            key("AKIA", "IOSFODNN7EXAMPLE"),
            format!("\"nextPageToken\": \"{}\"", &RANDOM[..32]),
            "const token = process.env.%s_TOKEN2;".into(),
        ] {
            assert_eq!(d.scan(text.as_bytes()), vec![], "{text}");
        }
    }

    #[test]
    fn generic_assignments_need_entropy() {
        let d = Detectors::new(vec![]);
        let hits = d.scan(format!("MY_SERVICE_TOKEN = \"{}\"", &RANDOM[..28]).as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].preview, format!("MY_SERVICE_TOKEN=…{}", &RANDOM[24..28]));
    }

    #[test]
    fn a_declared_value_wins_over_the_format_it_has() {
        let value = key("ghp_", &RANDOM[..36]);
        let d = Detectors::new(vec![Declared { env: "GH_TOKEN".into(), value: value.clone() }]);
        let hits = d.scan(format!("token: {value}\n").as_bytes());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!((hits[0].detector, hits[0].preview.as_str(), hits[0].env.as_deref()), ("declared", "$GH_TOKEN value", Some("GH_TOKEN")));
        assert_eq!(format!("{:?}", d.declared[0].0), "Declared($GH_TOKEN)");
    }
}
