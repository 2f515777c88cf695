//! `rivet`: builds artifacts from templates with plugins, lists plugins and
//! runs command plugins. Its four kinds of plugins are framework
//! interfaces ([`rivet_interface::framework`]), loaded by a `rivet::Loader`.

mod bench;
mod commands;
mod console;
mod listing;
mod logger;
mod pipeline;
mod plugins;
mod registry;
mod template;

mod advice;
mod manage;
mod required;

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};
use rivet::{Config, Loader, Mode, Vetting};

use crate::pipeline::BuildOptions;
use crate::plugins::Plugins;

/// Rivet: build artifacts with plugins.
#[derive(Debug, Parser)]
#[command(name = "rivet", version, about, disable_help_subcommand = true)]
struct Cli {
    /// How plugins run: `in-process` (fast) or `process` (each in its own
    /// process; a crash is an error, not the end of rivet)
    #[arg(long, global = true, env = "RIVET_ISOLATION", value_name = "MODE")]
    isolation: Option<Mode>,
    /// Seconds one call to an isolated plugin may take before its process is
    /// killed (default 300)
    #[arg(
        long,
        global = true,
        env = "RIVET_CALL_TIMEOUT",
        value_name = "SECONDS",
        value_parser = timeout_seconds
    )]
    call_timeout: Option<Duration>,
    /// Seconds an isolated plugin's process may take to load the plugin and
    /// get ready before it is killed (default 20)
    #[arg(
        long,
        global = true,
        env = "RIVET_HANDSHAKE_TIMEOUT",
        value_name = "SECONDS",
        value_parser = timeout_seconds
    )]
    handshake_timeout: Option<Duration>,
    /// Seconds the plugin scanner may take to load one new plugin file
    /// before the file is quarantined as hanging (default 10)
    #[arg(
        long,
        global = true,
        env = "RIVET_SCAN_TIMEOUT",
        value_name = "SECONDS",
        value_parser = timeout_seconds
    )]
    scan_timeout: Option<Duration>,
    /// Load plugin files even when other users can write them or their
    /// directories (refused by default, as ssh refuses such keys)
    #[arg(
        long,
        global = true,
        env = "RIVET_ALLOW_INSECURE_PLUGINS",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    allow_insecure_plugins: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the artifacts a template describes
    Build {
        /// The template (TOML)
        template: PathBuf,
        /// Keep a builder's incomplete artifact when a later step fails
        #[arg(long)]
        keep_on_error: bool,
    },
    /// List, install, remove and pack plugins
    Plugins {
        #[command(subcommand)]
        command: PluginsCmd,
    },
    /// Compare a plugin in-process and isolated: load time and call round trip
    Bench {
        /// The plugin's kind: builder, provisioner, post-processor or command
        kind: String,
        /// The plugin's name
        name: String,
        /// The configuration `prepare` gets (JSON; not used for commands)
        #[arg(long, default_value = "{}")]
        config: String,
        /// Seconds of calls in each mode
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Install a template's [required_plugins] from their registries (pinned by rivet.lock) or a local directory
    Init(manage::InitArgs),
    /// Print the help of rivet, or of a command (built-in or plugin)
    Help {
        /// The command
        command: Option<String>,
    },
    /// A command plugin: `rivet NAME ARGS...`
    #[command(external_subcommand)]
    External(Vec<String>),
}

#[derive(Debug, Subcommand)]
enum PluginsCmd {
    /// List every plugin found, with its version, mode and file, then broken and shadowed files
    List,
    /// List installed plugins: source, kind, name, version, checksum state, path
    Installed,
    /// Install a plugin file, a package or a registry release into $RIVET_HOME/plugins
    Install(manage::InstallArgs),
    /// Remove installed versions of a plugin (and their checksum files)
    Remove(manage::RemoveArgs),
    /// Show a template's [required_plugins] and the installed versions they use
    Required {
        /// The template (TOML)
        template: PathBuf,
    },
    /// Pack plugin crates or built plugin files into one .tar.gz package
    Pack(manage::PackArgs),
    /// Publish a package to an OCI registry repository, as release VERSION
    Push(registry::PushArgs),
    /// Download every platform's package of a registry release into a directory
    Pull(registry::PullArgs),
}

