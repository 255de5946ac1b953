//! Searches of patients and doctors (FHIR's): name matching on the stored folded names, and
//! keyset paging, where a page starts right after (or before) a sort key instead of at an
//! offset, so records added meanwhile never shift a match onto two pages or off every page.
//! Both tables use the same macros (Diesel's column types differ per table).

use healthcare_domain::record_search::{SearchPaging, Seek, fold};

use crate::search::LIKE_ESCAPE;

/// `text` folded, with `%`, `_` and `\` escaped for `LIKE`.
fn folded_like(text: &str) -> String {
    let mut escaped = String::new();
    for c in fold(text).chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push(LIKE_ESCAPE);
        }
        escaped.push(c);
    }
    escaped
}

/// The `LIKE` patterns a folded name must match one of: the start of the name or of a word.
pub(crate) fn starts_with_patterns(text: &str) -> [String; 2] {
    let escaped = folded_like(text);
    [format!("{escaped}%"), format!("% {escaped}%")]
}

/// The `LIKE` pattern of a folded name containing `text`.
pub(crate) fn contains_pattern(text: &str) -> String {
    format!("%{}%", folded_like(text))
}

/// `paging` with the folded name of its anchor filled in, when its position names a record
/// by id only ([`SearchPaging::name_anchor`]); `folded_name_of` reads a record's.
pub(crate) fn resolve_anchor(
    paging: &SearchPaging,
    folded_name_of: impl FnOnce(i64) -> Result<Option<Option<String>>, diesel::result::Error>,
) -> Result<SearchPaging, healthcare_core::RepoError> {
    Ok(match paging.name_anchor() {
        Some(anchor) => paging.anchored(
            folded_name_of(anchor)
                .map_err(crate::errors::from_diesel)?
                .flatten(),
        ),
        None => paging.clone(),
    })
}

/// Whether the query reads the order upwards (from the seek key to larger keys).
pub(crate) fn reads_upwards(paging: &SearchPaging) -> bool {
    matches!(
        (&paging.seek, paging.order.descending),
        (Seek::First | Seek::After(_), false) | (Seek::Before(_), true)
    )
}

/// Rows read with one more than the page holds: the extra one says a page follows in the
/// direction of reading; the other direction is known from the seek itself.
pub(crate) fn into_page<T>(
    mut rows: Vec<T>,
    paging: &SearchPaging,
    total: Option<u64>,
) -> healthcare_domain::record_search::SearchPage<T> {
    let count = usize::try_from(paging.count).unwrap_or(usize::MAX);
    let more = rows.len() > count;
    rows.truncate(count);
    let (has_previous, has_next) = match paging.seek {
        Seek::First => (false, more),
        Seek::After(_) => (true, more),
        Seek::Before(_) => {
            rows.reverse();
            (more, true)
        }
    };
    healthcare_domain::record_search::SearchPage {
        items: rows,
        has_previous,
        has_next,
        total,
    }
}

/// The filter of one name criterion (any of its alternatives) on a table's `name` and
/// `name_folded` columns, as a boxed boolean expression.
macro_rules! name_criterion {
    ($table:ident, $alternatives:expr) => {{
        use diesel::dsl::not;
        use diesel::sql_types::Bool;
        use healthcare_domain::record_search::TextMatch;
        type Condition = Box<
            dyn BoxableExpression<
                    $table::table,
                    crate::connection::DbBackend,
                    SqlType = diesel::sql_types::Nullable<Bool>,
                >,
        >;
        let mut condition: Condition = Box::new(not(true.into_sql::<Bool>()).nullable());
        for alternative in $alternatives {
            let one: Condition = match alternative {
                TextMatch::Exact(text) => Box::new($table::name.eq(text.clone()).nullable()),
                TextMatch::StartsWith(text) => {
                    let [start, word] = crate::record_search::starts_with_patterns(text);
                    Box::new(
                        $table::name_folded
                            .like(start)
                            .escape(crate::search::LIKE_ESCAPE)
                            .or($table::name_folded
                                .like(word)
                                .escape(crate::search::LIKE_ESCAPE)),
                    )
                }
                TextMatch::Contains(text) => Box::new(
                    $table::name_folded
                        .like(crate::record_search::contains_pattern(text))
                        .escape(crate::search::LIKE_ESCAPE),
                ),
            };
            condition = Box::new(condition.or(one));
        }
        condition.assume_not_null()
    }};
}
pub(crate) use name_criterion;

/// Orders `query` by the paging's sort field (`$name` is the table's folded name column)
/// then id, in the direction of reading, keeps the rows beyond the seek key, and
/// limits it to one more row than the page.
macro_rules! seek_in_order {
    ($query:expr, $table:ident, $name:expr, $paging:expr) => {{
        use healthcare_domain::record_search::{Seek, SortField, SortValue};
        let paging: &healthcare_domain::record_search::SearchPaging = $paging;
        let upwards = crate::record_search::reads_upwards(paging);
        let mut query = $query;
        query = match (paging.order.field, upwards) {
            (SortField::Id, true) => query.order($table::id.asc()),
            (SortField::Id, false) => query.order($table::id.desc()),
            (SortField::LastUpdated, true) => {
                query.order(($table::updated_at.asc(), $table::id.asc()))
            }
            (SortField::LastUpdated, false) => {
                query.order(($table::updated_at.desc(), $table::id.desc()))
            }
            (SortField::Name, true) => query.order(($name.asc(), $table::id.asc())),
            (SortField::Name, false) => query.order(($name.desc(), $table::id.desc())),
        };
        if let Seek::After(key) | Seek::Before(key) = &paging.seek {
            let id = key.id;
            query = match (&key.value, upwards) {
                (SortValue::Id, true) => query.filter($table::id.gt(id)),
                (SortValue::Id, false) => query.filter($table::id.lt(id)),
                (SortValue::LastUpdated(at), true) => {
                    let at = crate::time::to_db(*at);
                    query.filter(
                        $table::updated_at
                            .gt(at)
                            .or($table::updated_at.eq(at).and($table::id.gt(id))),
                    )
                }
                (SortValue::LastUpdated(at), false) => {
                    let at = crate::time::to_db(*at);
                    query.filter(
                        $table::updated_at
                            .lt(at)
                            .or($table::updated_at.eq(at).and($table::id.lt(id))),
                    )
                }
                (SortValue::Name(name), true) => query.filter(
                    $name
                        .gt(name.clone())
                        .or($name.eq(name.clone()).and($table::id.gt(id))),
                ),
                (SortValue::Name(name), false) => query.filter(
                    $name
                        .lt(name.clone())
                        .or($name.eq(name.clone()).and($table::id.lt(id))),
                ),
                // Resolved by the repository before the query is built; were it not, an
                // empty page is safer than the first page again (a client would loop).
                (SortValue::NameOf, _) => {
                    query.filter(diesel::dsl::not(true.into_sql::<diesel::sql_types::Bool>()))
                }
            };
        }
        query.limit(i64::try_from(paging.rows_read()).unwrap_or(i64::MAX))
    }};
}
pub(crate) use seek_in_order;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_folded_and_escaped() {
        assert_eq!(starts_with_patterns("José"), ["jose%", "% jose%"]);
        assert_eq!(contains_pattern("5%_É"), "%5\\%\\_e%");
    }
}
