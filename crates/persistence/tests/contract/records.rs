//! Users, refresh tokens, throttling, patients, doctors and mappings: what their ports say an
//! adapter MUST do.

use std::time::Duration;

use chrono::{SubsecRound, TimeZone, Utc};
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::tokens::RefreshTokenRecord;
use healthcare_domain::{Email, NewUser, Timestamp, UserId, UserName};
use healthcare_persistence::{
    DatabaseTarget, DbPool, DieselDoctorRepository, DieselMappingRepository,
    DieselPatientRepository, DieselRefreshTokenRepository, DieselThrottleRepository,
    DieselUserRepository, PoolSettings, StatementCounter, build_pool, migrations,
};
use healthcare_ports::RepoError;
use healthcare_ports::ports::{RefreshTokenRepository, UserRepository};

struct Database {
    pool: DbPool,
    _folder: Option<tempfile::TempDir>,
}

fn pool_for(url: &str) -> DbPool {
    counted_pool_for(url, StatementCounter::default())
}

fn counted_pool_for(url: &str, statements: StatementCounter) -> DbPool {
    let target = DatabaseTarget::parse(url).expect("valid url");
    build_pool(
        &target,
        &PoolSettings {
            max_size: 4,
            checkout_timeout: Duration::from_secs(5),
            statements,
            audit_key: healthcare_domain::audit::ChainKey::new("contract suite audit key"),
        },
    )
    .expect("pool")
}

fn sqlite() -> Option<Database> {
    let (url, folder) = healthcare_test_support::fresh_sqlite_database();
    let pool = pool_for(&url);
    migrations::run_pending(&pool).expect("migrations");
    Some(Database {
        pool,
        _folder: Some(folder),
    })
}

fn postgres() -> Option<Database> {
    let url = healthcare_test_support::fresh_postgres_database()?;
    let pool = pool_for(&url);
    migrations::run_pending(&pool).expect("migrations");
    Some(Database {
        pool,
        _folder: None,
    })
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $name() { if let Some(db) = super::sqlite() { super::$name(&db.pool) } } )* }
        mod on_postgres { $( #[test] fn $name() { if let Some(db) = super::postgres() { super::$name(&db.pool) } } )* }
    };
}

contract!(
    insert_returns_the_user_with_an_id,
    insert_reports_a_duplicate_email_ignoring_case_as_conflict,
    find_returns_none_for_unknown_ids_and_emails,
    timestamps_round_trip_with_microseconds,
    set_active_reports_unknown_ids,
    the_token_cut_off_only_moves_forward,
    rotate_spends_a_token_once,
    revoke_family_and_user_touch_only_their_tokens,
    migrations_are_idempotent,
    patients_insert_find_and_update_only_at_the_expected_version,
    patient_lists_are_the_owners_newest_first_with_literal_search,
    archiving_a_patient_hides_it_and_deactivates_its_mappings,
    doctor_lists_filter_order_and_count_patients,
    archiving_a_doctor_deactivates_its_mappings,
    one_active_mapping_per_pair_and_removal_once,
    mapping_lists_show_only_the_owners_active_mappings,
    a_mapping_needs_a_live_patient_and_a_live_available_doctor,
    an_assignment_racing_an_archive_never_outlives_it,
    login_failures_count_within_the_window_and_clear,
    rate_buckets_count_every_concurrent_hit_once,
);

fn at(second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, second)
        .single()
        .expect("valid")
}

/// A sample audit event for the writes that now store one in their transaction.
fn audit(action: AuditAction) -> AuditEvent {
    AuditEvent {
        at: at(0),
        actor: None,
        action,
        resource_id: None,
        patient_id: None,
        outcome: AuditOutcome::Success,
        origin: RequestOrigin::default(),
    }
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        name: UserName::parse("Ann Lee").expect("valid"),
        email: Email::parse(email).expect("valid"),
        password_hash: "$2b$04$hash".into(),
        is_staff: false,
        created_at: at(0),
    }
}

