//! Everything mongrate writes to the terminal goes through here: standard output and error,
//! progress, questions. Three promises are kept in this one place:
//!
//! - a closed pipe never panics: a closed stdout ends a read-only run quietly with exit 0 (as
//!   `| head` expects); during a change (apply, migrate, backfill, ...) the run goes on to a
//!   consistent end with its output dropped; a closed stderr is ignored;
//! - no secret is printed: every line is scrubbed of the secrets of every connection string
//!   mongrate was given (see `crate::redact`);
//! - progress is a bar on a terminal, plain lines in a log (a line per finished step, and at
//!   least every 10 s for long work), nothing with `--quiet`; never both, never ANSI in a pipe.

use crate::progress::{Reporter, Unit};
pub use crate::progress::{human_duration, thousands};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static CRITICAL: AtomicUsize = AtomicUsize::new(0);
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Add secrets that must never be printed.
pub fn add_secrets(more: Vec<String>) {
    if let Ok(mut s) = SECRETS.lock() {
        s.extend(more);
        s.sort_by_key(|x| std::cmp::Reverse(x.len()));
        s.dedup();
    }
}

/// `text` without any registered secret.
pub fn scrub(text: &str) -> String {
    match SECRETS.lock() {
        Ok(s) if !s.is_empty() => crate::redact::scrub(text, &s),
        _ => text.to_string(),
    }
}

/// Held while a run changes the server: a closed stdout then does not end the process.
pub struct Critical(());

impl Critical {
    pub fn enter() -> Self {
        CRITICAL.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        CRITICAL.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Write to standard output (scrubbed).
pub fn stdout(text: &str) {
    if STDOUT_CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let text = scrub(text);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        STDOUT_CLOSED.store(true, Ordering::SeqCst);
        let in_change = CRITICAL.load(Ordering::SeqCst) > 0;
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            stderr(&format!(
                "error: cannot write the output: {}\n",
                crate::spec::io_reason(&e)
            ));
            if !in_change {
                std::process::exit(crate::views::exit::ERROR);
            }
        } else if !in_change {
            // The reader has what it wanted (`| head`): stop quietly.
            std::process::exit(crate::views::exit::OK);
        }
    }
}

/// Write to standard error (scrubbed); a closed stderr is ignored.
pub fn stderr(text: &str) {
    if STDERR_CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let text = scrub(text);
    let mut err = std::io::stderr().lock();
    if err
        .write_all(text.as_bytes())
        .and_then(|_| err.flush())
        .is_err()
    {
        STDERR_CLOSED.store(true, Ordering::SeqCst);
    }
}

/// `println!` through [`stdout`].
macro_rules! outln {
    () => { $crate::commands::out::stdout("\n") };
    ($($t:tt)*) => { $crate::commands::out::stdout(&format!("{}\n", format_args!($($t)*))) };
}
/// `eprintln!` through [`stderr`].
macro_rules! errln {
    () => { $crate::commands::out::stderr("\n") };
    ($($t:tt)*) => { $crate::commands::out::stderr(&format!("{}\n", format_args!($($t)*))) };
}
pub(crate) use {errln, outln};

/// Ask `question` on the terminal; `Ok(false)` unless the answer is yes. Without a terminal on
/// stdin, fail with `refusal` (which should name the flag that skips the question).
pub fn confirm(question: &str, refusal: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(crate::app::Refused(refusal.to_string()).into());
    }
    stderr(&format!("{question} [y/N] "));
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Whole units per second and the ETA, from this run's own work only.
fn rate_and_eta(
    done: u64,
    start_done: u64,
    total: u64,
    since: Duration,
) -> (u64, Option<Duration>) {
    let own = done.saturating_sub(start_done) as f64;
    let secs = since.as_secs_f64();
    if own <= 0.0 || secs <= 0.0 {
        return (0, None);
    }
    let rate = own / secs;
    let left = total.saturating_sub(done) as f64;
    (
        rate.round() as u64,
        Some(Duration::from_secs_f64(left / rate)),
    )
}

enum Mode {
    Bar,
    Lines,
    Quiet,
}

/// The command layer's [`Reporter`]: a bar on a terminal, lines in a log.
pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    label: String,
    unit: Unit,
    total: u64,
    start_done: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
    step: u64,
    step_started: Instant,
    /// How often long work logs a line when not on a terminal.
    line_every: Duration,
}

/// How often a long piece of work logs a line when not on a terminal (10 s; the tests shorten
/// it with `MONGRATE_PROGRESS_SECONDS`).
pub fn line_every() -> Duration {
    std::env::var("MONGRATE_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 10.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(10))
}

impl Progress {
    /// Bars on a terminal, lines otherwise, nothing with `quiet`.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        Self {
            mode,
            bar: None,
            label: String::new(),
            unit: Unit::Steps,
            total: 0,
            start_done: 0,
            done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            step: 0,
            step_started: Instant::now(),
            line_every: line_every(),
        }
    }

    fn line(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.suspend(|| stderr(&format!("{text}\n")));
        } else {
            stderr(&format!("{text}\n"));
        }
    }

    fn document_line(&self) -> String {
        let (rate, eta) = rate_and_eta(
            self.done,
            self.start_done,
            self.total,
            self.started.elapsed(),
        );
        let pct = (self.done.min(self.total) * 100)
            .checked_div(self.total)
            .map(|p| format!(" ({p}%)"))
            .unwrap_or_default();
        format!(
            "  {}: {}/{} documents{pct}, {}/s, ETA {}",
            self.label,
            thousands(self.done),
            thousands(self.total.max(self.done)),
            thousands(rate),
            eta.map(human_duration).unwrap_or_else(|| "-".into())
        )
    }
}

