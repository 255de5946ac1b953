//! The audit storage contract: what the repositories store in the audit trail with each write,
//! the trail's queries, the sealer's chain and the append-only triggers, checked by one set of
//! functions run on SQLite and on PostgreSQL (the same way as `records.rs`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainBreak, ChainKey, ChainVerifier,
    DEFAULT_MAX_SKEW_SECONDS, Mac, RequestOrigin, Seal, VerifyPolicy,
};
use healthcare_domain::doctor::{DoctorChanges, DoctorDetails, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::patient::{PatientChanges, PatientDetails, PatientId, PatientInput};
use healthcare_domain::{Email, FieldErrors, NewUser, Timestamp, UserId, UserName};
use healthcare_persistence::connection::{PooledConnection, checkout};
use healthcare_persistence::{
    DatabaseTarget, DbConnection, DbPool, DieselAuditRepository, DieselDoctorRepository,
    DieselMappingRepository, DieselPatientRepository, DieselUserRepository, PoolSettings,
    StatementCounter, build_pool, migrations,
};
use healthcare_ports::ports::{
    AuditFilter, AuditRepository, DoctorRepository, MappingRepository, PatientRepository,
    PendingSeal, SealRound, UserRepository,
};
use healthcare_ports::{Page, RepoError};

struct Database {
    pool: DbPool,
    statements: StatementCounter,
    _folder: Option<tempfile::TempDir>,
}

fn open(url: &str, folder: Option<tempfile::TempDir>) -> Database {
    let statements = StatementCounter::default();
    let pool = build_pool(
        &DatabaseTarget::parse(url).expect("valid url"),
        &PoolSettings {
            // More than the threads of the concurrency test, so the database's locks (not the
            // pool) are what serialise the sealers.
            max_size: 10,
            checkout_timeout: Duration::from_secs(10),
            statements: statements.clone(),
            audit_key: key(),
        },
    )
    .expect("pool");
    migrations::run_pending(&pool).expect("migrations");
    Database {
        pool,
        statements,
        _folder: folder,
    }
}

fn sqlite() -> Option<Database> {
    let (url, folder) = healthcare_test_support::fresh_sqlite_database();
    Some(open(&url, Some(folder)))
}

fn postgres() -> Option<Database> {
    let url = healthcare_test_support::fresh_postgres_database()?;
    Some(open(&url, None))
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $name() { if let Some(db) = super::sqlite() { super::$name(&db) } } )* }
        mod on_postgres { $( #[test] fn $name() { if let Some(db) = super::postgres() { super::$name(&db) } } )* }
    };
}

contract!(
    patient_writes_store_one_row_only_when_they_succeed,
    mapping_writes_store_one_row_only_when_they_succeed,
    archiving_a_doctor_stores_one_removal_row_per_ended_mapping,
    user_writes_store_one_row_only_when_they_succeed,
    a_failed_audit_insert_rolls_the_change_back,
    restore_unarchives_once_and_leaves_mappings_inactive,
    list_filters_orders_newest_first_and_counts,
    list_costs_the_same_statements_whatever_the_page_size,
    sealing_numbers_rows_in_id_order_and_the_chain_verifies,
    concurrent_sealers_and_appenders_keep_one_gapless_chain,
    recorded_rows_cannot_be_deleted_changed_or_resealed,
    every_stored_row_carries_the_servers_row_mac,
    a_row_inserted_straight_into_the_table_is_refused_and_left_unsealed,
    forged_rows_never_stall_the_sealer,
    a_genuine_row_cannot_be_inserted_twice,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

fn at(second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, second)
        .single()
        .expect("valid")
}

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

fn key() -> ChainKey {
    ChainKey::new(*b"0123456789abcdef0123456789abcdef")
}

