//! The staff admin site's storage contract: second factors and recovery codes, admin sessions
//! and the staff directory, every MUST sentence of their ports checked by one set of functions
//! run on SQLite and on PostgreSQL (the same way as `records.rs`).

use std::sync::Barrier;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::doctor::{DoctorChanges, DoctorDetails, DoctorId, DoctorInput};
use healthcare_domain::fields::{Submitted, WriteMode};
use healthcare_domain::mapping::MappingId;
use healthcare_domain::patient::{PatientChanges, PatientDetails, PatientId, PatientInput};
use healthcare_domain::staff::TotpSecret;
use healthcare_domain::{Email, FieldErrors, NewUser, Timestamp, UserId, UserName};
use healthcare_persistence::connection::checkout;
use healthcare_persistence::{
    DatabaseTarget, DbConnection, DbPool, DieselAdminSessionRepository, DieselAuditRepository,
    DieselDoctorRepository, DieselMappingRepository, DieselPatientRepository,
    DieselSecondFactorRepository, DieselStaffDirectory, DieselUserRepository, PoolSettings,
    StatementCounter, build_pool, migrations,
};
use healthcare_ports::ports::{
    AdminSession, AdminSessionRepository, AuditFilter, AuditRepository, DoctorFilter,
    DoctorRepository, DoctorSearch, MappingRepository, MappingSearch, PatientFilter,
    PatientRepository, SecondFactor, SecondFactorRepository, StaffDirectory, UserFilter,
    UserRepository,
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
            // More than the threads of the concurrency tests, so the database (not the pool)
            // is what decides the races.
            max_size: 10,
            checkout_timeout: Duration::from_secs(10),
            statements: statements.clone(),
            audit_key: healthcare_domain::audit::ChainKey::new("contract suite audit key"),
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
    unknown_users_have_no_factor_and_nothing_succeeds,
    enrolment_replaces_an_unconfirmed_factor_and_refuses_once_confirmed,
    concurrent_enrolments_all_succeed_and_leave_one_factor,
    confirmation_stores_codes_and_audit_once,
    confirmation_is_one_transaction,
    accept_step_takes_only_later_steps_of_a_confirmed_factor,
    concurrent_acceptances_of_one_step_have_one_winner,
    recovery_codes_are_single_use_even_concurrently,
    reset_removes_factor_codes_and_only_the_users_sessions,
    reset_is_one_transaction,
    sessions_insert_find_touch_and_delete,
    sessions_end_per_user_and_when_idle,
    user_directory_filters_orders_and_pages,
    patient_directory_shows_every_owner_and_archived_ones,
    doctor_directory_filters_orders_and_counts,
    mapping_directory_shows_every_owner_active_or_not,
    directory_lists_cost_two_statements_whatever_the_page_size,
    restore_doctor_unarchives_once_and_leaves_mappings_inactive,
    names_are_found_ignoring_case_beyond_ascii,
);

