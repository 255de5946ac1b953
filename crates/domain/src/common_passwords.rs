//! The list of common passwords (see `data/SOURCES.md`), shipped compressed inside the binary
//! and decompressed once, on first use.

use std::io::Read;
use std::sync::LazyLock;

static COMPRESSED: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// The passwords, sorted, one per line of one string, and where each starts: about a sixth of
/// the memory of a set of 40,000 owned strings, read by binary search.
struct SortedList {
    text: String,
    starts: Vec<u32>,
}

impl SortedList {
    fn new(passwords: &str) -> Self {
        let mut sorted: Vec<&str> = passwords.lines().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut text = String::with_capacity(passwords.len() + 1);
        let mut starts = Vec::with_capacity(sorted.len());
        for password in sorted {
            starts.push(u32::try_from(text.len()).expect("the list is far below 4 GiB"));
            text.push_str(password);
            text.push('\n');
        }
        text.shrink_to_fit();
        Self { text, starts }
    }

    fn entry(&self, start: u32) -> &str {
        let rest = &self.text[start as usize..];
        rest.split('\n').next().unwrap_or(rest)
    }

    fn contains(&self, password: &str) -> bool {
        self.starts
            .binary_search_by(|&start| self.entry(start).cmp(password))
            .is_ok()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.starts.len()
    }
}

static COMMON_PASSWORDS: LazyLock<SortedList> = LazyLock::new(|| {
    let mut text = String::new();
    flate2::read::GzDecoder::new(COMPRESSED)
        .read_to_string(&mut text)
        .expect("the embedded common-password list is valid gzip-compressed UTF-8");
    SortedList::new(&text)
});

/// Whether the lower-cased, trimmed password is on the list (Django's comparison).
pub(crate) fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(&password.trim().to_lowercase())
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

    #[test]
    fn finds_exactly_the_listed_entries_whatever_their_order() {
        let list = SortedList::new("pear\napple\npeach\napple\n");
        assert_eq!(list.len(), 3);
        for listed in ["apple", "peach", "pear"] {
            assert!(list.contains(listed), "{listed}");
        }
        for unlisted in ["", "app", "apples", "pea", "zebra"] {
            assert!(!list.contains(unlisted), "{unlisted}");
        }
    }

    #[test]
    fn finds_every_password_of_the_shipped_file() {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMPRESSED)
            .read_to_string(&mut text)
            .expect("the shipped list decompresses");
        let missing: Vec<&str> = text.lines().filter(|line| !is_common(line)).collect();
        assert!(missing.is_empty(), "not found: {missing:?}");
    }
}
