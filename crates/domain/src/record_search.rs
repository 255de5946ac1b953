//! Searching records the way interoperable clients expect (FHIR's string and date rules):
//! names match ignoring case and accents, by default on the start of any word; results come
//! in a stable order that pages can seek through while records are added.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::Timestamp;

/// `text` lower-cased with its accents removed ("José" → "jose"): what name searches compare.
/// Stored beside each name, so both databases compare the same folded text.
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// How a searched text is compared with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    /// A word of the name starts with the folded text (FHIR's default).
    StartsWith(String),
    /// The whole name equals the text exactly, case and accents included (`:exact`).
    Exact(String),
    /// The folded name contains the folded text anywhere (`:contains`).
    Contains(String),
}

impl TextMatch {
    /// Whether `name` matches (the rule the databases' queries implement, for in-memory stores
    /// and tests).
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::StartsWith(text) => {
                let (folded, text) = (fold(name), fold(text));
                folded.starts_with(&text) || folded.contains(&format!(" {text}"))
            }
            Self::Exact(text) => name == text,
            Self::Contains(text) => fold(name).contains(&fold(text)),
        }
    }
}

/// A bound on when a record was last updated (FHIR date prefixes; `eq` is a pair of bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// Strictly later.
    After(Timestamp),
    /// Later or equal.
    NotBefore(Timestamp),
    /// Strictly earlier.
    Before(Timestamp),
    /// Earlier or equal.
    NotAfter(Timestamp),
}

impl TimeBound {
    /// Whether `at` is within the bound.
    pub fn admits(self, at: Timestamp) -> bool {
        match self {
            Self::After(bound) => at > bound,
            Self::NotBefore(bound) => at >= bound,
            Self::Before(bound) => at < bound,
            Self::NotAfter(bound) => at <= bound,
        }
    }
}

/// What a search sorts by; ties are always broken by id, in the same direction, so the order
/// is total and a page can start right after the last record of the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    /// The record's id: new records come last, so paging forward meets every match once.
    #[default]
    Id,
    /// When it was last updated.
    LastUpdated,
    /// Its folded name ([`fold`]).
    Name,
}

/// A sort field and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchOrder {
    /// The field.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

/// The sort key of one record, as pages seek by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    /// Sorted by id only.
    Id,
    /// The record's last update.
    LastUpdated(Timestamp),
    /// The record's folded name ([`fold`]).
    Name(String),
    /// The folded name of the record with the key's id, for the store to look up: what a
    /// page link carries, so that no name travels in a URL.
    NameOf,
}

/// A position between two records of a search's order (compared by value, then id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeekKey {
    /// The sort value of the record next to the position.
    pub value: SortValue,
    /// That record's id.
    pub id: i64,
}

/// Which records of the order a page holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Seek {
    /// The first records.
    #[default]
    First,
    /// The records right after this key.
    After(SeekKey),
    /// The records right before this key (a page read backwards, served in order).
    Before(SeekKey),
}

/// A page of a search: its records, in order, and whether records exist before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage<T> {
    /// The records.
    pub items: Vec<T>,
    /// Whether matching records come before the first one.
    pub has_previous: bool,
    /// Whether matching records come after the last one.
    pub has_next: bool,
    /// How many records match in all, when asked.
    pub total: Option<u64>,
}

impl<T> SearchPage<T> {
    /// A page with no records.
    pub fn empty(total: Option<u64>) -> Self {
        Self {
            items: Vec::new(),
            has_previous: false,
            has_next: false,
            total: total.map(|_| 0),
        }
    }

    /// The same page with each record converted.
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> SearchPage<U> {
        SearchPage {
            items: self.items.into_iter().map(convert).collect(),
            has_previous: self.has_previous,
            has_next: self.has_next,
            total: self.total,
        }
    }
}

/// How many records a page holds when the client does not say, and at most.
pub const DEFAULT_PAGE: u64 = 20;
/// The largest page; a larger request is clamped to it.
pub const MAX_PAGE: u64 = 100;