fn insert_returns_the_user_with_an_id(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let first = users
        .insert(&new_user("Ann@Example.com"))
        .expect("inserted");
    let second = users
        .insert(&new_user("bob@example.com"))
        .expect("inserted");
    assert!(first.id.0 > 0 && second.id.0 > first.id.0);
    assert_eq!(first.email, "Ann@Example.com");
    assert!(first.is_active && !first.is_staff);
    assert_eq!(
        users.find_by_id(first.id).expect("found"),
        Some(first.clone())
    );
    let credentials = users
        .find_credentials_by_email("ann@example.com")
        .expect("ok")
        .expect("found");
    assert_eq!(credentials.user, first);
    assert_eq!(credentials.password_hash, "$2b$04$hash");
    assert_eq!(users.list().expect("listed"), vec![first, second]);
}

fn insert_reports_a_duplicate_email_ignoring_case_as_conflict(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    assert_eq!(
        users.insert(&new_user("ANN@example.COM")),
        Err(RepoError::Conflict)
    );
    // Unicode-aware lower-casing, done by the application, so both databases agree.
    users
        .insert(&new_user("élodie@exemple.fr"))
        .expect("inserted");
    assert_eq!(
        users.insert(&new_user("ÉLODIE@exemple.fr")),
        Err(RepoError::Conflict)
    );
}

fn find_returns_none_for_unknown_ids_and_emails(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    assert_eq!(users.find_by_id(UserId(999)), Ok(None));
    assert_eq!(
        users
            .find_credentials_by_email("nobody@example.com")
            .map(|c| c.is_some()),
        Ok(false)
    );
    let tokens = DieselRefreshTokenRepository::new(pool.clone());
    assert_eq!(tokens.find("unknown"), Ok(None));
}

fn timestamps_round_trip_with_microseconds(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let precise = Utc::now().trunc_subsecs(6);
    let user = users
        .insert(&NewUser {
            created_at: precise,
            ..new_user("t@example.com")
        })
        .expect("inserted");
    assert_eq!(
        users
            .find_by_id(user.id)
            .expect("ok")
            .expect("found")
            .created_at,
        precise
    );
}

fn the_token_cut_off_only_moves_forward(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let user = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    let cut_off = |users: &DieselUserRepository| {
        users
            .find_by_id(user.id)
            .expect("ok")
            .expect("found")
            .tokens_valid_after
    };
    assert_eq!(cut_off(&users), None, "no sign-out yet");
    users
        .refuse_tokens_issued_before(user.id, at(20))
        .expect("set");
    assert_eq!(cut_off(&users), Some(at(20)));
    users
        .refuse_tokens_issued_before(user.id, at(10))
        .expect("ignored");
    assert_eq!(cut_off(&users), Some(at(20)), "never moved back");
    users
        .refuse_tokens_issued_before(user.id, at(30))
        .expect("set");
    assert_eq!(cut_off(&users), Some(at(30)));
    assert_eq!(
        users.refuse_tokens_issued_before(UserId(999), at(40)),
        Ok(())
    );
}

fn set_active_reports_unknown_ids(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let user = users
        .insert(&new_user("ann@example.com"))
        .expect("inserted");
    assert_eq!(
        users.update_password(
            user.id,
            "$2b$04$other",
            &audit(AuditAction::AuthPasswordChange)
        ),
        Ok(true)
    );
    let credentials = users
        .find_credentials_by_email("ann@example.com")
        .expect("ok")
        .expect("found");
    assert_eq!(credentials.password_hash, "$2b$04$other");
    assert_eq!(
        users.update_password(UserId(999), "x", &audit(AuditAction::AuthPasswordChange)),
        Ok(false)
    );
    assert_eq!(
        users.set_active(user.id, false, &audit(AuditAction::UserUpdate)),
        Ok(true)
    );
    assert!(
        !users
            .find_by_id(user.id)
            .expect("ok")
            .expect("found")
            .is_active
    );
    assert_eq!(
        users.set_active(UserId(999), false, &audit(AuditAction::UserUpdate)),
        Ok(false)
    );
}

fn token(jti: &str, user_id: UserId, family: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        jti: jti.into(),
        user_id,
        family_id: family.into(),
        expires_at: at(59),
        spent_at: None,
        revoked_at: None,
    }
}

