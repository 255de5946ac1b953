//! [`ClinicRepository`] over Diesel.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::ports::ClinicRepository;
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::UserId;
use healthcare_domain::clinic::{Clinic, ClinicId, Membership, Role};

use crate::connection::{DbPool, checkout};
use crate::errors::{corrupt_row, from_diesel};
use crate::schema::{clinic_members, clinics};
use crate::time::from_db;

/// Clinics and memberships in the shared pool.
pub struct DieselClinicRepository {
    pool: DbPool,
}

impl DieselClinicRepository {
    /// A repository over `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

type MembershipRow = (
    i64,
    String,
    Option<i64>,
    NaiveDateTime,
    String,
    NaiveDateTime,
);

fn membership(row: MembershipRow) -> Result<Membership, RepoError> {
    let (id, name, personal_owner, created_at, role, joined_at) = row;
    Ok(Membership {
        clinic: Clinic {
            id: ClinicId(id),
            name,
            personal_owner: personal_owner.map(UserId),
            created_at: from_db(created_at),
        },
        role: Role::parse(&role).map_err(|_| corrupt_row("clinic_members", id, "role"))?,
        joined_at: from_db(joined_at),
    })
}

/// A user's memberships, with their clinics, in the list's order.
fn memberships(
    user: UserId,
) -> diesel::dsl::Filter<
    diesel::dsl::InnerJoin<clinic_members::table, clinics::table>,
    diesel::dsl::Eq<clinic_members::user_id, i64>,
> {
    clinic_members::table
        .inner_join(clinics::table)
        .filter(clinic_members::user_id.eq(user.0))
}

const MEMBERSHIP_COLUMNS: (
    clinics::id,
    clinics::name,
    clinics::personal_owner_id,
    clinics::created_at,
    clinic_members::role,
    clinic_members::joined_at,
) = (
    clinics::id,
    clinics::name,
    clinics::personal_owner_id,
    clinics::created_at,
    clinic_members::role,
    clinic_members::joined_at,
);

impl ClinicRepository for DieselClinicRepository {
    fn memberships_of(&self, user: UserId, page: Page) -> Result<PageOf<Membership>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = memberships(user)
            .order((
                clinics::personal_owner_id.is_null(),
                clinics::name,
                clinics::id,
            ))
            .select(MEMBERSHIP_COLUMNS)
            .limit(page.limit())
            .offset(page.offset())
            .load::<MembershipRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = memberships(user)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(PageOf {
            items: rows.into_iter().map(membership).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    fn personal_membership(&self, user: UserId) -> Result<Option<Membership>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        memberships(user)
            .filter(clinics::personal_owner_id.eq(user.0))
            .select(MEMBERSHIP_COLUMNS)
            .first::<MembershipRow>(&mut *connection)
            .optional()
            .map_err(from_diesel)?
            .map(membership)
            .transpose()
    }
}
