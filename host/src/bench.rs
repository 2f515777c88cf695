//! `rivet bench KIND NAME`: what running an installed plugin in-process buys
//! over running it isolated, measured on this machine.
//!
//! The plugin is loaded both ways; the in-process load and the isolated
//! start (spawn, handshake and first call) are timed, then one real call is
//! repeated for a few seconds in each mode: `synopsis()` for a command (pure:
//! no work, no output); for the other kinds, whose only method does the
//! work, creating the plugin from `config` (what each step of a build pays
//! before it runs: in-process, the checks of the already open file and the
//! plugin's `prepare`; isolated, a fresh process too). Calls are timed in
//! batches long enough for the clock not to matter; the table gives the
//! median and mean time per call and the isolated/in-process ratio.
//!
//! What the plugin tells the user while being measured is discarded: the
//! figures are those of the calls, not of a terminal.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rivet::{Loader, Mode, Source};
use rivet_interface::PluginKind;
use rivet_interface::framework::{CommandPlugin, Console};

use crate::plugins::{Command, Plugins, by_kind, describe};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The plugin's kind, as users write it (`builder`, `command`, ...).
    pub kind: String,
    /// The plugin's name.
    pub name: String,
    /// The configuration the plugin is created with (JSON); unused for
    /// commands.
    pub config: String,
    /// Seconds of calls in each mode.
    pub seconds: f64,
}

/// How many isolated starts are timed at most (each spawns a process).
const MAX_STARTS: usize = 20;
/// The shortest batch of calls timed at once.
const MIN_BATCH: Duration = Duration::from_millis(2);

/// A console that drops what plugins say while they are measured.
struct Quiet;

impl Console for Quiet {
    fn say(&self, _line: String) {}
    fn message(&self, _line: String) {}
    fn error(&self, _line: String) {}
    fn progress(&self, _done: u64, _total: u64) {}
    fn locate(&self, _kind: String, _name: String) -> Option<String> {
        None
    }
}

/// Times per call of one mode.
struct Stats {
    median: Duration,
    mean: Duration,
    calls: u64,
}

/// Runs the comparison and prints the table to `out`.
pub fn bench(
    plugins: &Plugins,
    options: &BenchOptions,
    out: &mut impl Write,
) -> Result<(), String> {
    let kind: PluginKind = options.kind.parse().map_err(|e| format!("{e}"))?;
    let name = options.name.as_str();
    if !(options.seconds > 0.0 && options.seconds.is_finite()) {
        return Err(format!(
            "--seconds must be positive, not {}",
            options.seconds
        ));
    }
    let config: serde_json::Value =
        serde_json::from_str(&options.config).map_err(|e| format!("--config is not JSON: {e}"))?;
    let budget = Duration::from_secs_f64(options.seconds);
    let method = if kind == PluginKind::Command {
        "synopsis()".to_owned()
    } else {
        format!("create({})", options.config)
    };
    let path = match plugins.resolve(kind, name).map_err(|e| e.to_string())? {
        Source::Builtin(_) => {
            return Err(format!(
                "{kind} {name} is built into rivet, and `rivet bench` compares plugin files; put its file on the search path (`cargo build` makes it) to compare"
            ));
        }
        source => PathBuf::from(describe(&source)),
    };
    let call = Call {
        loader: plugins.loader(),
        kind,
        path: &path,
        creation: rivet_interface::framework::Creation {
            config,
            base_dir: PathBuf::from("."),
        },
    };

    let started = Instant::now();
    let first_local = call.start(Mode::InProcess)?;
    let load = started.elapsed();
    let failure = call.once(&first_local).err();

    // Isolated start: spawn, handshake and the first call, several times.
    let mut starts = Vec::new();
    let start_budget = budget / 4;
    let begun = Instant::now();
    let mut remote = None;
    while starts.len() < MAX_STARTS && (starts.len() < 3 || begun.elapsed() < start_budget) {
        drop(remote.take());
        let started = Instant::now();
        let plugin = call.start(Mode::Process)?;
        let _ = call.once(&plugin);
        starts.push(started.elapsed());
        remote = Some(plugin);
    }
    let first_remote = remote.expect("at least one start");

    let in_process = measure(budget / 2, || call.once(&first_local));
    let isolated = measure(budget / 2, || call.once(&first_remote));
    let start = Stats::of(&mut starts);

    writeln!(out, "rivet bench: {kind} {name} ({})", path.display()).map_err(text)?;
    writeln!(out, "call measured: {method}").map_err(text)?;
    if let Some(error) = failure {
        writeln!(
            out,
            "note: the call returns an error ({error}); it is still a full round trip"
        )
        .map_err(text)?;
    }
    writeln!(out).map_err(text)?;
    table(out, load, &start, &in_process, &isolated).map_err(text)
}

fn text(error: io::Error) -> String {
    error.to_string()
}

