//! Assigning doctors to patients, and changing and removing assignments, for every actor: a
//! mapping is reachable by whoever the domain lets reach it. Every use case leaves exactly
//! one audit row.

use std::sync::Arc;

use healthcare_domain::FieldErrors;
use healthcare_domain::access::{
    Access, CareTie, Operation, assignment_access, mapping_access, mappings_visible,
    patient_access, patients_visible,
};
use healthcare_domain::assignment::{AssignmentRequest, already_assigned};
use healthcare_domain::audit::{AuditAction, AuditEvent};
use healthcare_domain::break_glass::assignment_outlasts_grant;
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::fields::{Submitted, WriteMode, check_field};
use healthcare_domain::mapping::{Mapping, MappingFilter, MappingId, check_notes};
use healthcare_domain::patient::{Patient, PatientFilter, PatientId, PatientSearch};
use healthcare_domain::record_search::{SearchPage, SearchPaging};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditTrail, Clock, DoctorRepository, MappingRepository, MappingView, PatientAssignments,
    PatientRepository,
};
use crate::services::audit::{Caller, Refusal, ScopedRow, Target, permit};
use crate::services::patients::{care_tie, judge_seeing, mark_break_glass, mark_list, shown_to};
use crate::{RepoError, Resource, ServiceError};

/// How often an assignment is judged again when its patient or doctor changed under it.
const ASSIGN_ATTEMPTS: usize = 3;

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

/// Use cases on mappings.
#[derive(Clone)]
pub struct MappingService {
    mappings: Arc<dyn MappingRepository>,
    patients: Arc<dyn PatientRepository>,
    doctors: Arc<dyn DoctorRepository>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
}