impl Reporter for Progress {
    fn note(&mut self, message: &str) {
        if !matches!(self.mode, Mode::Quiet) {
            self.line(&format!("note: {message}"));
        }
    }

    fn begin(&mut self, label: &str, unit: Unit, total: u64, done: u64) {
        self.label = label.to_string();
        self.unit = unit;
        self.total = total;
        self.start_done = done;
        self.done = done;
        self.started = Instant::now();
        self.last_line = Instant::now();
        self.step = done;
        crate::progress::set_activity(Some(label.to_string()));
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => self.line(&first_line(label, unit, total, done)),
            Mode::Bar => self.bar = Some(bar(label, unit, total, done)),
        }
    }

    fn working_on(&mut self, what: &str) {
        self.step_started = Instant::now();
        crate::progress::set_activity(Some(format!(
            "{}: step {} of {}: {what}",
            self.label,
            self.step + 1,
            self.total
        )));
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
        }
    }

    fn advance(&mut self, done: u64) {
        self.done = done;
        if let Some(bar) = &self.bar {
            if done > bar.length().unwrap_or(0) {
                bar.set_length(done);
            }
            bar.set_position(done);
        }
        if matches!(self.mode, Mode::Lines)
            && self.unit == Unit::Documents
            && self.last_line.elapsed() >= self.line_every
        {
            self.last_line = Instant::now();
            self.line(&self.document_line());
        }
    }

    fn step_progress(&mut self, what: &str, percent: u64, detail: &str) {
        let text = if detail.is_empty() {
            format!("{what}: {percent}%")
        } else {
            format!("{what}: {percent}% ({detail})")
        };
        crate::progress::set_activity(Some(text.clone()));
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        } else if matches!(self.mode, Mode::Lines) && self.last_line.elapsed() >= self.line_every {
            self.last_line = Instant::now();
            self.line(&format!(
                "  {text}, {}",
                human_duration(self.step_started.elapsed())
            ));
        }
    }

    fn step_done(&mut self, what: &str, elapsed: Duration) {
        self.step += 1;
        self.done = self.step;
        if let Some(bar) = &self.bar {
            bar.set_position(self.step);
        }
        if matches!(self.mode, Mode::Lines) {
            self.last_line = Instant::now();
            self.line(&format!(
                "  [{}/{}] {what} ({})",
                self.step,
                self.total,
                human_duration(elapsed)
            ));
        }
    }

    fn end(&mut self, summary: &str, elapsed: Duration) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        crate::progress::set_activity(None);
        if !matches!(self.mode, Mode::Quiet) && !summary.is_empty() {
            self.line(&format!("  {summary} ({})", human_duration(elapsed)));
        }
    }
}

/// The line that opens a piece of work in plain-lines mode: what it counts, where it resumes.
fn first_line(label: &str, unit: Unit, total: u64, done: u64) -> String {
    let what = match unit {
        Unit::Steps => crate::progress::count(total, "step"),
        Unit::Databases => crate::progress::count(total, "database"),
        Unit::Documents => format!("about {}", crate::progress::count(total, "document")),
    };
    let resume = match unit {
        _ if done == 0 => String::new(),
        Unit::Steps | Unit::Databases => format!(", resuming at step {}", done + 1),
        Unit::Documents => format!(", resuming after {}", thousands(done)),
    };
    format!("{label}: {what}{resume}")
}

/// A progress bar on stderr, with its own rate and ETA (counted from where this run started).
fn bar(label: &str, unit: Unit, total: u64, done: u64) -> ProgressBar {
    let bar = ProgressBar::new(total.max(done));
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.set_position(done);
    let (start, start_done) = (Instant::now(), done);
    let template = match unit {
        Unit::Steps | Unit::Databases => "{prefix} {bar:30} {pos}/{len} {msg}",
        Unit::Documents => "{prefix} {bar:30} {pos}/{len} {rate} ETA {eta_own}",
    };
    let rate = move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let (rate, _) = rate_and_eta(s.pos(), start_done, s.len().unwrap_or(0), start.elapsed());
        let _ = write!(w, "{}/s", thousands(rate));
    };
    let eta = move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let (_, eta) = rate_and_eta(s.pos(), start_done, s.len().unwrap_or(0), start.elapsed());
        let _ = write!(
            w,
            "{}",
            eta.map(human_duration).unwrap_or_else(|| "-".into())
        );
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", rate)
        .with_key("eta_own", eta);
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_secs(245)), "4m05s");
    }

    #[test]
    fn a_resumed_run_counts_only_its_own_work() {
        // 361,000 of 400,000 were done before; this run did 1,000 in 1 s.
        let (rate, eta) = rate_and_eta(362_000, 361_000, 400_000, Duration::from_secs(1));
        assert_eq!(rate, 1000);
        assert_eq!(eta.map(|d| d.as_secs()), Some(38));
    }
}
