//! Patient records: visible only to their creator; deleting archives. Every use case leaves
//! exactly one audit row.

use std::sync::Arc;

use healthcare_domain::audit::{AuditAction, RequestOrigin};
use healthcare_domain::fields::WriteMode;
use healthcare_domain::patient::{Patient, PatientAccess, PatientChanges, PatientId, PatientInput};
use healthcare_domain::{FieldErrors, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{AuditTrail, Clock, PatientRepository};
use crate::services::audit::{Caller, Refusal, Target, event_of, record_outcome, record_refusal};
use crate::services::versioning::{IfMatch, write_with_version_check};
use crate::{Resource, ServiceError};

/// Use cases on patients.
#[derive(Clone)]
pub struct PatientService {
    patients: Arc<dyn PatientRepository>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
}

impl PatientService {
    /// Wires the service to its ports.
    pub fn new(
        patients: Arc<dyn PatientRepository>,
        trail: Arc<dyn AuditTrail>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            patients,
            trail,
            clock,
        }
    }

    /// The caller's patients, newest first, optionally filtered by name.
    pub fn list_patients(
        &self,
        caller: &Caller,
        search: Option<&str>,
        page: Page,
    ) -> Result<PageOf<Patient>, ServiceError> {
        let event = caller.event(AuditAction::PatientList, self.clock.now(), Target::NONE);
        let result = self
            .patients
            .list(caller.user, search.filter(|s| !s.is_empty()), page)
            .map_err(Refusal::from);
        record_outcome(self.trail.as_ref(), event, result)
    }

    /// Creates a patient owned by the caller.
    pub fn create_patient(
        &self,
        caller: &Caller,
        input: PatientInput,
        shape_errors: FieldErrors,
    ) -> Result<Patient, ServiceError> {
        let now = self.clock.now();
        let event = caller.event(AuditAction::PatientCreate, now, Target::NONE);
        let result: Result<Patient, Refusal> = (|| {
            let details = input
                .validate(WriteMode::Create, shape_errors)?
                .into_new_details()
                .ok_or_else(|| {
                    ServiceError::Internal("create validation left a required field unset".into())
                })?;
            Ok(self.patients.insert(caller.user, &details, now, &event)?)
        })();
        record_refusal(self.trail.as_ref(), event.clone(), result)
    }

    /// One of the caller's patients; anyone else's, or an archived one, is "not found".
    pub fn get_patient(&self, caller: &Caller, id: PatientId) -> Result<Patient, ServiceError> {
        let event = caller.event(
            AuditAction::PatientRead,
            self.clock.now(),
            Target::patient(id),
        );
        record_outcome(self.trail.as_ref(), event, self.visible(caller.user, id))
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
        let now = self.clock.now();
        let event = caller.event(AuditAction::PatientUpdate, now, Target::patient(id));
        let result: Result<Patient, Refusal> = (|| {
            let current = self.visible(caller.user, id)?;
            IfMatch::check(if_match.as_ref(), current.version)?;
            let changes: PatientChanges = input.validate(mode, shape_errors)?;
            Ok(write_with_version_check(
                current,
                if_match.is_some(),
                |patient| {
                    let details = changes.clone().apply_to(&patient.details);
                    Ok(self
                        .patients
                        .update(id, &details, patient.version, now, &event)?)
                },
                || {
                    self.visible(caller.user, id)
                        .map_err(|refusal| refusal.error)
                },
            )?)
        })();
        record_refusal(self.trail.as_ref(), event.clone(), result)
    }

    /// Archives one of the caller's patients and deactivates its mappings.
    pub fn delete_patient(&self, caller: &Caller, id: PatientId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let event = caller.event(AuditAction::PatientDelete, now, Target::patient(id));
        let result: Result<(), Refusal> = (|| {
            self.visible(caller.user, id)?;
            if self.patients.archive(id, now, &event)? {
                Ok(())
            } else {
                // Archived by a concurrent request in between.
                Err(Refusal::from(ServiceError::NotFound(Resource::Patient)))
            }
        })();
        record_refusal(self.trail.as_ref(), event.clone(), result)
    }

    /// Un-archives a patient (an operator's action: `actor` is the staff user, if any); its
    /// mappings stay inactive, as the soft-delete policy says. `NotFound` when no archived
    /// patient has this id.
    pub fn restore_patient(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        id: PatientId,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let event = event_of(
            actor,
            origin,
            AuditAction::PatientRestore,
            now,
            Target::patient(id),
        );
        let result: Result<(), Refusal> = match self.patients.restore(id, now, &event) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ServiceError::NotFound(Resource::Patient).into()),
            Err(error) => Err(error.into()),
        };
        record_refusal(self.trail.as_ref(), event, result)
    }

    /// The patient if the caller may see it; the refusal says whether that was a denial.
    fn visible(&self, caller: UserId, id: PatientId) -> Result<Patient, Refusal> {
        let not_found = ServiceError::NotFound(Resource::Patient);
        match self.patients.find(id)? {
            Some(patient) => match patient.access_by(caller) {
                PatientAccess::Visible => Ok(patient),
                PatientAccess::Foreign => Err(Refusal::denied(not_found)),
                PatientAccess::Archived => Err(not_found.into()),
            },
            None => Err(not_found.into()),
        }
    }
}
