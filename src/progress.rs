//! Progress on long work (a whole document's operations planned, the sandbox and drift trials
//! run, the integrations `health` checks): `what done/total [####----]` on the terminal's last line, held there by a scroll
//! region, so other output (libtest's lines on stdout, say) scrolls above it untouched.
//!
//! Drawn on stderr only when [`shown`] says so (stderr a terminal, `CI` unset, `TERM` set
//! and not `dumb`), and only once the work has run [`DEFAULT_AFTER`] (or `OC_PROGRESS_AFTER_MS`):
//! never into a pipe, a file or JSON. The line has no colour, so `NO_COLOR` leaves it as it is.
//! Ending it (or an interrupt while it is up) gives the terminal its whole screen back.

use std::ffi::OsString;
use std::io::{IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long work runs before its progress is drawn, unless [`AFTER_ENV`] says otherwise.
pub const DEFAULT_AFTER: Duration = Duration::from_secs(1);

/// Milliseconds of work before its progress is drawn (`0`: at once); a value that is not a
/// number of milliseconds is [`DEFAULT_AFTER`].
pub const AFTER_ENV: &str = "OC_PROGRESS_AFTER_MS";

/// How often the line is redrawn at most, but for the last step.
const REDRAW: Duration = Duration::from_millis(50);

/// Cells of the bar between its brackets.
const BAR: usize = 20;

/// Whether progress is drawn on a stream, given whether it is a `terminal` and the
/// environment (`var`): a terminal, not in CI (`CI` unset or empty), and a `TERM` that can
/// move the cursor (set, not `dumb`).
///
/// ```
/// use oc_integrate::progress::shown;
/// let env = |vars: &'static [(&'static str, &'static str)]| move |n: &str| vars.iter().find(|v| v.0 == n).map(|v| v.1.into());
/// assert!(shown(true, env(&[("TERM", "xterm-256color")])));
/// assert!(!shown(false, env(&[("TERM", "xterm-256color")])));
/// assert!(!shown(true, env(&[("TERM", "xterm"), ("CI", "true")])));
/// assert!(!shown(true, env(&[("TERM", "dumb")])));
/// ```
pub fn shown(terminal: bool, var: impl Fn(&str) -> Option<OsString>) -> bool {
    let ci = var("CI").is_some_and(|v| !v.is_empty());
    let term = var("TERM").is_some_and(|t| !t.is_empty() && t != "dumb");
    terminal && !ci && term
}

/// How long work runs before its progress is drawn: [`AFTER_ENV`] in milliseconds, else
/// [`DEFAULT_AFTER`].
pub fn after(var: impl Fn(&str) -> Option<OsString>) -> Duration {
    var(AFTER_ENV).and_then(|v| v.to_str()?.trim().parse().ok()).map(Duration::from_millis).unwrap_or(DEFAULT_AFTER)
}

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size {
    rows: u16,
    cols: u16,
}

/// Whether a footer is up in this process: one at a time.
static UP: AtomicBool = AtomicBool::new(false);

/// The process's one footer, given up when dropped.
struct Up;

impl Up {
    fn take() -> Option<Up> {
        (!UP.swap(true, Ordering::SeqCst)).then_some(Up)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        UP.store(false, Ordering::SeqCst);
    }
}

/// Progress of one piece of work, shared by its clones (the trials that step it, the verb
/// that ends it). `Progress::default()` never draws; [`Progress::on_stderr`] draws once
/// [`Progress::start`]ed, when [`shown`] allows.
#[derive(Clone, Default)]
pub struct Progress {
    allowed: bool,
    footer: Arc<Mutex<Option<Drawn>>>,
}

/// The footer on stderr, and the process's one place for it.
type Drawn = (Footer<std::io::Stderr>, Up);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("allowed", &self.allowed).finish_non_exhaustive()
    }
}

impl Progress {
    /// Progress that may be drawn on stderr.
    pub fn on_stderr() -> Progress {
        Progress { allowed: true, ..Progress::default() }
    }

