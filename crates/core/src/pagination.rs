//! Pages of list results.

/// Which page of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub number: u64,
    /// Items per page (1–100).
    pub size: u64,
}

impl Page {
    /// Largest page size; larger requests are clamped to it.
    pub const MAX_SIZE: u64 = 100;
    /// Page size when none is asked for.
    pub const DEFAULT_SIZE: u64 = 20;

    /// Rows to skip.
    pub fn offset(self) -> i64 {
        i64::try_from((self.number.saturating_sub(1)).saturating_mul(self.size)).unwrap_or(i64::MAX)
    }

    /// Rows to return.
    pub fn limit(self) -> i64 {
        i64::try_from(self.size).unwrap_or(i64::MAX)
    }

    /// Room for the page's rows (at most [`Page::MAX_SIZE`], whatever the size asked).
    pub fn capacity(self) -> usize {
        usize::try_from(self.size.min(Self::MAX_SIZE)).unwrap_or_default()
    }
}

/// One page of results and the total number of matching items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOf<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: u64,
}

impl<T> PageOf<T> {
    /// No item at all (a list the caller may see nothing of).
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            total: 0,
        }
    }

    /// A page past the end: any page but the first that has no items.
    pub fn is_past_end(&self, page: Page) -> bool {
        page.number > 1 && self.items.is_empty()
    }

    /// Whether a later page has items.
    pub fn has_next(&self, page: Page) -> bool {
        page.number.saturating_mul(page.size) < self.total
    }

    /// The same page with each item converted.
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> PageOf<U> {
        PageOf {
            items: self.items.into_iter().map(convert).collect(),
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_bounds() {
        let page = Page {
            number: 3,
            size: 20,
        };
        assert_eq!((page.offset(), page.limit(), page.capacity()), (40, 20, 20));
        let oversized = Page {
            number: 1,
            size: u64::MAX,
        };
        assert_eq!(oversized.capacity(), 100);
        let empty: PageOf<u8> = PageOf {
            items: vec![],
            total: 0,
        };
        assert!(!empty.is_past_end(Page {
            number: 1,
            size: 20
        }));
        assert!(empty.is_past_end(Page {
            number: 2,
            size: 20
        }));
        let full = PageOf {
            items: vec![1; 20],
            total: 41,
        };
        assert!(full.has_next(Page {
            number: 2,
            size: 20
        }));
        assert!(!full.has_next(Page {
            number: 3,
            size: 20
        }));
    }
}
