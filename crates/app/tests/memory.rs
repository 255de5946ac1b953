//! The allocator gives freed memory back when asked (its own process: other tests' allocations
//! would move the resident size).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use healthcare_app::memory::release_freed_memory;

/// Resident memory of this process, from /proc/self/status.
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .expect("a size")
        .parse()
        .expect("a number of kB");
    kib * 1024
}

#[test]
fn gives_back_memory_freed_below_a_live_allocation() {
    const CHUNKS: usize = 16 * 1024;
    // 64 MiB in small blocks (from the heap, not mmap), written so they are resident, then all
    // freed but the last, which keeps glibc from shrinking the heap on its own.
    let mut blocks: Vec<Vec<u8>> = (0..CHUNKS).map(|_| vec![1u8; 4096]).collect();
    let pin = blocks.pop();
    drop(std::hint::black_box(blocks));
    let before = resident_bytes();

    assert!(release_freed_memory(), "nothing was given back");

    let after = resident_bytes();
    assert!(
        before.saturating_sub(after) > 32 << 20,
        "resident {before} bytes before, {after} after"
    );
    drop(pin);
}
