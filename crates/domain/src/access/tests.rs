//! Every actor, every operation, every state of each kind of record.

use chrono::{TimeZone, Utc};

use super::*;
use crate::Timestamp;
use crate::doctor::{DoctorChanges, DoctorId, DoctorInput};
use crate::errors::FieldErrors;
use crate::fields::{Submitted, WriteMode};
use crate::mapping::MappingId;
use crate::patient::{PatientChanges, PatientId, PatientInput};

use Access::{Absent, Forbidden, Granted, Hidden};
use Operation::{Archive, Change, Restore, See};

const OWNER: Actor = Actor::RecordOwner(UserId(7));
const STRANGER: Actor = Actor::RecordOwner(UserId(8));
const STAFF: Actor = Actor::PlatformStaff(UserId(9));
const OPERATIONS: [Operation; 4] = [See, Change, Archive, Restore];

fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

fn given(value: &str) -> Submitted<String> {
    Submitted::Given(value.to_owned())
}

fn patient(archived: bool) -> Patient {
    let details = PatientInput {
        name: given("Jane Roe"),
        age: Submitted::Given(45),
        gender: given("F"),
        phone: given("555-0100"),
        ..Default::default()
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(PatientChanges::into_new_details)
    .expect("complete");
    Patient {
        id: PatientId(1),
        owner: UserId(7),
        details,
        created_at: at(),
        updated_at: at(),
        version: 1,
        archived_at: archived.then(at),
    }
}

fn doctor(archived: bool) -> Doctor {
    let details = DoctorInput {
        name: given("Dr. Who"),
        specialization: given("Time"),
        phone: given("1"),
        email: given("who@tardis.org"),
        experience_years: Submitted::Given(10),
        qualification: given("PhD"),
        consultation_fee: given("0"),
        is_available: Submitted::Given(true),
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(DoctorChanges::into_new_details)
    .expect("complete");
    Doctor {
        id: DoctorId(4),
        created_by: UserId(7),
        details,
        created_at: at(),
        updated_at: at(),
        version: 1,
        archived_at: archived.then(at),
    }
}

fn mapping(active: bool) -> Mapping {
    Mapping {
        id: MappingId(5),
        patient_id: PatientId(1),
        doctor_id: DoctorId(4),
        assigned_date: at(),
        notes: String::new(),
        is_active: active,
    }
}

/// `expected[i]` is the answer for `OPERATIONS[i]`.
fn assert_table(
    what: &str,
    actor: Actor,
    expected: [Access; 4],
    decide: impl Fn(&Actor, Operation) -> Access,
) {
    for (operation, expected) in OPERATIONS.into_iter().zip(expected) {
        assert_eq!(
            decide(&actor, operation),
            expected,
            "{what}, {actor:?}, {operation:?}"
        );
    }
}

#[test]
fn an_owner_reaches_only_their_live_patients_and_staff_reach_every_patient() {
    let live = patient(false);
    let archived = patient(true);
    let table = [
        (OWNER, &live, [Granted, Granted, Granted, Forbidden]),
        (OWNER, &archived, [Absent, Absent, Absent, Forbidden]),
        (STRANGER, &live, [Hidden; 4]),
        (STRANGER, &archived, [Hidden; 4]),
        (STAFF, &live, [Granted, Granted, Granted, Absent]),
        (STAFF, &archived, [Granted, Absent, Absent, Granted]),
        (
            Actor::Operator,
            &archived,
            [Granted, Absent, Absent, Granted],
        ),
    ];
    for (actor, patient, expected) in table {
        assert_table("patient", actor, expected, |actor, operation| {
            patient_access(actor, patient, operation)
        });
    }
}

#[test]
fn every_user_reads_live_doctors_and_only_the_creator_changes_them() {
    let live = doctor(false);
    let archived = doctor(true);
    let table = [
        (OWNER, &live, [Granted, Granted, Granted, Absent]),
        (OWNER, &archived, [Absent, Absent, Absent, Forbidden]),
        (STRANGER, &live, [Granted, Forbidden, Forbidden, Absent]),
        (STRANGER, &archived, [Absent, Absent, Absent, Forbidden]),
        (STAFF, &live, [Granted, Granted, Granted, Absent]),
        (STAFF, &archived, [Granted, Absent, Absent, Granted]),
        (Actor::Operator, &live, [Granted, Granted, Granted, Absent]),
    ];
    for (actor, doctor, expected) in table {
        assert_table("doctor", actor, expected, |actor, operation| {
            doctor_access(actor, doctor, operation)
        });
    }
}

#[test]
fn mappings_follow_their_patient_and_ended_ones_are_seen_only_by_staff() {
    // Someone else's mapping is hidden whether it is active or ended: a denial either way.
    let live = patient(false);
    let archived = patient(true);
    let (active, ended) = (mapping(true), mapping(false));
    let table = [
        (OWNER, &active, &live, [Granted, Granted, Granted, Absent]),
        (OWNER, &ended, &live, [Absent; 4]),
        (STRANGER, &active, &live, [Hidden; 4]),
        (STRANGER, &ended, &live, [Hidden; 4]),
        (STAFF, &active, &live, [Granted, Granted, Granted, Absent]),
        (STAFF, &ended, &live, [Granted, Absent, Absent, Absent]),
        (STAFF, &ended, &archived, [Granted, Absent, Absent, Absent]),
        (
            Actor::Operator,
            &ended,
            &archived,
            [Granted, Absent, Absent, Absent],
        ),
    ];
    for (actor, mapping, patient, expected) in table {
        assert_table("mapping", actor, expected, |actor, operation| {
            mapping_access(actor, mapping, patient, operation)
        });
    }
}

#[test]
fn only_active_staff_act_as_platform_staff() {
    let user = |is_staff, is_active| User {
        id: UserId(9),
        name: "Sam".into(),
        email: "sam@example.com".into(),
        is_active,
        is_staff,
        created_at: at(),
        tokens_valid_after: None,
    };
    assert_eq!(Actor::platform_staff(&user(true, true)), Some(STAFF));
    assert_eq!(Actor::platform_staff(&user(true, false)), None);
    assert_eq!(Actor::platform_staff(&user(false, true)), None);
    assert_eq!(STAFF.user(), Some(UserId(9)));
    assert_eq!(Actor::Operator.user(), None);
}

#[test]
fn owners_lists_are_narrowed_to_their_live_records_and_staff_lists_are_not() {
    let requested = PatientFilter {
        search: Some("roe".into()),
        owner: Some(UserId(8)),
        archived: Some(true),
    };
    let narrowed = patients_visible(&OWNER, requested.clone());
    assert_eq!(
        narrowed,
        PatientFilter {
            search: Some("roe".into()),
            owner: Some(UserId(7)),
            archived: Some(false),
        }
    );
    assert_eq!(patients_visible(&STAFF, requested.clone()), requested);

    let doctors = DoctorFilter {
        archived: Some(true),
        ..DoctorFilter::default()
    };
    assert_eq!(
        doctors_visible(&OWNER, doctors.clone()).archived,
        Some(false)
    );
    assert_eq!(doctors_visible(&STAFF, doctors.clone()), doctors);

    let mappings = MappingFilter {
        owner: Some(UserId(8)),
        active: Some(false),
        ..MappingFilter::default()
    };
    let narrowed = mappings_visible(&OWNER, mappings);
    assert_eq!(
        (narrowed.owner, narrowed.active),
        (Some(UserId(7)), Some(true))
    );
    assert_eq!(mappings_visible(&Actor::Operator, mappings), mappings);
}
