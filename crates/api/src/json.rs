//! The JSON shapes of patients, doctors and mappings, as the original service wrote them.

use healthcare_core::ports::{DoctorWithCount, MappingView};
use healthcare_core::services::PatientAssignments;
use healthcare_domain::mapping::Mapping;
use healthcare_domain::patient::Patient;
use serde::Serialize;
use utoipa::ToSchema;

use crate::handlers::timestamp;

/// A patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientJson {
    /// Id.
    #[schema(minimum = 1)]
    id: i64,
    /// The user who created the patient (its owner).
    #[schema(minimum = 1)]
    created_by: i64,
    /// Full name.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Age in years.
    #[schema(minimum = 0, maximum = 150)]
    age: i16,
    /// `M`, `F` or `O`.
    #[schema(value_type = crate::openapi::Gender)]
    gender: &'static str,
    /// Phone, possibly empty.
    #[schema(max_length = 15)]
    phone: String,
    /// E-mail address or "".
    email: String,
    /// Postal address.
    address: String,
    /// Free-text medical history. Absent from every response to a front desk member, who
    /// never reads one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    medical_history: Option<String>,
    /// Creation time (UTC).
    #[schema(format = DateTime)]
    created_at: String,
    /// Last change (UTC).
    #[schema(format = DateTime)]
    updated_at: String,
}

impl PatientJson {
    /// `patient` as shown to a caller who reads medical histories, or not
    /// (`Caller::reads_medical_history`).
    pub fn shown(patient: Patient, with_medical_history: bool) -> Self {
        let details = patient.details;
        Self {
            id: patient.id.0,
            created_by: patient.owner.0,
            name: details.name.into_string(),
            age: details.age.value(),
            gender: details.gender.code(),
            phone: details.phone.into_string(),
            email: details.email.into_string(),
            address: details.address,
            medical_history: with_medical_history.then_some(details.medical_history),
            created_at: timestamp(patient.created_at),
            updated_at: timestamp(patient.updated_at),
        }
    }
}

/// A doctor with its patient count.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorJson {
    /// Id.
    #[schema(minimum = 1)]
    id: i64,
    /// Active mappings to non-archived patients, across all users.
    #[schema(minimum = 0)]
    patient_count: i64,
    /// Full name.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Specialization.
    #[schema(min_length = 1, max_length = 100)]
    specialization: String,
    /// Phone.
    #[schema(min_length = 1, max_length = 15)]
    phone: String,
    /// E-mail address (the local part may hold characters beyond ASCII, so no `format`).
    email: String,
    /// Years of experience.
    #[schema(minimum = 0, maximum = 80)]
    experience_years: i16,
    /// Qualification.
    #[schema(min_length = 1, max_length = 200)]
    qualification: String,
    /// Fee with exactly two decimals.
    #[schema(pattern = r"^[0-9]{1,8}\.[0-9]{2}$")]
    consultation_fee: String,
    /// Whether new patients can be assigned.
    is_available: bool,
    /// The account of the clinician this record describes, or `null`: it treats every patient
    /// mapped to the doctor, in clinics where it is a clinician.
    #[schema(minimum = 1)]
    user: Option<i64>,
    /// The user who created the doctor (the only one who may change it).
    #[schema(minimum = 1)]
    created_by: i64,
    /// Creation time (UTC).
    #[schema(format = DateTime)]
    created_at: String,
    /// Last change (UTC).
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<DoctorWithCount> for DoctorJson {
    fn from(found: DoctorWithCount) -> Self {
        let doctor = found.doctor;
        let details = doctor.details;
        Self {
            id: doctor.id.0,
            patient_count: found.patient_count,
            name: details.name.into_string(),
            specialization: details.specialization.into_string(),
            phone: details.phone.into_string(),
            email: details.email.into_string(),
            experience_years: details.experience_years.value(),
            qualification: details.qualification.into_string(),
            consultation_fee: details.consultation_fee.to_string(),
            is_available: details.is_available,
            user: details.linked_user.map(|user| user.0),
            created_by: doctor.created_by.0,
            created_at: timestamp(doctor.created_at),
            updated_at: timestamp(doctor.updated_at),
        }
    }
}

/// A mapping with the names beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingJson {
    /// Mapping id.
    #[schema(minimum = 1)]
    id: i64,
    /// Patient id.
    #[schema(minimum = 1)]
    patient: i64,
    /// Doctor id.
    #[schema(minimum = 1)]
    doctor: i64,
    /// The patient's name.
    patient_name: String,
    /// The doctor's name.
    doctor_name: String,
    /// The doctor's specialization.
    doctor_specialization: String,
    /// When the doctor was assigned (UTC).
    #[schema(format = DateTime)]
    assigned_date: String,
    /// Free-text notes.
    notes: String,
    /// Always true in API answers: removed mappings are not shown.
    is_active: bool,
}

impl From<MappingView> for MappingJson {
    fn from(view: MappingView) -> Self {
        let mapping = view.mapping;
        Self {
            id: mapping.id.0,
            patient: mapping.patient_id.0,
            doctor: mapping.doctor_id.0,
            patient_name: view.patient_name,
            doctor_name: view.doctor_name,
            doctor_specialization: view.doctor_specialization,
            assigned_date: timestamp(mapping.assigned_date),
            notes: mapping.notes,
            is_active: mapping.is_active,
        }
    }
}

/// One entry of the by-patient view.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedDoctorJson {
    /// Mapping id.
    #[schema(minimum = 1)]
    id: i64,
    /// The doctor.
    doctor: DoctorJson,
    /// When the doctor was assigned (UTC).
    #[schema(format = DateTime)]
    assigned_date: String,
    /// Free-text notes.
    notes: String,
    /// Always true: only active mappings are shown.
    is_active: bool,
}

/// `GET /api/mappings/{patient_id}/`: a patient and its active assignments.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientAssignmentsJson {
    /// The patient.
    patient: PatientJson,
    /// Its active assignments, oldest first.
    assigned_doctors: Vec<AssignedDoctorJson>,
}

impl PatientAssignmentsJson {
    /// The patient's assignments, the patient shown as in [`PatientJson::shown`].
    pub fn shown(found: PatientAssignments, with_medical_history: bool) -> Self {
        let assigned_doctors = found
            .assignments
            .into_iter()
            .map(
                |(mapping, doctor): (Mapping, DoctorWithCount)| AssignedDoctorJson {
                    id: mapping.id.0,
                    doctor: doctor.into(),
                    assigned_date: timestamp(mapping.assigned_date),
                    notes: mapping.notes,
                    is_active: mapping.is_active,
                },
            )
            .collect();
        Self {
            patient: PatientJson::shown(found.patient, with_medical_history),
            assigned_doctors,
        }
    }
}
