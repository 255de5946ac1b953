//! Clinics and their members.

use healthcare_domain::audit::AuditEvent;
use healthcare_domain::break_glass::{Grant, NewGrant};
use healthcare_domain::clinic::{
    Clinic, ClinicId, ClinicName, Invitation, Member, Membership, NewInvitation, Role,
};
use healthcare_domain::{Timestamp, UserId};

use crate::{Page, PageOf, RepoError};

/// The clinics users belong to.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ClinicRepository: Send + Sync {
    /// One page of the clinics `user` is a member of, with their role in each: the personal
    /// clinic first (every account has exactly one, stored with the account), then by name and
    /// id. MUST be empty for an unknown user.
    fn memberships_of(&self, user: UserId, page: Page) -> Result<PageOf<Membership>, RepoError>;

    /// `user`'s membership of their personal clinic; `None` only for an unknown user.
    fn personal_membership(&self, user: UserId) -> Result<Option<Membership>, RepoError>;

    /// `user`'s membership of `clinic`; `None` when they are not a member or there is no such
    /// clinic.
    fn membership(&self, clinic: ClinicId, user: UserId) -> Result<Option<Membership>, RepoError>;

    /// `user`'s membership of `clinic` (`None`: of their personal clinic) when the repository
    /// holds it in memory (a cache's fresh read); `None` when only `membership` or
    /// `personal_membership` can tell. MUST NOT block: the server asks it on its async workers.
    fn membership_in_memory(&self, _user: UserId, _clinic: Option<ClinicId>) -> Option<Membership> {
        None
    }

    /// Stores a new shared clinic named `name`, created at `at`, with `creator` as its admin,
    /// and `audit` with the new clinic's id as its `resource_id`, in one transaction. Returns
    /// the creator's membership.
    fn create(
        &self,
        name: &ClinicName,
        creator: UserId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Membership, RepoError>;

    /// Renames `clinic` and stores `audit` in the same transaction. MUST return `Ok(false)` and
    /// store nothing for an unknown clinic.
    fn rename(
        &self,
        clinic: ClinicId,
        name: &ClinicName,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError>;

    /// One page of `clinic`'s members, by name, then user id.
    fn members(&self, clinic: ClinicId, page: Page) -> Result<PageOf<Member>, RepoError>;

    /// One page of every clinic, by id, each with its number of members (the operator's view).
    fn list_all(&self, page: Page) -> Result<PageOf<(Clinic, u64)>, RepoError>;

    /// The clinic with this id, if there is one.
    fn find(&self, clinic: ClinicId) -> Result<Option<Clinic>, RepoError>;

    /// Stores `invitation` and `audit` (about the clinic) in one transaction.
    fn invite(
        &self,
        invitation: &NewInvitation,
        audit: &AuditEvent,
    ) -> Result<Invitation, RepoError>;

    /// Accepts the invitation whose token is stored as `token_hash`, if it is unspent, not
    /// expired at `at` and for `email_lower`: marks it accepted by `user`, makes them a member
    /// with its role (a member already keeps their role) and stores `audit` with the clinic's
    /// id as its `resource_id`, in one transaction, and returns the membership. MUST return
    /// `Ok(None)` and store nothing otherwise, and accept a token at most once, even when two
    /// acceptances race.
    fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        email_lower: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Membership>, RepoError>;

    /// Gives `user` the role `role` in `clinic` and stores `audit`, in one transaction, unless
    /// that would leave the clinic without an admin. Changes to one clinic's members MUST be
    /// serialised, so two admins demoting each other at once cannot both succeed.
    fn change_role(
        &self,
        clinic: ClinicId,
        user: UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> Result<MemberChange, RepoError>;

    /// Ends `user`'s membership of `clinic` and stores `audit`, in one transaction, unless
    /// they are its last admin; serialised like [`ClinicRepository::change_role`].
    fn remove_member(
        &self,
        clinic: ClinicId,
        user: UserId,
        audit: &AuditEvent,
    ) -> Result<MemberChange, RepoError>;
}

/// What became of a change to a membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// Done; the member as they are now (`None` once removed).
    Done(Option<Member>),
    /// The user is not a member of the clinic: nothing stored.
    NotMember,
    /// The user is the clinic's only admin and would stop being one: nothing stored.
    LastAdmin,
}

/// Break-glass grants.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait BreakGlassRepository: Send + Sync {
    /// Stores `grant`, and `audit` with the new grant's id as its `resource_id` and the
    /// patient as its `patient_id`, in one transaction. Grants are never changed or deleted
    /// afterwards (the database refuses it).
    fn grant(&self, grant: &NewGrant, audit: &AuditEvent) -> Result<Grant, RepoError>;

    /// One page of `clinic`'s grants, running or not, newest first (ties by id).
    fn log(&self, clinic: ClinicId, page: Page) -> Result<PageOf<Grant>, RepoError>;
}