/// An event with every optional field filled, so round trips check them all.
fn event(action: AuditAction, second: u32) -> AuditEvent {
    AuditEvent {
        at: at(second),
        actor: Some(UserId(41)),
        action,
        resource_id: None,
        patient_id: None,
        outcome: AuditOutcome::Success,
        origin: RequestOrigin {
            client_address: Some("10.0.0.7".into()),
            request_id: Some(format!("req-{}-{second}", action.as_str())),
        },
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

fn text(value: &str) -> Submitted<String> {
    Submitted::Given(value.to_owned())
}

fn patient_details(name: &str) -> PatientDetails {
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

fn doctor_details(name: &str) -> DoctorDetails {
    DoctorInput {
        name: text(name),
        specialization: text("Cardiology"),
        phone: text("555"),
        email: text("doc@clinic.org"),
        experience_years: Submitted::Given(5),
        qualification: text("MD"),
        consultation_fee: text("99.5"),
        is_available: Submitted::Given(true),
    }
    .validate(WriteMode::Create, FieldErrors::new())
    .ok()
    .and_then(DoctorChanges::into_new_details)
    .expect("complete")
}

struct Repos {
    users: DieselUserRepository,
    patients: DieselPatientRepository,
    doctors: DieselDoctorRepository,
    mappings: DieselMappingRepository,
    audit: DieselAuditRepository,
    owner: UserId,
}

fn repos(pool: &DbPool) -> Repos {
    let users = DieselUserRepository::new(pool.clone());
    let owner = users
        .insert(&new_user("owner@example.com"))
        .expect("user")
        .id;
    Repos {
        users,
        patients: DieselPatientRepository::new(pool.clone()),
        doctors: DieselDoctorRepository::new(pool.clone()),
        mappings: DieselMappingRepository::new(pool.clone()),
        audit: DieselAuditRepository::new(pool.clone()),
        owner,
    }
}

/// Every stored row, newest first.
fn all_rows(audit: &DieselAuditRepository) -> Vec<AuditRecord> {
    let listed = audit
        .list(&AuditFilter::default(), page(1, 10_000))
        .expect("listed");
    assert_eq!(listed.total as usize, listed.items.len());
    listed.items
}

fn row_count(audit: &DieselAuditRepository) -> usize {
    all_rows(audit).len()
}

/// The newest row (highest id: the writes of one test all happen at distinct times).
fn newest(audit: &DieselAuditRepository) -> AuditRecord {
    all_rows(audit)
        .into_iter()
        .max_by_key(|row| row.id)
        .expect("a row")
}

/// Checks every sealed row from the first, returning how many there are and the head.
fn verify_chain(audit: &DieselAuditRepository, key: &ChainKey) -> Result<(i64, Seal), ChainBreak> {
    let rows = audit.sealed_after(0, 100_000).expect("sealed rows");
    let mut verifier = ChainVerifier::new(key.clone(), policy(audit));
    for row in &rows {
        verifier.check(row, &row.seal.expect("sealed"))?;
    }
    Ok((
        verifier.last_seq(),
        Seal {
            seq: verifier.last_seq(),
            mac: verifier.head(),
        },
    ))
}

fn policy(audit: &DieselAuditRepository) -> VerifyPolicy {
    VerifyPolicy {
        row_seals: audit.row_seals_from().expect("boundary"),
        max_skew_seconds: DEFAULT_MAX_SKEW_SECONDS,
    }
}

/// One sealing round of up to `limit` rows, with nothing refused before.
fn seal(audit: &DieselAuditRepository, key: &ChainKey, limit: u32) -> SealRound {
    audit
        .seal_pending(key, limit, &BTreeSet::new())
        .expect("sealed")
}

fn connection(pool: &DbPool) -> PooledConnection {
    checkout(pool).expect("a connection")
}

// ---------------------------------------------------------------------------------------------
// a. Each write stores exactly one row, in its transaction, only when it succeeds.

fn patient_writes_store_one_row_only_when_they_succeed(db: &Database) {
    let r = repos(&db.pool);
    assert_eq!(row_count(&r.audit), 0);

    let create = event(AuditAction::PatientCreate, 1);
    let patient = r
        .patients
        .insert(r.owner, &patient_details("Jane"), at(1), &create)
        .expect("inserted");
    let rows = all_rows(&r.audit);
    assert_eq!(rows.len(), 1, "one row per insert");
    assert_eq!(
        rows[0].event,
        AuditEvent {
            resource_id: Some(patient.id.0),
            patient_id: Some(patient.id),
            ..create.clone()
        },
        "the new patient's id fills resource_id and patient_id; the rest as given"
    );
    assert_eq!(rows[0].seal, None, "stored unsealed");

    // A stale version, and an unknown patient: nothing changes, nothing is stored.
    let stale = event(AuditAction::PatientUpdate, 2);
    assert_eq!(
        r.patients
            .update(patient.id, &patient_details("X"), 7, at(2), &stale),
        Ok(None)
    );
    assert_eq!(
        r.patients
            .update(PatientId(9999), &patient_details("X"), 1, at(2), &stale),
        Ok(None)
    );
    assert_eq!(row_count(&r.audit), 1, "no row for a failed update");

    let update = AuditEvent {
        resource_id: Some(patient.id.0),
        patient_id: Some(patient.id),
        ..event(AuditAction::PatientUpdate, 3)
    };
    r.patients
        .update(patient.id, &patient_details("Jane Doe"), 1, at(3), &update)
        .expect("ok")
        .expect("updated");
    assert_eq!(row_count(&r.audit), 2);
    assert_eq!(newest(&r.audit).event, update, "stored as given");

    let archive = AuditEvent {
        resource_id: Some(patient.id.0),
        patient_id: Some(patient.id),
        ..event(AuditAction::PatientDelete, 4)
    };
    assert_eq!(r.patients.archive(patient.id, at(4), &archive), Ok(true));
    assert_eq!(row_count(&r.audit), 3);
    assert_eq!(newest(&r.audit).event, archive);
    assert_eq!(
        r.patients
            .archive(patient.id, at(5), &event(AuditAction::PatientDelete, 5)),
        Ok(false),
        "already archived"
    );
    assert_eq!(
        r.patients.archive(
            PatientId(9999),
            at(5),
            &event(AuditAction::PatientDelete, 5)
        ),
        Ok(false),
        "unknown"
    );
    // An archived patient cannot be updated either.
    assert_eq!(
        r.patients.update(
            patient.id,
            &patient_details("X"),
            3,
            at(6),
            &event(AuditAction::PatientUpdate, 6)
        ),
        Ok(None)
    );
    assert_eq!(
        row_count(&r.audit),
        3,
        "no row for a refused archive or update"
    );
}

fn mapping_writes_store_one_row_only_when_they_succeed(db: &Database) {
    let r = repos(&db.pool);
    let patient = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor");
    let (p, d) = (patient.id, doctor.doctor.id);
    let before = row_count(&r.audit);
    assert_eq!(before, 1, "doctor writes are not audited");

    let create = event(AuditAction::MappingCreate, 2);
    let view = r
        .mappings
        .insert(p, d, r.owner, "first", at(2), &create)
        .expect("mapping")
        .expect("both accept assignments");
    assert_eq!(row_count(&r.audit), 2);
    assert_eq!(
        newest(&r.audit).event,
        AuditEvent {
            resource_id: Some(view.mapping.id.0),
            patient_id: Some(p),
            ..create
        },
        "the new mapping's id and its patient"
    );

    // The pair already has an active mapping: Conflict, and the transaction leaves no row.
    assert_eq!(
        r.mappings.insert(
            p,
            d,
            r.owner,
            "again",
            at(3),
            &event(AuditAction::MappingCreate, 3)
        ),
        Err(RepoError::Conflict)
    );
    assert_eq!(row_count(&r.audit), 2, "no row for a refused insert");

    let notes = event(AuditAction::MappingUpdate, 4);
    r.mappings
        .update_notes(view.mapping.id, "changed", at(4), &notes)
        .expect("ok")
        .expect("active");
    assert_eq!(row_count(&r.audit), 3);
    assert_eq!(newest(&r.audit).event, notes);

    let remove = event(AuditAction::MappingRemove, 5);
    assert_eq!(
        r.mappings.deactivate(view.mapping.id, at(5), &remove),
        Ok(true)
    );
    assert_eq!(row_count(&r.audit), 4);
    assert_eq!(newest(&r.audit).event, remove);
    assert_eq!(
        r.mappings.deactivate(
            view.mapping.id,
            at(6),
            &event(AuditAction::MappingRemove, 6)
        ),
        Ok(false),
        "removed at most once"
    );
    assert_eq!(
        r.mappings.update_notes(
            view.mapping.id,
            "x",
            at(6),
            &event(AuditAction::MappingUpdate, 6)
        ),
        Ok(None),
        "inactive"
    );
    assert_eq!(
        row_count(&r.audit),
        4,
        "no second removal row, no row for a refused note"
    );

    // Concurrent identical assignments: one wins, and exactly one row is stored.
    let outcomes: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let mappings = r.mappings.clone();
                let owner = r.owner;
                scope.spawn(move || {
                    mappings
                        .insert(
                            p,
                            d,
                            owner,
                            "",
                            at(7),
                            &event(AuditAction::MappingCreate, 7),
                        )
                        .is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    assert_eq!(outcomes.iter().filter(|won| **won).count(), 1);
    assert_eq!(row_count(&r.audit), 5, "one row for the one winner");
}

/// One `mapping.remove` row per mapping the archive ends (every owner's), in its transaction;
/// nothing for mappings already ended or other doctors' mappings, nor for a refused archive.
fn archiving_a_doctor_stores_one_removal_row_per_ended_mapping(db: &Database) {
    let r = repos(&db.pool);
    let second_owner = r
        .users
        .insert(&new_user("second@example.com"))
        .expect("user")
        .id;
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let other_doctor = r
        .doctors
        .insert(second_owner, &doctor_details("Dr. B"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let patient = |owner: UserId, name: &str| {
        r.patients
            .insert(
                owner,
                &patient_details(name),
                at(2),
                &event(AuditAction::PatientCreate, 2),
            )
            .expect("patient")
            .id
    };
    let map = |patient: PatientId, doctor: DoctorId, owner: UserId| {
        r.mappings
            .insert(
                patient,
                doctor,
                owner,
                "",
                at(3),
                &event(AuditAction::MappingCreate, 3),
            )
            .expect("mapping")
            .expect("both accept assignments")
            .mapping
            .id
    };
    let (ann, bea) = (patient(r.owner, "Ann"), patient(r.owner, "Bea"));
    let (cal, dee) = (patient(second_owner, "Cal"), patient(r.owner, "Dee"));
    let ended = [
        (map(ann, doctor, r.owner), ann),
        (map(bea, doctor, r.owner), bea),
        (map(cal, doctor, second_owner), cal),
    ];
    let kept = map(ann, other_doctor, r.owner);
    let already_ended = map(dee, doctor, r.owner);
    assert_eq!(
        r.mappings
            .deactivate(already_ended, at(4), &event(AuditAction::MappingRemove, 4)),
        Ok(true)
    );
    let last_before = newest(&r.audit).id;
    let count_before = row_count(&r.audit);

    let remove = event(AuditAction::MappingRemove, 5);
    assert_eq!(r.doctors.archive(doctor, at(5), &remove), Ok(true));
    let mut stored: Vec<AuditEvent> = all_rows(&r.audit)
        .into_iter()
        .filter(|row| row.id > last_before)
        .map(|row| row.event)
        .collect();
    stored.sort_by_key(|event| event.resource_id);
    let expected: Vec<AuditEvent> = ended
        .iter()
        .map(|(mapping, patient)| AuditEvent {
            resource_id: Some(mapping.0),
            patient_id: Some(*patient),
            ..remove.clone()
        })
        .collect();
    assert_eq!(
        stored, expected,
        "one row per ended mapping of either owner: its id and patient, the rest as given"
    );
    assert_eq!(row_count(&r.audit), count_before + ended.len());
    for (mapping, _) in ended {
        assert!(
            !r.mappings
                .find(mapping)
                .expect("ok")
                .expect("kept")
                .is_active
        );
    }
    assert!(
        r.mappings.find(kept).expect("ok").expect("kept").is_active,
        "another doctor's mapping of the same patient stays"
    );

    // Already archived, unknown, or with nothing to end: no row.
    let again = event(AuditAction::MappingRemove, 6);
    assert_eq!(r.doctors.archive(doctor, at(6), &again), Ok(false));
    assert_eq!(r.doctors.archive(DoctorId(9999), at(6), &again), Ok(false));
    assert_eq!(
        r.doctors
            .find(doctor)
            .expect("ok")
            .expect("kept")
            .doctor
            .archived_at,
        Some(at(5)),
        "archived once"
    );
    let lonely = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. C"), at(6))
        .expect("doctor")
        .doctor
        .id;
    assert_eq!(r.doctors.archive(lonely, at(7), &again), Ok(true));
    assert_eq!(
        row_count(&r.audit),
        count_before + ended.len(),
        "no row without an ended mapping"
    );
}

fn user_writes_store_one_row_only_when_they_succeed(db: &Database) {
    let r = repos(&db.pool);
    let password = event(AuditAction::AuthPasswordChange, 1);
    assert_eq!(
        r.users.update_password(r.owner, "$2b$04$new", &password),
        Ok(true)
    );
    assert_eq!(row_count(&r.audit), 1);
    assert_eq!(newest(&r.audit).event, password);
    assert_eq!(
        r.users.update_password(UserId(9999), "x", &password),
        Ok(false)
    );
    assert_eq!(row_count(&r.audit), 1, "no row for an unknown user");

    let deactivate = event(AuditAction::UserUpdate, 2);
    assert_eq!(r.users.set_active(r.owner, false, &deactivate), Ok(true));
    assert_eq!(row_count(&r.audit), 2);
    assert_eq!(newest(&r.audit).event, deactivate);
    assert_eq!(
        r.users.set_active(UserId(9999), false, &deactivate),
        Ok(false)
    );
    assert_eq!(row_count(&r.audit), 2, "no row for an unknown user");
}

/// A trigger refusing audit inserts makes every audited write fail as a whole: the change
/// and its row share one transaction.
fn a_failed_audit_insert_rolls_the_change_back(db: &Database) {
    let r = repos(&db.pool);
    let patient = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "n",
            at(2),
            &event(AuditAction::MappingCreate, 2),
        )
        .expect("mapping")
        .expect("both accept assignments");
    let other_doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. B"), at(2))
        .expect("doctor");

    let mut conn = connection(&db.pool);
    let (refuse, allow) = match &*conn {
        DbConnection::Pg(_) => (
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'audit refused'; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
            "DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit();",
        ),
        DbConnection::Sqlite(_) => (
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
            "DROP TRIGGER refuse_audit;",
        ),
    };
    conn.batch_execute(refuse).expect("trigger created");
    drop(conn);

    let count_before = row_count(&r.audit);
    assert!(
        r.patients
            .insert(
                r.owner,
                &patient_details("Ghost"),
                at(3),
                &event(AuditAction::PatientCreate, 3)
            )
            .is_err()
    );
    assert_eq!(
        r.patients
            .list(r.owner, None, page(1, 20))
            .expect("listed")
            .total,
        1,
        "the patient insert was rolled back"
    );
    assert!(
        r.patients
            .update(
                patient.id,
                &patient_details("Renamed"),
                1,
                at(3),
                &event(AuditAction::PatientUpdate, 3)
            )
            .is_err()
    );
    assert!(
        r.patients
            .archive(patient.id, at(3), &event(AuditAction::PatientDelete, 3))
            .is_err()
    );
    let unchanged = r.patients.find(patient.id).expect("ok").expect("found");
    assert_eq!(unchanged, patient, "neither update nor archive took effect");
    assert!(
        r.mappings
            .insert(
                patient.id,
                other_doctor.doctor.id,
                r.owner,
                "",
                at(3),
                &event(AuditAction::MappingCreate, 3)
            )
            .is_err()
    );
    assert_eq!(
        r.mappings.has_active(patient.id, other_doctor.doctor.id),
        Ok(false)
    );
    assert!(
        r.mappings
            .deactivate(
                view.mapping.id,
                at(3),
                &event(AuditAction::MappingRemove, 3)
            )
            .is_err()
    );
    assert!(
        r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("found")
            .is_active,
        "the deactivation was rolled back"
    );
    assert!(
        r.doctors
            .archive(
                doctor.doctor.id,
                at(3),
                &event(AuditAction::MappingRemove, 3)
            )
            .is_err()
    );
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .doctor,
        doctor.doctor,
        "the doctor archive was rolled back"
    );
    assert!(
        r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("found")
            .is_active,
        "and so was the end of its mapping"
    );
    assert!(
        r.users
            .set_active(r.owner, false, &event(AuditAction::UserUpdate, 3))
            .is_err()
    );
    assert!(
        r.users
            .find_by_id(r.owner)
            .expect("ok")
            .expect("found")
            .is_active
    );
    assert_eq!(row_count(&r.audit), count_before);

    connection(&db.pool)
        .batch_execute(allow)
        .expect("trigger dropped");
    assert_eq!(
        r.patients
            .archive(patient.id, at(4), &event(AuditAction::PatientDelete, 4)),
        Ok(true),
        "works again once the audit insert does"
    );
}

// ---------------------------------------------------------------------------------------------
// e. restore()

fn restore_unarchives_once_and_leaves_mappings_inactive(db: &Database) {
    let r = repos(&db.pool);
    let patient = r
        .patients
        .insert(
            r.owner,
            &patient_details("Jane"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient");
    let doctor = r
        .doctors
        .insert(r.owner, &doctor_details("Dr. A"), at(1))
        .expect("doctor");
    let view = r
        .mappings
        .insert(
            patient.id,
            doctor.doctor.id,
            r.owner,
            "n",
            at(2),
            &event(AuditAction::MappingCreate, 2),
        )
        .expect("mapping")
        .expect("both accept assignments");

    let not_archived = event(AuditAction::PatientRestore, 3);
    assert_eq!(
        r.patients.restore(patient.id, at(3), &not_archived),
        Ok(false),
        "not archived"
    );
    assert_eq!(
        r.patients.restore(PatientId(9999), at(3), &not_archived),
        Ok(false),
        "unknown"
    );
    assert_eq!(row_count(&r.audit), 2, "no row for a refused restore");
    assert_eq!(
        r.patients.find(patient.id).expect("ok").expect("found"),
        patient,
        "unchanged"
    );

    assert_eq!(
        r.patients
            .archive(patient.id, at(4), &event(AuditAction::PatientDelete, 4)),
        Ok(true)
    );
    assert_eq!(row_count(&r.audit), 3);

    let restore = AuditEvent {
        resource_id: Some(patient.id.0),
        patient_id: Some(patient.id),
        ..event(AuditAction::PatientRestore, 5)
    };
    assert_eq!(r.patients.restore(patient.id, at(5), &restore), Ok(true));
    assert_eq!(row_count(&r.audit), 4);
    assert_eq!(newest(&r.audit).event, restore);
    let restored = r.patients.find(patient.id).expect("ok").expect("found");
    assert_eq!(restored.archived_at, None);
    assert_eq!(restored.updated_at, at(5));
    assert!(restored.version > patient.version);
    assert_eq!(
        r.patients
            .list(r.owner, None, page(1, 20))
            .expect("listed")
            .items
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![patient.id],
        "listed again"
    );
    // Its mappings stay inactive.
    assert!(
        !r.mappings
            .find(view.mapping.id)
            .expect("ok")
            .expect("kept")
            .is_active
    );
    assert_eq!(
        r.mappings.has_active(patient.id, doctor.doctor.id),
        Ok(false)
    );
    assert!(
        r.mappings
            .active_for_patient(patient.id)
            .expect("listed")
            .is_empty()
    );
    assert_eq!(
        r.doctors
            .find(doctor.doctor.id)
            .expect("ok")
            .expect("found")
            .patient_count,
        0
    );
    // It can be edited again, at its current version.
    assert!(
        r.patients
            .update(
                patient.id,
                &patient_details("Jane Doe"),
                restored.version,
                at(6),
                &event(AuditAction::PatientUpdate, 6)
            )
            .expect("ok")
            .is_some()
    );

    assert_eq!(
        r.patients
            .restore(patient.id, at(7), &event(AuditAction::PatientRestore, 7)),
        Ok(false),
        "restored once"
    );
    assert_eq!(row_count(&r.audit), 5, "only the update's row was added");
}

// ---------------------------------------------------------------------------------------------
// b. append + list

struct Sample {
    events: Vec<AuditEvent>,
}

/// Six events appended one call at a time, in an order unlike their times, so ids and times
/// disagree; two share a time.
fn append_sample(audit: &DieselAuditRepository) -> Sample {
    let make = |second, actor: Option<i64>, patient: Option<i64>, action, outcome| AuditEvent {
        at: at(second),
        actor: actor.map(UserId),
        action,
        resource_id: patient,
        patient_id: patient.map(PatientId),
        outcome,
        origin: RequestOrigin {
            client_address: (second % 2 == 0).then(|| format!("192.0.2.{second}")),
            request_id: actor.map(|a| format!("r-{a}-{second}")),
        },
    };
    use AuditAction::*;
    use AuditOutcome::*;
    let events = vec![
        make(1, Some(1), Some(10), PatientRead, Success), // e0
        make(2, Some(2), Some(10), PatientUpdate, Failure), // e1
        make(3, Some(1), Some(20), PatientRead, Denied),  // e2
        make(3, None, None, AuthLogin, Failure),          // e3
        make(5, Some(2), Some(20), PatientRead, Success), // e4
        make(7, Some(1), None, AuditRead, Success),       // e5
    ];
    // Appended as e4, e0, e3, e2, e5, e1: e3 gets a smaller id than e2.
    for index in [4, 0, 3, 2, 5, 1] {
        audit
            .append(std::slice::from_ref(&events[index]))
            .expect("appended");
    }
    Sample { events }
}

fn list_filters_orders_newest_first_and_counts(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    audit.append(&[]).expect("an empty batch is fine");
    assert_eq!(
        audit
            .list(&AuditFilter::default(), page(1, 20))
            .expect("listed")
            .total,
        0
    );
    let sample = append_sample(&audit);
    let e = &sample.events;

    let listed = |filter: &AuditFilter, page: Page| {
        let found = audit.list(filter, page).expect("listed");
        for row in &found.items {
            assert_eq!(row.seal, None, "unsealed");
        }
        (
            found
                .items
                .into_iter()
                .map(|row| row.event)
                .collect::<Vec<_>>(),
            found.total,
        )
    };
    let expect = |indexes: &[usize]| indexes.iter().map(|&i| e[i].clone()).collect::<Vec<_>>();

    // Newest first; the tie at 3 s broken by id, newest (e2, appended after e3) first.
    let everything = AuditFilter::default();
    assert_eq!(
        listed(&everything, page(1, 100)),
        (expect(&[5, 4, 2, 3, 1, 0]), 6),
        "every field round-trips; newest first"
    );
    let all_rows = audit.list(&everything, page(1, 100)).expect("listed").items;
    assert!(
        all_rows
            .windows(2)
            .all(|w| (w[0].event.at, w[0].id) > (w[1].event.at, w[1].id)),
        "(at, id) strictly descending"
    );
    assert_eq!(listed(&everything, page(1, 2)), (expect(&[5, 4]), 6));
    assert_eq!(listed(&everything, page(2, 2)), (expect(&[2, 3]), 6));
    assert_eq!(listed(&everything, page(3, 2)), (expect(&[1, 0]), 6));
    assert_eq!(listed(&everything, page(4, 2)), (vec![], 6), "past the end");

    let filter = |f: fn(&mut AuditFilter)| {
        let mut filter = AuditFilter::default();
        f(&mut filter);
        filter
    };
    assert_eq!(
        listed(&filter(|f| f.patient = Some(PatientId(10))), page(1, 100)),
        (expect(&[1, 0]), 2),
        "patient"
    );
    assert_eq!(
        listed(&filter(|f| f.actor = Some(UserId(1))), page(1, 100)),
        (expect(&[5, 2, 0]), 3),
        "actor"
    );
    assert_eq!(
        listed(
            &filter(|f| f.action = Some(AuditAction::PatientRead)),
            page(1, 100)
        ),
        (expect(&[4, 2, 0]), 3),
        "action"
    );
    assert_eq!(
        listed(
            &filter(|f| f.outcome = Some(AuditOutcome::Failure)),
            page(1, 100)
        ),
        (expect(&[3, 1]), 2),
        "outcome"
    );
    assert_eq!(
        listed(&filter(|f| f.since = Some(at(3))), page(1, 100)),
        (expect(&[5, 4, 2, 3]), 4),
        "since is inclusive"
    );
    assert_eq!(
        listed(&filter(|f| f.until = Some(at(3))), page(1, 100)),
        (expect(&[2, 3, 1, 0]), 4),
        "until is inclusive"
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.since = Some(at(2));
                f.until = Some(at(5));
            }),
            page(1, 100)
        ),
        (expect(&[4, 2, 3, 1]), 4),
        "a window"
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.actor = Some(UserId(1));
                f.action = Some(AuditAction::PatientRead);
            }),
            page(1, 100)
        ),
        (expect(&[2, 0]), 2),
        "every filter given must match"
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.patient = Some(PatientId(20));
                f.outcome = Some(AuditOutcome::Success);
                f.since = Some(at(4));
            }),
            page(1, 1)
        ),
        (expect(&[4]), 1)
    );
    assert_eq!(
        listed(
            &filter(|f| {
                f.patient = Some(PatientId(10));
                f.actor = Some(UserId(1));
            }),
            page(2, 1)
        ),
        (vec![], 1),
        "a later page keeps the total"
    );
    assert_eq!(
        listed(
            &filter(|f| f.outcome = Some(AuditOutcome::Denied)),
            page(1, 100)
        ),
        (expect(&[2]), 1)
    );
    assert_eq!(
        listed(&filter(|f| f.since = Some(at(8))), page(1, 100)),
        (vec![], 0),
        "nothing matches"
    );
}