fn names_are_found_ignoring_case_beyond_ascii(db: &Database) {
    let r = repos(&db.pool);
    let emile = r.user("Émile Ørsted", "emile@example.com", false);
    r.user("Emile Plain", "plain@example.com", false);
    for term in ["émile", "ÉMILE", "Émile", "ørsted", "ØRSTED"] {
        let found = r
            .directory
            .users(
                &UserFilter {
                    search: Some(term.into()),
                    ..UserFilter::default()
                },
                page(1, 10),
            )
            .expect("listed");
        let ids: Vec<UserId> = found.items.iter().map(|user| user.id).collect();
        assert_eq!(ids, vec![emile], "{term}");
    }
    let doctor = r
        .doctors
        .insert(
            emile,
            &doctor_details("Dr Åsa Öberg", "Ærztliche Allgemeinmedizin"),
            at(1),
        )
        .expect("doctor")
        .doctor
        .id;
    for term in ["åsa", "ÖBERG", "ærztliche"] {
        let found = r
            .directory
            .doctors(
                &DoctorSearch {
                    search: Some(term.into()),
                    ..DoctorSearch::default()
                },
                page(1, 10),
            )
            .expect("listed");
        let ids: Vec<_> = found.items.iter().map(|d| d.doctor.id).collect();
        assert_eq!(ids, vec![doctor], "{term}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The sign-in that is shown the enrolment secret.
const SIGN_IN: &str = "hash of the enrolling sign-in";

fn at(second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, second)
        .single()
        .expect("valid")
}

fn page(number: u64, size: u64) -> Page {
    Page { number, size }
}

fn event(action: AuditAction, second: u32) -> AuditEvent {
    AuditEvent {
        at: at(second),
        actor: Some(UserId(41)),
        action,
        resource_id: Some(7),
        patient_id: None,
        outcome: AuditOutcome::Success,
        origin: RequestOrigin {
            client_address: Some("10.0.0.7".into()),
            request_id: Some(format!("req-{second}")),
        },
    }
}

fn new_user(name: &str, email: &str, staff: bool) -> NewUser {
    NewUser {
        name: UserName::parse(name).expect("valid"),
        email: Email::parse(email).expect("valid"),
        password_hash: "$2b$04$hash".into(),
        is_staff: staff,
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

fn doctor_details(name: &str, specialization: &str) -> DoctorDetails {
    DoctorInput {
        name: text(name),
        specialization: text(specialization),
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

/// A secret whose bytes include zero and high bytes, so the binary round trip is exact.
fn secret(seed: u8) -> TotpSecret {
    TotpSecret::from_bytes(
        (0..20)
            .map(|i| seed.wrapping_mul(31).wrapping_add(i * 13))
            .collect(),
    )
    .expect("long enough")
}

fn hashes(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i:02}")).collect()
}

struct Repos {
    users: DieselUserRepository,
    patients: DieselPatientRepository,
    doctors: DieselDoctorRepository,
    mappings: DieselMappingRepository,
    audit: DieselAuditRepository,
    factors: DieselSecondFactorRepository,
    sessions: DieselAdminSessionRepository,
    directory: DieselStaffDirectory,
}

fn repos(pool: &DbPool) -> Repos {
    Repos {
        users: DieselUserRepository::new(pool.clone()),
        patients: DieselPatientRepository::new(pool.clone()),
        doctors: DieselDoctorRepository::new(pool.clone()),
        mappings: DieselMappingRepository::new(pool.clone()),
        audit: DieselAuditRepository::new(pool.clone()),
        factors: DieselSecondFactorRepository::new(pool.clone()),
        sessions: DieselAdminSessionRepository::new(pool.clone()),
        directory: DieselStaffDirectory::new(pool.clone()),
    }
}

impl Repos {
    fn user(&self, name: &str, email: &str, staff: bool) -> UserId {
        self.users
            .insert(&new_user(name, email, staff))
            .expect("user")
            .id
    }

    fn audit_rows(&self) -> Vec<AuditEvent> {
        self.audit
            .list(&AuditFilter::default(), page(1, 1000))
            .expect("listed")
            .items
            .into_iter()
            .map(|record| record.event)
            .collect()
    }

    /// A user with a confirmed factor (step 100) and recovery codes `code-00`….
    fn enrolled(&self, email: &str, codes: usize) -> UserId {
        let user = self.user("Staff", email, true);
        assert_eq!(
            self.factors
                .start_enrolment(user, &secret(1), SIGN_IN, at(1)),
            Ok(true)
        );
        assert_eq!(
            self.factors.confirm_enrolment(
                user,
                SIGN_IN,
                100,
                &hashes("code", codes),
                at(2),
                &event(AuditAction::UserUpdate, 2)
            ),
            Ok(true)
        );
        user
    }
}

/// A scalar from raw SQL (row counts the ports do not expose).
fn count(pool: &DbPool, sql: &str) -> i64 {
    let mut connection = checkout(pool).expect("a connection");
    diesel::select(diesel::dsl::sql::<BigInt>(&format!("({sql})")))
        .get_result(&mut *connection)
        .expect("counted")
}

/// Makes every insert into `audit_events` fail until the returned statement is run.
fn refuse_audit_inserts(pool: &DbPool) -> &'static str {
    let mut connection = checkout(pool).expect("a connection");
    let (refuse, allow) = match &*connection {
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
    connection.batch_execute(refuse).expect("trigger created");
    allow
}

fn run(pool: &DbPool, sql: &str) {
    checkout(pool)
        .expect("a connection")
        .batch_execute(sql)
        .expect("ran");
}

fn session(token: &str, user: UserId, created: Timestamp, seen: Timestamp) -> AdminSession {
    AdminSession {
        token_hash: token.into(),
        user_id: user,
        csrf_token: format!("csrf-{token}"),
        second_factor_done: false,
        created_at: created,
        last_seen_at: seen,
    }
}

// ---------------------------------------------------------------------------------------------
// Second factors

fn unknown_users_have_no_factor_and_nothing_succeeds(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    for who in [user, UserId(999)] {
        assert_eq!(r.factors.find(who), Ok(None));
        assert_eq!(r.factors.accept_step(who, 5), Ok(false));
        assert_eq!(
            r.factors.use_recovery_code(who, "code-00", at(3)),
            Ok(false)
        );
        assert_eq!(r.factors.unused_recovery_codes(who), Ok(0));
        assert_eq!(
            r.factors.confirm_enrolment(
                who,
                SIGN_IN,
                5,
                &hashes("code", 2),
                at(3),
                &event(AuditAction::UserUpdate, 3)
            ),
            Ok(false),
            "no unconfirmed factor"
        );
        assert_eq!(
            r.factors.reset(who, &event(AuditAction::UserUpdate, 4)),
            Ok(false)
        );
    }
    assert_eq!(r.audit_rows(), vec![], "nothing stored");
    assert_eq!(
        count(&db.pool, "SELECT COUNT(*) FROM staff_recovery_codes"),
        0
    );
}

fn enrolment_replaces_an_unconfirmed_factor_and_refuses_once_confirmed(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(user, &secret(1), SIGN_IN, at(1)),
        Ok(true)
    );
    assert_eq!(
        r.factors.find(user),
        Ok(Some(SecondFactor {
            user_id: user,
            secret: secret(1),
            confirmed_at: None,
            last_step: 0,
            enrolling_session: Some(SIGN_IN.into()),
        }))
    );
    // An unconfirmed factor gives no login.
    assert_eq!(r.factors.accept_step(user, 10), Ok(false));

    // Another sign-in starting again replaces the unconfirmed secret, and only the sign-in
    // that was shown the current secret may confirm it.
    assert_eq!(
        r.factors
            .start_enrolment(user, &secret(2), "another sign-in", at(2)),
        Ok(true)
    );
    let replaced = r.factors.find(user).expect("ok").expect("found");
    assert_eq!(replaced.secret, secret(2));
    assert_eq!(replaced.confirmed_at, None);
    assert_eq!(
        replaced.enrolling_session.as_deref(),
        Some("another sign-in")
    );
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            50,
            &hashes("code", 2),
            at(3),
            &event(AuditAction::UserUpdate, 3)
        ),
        Ok(false),
        "shown to another sign-in"
    );
    assert_eq!(r.audit_rows().len(), 0, "nothing stored");
    assert_eq!(
        r.factors.start_enrolment(user, &secret(2), SIGN_IN, at(2)),
        Ok(true)
    );

    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            50,
            &hashes("code", 2),
            at(3),
            &event(AuditAction::UserUpdate, 3)
        ),
        Ok(true)
    );
    // Once confirmed, enrolment is refused and nothing changes.
    assert_eq!(
        r.factors.start_enrolment(user, &secret(3), SIGN_IN, at(4)),
        Ok(false)
    );
    assert_eq!(
        r.factors.find(user),
        Ok(Some(SecondFactor {
            user_id: user,
            secret: secret(2),
            confirmed_at: Some(at(3)),
            last_step: 50,
            enrolling_session: None,
        }))
    );
    // Other users are unaffected by one user's factor.
    let other = r.user("Bob", "bob@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(other, &secret(4), SIGN_IN, at(5)),
        Ok(true)
    );
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").secret,
        secret(2)
    );
}

