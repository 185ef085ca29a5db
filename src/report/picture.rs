//! The picture of a failing case's timeline, on the mock provider's clock: each attempt a
//! bar from its arrival to its answer or the client's hang-up, the wait before each retry
//! beside the least wait the client had to respect (Retry-After or the backoff), and where
//! each attempt's budget ran out. As a Mermaid gantt chart for markdown (GitHub draws it)
//! and as inline SVG for the HTML report; both drawn only from the case's [`Trace`].

use std::fmt::Write as _;
use std::time::Duration;

use crate::results::{Attempt, Trace};

/// One row of the picture.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// An attempt: its label, its bar, what the server did, whether the client hung up
    /// before the answer, and where its budget ran out.
    Attempt { label: String, from: Duration, to: Duration, reply: String, hung_up: bool, budget_at: Duration },
    /// The wait before a retry: the client's, and the least it had to be.
    Wait { from: Duration, to: Duration, least: Option<Duration>, rule: String },
}

/// `d` in seconds as the pictures write it: `0.105 s`.
fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The rows of `trace`: per call, each attempt, and the wait before each retry.
fn rows(trace: &Trace) -> Vec<Row> {
    let calls = trace.attempts.iter().map(|a| a.call + 1).max().unwrap_or(0);
    let many_calls = calls > 1;
    let mut rows = Vec::new();
    for call in 0..calls {
        let mut previous: Option<&Attempt> = None;
        let mut n = 0;
        for a in trace.attempts.iter().filter(|a| a.call == call) {
            let prefix = if many_calls { format!("call {} · ", call + 1) } else { String::new() };
            if a.token {
                rows.push(attempt_row(format!("{prefix}token request"), a, trace.budget));
                continue;
            }
            if let Some(p) = previous {
                let least = trace.waits.get(n - 1).copied();
                rows.push(Row::Wait { from: p.end(), to: a.at.max(p.end()), least, rule: trace.wait_rule.clone() });
            }
            n += 1;
            rows.push(attempt_row(format!("{prefix}attempt {n}"), a, trace.budget));
            previous = Some(a);
        }
    }
    rows
}

fn attempt_row(label: String, a: &Attempt, budget: Duration) -> Row {
    Row::Attempt { label, from: a.at, to: a.end(), reply: a.reply.clone(), hung_up: a.hung_up_early(), budget_at: a.at + budget }
}

/// The last moment the picture must show.
fn span(rows: &[Row]) -> Duration {
    let ends = rows.iter().map(|r| match r {
        Row::Attempt { to, budget_at, .. } => (*to).max(*budget_at),
        Row::Wait { from, to, least, .. } => (*to).max(*from + least.unwrap_or_default()),
    });
    ends.max().unwrap_or_default().max(Duration::from_millis(1))
}

/// The wait row's words: `wait 0.002 s (needs ≥ 0.100 s, backoff)`.
fn wait_words(from: Duration, to: Duration, least: Option<Duration>, rule: &str) -> String {
    match least {
        Some(l) => format!("wait {} (needs ≥ {}, {rule})", secs(to - from), secs(l)),
        None => format!("wait {}", secs(to - from)),
    }
}

/// A task name Mermaid takes: no `:`, `;` or `#`, which end or comment out a task.
fn mermaid_name(text: &str) -> String {
    text.replace(':', " =").replace(';', ",").replace('#', "no.").replace('\n', " ")
}

/// The timeline as a Mermaid gantt chart (time in milliseconds on the server's clock), or
/// `None` when no request reached the server.
pub fn mermaid(trace: &Trace, title: &str) -> Option<String> {
    let rows = rows(trace);
    if rows.is_empty() {
        return None;
    }
    let ms = |d: Duration| d.as_millis();
    let axis = if span(&rows) >= Duration::from_secs(60) { "%M:%S" } else { "%S.%L s" };
    let mut m = format!("gantt\n    title {}\n    dateFormat x\n    axisFormat {axis}\n    todayMarker off\n", mermaid_name(title));
    for row in &rows {
        match row {
            Row::Attempt { label, from, to, reply, hung_up, budget_at } => {
                let (tag, what) = if *hung_up { ("crit, ", format!("{reply}, client hung up")) } else { ("", reply.clone()) };
                // a bar at least a millisecond long, or Mermaid draws nothing
                let end = ms(*to).max(ms(*from) + 1);
                let _ = writeln!(m, "    section {}", mermaid_name(label));
                let _ = writeln!(m, "    {} :{tag}{}, {end}", mermaid_name(&what), ms(*from));
                let _ = writeln!(m, "    budget {} ends :milestone, {}, 0d", secs(trace.budget), ms(*budget_at));
            }
            Row::Wait { from, to, least, rule } => {
                let _ = writeln!(m, "    section wait");
                if let Some(l) = least {
                    let _ = writeln!(
                        m,
                        "    needs ≥ {} ({}) :active, {}, {}",
                        secs(*l),
                        mermaid_name(rule),
                        ms(*from),
                        ms(*from + *l).max(ms(*from) + 1)
                    );
                }
                let short = least.is_some_and(|l| to.saturating_sub(*from) < l);
                let tag = if short { "crit, " } else { "done, " };
                let _ = writeln!(m, "    waited {} :{tag}{}, {}", secs(*to - *from), ms(*from), ms(*to).max(ms(*from) + 1));
            }
        }
    }
    Some(m)
}

