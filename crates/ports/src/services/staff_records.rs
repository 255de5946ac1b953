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

    // ---- patients

    /// Patients of every owner matching `filter`, newest first (audited as a list).
    pub fn patients(
        &self,
        staff: &StaffCaller,
        filter: &PatientFilter,
        page: Page,
    ) -> Result<PageOf<Patient>, ServiceError> {
        let event = staff.event(AuditAction::PatientList, self.now(), Target::NONE);
        let result = self
            .ports
            .directory
            .patients(filter, page)
            .map_err(Refusal::from);
        record_outcome(self.trail(), event, result)
    }

    /// One patient, archived or not, with its owner and doctors (audited as a read).
    pub fn patient(
        &self,
        staff: &StaffCaller,
        id: PatientId,
    ) -> Result<PatientDetail, ServiceError> {
        let event = staff.event(AuditAction::PatientRead, self.now(), Target::patient(id));
        let result = self.patient_detail(id).map_err(Refusal::from);
        record_outcome(self.trail(), event, result)
    }

    fn patient_detail(&self, id: PatientId) -> Result<PatientDetail, ServiceError> {
        let patient = self.find_patient(id)?;
        let owner = self.ports.users.find_by_id(patient.owner)?;
        let mappings = self.related_mappings(MappingSearch {
            patient: Some(id),
            ..MappingSearch::default()
        })?;
        Ok(PatientDetail {
            patient,
            owner,
            mappings,
        })
    }

    /// Replaces a patient's details, with the API's validation; refused with
    /// `PreconditionFailed` when the patient changed since `expected_version` (someone else
    /// saved first) and `NotFound` when it is archived.
    pub fn update_patient(
        &self,
        staff: &StaffCaller,
        id: PatientId,
        input: PatientInput,
        shape_errors: FieldErrors,
        expected_version: i64,
    ) -> Result<Patient, ServiceError> {
        let now = self.now();
        let event = staff.event(AuditAction::PatientUpdate, now, Target::patient(id));
        let result: Result<Patient, Refusal> = (|| {
            let current = self.find_patient(id)?;
            if current.archived_at.is_some() {
                return Err(ServiceError::NotFound(Resource::Patient).into());
            }
            let changes: PatientChanges = input.validate(WriteMode::Replace, shape_errors)?;
            if current.version != expected_version {
                return Err(ServiceError::PreconditionFailed.into());
            }
            let details = changes.apply_to(&current.details);
            self.ports
                .patients
                .update(id, &details, expected_version, now, &event)?
                .ok_or_else(|| ServiceError::PreconditionFailed.into())
        })();
        record_refusal(self.trail(), event.clone(), result)
    }

    /// Archives a patient and ends its mappings (the soft-delete policy). `NotFound` when
    /// unknown or already archived.
    pub fn archive_patient(&self, staff: &StaffCaller, id: PatientId) -> Result<(), ServiceError> {
        let now = self.now();
        let event = staff.event(AuditAction::PatientDelete, now, Target::patient(id));
        let result: Result<(), Refusal> = match self.ports.patients.archive(id, now, &event) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ServiceError::NotFound(Resource::Patient).into()),
            Err(error) => Err(error.into()),
        };
        record_refusal(self.trail(), event.clone(), result)
    }

    /// Un-archives a patient; its mappings stay ended.
    pub fn restore_patient(&self, staff: &StaffCaller, id: PatientId) -> Result<(), ServiceError> {
        self.patient_service
            .restore_patient(Some(staff.user().id), staff.origin(), id)
    }

    // ---- doctors

    /// Doctors matching `filter`, by name.
    pub fn doctors(
        &self,
        _staff: &StaffCaller,
        filter: &DoctorSearch,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, ServiceError> {
        Ok(self.ports.directory.doctors(filter, page)?)
    }

    /// One doctor, archived or not, with its patients (audited as a mapping list, since it
    /// names patients).
    pub fn doctor(&self, staff: &StaffCaller, id: DoctorId) -> Result<DoctorDetail, ServiceError> {
        let doctor = self.find_doctor(id)?;
        let event = staff.event(
            AuditAction::MappingList,
            self.now(),
            Target::record(id.0, None),
        );
        let result = self
            .related_mappings(MappingSearch {
                doctor: Some(id),
                ..MappingSearch::default()
            })
            .map_err(Refusal::from);
        let mappings = record_outcome(self.trail(), event, result)?;
        Ok(DoctorDetail { doctor, mappings })
    }

    /// Replaces a doctor's details, with the API's validation; `PreconditionFailed` when it
    /// changed since `expected_version`, `NotFound` when archived.
    pub fn update_doctor(
        &self,
        _staff: &StaffCaller,
        id: DoctorId,
        input: DoctorInput,
        shape_errors: FieldErrors,
        expected_version: i64,
    ) -> Result<DoctorWithCount, ServiceError> {
        let current = self.find_doctor(id)?;
        if current.doctor.archived_at.is_some() {
            return Err(ServiceError::NotFound(Resource::Doctor));
        }
        let changes: DoctorChanges = input.validate(WriteMode::Replace, shape_errors)?;
        if current.doctor.version != expected_version {
            return Err(ServiceError::PreconditionFailed);
        }
        let details = changes.apply_to(&current.doctor.details);
        self.ports
            .doctors
            .update(id, &details, expected_version, self.now())?
            .ok_or(ServiceError::PreconditionFailed)
    }

    /// Archives a doctor and ends its mappings, each ended mapping recorded (in the archive's
    /// transaction) as a `mapping.remove` row with the staff user as actor. `NotFound` when
    /// unknown or already archived.
    pub fn archive_doctor(&self, staff: &StaffCaller, id: DoctorId) -> Result<(), ServiceError> {
        let current = self.find_doctor(id)?;
        if current.doctor.archived_at.is_some() {
            return Err(ServiceError::NotFound(Resource::Doctor));
        }
        let now = self.now();
        let event = staff.event(AuditAction::MappingRemove, now, Target::NONE);
        if self.ports.doctors.archive(id, now, &event)? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(Resource::Doctor))
        }
    }

    /// Un-archives a doctor; its mappings stay ended.
    pub fn restore_doctor(&self, _staff: &StaffCaller, id: DoctorId) -> Result<(), ServiceError> {
        if self.ports.directory.restore_doctor(id, self.now())? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(Resource::Doctor))
        }
    }

    // ---- mappings

    /// Mappings of every owner matching `filter`, newest first (audited as a list).
    pub fn mappings(
        &self,
        staff: &StaffCaller,
        filter: &MappingSearch,
        page: Page,
    ) -> Result<PageOf<MappingView>, ServiceError> {
        let event = staff.event(AuditAction::MappingList, self.now(), Target::NONE);
        let result = self
            .ports
            .directory
            .mappings(filter, page)
            .map_err(Refusal::from);
        record_outcome(self.trail(), event, result)
    }

    /// One mapping, active or ended, with its patient's and doctor's names (audited as a
    /// mapping list, since it names a patient). `NotFound` when unknown.
    pub fn mapping(&self, staff: &StaffCaller, id: MappingId) -> Result<MappingView, ServiceError> {
        let found = self.ports.mappings.find(id)?;
        let patient = found.as_ref().map(|mapping| mapping.patient_id);
        let event = staff.event(
            AuditAction::MappingList,
            self.now(),
            Target::record(id.0, patient),
        );
        let result = found
            .ok_or(ServiceError::NotFound(Resource::PatientDoctorMapping))
            .and_then(|mapping| self.mapping_view(mapping))
            .map_err(Refusal::from);
        record_outcome(self.trail(), event, result)
    }

    fn mapping_view(&self, mapping: Mapping) -> Result<MappingView, ServiceError> {
        let not_found = || ServiceError::NotFound(Resource::PatientDoctorMapping);
        let patient = self
            .ports
            .patients
            .find(mapping.patient_id)?
            .ok_or_else(not_found)?;
        let doctor = self
            .ports
            .doctors
            .find(mapping.doctor_id)?
            .ok_or_else(not_found)?
            .doctor;
        Ok(MappingView {
            mapping,
            patient_name: patient.details.name.as_str().to_owned(),
            doctor_name: doctor.details.name.as_str().to_owned(),
            doctor_specialization: doctor.details.specialization.as_str().to_owned(),
        })
    }

    /// Replaces the notes of an active mapping, with the API's validation of notes; the change
    /// and its audit row are stored together. `NotFound` when unknown or ended.
    pub fn update_mapping_notes(
        &self,
        staff: &StaffCaller,
        id: MappingId,
        notes: &str,
    ) -> Result<MappingView, ServiceError> {
        let now = self.now();
        let found = self.ports.mappings.find(id)?;
        let event = staff.event(
            AuditAction::MappingUpdate,
            now,
            Target::record(id.0, found.as_ref().map(|mapping| mapping.patient_id)),
        );
        let not_found = || Refusal::from(ServiceError::NotFound(Resource::PatientDoctorMapping));
        let result: Result<MappingView, Refusal> = (|| {
            if !found.as_ref().is_some_and(Mapping::is_removable) {
                return Err(not_found());
            }
            let mut errors = FieldErrors::new();
            let submitted = Submitted::Given(notes.to_owned());
            let Some(notes) = check_notes(&mut errors, submitted, WriteMode::Replace) else {
                return Err(errors.into());
            };
            self.ports
                .mappings
                .update_notes(id, &notes, now, &event)?
                .ok_or_else(not_found)
        })();
        record_refusal(self.trail(), event.clone(), result)
    }

    /// Ends an active mapping. `NotFound` when unknown or already ended.
    pub fn remove_mapping(&self, staff: &StaffCaller, id: MappingId) -> Result<(), ServiceError> {
        let now = self.now();
        let patient = self.ports.mappings.find(id)?.map(|found| found.patient_id);
        let event = staff.event(
            AuditAction::MappingRemove,
            now,
            Target::record(id.0, patient),
        );
        let result: Result<(), Refusal> = match self.ports.mappings.deactivate(id, now, &event) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ServiceError::NotFound(Resource::PatientDoctorMapping).into()),
            Err(error) => Err(error.into()),
        };
        record_refusal(self.trail(), event.clone(), result)
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
