//! Links the binaries with packed relative relocations (DT_RELR) on Linux with glibc 2.36 or
//! newer: the table the loader applies at start shrinks from about 1 MiB (45,000 entries of 24
//! bytes on x86_64, read, and kept resident, by every server process) to 13 KiB. Such a binary
//! runs only on a glibc that reads the format, so the option is passed only when the C library
//! linked against defines `GLIBC_ABI_DT_RELR`: built on an older glibc, the binaries stay as
//! they were. (A linker given through `RUSTFLAGS=-C linker=…` is not seen here: the probe then
//! asks the host's `cc`.)

use std::process::Command;

/// The symbol version glibc 2.36 and later define, and a DT_RELR binary requires.
const DT_RELR_VERSION: &[u8] = b"GLIBC_ABI_DT_RELR";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = |key| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") != "linux" || target("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    let Some(library) = linked_c_library() else {
        return;
    };
    // Probe again when the system's C library changes (an upgrade, another host's cache).
    println!("cargo:rerun-if-changed={library}");
    let defines_version = std::fs::read(&library).is_ok_and(|bytes| {
        bytes
            .windows(DT_RELR_VERSION.len())
            .any(|window| window == DT_RELR_VERSION)
    });
    if defines_version {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The path of the `libc.so.6` the linker driver links against, if it finds one.
fn linked_c_library() -> Option<String> {
    let driver = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    let output = Command::new(driver)
        .arg("-print-file-name=libc.so.6")
        .output()
        .ok()?;
    let path = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    // Not found, the driver prints the bare name back.
    std::path::Path::new(&path).is_absolute().then_some(path)
}
