//! `rivet-plugin-server`: runs one Rivet plugin in its own process.
//!
//! A Rivet host starts it (finding it beside its own executable) for each
//! plugin used in isolated mode; run by hand it explains that and exits.

fn main() -> std::process::ExitCode {
    rivet_loader::serve_plugin_process()
}
