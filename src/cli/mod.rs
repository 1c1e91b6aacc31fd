//! What several binaries share: common clap arguments, credentials, progress, the
//! generated man pages and completions, and the `main` wrapper that maps errors to exit codes.
//! (The library proper, outside `cli`, never prints; this module is where printing happens.)

pub mod common;
pub mod credentials;
pub mod ftp_get;
pub mod generate;
pub mod mime_pack;
pub mod progress;
pub mod run;

/// Every tool's clap definition, by binary name: the one source for `--help`, the man pages
/// and the shell completions.
pub fn commands() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![ftp_get::Args::command(), mime_pack::Args::command()]
}

/// Sections a tool's man page adds after its options: (title, preformatted text).
pub fn man_sections(name: &str) -> Vec<(&'static str, String)> {
    match name {
        "ftp-get" => ftp_get::man_sections(),
        "mime-pack" => mime_pack::man_sections(),
        _ => Vec::new(),
    }
}
