//! [`ClinicRepository`] over Diesel.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::ports::{ClinicRepository, MemberChange};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::Timestamp;
use healthcare_domain::UserId;
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::clinic::{
    Clinic, ClinicId, ClinicName, Invitation, Member, Membership, NewInvitation, Role,
};

use crate::audit::append_in;
use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::{corrupt_row, from_diesel};
use crate::schema::{clinic_invitations, clinic_members, clinics, users};
use crate::time::{from_db, to_db};

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
type ClinicRow = (i64, String, Option<i64>, NaiveDateTime);

const CLINIC_COLUMNS: (
    clinics::id,
    clinics::name,
    clinics::personal_owner_id,
    clinics::created_at,
) = (
    clinics::id,
    clinics::name,
    clinics::personal_owner_id,
    clinics::created_at,
);

fn clinic((id, name, personal_owner, created_at): ClinicRow) -> Clinic {
    Clinic {
        id: ClinicId(id),
        name,
        personal_owner: personal_owner.map(UserId),
        created_at: from_db(created_at),
    }
}

fn membership(row: MembershipRow) -> Result<Membership, RepoError> {
    let (id, name, personal_owner, created_at, role, joined_at) = row;
    Ok(Membership {
        clinic: clinic((id, name, personal_owner, created_at)),
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

    fn membership(&self, clinic: ClinicId, user: UserId) -> Result<Option<Membership>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        membership_in(&mut connection, clinic, user)
    }

    fn create(
        &self,
        name: &ClinicName,
        creator: UserId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Membership, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let clinic: i64 = diesel::insert_into(clinics::table)
                .values((
                    clinics::name.eq(name.as_str()),
                    clinics::created_at.eq(to_db(at)),
                ))
                .returning(clinics::id)
                .get_result(connection)
                .map_err(from_diesel)?;
            diesel::insert_into(clinic_members::table)
                .values((
                    clinic_members::clinic_id.eq(clinic),
                    clinic_members::user_id.eq(creator.0),
                    clinic_members::role.eq(Role::Admin.as_str()),
                    clinic_members::joined_at.eq(to_db(at)),
                ))
                .execute(connection)
                .map_err(from_diesel)?;
            let mut event = audit.clone();
            event.resource_id = Some(clinic);
            append_in(connection, self.pool.audit_key(), &event)?;
            membership_in(connection, ClinicId(clinic), creator)?
                .ok_or_else(|| RepoError::Internal("the new clinic's admin is missing".into()))
        })
    }

    fn rename(
        &self,
        clinic: ClinicId,
        name: &ClinicName,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let renamed = diesel::update(clinics::table.find(clinic.0))
                .set(clinics::name.eq(name.as_str()))
                .execute(connection)
                .map_err(from_diesel)?;
            if renamed == 1 {
                append_in(connection, self.pool.audit_key(), audit)?;
            }
            Ok(renamed == 1)
        })
    }

    fn members(&self, clinic: ClinicId, page: Page) -> Result<PageOf<Member>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let of_clinic = || {
            clinic_members::table
                .inner_join(users::table)
                .filter(clinic_members::clinic_id.eq(clinic.0))
        };
        let rows = of_clinic()
            .order((users::name, users::id))
            .select((
                users::id,
                users::name,
                users::email,
                clinic_members::role,
                clinic_members::joined_at,
            ))
            .limit(page.limit())
            .offset(page.offset())
            .load::<(i64, String, String, String, NaiveDateTime)>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = of_clinic()
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        let items = rows
            .into_iter()
            .map(|row| member(clinic, row))
            .collect::<Result<_, RepoError>>()?;
        Ok(PageOf {
            items,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    fn list_all(&self, page: Page) -> Result<PageOf<(Clinic, u64)>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let members = clinic_members::table
            .filter(clinic_members::clinic_id.eq(clinics::id))
            .count()
            .single_value();
        let rows = clinics::table
            .order(clinics::id)
            .select((CLINIC_COLUMNS, members))
            .limit(page.limit())
            .offset(page.offset())
            .load::<(ClinicRow, Option<i64>)>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = clinics::table
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(PageOf {
            items: rows
                .into_iter()
                .map(|(row, members)| {
                    (
                        clinic(row),
                        u64::try_from(members.unwrap_or(0)).unwrap_or(0),
                    )
                })
                .collect(),
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    fn find(&self, id: ClinicId) -> Result<Option<Clinic>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        Ok(clinics::table
            .find(id.0)
            .select(CLINIC_COLUMNS)
            .first::<ClinicRow>(&mut *connection)
            .optional()
            .map_err(from_diesel)?
            .map(clinic))
    }

    fn invite(
        &self,
        invitation: &NewInvitation,
        audit: &AuditEvent,
    ) -> Result<Invitation, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let id: i64 = diesel::insert_into(clinic_invitations::table)
                .values((
                    clinic_invitations::clinic_id.eq(invitation.clinic.0),
                    clinic_invitations::email.eq(invitation.email.as_str()),
                    clinic_invitations::email_lower.eq(invitation.email.normalized()),
                    clinic_invitations::role.eq(invitation.role.as_str()),
                    clinic_invitations::token_hash.eq(&invitation.token_hash),
                    clinic_invitations::invited_by.eq(invitation.invited_by.0),
                    clinic_invitations::created_at.eq(to_db(invitation.created_at)),
                    clinic_invitations::expires_at.eq(to_db(invitation.expires_at)),
                ))
                .returning(clinic_invitations::id)
                .get_result(connection)
                .map_err(from_diesel)?;
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(Invitation {
                id,
                clinic: invitation.clinic,
                email: invitation.email.as_str().to_owned(),
                role: invitation.role,
                expires_at: invitation.expires_at,
            })
        })
    }

    fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        email_lower: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Membership>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            // One statement marks the invitation spent, so a race accepts it once.
            let accepted: Option<(i64, String)> = diesel::update(
                clinic_invitations::table
                    .filter(clinic_invitations::token_hash.eq(token_hash))
                    .filter(clinic_invitations::accepted_at.is_null())
                    .filter(clinic_invitations::expires_at.gt(to_db(at)))
                    .filter(clinic_invitations::email_lower.eq(email_lower))
                    // Never into a personal clinic, whatever was stored.
                    .filter(
                        clinic_invitations::clinic_id.eq_any(
                            clinics::table
                                .filter(clinics::personal_owner_id.is_null())
                                .select(clinics::id),
                        ),
                    ),
            )
            .set((
                clinic_invitations::accepted_at.eq(to_db(at)),
                clinic_invitations::accepted_by.eq(user.0),
            ))
            .returning((clinic_invitations::clinic_id, clinic_invitations::role))
            .get_result(connection)
            .optional()
            .map_err(from_diesel)?;
            let Some((clinic, role)) = accepted else {
                return Ok(None);
            };
            let clinic = ClinicId(clinic);
            // A member keeps their role. Two invitations to one clinic accepted at once both
            // find no membership; the second insert then conflicts, inside a savepoint so the
            // transaction goes on, and the member it found is returned.
            if membership_in(connection, clinic, user)?.is_none() {
                let inserted = connection.transaction(|connection| {
                    diesel::insert_into(clinic_members::table)
                        .values((
                            clinic_members::clinic_id.eq(clinic.0),
                            clinic_members::user_id.eq(user.0),
                            clinic_members::role.eq(&role),
                            clinic_members::joined_at.eq(to_db(at)),
                        ))
                        .execute(connection)
                });
                match inserted.map_err(from_diesel) {
                    Ok(_) | Err(RepoError::Conflict) => {}
                    Err(other) => return Err(other),
                }
            }
            let mut event = audit.clone();
            event.resource_id = Some(clinic.0);
            append_in(connection, self.pool.audit_key(), &event)?;
            membership_in(connection, clinic, user)
        })
    }

    fn change_role(
        &self,
        clinic: ClinicId,
        user: UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> Result<MemberChange, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let Some(current) = locked_member_role(connection, clinic, user)? else {
                return Ok(MemberChange::NotMember);
            };
            if current == Role::Admin && role != Role::Admin && admins(connection, clinic)? <= 1 {
                return Ok(MemberChange::LastAdmin);
            }
            diesel::update(
                clinic_members::table
                    .filter(clinic_members::clinic_id.eq(clinic.0))
                    .filter(clinic_members::user_id.eq(user.0)),
            )
            .set(clinic_members::role.eq(role.as_str()))
            .execute(connection)
            .map_err(from_diesel)?;
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(MemberChange::Done(member_in(connection, clinic, user)?))
        })
    }

    fn remove_member(
        &self,
        clinic: ClinicId,
        user: UserId,
        audit: &AuditEvent,
    ) -> Result<MemberChange, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            let Some(current) = locked_member_role(connection, clinic, user)? else {
                return Ok(MemberChange::NotMember);
            };
            if current == Role::Admin && admins(connection, clinic)? <= 1 {
                return Ok(MemberChange::LastAdmin);
            }
            diesel::delete(
                clinic_members::table
                    .filter(clinic_members::clinic_id.eq(clinic.0))
                    .filter(clinic_members::user_id.eq(user.0)),
            )
            .execute(connection)
            .map_err(from_diesel)?;
            append_in(connection, self.pool.audit_key(), audit)?;
            Ok(MemberChange::Done(None))
        })
    }
}