impl MappingService {
    /// Wires the service to its ports.
    pub fn new(
        mappings: Arc<dyn MappingRepository>,
        patients: Arc<dyn PatientRepository>,
        doctors: Arc<dyn DoctorRepository>,
        trail: Arc<dyn AuditTrail>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            mappings,
            patients,
            doctors,
            trail,
            clock,
        }
    }

    /// Assigns an available doctor to a patient the caller may change. A patient they may not
    /// see is reported exactly like a missing one; an already active pair is refused, also
    /// when two requests race (the database's unique index decides).
    pub fn assign_doctor(
        &self,
        caller: &Caller,
        input: AssignmentInput,
        shape_errors: FieldErrors,
    ) -> Result<MappingView, ServiceError> {
        let now = self.clock.now();
        caller
            .audit(self.trail(), AuditAction::MappingCreate, now, Target::NONE)
            .run(|event| self.assign(caller, input, shape_errors, event))
    }

    fn assign(
        &self,
        caller: &Caller,
        input: AssignmentInput,
        shape_errors: FieldErrors,
        event: &mut ScopedRow,
    ) -> Result<MappingView, Refusal> {
        let assigned_by = caller.account()?;
        let at = event.event_mut().at;
        let mut errors = shape_errors;
        let create = WriteMode::Create;
        let patient_ref = check_field(&mut errors, "patient", input.patient, true, create, Ok);
        let doctor_ref = check_field(&mut errors, "doctor", input.doctor, true, create, Ok);
        let notes = check_notes(&mut errors, input.notes, create).unwrap_or_default();
        // The repository re-checks both records under a lock; when one changed in between
        // (archived, or the doctor made unavailable), read them again and judge afresh.
        for _ in 0..ASSIGN_ATTEMPTS {
            let (patient_id, doctor_id) = self.checked_pair(
                caller,
                patient_ref,
                doctor_ref,
                errors.clone(),
                event.event_mut(),
            )?;
            if self.mappings.has_active(patient_id, doctor_id)? {
                return Err(ServiceError::from(already_assigned()).into());
            }
            match self.mappings.insert(
                patient_id,
                doctor_id,
                assigned_by,
                &notes,
                at,
                event.for_change(),
            ) {
                Ok(Some(view)) => return Ok(view),
                Ok(None) => continue,
                Err(RepoError::Conflict) => {
                    return Err(ServiceError::from(already_assigned()).into());
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(ServiceError::Internal(
            "the patient or doctor kept changing during an assignment".into(),
        )
        .into())
    }

    /// Reads the patient and the doctor and applies the field rules; the ids when both pass.
    fn checked_pair(
        &self,
        caller: &Caller,
        patient_ref: Option<i64>,
        doctor_ref: Option<i64>,
        mut errors: FieldErrors,
        event: &mut AuditEvent,
    ) -> Result<(PatientId, DoctorId), Refusal> {
        let patient = patient_ref
            .map(|id| self.patients.find(PatientId(id)))
            .transpose()?
            .flatten();
        let doctor = doctor_ref
            .map(|id| self.doctors.find(DoctorId(id)))
            .transpose()?
            .flatten();
        // Record which patient was asked for, whether or not the caller may see it.
        event.patient_id = patient.as_ref().map(|found| found.id);
        let now = event.at;
        let patient_tie = match &patient {
            Some(found) => care_tie(self.patients.as_ref(), &caller.actor, found, now)?,
            None => CareTie::None,
        };
        let hidden = patient.as_ref().is_some_and(|found| {
            assignment_access(&caller.actor, found, patient_tie) == Access::Hidden
        });
        let refuse = |errors: FieldErrors| {
            let error = ServiceError::from(errors);
            if hidden {
                Refusal::denied(error)
            } else {
                Refusal::from(error)
            }
        };
        let (Some(patient_ref), Some(doctor_ref)) = (patient_ref, doctor_ref) else {
            return Err(refuse(errors));
        };
        let request = AssignmentRequest {
            actor: caller.actor,
            patient: (patient_ref, patient.as_ref()),
            patient_tie,
            doctor: (doctor_ref, doctor.as_ref().map(|found| &found.doctor)),
        };
        match request.check_fields() {
            Ok(ids) if errors.is_empty() => {
                event.break_glass = patient_tie == CareTie::BreakGlass;
                if let (Some(patient), Some(doctor)) = (&patient, &doctor)
                    && assignment_outlasts_grant(
                        &caller.actor,
                        patient,
                        patient_tie,
                        &doctor.doctor,
                    )
                {
                    return Err(ServiceError::Forbidden.into());
                }
                Ok(ids)
            }
            Ok(_) => Err(refuse(errors)),
            Err(field_errors) => {
                errors.merge(field_errors);
                Err(refuse(errors))
            }
        }
    }

    /// The mappings matching `filter` that the caller may see, newest first.
    pub fn list_mappings(
        &self,
        caller: &Caller,
        filter: MappingFilter,
        page: Page,
    ) -> Result<PageOf<MappingView>, ServiceError> {
        let target = Target {
            resource_id: None,
            patient_id: filter.patient,
        };
        let now = self.clock.now();
        let visible = mappings_visible(&caller.actor, filter, now);
        caller
            .audit(self.trail(), AuditAction::MappingList, now, target)
            .run(|event| {
                let Some(filter) = visible else {
                    return Ok(PageOf::empty());
                };
                if let Some(asked) = filter.patient {
                    self.deny_if_hidden(caller, asked, event, now)?;
                }
                let page = self.mappings.list(&filter, page)?;
                let listed: Vec<PatientId> = page
                    .items
                    .iter()
                    .map(|view| view.mapping.patient_id)
                    .collect();
                mark_list(self.patients.as_ref(), caller, event, &listed, now)?;
                Ok(page)
            })
    }

    /// Records the list as a denial when the patient it is filtered by exists but is hidden
    /// from the caller (the list itself is empty, as for a missing patient).
    fn deny_if_hidden(
        &self,
        caller: &Caller,
        asked: PatientId,
        event: &mut ScopedRow,
        now: healthcare_domain::Timestamp,
    ) -> Result<(), ServiceError> {
        if let Some(patient) = self.patients.find(asked)? {
            let tie = care_tie(self.patients.as_ref(), &caller.actor, &patient, now)?;
            if patient_access(&caller.actor, &patient, tie, Operation::See) == Access::Hidden {
                event.answer_as_missing();
            }
        }
        Ok(())
    }

    /// A patient the caller may see, with its active assignments (its care team). A patient
    /// deleted here is `Gone` to a caller who would see it live (the JSON API answers that
    /// like a missing one).
    pub fn patient_assignments(
        &self,
        caller: &Caller,
        patient_id: PatientId,
    ) -> Result<PatientAssignments, ServiceError> {
        let target = Target {
            resource_id: None,
            patient_id: Some(patient_id),
        };
        let scope = caller.audit(
            self.trail(),
            AuditAction::MappingList,
            self.clock.now(),
            target,
        );
        scope.run(|event| {
            let found = match self.mappings.patient_with_active(patient_id) {
                Ok(found) => found,
                Err(failure) => {
                    // Judged on the patient alone, so that a mapping or doctor row that cannot
                    // be read does not tell a caller who may not see the patient that it exists.
                    if let Some(patient) = self.patients.find(patient_id)? {
                        judge_seeing(self.patients.as_ref(), caller, &patient, self.clock.now())?;
                    }
                    return Err(failure.into());
                }
            };
            let PatientAssignments {
                patient,
                assignments,
            } = found.ok_or(ServiceError::NotFound(Resource::Patient))?;
            let tie = judge_seeing(self.patients.as_ref(), caller, &patient, self.clock.now())?;
            mark_break_glass(event, tie);
            Ok(PatientAssignments {
                patient: shown_to(caller, patient),
                assignments,
            })
        })
    }

    /// The care teams (each a patient with its active assignments) of the live patients
    /// matching `search` that the caller may see, one page in `paging`'s order, in two
    /// statements beside the count: audited as a mapping list.
    pub fn care_teams(
        &self,
        caller: &Caller,
        search: PatientSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<PatientAssignments>, ServiceError> {
        let now = self.clock.now();
        let live = PatientFilter {
            archived: Some(false),
            ..PatientFilter::default()
        };
        let visible = patients_visible(&caller.actor, live, now);
        caller
            .audit(self.trail(), AuditAction::MappingList, now, Target::NONE)
            .run(|event| {
                let Some(visible) = visible else {
                    return Ok(SearchPage::empty(paging.with_total.then_some(0)));
                };
                let page = self
                    .patients
                    .search(&PatientSearch { visible, ..search }, paging)?;
                let ids: Vec<PatientId> = page.items.iter().map(|patient| patient.id).collect();
                mark_list(self.patients.as_ref(), caller, event, &ids, now)?;
                let mut assignments = self.mappings.active_for_patients(&ids)?;
                Ok(page.map(|patient| {
                    let (own, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut assignments)
                        .into_iter()
                        .partition(|(mapping, _)| mapping.patient_id == patient.id);
                    assignments = rest;
                    PatientAssignments {
                        patient: shown_to(caller, patient),
                        assignments: own,
                    }
                }))
            })
    }

    /// A mapping the caller may see, with its patient's and doctor's names (audited as a
    /// mapping list, since it names a patient).
    pub fn get_mapping(&self, caller: &Caller, id: MappingId) -> Result<MappingView, ServiceError> {
        let target = Target::record(id.0, None);
        let scope = caller.audit(
            self.trail(),
            AuditAction::MappingList,
            self.clock.now(),
            target,
        );
        scope.run(|event| {
            let (mapping, patient) =
                self.reachable(caller, id, Operation::See, event.event_mut())?;
            let doctor = self
                .doctors
                .find(mapping.doctor_id)?
                .ok_or(ServiceError::NotFound(Resource::PatientDoctorMapping))?
                .doctor;
            Ok(MappingView {
                mapping,
                patient_name: patient.details.name.as_str().to_owned(),
                doctor_name: doctor.details.name.as_str().to_owned(),
                doctor_specialization: doctor.details.specialization.as_str().to_owned(),
            })
        })
    }

    /// The mapping and its patient if the domain lets the caller do `operation` with it;
    /// anything else is "not found" (a denial when the patient is hidden from the caller).
    /// The event learns the mapping's patient.
    fn reachable(
        &self,
        caller: &Caller,
        id: MappingId,
        operation: Operation,
        event: &mut AuditEvent,
    ) -> Result<(Mapping, Patient), Refusal> {
        let not_found = ServiceError::NotFound(Resource::PatientDoctorMapping);
        let mapping = self.mappings.find(id)?.ok_or(not_found.clone())?;
        event.patient_id = Some(mapping.patient_id);
        let patient = self.patients.find(mapping.patient_id)?.ok_or(not_found)?;
        let tie = care_tie(self.patients.as_ref(), &caller.actor, &patient, event.at)?;
        permit(
            mapping_access(&caller.actor, &mapping, &patient, tie, operation),
            Resource::PatientDoctorMapping,
        )?;
        event.break_glass = tie == CareTie::BreakGlass;
        Ok((mapping, patient))
    }

    /// Changes the notes of a mapping the caller may change.
    pub fn update_mapping_notes(
        &self,
        caller: &Caller,
        id: MappingId,
        notes: Submitted<String>,
        shape_errors: FieldErrors,
    ) -> Result<MappingView, ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(self.trail(), AuditAction::MappingUpdate, now, target);
        scope.run(|event| {
            let (mapping, _) = self.reachable(caller, id, Operation::Change, event.event_mut())?;
            let mut errors = shape_errors;
            let notes = check_notes(&mut errors, notes, WriteMode::Partial);
            if !errors.is_empty() {
                return Err(errors.into());
            }
            let notes = notes.unwrap_or(mapping.notes);
            self.mappings
                .update_notes(id, &notes, now, event.for_change())?
                .ok_or(ServiceError::NotFound(Resource::PatientDoctorMapping).into())
        })
    }

    /// Removes (ends) a mapping the caller may change, once; a second removal is "not found".
    pub fn remove_mapping(&self, caller: &Caller, id: MappingId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(self.trail(), AuditAction::MappingRemove, now, target);
        scope.run(|event| {
            self.reachable(caller, id, Operation::Archive, event.event_mut())?;
            if self.mappings.deactivate(id, now, event.for_change())? {
                Ok(())
            } else {
                Err(ServiceError::NotFound(Resource::PatientDoctorMapping).into())
            }
        })
    }

    fn trail(&self) -> &dyn AuditTrail {
        self.trail.as_ref()
    }
}
