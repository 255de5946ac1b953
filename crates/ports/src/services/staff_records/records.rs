//! Patients, doctors and mappings as staff see them: every owner's, archived ones included;
//! each access to patient data audited with the staff user as actor.

use super::*;

impl StaffRecords {
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
}