fn concurrent_enrolments_all_succeed_and_leave_one_factor(db: &Database) {
    let r = repos(&db.pool);
    for round in 0..4_u8 {
        let user = r.user("Ann", &format!("ann{round}@example.com"), true);
        // Two browsers starting enrolment at once: neither fails, one secret is kept.
        let winners = race(6, || {
            r.factors
                .start_enrolment(user, &secret(round), SIGN_IN, at(1))
        });
        assert_eq!(winners, 6, "round {round}");
        let factor = r.factors.find(user).expect("ok").expect("found");
        assert_eq!((factor.confirmed_at, factor.last_step), (None, 0));
    }
    assert_eq!(
        count(&db.pool, "SELECT COUNT(*) FROM staff_second_factors"),
        4
    );
}

fn confirmation_stores_codes_and_audit_once(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(user, &secret(1), SIGN_IN, at(1)),
        Ok(true)
    );
    // A stale code left from before must not survive the confirmation: the codes are replaced.
    run(
        &db.pool,
        &format!(
            "INSERT INTO staff_recovery_codes (user_id, code_hash) VALUES ({}, 'stale')",
            user.0
        ),
    );
    let audit = event(AuditAction::UserUpdate, 2);
    assert_eq!(
        r.factors
            .confirm_enrolment(user, SIGN_IN, 77, &hashes("code", 10), at(2), &audit),
        Ok(true)
    );
    let factor = r.factors.find(user).expect("ok").expect("found");
    assert_eq!((factor.confirmed_at, factor.last_step), (Some(at(2)), 77));
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(10));
    assert_eq!(r.factors.use_recovery_code(user, "stale", at(3)), Ok(false));
    assert_eq!(r.audit_rows(), vec![audit], "the event as given");
    // The confirming step is accepted: its code cannot log in again.
    assert_eq!(r.factors.accept_step(user, 77), Ok(false));

    // A second confirmation is refused and stores nothing.
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            90,
            &hashes("again", 3),
            at(4),
            &event(AuditAction::UserUpdate, 4)
        ),
        Ok(false)
    );
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(10));
    assert_eq!(
        r.factors.use_recovery_code(user, "again-00", at(5)),
        Ok(false)
    );
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").last_step,
        77
    );
    assert_eq!(r.audit_rows().len(), 1);
}

fn confirmation_is_one_transaction(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    assert_eq!(
        r.factors.start_enrolment(user, &secret(1), SIGN_IN, at(1)),
        Ok(true)
    );

    // A failing code insert (a duplicate hash) undoes the confirmation.
    let duplicate = vec!["same".to_owned(), "same".to_owned()];
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            10,
            &duplicate,
            at(2),
            &event(AuditAction::UserUpdate, 2)
        ),
        Err(RepoError::Conflict)
    );
    // A failing audit insert undoes the confirmation and the codes.
    let allow = refuse_audit_inserts(&db.pool);
    assert!(
        r.factors
            .confirm_enrolment(
                user,
                SIGN_IN,
                10,
                &hashes("code", 3),
                at(2),
                &event(AuditAction::UserUpdate, 2)
            )
            .is_err()
    );
    run(&db.pool, allow);

    let factor = r.factors.find(user).expect("ok").expect("found");
    assert_eq!((factor.confirmed_at, factor.last_step), (None, 0));
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(0));
    assert_eq!(r.audit_rows(), vec![]);
    // And it can still be confirmed.
    assert_eq!(
        r.factors.confirm_enrolment(
            user,
            SIGN_IN,
            10,
            &hashes("code", 3),
            at(3),
            &event(AuditAction::UserUpdate, 3)
        ),
        Ok(true)
    );
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(3));
}

