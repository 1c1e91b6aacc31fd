//! Renders man pages and shell completions from the clap definitions.
//! `cargo run --example generate` writes them into `man/` and `completions/`;
//! the test `generated_files_are_current` fails when the committed copies are stale.
//! (clap_mangen and clap_complete are needed here only, not in the tools: each tool prints
//! the committed copies with `--generate`.)

use clap_complete::Shell;
use std::path::PathBuf;

/// Every generated file, as (path relative to the crate root, contents).
pub fn render_all() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for tool in posthaste::cli::TOOLS {
        let cmd = (tool.command)();
        let name = tool.name;
        let man = render_man(&cmd, &posthaste::cli::tool::man_sections(tool));
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
            clap_complete::generate(shell, &mut c, name, &mut buf);
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

/// The man page: clap_mangen's title, name, synopsis, description and options, then the
/// tool's own sections (examples, exit status, files, ...) as preformatted text, so tables
/// and command lines keep their layout.
fn render_man(cmd: &clap::Command, sections: &[(&str, String)]) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    for (title, body) in sections {
        out.extend_from_slice(format!(".SH \"{title}\"\n.nf\n").as_bytes());
        for line in body.lines() {
            out.extend_from_slice(roff_escape(line).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b".fi\n");
    }
    let _ = man.render_version_section(&mut out);
    out
}

/// Escapes a line of text for roff: backslashes, and a leading '.' or '\'' (a request).
fn roff_escape(line: &str) -> String {
    let mut s = line.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s
}
