//! The JSON shapes of patients, doctors and mappings, as the original service wrote them.

use healthcare_domain::mapping::Mapping;
use healthcare_domain::patient::Patient;
use healthcare_ports::ports::{DoctorWithCount, MappingView};
use healthcare_ports::services::PatientAssignments;
use serde::Serialize;

use crate::handlers::timestamp;

/// A patient.
#[derive(Debug, Serialize)]
pub struct PatientJson {
    id: i64,
    created_by: i64,
    name: String,
    age: i16,
    gender: &'static str,
    phone: String,
    email: String,
    address: String,
    medical_history: String,
    created_at: String,
    updated_at: String,
}

impl From<Patient> for PatientJson {
    fn from(patient: Patient) -> Self {
        let details = patient.details;
        Self {
            id: patient.id.0,
            created_by: patient.owner.0,
            name: details.name.into_string(),
            age: details.age.value(),
            gender: details.gender.code(),
            phone: details.phone.as_str().to_owned(),
            email: details.email.as_str().to_owned(),
            address: details.address,
            medical_history: details.medical_history,
            created_at: timestamp(patient.created_at),
            updated_at: timestamp(patient.updated_at),
        }
    }
}

/// A doctor with its patient count.
#[derive(Debug, Serialize)]
pub struct DoctorJson {
    id: i64,
    patient_count: i64,
    name: String,
    specialization: String,
    phone: String,
    email: String,
    experience_years: i16,
    qualification: String,
    consultation_fee: String,
    is_available: bool,
    created_by: i64,
    created_at: String,
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
            phone: details.phone.as_str().to_owned(),
            email: details.email.as_str().to_owned(),
            experience_years: details.experience_years.value(),
            qualification: details.qualification.into_string(),
            consultation_fee: details.consultation_fee.to_string(),
            is_available: details.is_available,
            created_by: doctor.created_by.0,
            created_at: timestamp(doctor.created_at),
            updated_at: timestamp(doctor.updated_at),
        }
    }
}

/// A mapping with the names beside it.
#[derive(Debug, Serialize)]
pub struct MappingJson {
    id: i64,
    patient: i64,
    doctor: i64,
    patient_name: String,
    doctor_name: String,
    doctor_specialization: String,
    assigned_date: String,
    notes: String,
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
#[derive(Debug, Serialize)]
pub struct AssignedDoctorJson {
    id: i64,
    doctor: DoctorJson,
    assigned_date: String,
    notes: String,
    is_active: bool,
}

/// `GET /api/mappings/{patient_id}/`: a patient and its active assignments.
#[derive(Debug, Serialize)]
pub struct PatientAssignmentsJson {
    patient: PatientJson,
    assigned_doctors: Vec<AssignedDoctorJson>,
}

impl From<PatientAssignments> for PatientAssignmentsJson {
    fn from(found: PatientAssignments) -> Self {
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
            patient: found.patient.into(),
            assigned_doctors,
        }
    }
}
