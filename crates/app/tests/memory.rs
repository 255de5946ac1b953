//! The allocator gives freed memory back when asked (its own process: other tests' allocations
//! would move the resident size).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use healthcare_app::memory::release_freed_memory;

/// Resident pages of this process, from /proc/self/statm.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages = statm.split_whitespace().nth(1).expect("resident pages");
    let pages: usize = pages.parse().expect("a number of pages");
    pages * 4096
}

#[test]
fn gives_back_memory_freed_below_a_live_allocation() {
    const CHUNKS: usize = 16 * 1024;
    // 64 MiB in small blocks (from the heap, not mmap), written so they are resident, then all
    // freed but the last, which keeps glibc from shrinking the heap on its own.
    let mut blocks: Vec<Vec<u8>> = (0..CHUNKS).map(|_| vec![1u8; 4096]).collect();
    let pin = blocks.pop();
    drop(blocks);
    let before = resident_bytes();

    assert!(release_freed_memory(), "nothing was given back");

    let after = resident_bytes();
    assert!(
        before.saturating_sub(after) > 32 << 20,
        "resident {before} bytes before, {after} after"
    );
    drop(pin);
}
