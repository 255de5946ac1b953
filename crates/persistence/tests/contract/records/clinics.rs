//! Clinics: every account has its personal clinic, of which it is the admin, and the patients
//! it creates are there; an upgrade gives the accounts and patients of the previous release
//! the same.

use super::*;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::sql_types::BigInt;
use healthcare_core::ports::{ClinicRepository, MemberChange, PatientRepository};
use healthcare_domain::clinic::{
    ClinicId, ClinicName, InvitationToken, Membership, NewInvitation, Role,
};
use healthcare_persistence::DieselClinicRepository;
use healthcare_persistence::connection::checkout;

contract!(
    every_account_is_the_admin_of_its_personal_clinic,
    a_new_patient_is_in_the_clinic_it_was_registered_in,
    memberships_list_the_personal_clinic_first_then_by_name,
    a_created_clinic_has_its_creator_as_admin_and_its_audit_row,
    a_rename_stores_its_audit_row_and_an_unknown_clinic_changes_nothing,
    members_are_listed_by_name_with_their_roles,
    an_invitation_is_accepted_once_by_its_address_before_it_expires,
    roles_change_and_members_leave_but_a_clinic_keeps_an_admin,
);

fn roles_change_and_members_leave_but_a_clinic_keeps_an_admin(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let ann = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    let bob = users
        .insert(&new_user("bob@example.com"))
        .expect("inserted");
    let cy = users.insert(&new_user("cy@example.com")).expect("inserted");
    let clinic = shared_clinic(&clinics, ann.id, at(1));
    checkout(pool)
        .expect("a connection")
        .batch_execute(&format!(
            "INSERT INTO clinic_members (clinic_id, user_id, role, joined_at) VALUES \
             ({c}, {bob}, 'clinician', '2026-11-26 10:00:02')",
            c = clinic.0,
            bob = bob.id.0,
        ))
        .expect("a second member");
    let update = audit(AuditAction::ClinicMemberUpdate);
    let remove = audit(AuditAction::ClinicMemberRemove);
    assert_eq!(
        clinics.change_role(clinic, ann.id, Role::Clinician, &update),
        Ok(MemberChange::LastAdmin)
    );
    assert_eq!(
        clinics.remove_member(clinic, ann.id, &remove),
        Ok(MemberChange::LastAdmin)
    );
    assert_eq!(
        clinics.change_role(clinic, cy.id, Role::Admin, &update),
        Ok(MemberChange::NotMember)
    );
    assert_eq!(
        clinics.remove_member(clinic, cy.id, &remove),
        Ok(MemberChange::NotMember)
    );
    let promoted = clinics
        .change_role(clinic, bob.id, Role::Admin, &update)
        .expect("changed");
    let MemberChange::Done(Some(promoted)) = promoted else {
        panic!("{promoted:?}");
    };
    assert_eq!((promoted.user, promoted.role), (bob.id, Role::Admin));
    // Two admins demoting each other at once: one of them stays admin.
    let outcomes: Vec<MemberChange> = std::thread::scope(|scope| {
        let racers: Vec<_> = [ann.id, bob.id]
            .into_iter()
            .map(|user| {
                let (clinics, update) = (&clinics, &update);
                scope.spawn(move || {
                    clinics
                        .change_role(clinic, user, Role::Auditor, update)
                        .expect("no database error")
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().expect("no panic"))
            .collect()
    });
    assert!(outcomes.contains(&MemberChange::LastAdmin), "{outcomes:?}");
    let admins = clinics
        .members(
            clinic,
            Page {
                number: 1,
                size: 20,
            },
        )
        .expect("listed")
        .items
        .iter()
        .filter(|m| m.role == Role::Admin)
        .count();
    assert_eq!(admins, 1);
    let leaver = if clinics
        .membership(clinic, ann.id)
        .expect("read")
        .map(|m| m.role)
        == Some(Role::Admin)
    {
        bob.id
    } else {
        ann.id
    };
    assert_eq!(
        clinics.remove_member(clinic, leaver, &remove),
        Ok(MemberChange::Done(None))
    );
    assert_eq!(clinics.membership(clinic, leaver), Ok(None));
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM audit_events WHERE action IN \
             ('clinic.member_update', 'clinic.member_remove')"
        ),
        3,
        "the promotion, the one demotion and the removal; nothing for refusals"
    );
}

fn an_invitation_is_accepted_once_by_its_address_before_it_expires(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let ann = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    let bob = users
        .insert(&new_user("bob@example.com"))
        .expect("inserted");
    let cy = users.insert(&new_user("cy@example.com")).expect("inserted");
    let clinic = shared_clinic(&clinics, ann.id, at(1));
    let invite = |email: &str, role: Role, token: &str, expires: u32| {
        clinics
            .invite(
                &NewInvitation {
                    clinic,
                    email: Email::parse(email).expect("valid"),
                    role,
                    token_hash: InvitationToken::hash_of(token),
                    invited_by: ann.id,
                    created_at: at(2),
                    expires_at: at(expires),
                },
                &audit(AuditAction::ClinicInvite),
            )
            .expect("invited")
    };
    let invitation = invite("Bob@Example.com", Role::Clinician, "token-b", 30);
    assert_eq!(
        (
            invitation.email.as_str(),
            invitation.role,
            invitation.expires_at
        ),
        ("Bob@Example.com", Role::Clinician, at(30))
    );
    let join = audit(AuditAction::ClinicJoin);
    let accept = |token: &str, user: UserId, email: &str, when: u32| {
        clinics
            .accept_invitation(
                &InvitationToken::hash_of(token),
                user,
                email,
                at(when),
                &join,
            )
            .expect("ran")
    };
    // Someone else's address, an unknown token, and too late: nothing happens.
    assert_eq!(accept("token-b", cy.id, "cy@example.com", 3), None);
    assert_eq!(accept("token-x", bob.id, "bob@example.com", 3), None);
    assert_eq!(
        accept("token-b", bob.id, "bob@example.com", 30),
        None,
        "expired"
    );
    let joined = accept("token-b", bob.id, "bob@example.com", 4).expect("accepted");
    assert_eq!(
        (joined.clinic.id, joined.role, joined.joined_at),
        (clinic, Role::Clinician, at(4))
    );
    assert_eq!(
        accept("token-b", bob.id, "bob@example.com", 5),
        None,
        "spent"
    );
    // A member keeps their role when accepting another invitation.
    invite("bob@example.com", Role::Admin, "token-b2", 30);
    let again = accept("token-b2", bob.id, "bob@example.com", 6).expect("accepted");
    assert_eq!(again.role, Role::Clinician);
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM audit_events WHERE action IN ('clinic.invite', 'clinic.join')"
        ),
        4,
        "two invitations and two acceptances"
    );
    assert_eq!(
        clinics
            .members(
                clinic,
                Page {
                    number: 1,
                    size: 20
                }
            )
            .map(|p| p.total),
        Ok(2)
    );

    // Two acceptances racing: one wins.
    invite("cy@example.com", Role::Auditor, "token-c", 30);
    let outcomes: Vec<bool> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    clinics
                        .accept_invitation(
                            &InvitationToken::hash_of("token-c"),
                            cy.id,
                            "cy@example.com",
                            at(7),
                            &join,
                        )
                        .map(|accepted| accepted.is_some())
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().expect("no panic").expect("no database error"))
            .collect()
    });
    assert_eq!(
        outcomes.iter().filter(|won| **won).count(),
        1,
        "{outcomes:?}"
    );

    // Two invitations to one clinic accepted at once: one membership, no error.
    let dee = users
        .insert(&new_user("dee@example.com"))
        .expect("inserted");
    invite("dee@example.com", Role::Auditor, "token-d1", 30);
    invite("dee@example.com", Role::Auditor, "token-d2", 30);
    let joined: Vec<bool> = std::thread::scope(|scope| {
        let racers: Vec<_> = ["token-d1", "token-d2"]
            .into_iter()
            .map(|token| {
                let (clinics, join) = (&clinics, &join);
                scope.spawn(move || {
                    clinics
                        .accept_invitation(
                            &InvitationToken::hash_of(token),
                            dee.id,
                            "dee@example.com",
                            at(8),
                            join,
                        )
                        .map(|accepted| accepted.is_some())
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().expect("no panic").expect("no database error"))
            .collect()
    });
    assert_eq!(joined, vec![true, true]);
    assert_eq!(
        clinics
            .membership(clinic, dee.id)
            .map(|m| m.map(|m| m.role)),
        Ok(Some(Role::Auditor))
    );
}

fn a_created_clinic_has_its_creator_as_admin_and_its_audit_row(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let ann = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    let name = ClinicName::parse(" North Clinic ").expect("valid");
    let created = clinics
        .create(&name, ann.id, at(5), &audit(AuditAction::ClinicCreate))
        .expect("created");
    assert_eq!(
        (
            created.clinic.name.as_str(),
            created.clinic.personal_owner,
            created.role,
            created.clinic.created_at,
            created.joined_at,
        ),
        ("North Clinic", None, Role::Admin, at(5), at(5))
    );
    assert_eq!(
        clinics.membership(created.clinic.id, ann.id),
        Ok(Some(created.clone()))
    );
    assert_eq!(
        count(
            pool,
            &format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = 'clinic.create' \
                 AND resource_id = {}",
                created.clinic.id.0
            )
        ),
        1
    );
    let bob = users
        .insert(&new_user("bob@example.com"))
        .expect("inserted");
    assert_eq!(clinics.membership(created.clinic.id, bob.id), Ok(None));
    assert_eq!(clinics.membership(ClinicId(9999), ann.id), Ok(None));
    assert_eq!(all_memberships(&clinics, ann.id).len(), 2);
}

fn a_rename_stores_its_audit_row_and_an_unknown_clinic_changes_nothing(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let ann = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    let personal = clinics
        .personal_membership(ann.id)
        .expect("read")
        .expect("every account");
    let name = ClinicName::parse("Ann's Practice").expect("valid");
    let rename = audit(AuditAction::ClinicRename);
    assert_eq!(clinics.rename(personal.clinic.id, &name, &rename), Ok(true));
    assert_eq!(
        clinics
            .membership(personal.clinic.id, ann.id)
            .expect("read")
            .map(|m| m.clinic.name),
        Some("Ann's Practice".to_owned())
    );
    assert_eq!(clinics.rename(ClinicId(9999), &name, &rename), Ok(false));
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'clinic.rename'"
        ),
        1,
        "only the rename that happened"
    );
}