fn list_costs_the_same_statements_whatever_the_page_size(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    append_sample(&audit);
    let filter = AuditFilter {
        since: Some(at(1)),
        ..AuditFilter::default()
    };
    let cost = |size: u64| {
        let before = db.statements.count();
        let found = audit.list(&filter, page(1, size)).expect("listed");
        let spent = db.statements.count() - before;
        assert_eq!(found.total, 6);
        assert_eq!(found.items.len() as u64, size.min(6));
        spent
    };
    cost(1); // warms the pool: opening a connection costs set-up statements
    let small = cost(1);
    let large = cost(100);
    assert_eq!(small, large, "page size 1 and 100 cost the same");
    // Two queries, plus the pool's check of the connection when it is checked out.
    assert!(small <= 3, "list ran {small} statements");
}

// ---------------------------------------------------------------------------------------------
// c. sealing

fn sealing_numbers_rows_in_id_order_and_the_chain_verifies(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    // The empty chain.
    let round = seal(&audit, &key, 10);
    assert_eq!((round.sealed, round.head), (0, None));
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 0,
            oldest: None
        })
    );
    assert_eq!(audit.sealed_after(0, 10), Ok(vec![]));

    // Times out of id order: the chain follows ids, not times.
    let seconds = [9, 4, 6, 2, 8];
    let events: Vec<_> = seconds
        .iter()
        .map(|&s| event(AuditAction::PatientRead, s))
        .collect();
    audit.append(&events).expect("appended");
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 5,
            oldest: Some(at(2))
        })
    );

    let first = seal(&audit, &key, 3);
    assert_eq!(first.sealed, 3);
    assert_eq!(first.head.map(|h| h.seq), Some(3));
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 2,
            oldest: Some(at(2))
        }),
        "the ids appended last (2 s and 8 s) are still pending"
    );
    let second = seal(&audit, &key, 100);
    assert_eq!(second.sealed, 2);
    assert_eq!(second.head.map(|h| h.seq), Some(5));
    let idle = seal(&audit, &key, 100);
    assert_eq!((idle.sealed, idle.head), (0, second.head), "nothing left");
    assert_eq!(
        audit.pending_seal(),
        Ok(PendingSeal {
            rows: 0,
            oldest: None
        })
    );

    let sealed = audit.sealed_after(0, 100).expect("sealed rows");
    assert_eq!(
        sealed
            .iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(
        sealed.windows(2).all(|w| w[0].id < w[1].id),
        "seq follows id order"
    );
    assert_eq!(
        sealed.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        events,
        "the sealed rows are the appended events, in append order"
    );
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((5, second.head.expect("head")))
    );
    assert!(
        matches!(
            verify_chain(&audit, &ChainKey::new(*b"another key of thirty-two bytes!")),
            Err(ChainBreak::Changed { seq: 1, .. })
        ),
        "another key does not verify"
    );
    let middle = audit.sealed_after(2, 2).expect("sealed rows");
    assert_eq!(
        middle
            .iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        vec![3, 4]
    );
    // list shows the seals too.
    assert!(
        all_rows(&audit).iter().all(|row| row.seal.is_some()),
        "every listed row is sealed"
    );

    // Later rows continue the chain at 6.
    let later = vec![
        event(AuditAction::AuthLogin, 10),
        event(AuditAction::AuthLogout, 11),
    ];
    audit.append(&later).expect("appended");
    assert_eq!(audit.pending_seal().expect("pending").rows, 2);
    let third = seal(&audit, &key, 100);
    assert_eq!(third.sealed, 2);
    assert_eq!(third.head.map(|h| h.seq), Some(7));
    let tail = audit.sealed_after(5, 100).expect("sealed rows");
    assert_eq!(
        tail.iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        vec![6, 7]
    );
    assert_eq!(
        tail.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        later
    );
    let mut resumed = ChainVerifier::resuming(
        key.clone(),
        policy(&audit),
        6,
        second.head.expect("head").mac,
    );
    for row in &tail {
        resumed
            .check(row, &row.seal.expect("sealed"))
            .expect("continues the chain");
    }
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((7, third.head.expect("head")))
    );
}