/// The paging of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPaging {
    /// The order.
    pub order: SearchOrder,
    /// Where the page starts.
    pub seek: Seek,
    /// How many records, 1 to [`MAX_PAGE`] (0 asks only for the total).
    pub count: u64,
    /// Whether to count every match.
    pub with_total: bool,
}

impl SearchPaging {
    /// How many records a search reads for this page: one past it, to know whether another
    /// follows ([`MAX_PAGE`] at most in the page, whatever the count asked).
    pub fn rows_read(&self) -> u64 {
        self.count.min(MAX_PAGE) + 1
    }

    /// The sort key of a record with this id, last update and name in this paging's order.
    pub fn key_of(&self, id: i64, updated_at: Timestamp, name: &str) -> SeekKey {
        let value = match self.order.field {
            SortField::Id => SortValue::Id,
            SortField::LastUpdated => SortValue::LastUpdated(updated_at),
            SortField::Name => SortValue::Name(fold(name)),
        };
        SeekKey { value, id }
    }

    /// The record whose folded name this paging's position needs ([`SortValue::NameOf`]).
    pub fn name_anchor(&self) -> Option<i64> {
        match &self.seek {
            Seek::After(SeekKey {
                value: SortValue::NameOf,
                id,
            })
            | Seek::Before(SeekKey {
                value: SortValue::NameOf,
                id,
            }) => Some(*id),
            _ => None,
        }
    }

    /// This paging with its anchor's folded name filled in (`None`: the anchor has none, and
    /// the page starts at the first name).
    pub fn anchored(&self, folded_name: Option<String>) -> Self {
        let resolve = |key: &SeekKey| SeekKey {
            value: match key.value {
                SortValue::NameOf => SortValue::Name(folded_name.clone().unwrap_or_default()),
                ref other => other.clone(),
            },
            id: key.id,
        };
        let seek = match &self.seek {
            Seek::First => Seek::First,
            Seek::After(key) => Seek::After(resolve(key)),
            Seek::Before(key) => Seek::Before(resolve(key)),
        };
        Self {
            seek,
            ..self.clone()
        }
    }

    /// This paging's page of `matches` (every match, any order), keyed by `key`: the rule the
    /// databases' queries implement, for in-memory stores and tests.
    pub fn page_in_memory<T>(
        &self,
        mut matches: Vec<T>,
        key: impl Fn(&T) -> SeekKey,
    ) -> SearchPage<T> {
        let total = self.with_total.then_some(matches.len() as u64);
        matches.sort_by_key(|item| key(item));
        if self.order.descending {
            matches.reverse();
        }
        let ahead = |item: &T, of: &SeekKey| {
            let item = key(item);
            if self.order.descending {
                item < *of
            } else {
                item > *of
            }
        };
        let count = usize::try_from(self.count).unwrap_or(usize::MAX);
        let (items, has_previous, has_next) = match &self.seek {
            Seek::First => {
                let has_next = matches.len() > count;
                (matches.into_iter().take(count).collect(), false, has_next)
            }
            Seek::After(after) => {
                let has_previous = matches.iter().any(|item| !ahead(item, after));
                let rest: Vec<T> = matches.into_iter().filter(|i| ahead(i, after)).collect();
                let has_next = rest.len() > count;
                (
                    rest.into_iter().take(count).collect(),
                    has_previous,
                    has_next,
                )
            }
            Seek::Before(before) => {
                let all = matches.len();
                let earlier: Vec<T> = matches
                    .into_iter()
                    .filter(|item| !ahead(item, before) && key(item) != *before)
                    .collect();
                let has_next = all > earlier.len();
                let skip = earlier.len().saturating_sub(count);
                (earlier.into_iter().skip(skip).collect(), skip > 0, has_next)
            }
        };
        SearchPage {
            items,
            has_previous,
            has_next,
            total,
        }
    }
}

