//! The seed's audit of each declared secret: "Stored in secret storage (not .env or code)?
//! Rotation schedule defined?" — and how old it is against that schedule, and whether its
//! value was found where it must not be (the leak scan's findings of its `env:` value).

use serde::Serialize;

use super::scan::Finding;
use crate::spec::{Secret, Spec};

/// How bad a judgement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing to do.
    Ok,
    /// Worth knowing; not a failure (exit 0).
    Note,
    /// Must be fixed (exit 1).
    Finding,
}

impl Verdict {
    /// How the table prints it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Note => "note",
            Verdict::Finding => "finding",
        }
    }
}

/// Where a secret is stored, judged by the seed's rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Storage {
    /// A secret store: a vault, a KV store, `wrangler secret`, a cloud secret manager, the CI's secrets…
    SecretStore,
    /// In code, a `.env` file, a config file, the repository: a finding.
    Exposed,
    /// Not declared yet (`TODO`, empty): a finding.
    Undeclared,
    /// Nothing this audit recognises either way: a note.
    Unrecognised,
}

/// Words that name a secret store.
const STORES: [&str; 20] = [
    "vault",
    "kv",
    "wrangler",
    "secret manager",
    "secrets manager",
    "key vault",
    "keyvault",
    "kms",
    "parameter store",
    "securestring",
    "keychain",
    "keyring",
    "1password",
    "doppler",
    "infisical",
    "sealed secret",
    "kubernetes secret",
    "k8s secret",
    "ci secret",
    "secrets",
];

impl Storage {
    /// Judge a `storage:` value.
    ///
    /// ```
    /// use oc_integrate::secrets::Storage;
    /// assert_eq!(Storage::judge("vault"), Storage::SecretStore);
    /// assert_eq!(Storage::judge("wrangler secret"), Storage::SecretStore);
    /// assert_eq!(Storage::judge("AWS Secrets Manager"), Storage::SecretStore);
    /// assert_eq!(Storage::judge(".env"), Storage::Exposed);
    /// assert_eq!(Storage::judge("config file"), Storage::Exposed);
    /// assert_eq!(Storage::judge("hardcoded in code"), Storage::Exposed);
    /// assert_eq!(Storage::judge("TODO: vault / KV / CI secret"), Storage::Undeclared);
    /// assert_eq!(Storage::judge("a drawer"), Storage::Unrecognised);
    /// ```
    pub fn judge(storage: &str) -> Storage {
        let s = storage.trim().to_ascii_lowercase();
        let words: Vec<&str> = s.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').filter(|w| !w.is_empty()).collect();
        if s.is_empty() || words.contains(&"todo") {
            return Storage::Undeclared;
        }
        let exposed = s.contains(".env")
            || s.contains("dotenv")
            || s.contains("config file")
            || s.contains("plain text")
            || words.iter().any(|w| {
                matches!(
                    *w,
                    "code" | "source" | "hardcoded" | "hard-coded" | "repo" | "repository" | "git" | "plaintext" | "yaml" | "json" | "ini"
                )
            });
        if exposed {
            Storage::Exposed
        } else if STORES.iter().any(|k| if k.contains(' ') { s.contains(k) } else { words.contains(k) }) {
            Storage::SecretStore
        } else {
            Storage::Unrecognised
        }
    }
}

/// A rotation schedule, parsed from the spec's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Rotation {
    /// Rotated every so many days (`Yearly`, `90 days`, `every 2 weeks`).
    Every {
        /// The period.
        days: u32,
    },
    /// Rotated by the system itself (`Auto-refresh on 401`, `Rotated on every refresh`).
    Automatic,
    /// Rotated when something happens (`On endpoint rotation`, `Per subscriber`): no age to check.
    OnEvent,
    /// Never rotated (`Static`, `never`): a note — identifiers such as a client ID do not
    /// rotate, and a static secret must be rotated by hand when it leaks.
    Static,
    /// No schedule (`TODO`, empty, or words this audit cannot read): a finding.
    Undefined,
}

