//! `rivet-server`: runs one Rivet framework plugin, of any interface, in its
//! own process. A host starts it (finding it beside its own executable) for
//! each plugin it loads in `Mode::Process`; run by hand it explains that and
//! exits.

fn main() -> std::process::ExitCode {
    rivet::__private::serve_process()
}