fn accept_step_takes_only_later_steps_of_a_confirmed_factor(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 1);
    assert_eq!(r.factors.accept_step(user, 99), Ok(false), "earlier");
    assert_eq!(r.factors.accept_step(user, 100), Ok(false), "equal");
    assert_eq!(r.factors.accept_step(user, 101), Ok(true));
    assert_eq!(r.factors.accept_step(user, 101), Ok(false), "replayed");
    assert_eq!(r.factors.accept_step(user, 100), Ok(false), "earlier again");
    assert_eq!(
        r.factors.accept_step(user, 103),
        Ok(true),
        "steps may be skipped"
    );
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").last_step,
        103
    );
    // Another user's steps are their own.
    let other = r.enrolled("bob@example.com", 1);
    assert_eq!(r.factors.accept_step(other, 101), Ok(true));
}

/// Runs `attempt` on `threads` threads released together, returning how many succeeded.
fn race(threads: usize, attempt: impl Fn() -> Result<bool, RepoError> + Sync) -> usize {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    attempt().expect("no error")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("thread"))
            .filter(|won| *won)
            .count()
    })
}

fn concurrent_acceptances_of_one_step_have_one_winner(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 1);
    for step in 101..106 {
        let winners = race(6, || r.factors.accept_step(user, step));
        assert_eq!(winners, 1, "step {step}");
    }
    assert_eq!(
        r.factors.find(user).expect("ok").expect("found").last_step,
        105
    );
}

fn recovery_codes_are_single_use_even_concurrently(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 5);
    let other = r.enrolled("bob@example.com", 5);
    assert_eq!(
        r.factors.use_recovery_code(user, "code-00", at(5)),
        Ok(true)
    );
    assert_eq!(
        r.factors.use_recovery_code(user, "code-00", at(6)),
        Ok(false),
        "used"
    );
    assert_eq!(
        r.factors.use_recovery_code(user, "nope", at(6)),
        Ok(false),
        "unknown"
    );
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(4));
    // The same hash of another user is theirs alone.
    assert_eq!(r.factors.unused_recovery_codes(other), Ok(5));
    assert_eq!(
        r.factors.use_recovery_code(other, "code-00", at(6)),
        Ok(true)
    );

    for code in ["code-01", "code-02"] {
        let winners = race(6, || r.factors.use_recovery_code(user, code, at(7)));
        assert_eq!(winners, 1, "{code}");
    }
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(2));
}

fn reset_removes_factor_codes_and_only_the_users_sessions(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 3);
    let other = r.enrolled("bob@example.com", 3);
    assert_eq!(
        r.factors.use_recovery_code(user, "code-00", at(3)),
        Ok(true)
    );
    for (token, who) in [("a1", user), ("a2", user), ("b1", other)] {
        r.sessions
            .insert(&session(token, who, at(3), at(3)))
            .expect("inserted");
    }
    let audit = event(AuditAction::UserUpdate, 9);
    assert_eq!(r.factors.reset(user, &audit), Ok(true));

    assert_eq!(r.factors.find(user), Ok(None));
    assert_eq!(
        count(
            &db.pool,
            &format!(
                "SELECT COUNT(*) FROM staff_recovery_codes WHERE user_id = {}",
                user.0
            )
        ),
        0,
        "used codes too"
    );
    assert_eq!(r.sessions.find("a1"), Ok(None));
    assert_eq!(r.sessions.find("a2"), Ok(None));
    assert!(
        r.sessions.find("b1").expect("ok").is_some(),
        "other users keep theirs"
    );
    assert!(r.factors.find(other).expect("ok").is_some());
    assert_eq!(r.factors.unused_recovery_codes(other), Ok(3));
    let rows = r.audit_rows();
    assert_eq!(rows.len(), 3, "two confirmations and the reset");
    assert!(rows.contains(&audit));

    // Nothing left to reset: false, and no row.
    assert_eq!(
        r.factors.reset(user, &event(AuditAction::UserUpdate, 10)),
        Ok(false)
    );
    assert_eq!(r.audit_rows().len(), 3);
    // The user may enrol afresh.
    assert_eq!(
        r.factors.start_enrolment(user, &secret(5), SIGN_IN, at(11)),
        Ok(true)
    );
}

fn reset_is_one_transaction(db: &Database) {
    let r = repos(&db.pool);
    let user = r.enrolled("ann@example.com", 3);
    r.sessions
        .insert(&session("a1", user, at(3), at(3)))
        .expect("inserted");
    let allow = refuse_audit_inserts(&db.pool);
    assert!(
        r.factors
            .reset(user, &event(AuditAction::UserUpdate, 9))
            .is_err()
    );
    run(&db.pool, allow);
    assert!(r.factors.find(user).expect("ok").is_some());
    assert_eq!(r.factors.unused_recovery_codes(user), Ok(3));
    assert!(r.sessions.find("a1").expect("ok").is_some());
    assert_eq!(r.audit_rows().len(), 1, "only the confirmation");
}

