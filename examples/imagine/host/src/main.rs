//! `imagine`: applies filter plugins to a PPM image, each in-process or in
//! its own process.
//!
//! ```text
//! imagine INPUT.ppm OUTPUT.ppm FILTER...
//! FILTER: [process:]NAME[=JSON]   e.g. sepia, process:invert={"strength":0.5}
//! imagine --list
//! ```
//!
//! Filters are `libplugin_image_filter_NAME.so` files on imagine's search
//! path (`rivet::Config::app("imagine")`): beside this executable, in the
//! current directory, in `$IMAGINE_HOME/plugins` (`~/.imagine.d/plugins`),
//! then in the directories of `IMAGINE_PLUGIN_PATH`. `sepia` is also built
//! in (compiled from the same crate as its plugin file), used when no file
//! of that name is found; `process:sepia` then runs it in a process of its
//! own, this executable re-run to serve it. `--list` shows which file each filter is loaded
//! from, which files that hides, the installed versions
//! (`$IMAGINE_HOME/plugins/<source>/`) and the built-in filters.

mod ppm;

use std::path::PathBuf;
use std::process::ExitCode;

use imagine_interface::ImageFilter;
use rivet::{Config, Loader, Mode, Source};

/// What failed, for the one line printed before exiting.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("usage: imagine INPUT.ppm OUTPUT.ppm [process:]NAME[=JSON]...  or  imagine --list")]
    Usage,
    #[error("filter `{0}`: the configuration after `=` is not JSON: {1}")]
    Config(String, #[source] serde_json::Error),
    #[error("cannot read or write {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("{0}: {1}")]
    Format(PathBuf, #[source] ppm::FormatError),
    #[error(transparent)]
    Load(#[from] rivet::LoadError),
    #[error(transparent)]
    Filter(#[from] rivet::Error),
}

/// imagine's loader: its filters, `sepia` built in (served isolated by
/// this executable itself).
fn loader() -> Loader {
    let mut config = Config::app("imagine");
    if let Ok(exe) = std::env::current_exe() {
        config = config.builtin_server(exe);
    }
    Loader::new(config)
        .register::<dyn ImageFilter>()
        .builtin(&plugin_image_filter_sepia::RIVET_BUILTIN)
}

fn main() -> ExitCode {
    let loader = loader();
    // Started to run a built-in filter isolated: serve it, nothing else.
    if let Some(code) = loader.serve_builtin() {
        return code;
    }
    match run(&loader, std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("imagine: {failure}");
            ExitCode::FAILURE
        }
    }
}

fn run(loader: &Loader, args: Vec<String>) -> Result<(), Failure> {
    if args == ["--list"] {
        list(loader);
        return Ok(());
    }
    let [input, output, filters @ ..] = args.as_slice() else {
        return Err(Failure::Usage);
    };
    if filters.is_empty() {
        return Err(Failure::Usage);
    }
    let (input, output) = (PathBuf::from(input), PathBuf::from(output));
    let bytes = std::fs::read(&input).map_err(|e| Failure::Io(input.clone(), e))?;
    let mut image = ppm::Image::parse(&bytes).map_err(|e| Failure::Format(input, e))?;
    for filter in filters {
        let (mode, rest) = match filter.strip_prefix("process:") {
            Some(rest) => (Mode::Process, rest),
            None => (Mode::InProcess, filter.as_str()),
        };
        let (name, config) = match rest.split_once('=') {
            Some((name, json)) => (
                name,
                serde_json::from_str(json).map_err(|e| Failure::Config(name.to_owned(), e))?,
            ),
            None => (rest, serde_json::Value::Null),
        };
        let source = match loader.resolve::<dyn ImageFilter>(name)? {
            Source::File(path) => path.display().to_string(),
            _ => "built in".to_owned(),
        };
        let plugin = loader.load_with::<dyn ImageFilter>(name, mode, &config)?;
        eprintln!(
            "{} ({:?}, {source}): {}",
            plugin.name(),
            plugin.mode(),
            plugin.describe()?
        );
        plugin.apply(&mut image.pixels, image.width, image.height)?;
    }
    std::fs::write(&output, image.to_bytes()).map_err(|e| Failure::Io(output, e))
}

/// Prints the filters found, the files they hide and the directories that
/// could not be read.
fn list(loader: &Loader) {
    let scan = loader.discover();
    for file in &scan.files {
        println!("{}\t{}", file.name, file.path.display());
    }
    for hidden in &scan.hidden {
        println!(
            "{}\t{}\thidden by {}",
            hidden.file.name,
            hidden.file.path.display(),
            hidden.by.display()
        );
    }
    for plugin in loader.installed() {
        println!(
            "{}\tinstalled, version {} from {}\t{}",
            plugin.id.name,
            plugin.id.version,
            plugin.source,
            plugin.path.display()
        );
    }
    for (builtin, file) in loader.builtins() {
        match file {
            Some(file) => println!(
                "{}\tbuilt in, version {}\thidden by {}",
                builtin.name(),
                builtin.version(),
                file.display()
            ),
            None => println!(
                "{}\tbuilt in, version {}",
                builtin.name(),
                builtin.version()
            ),
        }
    }
    for dir in &scan.unreadable {
        eprintln!("imagine: cannot read {}: {}", dir.dir.display(), dir.error);
    }
}