fn concurrent_sealers_and_appenders_keep_one_gapless_chain(db: &Database) {
    const APPENDERS: usize = 4;
    const SEALERS: usize = 4;
    const BATCHES: usize = 15;
    const BATCH: usize = 3;
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    let appending = AtomicBool::new(true);
    let rounds: Vec<usize> = std::thread::scope(|scope| {
        let sealers: Vec<_> = (0..SEALERS)
            .map(|_| {
                let (audit, key, appending) = (audit.clone(), key.clone(), &appending);
                scope.spawn(move || {
                    let mut sealed = 0;
                    loop {
                        let done = !appending.load(Ordering::SeqCst);
                        sealed += audit
                            .seal_pending(&key, 4, &BTreeSet::new())
                            .expect("a sealing round")
                            .sealed;
                        if done {
                            return sealed;
                        }
                        // Leave the write lock to the appenders now and then: SQLite's busy
                        // handler is not fair, and four sealers in a tight loop can starve them.
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                })
            })
            .collect();
        let appenders: Vec<_> = (0..APPENDERS)
            .map(|thread| {
                let audit = audit.clone();
                scope.spawn(move || {
                    for batch in 0..BATCHES {
                        let events: Vec<_> = (0..BATCH)
                            .map(|i| AuditEvent {
                                resource_id: Some((thread * 1000 + batch * 10 + i) as i64),
                                ..event(AuditAction::PatientRead, (batch % 60) as u32)
                            })
                            .collect();
                        audit.append(&events).expect("appended");
                    }
                })
            })
            .collect();
        for appender in appenders {
            appender.join().expect("joined");
        }
        appending.store(false, Ordering::SeqCst);
        sealers
            .into_iter()
            .map(|s| s.join().expect("joined"))
            .collect()
    });
    let final_round = audit
        .seal_pending(&key, 10_000, &BTreeSet::new())
        .expect("final round");
    let total = APPENDERS * BATCHES * BATCH;
    assert_eq!(
        rounds.iter().sum::<usize>() + final_round.sealed,
        total,
        "every row sealed exactly once"
    );
    assert_eq!(audit.pending_seal().expect("pending").rows, 0);

    let sealed = audit.sealed_after(0, 100_000).expect("sealed rows");
    assert_eq!(
        sealed
            .iter()
            .map(|r| r.seal.expect("sealed").seq)
            .collect::<Vec<_>>(),
        (1..=total as i64).collect::<Vec<_>>(),
        "1..N without gaps or duplicates"
    );
    let mut ids: Vec<i64> = sealed.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "each row once");
    let mut resources: Vec<_> = sealed.iter().map(|r| r.event.resource_id).collect();
    resources.sort_unstable();
    resources.dedup();
    assert_eq!(
        resources.len(),
        total,
        "every appended event is in the chain"
    );
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((total as i64, final_round.head.expect("head")))
    );
}