// ---------------------------------------------------------------------------------------------
// Sessions

fn sessions_insert_find_touch_and_delete(db: &Database) {
    let r = repos(&db.pool);
    let user = r.user("Ann", "ann@example.com", true);
    let precise = at(1) + chrono::Duration::microseconds(123_456);
    let stored = AdminSession {
        second_factor_done: true,
        ..session("hash-1", user, precise, precise)
    };
    r.sessions.insert(&stored).expect("inserted");
    assert_eq!(r.sessions.find("hash-1"), Ok(Some(stored.clone())));
    assert_eq!(r.sessions.find("unknown"), Ok(None));
    assert_eq!(
        r.sessions.insert(&session("hash-1", user, at(2), at(2))),
        Err(RepoError::Conflict),
        "a token hash is unique"
    );

    let later = at(30) + chrono::Duration::microseconds(7);
    r.sessions.touch("hash-1", later).expect("touched");
    assert_eq!(
        r.sessions.find("hash-1"),
        Ok(Some(AdminSession {
            last_seen_at: later,
            ..stored.clone()
        }))
    );
    r.sessions.touch("unknown", later).expect("harmless");

    r.sessions.delete("hash-1").expect("deleted");
    assert_eq!(r.sessions.find("hash-1"), Ok(None));
    r.sessions.delete("hash-1").expect("harmless");
    r.sessions.delete("unknown").expect("harmless");
}

fn sessions_end_per_user_and_when_idle(db: &Database) {
    let r = repos(&db.pool);
    let ann = r.user("Ann", "ann@example.com", true);
    let bob = r.user("Bob", "bob@example.com", true);
    for (token, who, seen) in [
        ("a1", ann, at(10)),
        ("a2", ann, at(20)),
        ("b1", bob, at(10)),
        ("b2", bob, at(20)),
        ("b3", bob, at(30)),
    ] {
        r.sessions
            .insert(&session(token, who, at(0), seen))
            .expect("inserted");
    }
    r.sessions.delete_for_user(ann).expect("deleted");
    assert_eq!(r.sessions.find("a1"), Ok(None));
    assert_eq!(r.sessions.find("a2"), Ok(None));
    assert!(r.sessions.find("b1").expect("ok").is_some());
    r.sessions.delete_for_user(UserId(999)).expect("harmless");

    // Strictly before: the session last seen at the cut-off stays.
    assert_eq!(r.sessions.delete_idle(at(20)), Ok(1));
    assert_eq!(r.sessions.find("b1"), Ok(None));
    assert!(r.sessions.find("b2").expect("ok").is_some());
    assert_eq!(r.sessions.delete_idle(at(20)), Ok(0));
    assert_eq!(r.sessions.delete_idle(at(59)), Ok(2));
    assert_eq!(r.sessions.find("b3"), Ok(None));
}

// ---------------------------------------------------------------------------------------------
// The directory

