//! How the server uses glibc's allocator. glibc gives each thread that meets contention its
//! own malloc arena (up to eight per core), and keeps what the program freed inside them: it
//! shrinks a heap only from its top, so pages freed below a live allocation stay resident.
//! Start-up leaves such pages behind (each worker builds its routes and their OpenAPI paths,
//! the common-password list is decompressed), and so does every burst of requests, so an idle
//! server would keep its peak size. These are the only calls into C outside the database
//! drivers; elsewhere (musl, macOS) they do nothing.

use std::time::Duration;

/// How often the freed memory is given back (see [`release_freed_memory`]).
pub const RELEASE_INTERVAL: Duration = Duration::from_secs(60);

/// Caps the malloc arenas at two, unless `MALLOC_ARENA_MAX` is set (glibc has read it then).
/// Call first thing in `main`, before other threads start. Measured in docs/BENCHMARKS.md:
/// the blocking pool's threads would otherwise each settle on an arena of their own.
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        set_arena_max(2);
    }
}

/// Gives the free pages of every malloc arena back to the system; whether any were.
pub fn release_freed_memory() -> bool {
    trim()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(arenas: libc::c_int) {
    // SAFETY: mallopt takes no pointer; glibc applies M_ARENA_MAX to arenas created later.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointer and locks each arena while it walks it.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_arenas: i32) {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}
