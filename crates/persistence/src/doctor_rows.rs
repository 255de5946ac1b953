//! A row of `doctors`, with the patient count the mapping writes keep in it.

use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_core::ports::DoctorWithCount;
use healthcare_domain::FieldProblem;
use healthcare_domain::UserId;
use healthcare_domain::doctor::{
    Doctor, DoctorDetails, DoctorId, DoctorName, ExperienceYears, Qualification, Specialization,
};
use healthcare_domain::fields::Phone;
use healthcare_domain::money::Money;
use healthcare_domain::user::Email;

use crate::errors::corrupt_row;
use crate::schema::{doctor_versions, doctors};
use crate::time::{DbTimestamp, from_db, opt_from_db};

/// The columns of `$table` (`doctors` or `doctor_versions`, whose id column is `$id`) that a
/// [`DoctorRow`] reads: all but the search keys `specialization_lower` and `name_folded`,
/// which only the queries' filters and orders use (as for patients, see `patient_rows`).
macro_rules! doctor_columns {
    ($table:ident, $id:ident) => {
        (
            $table::$id,
            $table::created_by,
            $table::name,
            $table::specialization,
            $table::phone,
            $table::email,
            $table::experience_years,
            $table::qualification,
            $table::consultation_fee_cents,
            $table::is_available,
            $table::created_at,
            $table::updated_at,
            $table::version,
            $table::archived_at,
            $table::linked_user_id,
            $table::patient_count,
        )
    };
}

/// The columns of `doctors` a [`DoctorRow`] reads.
pub(crate) const DOCTOR_COLUMNS: doctor_columns!(doctors, id) = doctor_columns!(doctors, id);

/// The columns of `doctor_versions` a [`DoctorRow`] reads.
pub(crate) const DOCTOR_VERSION_COLUMNS: doctor_columns!(doctor_versions, doctor_id) =
    doctor_columns!(doctor_versions, doctor_id);

/// A record of `doctors` or `doctor_versions`, as [`DOCTOR_COLUMNS`] and
/// [`DOCTOR_VERSION_COLUMNS`] select it.
#[derive(Queryable)]
pub(crate) struct DoctorRow {
    id: i64,
    created_by: i64,
    name: String,
    specialization: String,
    phone: String,
    email: String,
    experience_years: i32,
    qualification: String,
    consultation_fee_cents: i64,
    is_available: bool,
    created_at: DbTimestamp,
    updated_at: DbTimestamp,
    version: i64,
    archived_at: Option<DbTimestamp>,
    linked_user_id: Option<i64>,
    /// Active mappings to the doctor (kept by triggers of `patient_doctor_mappings`).
    patient_count: i64,
}

impl TryFrom<DoctorRow> for Doctor {
    type Error = RepoError;

    /// Re-parses through the domain constructors.
    fn try_from(row: DoctorRow) -> Result<Self, RepoError> {
        let id = row.id;
        let corrupt =
            |field: &'static str| move |_: FieldProblem| corrupt_row("doctors", id, field);
        Ok(Doctor {
            id: DoctorId(row.id),
            created_by: UserId(row.created_by),
            details: DoctorDetails {
                name: DoctorName::parse(row.name).map_err(corrupt("name"))?,
                specialization: Specialization::parse(row.specialization)
                    .map_err(corrupt("specialization"))?,
                phone: Phone::parse_required(row.phone).map_err(corrupt("phone"))?,
                email: Email::parse(row.email).map_err(corrupt("email"))?,
                experience_years: ExperienceYears::parse(row.experience_years.into())
                    .map_err(corrupt("experience_years"))?,
                qualification: Qualification::parse(row.qualification)
                    .map_err(corrupt("qualification"))?,
                consultation_fee: Money::from_cents(row.consultation_fee_cents)
                    .map_err(corrupt("consultation_fee"))?,
                is_available: row.is_available,
                linked_user: row.linked_user_id.map(UserId),
            },
            created_at: from_db(row.created_at),
            updated_at: from_db(row.updated_at),
            version: row.version,
            archived_at: opt_from_db(row.archived_at),
        })
    }
}

/// The doctor and its patient count.
pub(crate) fn with_count(row: DoctorRow) -> Result<DoctorWithCount, RepoError> {
    let patient_count = row.patient_count;
    Ok(DoctorWithCount {
        doctor: Doctor::try_from(row)?,
        patient_count,
    })
}