    /// Begin `total` steps of `what` (`"planning: operations"`): on stderr when allowed,
    /// when [`shown`] and the terminal's size say so, and no other progress is up.
    pub fn start(&self, what: &str, total: usize) {
        let var = |n: &str| std::env::var_os(n);
        if !self.allowed || total == 0 || !shown(std::io::stderr().is_terminal(), var) {
            return;
        }
        let (Some(size), Some(up)) = (size(), Up::take()) else { return };
        *self.lock() = Some((Footer::start(std::io::stderr(), size, what, total, after(var)), up));
    }

    /// One more step done.
    pub fn step(&self) {
        if let Some((f, _)) = self.lock().as_mut() {
            f.step(size());
        }
    }

    /// The work is over: the line goes, the terminal has its whole screen again (as when the
    /// last clone is dropped).
    pub fn finish(&self) {
        self.lock().take();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Drawn>> {
        self.footer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The progress line on the last row of a terminal written through `out`.
struct Footer<W: Write> {
    out: W,
    size: Size,
    what: String,
    total: usize,
    done: usize,
    started: Instant,
    after: Duration,
    drawn: Option<Instant>,
    /// The interrupt and termination signals that reset the terminal before they end the process.
    caught: bool,
}

impl<W: Write> Footer<W> {
    /// Keep the last row of a `size` terminal for the line (scroll one line first, so the
    /// cursor's line stays inside the region), drawn once the work has run `after`.
    fn start(mut out: W, size: Size, what: &str, total: usize, after: Duration) -> Footer<W> {
        let _ = write!(out, "\n\x1b7\x1b[1;{}r\x1b8\x1b[1A", size.rows.saturating_sub(1));
        let _ = out.flush();
        let caught = catch_signals();
        Footer { out, size, what: what.to_string(), total, done: 0, started: Instant::now(), after, drawn: None, caught }
    }

    /// One more step done; redrawn on the terminal's current size (`now`, when known).
    fn step(&mut self, now: Option<Size>) {
        self.done = (self.done + 1).min(self.total);
        let due = self.started.elapsed() >= self.after && (self.done == self.total || self.drawn.is_none_or(|at| at.elapsed() >= REDRAW));
        if !due {
            return;
        }
        let mut bytes = String::new();
        if let Some(now) = now.filter(|n| *n != self.size) {
            // resized: the region follows the new last row
            bytes.push_str(&format!("\x1b7\x1b[{};1H\x1b[2K\x1b[1;{}r\x1b8", self.size.rows, now.rows.saturating_sub(1)));
            self.size = now;
        }
        bytes.push_str(&format!("\x1b7\x1b[{};1H\x1b[2K{}\x1b8", self.size.rows, self.line()));
        // one write, so no other writer's bytes land between the cursor's save and restore
        let _ = self.out.write_all(bytes.as_bytes());
        let _ = self.out.flush();
        self.drawn = Some(Instant::now());
    }

    /// `what done/total [####----]`, cut to the terminal's width.
    fn line(&self) -> String {
        let filled = BAR * self.done / self.total.max(1);
        let line = format!("{} {}/{} [{}{}]", self.what, self.done, self.total, "#".repeat(filled), "-".repeat(BAR - filled));
        line.chars().take(usize::from(self.size.cols).saturating_sub(1)).collect()
    }
}

impl<W: Write> Drop for Footer<W> {
    fn drop(&mut self) {
        let _ = write!(self.out, "\x1b7\x1b[r\x1b[{};1H\x1b[2K\x1b8", self.size.rows);
        let _ = self.out.flush();
        if self.caught {
            release_signals();
        }
    }
}

/// What an interrupt writes before the process ends: the whole screen back (the scroll
/// region reset), and the line cleared.
const RESET: &[u8] = b"\x1b7\x1b[r\x1b8\x1b[J";

#[cfg(unix)]
const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

#[cfg(unix)]
extern "C" fn reset_and_end(signal: libc::c_int) {
    // SAFETY: write, signal and raise are async-signal-safe; RESET is static
    unsafe {
        libc::write(libc::STDERR_FILENO, RESET.as_ptr().cast(), RESET.len());
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Reset the terminal on SIGINT and SIGTERM, where nothing else handles them; whether it does.
#[cfg(unix)]
fn catch_signals() -> bool {
    let handler = reset_and_end as extern "C" fn(libc::c_int) as libc::sighandler_t;
    SIGNALS.iter().fold(false, |caught, &signal| {
        // SAFETY: the handler only makes async-signal-safe calls; a handler found in place is put back
        let before = unsafe { libc::signal(signal, handler) };
        if before != libc::SIG_DFL {
            unsafe { libc::signal(signal, before) };
            return caught;
        }
        true
    })
}

/// The default action again for the signals [`catch_signals`] took.
#[cfg(unix)]
fn release_signals() {
    let handler = reset_and_end as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in SIGNALS {
        // SAFETY: only our own handler is replaced, by the default action
        unsafe {
            let before = libc::signal(signal, libc::SIG_DFL);
            if before != handler {
                libc::signal(signal, before);
            }
        }
    }
}

/// stderr's terminal size, when it has one big enough for a line below the output.
#[cfg(unix)]
fn size() -> Option<Size> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ fills the winsize it is given
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_row >= 2 && ws.ws_col >= 20).then_some(Size { rows: ws.ws_row, cols: ws.ws_col })
}

#[cfg(not(unix))]
fn catch_signals() -> bool {
    false
}

#[cfg(not(unix))]
fn release_signals() {}

#[cfg(not(unix))]
fn size() -> Option<Size> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: Size = Size { rows: 24, cols: 40 };

    fn footer(out: &mut Vec<u8>, total: usize, after: Duration) -> Footer<&mut Vec<u8>> {
        Footer { out, size: SIZE, what: "planning".into(), total, done: 0, started: Instant::now(), after, drawn: None, caught: false }
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }

    #[test]
    fn the_last_row_is_kept_for_the_line_and_given_back_at_the_end() {
        let mut out = Vec::new();
        let mut f = Footer::start(&mut out, SIZE, "planning", 4, Duration::ZERO);
        f.step(Some(SIZE));
        drop(f);
        assert_eq!(
            text(&out),
            "\n\x1b7\x1b[1;23r\x1b8\x1b[1A\x1b7\x1b[24;1H\x1b[2Kplanning 1/4 [#####---------------]\x1b8\x1b7\x1b[r\x1b[24;1H\x1b[2K\x1b8"
        );
    }

    #[test]
    fn the_line_is_cut_to_the_width() {
        let mut out = Vec::new();
        let mut f = footer(&mut out, 4, Duration::ZERO);
        f.what = "a label far too long for forty columns".into();
        assert_eq!(f.line(), "a label far too long for forty columns ");
    }

    #[test]
    fn nothing_is_drawn_before_the_threshold() {
        let mut out = Vec::new();
        let mut f = footer(&mut out, 3, Duration::from_secs(3600));
        (0..3).for_each(|_| f.step(Some(SIZE)));
        drop(f);
        assert!(!text(&out).contains("planning"), "{:?}", text(&out));
    }

    #[test]
    fn the_last_step_is_always_drawn_and_a_resize_moves_the_region() {
        let mut out = Vec::new();
        let mut f = footer(&mut out, 2, Duration::ZERO);
        f.step(Some(SIZE));
        f.out.clear();
        f.step(Some(Size { rows: 30, cols: 80 }));
        let t = text(f.out);
        assert!(t.starts_with("\x1b7\x1b[24;1H\x1b[2K\x1b[1;29r\x1b8"), "{t:?}");
        assert!(t.ends_with("\x1b[30;1H\x1b[2Kplanning 2/2 [####################]\x1b8"), "{t:?}");
    }

    #[test]
    fn the_threshold_comes_from_the_environment() {
        assert_eq!(after(|_| None), DEFAULT_AFTER);
        assert_eq!(after(|_| Some("0".into())), Duration::ZERO);
        assert_eq!(after(|_| Some("250".into())), Duration::from_millis(250));
        assert_eq!(after(|_| Some("soon".into())), DEFAULT_AFTER);
    }
}
