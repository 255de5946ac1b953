//! Patient records: visible only to their creator; deleting archives.

use std::sync::Arc;

use healthcare_domain::fields::WriteMode;
use healthcare_domain::patient::{Patient, PatientChanges, PatientId, PatientInput};
use healthcare_domain::{FieldErrors, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{Clock, PatientRepository};
use crate::services::versioning::{IfMatch, write_with_version_check};
use crate::{Resource, ServiceError};

/// Use cases on patients.
#[derive(Clone)]
pub struct PatientService {
    patients: Arc<dyn PatientRepository>,
    clock: Arc<dyn Clock>,
}

impl PatientService {
    /// Wires the service to its ports.
    pub fn new(patients: Arc<dyn PatientRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { patients, clock }
    }

    /// The caller's patients, newest first, optionally filtered by name.
    pub fn list_patients(
        &self,
        caller: UserId,
        search: Option<&str>,
        page: Page,
    ) -> Result<PageOf<Patient>, ServiceError> {
        Ok(self
            .patients
            .list(caller, search.filter(|s| !s.is_empty()), page)?)
    }

    /// Creates a patient owned by the caller.
    pub fn create_patient(
        &self,
        caller: UserId,
        input: PatientInput,
        shape_errors: FieldErrors,
    ) -> Result<Patient, ServiceError> {
        let details = input
            .validate(WriteMode::Create, shape_errors)?
            .into_new_details()
            .ok_or_else(|| {
                ServiceError::Internal("create validation left a required field unset".into())
            })?;
        Ok(self.patients.insert(caller, &details, self.clock.now())?)
    }

    /// One of the caller's patients; anyone else's, or an archived one, is "not found".
    pub fn get_patient(&self, caller: UserId, id: PatientId) -> Result<Patient, ServiceError> {
        self.patients
            .find(id)?
            .filter(|patient| patient.is_visible_to(caller))
            .ok_or(ServiceError::NotFound(Resource::Patient))
    }

    /// Replaces (`WriteMode::Replace`) or patches (`WriteMode::Partial`) a patient. With
    /// `if_match`, a patient changed since that version is refused (412) and left unchanged.
    pub fn update_patient(
        &self,
        caller: UserId,
        id: PatientId,
        input: PatientInput,
        shape_errors: FieldErrors,
        mode: WriteMode,
        if_match: Option<IfMatch>,
    ) -> Result<Patient, ServiceError> {
        let current = self.get_patient(caller, id)?;
        IfMatch::check(if_match.as_ref(), current.version)?;
        let changes: PatientChanges = input.validate(mode, shape_errors)?;
        write_with_version_check(
            current,
            if_match.is_some(),
            |patient| {
                let details = changes.clone().apply_to(&patient.details);
                Ok(self
                    .patients
                    .update(id, &details, patient.version, self.clock.now())?)
            },
            || self.get_patient(caller, id),
        )
    }

    /// Archives one of the caller's patients and deactivates its mappings.
    pub fn delete_patient(&self, caller: UserId, id: PatientId) -> Result<(), ServiceError> {
        self.get_patient(caller, id)?;
        Ok(self.patients.archive(id, self.clock.now())?)
    }
}