fn main() -> ExitCode {
    if let Some(warning) = logger::init() {
        eprintln!("warning: {warning}");
    }
    // Started by a `rivet` as its plugin server or scanner (see
    // `rivet_config`), or to run a built-in plugin isolated: serve.
    let served = Plugins::new(Loader::new(rivet_config()), Mode::default()).serve_builtin();
    if let Some(code) = served.or_else(rivet::serve_requested) {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return parse_error(error),
    };
    let mut config = rivet_config();
    if let Some(timeout) = cli.call_timeout {
        config = config.call_timeout(Some(timeout));
    }
    if let Some(timeout) = cli.handshake_timeout {
        config = config.handshake_timeout(timeout);
    }
    if let Some(timeout) = cli.scan_timeout {
        config = config.vetting(Vetting::Scan { timeout });
    }
    log::debug!("plugin search path: {:?}", config.dirs().dirs());
    let loader = Loader::new(config).allow_insecure_permissions(cli.allow_insecure_plugins);
    let plugins = Plugins::new(loader, cli.isolation.unwrap_or_default());
    match run(cli, &plugins) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, plugins: &Plugins) -> Result<ExitCode, String> {
    match cli.command {
        None => {
            commands::overview(plugins, &builtin_commands(), &mut io::stdout().lock())
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Help { command: None }) => {
            print!("{}", Cli::command().render_long_help());
            commands::plugin_section(plugins, &mut io::stdout().lock())
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Help {
            command: Some(name),
        }) => {
            if builtin_commands()
                .iter()
                .any(|(builtin, _)| *builtin == name)
            {
                // clap prints the help of a subcommand it parses with --help.
                if let Err(help) = Cli::try_parse_from(["rivet", &name, "--help"]) {
                    help.print().map_err(|e| e.to_string())?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            run_command(plugins, &name, &["--help".to_owned()])
        }
        Some(Cmd::Build {
            template,
            keep_on_error,
        }) => {
            let artifacts = pipeline::build(plugins, &template, &BuildOptions { keep_on_error })
                .map_err(|e| e.to_string())?;
            println!("==> Build finished. The artifacts:");
            for artifact in &artifacts {
                println!("--> {}", pipeline::summary(artifact));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Bench {
            kind,
            name,
            config,
            seconds,
        }) => {
            let options = bench::BenchOptions {
                kind,
                name,
                config,
                seconds,
            };
            bench::bench(plugins, &options, &mut io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Plugins { command }) => match command {
            PluginsCmd::List => {
                listing::list(plugins, &mut io::stdout().lock()).map_err(|e| e.to_string())?;
                Ok(ExitCode::SUCCESS)
            }
            PluginsCmd::Installed => manage::installed(plugins),
            PluginsCmd::Install(args) => manage::install(plugins, &args),
            PluginsCmd::Remove(args) => manage::remove(plugins, &args),
            PluginsCmd::Required { template } => manage::required(plugins, &template),
            PluginsCmd::Pack(args) => manage::pack(plugins, &args),
            PluginsCmd::Push(args) => registry::push(plugins, &args),
            PluginsCmd::Pull(args) => registry::pull(&args),
        },
        Some(Cmd::Init(args)) => manage::init(plugins, &args),
        Some(Cmd::External(args)) => {
            let (name, args) = args.split_first().ok_or("a command name is needed")?;
            run_command(plugins, name, args)
        }
    }
}

/// The configuration of `rivet`'s loader before the options: the
/// environment's, with built-in plugins run isolated by this executable,
/// which is also the plugin server (isolated plugin files, the vetting
/// scanner) when no `rivet-server` lies beside it (an installed `rivet`
/// alone).
fn rivet_config() -> Config {
    let config = Config::app("rivet");
    let Ok(exe) = std::env::current_exe() else {
        return config;
    };
    let config = config.builtin_server(&exe);
    if config.server_path().is_file() {
        config
    } else {
        config.server(exe)
    }
}

/// Prints what clap says when it does not parse the command line: an error,
/// the version, or a help, where `rivet --help` (or `-h`) is followed by the
/// command plugins (found with the default configuration, as the options
/// were not parsed).
fn parse_error(error: clap::Error) -> ExitCode {
    let root_help = error.kind() == clap::error::ErrorKind::DisplayHelp && {
        let text = error.render().to_string();
        let mut root = Cli::command();
        text == root.render_long_help().to_string() || text == root.render_help().to_string()
    };
    let printed = error.print();
    if root_help && printed.is_ok() {
        let plugins = Plugins::new(Loader::new(rivet_config()), Mode::default());
        let _ = commands::plugin_section(&plugins, &mut io::stdout().lock());
    }
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(u8::MAX))
}

/// Runs command plugin `name`, exiting with its status (see
/// [`commands::exit_status`]); a status that does not fit is reported.
fn run_command(plugins: &Plugins, name: &str, args: &[String]) -> Result<ExitCode, String> {
    let code =
        commands::run(plugins, &builtin_commands(), name, args).map_err(|e| e.to_string())?;
    let status = commands::exit_status(code);
    if i32::from(status) != code {
        eprintln!(
            "warning: command `{name}` returned exit code {code}, which is not an exit status (0 to 255); rivet exits with {status}"
        );
    }
    Ok(ExitCode::from(status))
}

/// A timeout option: whole seconds, at least 1. Values too long to wait for
/// (up to `u64::MAX`) mean no limit.
fn timeout_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("a timeout of 0 s would fail everything; give at least 1 second".to_owned()),
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(error) => Err(format!("expected whole seconds: {error}")),
    }
}

/// The built-in subcommands and their one-line help, from the CLI definition.
fn builtin_commands() -> Vec<(String, String)> {
    Cli::command()
        .get_subcommands()
        .map(|cmd| {
            let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
            (cmd.get_name().to_owned(), about)
        })
        .collect()
}