impl Rotation {
    /// Parse a `rotation:` value.
    ///
    /// ```
    /// use oc_integrate::secrets::Rotation;
    /// assert_eq!(Rotation::parse("Yearly"), Rotation::Every { days: 365 });
    /// assert_eq!(Rotation::parse("90 days"), Rotation::Every { days: 90 });
    /// assert_eq!(Rotation::parse("every 2 weeks"), Rotation::Every { days: 14 });
    /// assert_eq!(Rotation::parse("Auto-refresh on 401"), Rotation::Automatic);
    /// assert_eq!(Rotation::parse("Rotated on every refresh"), Rotation::Automatic);
    /// assert_eq!(Rotation::parse("On endpoint rotation"), Rotation::OnEvent);
    /// assert_eq!(Rotation::parse("Static"), Rotation::Static);
    /// assert_eq!(Rotation::parse("TODO"), Rotation::Undefined);
    /// assert_eq!(Rotation::parse("whenever"), Rotation::Undefined);
    /// ```
    pub fn parse(text: &str) -> Rotation {
        let s = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let has = |w: &str| words.contains(&w);
        if s.is_empty() || has("todo") {
            return Rotation::Undefined;
        }
        if has("auto") || has("automatic") || has("automatically") || s.contains("refresh") || s.contains("short-lived") {
            return Rotation::Automatic;
        }
        let unit = |w: &str| -> Option<u32> {
            match w.trim_end_matches('s') {
                "d" | "day" => Some(1),
                "w" | "week" => Some(7),
                "month" | "mo" => Some(30),
                "y" | "year" | "yr" => Some(365),
                _ => None,
            }
        };
        for (i, w) in words.iter().enumerate() {
            let period = match *w {
                "daily" => Some(1),
                "weekly" => Some(7),
                "fortnightly" | "biweekly" => Some(14),
                "monthly" => Some(30),
                "quarterly" => Some(90),
                "biannually" | "semiannually" | "semi" | "half" => Some(182),
                "yearly" | "annually" | "annual" => Some(365),
                "every" | "each" => words.get(i + 1).and_then(|n| unit(n)),
                _ => None,
            };
            if let Some(days) = period {
                return Rotation::Every { days };
            }
            // `90 days`, `90d`, `every 2 weeks`
            let (digits, rest) = w.split_at(w.find(|c: char| !c.is_ascii_digit()).unwrap_or(w.len()));
            if let Ok(n) = digits.parse::<u32>() {
                let u = if rest.is_empty() { words.get(i + 1).and_then(|u| unit(u)) } else { unit(rest) };
                if let Some(u) = u
                    && n > 0
                {
                    return Rotation::Every { days: n * u };
                }
            }
        }
        if ["static", "never", "none", "no"].iter().any(|w| has(w)) {
            return Rotation::Static;
        }
        if ["on", "per", "when", "after", "upon"].iter().any(|w| words.first() == Some(w)) {
            return Rotation::OnEvent;
        }
        Rotation::Undefined
    }
}

impl Issue {
    fn new(verdict: Verdict, text: String) -> Issue {
        Issue { verdict, text }
    }
}

/// One declared secret, audited.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The service id.
    pub service: String,
    /// The row's name.
    pub name: String,
    /// The row's `storage:`, as written.
    pub storage: String,
    /// How it is judged.
    pub storage_kind: Storage,
    /// The row's `rotation:`, as written.
    pub rotation: String,
    /// How it parses.
    pub schedule: Rotation,
    /// When it was last rotated (the later of the spec's `rotated_at` and the checkpoint's), RFC 3339.
    pub rotated_at: Option<String>,
    /// Whole days since then.
    pub age_days: Option<i64>,
    /// The row's `env:` variable.
    pub env: Option<String>,
    /// Whether its value was searched for (the variable set), and where it was found.
    pub searched: bool,
    /// The places its value was found (`commit path:line`, or `path:line (uncommitted)`).
    pub found_at: Vec<String>,
    /// The worst of the judgements.
    pub verdict: Verdict,
    /// What is wrong or worth knowing, one line each, for the Issues list.
    pub issues: Vec<Issue>,
}

/// One line of the Issues list.
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    /// A finding or a note.
    pub verdict: Verdict,
    /// What, for people.
    pub text: String,
}

