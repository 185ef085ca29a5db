//! What every verb prints with: `say!` (stdout that tolerates a closed pipe), colours that
//! follow `--color` and `NO_COLOR`, aligned tables, `--json` output and error exits.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::Value;

/// `println!` that ignores a closed stdout (`oc-integrate list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// When to colour the output.
#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Terminal styling, applied only when color is on.
pub struct Paint(bool);

impl Paint {
    /// Colour on or off, as `choice` and the terminal say.
    pub fn new(choice: Color) -> Paint {
        Paint(match choice {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        })
    }

    /// `text` padded to `width`, then colored by what it says (PASS green, FAIL red, …).
    pub fn verdict(&self, text: &str, width: usize) -> String {
        let padded = format!("{text:<width$}");
        let code = match text {
            "PASS" | "tested" | "connected" | "healthy" | "ok" => "32",
            "degraded" | "note" => "33",
            "FAIL" | "failing" | "down" | "finding" => "31",
            "escalated" | "broken" => "1;31",
            _ => return padded,
        };
        if self.0 { format!("\x1b[{code}m{padded}\x1b[0m") } else { padded }
    }

    /// `text` in bold.
    pub fn bold(&self, text: &str) -> String {
        if self.0 { format!("\x1b[1m{text}\x1b[0m") } else { text.to_string() }
    }
}

/// Print `rows` as aligned columns under `head`; columns named in `colored` go through
/// [`Paint::verdict`].
pub fn table(paint: &Paint, head: &[&str], rows: &[Vec<String>], colored: &[usize]) {
    let widths: Vec<usize> =
        (0..head.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([head[i].len()]).max().unwrap_or(0)).collect();
    let line: Vec<String> = head.iter().zip(&widths).map(|(h, w)| format!("{h:<w$}")).collect();
    say!("{}", paint.bold(line.join("  ").trim_end()));
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| if colored.contains(&i) { paint.verdict(c, widths[i]) } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        say!("{}", cells.join("  ").trim_end());
    }
}

/// Print `value` as pretty JSON (`--json`).
pub fn json(value: &impl serde::Serialize) -> ExitCode {
    say!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    ExitCode::SUCCESS
}

/// The project's name for a title: `given`, else the current directory's name.
pub fn project_name(given: Option<&str>) -> String {
    given.map(str::to_string).unwrap_or_else(|| {
        std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "project".into())
    })
}

/// Print `e` as an error (long values cut, control characters shown); exit 2 (the command could not do its job).
pub fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", oc_integrate::text::printable(&oc_integrate::text::fit(&e.to_string())));
    ExitCode::from(2)
}

/// A JSON value as a table cell: `-` for null, strings without quotes.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
