//! What only staff do, through the admin site: administer user accounts and check the audit
//! chain. Each use case takes a [`StaffCaller`], which only a checked admin session produces.
//! Staff reach patients, doctors and mappings through the same use cases as everyone else,
//! as [`healthcare_domain::access::Actor::PlatformStaff`].

use std::sync::Arc;

use healthcare_domain::audit::{AuditRecord, ChainKey, DEFAULT_MAX_SKEW_SECONDS};
use healthcare_domain::{FieldErrors, FieldProblem, User, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditFilter, SecondFactorRepository, StaffDirectory, UserFilter, UserRepository,
};
use crate::services::audit::ChainReport;
use crate::services::staff_sign_in::{StaffCaller, StaffSignIn};
use crate::services::{AuditService, AuthService};
use crate::{Resource, ServiceError};

/// A user's second factor, as the user page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorStatus {
    /// Not enrolled: the next sign-in to the admin site enrols.
    None,
    /// Enrolment begun but not confirmed.
    Enrolling,
    /// Enrolled, with this many unused recovery codes.
    Enrolled {
        /// Unused recovery codes.
        recovery_codes_left: u32,
    },
}

/// A user and their second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetail {
    /// The user.
    pub user: User,
    /// Their second factor.
    pub second_factor: SecondFactorStatus,
}

/// The ports and services [`StaffRecords`] is built on.
#[derive(Clone)]
pub struct StaffRecordsPorts {
    /// The user list.
    pub directory: Arc<dyn StaffDirectory>,
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Second factors.
    pub factors: Arc<dyn SecondFactorRepository>,
}

/// The staff's use cases.
#[derive(Clone)]
pub struct StaffRecords {
    ports: StaffRecordsPorts,
    auth: AuthService,
    sign_in: StaffSignIn,
    audit: AuditService,
    chain_key: ChainKey,
}

impl StaffRecords {
    /// Wires the service; `chain_key` checks the audit chain.
    pub fn new(
        ports: StaffRecordsPorts,
        auth: AuthService,
        sign_in: StaffSignIn,
        audit: AuditService,
        chain_key: ChainKey,
    ) -> Self {
        Self {
            ports,
            auth,
            sign_in,
            audit,
            chain_key,
        }
    }

    // ---- users

    /// Users matching `filter`, by id.
    pub fn users(
        &self,
        _staff: &StaffCaller,
        filter: &UserFilter,
        page: Page,
    ) -> Result<PageOf<User>, ServiceError> {
        Ok(self.ports.directory.users(filter, page)?)
    }

    /// One user and their second factor.
    pub fn user(&self, _staff: &StaffCaller, id: UserId) -> Result<UserDetail, ServiceError> {
        let user = self
            .ports
            .users
            .find_by_id(id)?
            .ok_or(ServiceError::NotFound(Resource::User))?;
        let second_factor = match self.ports.factors.find(id)? {
            None => SecondFactorStatus::None,
            Some(factor) if factor.confirmed_at.is_none() => SecondFactorStatus::Enrolling,
            Some(_) => SecondFactorStatus::Enrolled {
                recovery_codes_left: self.ports.factors.unused_recovery_codes(id)?,
            },
        };
        Ok(UserDetail {
            user,
            second_factor,
        })
    }

    /// Activates or deactivates a user. Deactivation revokes their tokens and ends their admin
    /// sessions at once. Staff cannot deactivate themselves.
    pub fn set_user_active(
        &self,
        staff: &StaffCaller,
        id: UserId,
        active: bool,
    ) -> Result<(), ServiceError> {
        refuse_self(staff, id)?;
        let found = self
            .auth
            .set_user_active(Some(staff.user().id), staff.origin(), id, active)?;
        found_or_missing(found)
    }

    /// Grants or removes staff rights; removal ends the user's admin sessions at once. Staff
    /// cannot remove their own rights.
    pub fn set_user_staff(
        &self,
        staff: &StaffCaller,
        id: UserId,
        is_staff: bool,
    ) -> Result<(), ServiceError> {
        refuse_self(staff, id)?;
        let found =
            self.auth
                .set_user_staff(Some(staff.user().id), staff.origin(), id, is_staff)?;
        found_or_missing(found)
    }

    /// Sets a new password chosen by staff (a forced reset), checked by the password policy;
    /// the user's tokens are revoked and their admin sessions end.
    pub fn reset_password(
        &self,
        staff: &StaffCaller,
        id: UserId,
        new_password: &str,
    ) -> Result<(), ServiceError> {
        // One's own password is changed with the old one, through the API.
        refuse_self(staff, id)?;
        let found =
            self.auth
                .reset_password(Some(staff.user().id), staff.origin(), id, new_password)?;
        found_or_missing(found)
    }

    /// Removes a user's second factor; their next sign-in enrols again. `Ok(false)` when they
    /// had none.
    pub fn reset_second_factor(
        &self,
        staff: &StaffCaller,
        id: UserId,
    ) -> Result<bool, ServiceError> {
        self.ports
            .users
            .find_by_id(id)?
            .ok_or(ServiceError::NotFound(Resource::User))?;
        self.sign_in
            .reset_second_factor(Some(staff.user().id), staff.origin(), id)
    }

    // ---- audit trail

    /// Audit rows matching `filter`, newest first (itself recorded as `audit.read`).
    pub fn audit_events(
        &self,
        staff: &StaffCaller,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<PageOf<AuditRecord>, ServiceError> {
        self.audit.list_events(staff.caller(), filter, page)
    }

    /// Verifies the whole sealed chain.
    pub fn verify_chain(&self, _staff: &StaffCaller) -> Result<ChainReport, ServiceError> {
        self.audit
            .verify(&self.chain_key, None, DEFAULT_MAX_SKEW_SECONDS)
    }
}

fn refuse_self(staff: &StaffCaller, id: UserId) -> Result<(), ServiceError> {
    if staff.user().id == id {
        Err(FieldErrors::single("user", FieldProblem::NotOnYourself).into())
    } else {
        Ok(())
    }
}

fn found_or_missing(found: bool) -> Result<(), ServiceError> {
    if found {
        Ok(())
    } else {
        Err(ServiceError::NotFound(Resource::User))
    }
}
