//! Each list query against the domain's access rule: for every kind of actor, a list holds
//! exactly the records the rule lets that actor see, so no query restates the rule on its own.

use healthcare_domain::access::{
    Access, Actor, Operation, doctor_access, doctors_visible, mapping_access, mappings_visible,
    patient_access, patients_visible,
};
use healthcare_domain::patient::{Patient, PatientFilter};

use super::*;

contract!(every_list_holds_exactly_what_the_access_rule_shows_each_actor);

/// Every record of a kind: an unrestricted filter, as the operator's.
fn everything() -> Page {
    Page {
        number: 1,
        size: 100,
    }
}

fn every_list_holds_exactly_what_the_access_rule_shows_each_actor(pool: &DbPool) {
    let r = repos(pool);
    let staff = DieselUserRepository::new(pool.clone())
        .insert(&NewUser {
            is_staff: true,
            ..new_user("staff@example.com")
        })
        .expect("user")
        .id;
    // Each owner: a live patient with an active and an ended mapping, and an archived patient
    // (archiving ends its mappings). A live and an archived doctor.
    let doctor = |name: &str| {
        r.doctors
            .insert(r.owner, &doctor_details(name, "Cardiology", true), at(1))
            .expect("doctor")
            .doctor
            .id
    };
    let (live_doctor, other_doctor, archived_doctor) = (doctor("Ada"), doctor("Bo"), doctor("Cy"));
    for (second, owner) in [(2, r.owner), (10, r.other)] {
        let patient = |name: &str| {
            r.patients
                .insert(
                    owner,
                    &patient_details(name),
                    at(second),
                    &audit(AuditAction::PatientCreate),
                )
                .expect("patient")
                .id
        };
        let (live, archived) = (patient("Live"), patient("Archived"));
        let assign = |patient: PatientId, doctor: DoctorId| {
            r.mappings
                .insert(
                    patient,
                    doctor,
                    owner,
                    "",
                    at(second + 1),
                    &audit(AuditAction::MappingCreate),
                )
                .expect("stored")
                .expect("assigned")
                .mapping
                .id
        };
        assign(live, live_doctor);
        let ended = assign(live, other_doctor);
        assign(archived, live_doctor);
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
        (4, 3, 6)
    );
    let patient_of = |id: PatientId| -> &Patient {
        all_patients
            .iter()
            .find(|patient| patient.id == id)
            .expect("every mapping's patient is listed")
    };

    let actors = [
        Actor::RecordOwner(r.owner),
        Actor::RecordOwner(r.other),
        Actor::PlatformStaff(staff),
        Actor::Operator,
    ];
    for actor in actors {
        let seen = |access: Access| access == Access::Granted;

        let mut expected: Vec<PatientId> = all_patients
            .iter()
            .filter(|patient| seen(patient_access(&actor, patient, Operation::See)))
            .map(|patient| patient.id)
            .collect();
        let filter = patients_visible(&actor, PatientFilter::default());
        let mut listed: Vec<PatientId> = r
            .patients
            .list(&filter, everything())
            .expect("listed")
            .items
            .iter()
            .map(|patient| patient.id)
            .collect();
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected, "patients of {actor:?}");

        let mut expected: Vec<DoctorId> = all_doctors
            .iter()
            .filter(|found| seen(doctor_access(&actor, &found.doctor, Operation::See)))
            .map(|found| found.doctor.id)
            .collect();
        let filter = doctors_visible(&actor, DoctorFilter::default());
        let mut listed: Vec<DoctorId> = r
            .doctors
            .list(&filter, everything())
            .expect("listed")
            .items
            .iter()
            .map(|found| found.doctor.id)
            .collect();
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected, "doctors of {actor:?}");

        let mut expected: Vec<MappingId> = all_mappings
            .iter()
            .filter(|view| {
                let patient = patient_of(view.mapping.patient_id);
                seen(mapping_access(
                    &actor,
                    &view.mapping,
                    patient,
                    Operation::See,
                ))
            })
            .map(|view| view.mapping.id)
            .collect();
        let filter = mappings_visible(&actor, MappingFilter::default());
        let mut listed: Vec<MappingId> = r
            .mappings
            .list(&filter, everything())
            .expect("listed")
            .items
            .iter()
            .map(|view| view.mapping.id)
            .collect();
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected, "mappings of {actor:?}");
        assert!(
            matches!(actor, Actor::PlatformStaff(_) | Actor::Operator) || !listed.is_empty(),
            "each owner sees something, so the comparison is not vacuous"
        );
    }
}
