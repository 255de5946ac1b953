//! Service tests with mock repositories: each resource rule, checked without a database, and
//! the audit row each use case leaves.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{TimeZone, Utc};
use healthcare_domain::access::{Actor, ClinicMember};
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::clinic::{Clinic, ClinicId, Membership, Role};
use healthcare_domain::doctor::{Doctor, DoctorChanges, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::mapping::{Mapping, MappingId};
use healthcare_domain::patient::{Patient, PatientChanges, PatientFilter, PatientId, PatientInput};
use healthcare_domain::staff::AuditTrailAccess;
use healthcare_domain::{FieldErrors, FieldProblem, Timestamp, User, UserId};
use mockall::Sequence;

use super::*;
use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditTrail, Clock, DoctorWithCount, MappingFilter, MappingView, MockDoctorRepository,
    MockMappingRepository, MockPatientRepository, MockUserRepository, SignInFactors,
};
use crate::services::fake_store::FakeStore;
use crate::{RepoError, Resource, ServiceError};

/// An audit trail that keeps every recorded event, for tests to inspect.
#[derive(Debug, Default)]
pub(crate) struct RecordingTrail(Mutex<Vec<AuditEvent>>);

impl RecordingTrail {
    /// A new, empty trail, shared with the service under test.
    pub(crate) fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Removes and returns everything recorded so far.
    pub(crate) fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Removes and returns the one event recorded since the last `take`; panics unless there
    /// is exactly one.
    pub(crate) fn take_one(&self) -> AuditEvent {
        let mut events = self.take();
        assert_eq!(
            events.len(),
            1,
            "expected exactly one audit row: {events:#?}"
        );
        events.remove(0)
    }

    /// Panics if anything was recorded since the last `take`.
    pub(crate) fn assert_empty(&self) {
        let events = self.take();
        assert!(events.is_empty(), "expected no audit row: {events:#?}");
    }
}

impl AuditTrail for RecordingTrail {
    fn record(&self, event: AuditEvent) -> Result<(), ServiceError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
        Ok(())
    }
}

pub(crate) struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        at()
    }
}

pub(crate) fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0)
        .single()
        .expect("valid")
}

const OWNER: UserId = UserId(7);
const STRANGER: UserId = UserId(8);

/// Where the test requests come from.
pub(crate) fn origin() -> RequestOrigin {
    RequestOrigin {
        client_address: Some("203.0.113.9".into()),
        request_id: Some("req-42".into()),
    }
}

const STAFF: UserId = UserId(1);

/// Active staff on the admin site.
fn staff() -> Caller {
    Caller {
        actor: Actor::PlatformStaff(STAFF),
        factors: SignInFactors::PasswordAndCode,
        audit_trail: AuditTrailAccess::Allowed,
        origin: origin(),
    }
}

/// The personal clinic of `user` (its id is the user's, in these tests).
pub(crate) fn personal_clinic(user: UserId) -> ClinicId {
    ClinicId(user.0)
}

/// `user`'s membership of `clinic` with `role`.
pub(crate) fn membership(user: UserId, clinic: ClinicId, role: Role) -> Membership {
    Membership {
        clinic: Clinic {
            id: clinic,
            name: "Clinic".into(),
            personal_owner: (clinic == personal_clinic(user)).then_some(user),
            created_at: at(),
        },
        role,
        joined_at: at(),
    }
}

/// `user` acting in `clinic` with `role`.
pub(crate) fn member(user: UserId, clinic: ClinicId, role: Role) -> Caller {
    Caller {
        actor: Actor::Member(ClinicMember { user, clinic, role }),
        factors: SignInFactors::Password,
        audit_trail: AuditTrailAccess::Forbidden,
        origin: origin(),
    }
}

/// `user` acting in their personal clinic, as every account starts.
pub(crate) fn caller(user: UserId) -> Caller {
    member(user, personal_clinic(user), Role::Admin)
}

/// Checks a row recorded for `OWNER` at `at()` from `origin()`.
#[track_caller]
fn assert_row(
    event: &AuditEvent,
    action: AuditAction,
    outcome: AuditOutcome,
    resource_id: Option<i64>,
    patient_id: Option<PatientId>,
) {
    assert_eq!(
        event,
        &AuditEvent {
            at: at(),
            actor: Some(OWNER),
            action,
            resource_id,
            patient_id,
            outcome,
            origin: origin(),
            break_glass: false,
        }
    );
}