/// `user`'s role in `clinic`, after locking the clinic's row for the rest of the transaction
/// (a write that changes nothing): changes to one clinic's members then run one at a time on
/// PostgreSQL, as every write transaction does on SQLite.
fn locked_member_role(
    connection: &mut DbConnection,
    clinic: ClinicId,
    user: UserId,
) -> Result<Option<Role>, RepoError> {
    diesel::update(clinics::table.find(clinic.0))
        .set(clinics::id.eq(clinics::id))
        .execute(connection)
        .map_err(from_diesel)?;
    clinic_members::table
        .filter(clinic_members::clinic_id.eq(clinic.0))
        .filter(clinic_members::user_id.eq(user.0))
        .select(clinic_members::role)
        .first::<String>(connection)
        .optional()
        .map_err(from_diesel)?
        .map(|role| Role::parse(&role).map_err(|_| corrupt_row("clinic_members", clinic.0, "role")))
        .transpose()
}

fn admins(connection: &mut DbConnection, clinic: ClinicId) -> Result<i64, RepoError> {
    clinic_members::table
        .filter(clinic_members::clinic_id.eq(clinic.0))
        .filter(clinic_members::role.eq(Role::Admin.as_str()))
        .count()
        .get_result(connection)
        .map_err(from_diesel)
}

