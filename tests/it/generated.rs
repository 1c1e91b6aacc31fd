//! The man pages and shell completions in man/ and completions/ are generated from the clap
//! definitions by `cargo run --example generate`; this fails when a committed copy is stale.

use std::path::Path;

#[test]
fn generated_files_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (path, want) in crate::render::render_all() {
        match std::fs::read(root.join(&path)) {
            Ok(have) if have == want => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing generated files (run `cargo run --example generate` and commit): {stale:?}"
    );
}

#[test]
fn every_tool_has_a_man_page_and_five_completions() {
    let files: Vec<String> = crate::render::render_all()
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    for cmd in posthaste::cli::commands() {
        let name = cmd.get_name();
        assert!(files.contains(&format!("man/{name}.1")), "{name}");
        let completions = files
            .iter()
            .filter(|f| f.starts_with("completions/") && f.contains(name))
            .count();
        assert_eq!(
            completions, 5,
            "{name}: bash, zsh, fish, elvish, PowerShell"
        );
    }
}

/// At `MANWIDTH=80` a man page breaks no line mid-word: roff fills everything but what is
/// kept as written (`.nf`: examples, command lines), and those lines fit in the 73 columns
/// left beside the section's indent of 7. One sample of ftp-ls's JSON output, a single
/// record that cannot be broken, is the exception.
#[test]
fn kept_lines_of_the_man_pages_fit_80_columns() {
    let mut wide = Vec::new();
    for (path, page) in crate::render::render_all() {
        if !path.starts_with("man") {
            continue;
        }
        let page = String::from_utf8(page).unwrap();
        let mut kept = false;
        for line in page.lines() {
            match line {
                ".nf" => kept = true,
                ".fi" => kept = false,
                _ if kept => {
                    let shown = line
                        .replace("\\-", "-")
                        .replace("\\e", "\\")
                        .replace("\\&", "");
                    if shown.chars().count() > 73 && !shown.trim_start().starts_with('{') {
                        wide.push(format!("{}: {shown}", path.display()));
                    }
                }
                _ => {}
            }
        }
    }
    assert!(
        wide.is_empty(),
        "lines too wide for 80 columns:\n{}",
        wide.join("\n")
    );
}