fn members_are_listed_by_name_with_their_roles(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let mut zoe = new_user("zoe@example.com");
    zoe.name = UserName::parse("Zoe Admin").expect("valid");
    let zoe = users.insert(&zoe).expect("inserted");
    let mut abe = new_user("abe@example.com");
    abe.name = UserName::parse("Abe Desk").expect("valid");
    let abe = users.insert(&abe).expect("inserted");
    let clinic = shared_clinic(&clinics, zoe.id, at(3));
    checkout(pool)
        .expect("a connection")
        .batch_execute(&format!(
            "INSERT INTO clinic_members (clinic_id, user_id, role, joined_at) VALUES \
             ({}, {}, 'front_desk', '2026-11-26 10:00:09')",
            clinic.0, abe.id.0
        ))
        .expect("a second member");
    let listed = clinics
        .members(
            clinic,
            Page {
                number: 1,
                size: 20,
            },
        )
        .expect("listed");
    assert_eq!(listed.total, 2);
    let members: Vec<(&str, &str, Role, Timestamp)> = listed
        .items
        .iter()
        .map(|m| (m.name.as_str(), m.email.as_str(), m.role, m.joined_at))
        .collect();
    assert_eq!(
        members,
        vec![
            ("Abe Desk", "abe@example.com", Role::FrontDesk, at(9)),
            ("Zoe Admin", "zoe@example.com", Role::Admin, at(3)),
        ]
    );
    let second = clinics
        .members(clinic, Page { number: 2, size: 1 })
        .expect("listed");
    assert_eq!(
        (second.total, second.items.len(), second.items[0].user),
        (2, 1, zoe.id)
    );
    assert_eq!(
        clinics
            .members(
                ClinicId(9999),
                Page {
                    number: 1,
                    size: 20
                }
            )
            .map(|p| p.total),
        Ok(0)
    );
}

