//! Each list query and each care tie against the domain's access rule: for every kind of actor
//! (members of every role in personal and shared clinics, staff, the operator), a list holds
//! exactly the records the rule lets that actor see, so no query restates the rule on its own.

use diesel::connection::SimpleConnection;
use healthcare_core::ports::{BreakGlassRepository, ClinicRepository};
use healthcare_domain::access::{
    Access, Actor, CareTie, ClinicMember, Operation, doctor_access, doctors_visible,
    mapping_access, mappings_visible, patient_access, patients_visible,
};
use healthcare_domain::break_glass::{BreakGlassReason, NewGrant};
use healthcare_domain::clinic::{ClinicId, Role};
use healthcare_domain::patient::{Patient, PatientFilter};
use healthcare_persistence::connection::checkout;
use healthcare_persistence::{DieselBreakGlassRepository, DieselClinicRepository};

use super::clinics::shared_clinic;
use super::*;

contract!(
    every_list_holds_exactly_what_the_access_rule_shows_each_actor,
    care_ties_are_linked_doctors_and_running_grants,
);

/// Every record of a kind: an unrestricted filter, as the operator's.
fn everything() -> Page {
    Page {
        number: 1,
        size: 100,
    }
}

/// When the lists are read: after every grant below was opened, before the short one ends.
fn now() -> Timestamp {
    at(30)
}

/// Makes `user` a member of `clinic` with `role`.
fn join(pool: &DbPool, clinic: ClinicId, user: UserId, role: Role) {
    checkout(pool)
        .expect("a connection")
        .batch_execute(&format!(
            "INSERT INTO clinic_members (clinic_id, user_id, role, joined_at) VALUES \
             ({}, {}, '{}', '2026-11-26 10:00:02')",
            clinic.0, user.0, role
        ))
        .expect("a member");
}

/// A grant of `user` on `patient` in `clinic`, running from `from` for `seconds`.
fn grant(
    pool: &DbPool,
    (clinic, patient, user): (ClinicId, PatientId, UserId),
    from: Timestamp,
    seconds: i64,
) {
    DieselBreakGlassRepository::new(pool.clone())
        .grant(
            &NewGrant {
                clinic,
                patient,
                user,
                reason: BreakGlassReason::parse("Unconscious in the ER").expect("valid"),
                granted_at: from,
                expires_at: from + chrono::Duration::seconds(seconds),
            },
            &audit(AuditAction::PatientBreakGlass),
        )
        .expect("granted");
}

/// Accounts, clinics and records of every shape a list must tell apart.
struct World {
    /// Members of the shared clinic, by role, and whose view each has.
    actors: Vec<Actor>,
    /// The clinician, whose care team comes from every kind of tie.
    clinician: UserId,
    /// The shared clinic's patients: registered by the clinician, treated by them through a
    /// linked doctor, under their running grant, under their ended grant, and untied.
    registered: PatientId,
    treated: PatientId,
    granted: PatientId,
    grant_ended: PatientId,
    untied: PatientId,
}

