//! Assigning doctors to the caller's patients, and removing assignments.

use std::sync::Arc;

use healthcare_domain::doctor::DoctorId;
use healthcare_domain::fields::{Submitted, WriteMode, check_field, parse_free_text};
use healthcare_domain::mapping::{AssignmentRequest, Mapping, MappingId, already_assigned};
use healthcare_domain::patient::{Patient, PatientId};
use healthcare_domain::{FieldErrors, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    Clock, DoctorRepository, DoctorWithCount, MappingFilter, MappingRepository, MappingView,
    PatientRepository,
};
use crate::{RepoError, Resource, ServiceError};

/// An assignment as submitted.
#[derive(Debug, Clone, Default)]
pub struct AssignmentInput {
    /// `patient` id.
    pub patient: Submitted<i64>,
    /// `doctor` id.
    pub doctor: Submitted<i64>,
    /// `notes`.
    pub notes: Submitted<String>,
}

/// A patient and its active assignments, for the by-patient view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientAssignments {
    /// The patient.
    pub patient: Patient,
    /// Active mappings with their doctors.
    pub assignments: Vec<(Mapping, DoctorWithCount)>,
}

/// Use cases on mappings.
#[derive(Clone)]
pub struct MappingService {
    mappings: Arc<dyn MappingRepository>,
    patients: Arc<dyn PatientRepository>,
    doctors: Arc<dyn DoctorRepository>,
    clock: Arc<dyn Clock>,
}

impl MappingService {
    /// Wires the service to its ports.
    pub fn new(
        mappings: Arc<dyn MappingRepository>,
        patients: Arc<dyn PatientRepository>,
        doctors: Arc<dyn DoctorRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            mappings,
            patients,
            doctors,
            clock,
        }
    }

    /// Assigns an available doctor to one of the caller's patients. A foreign patient is
    /// reported exactly like a missing one; an already active pair is refused, also when two
    /// requests race (the database's unique index decides).
    pub fn assign_doctor(
        &self,
        caller: UserId,
        input: AssignmentInput,
        shape_errors: FieldErrors,
    ) -> Result<MappingView, ServiceError> {
        let mut errors = shape_errors;
        let create = WriteMode::Create;
        let patient_ref = check_field(&mut errors, "patient", input.patient, true, create, Ok);
        let doctor_ref = check_field(&mut errors, "doctor", input.doctor, true, create, Ok);
        let notes = check_field(
            &mut errors,
            "notes",
            input.notes,
            false,
            create,
            parse_free_text,
        );
        let patient = patient_ref
            .map(|id| self.patients.find(PatientId(id)))
            .transpose()?
            .flatten();
        let doctor = doctor_ref
            .map(|id| self.doctors.find(DoctorId(id)))
            .transpose()?
            .flatten();
        let (Some(patient_ref), Some(doctor_ref)) = (patient_ref, doctor_ref) else {
            return Err(errors.into());
        };
        let request = AssignmentRequest {
            caller,
            patient: (patient_ref, patient.as_ref()),
            doctor: (doctor_ref, doctor.as_ref().map(|found| &found.doctor)),
        };
        let (patient_id, doctor_id) = match request.check_fields() {
            Ok(ids) if errors.is_empty() => ids,
            Ok(_) => return Err(errors.into()),
            Err(field_errors) => {
                errors.merge(field_errors);
                return Err(errors.into());
            }
        };
        if self.mappings.has_active(patient_id, doctor_id)? {
            return Err(already_assigned().into());
        }
        let notes = notes.unwrap_or_default();
        match self
            .mappings
            .insert(patient_id, doctor_id, caller, &notes, self.clock.now())
        {
            Err(RepoError::Conflict) => Err(already_assigned().into()),
            other => Ok(other?),
        }
    }

    /// The active mappings of the caller's patients, newest first.
    pub fn list_mappings(
        &self,
        caller: UserId,
        filter: MappingFilter,
        page: Page,
    ) -> Result<PageOf<MappingView>, ServiceError> {
        Ok(self.mappings.list(caller, filter, page)?)
    }

    /// One of the caller's patients with its active assignments.
    pub fn patient_assignments(
        &self,
        caller: UserId,
        patient_id: PatientId,
    ) -> Result<PatientAssignments, ServiceError> {
        let patient = self
            .patients
            .find(patient_id)?
            .filter(|patient| patient.is_visible_to(caller))
            .ok_or(ServiceError::NotFound(Resource::Patient))?;
        let assignments = self.mappings.active_for_patient(patient_id)?;
        Ok(PatientAssignments {
            patient,
            assignments,
        })
    }

    /// An active mapping of one of the caller's patients; anything else is "not found".
    fn visible_mapping(&self, caller: UserId, id: MappingId) -> Result<Mapping, ServiceError> {
        let not_found = ServiceError::NotFound(Resource::PatientDoctorMapping);
        let mapping = self
            .mappings
            .find(id)?
            .filter(Mapping::is_removable)
            .ok_or(not_found.clone())?;
        match self.patients.find(mapping.patient_id)? {
            Some(patient) if patient.is_visible_to(caller) => Ok(mapping),
            _ => Err(not_found),
        }
    }

    /// Changes the notes of an active mapping of one of the caller's patients.
    pub fn update_mapping_notes(
        &self,
        caller: UserId,
        id: MappingId,
        notes: Submitted<String>,
        shape_errors: FieldErrors,
    ) -> Result<MappingView, ServiceError> {
        let mapping = self.visible_mapping(caller, id)?;
        let mut errors = shape_errors;
        let notes = check_field(
            &mut errors,
            "notes",
            notes,
            false,
            WriteMode::Partial,
            parse_free_text,
        );
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let notes = notes.unwrap_or(mapping.notes);
        self.mappings
            .update_notes(id, &notes, self.clock.now())?
            .ok_or(ServiceError::NotFound(Resource::PatientDoctorMapping))
    }

    /// Removes (deactivates) a mapping once; a second removal is "not found".
    pub fn remove_mapping(&self, caller: UserId, id: MappingId) -> Result<(), ServiceError> {
        self.visible_mapping(caller, id)?;
        if self.mappings.deactivate(id, self.clock.now())? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
        }
    }
}
