//! Every actor, every operation, every state of each kind of record.

use chrono::{TimeZone, Utc};

use super::*;
use crate::Timestamp;
use crate::clinic::{ClinicId, Role};
use crate::doctor::{DoctorChanges, DoctorId, DoctorInput};
use crate::errors::FieldErrors;
use crate::fields::{Submitted, WriteMode};
use crate::mapping::MappingId;
use crate::patient::{PatientChanges, PatientId, PatientInput};

use Access::{Absent, Forbidden, Granted, Hidden};
use Operation::{Archive, Change, Restore, See};

const CLINIC: ClinicId = ClinicId(1);

const fn member(user: i64, clinic: ClinicId, role: Role) -> Actor {
    Actor::Member(ClinicMember {
        user: UserId(user),
        clinic,
        role,
    })
}

/// The patients' registrar, admin of their clinic (as in a personal clinic).
const OWNER: Actor = member(7, CLINIC, Role::Admin);
/// An admin of another clinic.
const STRANGER: Actor = member(8, ClinicId(2), Role::Admin);
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
        clinic: CLINIC,
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
        user: Submitted::Absent,
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
            patient_access(actor, patient, CareTie::None, operation)
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
            mapping_access(actor, mapping, patient, CareTie::None, operation)
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

/// The role table inside one clinic, for a live patient someone else registered: every role,
/// a clinician with each kind of tie, every operation on the patient and its mappings.
#[test]
fn members_reach_their_clinics_patients_as_their_role_and_care_team_allow() {
    let live = patient(false);
    let active = mapping(true);
    let clinician = member(20, CLINIC, Role::Clinician);
    let table = [
        // actor, tie: patient [See, Change, Archive, Restore], mapping, medical history, assign
        (
            member(21, CLINIC, Role::Admin),
            CareTie::None,
            [Granted, Granted, Granted, Forbidden],
            [Granted, Granted, Granted, Absent],
            Granted,
            Granted,
        ),
        (
            clinician,
            CareTie::None,
            [Hidden; 4],
            [Hidden; 4],
            Hidden,
            Hidden,
        ),
        (
            clinician,
            CareTie::Treating,
            [Granted, Granted, Granted, Forbidden],
            [Granted, Granted, Granted, Absent],
            Granted,
            Granted,
        ),
        (
            clinician,
            CareTie::BreakGlass,
            [Granted, Granted, Granted, Forbidden],
            [Granted, Granted, Granted, Absent],
            Granted,
            Granted,
        ),
        (
            member(22, CLINIC, Role::FrontDesk),
            CareTie::None,
            [Granted, Granted, Forbidden, Forbidden],
            [Granted, Granted, Granted, Absent],
            Forbidden,
            Granted,
        ),
        (
            member(23, CLINIC, Role::Auditor),
            CareTie::None,
            [Hidden; 4],
            [Hidden; 4],
            Hidden,
            Hidden,
        ),
    ];
    for (actor, tie, on_patient, on_mapping, history, assign) in table {
        assert_table("patient", actor, on_patient, |actor, operation| {
            patient_access(actor, &live, tie, operation)
        });
        assert_table("mapping", actor, on_mapping, |actor, operation| {
            mapping_access(actor, &active, &live, tie, operation)
        });
        assert_eq!(
            medical_history_access(&actor, &live, tie),
            history,
            "{actor:?}"
        );
        assert_eq!(assignment_access(&actor, &live, tie), assign, "{actor:?}");
    }
    // A clinician reaches the patients they registered; another clinic's are hidden from every
    // role, whatever the tie the store reports.
    let registrar = member(7, CLINIC, Role::Clinician);
    assert_eq!(
        patient_access(&registrar, &live, CareTie::None, See),
        Granted
    );
    for role in Role::ALL {
        let outsider = member(7, ClinicId(2), role);
        for tie in [CareTie::None, CareTie::Treating, CareTie::BreakGlass] {
            assert_table(
                "foreign patient",
                outsider,
                [Hidden; 4],
                |actor, operation| patient_access(actor, &live, tie, operation),
            );
            assert_eq!(assignment_access(&outsider, &live, tie), Hidden);
        }
    }
}