/// A new shared clinic named "Shared", with `creator` as its admin.
pub(super) fn shared_clinic(
    clinics: &DieselClinicRepository,
    creator: UserId,
    at: Timestamp,
) -> ClinicId {
    clinics
        .create(
            &ClinicName::parse("Shared").expect("valid"),
            creator,
            at,
            &audit(AuditAction::ClinicCreate),
        )
        .expect("created")
        .clinic
        .id
}

/// Every clinic `user` is a member of, in the list's order.
fn all_memberships(clinics: &DieselClinicRepository, user: UserId) -> Vec<Membership> {
    clinics
        .memberships_of(
            user,
            Page {
                number: 1,
                size: 100,
            },
        )
        .expect("read")
        .items
}

fn memberships_list_the_personal_clinic_first_then_by_name(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let ann = users
        .insert(&new_user("zed@example.com"))
        .expect("inserted");
    let bob = users
        .insert(&new_user("bob@example.com"))
        .expect("inserted");
    // Shared clinics, until the API can make them.
    checkout(pool)
        .expect("a connection")
        .batch_execute(&format!(
            "INSERT INTO clinics (id, name, personal_owner_id, created_at) VALUES \
             (100, 'Zeta Clinic', NULL, '2026-11-26 10:00:00'), \
             (101, 'Alpha Clinic', NULL, '2026-11-26 10:00:00'); \
             INSERT INTO clinic_members (clinic_id, user_id, role, joined_at) VALUES \
             (100, {ann}, 'auditor', '2026-11-26 11:00:00'), \
             (101, {ann}, 'clinician', '2026-11-26 12:00:00'), \
             (101, {bob}, 'front_desk', '2026-11-26 12:00:00');",
            ann = ann.id.0,
            bob = bob.id.0,
        ))
        .expect("shared clinics");
    let listed: Vec<(String, Role)> = all_memberships(&clinics, ann.id)
        .into_iter()
        .map(|membership| (membership.clinic.name, membership.role))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("Ann Lee".to_owned(), Role::Admin),
            ("Alpha Clinic".to_owned(), Role::Clinician),
            ("Zeta Clinic".to_owned(), Role::Auditor),
        ]
    );
    let second = clinics
        .memberships_of(ann.id, Page { number: 2, size: 2 })
        .expect("read");
    assert_eq!(second.total, 3);
    assert_eq!(
        second
            .items
            .iter()
            .map(|m| m.clinic.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Zeta Clinic"]
    );
    let personal = clinics
        .personal_membership(bob.id)
        .expect("read")
        .expect("every account");
    assert_eq!(
        (personal.clinic.personal_owner, personal.role),
        (Some(bob.id), Role::Admin)
    );
    assert_eq!(clinics.personal_membership(UserId(9999)), Ok(None));
}