// ---------------------------------------------------------------------------------------------
// d. append-only

fn recorded_rows_cannot_be_deleted_changed_or_resealed(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    let events = vec![
        AuditEvent {
            outcome: AuditOutcome::Denied,
            ..event(AuditAction::PatientRead, 1)
        },
        AuditEvent {
            outcome: AuditOutcome::Failure,
            ..event(AuditAction::PatientUpdate, 2)
        },
    ];
    audit.append(&events).expect("appended");
    let round = seal(&audit, &key, 1);
    assert_eq!(round.sealed, 1, "one sealed row, one unsealed");
    let before = all_rows(&audit);

    let mut conn = connection(&db.pool);
    let run = |conn: &mut DbConnection, sql: &str| diesel::sql_query(sql).execute(conn);
    for sql in [
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE seq IS NULL",
        "DELETE FROM audit_events WHERE seq IS NOT NULL",
        "UPDATE audit_events SET outcome = 'success'",
        "UPDATE audit_events SET outcome = 'success' WHERE seq IS NULL",
        "UPDATE audit_events SET outcome = 'success' WHERE seq IS NOT NULL",
        "UPDATE audit_events SET patient_id = 1 WHERE seq IS NULL",
        "UPDATE audit_events SET at = at WHERE seq IS NULL",
        // Re-sealing, or un-sealing, a sealed row.
        "UPDATE audit_events SET seq = 99, mac = \
         '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 1",
        "UPDATE audit_events SET mac = \
         '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 1",
        "UPDATE audit_events SET seq = seq, mac = mac WHERE seq = 1",
        "UPDATE audit_events SET seq = NULL, mac = NULL WHERE seq = 1",
    ] {
        assert!(run(&mut conn, sql).is_err(), "refused: {sql}");
    }
    // Row triggers do not fire on TRUNCATE (PostgreSQL only; SQLite has none): refused too.
    if matches!(&*conn, DbConnection::Pg(_)) {
        assert!(
            run(&mut conn, "TRUNCATE audit_events").is_err(),
            "refused: TRUNCATE"
        );
    }
    drop(conn);

    assert_eq!(all_rows(&audit), before, "nothing changed");
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((1, round.head.expect("head")))
    );
    // The sealer's own update of the unsealed row is still allowed, once.
    let next = seal(&audit, &key, 10);
    assert_eq!(next.sealed, 1);
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((2, next.head.expect("head")))
    );
    let mut conn = connection(&db.pool);
    assert!(
        run(
            &mut conn,
            "UPDATE audit_events SET seq = 3, mac = \
             '0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 2"
        )
        .is_err(),
        "sealed once"
    );
}