pub(super) fn text(value: &str) -> Submitted<String> {
    Submitted::Given(value.to_owned())
}

pub(super) fn page() -> Page {
    Page {
        number: 1,
        size: 20,
    }
}

pub(super) fn patient(owner: UserId, archived: bool) -> Patient {
    let details = PatientInput {
        name: text("Jane Roe"),
        age: Submitted::Given(40),
        gender: text("F"),
        ..Default::default()
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(PatientChanges::into_new_details)
    .expect("complete");
    Patient {
        id: PatientId(1),
        owner,
        clinic: personal_clinic(owner),
        details,
        created_at: at(),
        updated_at: at(),
        version: 3,
        archived_at: archived.then(at),
    }
}

pub(super) fn doctor(created_by: UserId, available: bool, archived: bool) -> DoctorWithCount {
    let mut details = DoctorInput {
        name: text("Dr. Ada"),
        specialization: text("Cardiology"),
        phone: text("555"),
        email: text("ada@clinic.org"),
        experience_years: Submitted::Given(10),
        qualification: text("MD"),
        consultation_fee: text("100"),
        is_available: Submitted::Absent,
        user: Submitted::Absent,
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(DoctorChanges::into_new_details)
    .expect("complete");
    details.is_available = available;
    let doctor = Doctor {
        id: DoctorId(2),
        created_by,
        details,
        created_at: at(),
        updated_at: at(),
        version: 5,
        archived_at: archived.then(at),
    };
    DoctorWithCount {
        doctor,
        patient_count: 0,
    }
}

fn patients_with(found: Option<Patient>) -> MockPatientRepository {
    let mut patients = MockPatientRepository::new();
    patients.expect_find().return_const(Ok(found));
    patients
}

fn patient_service(patients: MockPatientRepository) -> (PatientService, Arc<RecordingTrail>) {
    let trail = RecordingTrail::shared();
    let service = PatientService::new(PatientPorts {
        patients: Arc::new(patients),
        mappings: Arc::new(MockMappingRepository::new()),
        users: Arc::new(MockUserRepository::new()),
        trail: trail.clone(),
        clock: Arc::new(FixedClock),
        grants: Arc::new(crate::ports::MockBreakGlassRepository::new()),
    });
    (service, trail)
}

/// A store holding `stored`, the patient service on it, and its trail.
fn patient_desk(stored: &[Patient]) -> (PatientService, FakeStore, Arc<RecordingTrail>) {
    let store = FakeStore::default();
    stored
        .iter()
        .cloned()
        .for_each(|patient| store.add_patient(patient));
    let trail = RecordingTrail::shared();
    let service = PatientService::new(PatientPorts {
        patients: Arc::new(store.clone()),
        mappings: Arc::new(store.clone()),
        users: Arc::new(MockUserRepository::new()),
        trail: trail.clone(),
        clock: Arc::new(FixedClock),
        grants: Arc::new(store.clone()),
    });
    (service, store, trail)
}

/// The row `OWNER`'s change stored with it.
fn stored_change(action: AuditAction, resource: i64) -> AuditEvent {
    AuditEvent {
        at: at(),
        actor: Some(OWNER),
        action,
        resource_id: Some(resource),
        patient_id: Some(PatientId(resource)),
        outcome: AuditOutcome::Success,
        origin: origin(),
        break_glass: false,
    }
}

fn age_patch() -> PatientInput {
    PatientInput {
        age: Submitted::Given(41),
        ..Default::default()
    }
}

pub(super) fn view() -> MappingView {
    MappingView {
        mapping: mapping(true),
        patient_name: "Jane Roe".into(),
        doctor_name: "Dr. Ada".into(),
        doctor_specialization: "Cardiology".into(),
    }
}

pub(super) fn mapping(active: bool) -> Mapping {
    Mapping {
        id: MappingId(9),
        patient_id: PatientId(1),
        doctor_id: DoctorId(2),
        assigned_date: at(),
        notes: String::new(),
        is_active: active,
    }
}

mod as_staff;
mod clinic_roles;
mod doctors;
mod mappings;
mod patients;
mod record_history;