fn every_account_is_the_admin_of_its_personal_clinic(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let mut long_name = new_user("long@example.com");
    long_name.name = UserName::parse("L".repeat(150)).expect("valid");
    for (user, expected_name) in [
        (new_user("ann@example.com"), "Ann Lee".to_owned()),
        (long_name, "L".repeat(100)),
    ] {
        let stored = users.insert(&user).expect("inserted");
        let memberships = all_memberships(&clinics, stored.id);
        assert_eq!(memberships.len(), 1, "exactly one clinic");
        let personal = &memberships[0];
        assert_eq!(
            (
                personal.clinic.name.as_str(),
                personal.clinic.personal_owner,
                personal.role,
                personal.clinic.created_at,
                personal.joined_at,
            ),
            (
                expected_name.as_str(),
                Some(stored.id),
                Role::Admin,
                stored.created_at,
                stored.created_at,
            )
        );
    }
    assert_eq!(all_memberships(&clinics, UserId(9999)), vec![]);
    // A duplicate e-mail leaves no clinic behind.
    assert_eq!(
        users.insert(&new_user("ANN@example.com")),
        Err(RepoError::Conflict)
    );
    assert_eq!(count(pool, "SELECT COUNT(*) FROM clinics"), 2);
}

fn a_new_patient_is_in_the_clinic_it_was_registered_in(pool: &DbPool) {
    let r = repos(pool);
    for (owner, name) in [
        (r.owner, "Jane Roe"),
        (r.other, "John Doe"),
        (r.owner, "Max Poe"),
    ] {
        r.patients
            .insert(
                crate::personal_clinic(pool, owner),
                owner,
                &patient_details(name),
                at(1),
                &audit(AuditAction::PatientCreate),
            )
            .expect("inserted");
    }
    assert_eq!(count(pool, PATIENTS_IN_THEIR_OWNERS_CLINIC), 3);
    let shared = shared_clinic(&DieselClinicRepository::new(pool.clone()), r.owner, at(2));
    let registered = r
        .patients
        .insert(
            shared,
            r.owner,
            &patient_details("Ida Lo"),
            at(3),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted");
    assert_eq!((registered.clinic, registered.owner), (shared, r.owner));
    assert_eq!(
        r.patients
            .find(registered.id)
            .map(|found| found.map(|p| p.clinic)),
        Ok(Some(shared))
    );
    assert_eq!(count(pool, PATIENTS_IN_THEIR_OWNERS_CLINIC), 3);
}

/// Patients whose clinic is their creator's personal clinic.
const PATIENTS_IN_THEIR_OWNERS_CLINIC: &str = "SELECT COUNT(*) FROM patients \
     JOIN clinics ON clinics.id = patients.clinic_id \
     WHERE clinics.personal_owner_id = patients.owner_id";

fn count(pool: &DbPool, query: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!("({query})")))
        .get_result(&mut *checkout(pool).expect("a connection"))
        .expect("counted")
}