// ---------------------------------------------------------------------------------------------
// e. Row MACs: only rows the server wrote enter the chain

/// Inserts a row straight into the table, as someone with write access but without the key
/// would, and returns its id.
fn insert_forged_row(pool: &DbPool, at: &str, row_seal: Option<(&str, &str)>) -> i64 {
    let (nonce, mac) = row_seal.map_or(("NULL".to_owned(), "NULL".to_owned()), |(n, m)| {
        (format!("'{n}'"), format!("'{m}'"))
    });
    let mut conn = connection(pool);
    conn.batch_execute(&format!(
        "INSERT INTO audit_events (at, actor_user_id, action, resource_type, resource_id, \
         patient_id, outcome, client_address, request_id, row_nonce, row_mac) VALUES \
         ('{at}', 41, 'patient.read', 'patient', 7, 7, 'success', '10.0.0.9', 'forged', \
         {nonce}, {mac})"
    ))
    .expect("the intruder's insert runs");
    let repository = DieselAuditRepository::new(pool.clone());
    all_rows(&repository)
        .into_iter()
        .map(|row| row.id)
        .max()
        .expect("a row")
}

fn every_stored_row_carries_the_servers_row_mac(db: &Database) {
    let r = repos(&db.pool);
    let key = key();
    r.audit
        .append(&[
            event(AuditAction::PatientRead, 1),
            event(AuditAction::AuthLogin, 2),
        ])
        .expect("appended");
    r.patients
        .insert(
            r.owner,
            &patient_details("Jane Roe"),
            at(3),
            &event(AuditAction::PatientCreate, 3),
        )
        .expect("created with its row");
    let rows = all_rows(&r.audit);
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let row_seal = row.row_seal.expect("a row MAC");
        assert!(key.row_verifies(&row_seal, &row.event), "{row:?}");
    }
    let mut nonces: Vec<_> = rows.iter().filter_map(|row| row.row_seal).collect();
    nonces.dedup_by_key(|seal| seal.nonce);
    assert_eq!(nonces.len(), 3, "a fresh nonce per row");
}

