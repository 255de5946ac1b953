//! The list of common passwords (see `data/SOURCES.md`), shipped compressed inside the binary
//! and decompressed once, on first use.

use std::collections::HashSet;
use std::io::Read;
use std::sync::LazyLock;

static COMPRESSED: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut text = String::new();
    flate2::read::GzDecoder::new(COMPRESSED)
        .read_to_string(&mut text)
        .expect("the embedded common-password list is valid gzip-compressed UTF-8");
    text.lines().map(str::to_owned).collect()
});

/// Whether the lower-cased, trimmed password is on the list (Django's comparison).
pub(crate) fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.trim().to_lowercase().as_str())
}

/// How many passwords the list holds.
#[cfg(test)]
fn len() -> usize {
    COMMON_PASSWORDS.len()
}

/// Loads the list now rather than on the first registration.
pub fn preload() {
    LazyLock::force(&COMMON_PASSWORDS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_least_twenty_thousand_passwords() {
        assert!(len() >= 20_000, "only {} passwords", len());
    }

    #[test]
    fn matches_case_insensitively_after_trimming() {
        assert!(is_common("password"));
        assert!(is_common(" PassWord "));
        assert!(is_common("12345678"));
        assert!(!is_common("correct horse battery staple 93"));
    }
}
