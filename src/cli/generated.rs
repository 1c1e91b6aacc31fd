//! `--generate`: every tool prints its own man page or shell completion, so that they can be
//! installed after `cargo install` (which installs binaries only), as ripgrep does:
//! `ftp-get --generate man > ~/.local/share/man/man1/ftp-get.1`.
//!
//! The texts are the committed files in `man/` and `completions/`, built in: a test keeps
//! them current with the clap definitions (`cargo run --example generate`), and the tools
//! need no man page or completion generator of their own.

use clap::{Args, ValueEnum};

/// What `--generate` prints.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    /// The man page (roff)
    Man,
    /// Bash completion
    Bash,
    /// Zsh completion
    Zsh,
    /// Fish completion
    Fish,
    /// Elvish completion
    Elvish,
    /// PowerShell completion
    Powershell,
}

/// The `--generate` flag every tool has.
#[derive(Args, Debug, Clone, Default)]
pub struct GenerateArgs {
    /// Print the man page or a shell completion to standard output, and exit
    #[arg(long, value_enum, value_name = "WHAT", exclusive = true)]
    pub generate: Option<Generate>,
}

macro_rules! files {
    ($($tool:literal),*) => {
        /// The committed man page or completion of `tool`.
        pub fn text(tool: &str, what: Generate) -> Option<&'static [u8]> {
            Some(match (tool, what) {
                $(
                    ($tool, Generate::Man) => include_bytes!(concat!("../../man/", $tool, ".1")),
                    ($tool, Generate::Bash) => {
                        include_bytes!(concat!("../../completions/", $tool, ".bash"))
                    }
                    ($tool, Generate::Zsh) => include_bytes!(concat!("../../completions/_", $tool)),
                    ($tool, Generate::Fish) => {
                        include_bytes!(concat!("../../completions/", $tool, ".fish"))
                    }
                    ($tool, Generate::Elvish) => {
                        include_bytes!(concat!("../../completions/", $tool, ".elv"))
                    }
                    ($tool, Generate::Powershell) => {
                        include_bytes!(concat!("../../completions/_", $tool, ".ps1"))
                    }
                )*
                _ => return None,
            })
        }
    };
}

files!(
    "ftp-get",
    "mime-pack",
    "ftp-put",
    "ftp-ls",
    "smtp-send",
    "pop-fetch",
    "imap-fetch"
);
