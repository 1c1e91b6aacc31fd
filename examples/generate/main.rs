//! Writes man/ and completions/ from the clap definitions: `cargo run --example generate`.

mod render;

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (path, contents) in render::render_all() {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("generated paths have a folder"))?;
        std::fs::write(&path, contents)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
