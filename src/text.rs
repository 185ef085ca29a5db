//! How every output writes a value: one-line markdown table cells with secrets masked,
//! observations clipped to a readable length, hint lists capped, timestamps in RFC 3339.
//!
//! Three ways to cut, one per purpose: [`clip`] an observation's tail (what the client did
//! comes first), [`shorten`] a table phrase at a word, [`fit`] a message's long quoted values
//! and its whole in the middle (a hostile value shows at both ends, the message's end survives).

use std::time::SystemTime;

use crate::redact;

/// At most 240 characters of an observation, for a table cell or a message, secrets masked
/// first (a secret cut in half would no longer be recognised).
pub fn clip(text: &str) -> String {
    let text = redact::redact(text);
    match text.char_indices().nth(240) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// How many characters a quoted value keeps in a message before its middle is cut.
pub const QUOTED: usize = 120;

/// How many characters a whole message keeps before its middle is cut.
pub const MESSAGE: usize = 1_000;

/// `message` fit to be shown: each double-quoted value longer than [`QUOTED`] characters is
/// cut in the middle and its length given, then the whole message, past [`MESSAGE`]
/// characters, likewise; so a 200 KB value in a spec or a provider document cannot flood a
/// terminal or a CI annotation, and what the value was still shows at both ends.
///
/// ```
/// use oc_integrate::text::fit;
/// let long = format!("expected an id, found \"{}\" again", "a".repeat(5_000));
/// assert_eq!(fit(&long), format!("expected an id, found \"{}…{}\" (5000 characters) again", "a".repeat(90), "a".repeat(20)));
/// assert_eq!(fit("found \"short\""), "found \"short\"");
/// assert!(fit(&"x".repeat(50_000)).chars().count() < 1_100);
/// ```
pub fn fit(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len().min(4 * MESSAGE));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if c != '"' {
            continue;
        }
        // a quoted value, escapes included, up to its closing quote
        let mut j = i;
        while j < chars.len() && chars[j] != '"' {
            j += if chars[j] == '\\' { 2 } else { 1 };
        }
        let Some(end) = (j < chars.len()).then_some(j) else { continue };
        let value = &chars[i..end];
        if value.len() > QUOTED {
            out.extend(&value[..QUOTED - 30]);
            out.push('…');
            out.extend(&value[value.len() - 20..]);
            out.push_str(&format!("\" ({} characters)", value.len()));
        } else {
            out.extend(value);
            out.push('"');
        }
        i = end + 1;
    }
    let chars: Vec<char> = out.chars().collect();
    if chars.len() <= MESSAGE {
        return out;
    }
    let (head, tail) = (MESSAGE * 7 / 10, MESSAGE / 5);
    let cut = chars.len() - head - tail;
    format!(
        "{}… ({cut} characters cut) …{}",
        chars[..head].iter().collect::<String>(),
        chars[chars.len() - tail..].iter().collect::<String>()
    )
}

/// A short phrase of an observation for a table row: on one line, secrets masked, a
/// client's error shown by its kind and status alone (`Err(Timeout)`; its own message is
/// in the details), at most `width` characters, cut at a word.
///
/// ```
/// use oc_integrate::text::brief;
/// assert_eq!(brief("1 attempt(s); returned Err(Timeout: client error (SendRequest): x)", 80), "1 attempt(s); returned Err(Timeout)");
/// assert_eq!(brief("Err(Status (HTTP 500): oops)", 80), "Err(Status (HTTP 500))");
/// assert_eq!(brief("retried after 0.001 s, Retry-After said 1.000 s", 30), "retried after 0.001 s…");
/// ```
pub fn brief(text: &str, width: usize) -> String {
    let text = redact::redact(text).replace('\n', "; ").replace('|', "/");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("Err(") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        // the kind (and status) up to the colon before the client's message
        let Some(colon) = rest.find(": ").filter(|c| !rest[..*c].contains(')') || rest[..*c].ends_with(')')) else { continue };
        out.push_str(&rest[..colon]);
        let mut depth = 1;
        let close = rest[colon..].char_indices().find(|(_, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth == 0
        });
        rest = close.map_or("", |(j, _)| &rest[colon + j..]);
    }
    out.push_str(rest);
    shorten(&out, width)
}

