//! What staff do through the admin site: every owner's records, archived ones included. Each
//! use case takes a [`StaffCaller`], which only a checked admin session produces, and every
//! access to patient data leaves an audit row with the staff user as actor.

use std::sync::Arc;

use healthcare_domain::audit::{AuditAction, AuditRecord, ChainKey, DEFAULT_MAX_SKEW_SECONDS};
use healthcare_domain::doctor::{DoctorChanges, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::mapping::{Mapping, MappingId, check_notes};
use healthcare_domain::patient::{Patient, PatientChanges, PatientId, PatientInput};
use healthcare_domain::{FieldErrors, User, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditFilter, AuditTrail, Clock, DoctorRepository, DoctorSearch, DoctorWithCount,
    MappingRepository, MappingSearch, MappingView, PatientFilter, PatientRepository,
    SecondFactorRepository, SignInFactors, StaffDirectory, UserFilter, UserRepository,
};
use crate::services::audit::{
    Caller, ChainReport, Refusal, Target, record_outcome, record_refusal,
};
use crate::services::staff_sign_in::{StaffCaller, StaffSignIn};
use crate::services::{AuditService, AuthService, PatientService};
use crate::{Resource, ServiceError};

mod records;

/// Shown when staff try to lock themselves out.
pub const NOT_ON_YOURSELF: &str =
    "You cannot do this to your own account; ask another staff member.";

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

/// A patient with its owner and its mappings (active and ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDetail {
    /// The patient.
    pub patient: Patient,
    /// Who created it.
    pub owner: Option<User>,
    /// Its doctors, newest first.
    pub mappings: Vec<MappingView>,
}

/// A doctor with its mappings (active and ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorDetail {
    /// The doctor and its patient count.
    pub doctor: DoctorWithCount,
    /// Its patients, newest first.
    pub mappings: Vec<MappingView>,
}

/// Related records shown on a detail page, at most.
const RELATED_LIMIT: u64 = 100;

/// The ports and services [`StaffRecords`] is built on.
#[derive(Clone)]
pub struct StaffRecordsPorts {
    /// Lists across owners.
    pub directory: Arc<dyn StaffDirectory>,
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Patients.
    pub patients: Arc<dyn PatientRepository>,
    /// Doctors.
    pub doctors: Arc<dyn DoctorRepository>,
    /// Mappings.
    pub mappings: Arc<dyn MappingRepository>,
    /// Second factors.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// Reads and refusals.
    pub trail: Arc<dyn AuditTrail>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// The staff's use cases.
#[derive(Clone)]
pub struct StaffRecords {
    ports: StaffRecordsPorts,
    auth: AuthService,
    sign_in: StaffSignIn,
    patient_service: PatientService,
    audit: AuditService,
    chain_key: ChainKey,
}

impl StaffRecords {
    /// Wires the service; `chain_key` checks the audit chain.
    pub fn new(
        ports: StaffRecordsPorts,
        auth: AuthService,
        sign_in: StaffSignIn,
        patient_service: PatientService,
        audit: AuditService,
        chain_key: ChainKey,
    ) -> Self {
        Self {
            ports,
            auth,
            sign_in,
            patient_service,
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
        self.audit.list_events(&self.caller(staff), filter, page)
    }

    /// Verifies the whole sealed chain.
    pub fn verify_chain(&self, _staff: &StaffCaller) -> Result<ChainReport, ServiceError> {
        self.audit
            .verify(&self.chain_key, None, DEFAULT_MAX_SKEW_SECONDS)
    }

    /// Staff on the admin site signed in with their second factor.
    fn caller(&self, staff: &StaffCaller) -> Caller {
        Caller::new(
            staff.user(),
            SignInFactors::PasswordAndCode,
            staff.origin().clone(),
        )
    }

    fn find_patient(&self, id: PatientId) -> Result<Patient, ServiceError> {
        self.ports
            .patients
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Patient))
    }

    fn find_doctor(&self, id: DoctorId) -> Result<DoctorWithCount, ServiceError> {
        self.ports
            .doctors
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Doctor))
    }

    fn related_mappings(&self, filter: MappingSearch) -> Result<Vec<MappingView>, ServiceError> {
        let page = Page {
            number: 1,
            size: RELATED_LIMIT,
        };
        Ok(self.ports.directory.mappings(&filter, page)?.items)
    }

    fn trail(&self) -> &dyn AuditTrail {
        self.ports.trail.as_ref()
    }

    fn now(&self) -> healthcare_domain::Timestamp {
        self.ports.clock.now()
    }
}

fn refuse_self(staff: &StaffCaller, id: UserId) -> Result<(), ServiceError> {
    if staff.user().id == id {
        Err(FieldErrors::single("user", NOT_ON_YOURSELF).into())
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