fn user_directory_filters_orders_and_pages(db: &Database) {
    let r = repos(&db.pool);
    let ann = r.user("Ann Lee", "ann@example.com", true);
    let pct = r.user("Bob 100% Real", "bob@example.com", false);
    let trap = r.user("Bob 1000 Real", "bob2@example.com", false);
    let under = r.user("Carl", "carl_x@example.com", true);
    let anna = r.user("ANNA Smith", "smith@example.com", false);
    let annex = r.user("Dan", "Dan@Annex.org", false);
    r.users
        .set_active(under, false, &event(AuditAction::UserUpdate, 1))
        .expect("deactivated");

    let ids = |filter: UserFilter| {
        let found = r.directory.users(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found.items.iter().map(|u| u.id).collect::<Vec<_>>()
    };
    let search = |term: &str| {
        ids(UserFilter {
            search: Some(term.into()),
            ..UserFilter::default()
        })
    };
    assert_eq!(
        ids(UserFilter::default()),
        vec![ann, pct, trap, under, anna, annex]
    );
    assert_eq!(
        search("aNn"),
        vec![ann, anna, annex],
        "name or e-mail, any case"
    );
    assert_eq!(search("100%"), vec![pct], "% is literal");
    assert_eq!(search("%"), vec![pct]);
    assert_eq!(search("_"), vec![under], "_ is literal");
    assert_eq!(search("L_X"), vec![under]);
    assert_eq!(search("nobody"), Vec::<UserId>::new());
    assert_eq!(
        ids(UserFilter {
            active: Some(false),
            ..UserFilter::default()
        }),
        vec![under]
    );
    assert_eq!(
        ids(UserFilter {
            staff: Some(true),
            ..UserFilter::default()
        }),
        vec![ann, under]
    );
    assert_eq!(
        ids(UserFilter {
            search: Some("a".into()),
            active: Some(true),
            staff: Some(false),
        }),
        vec![pct, trap, anna, annex],
        "every filter given must match"
    );

    let second = r
        .directory
        .users(&UserFilter::default(), page(2, 4))
        .expect("listed");
    assert_eq!(second.total, 6);
    assert_eq!(
        second.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![anna, annex]
    );
    let found = &second.items[1];
    assert_eq!(
        (found.name.as_str(), found.email.as_str()),
        ("Dan", "Dan@Annex.org")
    );
    assert!(
        r.directory
            .users(&UserFilter::default(), page(3, 4))
            .expect("listed")
            .items
            .is_empty()
    );
}

fn patient_directory_shows_every_owner_and_archived_ones(db: &Database) {
    let r = repos(&db.pool);
    let a = r.user("A", "a@example.com", false);
    let b = r.user("B", "b@example.com", false);
    let insert = |owner, name: &str, second| {
        r.patients
            .insert(
                owner,
                &patient_details(name),
                at(second),
                &event(AuditAction::PatientCreate, second),
            )
            .expect("patient")
            .id
    };
    let ann = insert(a, "Ann Lee", 1);
    let pct = insert(a, "Bob 100% Real", 2);
    let marie = insert(b, "ann_marie", 3);
    let tie = insert(b, "Bob 1000 Real", 3);
    let zed = insert(a, "Zed", 5);
    assert_eq!(
        r.patients
            .archive(zed, at(6), &event(AuditAction::PatientDelete, 6)),
        Ok(true)
    );

    let ids = |filter: PatientFilter| {
        let found = r.directory.patients(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found.items.iter().map(|p| p.id).collect::<Vec<_>>()
    };
    let search = |term: &str| {
        ids(PatientFilter {
            search: Some(term.into()),
            ..PatientFilter::default()
        })
    };
    assert_eq!(
        ids(PatientFilter::default()),
        vec![zed, tie, marie, pct, ann],
        "newest first, ties by id newest first, archived included"
    );
    assert_eq!(search("ANN"), vec![marie, ann]);
    assert_eq!(search("%"), vec![pct], "% is literal");
    assert_eq!(search("_"), vec![marie], "_ is literal");
    assert_eq!(
        ids(PatientFilter {
            owner: Some(a),
            ..PatientFilter::default()
        }),
        vec![zed, pct, ann]
    );
    assert_eq!(
        ids(PatientFilter {
            archived: Some(true),
            ..PatientFilter::default()
        }),
        vec![zed]
    );
    assert_eq!(
        ids(PatientFilter {
            archived: Some(false),
            ..PatientFilter::default()
        }),
        vec![tie, marie, pct, ann]
    );
    assert_eq!(
        ids(PatientFilter {
            search: Some("bob".into()),
            owner: Some(b),
            archived: Some(false),
        }),
        vec![tie]
    );
    let second = r
        .directory
        .patients(&PatientFilter::default(), page(2, 2))
        .expect("listed");
    assert_eq!(second.total, 5);
    assert_eq!(
        second.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![marie, pct]
    );
    let archived = r
        .directory
        .patients(
            &PatientFilter {
                archived: Some(true),
                ..PatientFilter::default()
            },
            page(1, 1),
        )
        .expect("listed");
    assert_eq!(archived.items[0].archived_at, Some(at(6)));
    assert_eq!(archived.items[0].owner, a);
}

fn doctor_directory_filters_orders_and_counts(db: &Database) {
    let r = repos(&db.pool);
    let owner = r.user("A", "a@example.com", false);
    let doctor = |name: &str, specialization: &str| {
        r.doctors
            .insert(owner, &doctor_details(name, specialization), at(1))
            .expect("doctor")
            .doctor
            .id
    };
    let zed = doctor("Zed", "Pediatric Surgery");
    let amy = doctor("Amy", "surgery_general");
    let bob_old = doctor("Bob", "Dermatology");
    let bob = doctor("Bob", "Cardiology");
    let pct = doctor("Carl 100%", "Oncology");
    let trap = doctor("Carl 1000", "Oncology");
    // Zed: two active patients and one archived one (not counted).
    for (name, archive) in [("P1", false), ("P2", false), ("P3", true)] {
        let patient = r
            .patients
            .insert(
                owner,
                &patient_details(name),
                at(2),
                &event(AuditAction::PatientCreate, 2),
            )
            .expect("patient");
        r.mappings
            .insert(
                patient.id,
                zed,
                owner,
                "",
                at(3),
                &event(AuditAction::MappingCreate, 3),
            )
            .expect("mapping")
            .expect("both accept assignments");
        if archive {
            r.patients
                .archive(patient.id, at(4), &event(AuditAction::PatientDelete, 4))
                .expect("archived");
        }
    }
    assert_eq!(
        r.doctors
            .archive(bob_old, at(5), &event(AuditAction::MappingRemove, 5)),
        Ok(true)
    );

    let listed = |filter: DoctorSearch| {
        let found = r.directory.doctors(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found
            .items
            .iter()
            .map(|d| (d.doctor.id, d.patient_count))
            .collect::<Vec<_>>()
    };
    let ids = |filter: DoctorSearch| {
        listed(filter)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
    };
    let search = |term: &str| {
        ids(DoctorSearch {
            search: Some(term.into()),
            ..DoctorSearch::default()
        })
    };
    // By name, then id; archived included. (Names here all start upper-case: the databases'
    // collations order upper and lower case differently.)
    assert_eq!(
        listed(DoctorSearch::default()),
        vec![
            (amy, 0),
            (bob_old, 0),
            (bob, 0),
            (pct, 0),
            (trap, 0),
            (zed, 2)
        ]
    );
    assert_eq!(search("SURG"), vec![amy, zed], "specialization, any case");
    assert_eq!(search("bO"), vec![bob_old, bob], "name, any case");
    assert_eq!(search("AMY"), vec![amy]);
    assert_eq!(search("_"), vec![amy], "_ is literal");
    assert_eq!(search("100%"), vec![pct], "% is literal");
    assert_eq!(
        ids(DoctorSearch {
            archived: Some(true),
            ..DoctorSearch::default()
        }),
        vec![bob_old]
    );
    assert_eq!(
        ids(DoctorSearch {
            search: Some("b".into()),
            archived: Some(false),
        }),
        vec![bob]
    );
    let second = r
        .directory
        .doctors(&DoctorSearch::default(), page(2, 4))
        .expect("listed");
    assert_eq!(second.total, 6);
    assert_eq!(
        second.items.iter().map(|d| d.doctor.id).collect::<Vec<_>>(),
        vec![trap, zed]
    );
    assert_eq!(
        second.items[1].doctor.details.specialization.as_str(),
        "Pediatric Surgery"
    );
    assert_eq!(second.items[1].patient_count, 2);
}

fn mapping_directory_shows_every_owner_active_or_not(db: &Database) {
    let r = repos(&db.pool);
    let a = r.user("A", "a@example.com", false);
    let b = r.user("B", "b@example.com", false);
    let p1 = r
        .patients
        .insert(
            a,
            &patient_details("Pat One"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient")
        .id;
    let p2 = r
        .patients
        .insert(
            b,
            &patient_details("Pat Two"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient")
        .id;
    let d1 = r
        .doctors
        .insert(a, &doctor_details("Dr One", "Cardiology"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let d2 = r
        .doctors
        .insert(b, &doctor_details("Dr Two", "Oncology"), at(1))
        .expect("doctor")
        .doctor
        .id;
    let map = |patient: PatientId, doctor: DoctorId, owner, second| {
        r.mappings
            .insert(
                patient,
                doctor,
                owner,
                "n",
                at(second),
                &event(AuditAction::MappingCreate, second),
            )
            .expect("mapping")
            .expect("both accept assignments")
            .mapping
            .id
    };
    let m1 = map(p1, d1, a, 1);
    let m2 = map(p2, d1, b, 2);
    let m3 = map(p1, d2, a, 3);
    let m4 = map(p2, d2, b, 3);
    assert_eq!(
        r.mappings
            .deactivate(m3, at(4), &event(AuditAction::MappingRemove, 4)),
        Ok(true)
    );

    let ids = |filter: MappingSearch| {
        let found = r.directory.mappings(&filter, page(1, 100)).expect("listed");
        assert_eq!(found.total as usize, found.items.len());
        found
            .items
            .iter()
            .map(|m| m.mapping.id)
            .collect::<Vec<MappingId>>()
    };
    assert_eq!(
        ids(MappingSearch::default()),
        vec![m4, m3, m2, m1],
        "newest first, ties by id; every owner, ended ones included"
    );
    assert_eq!(
        ids(MappingSearch {
            active: Some(true),
            ..MappingSearch::default()
        }),
        vec![m4, m2, m1]
    );
    assert_eq!(
        ids(MappingSearch {
            active: Some(false),
            ..MappingSearch::default()
        }),
        vec![m3]
    );
    assert_eq!(
        ids(MappingSearch {
            patient: Some(p1),
            ..MappingSearch::default()
        }),
        vec![m3, m1]
    );
    assert_eq!(
        ids(MappingSearch {
            doctor: Some(d2),
            ..MappingSearch::default()
        }),
        vec![m4, m3]
    );
    assert_eq!(
        ids(MappingSearch {
            patient: Some(p2),
            doctor: Some(d1),
            active: Some(true),
        }),
        vec![m2]
    );
    assert_eq!(
        ids(MappingSearch {
            patient: Some(p1),
            active: Some(true),
            doctor: Some(d2),
        }),
        Vec::<MappingId>::new()
    );

    let second = r
        .directory
        .mappings(&MappingSearch::default(), page(2, 3))
        .expect("listed");
    assert_eq!(second.total, 4);
    assert_eq!(second.items.len(), 1);
    let view = &second.items[0];
    assert_eq!(view.mapping.id, m1);
    assert_eq!(
        (
            view.patient_name.as_str(),
            view.doctor_name.as_str(),
            view.doctor_specialization.as_str()
        ),
        ("Pat One", "Dr One", "Cardiology")
    );
    let ended = r
        .directory
        .mappings(
            &MappingSearch {
                active: Some(false),
                ..MappingSearch::default()
            },
            page(1, 10),
        )
        .expect("listed");
    assert!(!ended.items[0].mapping.is_active);
    assert_eq!(ended.items[0].doctor_name, "Dr Two");
}

fn directory_lists_cost_two_statements_whatever_the_page_size(db: &Database) {
    let r = repos(&db.pool);
    let owner = r.user("A", "a@example.com", false);
    for i in 0..5 {
        let patient = r
            .patients
            .insert(
                owner,
                &patient_details(&format!("P{i}")),
                at(i),
                &event(AuditAction::PatientCreate, i),
            )
            .expect("patient")
            .id;
        let doctor = r
            .doctors
            .insert(owner, &doctor_details(&format!("D{i}"), "Oncology"), at(i))
            .expect("doctor")
            .doctor
            .id;
        r.mappings
            .insert(
                patient,
                doctor,
                owner,
                "",
                at(i),
                &event(AuditAction::MappingCreate, i),
            )
            .expect("mapping")
            .expect("both accept assignments");
        r.user(&format!("U{i}"), &format!("u{i}@example.com"), false);
    }
    let cost = |list: &dyn Fn(Page) -> usize, size: u64| {
        let before = db.statements.count();
        let items = list(page(1, size));
        let spent = db.statements.count() - before;
        assert_eq!(items as u64, size.min(5));
        spent
    };
    let users = |p: Page| {
        r.directory
            .users(
                &UserFilter {
                    search: Some("u".into()),
                    ..UserFilter::default()
                },
                p,
            )
            .expect("listed")
            .items
            .len()
    };
    let patients = |p: Page| {
        r.directory
            .patients(&PatientFilter::default(), p)
            .expect("listed")
            .items
            .len()
    };
    let doctors = |p: Page| {
        r.directory
            .doctors(&DoctorSearch::default(), p)
            .expect("listed")
            .items
            .len()
    };
    let mappings = |p: Page| {
        r.directory
            .mappings(&MappingSearch::default(), p)
            .expect("listed")
            .items
            .len()
    };
    let lists: [(&str, &dyn Fn(Page) -> usize); 4] = [
        ("users", &users),
        ("patients", &patients),
        ("doctors", &doctors),
        ("mappings", &mappings),
    ];
    for (name, list) in lists {
        cost(list, 1); // warms the pool: opening a connection costs set-up statements
        let small = cost(list, 1);
        let large = cost(list, 100);
        assert_eq!(small, large, "{name}: page size 1 and 100 cost the same");
        // Two queries, plus the pool's check of the connection when it is checked out.
        assert!(small <= 3, "{name} ran {small} statements");
    }
}

fn restore_doctor_unarchives_once_and_leaves_mappings_inactive(db: &Database) {
    let r = repos(&db.pool);
    let owner = r.user("A", "a@example.com", false);
    let doctor = r
        .doctors
        .insert(owner, &doctor_details("Dr One", "Oncology"), at(1))
        .expect("doctor")
        .doctor;
    let patient = r
        .patients
        .insert(
            owner,
            &patient_details("Pat"),
            at(1),
            &event(AuditAction::PatientCreate, 1),
        )
        .expect("patient")
        .id;
    let mapping = r
        .mappings
        .insert(
            patient,
            doctor.id,
            owner,
            "",
            at(2),
            &event(AuditAction::MappingCreate, 2),
        )
        .expect("mapping")
        .expect("both accept assignments")
        .mapping
        .id;

    assert_eq!(
        r.directory.restore_doctor(DoctorId(999), at(3)),
        Ok(false),
        "unknown"
    );
    assert_eq!(
        r.directory.restore_doctor(doctor.id, at(3)),
        Ok(false),
        "not archived"
    );
    assert_eq!(
        r.doctors
            .find(doctor.id)
            .expect("ok")
            .expect("found")
            .doctor
            .version,
        1
    );

    assert_eq!(
        r.doctors
            .archive(doctor.id, at(4), &event(AuditAction::MappingRemove, 4)),
        Ok(true)
    );
    assert_eq!(
        r.doctors
            .find(doctor.id)
            .expect("ok")
            .expect("found")
            .doctor
            .version,
        2
    );
    assert_eq!(r.directory.restore_doctor(doctor.id, at(5)), Ok(true));
    let restored = r.doctors.find(doctor.id).expect("ok").expect("found");
    assert_eq!(restored.doctor.archived_at, None);
    assert_eq!(restored.doctor.updated_at, at(5));
    assert_eq!(restored.doctor.version, 3);
    assert_eq!(restored.patient_count, 0, "its mappings stay inactive");
    assert!(
        !r.mappings
            .find(mapping)
            .expect("ok")
            .expect("found")
            .is_active
    );
    assert_eq!(
        r.doctors
            .list(&DoctorFilter::default(), page(1, 10))
            .expect("listed")
            .items
            .iter()
            .map(|d| d.doctor.id)
            .collect::<Vec<_>>(),
        vec![doctor.id],
        "listed again"
    );
    assert_eq!(
        r.directory.restore_doctor(doctor.id, at(6)),
        Ok(false),
        "once"
    );
}