/// The plugin measured and how: a command's synopsis, or creating a
/// plugin of another kind.
struct Call<'a> {
    loader: &'a Loader,
    kind: PluginKind,
    path: &'a Path,
    creation: rivet_interface::framework::Creation,
}

/// A started plugin: a command, or the mode plugins of the other kinds are
/// created in.
enum Started {
    Command(Command),
    Creating(Mode),
}

impl Call<'_> {
    /// Loads the plugin in `mode`.
    fn start(&self, mode: Mode) -> Result<Started, String> {
        if self.kind == PluginKind::Command {
            let command = self
                .loader
                .load_file_with_host::<dyn CommandPlugin, _>(
                    self.path,
                    mode,
                    &serde_json::Value::Null,
                    Arc::new(Quiet),
                )
                .map_err(|e| e.to_string())?;
            return Ok(Started::Command(command));
        }
        Ok(Started::Creating(mode))
    }

    /// One call. A created plugin is returned, to be dropped after the
    /// clock stopped (dropping an isolated one ends its process).
    fn once(&self, started: &Started) -> Result<Option<Box<dyn std::any::Any>>, String> {
        match started {
            Started::Command(command) => {
                command.synopsis().map(|_| None).map_err(|e| e.to_string())
            }
            Started::Creating(mode) => {
                let config = serde_json::to_value(&self.creation).map_err(|e| e.to_string())?;
                by_kind!(self.kind, I => self
                    .loader
                    .load_file_with_host::<I, _>(self.path, *mode, &config, Arc::new(Quiet))
                    .map(|plugin| Some(Box::new(plugin) as Box<dyn std::any::Any>)))
                .map_err(|e| e.to_string())
            }
        }
    }
}

/// Calls `call` in timed batches for about `budget`.
fn measure<T>(budget: Duration, mut call: impl FnMut() -> T) -> Stats {
    let mut kept = Vec::new();
    let mut timed = |batch: u64, kept: &mut Vec<T>| {
        let started = Instant::now();
        for _ in 0..batch {
            kept.push(call());
        }
        let elapsed = started.elapsed();
        kept.clear();
        elapsed
    };
    // The batch size: long enough to time well.
    let mut batch = 1u64;
    let begun = Instant::now();
    while timed(batch, &mut kept) < MIN_BATCH && batch < 1 << 24 {
        batch *= 2;
    }
    let mut per_call = Vec::new();
    let (mut total, mut calls) = (Duration::ZERO, 0u64);
    while per_call.len() < 5 || begun.elapsed() < budget {
        let elapsed = timed(batch, &mut kept);
        total += elapsed;
        calls += batch;
        per_call.push(elapsed.div_f64(batch as f64));
    }
    per_call.sort();
    Stats {
        median: per_call[per_call.len() / 2],
        mean: total.div_f64(calls as f64),
        calls,
    }
}

impl Stats {
    fn of(samples: &mut [Duration]) -> Stats {
        samples.sort();
        let total: Duration = samples.iter().sum();
        Stats {
            median: samples[samples.len() / 2],
            mean: total / samples.len() as u32,
            calls: samples.len() as u64,
        }
    }
}

fn table(
    out: &mut impl Write,
    load: Duration,
    start: &Stats,
    local: &Stats,
    remote: &Stats,
) -> io::Result<()> {
    let ratio = |a: Duration, b: Duration| format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64());
    let rows = [
        [
            "".to_owned(),
            "in-process".into(),
            "isolated".into(),
            "isolated/in-process".into(),
        ],
        [
            "load / start (median)".into(),
            format!("{} (once)", show(load)),
            format!("{} ({} starts)", show(start.median), start.calls),
            ratio(start.median, load),
        ],
        [
            "call (median)".into(),
            show(local.median),
            show(remote.median),
            ratio(remote.median, local.median),
        ],
        [
            "call (mean)".into(),
            show(local.mean),
            show(remote.mean),
            ratio(remote.mean, local.mean),
        ],
        [
            "calls timed".into(),
            local.calls.to_string(),
            remote.calls.to_string(),
            String::new(),
        ],
    ];
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "  {}", cells.join("   ").trim_end())?;
    }
    writeln!(
        out,
        "\nload: in-process is the first load of the file in this process (dlopen and checks);\n\
         isolated is spawn + handshake + first call."
    )
}

/// A duration for people: `85 ns`, `12.3 µs`, `4.56 ms`.
fn show(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(show(Duration::from_nanos(85)), "85 ns");
        assert_eq!(show(Duration::from_nanos(12_340)), "12.3 µs");
        assert_eq!(show(Duration::from_micros(4_560)), "4.56 ms");
    }

    #[test]
    fn batches_are_timed_per_call() {
        let stats = measure(Duration::from_millis(20), || 1 + 1);
        assert!(stats.calls >= 5);
    }
}