impl Default for SearchPaging {
    fn default() -> Self {
        Self {
            order: SearchOrder::default(),
            seek: Seek::First,
            count: DEFAULT_PAGE,
            with_total: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_reads_one_record_past_its_page() {
        let paging = |count| SearchPaging {
            order: SearchOrder::default(),
            seek: Seek::default(),
            count,
            with_total: false,
        };
        assert_eq!(paging(0).rows_read(), 1);
        assert_eq!(paging(20).rows_read(), 21);
        assert_eq!(paging(u64::MAX).rows_read(), MAX_PAGE + 1);
    }

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("José"), "jose");
        assert_eq!(fold("ÉLODIE Müller"), "elodie muller");
        assert_eq!(
            fold("Øyvind"),
            "øyvind",
            "a letter that is not an accented one stays"
        );
        assert_eq!(fold("ﬁona"), "fiona", "compatibility forms decompose");
    }

    #[test]
    fn default_matching_is_a_prefix_of_any_word_ignoring_case_and_accents() {
        let prefix = |text: &str| TextMatch::StartsWith(text.into());
        assert!(prefix("jose").matches("José García"));
        assert!(prefix("GARC").matches("José García"));
        assert!(!prefix("arc").matches("José García"), "not inside a word");
        assert!(!prefix("jose garcia x").matches("José García"));
    }

    #[test]
    fn exact_and_contains() {
        assert!(TextMatch::Exact("José García".into()).matches("José García"));
        assert!(!TextMatch::Exact("jose garcía".into()).matches("José García"));
        assert!(TextMatch::Contains("RCI".into()).matches("José García"));
        assert!(!TextMatch::Contains("xyz".into()).matches("José García"));
    }

    #[test]
    fn pages_seek_forwards_and_backwards_in_a_total_order() {
        let at = Timestamp::from_timestamp(0, 0).expect("a time");
        let paging = |seek: Seek| SearchPaging {
            order: SearchOrder {
                field: SortField::Name,
                descending: false,
            },
            seek,
            count: 2,
            with_total: true,
        };
        let names = [(1, "b"), (2, "a"), (3, "b"), (4, "c"), (5, "a")];
        let page = |seek| {
            let paging = paging(seek);
            paging.page_in_memory(names.to_vec(), |(id, name)| paging.key_of(*id, at, name))
        };
        let first = page(Seek::First);
        assert_eq!(first.items, [(2, "a"), (5, "a")]);
        assert_eq!(
            (first.has_previous, first.has_next, first.total),
            (false, true, Some(5))
        );
        let key = |(id, name): (i64, &str)| paging(Seek::First).key_of(id, at, name);
        let second = page(Seek::After(key((5, "a"))));
        assert_eq!(second.items, [(1, "b"), (3, "b")]);
        assert_eq!((second.has_previous, second.has_next), (true, true));
        let last = page(Seek::After(key((3, "b"))));
        assert_eq!(last.items, [(4, "c")]);
        assert_eq!((last.has_previous, last.has_next), (true, false));
        let back = page(Seek::Before(key((4, "c"))));
        assert_eq!(back.items, second.items);
        assert_eq!((back.has_previous, back.has_next), (true, true));
        let front = page(Seek::Before(key((1, "b"))));
        assert_eq!(front.items, first.items);
        assert!(!front.has_previous);
    }

    #[test]
    fn time_bounds() {
        let at = |s: i64| Timestamp::from_timestamp(s, 0).expect("a time");
        assert!(TimeBound::After(at(10)).admits(at(11)));
        assert!(!TimeBound::After(at(10)).admits(at(10)));
        assert!(TimeBound::NotBefore(at(10)).admits(at(10)));
        assert!(TimeBound::Before(at(10)).admits(at(9)));
        assert!(!TimeBound::Before(at(10)).admits(at(10)));
        assert!(TimeBound::NotAfter(at(10)).admits(at(10)));
    }
}
