//! The user accounts as staff administer them: one page query and one count query, whatever
//! the page size.

use diesel::prelude::*;
use healthcare_core::ports::{StaffDirectory, UserFilter};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::User;

use crate::connection::{DbBackend, DbPool, checkout};
use crate::errors::from_diesel;
use crate::schema::users;
use crate::search::{LIKE_ESCAPE, contains_pattern, lower};
use crate::users::UserRow;

/// [`StaffDirectory`] over the shared pool.
#[derive(Clone)]
pub struct DieselStaffDirectory {
    pool: DbPool,
}

impl DieselStaffDirectory {
    /// A directory using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

fn matching_users(filter: &UserFilter) -> users::BoxedQuery<'static, DbBackend> {
    let mut query = users::table.into_boxed();
    if let Some(term) = &filter.search {
        let pattern = contains_pattern(term);
        query = query.filter(
            lower(users::name)
                .like(pattern.clone())
                .escape(LIKE_ESCAPE)
                .or(users::email_lower.like(pattern).escape(LIKE_ESCAPE)),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(users::is_active.eq(active));
    }
    if let Some(staff) = filter.staff {
        query = query.filter(users::is_staff.eq(staff));
    }
    query
}

fn page_of<T>(items: Vec<T>, total: i64) -> PageOf<T> {
    PageOf {
        items,
        total: total.unsigned_abs(),
    }
}

impl StaffDirectory for DieselStaffDirectory {
    fn users(&self, filter: &UserFilter, page: Page) -> Result<PageOf<User>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = matching_users(filter)
            .order(users::id.asc())
            .limit(page.limit())
            .offset(page.offset())
            .load::<UserRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = matching_users(filter)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(page_of(
            rows.into_iter().map(UserRow::into_user).collect(),
            total,
        ))
    }
}
