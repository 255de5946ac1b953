//! How the server uses glibc's allocator. glibc gives each thread that meets contention its
//! own malloc arena (up to eight per core), and keeps what the program freed inside them: it
//! shrinks a heap only from its top, so pages freed below a live allocation stay resident.
//! Start-up leaves such pages behind (each worker builds its routes and their OpenAPI paths,
//! the common-password list is decompressed), and so does every burst of requests, so an idle
//! server would keep its peak size. The workspace's only `unsafe` code; elsewhere (musl,
//! macOS) these calls do nothing.

use std::time::Duration;

/// How often the freed memory is given back (see [`release_freed_memory`]).
pub const RELEASE_INTERVAL: Duration = Duration::from_secs(60);

/// Tunes glibc's allocator for the server, where the operator has not (glibc has read
/// `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` and `GLIBC_TUNABLES` then, and `mallopt` would
/// override them). Call first thing in `main`, before other threads start. Measured in
/// docs/BENCHMARKS.md:
/// - one arena per core (at least two) instead of eight: the blocking pool's threads would
///   otherwise each settle on one;
/// - blocks of 128 KiB and more in their own mappings, given back when freed: by default glibc
///   raises that threshold (up to 32 MiB) whenever such a block is freed, and from then on
///   keeps them, and as much free space at the top of its heaps, resident.
pub fn configure_allocator() {
    if !set_by_operator("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        set_option(
            Setting::ArenaMax,
            i32::try_from(cores.max(2)).unwrap_or(i32::MAX),
        );
    }
    if !set_by_operator("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") {
        set_option(Setting::MmapThreshold, 128 * 1024);
    }
}

/// Whether the environment sets this malloc option, as its own variable or as a tunable.
fn set_by_operator(variable: &str, tunable: &str) -> bool {
    std::env::var_os(variable).is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|tunables| tunables.contains(tunable))
}

/// Gives the free pages of every malloc arena back to the system; whether any were.
pub fn release_freed_memory() -> bool {
    trim()
}

/// The `mallopt` settings the server changes.
#[derive(Clone, Copy)]
enum Setting {
    ArenaMax,
    MmapThreshold,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_option(setting: Setting, value: i32) {
    let option = match setting {
        Setting::ArenaMax => libc::M_ARENA_MAX,
        Setting::MmapThreshold => libc::M_MMAP_THRESHOLD,
    };
    // SAFETY: mallopt takes no pointer; glibc serialises it with the allocator's other calls.
    unsafe {
        libc::mallopt(option, value);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointer and locks each arena while it walks it.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_option(_setting: Setting, _value: i32) {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}
