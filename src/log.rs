//! What the program tells the person running it, on stderr: messages, stage progress and the
//! end-of-run summary, as plain text (with progress bars when stderr is a terminal) or as one
//! JSON object per line (`--log-format json`) for schedulers and log collectors.
//!
//! Nothing here touches an output file, so logging never changes what a run writes.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A stage shows a progress bar only once it has run this long.
const BAR_AFTER: Duration = Duration::from_secs(1);

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Sentences for people; progress bars when stderr is a terminal.
    Text,
    /// One JSON object per line: `time`, `elapsed_s`, `level`, `event`, then the event's fields.
    Json,
}

/// The logger of one command.
#[derive(Debug, Clone)]
pub struct Log {
    format: LogFormat,
    quiet: bool,
    /// Where progress bars are drawn, if anywhere.
    bars: Option<fn() -> ProgressDrawTarget>,
    start: Instant,
}

impl Log {
    /// A logger writing to stderr; progress bars only for text on a terminal, never with `quiet`.
    pub fn new(format: LogFormat, quiet: bool) -> Log {
        let bars = format == LogFormat::Text && !quiet && std::io::stderr().is_terminal();
        Log::with_bars(format, quiet, bars.then_some(ProgressDrawTarget::stderr))
    }

    fn with_bars(format: LogFormat, quiet: bool, bars: Option<fn() -> ProgressDrawTarget>) -> Log {
        Log {
            format,
            quiet,
            bars,
            start: Instant::now(),
        }
    }

    /// A logger that says nothing but errors (a pipeline re-run inside `jsna verify`).
    pub fn silent() -> Log {
        Log::with_bars(LogFormat::Text, true, None)
    }

    /// A note for the person running the command; hidden by `--quiet`.
    pub fn info(&self, message: &str) {
        self.event("info", "message", message, Value::Null);
    }

    /// Something the user should look at that does not stop the run; hidden by `--quiet`.
    pub fn warn(&self, message: &str) {
        self.event("warn", "warning", message, Value::Null);
    }

    /// A failure or a finding that makes the command exit non-zero; shown even with `--quiet`.
    pub fn error(&self, message: &str) {
        self.event("error", "error", message, Value::Null);
    }

    /// The error that ends the command, with its exit code.
    pub fn fatal(&self, message: &str, exit_code: i32) {
        self.event("error", "error", message, json!({ "exit_code": exit_code }));
    }

