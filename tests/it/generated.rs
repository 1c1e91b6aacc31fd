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
