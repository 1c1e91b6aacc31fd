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
/// - a definition list (a term of at most 24 characters, two or more spaces, its text, and
///   lines indented to that text continuing it; or a longer term alone on its line, its text
///   on the lines below, indented by 12 or more) becomes tagged paragraphs (`.TP`), filled
///   too;
/// - a bulleted item (`- ` at the margin, its other lines indented by two) is an indented
///   paragraph with a bullet, and one indented by two more, nested in the one before;
/// - a numbered item (`1. ` indented, its other lines indented to its text) is an indented
///   paragraph with its number;
/// - any other indented line (examples, command lines) is kept as written.
fn section_body(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = String::new();
    let mut kept = false;
    // Inside a nested list (`.RS` given, `.RE` owed).
    let mut nested = false;
    // The last thing written is a list item: prose after it starts a paragraph of its own.
    let mut in_item = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start_matches(' ').len();
        if nested && !(indent == 2 && line[2..].starts_with("- ")) {
            out.push_str(".RE\n");
            nested = false;
        }
        // A term alone on its line, its text below (`-O, --output-dir DIR`); not an
        // example's line, which a ` \` continues on a deeper indented one.
        let below = lines
            .get(i + 1)
            .map(|n| n.len() - n.trim_start_matches(' ').len())
            .filter(|&b| b >= 12 && b > indent + 8 && definition(line).is_none())
            .filter(|_| !kept && !line.ends_with('\\'));
        // An item: its first line as roff, and the column its text continues at.
        let item = if let (Some(column), true) = (below, indent <= 8 && !line.trim().is_empty()) {
            Some((format!(".TP\n{}\n", roff_escape(line.trim())), column))
        } else if let Some((number, text, column)) = numbered(line) {
            Some((format!(".IP {number}. 4\n{}\n", roff_escape(text)), column))
        } else {
            definition(line).map(|(term, text, column)| {
                let head = format!(".TP\n{}\n{}\n", roff_escape(term), roff_escape(text));
                (head, column)
            })
        };
        if let Some((head, column)) = item {
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            out.push_str(&head);
            i += 1;
            i += continuation(&lines[i..], column, &mut out);
            in_item = true;
            continue;
        }
        let bullet = match line.strip_prefix("- ") {
            Some(item) => Some((item, 2)),
            None => line
                .strip_prefix("  - ")
                .filter(|_| i > 0 && !lines[i - 1].trim().is_empty())
                .map(|item| (item, 4)),
        };
        if let Some((item, column)) = bullet {
            // A bulleted item, its lines after the first indented to its text.
            if kept {
                out.push_str(".fi\n");
                kept = false;
            }
            if column == 4 && !nested {
                out.push_str(".RS\n");
                nested = true;
            }
            out.push_str(&format!(".IP \\(bu 2\n{}\n", roff_escape(item)));
            i += 1;
            i += continuation(&lines[i..], column, &mut out);
            in_item = true;
            continue;
        }
        let indented = line.starts_with(' ');
        if std::mem::take(&mut in_item) && !indented && !line.trim().is_empty() {
            out.push_str(".PP\n");
        }
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
    if nested {
        out.push_str(".RE\n");
    }
    out
}

/// Writes the lines that continue an item whose text starts at `column` (indented exactly
/// to it), filled; returns how many there were.
fn continuation(lines: &[&str], column: usize, out: &mut String) -> usize {
    let mut n = 0;
    for next in lines {
        let rest = next.get(column..).unwrap_or("");
        // `- ` starts a nested item, not more of this one.
        let continues = next.len() > column
            && next[..column].bytes().all(|b| b == b' ')
            && !rest.starts_with(' ')
            && !rest.starts_with("- ");
        if !continues {
            break;
        }
        out.push_str(&roff_escape(rest));
        out.push('\n');
        n += 1;
    }
    n
}

/// An indented numbered item (`  4. text`): its number, its text and the column the text
/// starts at. Pure.
fn numbered(line: &str) -> Option<(&str, &str, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let dot = rest.find(". ")?;
    let number = &rest[..dot];
    let ok = (1..=8).contains(&indent)
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| (number, &rest[dot + 2..], indent + dot + 2))
}

/// An indented line of a definition list: its term, its text, and the column the text
/// starts at. Pure.
fn definition(line: &str) -> Option<(&str, &str, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 8 {
        return None;
    }
    let rest = &line[indent..];
    let gap = rest.find("  ")?;
    let term = &rest[..gap];
    let after = &rest[gap..];
    let text = after.trim_start_matches(' ');
    let column = indent + gap + (after.len() - text.len());
    // At the margin only a name (ENVIRONMENT's `HOME  ...`) is a term: prose there may
    // have two spaces after a sentence or a colon (`Exit 75.  Then ...`, `Note:  ...`).
    let name = indent > 0 || !term.contains(' ') && !term.ends_with(['.', ':', ',', ';']);
    (name && term.len() <= 24 && column <= 30 && !text.is_empty()).then_some((term, text, column))
}

/// Escapes a line of text for roff: backslashes, and a leading '.' or '\'' (a request).
fn roff_escape(line: &str) -> String {
    let mut s = line.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::section_body;

    /// An example's ` \` continuation, however deep its indent, is more of the example:
    /// kept as written, never a definition's text filled after a term.
    #[test]
    fn an_examples_deep_continuation_is_no_definition() {
        let body = "For example:\n\n  ftp-get -r ftp://host/dir/ \\\n              -O out/\n";
        let roff = section_body(body);
        assert!(!roff.contains(".TP"), "{roff}");
        assert!(
            roff.contains(
                ".nf\n  ftp\\-get \\-r ftp://host/dir/ \\e\n              \\-O out/\n.fi\n"
            ),
            "{roff}"
        );
    }

    /// Prose at the margin with two spaces after a sentence or a colon is prose, filled;
    /// a name there with its text (ENVIRONMENT's table) is a definition.
    #[test]
    fn prose_at_the_margin_with_two_spaces_is_no_definition() {
        for prose in [
            "Exit status 75.  Try again later, as cron does.\n",
            "Note:  the state file is written last.\n",
        ] {
            let roff = section_body(prose);
            assert!(!roff.contains(".TP"), "{roff}");
        }
        let roff = section_body("HOME            where ~/.netrc is looked for\n");
        assert_eq!(roff, ".TP\nHOME\nwhere ~/.netrc is looked for\n");
    }
}