fn world(pool: &DbPool, r: &fixtures::Repos) -> World {
    let users = DieselUserRepository::new(pool.clone());
    let account = |email: &str, is_staff: bool| {
        users
            .insert(&NewUser {
                is_staff,
                ..new_user(email)
            })
            .expect("user")
            .id
    };
    let staff = account("staff@example.com", true);
    let (clinician, desk, auditor) = (
        account("clinician@example.com", false),
        account("desk@example.com", false),
        account("auditor@example.com", false),
    );
    let clinics = DieselClinicRepository::new(pool.clone());
    let shared = shared_clinic(&clinics, r.owner, at(1));
    join(pool, shared, clinician, Role::Clinician);
    join(pool, shared, desk, Role::FrontDesk);
    join(pool, shared, auditor, Role::Auditor);

    let doctor = |name: &str, linked: Option<UserId>| {
        let mut details = doctor_details(name, "Cardiology", true);
        details.linked_user = linked;
        r.doctors
            .insert(r.owner, &details, at(1))
            .expect("doctor")
            .doctor
            .id
    };
    let (live_doctor, other_doctor, archived_doctor) =
        (doctor("Ada", None), doctor("Bo", None), doctor("Cy", None));
    let linked_doctor = doctor("Di", Some(clinician));
    let assign = |patient: PatientId, doctor: DoctorId, second: u32| {
        r.mappings
            .insert(
                patient,
                doctor,
                r.owner,
                "",
                at(second),
                &audit(AuditAction::MappingCreate),
            )
            .expect("stored")
            .expect("assigned")
            .mapping
            .id
    };
    let patient = |clinic: ClinicId, owner: UserId, name: &str, second: u32| {
        r.patients
            .insert(
                clinic,
                owner,
                &patient_details(name),
                at(second),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id
    };
    // Each personal clinic and the shared one: a live patient with an active and an ended
    // mapping, and an archived patient (archiving ends its mappings).
    let personal = |user| crate::personal_clinic(pool, user);
    for (second, clinic) in [(2, personal(r.owner)), (6, personal(r.other)), (10, shared)] {
        let (live, archived) = (
            patient(clinic, r.owner, "Live", second),
            patient(clinic, r.owner, "Archived", second),
        );
        assign(live, live_doctor, second + 1);
        let ended = assign(live, other_doctor, second + 1);
        assign(archived, live_doctor, second + 1);
        r.mappings
            .deactivate(ended, at(second + 2), &audit(AuditAction::MappingRemove))
            .expect("ended");
        r.patients
            .archive(archived, at(second + 3), &audit(AuditAction::PatientDelete))
            .expect("archived");
    }
    r.doctors
        .archive(archived_doctor, at(20), &audit(AuditAction::MappingRemove))
        .expect("archived");

    let registered = patient(shared, clinician, "Registered", 21);
    let treated = patient(shared, desk, "Treated", 21);
    assign(treated, linked_doctor, 22);
    // A doctor linked to the clinician treats patients of every clinic, but the clinician
    // sees them only where they are a clinician: here, not in the owner's personal clinic.
    let elsewhere = patient(personal(r.owner), r.owner, "Elsewhere", 21);
    assign(elsewhere, linked_doctor, 22);
    let granted = patient(shared, desk, "Granted", 21);
    grant(pool, (shared, granted, clinician), at(22), 3_600);
    let grant_ended = patient(shared, desk, "Grant ended", 21);
    grant(pool, (shared, grant_ended, clinician), at(22), 5);
    let untied = patient(shared, desk, "Untied", 21);

    let member = |user, clinic, role| Actor::Member(ClinicMember { user, clinic, role });
    World {
        actors: vec![
            member(r.owner, personal(r.owner), Role::Admin),
            member(r.other, personal(r.other), Role::Admin),
            member(r.owner, shared, Role::Admin),
            member(clinician, shared, Role::Clinician),
            member(desk, shared, Role::FrontDesk),
            member(auditor, shared, Role::Auditor),
            Actor::PlatformStaff(staff),
            Actor::Operator,
        ],
        clinician,
        registered,
        treated,
        granted,
        grant_ended,
        untied,
    }
}

/// The actor's care tie to `patient`, from the store when the rule needs one.
fn tie_of(r: &fixtures::Repos, actor: &Actor, patient: &Patient) -> CareTie {
    actor
        .care_tie_to_look_up(patient)
        .map_or(CareTie::None, |user| {
            r.patients.care_tie(patient.id, user, now()).expect("read")
        })
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

fn every_list_holds_exactly_what_the_access_rule_shows_each_actor(pool: &DbPool) {
    let r = repos(pool);
    let world = world(pool, &r);
    let all_patients = r
        .patients
        .list(&PatientFilter::default(), everything())
        .expect("listed")
        .items;
    let all_doctors = r
        .doctors
        .list(&DoctorFilter::default(), everything())
        .expect("listed")
        .items;
    let all_mappings = r
        .mappings
        .list(&MappingFilter::default(), everything())
        .expect("listed")
        .items;
    assert_eq!(
        (all_patients.len(), all_doctors.len(), all_mappings.len()),
        (12, 4, 11)
    );
    let patient_of = |id: PatientId| -> &Patient {
        all_patients
            .iter()
            .find(|patient| patient.id == id)
            .expect("every mapping's patient is listed")
    };
    let seen = |access: Access| access == Access::Granted;

    for actor in &world.actors {
        let expected: Vec<PatientId> = all_patients
            .iter()
            .filter(|p| {
                seen(patient_access(
                    actor,
                    p,
                    tie_of(&r, actor, p),
                    Operation::See,
                ))
            })
            .map(|patient| patient.id)
            .collect();
        let listed: Vec<PatientId> = match patients_visible(actor, PatientFilter::default(), now())
        {
            Some(filter) => r
                .patients
                .list(&filter, everything())
                .expect("listed")
                .items
                .iter()
                .map(|patient| patient.id)
                .collect(),
            None => Vec::new(),
        };
        assert_eq!(sorted(listed), sorted(expected), "patients of {actor:?}");

        let expected: Vec<DoctorId> = all_doctors
            .iter()
            .filter(|found| seen(doctor_access(actor, &found.doctor, Operation::See)))
            .map(|found| found.doctor.id)
            .collect();
        let filter = doctors_visible(actor, DoctorFilter::default());
        let listed: Vec<DoctorId> = r
            .doctors
            .list(&filter, everything())
            .expect("listed")
            .items
            .iter()
            .map(|found| found.doctor.id)
            .collect();
        assert_eq!(sorted(listed), sorted(expected), "doctors of {actor:?}");

        let expected: Vec<MappingId> = all_mappings
            .iter()
            .filter(|view| {
                let patient = patient_of(view.mapping.patient_id);
                let tie = tie_of(&r, actor, patient);
                seen(mapping_access(
                    actor,
                    &view.mapping,
                    patient,
                    tie,
                    Operation::See,
                ))
            })
            .map(|view| view.mapping.id)
            .collect();
        let listed: Vec<MappingId> = match mappings_visible(actor, MappingFilter::default(), now())
        {
            Some(filter) => r
                .mappings
                .list(&filter, everything())
                .expect("listed")
                .items
                .iter()
                .map(|view| view.mapping.id)
                .collect(),
            None => Vec::new(),
        };
        assert_eq!(sorted(listed), sorted(expected), "mappings of {actor:?}");
    }

    // The comparisons are not vacuous: the clinician's view is their care team exactly.
    let clinician = world.actors[3];
    let filter = patients_visible(&clinician, PatientFilter::default(), now()).expect("a view");
    let care_team: Vec<PatientId> = r
        .patients
        .list(&filter, everything())
        .expect("listed")
        .items
        .iter()
        .map(|patient| patient.id)
        .collect();
    assert_eq!(
        sorted(care_team),
        sorted(vec![world.registered, world.treated, world.granted])
    );
}

fn care_ties_are_linked_doctors_and_running_grants(pool: &DbPool) {
    let r = repos(pool);
    let world = world(pool, &r);
    let tie = |patient: PatientId, at: Timestamp| {
        r.patients
            .care_tie(patient, world.clinician, at)
            .expect("read")
    };
    assert_eq!(tie(world.treated, now()), CareTie::Treating);
    assert_eq!(tie(world.granted, now()), CareTie::BreakGlass);
    assert_eq!(tie(world.grant_ended, now()), CareTie::None);
    assert_eq!(
        tie(world.grant_ended, at(22)),
        CareTie::BreakGlass,
        "running when it was opened"
    );
    assert_eq!(tie(world.untied, now()), CareTie::None);
    let under_grant = |patients: &[PatientId]| {
        r.patients
            .under_grant(world.clinician, patients, now())
            .expect("read")
    };
    assert!(under_grant(&[world.untied, world.granted]));
    assert!(!under_grant(&[
        world.untied,
        world.treated,
        world.grant_ended
    ]));
    assert!(!under_grant(&[]));
    assert_eq!(
        tie(world.registered, now()),
        CareTie::None,
        "registering is no stored tie: the rule reads it from the record"
    );
    assert_eq!(
        r.patients.care_tie(world.treated, r.other, now()),
        Ok(CareTie::None),
        "another account"
    );
    // A grant on a treated patient reports the grant: accesses under it are marked.
    let shared = r
        .patients
        .find(world.treated)
        .expect("read")
        .expect("stored")
        .clinic;
    grant(pool, (shared, world.treated, world.clinician), at(25), 60);
    assert_eq!(tie(world.treated, now()), CareTie::BreakGlass);
    assert!(
        DieselClinicRepository::new(pool.clone())
            .membership(shared, world.clinician)
            .expect("read")
            .is_some()
    );
}
