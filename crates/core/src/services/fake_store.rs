//! An in-memory store of patients, doctors and mappings, keeping the audit rows its
//! writes store with their changes: for service tests that check what a use case leaves behind
//! (records and rows) rather than which calls it made. It keeps the ports' MUST sentences the
//! use cases rely on (versions, archiving ends mappings, one active mapping per pair); the
//! contract suite checks the real adapters against the same sentences.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use healthcare_domain::access::{CareTie, ClinicScope};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::break_glass::{Grant, NewGrant};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::doctor::{Doctor, DoctorDetails, DoctorFilter, DoctorId, DoctorSearch};
use healthcare_domain::mapping::{Mapping, MappingFilter, MappingId};
use healthcare_domain::patient::{
    Patient, PatientDetails, PatientFilter, PatientId, PatientSearch,
};
use healthcare_domain::record_search::{SearchPage, SearchPaging};
use healthcare_domain::{Timestamp, UserId};

use crate::RepoError;
use crate::pagination::{Page, PageOf};
use crate::ports::{
    BreakGlassRepository, DoctorRepository, DoctorWithCount, MappingRepository, MappingView,
    PatientAssignments, PatientRepository,
};

#[derive(Default)]
struct State {
    patients: Vec<Patient>,
    doctors: Vec<Doctor>,
    mappings: Vec<Mapping>,
    /// Break-glass grants: patient, clinician, until when.
    grants: Vec<(PatientId, UserId, Timestamp)>,
    stored_rows: Vec<AuditEvent>,
    last_id: i64,
    /// Every earlier version of each patient and doctor, as the history tables keep them.
    kept_patients: Vec<Patient>,
    kept_doctors: Vec<Doctor>,
}

impl State {
    /// How `user` is tied to `patient` at `at`, as the port says.
    fn care_tie(&self, patient: PatientId, user: UserId, at: Timestamp) -> CareTie {
        let granted = self
            .grants
            .iter()
            .any(|&(on, to, until)| on == patient && to == user && until > at);
        let treating = self.mappings.iter().any(|m| {
            m.is_active
                && m.patient_id == patient
                && self
                    .doctor(m.doctor_id)
                    .is_some_and(|d| d.details.linked_user == Some(user))
        });
        match (granted, treating) {
            (true, _) => CareTie::BreakGlass,
            (false, true) => CareTie::Treating,
            (false, false) => CareTie::None,
        }
    }

    /// Whether `patient` is in a member's view.
    fn in_scope(&self, patient: &Patient, scope: Option<ClinicScope>) -> bool {
        scope.is_none_or(|scope| {
            patient.clinic == scope.clinic
                && scope.care_team_of.is_none_or(|(user, at)| {
                    patient.owner == user || self.care_tie(patient.id, user, at) != CareTie::None
                })
        })
    }

    fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// Keeps new ids clear of the ids of records stored as given.
    fn saw_id(&mut self, id: i64) {
        self.last_id = self.last_id.max(id);
    }

    /// The patient, about to change version: its current version is kept.
    fn patient_to_change(&mut self, id: PatientId) -> Option<&mut Patient> {
        let current = self.patient(id)?.clone();
        self.kept_patients.push(current);
        self.patient_mut(id)
    }

    /// The doctor, about to change version: its current version is kept.
    fn doctor_to_change(&mut self, id: DoctorId) -> Option<&mut Doctor> {
        let current = self.doctor(id)?.clone();
        self.kept_doctors.push(current);
        self.doctor_mut(id)
    }

    fn patient_mut(&mut self, id: PatientId) -> Option<&mut Patient> {
        self.patients.iter_mut().find(|patient| patient.id == id)
    }

    fn doctor_mut(&mut self, id: DoctorId) -> Option<&mut Doctor> {
        self.doctors.iter_mut().find(|doctor| doctor.id == id)
    }