fn rotate_spends_a_token_once(pool: &DbPool) {
    let user = DieselUserRepository::new(pool.clone())
        .insert(&new_user("ann@example.com"))
        .expect("user");
    let tokens = DieselRefreshTokenRepository::new(pool.clone());
    tokens.insert(&token("t1", user.id, "f")).expect("inserted");
    assert_eq!(tokens.find("t1"), Ok(Some(token("t1", user.id, "f"))));
    assert_eq!(
        tokens.rotate("t1", &token("t2", user.id, "f"), at(1)),
        Ok(true)
    );
    let spent = tokens.find("t1").expect("ok").expect("found");
    assert_eq!(spent.spent_at, Some(at(1)));
    assert!(tokens.find("t2").expect("ok").is_some());
    // A second redemption changes nothing and records no successor.
    assert_eq!(
        tokens.rotate("t1", &token("t3", user.id, "f"), at(2)),
        Ok(false)
    );
    assert_eq!(tokens.find("t3"), Ok(None));
    // Concurrent redemptions of one token: exactly one wins.
    let winners: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let tokens = tokens.clone();
                let successor = token(&format!("c{i}"), user.id, "f");
                scope.spawn(move || tokens.rotate("t2", &successor, at(3)).expect("no error"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().expect("joined")))
            .sum()
    });
    assert_eq!(winners, 1);
}

fn revoke_family_and_user_touch_only_their_tokens(pool: &DbPool) {
    let users = DieselUserRepository::new(pool.clone());
    let ann = users.insert(&new_user("ann@example.com")).expect("user");
    let bob = users.insert(&new_user("bob@example.com")).expect("user");
    let tokens = DieselRefreshTokenRepository::new(pool.clone());
    for record in [
        token("a1", ann.id, "fa"),
        token("a2", ann.id, "fa"),
        token("a3", ann.id, "fb"),
        token("b1", bob.id, "fc"),
    ] {
        tokens.insert(&record).expect("inserted");
    }
    tokens.revoke_family("fa", at(5)).expect("revoked");
    let revoked = |jti: &str| tokens.find(jti).expect("ok").expect("found").revoked_at;
    assert_eq!(
        (revoked("a1"), revoked("a2"), revoked("a3")),
        (Some(at(5)), Some(at(5)), None)
    );
    tokens.revoke_family("fa", at(9)).expect("harmless again");
    assert_eq!(
        revoked("a1"),
        Some(at(5)),
        "the first revocation time is kept"
    );
    tokens.revoke_all_for_user(ann.id, at(7)).expect("revoked");
    assert_eq!((revoked("a3"), revoked("b1")), (Some(at(7)), None));
}

fn migrations_are_idempotent(pool: &DbPool) {
    assert_eq!(migrations::run_pending(pool), Ok(vec![]));
    assert_eq!(migrations::has_pending(pool), Ok(false));
}

