//! How the server allocates. Rust's allocations go to mimalloc (the server binary's global
//! allocator): a page of 20 records makes a few hundred short-lived allocations, and glibc
//! spent about a tenth of the request's CPU on them, much of it merging its fast bins before
//! each block of a kilobyte or more (docs/BENCHMARKS.md). The C libraries (SQLite's page
//! cache, libpq's results) still use glibc's malloc.
//!
//! glibc gives each thread that meets contention its own malloc arena (up to eight per core),
//! and keeps what the program freed inside them: it shrinks a heap only from its top, so pages
//! freed below a live allocation stay resident. mimalloc would ask for transparent huge pages
//! for its arenas (2 MiB each, resident as soon as one byte is used: 59 MiB idle) and give
//! freed pages back a second later: it is built without the first (`no_thp`) and tuned below
//! for the second, so that an idle server does not keep its peak size. The workspace's only
//! `unsafe` code; elsewhere (musl, macOS) the glibc calls do nothing.

use std::time::Duration;

/// How often the freed memory is given back (see [`release_freed_memory`]).
pub const RELEASE_INTERVAL: Duration = Duration::from_secs(60);

/// Tunes both allocators for the server, where the operator has not (glibc has read
/// `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` and `GLIBC_TUNABLES`, mimalloc its
/// `MIMALLOC_*` variables, and setting an option here would override them). Call first thing in
/// `main`, before any other thread starts: mimalloc's options are plain writes, which another
/// thread's allocations would race with. Measured in docs/BENCHMARKS.md:
/// - glibc: one arena per core (at least two) instead of eight: the blocking pool's threads
///   would otherwise each settle on one;
/// - glibc: blocks of 128 KiB and more in their own mappings, given back when freed: by default
///   glibc raises that threshold (up to 32 MiB) whenever such a block is freed, and from then
///   on keeps them, and as much free space at the top of its heaps, resident;
/// - mimalloc: freed pages given back at once instead of after a second (S3 on PostgreSQL:
///   idle 25 → 20 MiB, peak 32 → 28 MiB, and no more CPU).
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
    set_mimalloc_default(MI_PURGE_DELAY, 0);
}

/// Whether the environment sets this malloc option, as its own variable or as a tunable.
fn set_by_operator(variable: &str, tunable: &str) -> bool {
    std::env::var_os(variable).is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|tunables| tunables.contains(tunable))
}

/// Gives the free pages of glibc's arenas back to the system, and mimalloc's of the calling
/// thread's heap and of its arenas; whether glibc had any. Another thread's heap gives its
/// freed pages back when that thread allocates again (the purge delay is 0) or collects: the
/// actix threads do so themselves ([`release_thread_memory`]), and a blocking thread's heap
/// goes when the thread ends, after 10 s without work.
pub fn release_freed_memory() -> bool {
    collect_mimalloc();
    trim()
}

/// Gives the calling thread's freed mimalloc pages back to the system (well under a
/// millisecond), and the arenas' free pages, whatever `MIMALLOC_PURGE_DELAY` says.
pub fn release_thread_memory() {
    collect_mimalloc();
}

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v2 and v3): libmimalloc-sys leaves most
/// options unnamed. A unit test checks the number against the option's default.
const MI_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets a mimalloc option unless the environment did (in any of the forms mimalloc reads).
#[allow(unsafe_code)]
fn set_mimalloc_default(option: libmimalloc_sys::mi_option_t, value: std::ffi::c_long) {
    // SAFETY: takes no pointer; a plain write, called before other threads start
    // (`configure_allocator`).
    unsafe { libmimalloc_sys::mi_option_set_default(option, value) }
}

#[allow(unsafe_code)]
fn collect_mimalloc() {
    // SAFETY: takes no pointer; collects the calling thread's heap and purges the arenas.
    unsafe { libmimalloc_sys::mi_collect(true) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    fn purge_delay() -> std::ffi::c_long {
        // SAFETY: takes no pointer; reads an option no other test changes.
        unsafe { libmimalloc_sys::mi_option_get(MI_PURGE_DELAY) }
    }

    #[test]
    fn mimalloc_gives_freed_pages_back_at_once_unless_the_environment_says_otherwise() {
        let from_environment = std::env::vars().any(|(name, _)| {
            let name = name.to_ascii_uppercase();
            name == "MIMALLOC_PURGE_DELAY" || name == "MIMALLOC_RESET_DELAY"
        });
        let before = purge_delay();
        configure_allocator();
        if from_environment {
            assert_eq!(purge_delay(), before, "the operator's value is kept");
        } else {
            assert_eq!(
                before, 1000,
                "v3's default purge delay: the option's number is right"
            );
            assert_eq!(purge_delay(), 0);
        }
    }
}
