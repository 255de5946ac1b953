//! The list of common passwords (see `data/SOURCES.md`), kept in the binary sorted, one per
//! line, and searched in place: it takes no heap memory, and only the few pages a search reads
//! are ever loaded.

/// The passwords, sorted by bytes (`LC_ALL=C sort -u`), each followed by a newline.
static SORTED: &str = include_str!("../data/common-passwords.txt");

/// Whether `password` is one of the lines of `sorted`, a newline-terminated list sorted by
/// bytes: a binary search over byte offsets, each probe widened to its whole line.
fn contains(sorted: &str, password: &str) -> bool {
    let text = sorted.as_bytes();
    let wanted = password.as_bytes();
    // Invariant: `low` is a line's start, `high` a line's start or the end.
    let (mut low, mut high) = (0, text.len());
    while low < high {
        let middle = low + (high - low) / 2;
        let start = text[low..middle]
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(low, |newline| low + newline + 1);
        let end = text[start..high]
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(high, |newline| start + newline);
        match text[start..end].cmp(wanted) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => low = end + 1,
            std::cmp::Ordering::Greater => high = start,
        }
    }
    false
}

/// Whether the lower-cased, trimmed password is on the list (Django's comparison).
pub(crate) fn is_common(password: &str) -> bool {
    contains(SORTED, &password.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_is_sorted_without_duplicates_or_blank_lines() {
        assert!(SORTED.ends_with('\n'), "the last line has no newline");
        let lines: Vec<&str> = SORTED.lines().collect();
        assert!(lines.len() >= 20_000, "only {} passwords", lines.len());
        assert!(lines.iter().all(|line| !line.is_empty()), "a blank line");
        let unordered: Vec<_> = lines.windows(2).filter(|pair| pair[0] >= pair[1]).collect();
        assert!(unordered.is_empty(), "out of order: {unordered:?}");
    }

    #[test]
    fn matches_case_insensitively_after_trimming() {
        assert!(is_common("password"));
        assert!(is_common(" PassWord "));
        assert!(is_common("12345678"));
        assert!(is_common("ЙЦУКЕН"));
        assert!(!is_common("correct horse battery staple 93"));
    }

    #[test]
    fn finds_exactly_the_listed_entries() {
        for list in ["apple\npeach\npear\n", "apple\napples\npea\npeach\npear\n"] {
            for listed in list.lines() {
                assert!(contains(list, listed), "{listed} in {list:?}");
            }
        }
        let list = "apple\npeach\npear\n";
        for unlisted in ["", "app", "apples", "pea", "peach\npear", "zebra", "\n"] {
            assert!(!contains(list, unlisted), "{unlisted:?}");
        }
        assert!(!contains("", "apple"));
        assert!(contains("only\n", "only"));
    }

    #[test]
    fn finds_every_password_of_the_shipped_list_and_nothing_between_them() {
        let missing: Vec<&str> = SORTED
            .lines()
            .filter(|line| !contains(SORTED, line))
            .collect();
        assert!(missing.is_empty(), "not found: {missing:?}");
        // A character past each entry sorts between it and the next one, or after the last.
        let found: Vec<String> = SORTED
            .lines()
            .map(|line| format!("{line}\u{1}"))
            .filter(|probe| contains(SORTED, probe))
            .collect();
        assert!(found.is_empty(), "found: {found:?}");
    }
}