    /// An event: `message` is its text line (and JSON `message`), `fields` a JSON object whose
    /// fields are added to the JSON line.
    pub fn event(&self, level: &str, event: &str, message: &str, fields: Value) {
        if self.quiet && level != "error" {
            return;
        }
        let line = match self.format {
            LogFormat::Text => match level {
                "warn" => format!("warning: {message}"),
                "error" if event == "error" => format!("error: {message}"),
                _ => message.to_string(),
            },
            LogFormat::Json => {
                // The common keys first, in this order, then the event's own.
                let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let mut head = vec![
                    ("time", json!(time)),
                    (
                        "elapsed_s",
                        json!(round3(self.start.elapsed().as_secs_f64())),
                    ),
                    ("level", json!(level)),
                    ("event", json!(event)),
                ];
                if !message.is_empty() {
                    head.push(("message", json!(message)));
                }
                let own = match &fields {
                    Value::Object(map) => map.iter().collect(),
                    _ => Vec::new(),
                };
                let pairs: Vec<String> = head
                    .iter()
                    .map(|(k, v)| (*k, v))
                    .chain(own.into_iter().map(|(k, v)| (k.as_str(), v)))
                    .map(|(k, v)| format!("{}:{v}", json!(k)))
                    .collect();
                format!("{{{}}}", pairs.join(","))
            }
        };
        // One write per line, so lines from parallel work never interleave.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// Starts a stage: says so, and shows a progress bar if the stage runs past [`BAR_AFTER`].
    pub fn stage(&self, name: &'static str, title: &str) -> Stage {
        let text = format!("jsna: {title}…");
        self.event("info", "stage_start", &text, json!({ "stage": name }));
        let progress = match self.bars {
            Some(target) => Progress::delayed(title, target),
            None => Progress::hidden(),
        };
        Stage {
            log: self.clone(),
            name,
            start: Instant::now(),
            progress,
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A running stage; [`Stage::finish`] reports its time and the peak memory so far.
pub struct Stage {
    log: Log,
    name: &'static str,
    start: Instant,
    progress: Progress,
}

impl Stage {
    /// The stage's progress bar, to hand to the work it measures.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Ends the stage: clears its bar and logs `stage_end` with seconds and peak memory (MiB).
    pub fn finish(self) -> (f64, Option<u64>) {
        self.progress.finish();
        let seconds = self.start.elapsed().as_secs_f64();
        let peak = crate::pipeline::peak_memory_mib();
        if self.log.format == LogFormat::Json {
            let fields = json!({
                "stage": self.name,
                "seconds": round3(seconds),
                "peak_memory_mib": peak,
            });
            self.log.event("info", "stage_end", "", fields);
        }
        (seconds, peak)
    }
}

/// A handle on a stage's progress bar; hidden ones cost nothing. Cloning shares the bar, so
/// parallel work can advance it.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    done: Arc<AtomicBool>,
}

impl Progress {
    /// Progress nobody sees.
    pub fn hidden() -> Progress {
        Progress {
            bar: None,
            done: Arc::new(AtomicBool::new(true)),
        }
    }

    /// A bar drawn on stderr only after [`BAR_AFTER`], so quick stages never flash one.
    fn delayed(title: &str, target: fn() -> ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(spinner_style());
        bar.set_prefix(title.to_string());
        let done = Arc::new(AtomicBool::new(false));
        let (shown, finished) = (bar.clone(), done.clone());
        std::thread::spawn(move || {
            let step = Duration::from_millis(50);
            let mut waited = Duration::ZERO;
            while waited < BAR_AFTER {
                if finished.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(step);
                waited += step;
            }
            if !finished.load(Ordering::Acquire) {
                shown.set_draw_target(target());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress {
            bar: Some(bar),
            done,
        }
    }

    /// The amount of work, in `unit`s (records, pages): turns a spinner into a bar.
    pub fn set_length(&self, length: u64, unit: &str) {
        if let Some(bar) = &self.bar {
            bar.set_length(length);
            bar.set_style(bar_style(unit));
        }
    }

    /// Adds `n` units to the amount of work.
    pub fn add_length(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(n);
        }
    }

    /// Marks `n` more units done.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        self.done.store(true, Ordering::Release);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style(unit: &str) -> ProgressStyle {
    let template = format!(
        "{{spinner}} {{prefix}} [{{bar:20}}] {{human_pos}}/{{human_len}} {unit} {{elapsed}}"
    );
    ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::sync::Mutex;

    /// What the test terminal was sent, per test (keyed by the bar's title).
    static DRAWN: Mutex<String> = Mutex::new(String::new());

    #[derive(Debug)]
    struct Recorder;

    impl TermLike for Recorder {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            DRAWN.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn recorder() -> ProgressDrawTarget {
        ProgressDrawTarget::term_like(Box::new(Recorder))
    }

    #[test]
    fn hidden_progress_accepts_work_and_finishes() {
        let p = Progress::hidden();
        p.set_length(10, "records");
        p.inc(3);
        p.finish();
        assert!(p.done.load(Ordering::Acquire));
    }

    #[test]
    fn only_a_stage_that_runs_past_a_second_draws_its_bar() {
        let log = Log::with_bars(LogFormat::Text, true, Some(recorder));
        let quick = log.stage("quick", "quick stage");
        quick.progress().set_length(10, "records");
        quick.progress().inc(10);
        quick.finish();
        let slow = log.stage("slow", "slow stage");
        slow.progress().set_length(4, "pages");
        slow.progress().inc(1);
        std::thread::sleep(BAR_AFTER + Duration::from_millis(400));
        slow.progress().inc(1);
        std::thread::sleep(Duration::from_millis(300));
        slow.finish();
        // The quick stage's bar thread has long since looked and given up.
        let drawn = DRAWN.lock().unwrap().clone();
        assert!(!drawn.contains("quick stage"), "{drawn}");
        assert!(drawn.contains("slow stage"), "{drawn}");
        assert!(drawn.contains("2/4 pages"), "{drawn}");
    }
}