fn a_row_inserted_straight_into_the_table_is_refused_and_left_unsealed(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    audit
        .append(&[event(AuditAction::PatientRead, 1)])
        .expect("appended");
    let copied = all_rows(&audit)[0].row_seal.expect("a row MAC");
    // Back-dated, with no row MAC, and with a genuine row's MAC on other content.
    let without = insert_forged_row(&db.pool, "2026-01-15 08:00:00", None);
    let (nonce, mac) = (hex(&[9; 16]), copied.mac.to_hex());
    let copied_mac = insert_forged_row(&db.pool, "2026-11-26 10:00:02", Some((&nonce, &mac)));
    audit
        .append(&[event(AuditAction::PatientList, 3)])
        .expect("appended");

    let mut refused = BTreeSet::new();
    let round = audit.seal_pending(&key, 10, &refused).expect("sealed");
    assert_eq!(round.sealed, 2, "the two genuine rows");
    assert_eq!(round.refused, vec![without, copied_mac]);
    refused.extend(round.refused);
    let again = audit.seal_pending(&key, 10, &refused).expect("sealed");
    assert_eq!((again.sealed, again.refused), (0, vec![]), "passed over");

    let unsealed: Vec<i64> = audit
        .unsealed_after(0, 100)
        .expect("listed")
        .iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(unsealed, vec![without, copied_mac], "left out of the chain");
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((2, round.head.expect("head")))
    );
}