/// Servers starting at the same moment against a never-migrated database: the advisory lock
/// lets exactly one apply the migrations, and none fails.
#[test]
fn concurrent_migrations_on_postgres_do_not_race() {
    let Some(url) = healthcare_test_support::fresh_postgres_database() else {
        return;
    };
    let outcomes: Vec<Result<Vec<String>, RepoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || migrations::run_pending(&pool_for(&url)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    let appliers = outcomes
        .iter()
        .filter(|outcome| !outcome.as_ref().expect("no start-up failed").is_empty())
        .count();
    assert_eq!(appliers, 1, "exactly one start-up applies the migrations");
    assert_eq!(migrations::has_pending(&pool_for(&url)), Ok(false));
}

#[test]
fn a_postgres_url_with_the_server_down_keeps_the_real_error() {
    let pool = pool_for("postgres://nobody@127.0.0.1:1/none");
    let error = migrations::run_pending(&pool).expect_err("refused");
    assert!(matches!(error, RepoError::Unavailable(_)), "{error:?}");
    assert!(
        !std::path::Path::new("postgres:").exists(),
        "no SQLite file was created instead"
    );
}

mod fixtures {
    //! Fixtures for the patient, doctor and mapping contracts.

    use super::*;
    use healthcare_domain::FieldErrors;
    use healthcare_domain::doctor::{DoctorChanges, DoctorDetails, DoctorInput};
    use healthcare_domain::fields::{Submitted, WriteMode};
    use healthcare_domain::patient::{PatientChanges, PatientDetails, PatientInput};

    pub fn text(value: &str) -> Submitted<String> {
        Submitted::Given(value.to_owned())
    }

    pub fn patient_details(name: &str) -> PatientDetails {
        PatientInput {
            name: text(name),
            age: Submitted::Given(40),
            gender: text("O"),
            ..Default::default()
        }
        .validate(WriteMode::Create, FieldErrors::new())
        .ok()
        .and_then(PatientChanges::into_new_details)
        .expect("complete")
    }

    pub fn doctor_details(name: &str, specialization: &str, available: bool) -> DoctorDetails {
        DoctorInput {
            name: text(name),
            specialization: text(specialization),
            phone: text("555"),
            email: text("doc@clinic.org"),
            experience_years: Submitted::Given(5),
            qualification: text("MD"),
            consultation_fee: text("99.5"),
            is_available: Submitted::Given(available),
        }
        .validate(WriteMode::Create, FieldErrors::new())
        .ok()
        .and_then(DoctorChanges::into_new_details)
        .expect("complete")
    }

    pub struct Repos {
        pub patients: DieselPatientRepository,
        pub doctors: DieselDoctorRepository,
        pub mappings: DieselMappingRepository,
        pub owner: UserId,
        pub other: UserId,
    }

    pub fn repos(pool: &DbPool) -> Repos {
        let users = DieselUserRepository::new(pool.clone());
        let owner = users
            .insert(&new_user("owner@example.com"))
            .expect("user")
            .id;
        let other = users
            .insert(&new_user("other@example.com"))
            .expect("user")
            .id;
        Repos {
            patients: DieselPatientRepository::new(pool.clone()),
            doctors: DieselDoctorRepository::new(pool.clone()),
            mappings: DieselMappingRepository::new(pool.clone()),
            owner,
            other,
        }
    }
}

use fixtures::{doctor_details, patient_details, repos};
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::PatientId;
use healthcare_ports::Page;
use healthcare_ports::ports::{
    DoctorFilter, DoctorRepository, MappingFilter, MappingRepository, PatientRepository,
};

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

fn patients_insert_find_and_update_only_at_the_expected_version(pool: &DbPool) {
    let r = repos(pool);
    let created = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane Roe"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted");
    assert_eq!(
        (created.version, created.owner, created.created_at),
        (1, r.owner, at(1))
    );
    assert_eq!(r.patients.find(created.id), Ok(Some(created.clone())));
    assert_eq!(r.patients.find(PatientId(9999)), Ok(None));

    let renamed = patient_details("Jane Doe");
    assert_eq!(
        r.patients.update(
            created.id,
            &renamed,
            7,
            at(2),
            &audit(AuditAction::PatientUpdate)
        ),
        Ok(None),
        "stale version"
    );
    assert_eq!(
        r.patients.find(created.id).expect("ok"),
        Some(created.clone()),
        "unchanged"
    );
    let updated = r
        .patients
        .update(
            created.id,
            &renamed,
            1,
            at(2),
            &audit(AuditAction::PatientUpdate),
        )
        .expect("ok")
        .expect("updated");
    assert_eq!(
        (
            updated.version,
            updated.details.name.as_str(),
            updated.updated_at
        ),
        (2, "Jane Doe", at(2))
    );
    assert_eq!(updated.created_at, at(1));
}