/// The last migration of the release before clinics.
const BEFORE_CLINICS: &str = "2026-12-03-000009";

/// What the previous release left (three accounts, one without patients, patients with an
/// archived one, a mapping), then the upgrade: every account gets its personal clinic, every
/// patient is in its creator's, nothing is lost, and the new code works on the old rows.
fn accounts_and_patients_of_the_previous_release_move_into_personal_clinics(url: &str) {
    let pool = pool_for(url);
    migrations::run_up_to(&pool, BEFORE_CLINICS).expect("the previous release's schema");
    let mut connection = checkout(&pool).expect("a connection");
    connection
        .batch_execute(&format!(
            "INSERT INTO users (id, name, email, email_lower, password_hash, is_active, is_staff, \
             created_at) VALUES \
             (1, 'Ann Lee', 'ann@example.com', 'ann@example.com', '$2b$04$x', TRUE, FALSE, '2026-11-26 10:00:00'), \
             (2, '{long}', 'bob@example.com', 'bob@example.com', '$2b$04$x', TRUE, FALSE, '2026-11-27 10:00:00'), \
             (3, 'Cy Staff', 'cy@example.com', 'cy@example.com', '$2b$04$x', TRUE, TRUE, '2026-11-28 10:00:00'); \
             INSERT INTO patients (id, owner_id, name, name_lower, age, gender, phone, email, \
             address, medical_history, created_at, updated_at, version, archived_at) VALUES \
             (1, 1, 'Jane Roe', 'jane roe', 40, 'F', '', '', '', 'Asthma.', '2026-11-26 11:00:00', '2026-11-26 11:00:00', 1, NULL), \
             (2, 1, 'Old Case', 'old case', 70, 'M', '', '', '', '', '2026-11-26 12:00:00', '2026-11-26 12:00:00', 2, '2026-11-27 09:00:00'), \
             (3, 2, 'John Doe', 'john doe', 30, 'M', '', '', '', '', '2026-11-27 11:00:00', '2026-11-27 11:00:00', 1, NULL); \
             INSERT INTO doctors (id, created_by, name, specialization, specialization_lower, phone, \
             email, experience_years, qualification, consultation_fee_cents, is_available, \
             created_at, updated_at, version, archived_at) VALUES \
             (1, 2, 'Dr. Who', 'Cardiology', 'cardiology', '555', 'who@example.com', 9, 'MD', 15000, TRUE, \
             '2026-11-27 10:00:00', '2026-11-27 10:00:00', 1, NULL); \
             INSERT INTO patient_doctor_mappings (id, patient_id, doctor_id, assigned_by, \
             assigned_date, notes, is_active, updated_at, removed_at) VALUES \
             (1, 1, 1, 1, '2026-11-28 10:00:00', 'Follow-up.', TRUE, '2026-11-28 10:00:00', NULL);",
            long = "B".repeat(150),
        ))
        .expect("the previous release's rows");
    if matches!(&*connection, healthcare_persistence::DbConnection::Pg(_)) {
        // Explicit ids leave the identity sequences behind; the previous release's own inserts
        // would have advanced them.
        connection
            .batch_execute(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), 3); \
                 SELECT setval(pg_get_serial_sequence('patients', 'id'), 3); \
                 SELECT setval(pg_get_serial_sequence('doctors', 'id'), 1); \
                 SELECT setval(pg_get_serial_sequence('patient_doctor_mappings', 'id'), 1);",
            )
            .expect("sequences");
    }
    drop(connection);

    migrations::run_pending(&pool).expect("the upgrade");

    let clinics = DieselClinicRepository::new(pool.clone());
    for (user, name, created) in [
        (1, "Ann Lee".to_owned(), "2026-11-26"),
        (
            2,
            ClinicName::personal_for(&"B".repeat(150))
                .as_str()
                .to_owned(),
            "2026-11-27",
        ),
        (3, "Cy Staff".to_owned(), "2026-11-28"),
    ] {
        let memberships = all_memberships(&clinics, UserId(user));
        assert_eq!(memberships.len(), 1, "user {user}");
        let personal = &memberships[0];
        assert_eq!(
            (
                personal.clinic.name.as_str(),
                personal.clinic.personal_owner,
                personal.role,
                personal.clinic.created_at.date_naive().to_string(),
            ),
            (
                name.as_str(),
                Some(UserId(user)),
                Role::Admin,
                created.to_owned()
            ),
        );
    }
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM patients"),
        3,
        "every patient kept"
    );
    assert_eq!(count(&pool, PATIENTS_IN_THEIR_OWNERS_CLINIC), 3);
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM patient_doctor_mappings WHERE is_active"
        ),
        1
    );

    // The new code reads the old rows and writes beside them.
    let patients = DieselPatientRepository::new(pool.clone());
    let jane = patients.find(PatientId(1)).expect("read").expect("kept");
    assert_eq!(
        (
            jane.owner,
            jane.details.medical_history.as_str(),
            jane.version
        ),
        (UserId(1), "Asthma.", 1)
    );
    assert!(
        patients
            .find(PatientId(2))
            .expect("read")
            .expect("kept")
            .archived_at
            .is_some()
    );
    let users = DieselUserRepository::new(pool.clone());
    let dana = users
        .insert(&new_user("dana@example.com"))
        .expect("a new account");
    patients
        .insert(
            crate::personal_clinic(&pool, dana.id),
            dana.id,
            &patient_details("Eve Moe"),
            at(2),
            &audit(AuditAction::PatientCreate),
        )
        .expect("a new patient");
    assert_eq!(count(&pool, PATIENTS_IN_THEIR_OWNERS_CLINIC), 4);
    assert_eq!(all_memberships(&clinics, dana.id).len(), 1);
}

