//! A row of `patients` (and of `patient_versions`, which has the same columns).

use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::fields::{OptionalEmail, Phone};
use healthcare_domain::patient::{Age, Gender, Patient, PatientDetails, PatientId, PatientName};
use healthcare_domain::{FieldProblem, UserId};

use crate::errors::corrupt_row;
use crate::schema::{patient_versions, patients};
use crate::time::{DbTimestamp, from_db, opt_from_db};

/// The columns of `$table` (`patients` or `patient_versions`, whose id column is `$id`) that a
/// [`PatientRow`] reads: all but the search keys `name_lower` and `name_folded`, which only
/// the queries' filters and orders use, so that a page does not decode them for nothing.
macro_rules! patient_columns {
    ($table:ident, $id:ident) => {
        (
            $table::$id,
            $table::owner_id,
            $table::name,
            $table::age,
            $table::gender,
            $table::phone,
            $table::email,
            $table::address,
            $table::medical_history,
            $table::created_at,
            $table::updated_at,
            $table::version,
            $table::archived_at,
            $table::clinic_id,
        )
    };
}

/// The columns of `patients` a [`PatientRow`] reads.
pub(crate) const PATIENT_COLUMNS: patient_columns!(patients, id) = patient_columns!(patients, id);

/// The columns of `patient_versions` a [`PatientRow`] reads.
pub(crate) const VERSION_COLUMNS: patient_columns!(patient_versions, patient_id) =
    patient_columns!(patient_versions, patient_id);

/// A record of `patients` or `patient_versions`, as [`PATIENT_COLUMNS`] and
/// [`VERSION_COLUMNS`] select it.
#[derive(Queryable)]
pub(crate) struct PatientRow {
    pub(crate) id: i64,
    owner_id: i64,
    name: String,
    age: i32,
    gender: String,
    phone: String,
    email: String,
    address: String,
    medical_history: String,
    created_at: DbTimestamp,
    updated_at: DbTimestamp,
    version: i64,
    archived_at: Option<DbTimestamp>,
    clinic_id: i64,
}

impl TryFrom<PatientRow> for Patient {
    type Error = RepoError;

    /// Re-parses through the domain constructors: a row edited by hand into an invalid state
    /// is reported, never served.
    fn try_from(row: PatientRow) -> Result<Self, RepoError> {
        let id = row.id;
        let corrupt =
            |field: &'static str| move |_: FieldProblem| corrupt_row("patients", id, field);
        Ok(Patient {
            id: PatientId(row.id),
            owner: UserId(row.owner_id),
            clinic: ClinicId(row.clinic_id),
            details: PatientDetails {
                name: PatientName::parse(row.name).map_err(corrupt("name"))?,
                age: Age::parse(row.age.into()).map_err(corrupt("age"))?,
                gender: Gender::parse(&row.gender).map_err(corrupt("gender"))?,
                phone: Phone::parse_optional(row.phone).map_err(corrupt("phone"))?,
                email: OptionalEmail::parse(row.email).map_err(corrupt("email"))?,
                address: row.address,
                medical_history: row.medical_history,
            },
            created_at: from_db(row.created_at),
            updated_at: from_db(row.updated_at),
            version: row.version,
            archived_at: opt_from_db(row.archived_at),
        })
    }
}
