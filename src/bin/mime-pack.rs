//! mime-pack: see `mime-pack --help` and man/mime-pack.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::mime_pack::MimePack>()
}