fn member_in(
    connection: &mut DbConnection,
    clinic: ClinicId,
    user: UserId,
) -> Result<Option<Member>, RepoError> {
    clinic_members::table
        .inner_join(users::table)
        .filter(clinic_members::clinic_id.eq(clinic.0))
        .filter(clinic_members::user_id.eq(user.0))
        .select((
            users::id,
            users::name,
            users::email,
            clinic_members::role,
            clinic_members::joined_at,
        ))
        .first::<(i64, String, String, String, NaiveDateTime)>(connection)
        .optional()
        .map_err(from_diesel)?
        .map(|row| member(clinic, row))
        .transpose()
}

fn member(
    clinic: ClinicId,
    (user, name, email, role, joined_at): (i64, String, String, String, NaiveDateTime),
) -> Result<Member, RepoError> {
    Ok(Member {
        user: UserId(user),
        name,
        email,
        role: Role::parse(&role).map_err(|_| corrupt_row("clinic_members", clinic.0, "role"))?,
        joined_at: from_db(joined_at),
    })
}

fn membership_in(
    connection: &mut DbConnection,
    clinic: ClinicId,
    user: UserId,
) -> Result<Option<Membership>, RepoError> {
    memberships(user)
        .filter(clinics::id.eq(clinic.0))
        .select(MEMBERSHIP_COLUMNS)
        .first::<MembershipRow>(connection)
        .optional()
        .map_err(from_diesel)?
        .map(membership)
        .transpose()
}