    fn mapping_mut(&mut self, id: MappingId) -> Option<&mut Mapping> {
        self.mappings.iter_mut().find(|mapping| mapping.id == id)
    }

    fn patient(&self, id: PatientId) -> Option<&Patient> {
        self.patients.iter().find(|patient| patient.id == id)
    }

    fn doctor(&self, id: DoctorId) -> Option<&Doctor> {
        self.doctors.iter().find(|doctor| doctor.id == id)
    }

    /// The doctor's active mappings, as the real query counts them.
    fn with_count(&self, doctor: &Doctor) -> DoctorWithCount {
        let patient_count = self
            .mappings
            .iter()
            .filter(|mapping| mapping.doctor_id == doctor.id && mapping.is_active)
            .count();
        DoctorWithCount {
            doctor: doctor.clone(),
            patient_count: i64::try_from(patient_count).unwrap_or(i64::MAX),
        }
    }

    /// The patient's active mappings, oldest first, with their doctors.
    fn active_for(&self, patient: PatientId) -> Vec<(Mapping, DoctorWithCount)> {
        let mut found: Vec<(Mapping, DoctorWithCount)> = self
            .mappings
            .iter()
            .filter(|m| m.patient_id == patient && m.is_active)
            .filter_map(|m| Some((m.clone(), self.with_count(self.doctor(m.doctor_id)?))))
            .collect();
        found.sort_by_key(|(mapping, _)| (mapping.assigned_date, mapping.id));
        found
    }

    fn view(&self, mapping: &Mapping) -> Option<MappingView> {
        let patient = self.patient(mapping.patient_id)?;
        let doctor = self.doctor(mapping.doctor_id)?;
        Some(MappingView {
            mapping: mapping.clone(),
            patient_name: patient.details.name.as_str().to_owned(),
            doctor_name: doctor.details.name.as_str().to_owned(),
            doctor_specialization: doctor.details.specialization.as_str().to_owned(),
        })
    }

    /// Ends the active mappings `ends` selects, returning them.
    fn end_mappings(&mut self, ends: impl Fn(&Mapping) -> bool) -> Vec<Mapping> {
        let mut ended = Vec::new();
        for mapping in self.mappings.iter_mut().filter(|m| m.is_active && ends(m)) {
            mapping.is_active = false;
            ended.push(mapping.clone());
        }
        ended
    }
}

/// The store; clones share it.
#[derive(Clone, Default)]
pub(crate) struct FakeStore(Arc<Mutex<State>>);

fn contains(text: &str, term: &str) -> bool {
    text.to_lowercase().contains(&term.to_lowercase())
}

fn page_of<T: Clone>(all: Vec<T>, page: Page) -> PageOf<T> {
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let size = usize::try_from(page.limit()).unwrap_or(usize::MAX);
    PageOf {
        total: all.len() as u64,
        items: all.into_iter().skip(start).take(size).collect(),
    }
}

fn matches_archived(archived_at: Option<Timestamp>, wanted: Option<bool>) -> bool {
    wanted.is_none_or(|archived| archived == archived_at.is_some())
}

impl FakeStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `patient` as given.
    pub(crate) fn add_patient(&self, patient: Patient) {
        let mut state = self.state();
        state.saw_id(patient.id.0);
        state.patients.push(patient);
    }

    /// Stores `doctor` as given.
    pub(crate) fn add_doctor(&self, doctor: Doctor) {
        let mut state = self.state();
        state.saw_id(doctor.id.0);
        state.doctors.push(doctor);
    }

    /// Stores a break-glass grant of `user` on `patient`, running until `until`.
    pub(crate) fn add_grant(&self, patient: PatientId, user: UserId, until: Timestamp) {
        self.state().grants.push((patient, user, until));
    }

    /// Stores `mapping` as given.
    pub(crate) fn add_mapping(&self, mapping: Mapping) {
        let mut state = self.state();
        state.saw_id(mapping.id.0);
        state.mappings.push(mapping);
    }

    /// The patient as stored now.
    pub(crate) fn patient(&self, id: PatientId) -> Option<Patient> {
        self.state().patient(id).cloned()
    }

    /// The doctor as stored now.
    pub(crate) fn doctor(&self, id: DoctorId) -> Option<Doctor> {
        self.state().doctor(id).cloned()
    }

    /// The mapping as stored now.
    pub(crate) fn mapping(&self, id: MappingId) -> Option<Mapping> {
        self.state().mappings.iter().find(|m| m.id == id).cloned()
    }

    /// Removes and returns the audit rows stored with changes since the last call.
    pub(crate) fn take_stored_rows(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut self.state().stored_rows)
    }
}

