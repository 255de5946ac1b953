//! Patient records, for every actor: the domain's access rule decides what each may see and
//! do; deleting archives. Every use case leaves exactly one audit row.

use std::sync::Arc;

use healthcare_domain::access::{Operation, mappings_visible, patient_access, patients_visible};
use healthcare_domain::audit::AuditAction;
use healthcare_domain::fields::WriteMode;
use healthcare_domain::mapping::MappingFilter;
use healthcare_domain::patient::{Patient, PatientChanges, PatientFilter, PatientId, PatientInput};
use healthcare_domain::{FieldErrors, User};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditTrail, Clock, MappingRepository, MappingView, PatientRepository, UserRepository,
};
use crate::services::audit::{Caller, Refusal, Target, permit};
use crate::services::versioning::{IfMatch, write_with_version_check};
use crate::{Resource, ServiceError};

/// Mappings shown beside a patient, at most.
pub const RELATED_LIMIT: u64 = 100;

/// A patient with who registered it and its doctors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDetail {
    /// The patient.
    pub patient: Patient,
    /// Who registered it.
    pub owner: Option<User>,
    /// Its mappings the caller may see, newest first, at most [`RELATED_LIMIT`].
    pub mappings: Vec<MappingView>,
}

/// The ports [`PatientService`] is built on.
#[derive(Clone)]
pub struct PatientPorts {
    /// Patients.
    pub patients: Arc<dyn PatientRepository>,
    /// Mappings, for a patient's doctors.
    pub mappings: Arc<dyn MappingRepository>,
    /// Accounts, for a patient's owner.
    pub users: Arc<dyn UserRepository>,
    /// Reads and refusals.
    pub trail: Arc<dyn AuditTrail>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Use cases on patients.
#[derive(Clone)]
pub struct PatientService {
    ports: PatientPorts,
}

impl PatientService {
    /// Wires the service to its ports.
    pub fn new(ports: PatientPorts) -> Self {
        Self { ports }
    }

    /// The patients matching `filter` that the caller may see, newest first. An empty search
    /// matches every name.
    pub fn list_patients(
        &self,
        caller: &Caller,
        filter: PatientFilter,
        page: Page,
    ) -> Result<PageOf<Patient>, ServiceError> {
        let mut filter = patients_visible(&caller.actor, filter);
        filter.search = filter.search.filter(|search| !search.is_empty());
        caller
            .audit(
                self.trail(),
                AuditAction::PatientList,
                self.now(),
                Target::NONE,
            )
            .run(|_| Ok(self.ports.patients.list(&filter, page)?))
    }

    /// Creates a patient registered by the caller.
    pub fn create_patient(
        &self,
        caller: &Caller,
        input: PatientInput,
        shape_errors: FieldErrors,
    ) -> Result<Patient, ServiceError> {
        let now = self.now();
        let scope = caller.audit(self.trail(), AuditAction::PatientCreate, now, Target::NONE);
        scope.run(|event| {
            let owner = caller.account()?;
            let details = input
                .validate(WriteMode::Create, shape_errors)?
                .into_new_details()
                .ok_or_else(|| {
                    ServiceError::Internal("create validation left a required field unset".into())
                })?;
            Ok(self
                .ports
                .patients
                .insert(owner, &details, now, event.for_change())?)
        })
    }

    /// A patient the caller may see; any other is "not found".
    pub fn get_patient(&self, caller: &Caller, id: PatientId) -> Result<Patient, ServiceError> {
        let target = Target::patient(id);
        caller
            .audit(self.trail(), AuditAction::PatientRead, self.now(), target)
            .run(|_| self.reachable(caller, id, Operation::See))
    }

    /// A patient the caller may see, with its owner and the mappings the caller may see
    /// (audited as a read of the patient).
    pub fn patient_detail(
        &self,
        caller: &Caller,
        id: PatientId,
    ) -> Result<PatientDetail, ServiceError> {
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientRead, self.now(), target);
        scope.run(|_| {
            let patient = self.reachable(caller, id, Operation::See)?;
            let owner = self.ports.users.find_by_id(patient.owner)?;
            let related = mappings_visible(
                &caller.actor,
                MappingFilter {
                    patient: Some(id),
                    ..MappingFilter::default()
                },
            );
            let page = Page {
                number: 1,
                size: RELATED_LIMIT,
            };
            let mappings = self.ports.mappings.list(&related, page)?.items;
            Ok(PatientDetail {
                patient,
                owner,
                mappings,
            })
        })
    }

    /// Replaces (`WriteMode::Replace`) or patches (`WriteMode::Partial`) a patient. With
    /// `if_match`, a patient changed since that version is refused (412) and left unchanged.
    pub fn update_patient(
        &self,
        caller: &Caller,
        id: PatientId,
        input: PatientInput,
        shape_errors: FieldErrors,
        mode: WriteMode,
        if_match: Option<IfMatch>,
    ) -> Result<Patient, ServiceError> {
        let now = self.now();
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientUpdate, now, target);
        scope.run(|event| {
            let current = self.reachable(caller, id, Operation::Change)?;
            IfMatch::check(if_match.as_ref(), current.version)?;
            let changes: PatientChanges = input.validate(mode, shape_errors)?;
            Ok(write_with_version_check(
                current,
                if_match.is_some(),
                |patient| {
                    let details = changes.clone().apply_to(&patient.details);
                    Ok(self.ports.patients.update(
                        id,
                        &details,
                        patient.version,
                        now,
                        event.for_change(),
                    )?)
                },
                || {
                    self.reachable(caller, id, Operation::Change)
                        .map_err(|refusal| refusal.error)
                },
            )?)
        })
    }

    /// Archives a patient and ends its mappings (the soft-delete policy).
    pub fn delete_patient(&self, caller: &Caller, id: PatientId) -> Result<(), ServiceError> {
        let now = self.now();
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientDelete, now, target);
        scope.run(|event| {
            self.reachable(caller, id, Operation::Archive)?;
            if self.ports.patients.archive(id, now, event.for_change())? {
                Ok(())
            } else {
                // Archived by a concurrent request in between.
                Err(Refusal::from(ServiceError::NotFound(Resource::Patient)))
            }
        })
    }

    /// Un-archives a patient; its mappings stay ended, as the soft-delete policy says.
    /// `NotFound` when no archived patient has this id.
    pub fn restore_patient(&self, caller: &Caller, id: PatientId) -> Result<(), ServiceError> {
        let now = self.now();
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientRestore, now, target);
        scope.run(|event| {
            self.reachable(caller, id, Operation::Restore)?;
            if self.ports.patients.restore(id, now, event.for_change())? {
                Ok(())
            } else {
                // Restored by a concurrent request in between.
                Err(Refusal::from(ServiceError::NotFound(Resource::Patient)))
            }
        })
    }

    /// The patient if the domain lets the caller do `operation` with it; the refusal says
    /// whether that was a denial.
    fn reachable(
        &self,
        caller: &Caller,
        id: PatientId,
        operation: Operation,
    ) -> Result<Patient, Refusal> {
        let patient = self
            .ports
            .patients
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Patient))?;
        permit(
            patient_access(&caller.actor, &patient, operation),
            Resource::Patient,
        )?;
        Ok(patient)
    }

    fn trail(&self) -> &dyn AuditTrail {
        self.ports.trail.as_ref()
    }

    fn now(&self) -> healthcare_domain::Timestamp {
        self.ports.clock.now()
    }
}