#[test]
fn on_sqlite_the_previous_releases_accounts_and_patients_move_into_personal_clinics() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    accounts_and_patients_of_the_previous_release_move_into_personal_clinics(&url);
}

#[test]
fn on_postgres_the_previous_releases_accounts_and_patients_move_into_personal_clinics() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        accounts_and_patients_of_the_previous_release_move_into_personal_clinics(&url);
    }
}

/// The last migration of the release before care teams.
const BEFORE_CARE_TEAMS: &str = "2026-12-06-000011";

/// What the previous release left (an account and its personal clinic, a patient, a doctor,
/// signed audit rows), then the care-teams upgrade: the doctor has no linked account, the
/// audit rows are unmarked and their MACs still verify (the break-glass mark leaves unmarked
/// rows' encoding as it was), and the sealer takes them as the server's own.
fn the_previous_releases_rows_survive_the_care_teams_upgrade(url: &str) {
    use healthcare_core::ports::{AuditFilter, AuditRepository, DoctorRepository};
    use healthcare_domain::audit::{AuditOutcome, ChainKey, RequestOrigin};
    use healthcare_domain::doctor::DoctorId;
    use healthcare_persistence::{DieselAuditRepository, DieselDoctorRepository};

    let pool = pool_for(url);
    migrations::run_up_to(&pool, BEFORE_CARE_TEAMS).expect("the previous release's schema");
    // Accounts, clinics and patients kept their shape: the current code writes them.
    let ann = DieselUserRepository::new(pool.clone())
        .insert(&new_user("ann@example.com"))
        .expect("an account");
    let key = ChainKey::new("contract suite audit key");
    let events: Vec<AuditEvent> = [AuditAction::PatientRead, AuditAction::ClinicCreate]
        .into_iter()
        .enumerate()
        .map(|(n, action)| AuditEvent {
            at: at(n as u32 + 1),
            actor: Some(ann.id),
            action,
            resource_id: Some(7),
            patient_id: None,
            outcome: AuditOutcome::Success,
            origin: RequestOrigin {
                client_address: Some("203.0.113.4".into()),
                request_id: Some(format!("req-{n}")),
            },
            break_glass: false,
        })
        .collect();
    let mut connection = checkout(&pool).expect("a connection");
    for (n, event) in events.iter().enumerate() {
        let seal = key.seal_row([n as u8 + 1; 16], event);
        connection
            .batch_execute(&format!(
                "INSERT INTO audit_events (at, actor_user_id, action, resource_type, resource_id, \
                 patient_id, outcome, client_address, request_id, row_nonce, row_mac) VALUES \
                 ('2026-11-26 10:00:0{second}', {actor}, '{action}', '{resource_type}', 7, NULL, \
                 'success', '203.0.113.4', 'req-{n}', '{nonce}', '{mac}')",
                second = n + 1,
                actor = ann.id.0,
                action = event.action.as_str(),
                resource_type = event.action.resource_type(),
                nonce = hex::encode(seal.nonce),
                mac = seal.mac.to_hex(),
            ))
            .expect("a signed row of the previous release");
    }
    connection
        .batch_execute(
            "INSERT INTO doctors (id, created_by, name, specialization, specialization_lower, \
             phone, email, experience_years, qualification, consultation_fee_cents, \
             is_available, created_at, updated_at, version, archived_at) VALUES \
             (41, 1, 'Dr. Who', 'Cardiology', 'cardiology', '555', 'who@example.com', 9, 'MD', \
             15000, TRUE, '2026-11-27 10:00:00', '2026-11-27 10:00:00', 1, NULL)",
        )
        .expect("a doctor of the previous release");
    drop(connection);

    migrations::run_pending(&pool).expect("the upgrade");

    let doctor = DieselDoctorRepository::new(pool.clone())
        .find(DoctorId(41))
        .expect("read")
        .expect("kept");
    assert_eq!(
        (
            doctor.doctor.details.linked_user,
            doctor.doctor.details.name.as_str()
        ),
        (None, "Dr. Who")
    );
    let audit_rows = DieselAuditRepository::new(pool.clone());
    let stored = audit_rows
        .list(
            &AuditFilter::default(),
            Page {
                number: 1,
                size: 10,
            },
        )
        .expect("listed")
        .items;
    assert_eq!(stored.len(), 2, "every row kept");
    for record in &stored {
        assert!(!record.event.break_glass);
        let seal = record.row_seal.as_ref().expect("signed");
        assert!(key.row_verifies(seal, &record.event), "{record:?}");
    }
    let round = audit_rows
        .seal_pending(&key, 10, &std::collections::BTreeSet::new())
        .expect("sealed");
    assert_eq!((round.sealed, round.refused), (2, Vec::new()));
}

#[test]
fn on_sqlite_the_previous_releases_rows_survive_the_care_teams_upgrade() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    the_previous_releases_rows_survive_the_care_teams_upgrade(&url);
}

#[test]
fn on_postgres_the_previous_releases_rows_survive_the_care_teams_upgrade() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        the_previous_releases_rows_survive_the_care_teams_upgrade(&url);
    }
}