/// Audit every secrets row of `spec`. `rotated` holds the checkpoint's dates by row name,
/// `now` is seconds since the epoch, `searched` the variables whose values the scan looked
/// for, `findings` the leak scan's.
pub fn audit(spec: &Spec, rotated: &dyn Fn(&str) -> Option<String>, now: i64, searched: &[&str], findings: &[Finding]) -> Vec<Audit> {
    spec.secrets.iter().map(|s| row(spec, s, rotated(&s.name), now, searched, findings)).collect()
}

fn row(spec: &Spec, s: &Secret, checkpoint: Option<String>, now: i64, searched: &[&str], findings: &[Finding]) -> Audit {
    let who = format!("{} {}", spec.name, s.name);
    let mut issues = Vec::new();
    let storage_kind = Storage::judge(&s.storage);
    match storage_kind {
        Storage::SecretStore => {}
        Storage::Exposed => issues.push(Issue::new(
            Verdict::Finding,
            format!("{who}: stored in {:?}, not secret storage — move it to a secret store (vault, KV, wrangler secret, a secret manager) and rotate it", s.storage),
        )),
        Storage::Undeclared => issues.push(Issue::new(Verdict::Finding, format!("{who}: storage not declared ({:?})", s.storage))),
        Storage::Unrecognised => {
            issues.push(Issue::new(Verdict::Note, format!("{who}: storage {:?} is not a secret store this audit knows — check it is one", s.storage)))
        }
    }
    let schedule = Rotation::parse(&s.rotation);
    match schedule {
        Rotation::Undefined => issues.push(Issue::new(Verdict::Finding, format!("{who}: no rotation schedule ({:?})", s.rotation))),
        Rotation::Static => issues
            .push(Issue::new(Verdict::Note, format!("{who}: never rotated ({:?}) — rotate it by hand at once if it leaks", s.rotation))),
        _ => {}
    }
    // the later of the two records
    let dates = [s.rotated_at.clone(), checkpoint].into_iter().flatten().filter_map(|d| crate::text::parse_rfc3339(&d).map(|t| (t, d)));
    let last = dates.max_by_key(|(t, _)| *t);
    let age_days = last.as_ref().map(|(t, _)| (now - t).div_euclid(86_400));
    match (schedule.clone(), age_days) {
        (_, Some(age)) if age < 0 => {
            issues.push(Issue::new(Verdict::Note, format!("{who}: rotated_at is in the future ({} days ahead)", -age)))
        }
        (Rotation::Every { days }, Some(age)) if age > i64::from(days) => issues.push(Issue::new(
            Verdict::Finding,
            format!("{who}: last rotated {age} days ago, overdue by {} days (schedule: every {days} days)", age - i64::from(days)),
        )),
        (Rotation::Every { days }, None) => issues.push(Issue::new(
            Verdict::Note,
            format!("{who}: age unknown — record rotated_at in the spec (or the checkpoint) to check it against every {days} days"),
        )),
        _ => {}
    }
    let env = s.env.clone();
    let is_searched = env.as_deref().is_some_and(|e| searched.contains(&e));
    let found_at: Vec<String> = findings
        .iter()
        .filter(|f| f.env.is_some() && f.env == env)
        .map(|f| match &f.commit {
            Some(c) => format!("{} {}:{}", &c[..c.len().min(8)], f.path, f.line),
            None => format!("{}:{} (uncommitted)", f.path, f.line),
        })
        .collect();
    if let Some(e) = &env
        && !found_at.is_empty()
    {
        {
            issues.push(Issue::new(
                Verdict::Finding,
                format!("{who}: the value of ${e} is in the repository ({}) — rotate it, then remove it", crate::text::hints(&found_at)),
            ));
        }
    }
    let verdict = issues.iter().map(|i| i.verdict).max().unwrap_or(Verdict::Ok);
    Audit {
        service: spec.id.clone(),
        name: s.name.clone(),
        storage: s.storage.clone(),
        storage_kind,
        rotation: s.rotation.clone(),
        schedule,
        rotated_at: last.map(|(_, d)| d),
        age_days,
        env,
        searched: is_searched,
        found_at,
        verdict,
        issues,
    }
}
