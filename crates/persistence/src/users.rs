//! User accounts in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_core::ports::{UserCredentials, UserRepository};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::clinic::{ClinicName, Role};
use healthcare_domain::{NewUser, Timestamp, User, UserId};

use crate::audit::append_in;
use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::from_diesel;
use crate::schema::{clinic_members, clinics, users};
use crate::time::{from_db, opt_from_db, to_db};

/// A row of `users`, in the table's column order.
#[derive(Queryable)]
pub(crate) struct UserRow {
    id: i64,
    name: String,
    email: String,
    _email_lower: String,
    password_hash: String,
    is_active: bool,
    is_staff: bool,
    created_at: NaiveDateTime,
    tokens_valid_after: Option<NaiveDateTime>,
}

impl UserRow {
    fn into_credentials(self) -> UserCredentials {
        UserCredentials {
            user: User {
                id: UserId(self.id),
                name: self.name,
                email: self.email,
                is_active: self.is_active,
                is_staff: self.is_staff,
                created_at: from_db(self.created_at),
                tokens_valid_after: opt_from_db(self.tokens_valid_after),
            },
            password_hash: self.password_hash,
        }
    }

    pub(crate) fn into_user(self) -> User {
        self.into_credentials().user
    }
}

/// [`UserRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselUserRepository {
    pool: DbPool,
}

impl DieselUserRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// `user`'s personal clinic, named after them, with them as its admin.
fn insert_personal_clinic(connection: &mut DbConnection, user: &User) -> Result<(), RepoError> {
    let clinic: i64 = diesel::insert_into(clinics::table)
        .values((
            clinics::name.eq(ClinicName::personal_for(&user.name).as_str()),
            clinics::personal_owner_id.eq(user.id.0),
            clinics::created_at.eq(to_db(user.created_at)),
        ))
        .returning(clinics::id)
        .get_result(connection)
        .map_err(from_diesel)?;
    diesel::insert_into(clinic_members::table)
        .values((
            clinic_members::clinic_id.eq(clinic),
            clinic_members::user_id.eq(user.id.0),
            clinic_members::role.eq(Role::Admin.as_str()),
            clinic_members::joined_at.eq(to_db(user.created_at)),
        ))
        .execute(connection)
        .map_err(from_diesel)?;
    Ok(())
}

impl UserRepository for DieselUserRepository {
    /// Stores the account and, in the same transaction, its personal clinic, of which it is
    /// the admin (every account has one).
    fn insert(&self, user: &NewUser) -> Result<User, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let stored = diesel::insert_into(users::table)
                .values((
                    users::name.eq(user.name.as_str()),
                    users::email.eq(user.email.as_str()),
                    users::email_lower.eq(user.email.normalized()),
                    users::password_hash.eq(&user.password_hash),
                    users::is_active.eq(true),
                    users::is_staff.eq(user.is_staff),
                    users::created_at.eq(to_db(user.created_at)),
                ))
                .returning(users::all_columns)
                .get_result::<UserRow>(connection)
                .map(UserRow::into_user)
                .map_err(from_diesel)?;
            insert_personal_clinic(connection, &stored)?;
            Ok(stored)
        })
    }

    fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        users::table
            .find(id.0)
            .first::<UserRow>(&mut *connection)
            .optional()
            .map(|row| row.map(UserRow::into_user))
            .map_err(from_diesel)
    }

    fn find_credentials_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        users::table
            .filter(users::email_lower.eq(normalized_email))
            .first::<UserRow>(&mut *connection)
            .optional()
            .map(|row| row.map(UserRow::into_credentials))
            .map_err(from_diesel)
    }

    fn list(&self) -> Result<Vec<User>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        users::table
            .order(users::id)
            .load::<UserRow>(&mut *connection)
            .map(|rows| rows.into_iter().map(UserRow::into_user).collect())
            .map_err(from_diesel)
    }

    fn update_password(
        &self,
        id: UserId,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let updated = diesel::update(users::table.find(id.0))
                .set(users::password_hash.eq(password_hash))
                .execute(connection)
                .map_err(from_diesel)?;
            if updated == 1 {
                append_in(connection, self.pool.audit_key(), audit)?;
            }
            Ok(updated == 1)
        })
    }

    fn refuse_tokens_issued_before(&self, id: UserId, at: Timestamp) -> Result<(), RepoError> {
        let mut connection = checkout(&self.pool)?;
        diesel::update(
            users::table.find(id.0).filter(
                users::tokens_valid_after
                    .is_null()
                    .or(users::tokens_valid_after.lt(to_db(at))),
            ),
        )
        .set(users::tokens_valid_after.eq(to_db(at)))
        .execute(&mut *connection)
        .map(drop)
        .map_err(from_diesel)
    }

    fn set_staff(&self, id: UserId, staff: bool, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let updated = diesel::update(users::table.find(id.0))
                .set(users::is_staff.eq(staff))
                .execute(connection)
                .map_err(from_diesel)?;
            if updated == 1 {
                append_in(connection, self.pool.audit_key(), audit)?;
            }
            Ok(updated == 1)
        })
    }

    fn set_active(&self, id: UserId, active: bool, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let updated = diesel::update(users::table.find(id.0))
                .set(users::is_active.eq(active))
                .execute(connection)
                .map_err(from_diesel)?;
            if updated == 1 {
                append_in(connection, self.pool.audit_key(), audit)?;
            }
            Ok(updated == 1)
        })
    }
}