impl PatientRepository for FakeStore {
    fn find(&self, id: PatientId) -> Result<Option<Patient>, RepoError> {
        Ok(self.patient(id))
    }

    fn list(&self, filter: &PatientFilter, page: Page) -> Result<PageOf<Patient>, RepoError> {
        let state = self.state();
        let mut found: Vec<Patient> = state
            .patients
            .iter()
            .filter(|p| filter.owner.is_none_or(|owner| p.owner == owner))
            .filter(|p| state.in_scope(p, filter.scope))
            .filter(|p| matches_archived(p.archived_at, filter.archived))
            .filter(|p| {
                (filter.search.as_deref())
                    .is_none_or(|term| contains(p.details.name.as_str(), term))
            })
            .cloned()
            .collect();
        found.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.id)));
        Ok(page_of(found, page))
    }

    fn version(&self, id: PatientId, version: i64) -> Result<Option<Patient>, RepoError> {
        Ok(PatientRepository::versions(self, id, None, u64::MAX)?
            .into_iter()
            .find(|patient| patient.version == version))
    }

    fn versions(
        &self,
        id: PatientId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Patient>, RepoError> {
        let state = self.state();
        let mut versions: Vec<Patient> = (state.kept_patients.iter())
            .chain(state.patient(id))
            .filter(|p| p.id == id && below.is_none_or(|below| p.version < below))
            .cloned()
            .collect();
        versions.sort_by_key(|p| std::cmp::Reverse(p.version));
        versions.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(versions)
    }

    fn search(
        &self,
        search: &PatientSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Patient>, RepoError> {
        let state = self.state();
        let matches: Vec<Patient> = (state.patients.iter())
            .filter(|p| p.archived_at.is_none() && state.in_scope(p, search.visible.scope))
            .filter(|p| search.matches(p))
            .filter(|p| {
                search.assigned_to.as_ref().is_none_or(|doctors| {
                    state.mappings.iter().any(|m| {
                        m.is_active && m.patient_id == p.id && doctors.contains(&m.doctor_id)
                    })
                })
            })
            .cloned()
            .collect();
        let anchor = paging
            .name_anchor()
            .and_then(|id| state.patient(PatientId(id)))
            .map(|p| healthcare_domain::record_search::fold(p.details.name.as_str()));
        let paging = paging.anchored(anchor);
        Ok(paging.page_in_memory(matches, |p| {
            paging.key_of(p.id.0, p.updated_at, p.details.name.as_str())
        }))
    }

    fn care_tie(
        &self,
        patient: PatientId,
        user: UserId,
        at: Timestamp,
    ) -> Result<CareTie, RepoError> {
        Ok(self.state().care_tie(patient, user, at))
    }

    fn under_grant(
        &self,
        user: UserId,
        patients: &[PatientId],
        at: Timestamp,
    ) -> Result<bool, RepoError> {
        let state = self.state();
        Ok(patients.iter().any(|patient| {
            state
                .grants
                .iter()
                .any(|&(on, to, until)| on == *patient && to == user && until > at)
        }))
    }

    fn insert(
        &self,
        clinic: ClinicId,
        owner: UserId,
        details: &PatientDetails,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Patient, RepoError> {
        let mut state = self.state();
        let id = PatientId(state.next_id());
        let patient = Patient {
            id,
            owner,
            clinic,
            details: details.clone(),
            created_at: at,
            updated_at: at,
            version: 1,
            archived_at: None,
        };
        state.patients.push(patient.clone());
        state.stored_rows.push(AuditEvent {
            resource_id: Some(id.0),
            patient_id: Some(id),
            ..audit.clone()
        });
        Ok(patient)
    }

    fn update(
        &self,
        id: PatientId,
        details: &PatientDetails,
        expected_version: i64,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Patient>, RepoError> {
        let mut state = self.state();
        let Some(patient) = state.patient_mut(id) else {
            return Ok(None);
        };
        if patient.version != expected_version || patient.archived_at.is_some() {
            return Ok(None);
        }
        let patient = state.patient_to_change(id).expect("found above");
        patient.details = details.clone();
        patient.version += 1;
        patient.updated_at = at;
        let updated = patient.clone();
        state.stored_rows.push(audit.clone());
        Ok(Some(updated))
    }

    fn archive(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut state = self.state();
        if state.patient(id).is_none_or(|p| p.archived_at.is_some()) {
            return Ok(false);
        }
        let patient = state.patient_to_change(id).expect("found above");
        patient.archived_at = Some(at);
        patient.updated_at = at;
        patient.version += 1;
        state.end_mappings(|mapping| mapping.patient_id == id);
        state.stored_rows.push(audit.clone());
        Ok(true)
    }

    fn restore(&self, id: PatientId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut state = self.state();
        if state.patient(id).is_none_or(|p| p.archived_at.is_none()) {
            return Ok(false);
        }
        let patient = state.patient_to_change(id).expect("found above");
        patient.archived_at = None;
        patient.updated_at = at;
        patient.version += 1;
        state.stored_rows.push(audit.clone());
        Ok(true)
    }
}

impl DoctorRepository for FakeStore {
    fn find(&self, id: DoctorId) -> Result<Option<DoctorWithCount>, RepoError> {
        let state = self.state();
        Ok(state.doctor(id).map(|doctor| state.with_count(doctor)))
    }

    fn list(
        &self,
        filter: &DoctorFilter,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, RepoError> {
        let state = self.state();
        let mut found: Vec<DoctorWithCount> = state
            .doctors
            .iter()
            .filter(|d| matches_archived(d.archived_at, filter.archived))
            .filter(|d| filter.available.is_none_or(|a| d.details.is_available == a))
            .filter(|d| {
                (filter.specialization.as_deref())
                    .is_none_or(|term| contains(d.details.specialization.as_str(), term))
            })
            .filter(|d| {
                (filter.search.as_deref()).is_none_or(|term| {
                    contains(d.details.name.as_str(), term)
                        || contains(d.details.specialization.as_str(), term)
                })
            })
            .map(|doctor| state.with_count(doctor))
            .collect();
        found.sort_by(|a, b| {
            (a.doctor.details.name.as_str(), a.doctor.id)
                .cmp(&(b.doctor.details.name.as_str(), b.doctor.id))
        });
        Ok(page_of(found, page))
    }

    fn version(&self, id: DoctorId, version: i64) -> Result<Option<Doctor>, RepoError> {
        Ok(DoctorRepository::versions(self, id, None, u64::MAX)?
            .into_iter()
            .find(|doctor| doctor.version == version))
    }

    fn versions(
        &self,
        id: DoctorId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Doctor>, RepoError> {
        let state = self.state();
        let mut versions: Vec<Doctor> = (state.kept_doctors.iter())
            .chain(state.doctor(id))
            .filter(|d| d.id == id && below.is_none_or(|below| d.version < below))
            .cloned()
            .collect();
        versions.sort_by_key(|d| std::cmp::Reverse(d.version));
        versions.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(versions)
    }

    fn search(
        &self,
        search: &DoctorSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Doctor>, RepoError> {
        let state = self.state();
        let matches: Vec<Doctor> = (state.doctors.iter())
            .filter(|d| d.archived_at.is_none() && search.matches(d))
            .cloned()
            .collect();
        let anchor = paging
            .name_anchor()
            .and_then(|id| state.doctor(DoctorId(id)))
            .map(|d| healthcare_domain::record_search::fold(d.details.name.as_str()));
        let paging = paging.anchored(anchor);
        Ok(paging.page_in_memory(matches, |d| {
            paging.key_of(d.id.0, d.updated_at, d.details.name.as_str())
        }))
    }

    fn insert(
        &self,
        created_by: UserId,
        details: &DoctorDetails,
        at: Timestamp,
    ) -> Result<DoctorWithCount, RepoError> {
        let mut state = self.state();
        let doctor = Doctor {
            id: DoctorId(state.next_id()),
            created_by,
            details: details.clone(),
            created_at: at,
            updated_at: at,
            version: 1,
            archived_at: None,
        };
        state.doctors.push(doctor.clone());
        Ok(state.with_count(&doctor))
    }

    fn update(
        &self,
        id: DoctorId,
        details: &DoctorDetails,
        expected_version: i64,
        at: Timestamp,
    ) -> Result<Option<DoctorWithCount>, RepoError> {
        let mut state = self.state();
        let Some(doctor) = state.doctor_mut(id) else {
            return Ok(None);
        };
        if doctor.version != expected_version || doctor.archived_at.is_some() {
            return Ok(None);
        }
        let doctor = state.doctor_to_change(id).expect("found above");
        doctor.details = details.clone();
        doctor.version += 1;
        doctor.updated_at = at;
        let updated = doctor.clone();
        Ok(Some(state.with_count(&updated)))
    }

    fn archive(&self, id: DoctorId, at: Timestamp, audit: &AuditEvent) -> Result<bool, RepoError> {
        let mut state = self.state();
        if state.doctor(id).is_none_or(|d| d.archived_at.is_some()) {
            return Ok(false);
        }
        let doctor = state.doctor_to_change(id).expect("found above");
        doctor.archived_at = Some(at);
        doctor.updated_at = at;
        doctor.version += 1;
        let ended = state.end_mappings(|mapping| mapping.doctor_id == id);
        for mapping in ended {
            state.stored_rows.push(AuditEvent {
                resource_id: Some(mapping.id.0),
                patient_id: Some(mapping.patient_id),
                ..audit.clone()
            });
        }
        Ok(true)
    }

    fn restore(&self, id: DoctorId, at: Timestamp) -> Result<bool, RepoError> {
        let mut state = self.state();
        if state.doctor(id).is_none_or(|d| d.archived_at.is_none()) {
            return Ok(false);
        }
        let doctor = state.doctor_to_change(id).expect("found above");
        doctor.archived_at = None;
        doctor.updated_at = at;
        doctor.version += 1;
        Ok(true)
    }
}

impl MappingRepository for FakeStore {
    fn find(&self, id: MappingId) -> Result<Option<Mapping>, RepoError> {
        Ok(self.mapping(id))
    }

    fn list(&self, filter: &MappingFilter, page: Page) -> Result<PageOf<MappingView>, RepoError> {
        let state = self.state();
        let in_scope = |mapping: &Mapping| {
            state
                .patient(mapping.patient_id)
                .is_some_and(|patient| state.in_scope(patient, filter.scope))
        };
        let mut found: Vec<MappingView> = state
            .mappings
            .iter()
            .filter(|m| in_scope(m))
            .filter(|m| filter.patient.is_none_or(|patient| m.patient_id == patient))
            .filter(|m| filter.doctor.is_none_or(|doctor| m.doctor_id == doctor))
            .filter(|m| filter.active.is_none_or(|active| m.is_active == active))
            .filter_map(|mapping| state.view(mapping))
            .collect();
        found.sort_by_key(|view| std::cmp::Reverse((view.mapping.assigned_date, view.mapping.id)));
        Ok(page_of(found, page))
    }

    fn patient_with_active(
        &self,
        patient: PatientId,
    ) -> Result<Option<PatientAssignments>, RepoError> {
        let state = self.state();
        Ok(state.patient(patient).map(|found| PatientAssignments {
            patient: found.clone(),
            assignments: state.active_for(patient),
        }))
    }

    fn active_for_patients(
        &self,
        patients: &[PatientId],
    ) -> Result<Vec<(Mapping, DoctorWithCount)>, RepoError> {
        let state = self.state();
        Ok(patients
            .iter()
            .flat_map(|patient| state.active_for(*patient))
            .collect())
    }

    fn has_active(&self, patient: PatientId, doctor: DoctorId) -> Result<bool, RepoError> {
        Ok(self
            .state()
            .mappings
            .iter()
            .any(|m| m.patient_id == patient && m.doctor_id == doctor && m.is_active))
    }

    fn insert(
        &self,
        patient: PatientId,
        doctor: DoctorId,
        _assigned_by: UserId,
        notes: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError> {
        let mut state = self.state();
        let live_patient = state
            .patient(patient)
            .is_some_and(|p| p.archived_at.is_none());
        let available = state
            .doctor(doctor)
            .is_some_and(Doctor::accepts_assignments);
        if !(live_patient && available) {
            return Ok(None);
        }
        let taken = state
            .mappings
            .iter()
            .any(|m| m.patient_id == patient && m.doctor_id == doctor && m.is_active);
        if taken {
            return Err(RepoError::Conflict);
        }
        let mapping = Mapping {
            id: MappingId(state.next_id()),
            patient_id: patient,
            doctor_id: doctor,
            assigned_date: at,
            notes: notes.to_owned(),
            is_active: true,
        };
        state.mappings.push(mapping.clone());
        state.stored_rows.push(AuditEvent {
            resource_id: Some(mapping.id.0),
            ..audit.clone()
        });
        Ok(state.view(&mapping))
    }

    fn update_notes(
        &self,
        id: MappingId,
        notes: &str,
        _at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<MappingView>, RepoError> {
        let mut state = self.state();
        let Some(mapping) = state.mapping_mut(id).filter(|m| m.is_active) else {
            return Ok(None);
        };
        mapping.notes = notes.to_owned();
        let updated = mapping.clone();
        state.stored_rows.push(audit.clone());
        Ok(state.view(&updated))
    }

    fn deactivate(
        &self,
        id: MappingId,
        _at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        let mut state = self.state();
        let Some(mapping) = state.mapping_mut(id).filter(|m| m.is_active) else {
            return Ok(false);
        };
        mapping.is_active = false;
        state.stored_rows.push(audit.clone());
        Ok(true)
    }
}

impl BreakGlassRepository for FakeStore {
    fn grant(&self, grant: &NewGrant, audit: &AuditEvent) -> Result<Grant, RepoError> {
        let mut state = self.state();
        let id = state.next_id();
        state
            .grants
            .push((grant.patient, grant.user, grant.expires_at));
        state.stored_rows.push(AuditEvent {
            resource_id: Some(id),
            patient_id: Some(grant.patient),
            ..audit.clone()
        });
        Ok(Grant {
            id,
            clinic: grant.clinic,
            patient: grant.patient,
            user: grant.user,
            reason: grant.reason.as_str().to_owned(),
            granted_at: grant.granted_at,
            expires_at: grant.expires_at,
        })
    }

    fn log(&self, _: ClinicId, _: Page) -> Result<PageOf<Grant>, RepoError> {
        Err(RepoError::Internal(
            "the in-memory store keeps no break-glass log".into(),
        ))
    }
}