/// `text` cut to at most `width` characters at a word, with `…` when cut.
pub fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let cut: String = text.chars().take(width.saturating_sub(1)).collect();
    let mut kept = match cut.rfind(' ').filter(|i| *i >= cut.len() / 2) {
        Some(at) => &cut[..at],
        None => cut.as_str(),
    };
    // a number whose unit was cut off says nothing: it goes with it
    if let Some((head, last)) = kept.rsplit_once(' ')
        && last.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        kept = head;
    }
    format!("{}…", kept.trim_end_matches([' ', ';', ':', ',', '(']))
}

/// How many names a hint in a message lists before it counts the rest.
pub const HINTS: usize = 8;

/// Names offered as a hint in a message (`expected an endpoint id (…)`): at most [`HINTS`],
/// then how many more, so a spec with hundreds of endpoints still gets a readable line.
///
/// ```
/// use oc_integrate::text::hints;
/// assert_eq!(hints(&["a", "b"]), "a, b");
/// assert_eq!(hints::<&str>(&[]), "none declared");
/// let ids: Vec<String> = (0..501).map(|i| format!("e{i}")).collect();
/// assert_eq!(hints(&ids), "e0, e1, e2, e3, e4, e5, e6, e7, … and 493 more");
/// ```
pub fn hints<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<&str> = items.iter().take(HINTS).map(AsRef::as_ref).collect();
    match items.len().saturating_sub(HINTS) {
        0 if shown.is_empty() => "none declared".to_string(),
        0 => shown.join(", "),
        more => format!("{}, … and {more} more", shown.join(", ")),
    }
}

/// A table cell: one line, pipes escaped, secrets masked.
pub fn cell(text: &str) -> String {
    redact::redact(text).replace('|', "\\|").replace('\n', "<br>")
}

/// `t` as RFC 3339 in UTC, to the second (`2026-04-03T10:00:00Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A span of seconds for people: `42s`, `17m`, `5h`, `13d`.
///
/// ```
/// assert_eq!(oc_integrate::text::span(1_209_598), "14d");
/// assert_eq!(oc_integrate::text::span(600), "10m");
/// ```
pub fn span(s: u64) -> String {
    let round = |unit: u64| s.saturating_add(unit / 2) / unit;
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", round(60)),
        7_200..172_800 => format!("{}h", round(3600)),
        _ => format!("{}d", round(86_400)),
    }
}

/// `text` safe to print on a terminal: control characters (an escape sequence a server put
/// in its answer) shown as `\u{…}`, newlines and tabs kept.
///
/// ```
/// assert_eq!(oc_integrate::text::printable("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\n");
/// ```
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { c.escape_unicode().to_string() } else { c.to_string() }).collect()
}

/// Seconds since 1970-01-01 UTC of an RFC 3339 date (`2026-04-03`) or date-time
/// (`2026-04-03T10:00:00Z`, `2026-04-03T12:00:00+02:00`, fractions allowed); `None` when
/// `text` is neither or names a day that does not exist.
///
/// ```
/// use oc_integrate::text::parse_rfc3339;
/// assert_eq!(parse_rfc3339("2026-04-03T10:00:00Z"), Some(1_775_210_400));
/// assert_eq!(parse_rfc3339("2026-04-03T12:00:00.5+02:00"), Some(1_775_210_400));
/// assert_eq!(parse_rfc3339("2026-04-03"), Some(1_775_174_400));
/// assert_eq!(parse_rfc3339("2026-02-30"), None);
/// assert_eq!(parse_rfc3339("last spring"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day < 1 || day > days_in[month as usize - 1] {
        return None;
    }
    // days since 1970-01-01 from the civil date (Howard Hinnant's algorithm)
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    if b.len() == 10 {
        return Some(days * 86_400);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, m, s) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let o = rest.as_bytes();
            if o.len() != 6 || o[3] != b':' {
                return None;
            }
            let (oh, om) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days * 86_400 + h * 3600 + m * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1_775_210_400)), "2026-04-03T10:00:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