fn patient_lists_are_the_owners_newest_first_with_literal_search(pool: &DbPool) {
    let r = repos(pool);
    let names = [
        "Ann Lee",
        "Bob 100% Real",
        "Élodie Martin",
        "ann_marie",
        "Annabel",
    ];
    let mut ids = Vec::new();
    for (second, name) in names.iter().enumerate() {
        ids.push(
            r.patients
                .insert(
                    r.owner,
                    &patient_details(name),
                    at(second as u32),
                    &audit(AuditAction::PatientCreate),
                )
                .expect("inserted")
                .id,
        );
    }
    r.patients
        .insert(
            r.other,
            &patient_details("Ann Other"),
            at(30),
            &audit(AuditAction::PatientCreate),
        )
        .expect("inserted");

    let first = r.patients.list(r.owner, None, page(1, 2)).expect("listed");
    assert_eq!(first.total, 5);
    assert_eq!(
        first.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let last = r.patients.list(r.owner, None, page(3, 2)).expect("listed");
    assert_eq!(
        last.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert!(
        r.patients
            .list(r.owner, None, page(4, 2))
            .expect("listed")
            .items
            .is_empty()
    );

    let names_for = |term: &str| {
        let found = r
            .patients
            .list(r.owner, Some(term), page(1, 100))
            .expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found
            .items
            .iter()
            .map(|p| p.details.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names_for("ANN"), vec!["Annabel", "ann_marie", "Ann Lee"]);
    assert_eq!(names_for("n_m"), vec!["ann_marie"], "_ is literal");
    assert_eq!(names_for("0%"), vec!["Bob 100% Real"], "% is literal");
    assert_eq!(names_for("%"), vec!["Bob 100% Real"]);
    assert_eq!(
        names_for("élo"),
        vec!["Élodie Martin"],
        "Unicode-aware case folding"
    );
    assert!(names_for("zzz").is_empty());
}

fn archiving_a_patient_hides_it_and_deactivates_its_mappings(pool: &DbPool) {
    let r = repos(pool);
    let patient = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "n",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .patient_count,
        1
    );

    r.patients
        .archive(patient.id, at(3), &audit(AuditAction::PatientDelete))
        .expect("archived");
    let archived = r
        .patients
        .find(patient.id)
        .expect("ok")
        .expect("kept for retention");
    assert_eq!(archived.archived_at, Some(at(3)));
    assert_eq!(
        r.patients
            .list(r.owner, None, page(1, 20))
            .expect("listed")
            .total,
        0
    );
    assert_eq!(
        r.patients.update(
            patient.id,
            &patient_details("X"),
            archived.version,
            at(4),
            &audit(AuditAction::PatientUpdate)
        ),
        Ok(None)
    );
    let mapping = r.mappings.find(view.mapping.id).expect("ok").expect("kept");
    assert!(!mapping.is_active);
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .patient_count,
        0
    );
}

fn doctor_lists_filter_order_and_count_patients(pool: &DbPool) {
    let r = repos(pool);
    let zed = r
        .doctors
        .insert(
            r.owner,
            &doctor_details("Zed", "Pediatric Surgery", true),
            at(1),
        )
        .expect("doctor");
    let amy = r
        .doctors
        .insert(
            r.other,
            &doctor_details("Amy", "surgery_general", false),
            at(2),
        )
        .expect("doctor");
    let bob = r
        .doctors
        .insert(r.other, &doctor_details("Bob", "Dermatology", true), at(3))
        .expect("doctor");
    for (name, owner) in [("P1", r.owner), ("P2", r.other), ("P3", r.other)] {
        let patient = r
            .patients
            .insert(
                owner,
                &patient_details(name),
                at(4),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient");
        r.mappings
            .insert(
                patient.id,
                zed.doctor.id,
                owner,
                "",
                at(5),
                &audit(AuditAction::MappingCreate),
            )
            .expect("mapping")
            .expect("both accept assignments");
    }
    let all = r
        .doctors
        .list(&DoctorFilter::default(), page(1, 20))
        .expect("listed");
    let summary: Vec<(&str, i64)> = all
        .items
        .iter()
        .map(|d| (d.doctor.details.name.as_str(), d.patient_count))
        .collect();
    assert_eq!(
        summary,
        vec![("Amy", 0), ("Bob", 0), ("Zed", 3)],
        "by name, counts across all users"
    );
    assert_eq!(all.total, 3);

    let surgery = DoctorFilter {
        specialization: Some("SURGERY".into()),
        available: None,
    };
    let found = r.doctors.list(&surgery, page(1, 20)).expect("listed");
    assert_eq!(
        found.items.iter().map(|d| d.doctor.id).collect::<Vec<_>>(),
        vec![amy.doctor.id, zed.doctor.id]
    );
    let literal = DoctorFilter {
        specialization: Some("y_g".into()),
        available: None,
    };
    assert_eq!(
        r.doctors.list(&literal, page(1, 20)).expect("listed").total,
        1
    );
    let unavailable = DoctorFilter {
        specialization: None,
        available: Some(false),
    };
    let found = r.doctors.list(&unavailable, page(1, 20)).expect("listed");
    assert_eq!(
        found.items.iter().map(|d| d.doctor.id).collect::<Vec<_>>(),
        vec![amy.doctor.id]
    );

    let fee = bob.doctor.details.consultation_fee;
    assert_eq!(fee.to_string(), "99.50");
    let stale = r.doctors.update(
        bob.doctor.id,
        &doctor_details("Bobby", "Dermatology", true),
        9,
        at(6),
    );
    assert_eq!(stale, Ok(None));
    let updated = r.doctors.update(
        bob.doctor.id,
        &doctor_details("Bobby", "Dermatology", true),
        1,
        at(6),
    );
    assert_eq!(updated.expect("ok").expect("updated").doctor.version, 2);
    assert_eq!(r.doctors.find(DoctorId(9999)), Ok(None));
}

fn archiving_a_doctor_deactivates_its_mappings(pool: &DbPool) {
    let r = repos(pool);
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let patient = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(
        r.doctors
            .archive(doctor.doctor.id, at(3), &audit(AuditAction::MappingRemove)),
        Ok(true)
    );
    assert!(
        !r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("kept")
            .is_active
    );
    assert!(
        r.doctors
            .list(&DoctorFilter::default(), page(1, 20))
            .expect("listed")
            .items
            .is_empty()
    );
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("kept")
            .doctor
            .archived_at,
        Some(at(3))
    );
    assert_eq!(
        r.doctors
            .archive(doctor.doctor.id, at(4), &audit(AuditAction::MappingRemove)),
        Ok(false),
        "archived at most once"
    );
    assert_eq!(
        r.doctors
            .archive(DoctorId(9999), at(4), &audit(AuditAction::MappingRemove)),
        Ok(false),
        "unknown"
    );
}

fn one_active_mapping_per_pair_and_removal_once(pool: &DbPool) {
    let r = repos(pool);
    let doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let patient = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let (p, d) = (patient.id, doctor.doctor.id);
    let first = r
        .mappings
        .insert(
            p,
            d,
            r.owner,
            "first",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(
        (
            first.patient_name.as_str(),
            first.doctor_name.as_str(),
            first.doctor_specialization.as_str()
        ),
        ("Jane", "Dr. A", "Cardiology")
    );
    assert!(first.mapping.is_active);
    assert_eq!(r.mappings.has_active(p, d), Ok(true));
    assert_eq!(
        r.mappings.insert(
            p,
            d,
            r.owner,
            "again",
            at(3),
            &audit(AuditAction::MappingCreate)
        ),
        Err(RepoError::Conflict)
    );

    let noted = r
        .mappings
        .update_notes(
            first.mapping.id,
            "changed",
            at(4),
            &audit(AuditAction::MappingUpdate),
        )
        .expect("ok")
        .expect("active");
    assert_eq!(noted.mapping.notes, "changed");
    assert_eq!(
        r.mappings
            .deactivate(first.mapping.id, at(5), &audit(AuditAction::MappingRemove)),
        Ok(true)
    );
    assert_eq!(
        r.mappings
            .deactivate(first.mapping.id, at(6), &audit(AuditAction::MappingRemove)),
        Ok(false),
        "removed at most once"
    );
    assert_eq!(
        r.mappings.update_notes(
            first.mapping.id,
            "x",
            at(6),
            &audit(AuditAction::MappingUpdate)
        ),
        Ok(None)
    );
    assert_eq!(r.mappings.has_active(p, d), Ok(false));

    let second = r
        .mappings
        .insert(p, d, r.owner, "", at(7), &audit(AuditAction::MappingCreate))
        .expect("a removed pair can be assigned again")
        .expect("both accept assignments");
    assert_ne!(second.mapping.id, first.mapping.id);
    let assigned = r.mappings.active_for_patient(p).expect("listed");
    assert_eq!(assigned.len(), 1);
    assert_eq!(
        (assigned[0].0.id, assigned[0].1.patient_count),
        (second.mapping.id, 1)
    );
    assert_eq!(r.mappings.find(MappingId(9999)), Ok(None));

    // Concurrent identical assignments: the partial unique index lets exactly one through.
    let other_doctor = r
        .doctors
        .insert(r.other, &doctor_details("Dr. B", "Oncology", true), at(8))
        .expect("doctor");
    let outcomes: Vec<Result<_, RepoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let mappings = r.mappings.clone();
                let (owner, od) = (r.owner, other_doctor.doctor.id);
                scope.spawn(move || {
                    mappings.insert(p, od, owner, "", at(9), &audit(AuditAction::MappingCreate))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(
        outcomes
            .iter()
            .filter(|o| o.is_err())
            .all(|o| o.as_ref().err() == Some(&RepoError::Conflict))
    );
}

fn a_mapping_needs_a_live_patient_and_a_live_available_doctor(pool: &DbPool) {
    let r = repos(pool);
    let patient = |name: &str| {
        r.patients
            .insert(
                r.owner,
                &patient_details(name),
                at(1),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id
    };
    let doctor = |name: &str, available: bool| {
        r.doctors
            .insert(
                r.other,
                &doctor_details(name, "Cardiology", available),
                at(1),
            )
            .expect("doctor")
            .doctor
            .id
    };
    let (live, archived) = (patient("Live"), patient("Archived"));
    let (available, unavailable, gone) = (
        doctor("Dr. A", true),
        doctor("Dr. B", false),
        doctor("Dr. C", true),
    );
    r.patients
        .archive(archived, at(2), &audit(AuditAction::PatientDelete))
        .expect("archived");
    r.doctors
        .archive(gone, at(2), &audit(AuditAction::MappingRemove))
        .expect("archived");
    for (patient, doctor) in [(archived, available), (live, unavailable), (live, gone)] {
        assert_eq!(
            r.mappings.insert(
                patient,
                doctor,
                r.owner,
                "",
                at(3),
                &audit(AuditAction::MappingCreate)
            ),
            Ok(None),
            "{patient:?} {doctor:?}"
        );
        assert_eq!(r.mappings.has_active(patient, doctor), Ok(false));
    }
}

/// An archive and an assignment of the same patient or doctor, started together, forty times:
/// whichever commits first, no active mapping is left to an archived record.
fn an_assignment_racing_an_archive_never_outlives_it(pool: &DbPool) {
    let r = repos(pool);
    for round in 0..40_u32 {
        let patient = r
            .patients
            .insert(
                r.owner,
                &patient_details("Jane"),
                at(1),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id;
        let doctor = r
            .doctors
            .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
            .expect("doctor")
            .doctor
            .id;
        let start = std::sync::Barrier::new(2);
        let (assigned, archived) = std::thread::scope(|scope| {
            let assign = scope.spawn(|| {
                start.wait();
                r.mappings.insert(
                    patient,
                    doctor,
                    r.owner,
                    "",
                    at(2),
                    &audit(AuditAction::MappingCreate),
                )
            });
            let archive = scope.spawn(|| {
                start.wait();
                if round % 2 == 0 {
                    r.patients
                        .archive(patient, at(2), &audit(AuditAction::PatientDelete))
                } else {
                    r.doctors
                        .archive(doctor, at(2), &audit(AuditAction::MappingRemove))
                }
            });
            (
                assign.join().expect("joined"),
                archive.join().expect("joined"),
            )
        });
        assert_eq!(archived, Ok(true), "round {round}");
        assert!(assigned.is_ok(), "round {round}: {assigned:?}");
        assert_eq!(
            r.mappings.has_active(patient, doctor),
            Ok(false),
            "round {round}: the mapping outlived the archive of its {}",
            if round % 2 == 0 { "patient" } else { "doctor" }
        );
    }
}

fn mapping_lists_show_only_the_owners_active_mappings(pool: &DbPool) {
    let r = repos(pool);
    let d1 = r
        .doctors
        .insert(r.other, &doctor_details("Dr. A", "Cardiology", true), at(1))
        .expect("doctor");
    let d2 = r
        .doctors
        .insert(r.other, &doctor_details("Dr. B", "Oncology", true), at(1))
        .expect("doctor");
    let mine = r
        .patients
        .insert(
            r.owner,
            &patient_details("Mine"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let theirs = r
        .patients
        .insert(
            r.other,
            &patient_details("Theirs"),
            at(1),
            &audit(AuditAction::PatientCreate),
        )
        .expect("patient");
    let m1 = r
        .mappings
        .insert(
            mine.id,
            d1.doctor.id,
            r.owner,
            "",
            at(2),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    let m2 = r
        .mappings
        .insert(
            mine.id,
            d2.doctor.id,
            r.owner,
            "",
            at(3),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    r.mappings
        .insert(
            theirs.id,
            d1.doctor.id,
            r.other,
            "",
            at(4),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    let removed = r
        .mappings
        .insert(
            theirs.id,
            d2.doctor.id,
            r.other,
            "",
            at(5),
            &audit(AuditAction::MappingCreate),
        )
        .expect("mapping")
        .expect("both accept assignments");
    r.mappings
        .deactivate(
            removed.mapping.id,
            at(6),
            &audit(AuditAction::MappingRemove),
        )
        .expect("removed");

    let all = r
        .mappings
        .list(r.owner, MappingFilter::default(), page(1, 20))
        .expect("listed");
    assert_eq!(all.total, 2);
    assert_eq!(
        all.items.iter().map(|v| v.mapping.id).collect::<Vec<_>>(),
        vec![m2.mapping.id, m1.mapping.id]
    );
    let by_doctor = MappingFilter {
        patient: None,
        doctor: Some(d1.doctor.id),
    };
    let found = r
        .mappings
        .list(r.owner, by_doctor, page(1, 20))
        .expect("listed");
    assert_eq!(
        found.items.iter().map(|v| v.mapping.id).collect::<Vec<_>>(),
        vec![m1.mapping.id]
    );
    let foreign_patient = MappingFilter {
        patient: Some(theirs.id),
        doctor: None,
    };
    assert_eq!(
        r.mappings
            .list(r.owner, foreign_patient, page(1, 20))
            .expect("listed")
            .total,
        0
    );
}

use healthcare_ports::ports::ThrottleRepository;

fn login_failures_count_within_the_window_and_clear(pool: &DbPool) {
    let counters = DieselThrottleRepository::new(pool.clone());
    for second in [1, 2, 3] {
        counters
            .record_login_failure("ann@example.com", at(second), at(0))
            .expect("recorded");
    }
    counters
        .record_login_failure("bob@example.com", at(4), at(0))
        .expect("recorded");
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(0)),
        Ok((3, Some(at(1))))
    );
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(1)),
        Ok((2, Some(at(2)))),
        "older ones ignored"
    );
    assert_eq!(
        counters.login_failures_since("nobody@example.com", at(0)),
        Ok((0, None))
    );
    // A later failure sweeps everything older than its window, whoever it belongs to.
    counters
        .record_login_failure("carol@example.com", at(10), at(2))
        .expect("recorded");
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(0)),
        Ok((2, Some(at(2)))),
        "the failure at 1 s was swept"
    );
    counters
        .clear_login_failures("ann@example.com")
        .expect("cleared");
    assert_eq!(
        counters.login_failures_since("ann@example.com", at(0)),
        Ok((0, None))
    );
    assert_eq!(
        counters.login_failures_since("bob@example.com", at(0)),
        Ok((1, Some(at(4))))
    );
}

fn rate_buckets_count_every_concurrent_hit_once(pool: &DbPool) {
    let counters = DieselThrottleRepository::new(pool.clone());
    let mut seen: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let counters = counters.clone();
                scope.spawn(move || {
                    counters
                        .hit_rate_bucket("auth:10.0.0.1", at(0))
                        .expect("counted")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    seen.sort_unstable();
    assert_eq!(seen, (1..=12).collect::<Vec<u32>>());
    assert_eq!(
        counters.hit_rate_bucket("auth:10.0.0.1", at(30)),
        Ok(1),
        "a new window starts at 1"
    );
    assert_eq!(
        counters.hit_rate_bucket("auth:10.0.0.2", at(0)),
        Ok(1),
        "addresses count apart"
    );
}
