//! What the speech engine needs from the process, set once, first thing in `main`, before any
//! thread starts: a setting CTranslate2 only takes from outside, measured on scripts/bench-asr's
//! real calls (ARCHITECTURE.md, "Measured choices").

// `mallopt` is unsafe only because another thread could be allocating meanwhile; `prepare` runs
// before there is one.
#![allow(unsafe_code)]

/// One malloc arena that keeps what it had. CTranslate2 allocates each window's attention matrices
/// afresh (72 MB a window, up to 216 MB a batch of three) and frees them. glibc serves blocks that
/// size with `mmap` and gives them back with `munmap` (a thread's own arena cannot hold them), so
/// every window faulted its buffers in again: 14 % of a beam-5 run went to the kernel zeroing
/// pages. Allocating everything from the main heap, kept up to 1 GB when freed, reuses them.
///
/// Call first in `main`, before any thread exists. A user's own `MALLOC_*` or `GLIBC_TUNABLES`
/// setting wins: then nothing is changed.
pub fn prepare() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if !std::env::vars_os().any(|(k, _)| {
        k.to_str()
            .is_some_and(|k| k.starts_with("MALLOC_") || k == "GLIBC_TUNABLES")
    }) {
        // SAFETY: no other thread exists yet (see the module's note); mallopt only changes the
        // allocator's parameters.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
            libc::mallopt(libc::M_TOP_PAD, 256 << 20);
        }
    }
}
