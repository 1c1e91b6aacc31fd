//! Renders man pages and shell completions from the clap definitions.
//! `cargo run --example generate` writes them into `man/` and `completions/`;
//! the test `generated_files_are_current` fails when the committed copies are stale.

use clap_complete::Shell;
use std::path::PathBuf;

/// Every generated file, as (path relative to the crate root, contents).
pub fn render_all() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for cmd in super::commands() {
        let name = cmd.get_name().to_string();
        let mut man = Vec::new();
        clap_mangen::Man::new(cmd.clone())
            .render(&mut man)
            .expect("rendering to a Vec cannot fail");
        out.push((PathBuf::from(format!("man/{name}.1")), man));
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let mut buf = Vec::new();
            let mut c = cmd.clone();
            clap_complete::generate(shell, &mut c, &name, &mut buf);
            let file = match shell {
                Shell::Bash => format!("{name}.bash"),
                Shell::Zsh => format!("_{name}"),
                Shell::Fish => format!("{name}.fish"),
                Shell::Elvish => format!("{name}.elv"),
                _ => format!("_{name}.ps1"),
            };
            out.push((PathBuf::from(format!("completions/{file}")), buf));
        }
    }
    out
}