fn forged_rows_never_stall_the_sealer(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    let key = key();
    for _ in 0..5 {
        insert_forged_row(&db.pool, "2026-11-26 10:00:00", None);
    }
    let genuine: Vec<AuditEvent> = (1..=3)
        .map(|second| event(AuditAction::PatientRead, second))
        .collect();
    audit.append(&genuine).expect("appended");
    let mut refused = BTreeSet::new();
    let mut sealed = 0;
    for _ in 0..10 {
        let round = audit.seal_pending(&key, 2, &refused).expect("a round");
        sealed += round.sealed;
        refused.extend(round.refused);
    }
    assert_eq!((sealed, refused.len()), (3, 5));
}

fn a_genuine_row_cannot_be_inserted_twice(db: &Database) {
    let audit = DieselAuditRepository::new(db.pool.clone());
    audit
        .append(&[event(AuditAction::PatientRead, 1)])
        .expect("appended");
    let mut conn = connection(&db.pool);
    let copy = conn.batch_execute(
        "INSERT INTO audit_events (at, actor_user_id, action, resource_type, resource_id, \
         patient_id, outcome, client_address, request_id, row_nonce, row_mac) \
         SELECT at, actor_user_id, action, resource_type, resource_id, patient_id, outcome, \
         client_address, request_id, row_nonce, row_mac FROM audit_events",
    );
    assert!(copy.is_err(), "the nonce is unique");
    drop(conn);
    assert_eq!(row_count(&audit), 1);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// f. Upgrading a trail written by the previous release

/// The last migration of the release before row MACs.
const BEFORE_ROW_MACS: &str = "2026-11-26-000007";

fn rows_written_before_row_macs_stay_valid_after_the_upgrade(url: &str) {
    let key = key();
    let pool = open_unmigrated(url);
    migrations::run_up_to(&pool, BEFORE_ROW_MACS).expect("the previous release's schema");
    // What the previous release left: a user, three sealed rows and two it had not sealed
    // yet when it stopped (a crash between batch and seal).
    let mut conn = connection(&pool);
    conn.batch_execute(
        "INSERT INTO users (name, email, email_lower, password_hash, is_active, is_staff, \
         created_at) VALUES ('Ann Lee', 'ann@example.com', 'ann@example.com', '$2b$04$x', \
         TRUE, FALSE, '2026-11-26 10:00:00')",
    )
    .expect("a user");
    let mut previous = Mac::GENESIS;
    for n in 1..=5_i64 {
        let event = event(AuditAction::PatientRead, n as u32);
        let seal = (n <= 3).then(|| {
            let mac = key.seal(&previous, n, n, &event);
            previous = mac;
            format!("{n}, '{}'", mac.to_hex())
        });
        conn.batch_execute(&format!(
            "INSERT INTO audit_events (id, at, actor_user_id, action, resource_type, \
             resource_id, patient_id, outcome, client_address, request_id, seq, mac) VALUES \
             ({n}, '2026-11-26 10:00:{n:02}', 41, 'patient.read', 'patient', NULL, NULL, \
             'success', '10.0.0.7', 'req-patient.read-{n}', {})",
            seal.unwrap_or_else(|| "NULL, NULL".to_owned())
        ))
        .expect("a row of the previous release");
    }
    if matches!(&*conn, DbConnection::Pg(_)) {
        // Explicit ids leave the identity sequence behind; the previous release's own
        // inserts would have advanced it.
        conn.batch_execute("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 5)")
            .expect("sequence");
    }
    drop(conn);

    migrations::run_pending(&pool).expect("the upgrade");
    let audit = DieselAuditRepository::new(pool.clone());
    assert_eq!(row_count(&audit), 5, "every row kept");
    assert_eq!(
        DieselUserRepository::new(pool.clone())
            .find_credentials_by_email("ann@example.com")
            .expect("found")
            .map(|found| found.user.name.as_str().to_owned()),
        Some("Ann Lee".to_owned())
    );
    let boundary = audit.row_seals_from().expect("recorded");
    assert!(boundary.first_id > 5, "{boundary:?}");

    // The two rows left unsealed are chained like any row of theirs; a new row carries its
    // MAC; a MAC-less row claiming a later id is refused.
    audit
        .append(&[event(AuditAction::PatientList, 6)])
        .expect("appended");
    let forged = insert_forged_row(&pool, "2026-11-26 10:00:07", None);
    let round = audit
        .seal_pending(&key, 100, &BTreeSet::new())
        .expect("sealed");
    assert_eq!((round.sealed, round.refused), (3, vec![forged]));
    assert_eq!(
        verify_chain(&audit, &key),
        Ok((6, round.head.expect("head")))
    );
}

fn open_unmigrated(url: &str) -> DbPool {
    build_pool(
        &DatabaseTarget::parse(url).expect("valid url"),
        &PoolSettings {
            max_size: 2,
            checkout_timeout: Duration::from_secs(10),
            statements: StatementCounter::default(),
            audit_key: key(),
        },
    )
    .expect("pool")
}

#[test]
fn upgrade_keeps_rows_written_before_row_macs_on_sqlite() {
    let (url, _folder) = healthcare_test_support::fresh_sqlite_database();
    rows_written_before_row_macs_stay_valid_after_the_upgrade(&url);
}

#[test]
fn upgrade_keeps_rows_written_before_row_macs_on_postgres() {
    if let Some(url) = healthcare_test_support::fresh_postgres_database() {
        rows_written_before_row_macs_stay_valid_after_the_upgrade(&url);
    }
}