/// `text` escaped for XML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A tick step of about a sixth of `span`: 1, 2 or 5 times a power of ten, in seconds.
fn tick(span: Duration) -> f64 {
    let rough = span.as_secs_f64() / 6.0;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= rough).unwrap_or(power * 10.0)
}

const LABEL_W: f64 = 150.0;
const PLOT_W: f64 = 600.0;
const ROW_H: f64 = 24.0;
const TOP: f64 = 26.0;

/// The timeline as an inline SVG (no script, no external reference), or `None` when no
/// request reached the server. `title` is its accessible name.
pub fn svg(trace: &Trace, title: &str) -> Option<String> {
    let rows = rows(trace);
    if rows.is_empty() {
        return None;
    }
    let span = span(&rows).mul_f64(1.05);
    let x = |d: Duration| LABEL_W + d.as_secs_f64() / span.as_secs_f64() * PLOT_W;
    let height = TOP + ROW_H * rows.len() as f64 + 30.0;
    let width = LABEL_W + PLOT_W + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">\n",
        escape(title)
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    // the axis: a tick per step, labelled in seconds
    let step = tick(span);
    let bottom = TOP + ROW_H * rows.len() as f64;
    let mut t = 0.0;
    while t <= span.as_secs_f64() + 1e-9 {
        let px = x(Duration::from_secs_f64(t));
        let _ = writeln!(s, "<line class=\"grid\" x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{bottom:.1}\" stroke=\"#e3e3e3\"/>");
        let _ = writeln!(
            s,
            "<text x=\"{px:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">{}s</text>",
            bottom + 14.0,
            trim(t)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        "<text x=\"{LABEL_W}\" y=\"14\" font-size=\"11\" fill=\"#333\">server clock · bars: attempts · amber: least wait · dashed: budget {}</text>",
        escape(&secs(trace.budget))
    );
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let mid = y + ROW_H / 2.0;
        match row {
            Row::Attempt { label, from, to, reply, hung_up, budget_at } => {
                let (x0, x1) = (x(*from), x(*to).max(x(*from) + 2.0));
                let fill = if *hung_up { "#c9483f" } else { "#3b6fb6" };
                let what = if *hung_up { format!("{reply}; client hung up") } else { reply.clone() };
                let _ = writeln!(s, "<text x=\"4\" y=\"{:.1}\" font-size=\"11\" fill=\"#222\">{}</text>", mid + 4.0, escape(label));
                let _ = writeln!(
                    s,
                    "<rect class=\"attempt\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
                    y + 5.0,
                    x1 - x0,
                    ROW_H - 10.0,
                    escape(&format!("{label}: {} → {}, {what}", secs(*from), secs(*to)))
                );
                let bx = x(*budget_at);
                let _ = writeln!(
                    s,
                    "<line class=\"budget\" x1=\"{bx:.1}\" y1=\"{:.1}\" x2=\"{bx:.1}\" y2=\"{:.1}\" stroke=\"#7a1f1f\" stroke-dasharray=\"3,2\"/>",
                    y + 2.0,
                    y + ROW_H - 2.0
                );
                // beside the bar when it fits there, else on the bar itself
                let (tx, colour) =
                    if x1 + 6.0 + 5.5 * what.chars().count() as f64 > LABEL_W + PLOT_W { (x0 + 4.0, "#fff") } else { (x1 + 4.0, "#333") };
                let _ =
                    writeln!(s, "<text x=\"{tx:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{colour}\">{}</text>", mid + 3.5, escape(&what));
            }
            Row::Wait { from, to, least, rule } => {
                let _ = writeln!(s, "<text x=\"4\" y=\"{:.1}\" font-size=\"11\" fill=\"#555\">wait</text>", mid + 4.0);
                if let Some(l) = least {
                    let (x0, x1) = (x(*from), x(*from + *l));
                    let _ = writeln!(
                        s,
                        "<rect class=\"least\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f2c14e\" fill-opacity=\"0.55\"/>",
                        y + 4.0,
                        (x1 - x0).max(1.0),
                        ROW_H - 8.0
                    );
                }
                let short = least.is_some_and(|l| to.saturating_sub(*from) < l);
                let colour = if short { "#c9483f" } else { "#222" };
                let (x0, x1) = (x(*from), x(*to).max(x(*from) + 1.0));
                let _ = writeln!(
                    s,
                    "<line class=\"wait\" x1=\"{x0:.1}\" y1=\"{mid:.1}\" x2=\"{x1:.1}\" y2=\"{mid:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>"
                );
                let words = wait_words(*from, *to, *least, rule);
                let right = x0.max(x(*from + least.unwrap_or_default())).max(x1);
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{colour}\">{}</text>",
                    (right + 4.0).min(LABEL_W + PLOT_W - 160.0),
                    mid + 3.5,
                    escape(&words)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    Some(s)
}

/// Seconds without trailing zeros: `0.5`, `1`, `0.02`.
fn trim(t: f64) -> String {
    let s = format!("{t:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Three attempts of one call: 500, 500 after 2 ms (a backoff of 100 ms was due), then a
    /// stall the client hung up on at its 1 s budget.
    fn trace() -> Trace {
        let attempt = |at, answered, hung_up, reply: &str| Attempt { call: 0, token: false, at, answered, hung_up, reply: reply.into() };
        Trace {
            attempts: vec![
                attempt(ms(10), None, None, "500"),
                attempt(ms(12), None, None, "500"),
                attempt(ms(220), None, Some(ms(1220)), "200 head + 3 body bytes, body stalled 5.000s"),
            ],
            waits: vec![ms(100), ms(200)],
            wait_rule: "backoff".into(),
            budget: ms(1000),
            returned: vec!["Err(Timeout)".into()],
            text: String::new(),
        }
    }

    #[test]
    fn rows_pair_each_retry_with_the_least_wait_it_had_to_respect() {
        let rows = rows(&trace());
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[1], Row::Wait { from: ms(10), to: ms(12), least: Some(ms(100)), rule: "backoff".into() });
        assert_eq!(rows[3], Row::Wait { from: ms(12), to: ms(220), least: Some(ms(200)), rule: "backoff".into() });
        let Row::Attempt { to, hung_up, budget_at, .. } = &rows[4] else { panic!("{rows:?}") };
        assert_eq!((*to, *hung_up, *budget_at), (ms(1220), true, ms(1220)));
    }

    #[test]
    fn mermaid_marks_short_waits_and_hang_ups_critical() {
        let m = mermaid(&trace(), "payments: get_customer · retries").unwrap();
        assert!(m.starts_with("gantt\n    title payments = get_customer · retries\n    dateFormat x\n"), "{m}");
        assert!(m.contains("    needs ≥ 0.100 s (backoff) :active, 10, 110\n    waited 0.002 s :crit, 10, 12\n"), "{m}");
        assert!(m.contains("    waited 0.208 s :done, 12, 220\n"), "{m}");
        assert!(m.contains("    200 head + 3 body bytes, body stalled 5.000s, client hung up :crit, 220, 1220\n"), "{m}");
        assert!(m.contains("    budget 1.000 s ends :milestone, 1220, 0d\n"), "{m}");
        assert_eq!(mermaid(&Trace::default(), "none"), None);
    }

    #[test]
    fn svg_is_self_contained_and_escaped() {
        let s = svg(&trace(), "a <b> & \"c\"").unwrap();
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{s}");
        assert!(s.contains("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"), "{s}");
        assert_eq!(s.matches("class=\"attempt\"").count(), 3);
        assert_eq!(s.matches("class=\"least\"").count(), 2);
        assert_eq!(s.matches("class=\"budget\"").count(), 3);
        assert!(s.contains("wait 0.002 s (needs ≥ 0.100 s, backoff)"), "{s}");
        assert!(!s.contains("href") && !s.contains("<script"), "{s}");
        assert_eq!(tick(ms(1300)), 0.5);
    }
}
