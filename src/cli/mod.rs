//! What several binaries share: common clap arguments, credentials, progress, the
//! generated man pages and completions, and the `main` wrapper that maps errors to exit codes.

pub mod generate;
pub mod mime_pack;
pub mod run;

/// Every tool's clap definition, by binary name: the one source for `--help`, the man pages
/// and the shell completions.
pub fn commands() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![mime_pack::Args::command()]
}
