//! Process-wide settings that belong to the program, not the library: the tools make them
//! here (the signal handlers are in [`super::signals`], C's `pow` in [`super::libm`]).

/// The constructor that records, before `main`, which of the standard descriptors the
/// process was started with closed ([`crate::stdio::record_closed_descriptors`]): Rust's
/// runtime puts `/dev/null` on them before `main` runs, so only code that runs before it
/// can tell (the C runtime calls it: ELF `.init_array`, Mach-O `__mod_init_func`).
#[used]
#[cfg_attr(
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    ),
    unsafe(link_section = ".init_array")
)]
#[cfg_attr(
    target_vendor = "apple",
    unsafe(link_section = "__DATA,__mod_init_func")
)]
static RECORD: extern "C" fn() = crate::stdio::record_closed_descriptors;

/// ftp-get's and ftp-put's `--parallel`: keeps memory flat however many connections run (glibc's malloc): each thread would get
/// an arena of its own that keeps what it once touched, and after the first transfer
/// buffer is freed glibc raises its mmap threshold, so that every later 256 KiB buffer comes
/// from an arena and is zeroed page by page (resident) instead of arriving as untouched
/// zero pages. Two arenas and a fixed threshold keep the run near one connection's memory.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tunables of the allocator; called before the threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
