//! The doctor directory: every user reads it; only a doctor's creator changes it.

use std::sync::Arc;

use healthcare_domain::audit::AuditAction;
use healthcare_domain::doctor::{DoctorChanges, DoctorId, DoctorInput};
use healthcare_domain::fields::WriteMode;
use healthcare_domain::{FieldErrors, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{Clock, DoctorFilter, DoctorRepository, DoctorWithCount};
use crate::services::audit::{Caller, Target};
use crate::services::versioning::{IfMatch, write_with_version_check};
use crate::{Resource, ServiceError};

/// Use cases on doctors.
#[derive(Clone)]
pub struct DoctorService {
    doctors: Arc<dyn DoctorRepository>,
    clock: Arc<dyn Clock>,
}

impl DoctorService {
    /// Wires the service to its ports.
    pub fn new(doctors: Arc<dyn DoctorRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { doctors, clock }
    }

    /// Every non-archived doctor matching the filter, by name.
    pub fn list_doctors(
        &self,
        filter: &DoctorFilter,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, ServiceError> {
        Ok(self.doctors.list(filter, page)?)
    }

    /// Adds a doctor created by the caller.
    pub fn create_doctor(
        &self,
        caller: UserId,
        input: DoctorInput,
        shape_errors: FieldErrors,
    ) -> Result<DoctorWithCount, ServiceError> {
        let details = input
            .validate(WriteMode::Create, shape_errors)?
            .into_new_details()
            .ok_or_else(|| {
                ServiceError::Internal("create validation left a required field unset".into())
            })?;
        Ok(self.doctors.insert(caller, &details, self.clock.now())?)
    }

    /// A non-archived doctor.
    pub fn get_doctor(&self, id: DoctorId) -> Result<DoctorWithCount, ServiceError> {
        self.doctors
            .find(id)?
            .filter(|found| found.doctor.is_visible())
            .ok_or(ServiceError::NotFound(Resource::Doctor))
    }

    fn get_changeable(
        &self,
        caller: UserId,
        id: DoctorId,
    ) -> Result<DoctorWithCount, ServiceError> {
        let found = self.get_doctor(id)?;
        if found.doctor.may_be_changed_by(caller) {
            Ok(found)
        } else {
            Err(ServiceError::Forbidden)
        }
    }

    /// Replaces or patches a doctor the caller created (others: forbidden). With `if_match`, a
    /// doctor changed since that version is refused (412) and left unchanged.
    pub fn update_doctor(
        &self,
        caller: UserId,
        id: DoctorId,
        input: DoctorInput,
        shape_errors: FieldErrors,
        mode: WriteMode,
        if_match: Option<IfMatch>,
    ) -> Result<DoctorWithCount, ServiceError> {
        let current = self.get_changeable(caller, id)?;
        IfMatch::check(if_match.as_ref(), current.doctor.version)?;
        let changes: DoctorChanges = input.validate(mode, shape_errors)?;
        write_with_version_check(
            current,
            if_match.is_some(),
            |found| {
                let details = changes.clone().apply_to(&found.doctor.details);
                Ok(self
                    .doctors
                    .update(id, &details, found.doctor.version, self.clock.now())?)
            },
            || self.get_changeable(caller, id),
        )
    }

    /// Archives a doctor the caller created and deactivates its mappings, each ended mapping
    /// recorded (in the archive's transaction) as a `mapping.remove` row with the caller as
    /// actor. A refusal leaves no row: doctor routes are not audited otherwise.
    pub fn delete_doctor(&self, caller: &Caller, id: DoctorId) -> Result<(), ServiceError> {
        self.get_changeable(caller.user, id)?;
        let now = self.clock.now();
        let event = caller.event(AuditAction::MappingRemove, now, Target::NONE);
        if self.doctors.archive(id, now, &event)? {
            Ok(())
        } else {
            // Archived by someone else since it was read.
            Err(ServiceError::NotFound(Resource::Doctor))
        }
    }
}
