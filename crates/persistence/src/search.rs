//! Case-insensitive substring search that behaves the same on both databases: the search
//! term is lower-cased by the application (like the stored `*_lower` columns) and `%`, `_`
//! and `\` in it match literally.

/// The escape character used with `LIKE ... ESCAPE`.
pub(crate) const LIKE_ESCAPE: char = '\\';

diesel::define_sql_function! {
    /// SQL `lower()`, for columns without a stored `*_lower` twin. On SQLite every connection
    /// replaces the built-in (ASCII only) with Rust's Unicode lower-casing; PostgreSQL folds
    /// by its locale (a UTF-8 one in every supported set-up).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// `%term%`, lower-cased, with the term's wildcards escaped.
pub(crate) fn contains_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn escapes_wildcards_and_lowercases() {
        assert_eq!(contains_pattern("Ann"), "%ann%");
        assert_eq!(contains_pattern("100%_x\\"), "%100\\%\\_x\\\\%");
        assert_eq!(contains_pattern("ÉLO"), "%élo%");
    }
}
