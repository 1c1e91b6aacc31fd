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
/// tool's own sections (examples, exit status, files, ...): see [`section_body`].
fn render_man(cmd: &clap::Command, sections: &[(&str, String)]) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let name = cmd.get_name();
    out.extend_from_slice(
        format!(
            ".TH {} 1 \"{DATE}\" \"posthaste {}\" \"User Commands\"\n",
            name.to_uppercase(),
            env!("CARGO_PKG_VERSION")
        )
        .as_bytes(),
    );
    // Writing into a Vec cannot fail.
    let _ = man.render_name_section(&mut out);
    out.extend_from_slice(synopsis(cmd).as_bytes());
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    for (title, body) in sections {
        out.extend_from_slice(format!(".SH \"{title}\"\n").as_bytes());
        out.extend_from_slice(section_body(body).as_bytes());
    }
    let _ = man.render_version_section(&mut out);
    out
}

/// The date in the man pages' title line: the release's, not today's, so that the
/// generated files stay the same from one day to the next.
const DATE: &str = "2026-12-02";

/// SYNOPSIS with every option's value name (`-o FILE`, `--output-dir DIR`, `URL...`), which
/// clap_mangen leaves out.
fn synopsis(cmd: &clap::Command) -> String {
    let mut parts = vec![format!("\\fB{}\\fR", roff_escape(cmd.get_name()))];
    let mut positionals = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() {
            continue;
        }
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .filter(|_| arg.get_action().takes_values());
        if arg.is_positional() {
            let v = value.unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
            let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
            positionals.push(format!(
                "\\fI{}\\fR{}",
                roff_escape(&v),
                if many { "..." } else { "" }
            ));
            continue;
        }
        let mut names = Vec::new();
        if let Some(c) = arg.get_short() {
            names.push(format!("\\fB\\-{c}\\fR"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("\\fB{}\\fR", roff_escape(&format!("--{l}"))));
        }
        let v = value
            .map(|v| format!(" \\fI{}\\fR", roff_escape(&v)))
            .unwrap_or_default();
        parts.push(format!("[{}{v}]", names.join("|")));
    }
    parts.extend(positionals);
    format!(".SH SYNOPSIS\n{}\n", parts.join(" "))
}

/// A section's text as roff, read the way it is written in `man/text/`:
/// - prose (lines that start at the margin) is filled by roff to the reader's width, a
///   blank line starting a paragraph;
/// - a definition list (an indented term of at most 24 characters, two or more spaces, its
///   text, and lines indented to that text continuing it) becomes tagged paragraphs (`.TP`),
///   filled too;
/// - a bulleted item (`- ` at the margin, its other lines indented by two) is an indented
///   paragraph with a bullet;
/// - any other indented line (examples, command lines) is kept as written.
fn section_body(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = String::new();
    let mut kept = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some((term, text, column)) = definition(line) {
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            out.push_str(&format!(
                ".TP\n{}\n{}\n",
                roff_escape(term),
                roff_escape(text)
            ));
            i += 1;
            while let Some(next) = lines.get(i) {
                let rest = next.get(column..).unwrap_or("");
                let continues = next.len() > column
                    && next[..column].bytes().all(|b| b == b' ')
                    && !rest.starts_with(' ');
                if !continues {
                    break;
                }
                out.push_str(&roff_escape(rest));
                out.push('\n');
                i += 1;
            }
            continue;
        }
        if let Some(item) = line.strip_prefix("- ") {
            // A bulleted item, its lines after the first indented by two.
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            out.push_str(&format!(".IP \\(bu 2\n{}\n", roff_escape(item)));
            i += 1;
            while let Some(next) = lines.get(i) {
                match next.strip_prefix("  ") {
                    Some(rest) if !rest.is_empty() && !rest.starts_with(' ') => {
                        out.push_str(&roff_escape(rest));
                        out.push('\n');
                        i += 1;
                    }
                    _ => break,
                }
            }
            continue;
        }
        let indented = line.starts_with(' ');
        if line.trim().is_empty() {
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            out.push_str(".PP\n");
        } else {
            if indented && !kept {
                out.push_str(".nf\n");
                kept = true;
            } else if !indented && kept {
                out.push_str(".fi\n");
                kept = false;
            }
            out.push_str(&roff_escape(line));
            out.push('\n');
        }
        i += 1;
    }
    if kept {
        out.push_str(".fi\n");
    }
    out
}

/// An indented line of a definition list: its term, its text, and the column the text
/// starts at. Pure.
fn definition(line: &str) -> Option<(&str, &str, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent == 0 || indent > 8 {
        return None;
    }
    let rest = &line[indent..];
    let gap = rest.find("  ")?;
    let term = &rest[..gap];
    let after = &rest[gap..];
    let text = after.trim_start_matches(' ');
    let column = indent + gap + (after.len() - text.len());
    (term.len() <= 24 && column <= 30 && !text.is_empty()).then_some((term, text, column))
}

/// Escapes a line of text for roff: backslashes, and a leading '.' or '\'' (a request).
fn roff_escape(line: &str) -> String {
    let mut s = line.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s
}