#[test]
fn registering_follows_the_role_and_a_history_needs_a_role_that_writes_one() {
    let table = [
        (Role::Admin, [Granted, Granted]),
        (Role::Clinician, [Granted, Granted]),
        (Role::FrontDesk, [Granted, Forbidden]),
        (Role::Auditor, [Forbidden, Forbidden]),
    ];
    for (role, expected) in table {
        let actor = member(20, CLINIC, role);
        assert_eq!(
            [false, true].map(|with_history| patient_creation_access(&actor, with_history)),
            expected,
            "{role}"
        );
    }
    for actor in [STAFF, Actor::Operator] {
        assert_eq!(patient_creation_access(&actor, false), Forbidden);
    }
}

#[test]
fn only_clinicians_outside_their_own_registrations_need_the_store_asked() {
    let live = patient(false);
    assert_eq!(
        member(20, CLINIC, Role::Clinician).care_tie_to_look_up(&live),
        Some(UserId(20))
    );
    for actor in [
        member(7, CLINIC, Role::Clinician),
        member(20, ClinicId(2), Role::Clinician),
        member(20, CLINIC, Role::Admin),
        member(20, CLINIC, Role::FrontDesk),
        member(20, CLINIC, Role::Auditor),
        STAFF,
        Actor::Operator,
    ] {
        assert_eq!(actor.care_tie_to_look_up(&live), None, "{actor:?}");
    }
    let readers: Vec<bool> = [Role::Admin, Role::Clinician, Role::FrontDesk, Role::Auditor]
        .map(|role| member(20, CLINIC, role).reads_medical_history())
        .to_vec();
    assert_eq!(readers, vec![true, true, false, false]);
    assert!(STAFF.reads_medical_history() && Actor::Operator.reads_medical_history());
}

#[test]
fn members_lists_are_narrowed_to_their_clinics_view_and_staff_lists_are_not() {
    let requested = PatientFilter {
        search: Some("roe".into()),
        owner: Some(UserId(8)),
        archived: Some(true),
        scope: None,
    };
    let whole_clinic = Some(ClinicScope {
        clinic: CLINIC,
        care_team_of: None,
    });
    assert_eq!(
        patients_visible(&OWNER, requested.clone(), at()),
        Some(PatientFilter {
            search: Some("roe".into()),
            owner: Some(UserId(8)),
            archived: Some(false),
            scope: whole_clinic,
        })
    );
    let front_desk = member(22, CLINIC, Role::FrontDesk);
    assert_eq!(
        patients_visible(&front_desk, requested.clone(), at()).and_then(|f| f.scope),
        whole_clinic
    );
    assert_eq!(
        patients_visible(
            &member(20, CLINIC, Role::Clinician),
            requested.clone(),
            at()
        )
        .and_then(|f| f.scope),
        Some(ClinicScope {
            clinic: CLINIC,
            care_team_of: Some((UserId(20), at())),
        })
    );
    let auditor = member(23, CLINIC, Role::Auditor);
    assert_eq!(patients_visible(&auditor, requested.clone(), at()), None);
    assert_eq!(
        patients_visible(&STAFF, requested.clone(), at()),
        Some(requested)
    );

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
        active: Some(false),
        ..MappingFilter::default()
    };
    let narrowed = mappings_visible(&OWNER, mappings, at()).expect("an admin sees mappings");
    assert_eq!(
        (narrowed.scope, narrowed.active),
        (whole_clinic, Some(true))
    );
    assert_eq!(mappings_visible(&auditor, mappings, at()), None);
    assert_eq!(
        mappings_visible(&Actor::Operator, mappings, at()),
        Some(mappings)
    );
}

#[test]
fn a_deleted_record_is_gone_only_to_those_who_would_see_it_live() {
    let archived = patient(true);
    let clinician = member(20, CLINIC, Role::Clinician);
    assert!(deleted_patient_shown_as_gone(
        &OWNER,
        &archived,
        CareTie::None
    ));
    assert!(deleted_patient_shown_as_gone(
        &clinician,
        &archived,
        CareTie::Treating
    ));
    assert!(!deleted_patient_shown_as_gone(
        &clinician,
        &archived,
        CareTie::None
    ));
    assert!(!deleted_patient_shown_as_gone(
        &STRANGER,
        &archived,
        CareTie::None
    ));
    assert!(
        !deleted_patient_shown_as_gone(&OWNER, &patient(false), CareTie::None),
        "a live record is not gone"
    );
    assert!(deleted_doctor_shown_as_gone(&STRANGER, &doctor(true)));
    assert!(!deleted_doctor_shown_as_gone(&STRANGER, &doctor(false)));
}
