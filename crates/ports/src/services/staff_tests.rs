//! Tests of the staff admin site's services with mock ports: signing in with a password and a
//! second factor, sessions, and what staff do to records and accounts (each patient access
//! audited with the staff user as actor).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Duration;
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, ChainKey};
use healthcare_domain::doctor::DoctorId;
use healthcare_domain::fields::NULL_CHARACTER;
use healthcare_domain::fields::Submitted;
use healthcare_domain::mapping::{Mapping, MappingId};
use healthcare_domain::patient::{PatientId, PatientInput};
use healthcare_domain::staff::{SessionPolicy, TotpSecret, hash_recovery_code, session_token_hash};
use healthcare_domain::throttle::{AddressRateLimit, LoginThrottle};
use healthcare_domain::{FieldErrors, User, UserId};
use mockall::predicate::{always, eq};

use super::staff_records::{NOT_ON_YOURSELF, StaffRecords, StaffRecordsPorts};
use super::staff_sign_in::{
    IssuedSession, PendingSignIn, SecondFactorStep, StaffCaller, StaffSignIn, StaffSignInPorts,
    WRONG_CODE,
};
use super::tests::{
    FixedClock, RecordingTrail, at, doctor, mapping, origin, page, patient, text, view,
};
use super::{AuditService, AuthPorts, AuthService, PatientService, Throttling};
use crate::pagination::PageOf;
use crate::ports::{
    AdminSession, AuditFilter, MappingView, MockAdminSessionRepository, MockAuditRepository,
    MockDoctorRepository, MockMappingRepository, MockPasswordHasher, MockPatientRepository,
    MockRandomSource, MockRefreshTokenRepository, MockSecondFactorRepository, MockStaffDirectory,
    MockThrottleRepository, MockTokenCodec, MockUserRepository, PatientFilter, SecondFactor,
    UserCredentials,
};
use crate::{RepoError, Resource, ServiceError};

/// The staff user signing in or acting.
const STAFF: UserId = UserId(1);
/// Another user, acted upon.
const OTHER: UserId = UserId(7);
/// Owner of the test patient.
const OWNER: UserId = UserId(7);

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse";
/// The token of the session under test, and the CSRF token stored with it.
const TOKEN: &str = "session-token";
const CSRF: &str = "csrf-token";
/// A strong password, accepted by the policy.
const GOOD_PASSWORD: &str = "tangerine-lorry-57";

fn user(id: UserId, active: bool, staff: bool) -> User {
    User {
        id,
        name: "Ann Lee".into(),
        email: EMAIL.into(),
        is_active: active,
        is_staff: staff,
        created_at: at(),
        tokens_valid_after: None,
    }
}

fn credentials(active: bool, staff: bool) -> UserCredentials {
    UserCredentials {
        user: user(STAFF, active, staff),
        password_hash: "$2b$04$hash".into(),
    }
}

fn secret() -> TotpSecret {
    TotpSecret::from_bytes(vec![7; 20]).expect("long enough")
}

/// The TOTP step of `at()`.
fn step() -> i64 {
    at().timestamp() / 30
}

fn factor(confirmed: bool) -> SecondFactor {
    SecondFactor {
        user_id: STAFF,
        secret: secret(),
        confirmed_at: confirmed.then(at),
        last_step: 0,
        // An enrolment in progress was shown to the pending sign-in of these tests.
        enrolling_session: (!confirmed).then(|| session_token_hash(TOKEN)),
    }
}

/// The stored session of `TOKEN`, last used `idle_minutes` before `at()`.
fn stored_session(second_factor_done: bool, idle_minutes: i64) -> AdminSession {
    AdminSession {
        token_hash: session_token_hash(TOKEN),
        user_id: STAFF,
        csrf_token: CSRF.into(),
        second_factor_done,
        created_at: at() - Duration::minutes(idle_minutes),
        last_seen_at: at() - Duration::minutes(idle_minutes),
    }
}

fn pending() -> PendingSignIn {
    PendingSignIn {
        user: user(STAFF, true, true),
        session: stored_session(false, 1),
    }
}

/// The row expected for `action` by `actor` about `resource`, from `origin()` at `at()`.
fn row(
    action: AuditAction,
    actor: Option<UserId>,
    resource: Option<i64>,
    patient_id: Option<PatientId>,
    outcome: AuditOutcome,
) -> AuditEvent {
    AuditEvent {
        at: at(),
        actor,
        action,
        resource_id: resource,
        patient_id,
        outcome,
        origin: origin(),
    }
}

/// A sign-in row about the staff user.
fn admin_login(actor: Option<UserId>, outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::AdminLogin,
        actor,
        actor.map(|user| user.0),
        None,
        outcome,
    )
}

/// A change of `OTHER`'s account by the staff user.
fn user_update(outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::UserUpdate,
        Some(STAFF),
        Some(OTHER.0),
        None,
        outcome,
    )
}

/// Counters with no recent failures that accept every record.
fn quiet_counters() -> MockThrottleRepository {
    let mut counters = MockThrottleRepository::new();
    counters
        .expect_login_failures_since()
        .returning(|_, _| Ok((0, None)));
    counters
        .expect_record_login_failure()
        .returning(|_, _, _| Ok(()));
    counters.expect_clear_login_failures().returning(|_| Ok(()));
    counters
}

/// Random bytes that differ on every call: the n-th call fills the buffer with n.
fn counting_random() -> MockRandomSource {
    let mut random = MockRandomSource::new();
    let calls = AtomicU8::new(0);
    random.expect_fill().returning(move |buffer| {
        let n = calls.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        buffer.fill(n);
        Ok(())
    });
    random
}

/// Keeps what a mock was given, for the test to inspect afterwards.
#[derive(Debug)]
struct Captured<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Captured<T> {
    fn new() -> Self {
        Self(Arc::default())
    }

    fn sink(&self) -> impl Fn(T) + use<T> {
        let kept = self.0.clone();
        move |value| {
            kept.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(value);
        }
    }

    fn all(&self) -> Vec<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The one value kept; panics unless there is exactly one.
    #[track_caller]
    fn one(&self) -> T {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one call");
        all[0].clone()
    }
}

/// Every port of both services, as mocks to set expectations on.
struct Ports {
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    throttle: MockThrottleRepository,
    factors: MockSecondFactorRepository,
    sessions: MockAdminSessionRepository,
    random: MockRandomSource,
    refresh_tokens: MockRefreshTokenRepository,
    directory: MockStaffDirectory,
    patients: MockPatientRepository,
    doctors: MockDoctorRepository,
    mappings: MockMappingRepository,
    audit: MockAuditRepository,
    trail: Arc<RecordingTrail>,
}

/// The services built on one set of ports.
struct Services {
    auth: AuthService,
    sign_in: StaffSignIn,
    records: StaffRecords,
    trail: Arc<RecordingTrail>,
}

impl Ports {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            hasher: MockPasswordHasher::new(),
            throttle: quiet_counters(),
            factors: MockSecondFactorRepository::new(),
            sessions: MockAdminSessionRepository::new(),
            random: counting_random(),
            refresh_tokens: MockRefreshTokenRepository::new(),
            directory: MockStaffDirectory::new(),
            patients: MockPatientRepository::new(),
            doctors: MockDoctorRepository::new(),
            mappings: MockMappingRepository::new(),
            audit: MockAuditRepository::new(),
            trail: RecordingTrail::shared(),
        }
    }

    fn build(self) -> Services {
        let clock = Arc::new(FixedClock);
        let users = Arc::new(self.users);
        let hasher = Arc::new(self.hasher);
        let factors = Arc::new(self.factors);
        let patients = Arc::new(self.patients);
        let trail = self.trail;
        let throttling = Throttling::new(
            Arc::new(self.throttle),
            clock.clone(),
            LoginThrottle {
                max_failures: 5,
                max_failures_per_email: 50,
                window: Duration::minutes(15),
            },
            AddressRateLimit { per_minute: 0 },
        );
        let sessions = Arc::new(self.sessions);
        let auth = AuthService::new(
            AuthPorts {
                users: users.clone(),
                refresh_tokens: Arc::new(self.refresh_tokens),
                admin_sessions: sessions.clone(),
                factors: factors.clone(),
                hasher: hasher.clone(),
                tokens: Arc::new(MockTokenCodec::new()),
                trail: trail.clone(),
                clock: clock.clone(),
            },
            throttling.clone(),
        );
        let sign_in = StaffSignIn::new(
            StaffSignInPorts {
                users: users.clone(),
                hasher,
                throttling,
                factors: factors.clone(),
                sessions,
                random: Arc::new(self.random),
                trail: trail.clone(),
                clock: clock.clone(),
            },
            SessionPolicy::default(),
        );
        let records = StaffRecords::new(
            StaffRecordsPorts {
                directory: Arc::new(self.directory),
                users,
                patients: patients.clone(),
                doctors: Arc::new(self.doctors),
                mappings: Arc::new(self.mappings),
                factors,
                trail: trail.clone(),
                clock: clock.clone(),
            },
            auth.clone(),
            sign_in.clone(),
            PatientService::new(patients, trail.clone(), clock.clone()),
            AuditService::new(Arc::new(self.audit), trail.clone(), clock),
            ChainKey::new([7_u8; 32]),
        );
        Services {
            auth,
            sign_in,
            records,
            trail,
        }
    }

    fn sign_in(self) -> (StaffSignIn, Arc<RecordingTrail>) {
        let built = self.build();
        (built.sign_in, built.trail)
    }

    fn records(self) -> (StaffRecords, Arc<RecordingTrail>) {
        let built = self.build();
        (built.records, built.trail)
    }

    /// Stores every inserted session in the returned list.
    fn capture_sessions(&mut self) -> Captured<AdminSession> {
        let captured = Captured::new();
        let sink = captured.sink();
        self.sessions.expect_insert().returning(move |session| {
            sink(session.clone());
            Ok(())
        });
        captured
    }

    /// `TOKEN`'s session is `session`, and its user is `found`.
    fn with_session(&mut self, session: Option<AdminSession>, found: Option<User>) {
        self.sessions
            .expect_find()
            .with(eq(session_token_hash(TOKEN)))
            .return_const(Ok(session));
        self.users.expect_find_by_id().return_const(Ok(found));
    }
}

/// The signed-in staff user acting through the admin site.
fn staff() -> StaffCaller {
    StaffCaller::for_tests(user(STAFF, true, true), origin())
}

// ---- sign-in, step one: the password

#[test]
fn a_wrong_password_an_unknown_email_and_an_inactive_user_fail_alike() {
    for (found, right_password) in [
        (Some(credentials(true, true)), false),
        (None, true),
        (Some(credentials(false, true)), true),
    ] {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .with(eq(EMAIL))
            .times(1)
            .return_const(Ok(found.clone()));
        ports.hasher.expect_verify().return_const(right_password);
        ports
            .hasher
            .expect_verify_dummy()
            .times(usize::from(found.is_none()))
            .return_const(());
        ports.sessions.expect_insert().never();
        let (service, trail) = ports.sign_in();
        assert_eq!(
            service.sign_in(" Ann@Example.com ", PASSWORD, &origin()),
            Err(ServiceError::InvalidCredentials),
            "{found:?}"
        );
        assert_eq!(trail.take_one(), admin_login(None, AuditOutcome::Failure));
    }
}

#[test]
fn a_failed_password_is_counted_and_not_forgiven() {
    let mut ports = Ports::new();
    ports.throttle = MockThrottleRepository::new();
    for key in [EMAIL, &format!("Attempts on {EMAIL} from 203.0.113.9")] {
        ports
            .throttle
            .expect_record_login_failure()
            .with(eq(key.to_owned()), eq(at()), always())
            .times(1)
            .returning(|_, _, _| Ok(()));
    }
    ports
        .throttle
        .expect_login_failures_since()
        .returning(|_, _| Ok((1, Some(at()))));
    ports.throttle.expect_clear_login_failures().never();
    ports
        .users
        .expect_find_credentials_by_email()
        .return_const(Ok(Some(credentials(true, true))));
    ports.hasher.expect_verify().return_const(false);
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.sign_in(EMAIL, "wrong", &origin()),
        Err(ServiceError::InvalidCredentials)
    );
}

#[test]
fn an_active_non_staff_user_with_the_right_password_is_forbidden() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .return_const(Ok(Some(credentials(true, false))));
    ports.hasher.expect_verify().return_const(true);
    ports.sessions.expect_insert().never();
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.sign_in(EMAIL, PASSWORD, &origin()),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Denied)
    );
}

#[test]
fn a_throttled_email_is_refused_before_any_password_check() {
    let mut ports = Ports::new();
    ports.throttle = MockThrottleRepository::new();
    // Refused while locked: not counted, so the lock does not extend itself.
    ports.throttle.expect_record_login_failure().never();
    ports
        .throttle
        .expect_login_failures_since()
        .returning(|_, _| Ok((5, Some(at()))));
    ports.throttle.expect_clear_login_failures().never();
    ports
        .users
        .expect_find_credentials_by_email()
        .return_const(Ok(Some(credentials(true, true))));
    ports.hasher.expect_verify().never();
    ports.hasher.expect_verify_dummy().never();
    ports.sessions.expect_insert().never();
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.sign_in(EMAIL, PASSWORD, &origin()),
        Err(ServiceError::Throttled(15 * 60))
    );
    assert_eq!(trail.take_one(), admin_login(None, AuditOutcome::Denied));
}

#[test]
fn the_right_password_begins_a_session_waiting_for_the_second_factor() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_credentials_by_email()
        .with(eq(EMAIL))
        .return_const(Ok(Some(credentials(true, true))));
    ports
        .hasher
        .expect_verify()
        .with(eq(PASSWORD), eq("$2b$04$hash"))
        .return_const(true);
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let issued = service
        .sign_in(EMAIL, PASSWORD, &origin())
        .expect("signed in");
    let session = stored.one();
    assert_eq!(issued.session, session);
    assert_eq!(session_token_hash(&issued.token), session.token_hash);
    assert_ne!(issued.token, session.csrf_token);
    assert!(!issued.token.is_empty() && !session.csrf_token.is_empty());
    assert!(!session.second_factor_done);
    assert_eq!(session.user_id, STAFF);
    assert_eq!((session.created_at, session.last_seen_at), (at(), at()));
    assert!(
        !format!("{issued:?}").contains(&issued.token),
        "the token stays out of Debug output"
    );
    // Success is recorded only once the second factor passes.
    trail.assert_empty();
}

// ---- sign-in, step two: the second factor

#[test]
fn pending_finds_only_sessions_waiting_for_their_second_factor() {
    let mut ports = Ports::new();
    ports.with_session(
        Some(stored_session(false, 1)),
        Some(user(STAFF, true, true)),
    );
    let (service, _trail) = ports.sign_in();
    assert_eq!(service.pending(TOKEN), Ok(pending()));

    let mut ports = Ports::new();
    ports.with_session(Some(stored_session(true, 1)), Some(user(STAFF, true, true)));
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.pending(TOKEN),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn without_a_factor_the_second_step_starts_an_enrolment() {
    // The first random bytes drawn (all 1) make the secret.
    let generated = TotpSecret::from_bytes(vec![1; 20]).expect("long enough");
    let generated_secret = generated.clone();
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .with(eq(STAFF))
        .return_const(Ok(None));
    ports
        .factors
        .expect_start_enrolment()
        .withf(move |user, secret, session, at_| {
            *user == STAFF
                && *secret == generated_secret
                && session == session_token_hash(TOKEN)
                && *at_ == at()
        })
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Enrol {
            secret_base32: generated.to_base32(),
            provisioning_uri: generated.provisioning_uri(EMAIL),
        })
    );
    trail.assert_empty();
}

#[test]
fn an_enrolment_confirmed_in_between_asks_for_a_code() {
    let mut ports = Ports::new();
    ports.factors.expect_find().return_const(Ok(None));
    ports
        .factors
        .expect_start_enrolment()
        .times(1)
        .return_const(Ok(false));
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Verify)
    );
}

#[test]
fn an_unconfirmed_factor_shows_the_same_secret_again() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(false))));
    ports.factors.expect_start_enrolment().never();
    ports.random = MockRandomSource::new();
    ports.random.expect_fill().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Enrol {
            secret_base32: secret().to_base32(),
            provisioning_uri: secret().provisioning_uri(EMAIL),
        })
    );
}

#[test]
fn a_secret_shown_to_another_sign_in_is_never_shown_again() {
    let generated = TotpSecret::from_bytes(vec![1; 20]).expect("long enough");
    let mut ports = Ports::new();
    let mut elsewhere = factor(false);
    elsewhere.enrolling_session = Some(session_token_hash("another sign-in"));
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(elsewhere)));
    ports
        .factors
        .expect_start_enrolment()
        .withf(|_, _, session, _| session == session_token_hash(TOKEN))
        .times(1)
        .return_const(Ok(true));
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Enrol {
            secret_base32: generated.to_base32(),
            provisioning_uri: generated.provisioning_uri(EMAIL),
        })
    );
    assert_ne!(generated, secret(), "not the secret the other sign-in saw");
}

#[test]
fn a_confirmed_factor_asks_for_a_code() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports.factors.expect_start_enrolment().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.second_factor_step(&pending()),
        Ok(SecondFactorStep::Verify)
    );
}

/// Checks a completed sign-in: the pending session ended and a full one began.
#[track_caller]
fn assert_full_session(issued: &IssuedSession, stored: &Captured<AdminSession>) {
    let session = stored.one();
    assert_eq!(issued.session, session);
    assert!(session.second_factor_done);
    assert_eq!(session.user_id, STAFF);
    assert_eq!(session_token_hash(&issued.token), session.token_hash);
    assert_ne!(
        session.token_hash,
        pending().session.token_hash,
        "a new token"
    );
    assert_ne!(issued.token, session.csrf_token);
}

/// Ports where the pending session is deleted exactly once.
fn ports_ending_the_pending_session() -> Ports {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_delete()
        .with(eq(pending().session.token_hash))
        .times(1)
        .return_const(Ok(()));
    ports
}

/// Ports where nothing about sessions may change.
fn ports_keeping_sessions() -> Ports {
    let mut ports = Ports::new();
    ports.sessions.expect_delete().never();
    ports.sessions.expect_insert().never();
    ports
}

#[test]
fn the_first_code_confirms_the_enrolment_and_hands_out_recovery_codes() {
    let mut ports = ports_ending_the_pending_session();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(false))));
    let hashes = Captured::new();
    let keep = hashes.sink();
    ports
        .factors
        .expect_confirm_enrolment()
        .withf(|user, session, step_, _, at_, audit| {
            *user == STAFF
                && session == session_token_hash(TOKEN)
                && *step_ == step()
                && *at_ == at()
                && *audit == admin_login(Some(STAFF), AuditOutcome::Success)
        })
        .times(1)
        .returning(move |_, _, _, given, _, _| {
            keep(given.to_vec());
            Ok(true)
        });
    ports.factors.expect_accept_step().never();
    ports
        .factors
        .expect_unused_recovery_codes()
        .return_const(Ok(10_u32));
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let done = service
        .complete_sign_in(&pending(), &secret().code_at(at()), &origin())
        .expect("enrolled");
    let stored_hashes = hashes.one();
    assert_eq!(stored_hashes.len(), 10);
    assert_eq!(
        stored_hashes.iter().collect::<HashSet<_>>().len(),
        10,
        "distinct codes"
    );
    assert_eq!(
        done.recovery_codes
            .iter()
            .map(|code| code.hash())
            .collect::<Vec<_>>(),
        stored_hashes
    );
    assert_eq!(
        done.recovery_codes
            .iter()
            .map(|code| hash_recovery_code(&code.as_str().to_lowercase()))
            .collect::<Vec<_>>(),
        stored_hashes,
        "each shown code is accepted as typed"
    );
    assert_eq!(done.recovery_codes_left, 10);
    assert_full_session(&done.session, &stored);
    // The success row was stored with the enrolment.
    trail.assert_empty();
}

#[test]
fn a_wrong_first_code_is_refused_and_counted() {
    let mut ports = ports_keeping_sessions();
    ports.throttle = MockThrottleRepository::new();
    let subject = healthcare_domain::throttle::second_factor_key(STAFF);
    for key in [format!("Attempts on {subject} from 203.0.113.9"), subject] {
        ports
            .throttle
            .expect_record_login_failure()
            .with(eq(key), eq(at()), always())
            .times(1)
            .returning(|_, _, _| Ok(()));
    }
    ports
        .throttle
        .expect_login_failures_since()
        .returning(|_, _| Ok((1, Some(at()))));
    ports.throttle.expect_clear_login_failures().never();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(false))));
    ports.factors.expect_confirm_enrolment().never();
    let wrong = if secret().code_at(at()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.complete_sign_in(&pending(), wrong, &origin()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code", WRONG_CODE
        )))
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Failure)
    );
}

#[test]
fn a_code_of_the_enrolled_factor_is_accepted_once_for_its_step() {
    let mut ports = ports_ending_the_pending_session();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_accept_step()
        .with(eq(STAFF), eq(step()))
        .times(1)
        .return_const(Ok(true));
    ports.factors.expect_confirm_enrolment().never();
    ports.factors.expect_use_recovery_code().never();
    ports
        .factors
        .expect_unused_recovery_codes()
        .with(eq(STAFF))
        .return_const(Ok(4_u32));
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let done = service
        .complete_sign_in(&pending(), &secret().code_at(at()), &origin())
        .expect("signed in");
    assert!(done.recovery_codes.is_empty());
    assert_eq!(done.recovery_codes_left, 4);
    assert_full_session(&done.session, &stored);
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Success)
    );
}

#[test]
fn a_replayed_code_is_refused() {
    let mut ports = ports_keeping_sessions();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_accept_step()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service
            .complete_sign_in(&pending(), &secret().code_at(at()), &origin())
            .map(|_| ()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code", WRONG_CODE
        )))
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Failure)
    );
}

#[test]
fn a_recovery_code_is_used_by_its_hash_as_typed() {
    let typed = "abcd-efgh-jkmn-pqrs";
    let mut ports = ports_ending_the_pending_session();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_use_recovery_code()
        .with(eq(STAFF), eq(hash_recovery_code(typed)), eq(at()))
        .times(1)
        .return_const(Ok(true));
    ports.factors.expect_accept_step().never();
    ports
        .factors
        .expect_unused_recovery_codes()
        .return_const(Ok(2_u32));
    let stored = ports.capture_sessions();
    let (service, trail) = ports.sign_in();
    let done = service
        .complete_sign_in(&pending(), typed, &origin())
        .expect("signed in");
    assert_eq!(done.recovery_codes_left, 2);
    assert_full_session(&done.session, &stored);
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Success)
    );
}

#[test]
fn an_unknown_or_used_recovery_code_is_refused() {
    let mut ports = ports_keeping_sessions();
    ports
        .factors
        .expect_find()
        .return_const(Ok(Some(factor(true))));
    ports
        .factors
        .expect_use_recovery_code()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service
            .complete_sign_in(&pending(), "ABCD EFGH JKMN PQRS", &origin())
            .map(|_| ()),
        Err(ServiceError::Validation(FieldErrors::single(
            "code", WRONG_CODE
        )))
    );
    assert_eq!(
        trail.take_one(),
        admin_login(Some(STAFF), AuditOutcome::Failure)
    );
}

// ---- sessions

#[test]
fn an_unknown_session_is_refused() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_find()
        .with(eq(session_token_hash("nope")))
        .return_const(Ok(None));
    ports.sessions.expect_touch().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.authenticate("nope", origin()),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn a_session_waiting_for_its_second_factor_is_not_signed_in() {
    let mut ports = Ports::new();
    ports.with_session(
        Some(stored_session(false, 1)),
        Some(user(STAFF, true, true)),
    );
    ports.sessions.expect_touch().never();
    ports.sessions.expect_delete().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.authenticate(TOKEN, origin()),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn a_session_idle_for_fifteen_minutes_ends() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_find()
        .return_const(Ok(Some(stored_session(true, 15))));
    ports
        .sessions
        .expect_delete()
        .with(eq(session_token_hash(TOKEN)))
        .times(1)
        .return_const(Ok(()));
    ports.sessions.expect_touch().never();
    ports.users.expect_find_by_id().never();
    let (service, _trail) = ports.sign_in();
    assert_eq!(
        service.authenticate(TOKEN, origin()),
        Err(ServiceError::InvalidAccessToken)
    );
}

#[test]
fn a_session_of_a_user_no_longer_active_staff_ends_at_once() {
    for found in [
        Some(user(STAFF, true, false)),
        Some(user(STAFF, false, true)),
        None,
    ] {
        let mut ports = Ports::new();
        ports.with_session(Some(stored_session(true, 1)), found.clone());
        ports
            .sessions
            .expect_delete()
            .with(eq(session_token_hash(TOKEN)))
            .times(1)
            .return_const(Ok(()));
        ports.sessions.expect_touch().never();
        let (service, _trail) = ports.sign_in();
        assert_eq!(
            service.authenticate(TOKEN, origin()),
            Err(ServiceError::Forbidden),
            "{found:?}"
        );
    }
}

#[test]
fn a_live_session_gives_its_staff_user_and_csrf_token_and_is_touched() {
    let mut ports = Ports::new();
    ports.with_session(
        Some(stored_session(true, 14)),
        Some(user(STAFF, true, true)),
    );
    ports
        .sessions
        .expect_touch()
        .with(eq(session_token_hash(TOKEN)), eq(at()))
        .times(1)
        .return_const(Ok(()));
    ports.sessions.expect_delete().never();
    let (service, trail) = ports.sign_in();
    let caller = service.authenticate(TOKEN, origin()).expect("signed in");
    assert_eq!(caller.user(), &user(STAFF, true, true));
    assert_eq!(caller.origin(), &origin());
    assert_eq!(caller.csrf_token(), CSRF);
    assert!(caller.accepts_csrf_token(CSRF));
    for wrong in [
        "",
        "csrf-toke",
        "csrf-tokem",
        "csrf-token ",
        "CSRF-TOKEN",
        TOKEN,
    ] {
        assert!(!caller.accepts_csrf_token(wrong), "{wrong:?}");
    }
    trail.assert_empty();
}

#[test]
fn signing_out_ends_the_session_and_is_recorded() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_find()
        .return_const(Ok(Some(stored_session(true, 1))));
    ports
        .sessions
        .expect_delete()
        .with(eq(session_token_hash(TOKEN)))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.sign_in();
    assert_eq!(service.sign_out(TOKEN, &origin()), Ok(()));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuthLogout,
            Some(STAFF),
            Some(STAFF.0),
            None,
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    ports.sessions.expect_find().return_const(Ok(None));
    ports.sessions.expect_delete().times(1).return_const(Ok(()));
    let (service, trail) = ports.sign_in();
    assert_eq!(service.sign_out(TOKEN, &origin()), Ok(()));
    trail.assert_empty();
}

#[test]
fn resetting_a_second_factor_passes_its_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_reset()
        .with(eq(OTHER), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.reset_second_factor(Some(STAFF), &origin(), OTHER),
        Ok(true)
    );
    trail.assert_empty();
}

#[test]
fn resetting_a_missing_second_factor_is_one_failure() {
    let mut ports = Ports::new();
    ports
        .factors
        .expect_reset()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.reset_second_factor(Some(STAFF), &origin(), OTHER),
        Ok(false)
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));

    let mut ports = Ports::new();
    ports
        .factors
        .expect_reset()
        .return_const(Err(RepoError::Unavailable("down".into())));
    let (service, trail) = ports.sign_in();
    assert_eq!(
        service.reset_second_factor(Some(STAFF), &origin(), OTHER),
        Err(ServiceError::Unavailable("down".into()))
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));
}

// ---- staff records: patients

#[test]
fn listing_patients_is_recorded_with_the_staff_user_as_actor() {
    let filter = PatientFilter {
        archived: Some(true),
        ..PatientFilter::default()
    };
    let listed = PageOf {
        items: vec![patient(OWNER, true)],
        total: 1,
    };
    let mut ports = Ports::new();
    ports
        .directory
        .expect_patients()
        .with(eq(filter.clone()), eq(page()))
        .times(1)
        .return_const(Ok(listed.clone()));
    let (service, trail) = ports.records();
    assert_eq!(service.patients(&staff(), &filter, page()), Ok(listed));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::PatientList,
            Some(STAFF),
            None,
            None,
            AuditOutcome::Success
        )
    );
}

#[test]
fn reading_a_patient_even_archived_is_recorded_with_its_id() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .with(eq(PatientId(1)))
        .return_const(Ok(Some(patient(OWNER, true))));
    ports
        .users
        .expect_find_by_id()
        .with(eq(OWNER))
        .return_const(Ok(Some(user(OWNER, true, false))));
    ports
        .directory
        .expect_mappings()
        .withf(|filter, page| {
            filter.patient == Some(PatientId(1)) && filter.doctor.is_none() && page.number == 1
        })
        .times(1)
        .returning(|_, _| {
            Ok(PageOf {
                items: vec![view()],
                total: 1,
            })
        });
    let (service, trail) = ports.records();
    let detail = service.patient(&staff(), PatientId(1)).expect("found");
    assert_eq!(detail.patient, patient(OWNER, true));
    assert_eq!(detail.owner, Some(user(OWNER, true, false)));
    assert_eq!(detail.mappings, vec![view()]);
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::PatientRead,
            Some(STAFF),
            Some(1),
            Some(PatientId(1)),
            AuditOutcome::Success
        )
    );
}

#[test]
fn reading_an_unknown_patient_is_not_found_and_a_failure() {
    let mut ports = Ports::new();
    ports.patients.expect_find().return_const(Ok(None));
    ports.directory.expect_mappings().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.patient(&staff(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::PatientRead,
            Some(STAFF),
            Some(1),
            Some(PatientId(1)),
            AuditOutcome::Failure
        )
    );
}

/// A complete replacement of the test patient's details.
fn replacement() -> PatientInput {
    PatientInput {
        name: text("Jane Doe"),
        age: Submitted::Given(41),
        gender: text("F"),
        ..PatientInput::default()
    }
}

fn patient_update(outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::PatientUpdate,
        Some(STAFF),
        Some(1),
        Some(PatientId(1)),
        outcome,
    )
}

/// Ports holding the test patient, which must not be updated.
fn ports_refusing_updates(archived: bool) -> Ports {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, archived))));
    ports.patients.expect_update().never();
    ports
}

#[test]
fn an_invalid_update_is_refused_before_anything_is_stored() {
    let (service, trail) = ports_refusing_updates(false).records();
    let input = PatientInput {
        name: text(""),
        ..replacement()
    };
    let result = service.update_patient(&staff(), PatientId(1), input, FieldErrors::new(), 3);
    let Err(ServiceError::Validation(errors)) = result else {
        panic!("expected validation errors, got {result:?}");
    };
    assert!(errors.has("name"));
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));

    // The transport's own findings are reported too.
    let (service, trail) = ports_refusing_updates(false).records();
    let result = service.update_patient(
        &staff(),
        PatientId(1),
        replacement(),
        FieldErrors::single("age", "A valid integer is required."),
        3,
    );
    assert!(
        matches!(&result, Err(ServiceError::Validation(errors)) if errors.has("age")),
        "{result:?}"
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

#[test]
fn an_update_based_on_an_old_version_is_refused() {
    let (service, trail) = ports_refusing_updates(false).records();
    assert_eq!(
        service.update_patient(&staff(), PatientId(1), replacement(), FieldErrors::new(), 2),
        Err(ServiceError::PreconditionFailed)
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

#[test]
fn an_archived_patient_cannot_be_updated() {
    let (service, trail) = ports_refusing_updates(true).records();
    assert_eq!(
        service.update_patient(&staff(), PatientId(1), replacement(), FieldErrors::new(), 3),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

#[test]
fn an_update_passes_the_staff_users_row_to_the_repository() {
    let updated = healthcare_domain::patient::Patient {
        version: 4,
        ..patient(OWNER, false)
    };
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_update()
        .withf(|id, details, expected_version, at_, audit| {
            *id == PatientId(1)
                && details.name.as_str() == "Jane Doe"
                && details.age.value() == 41
                && *expected_version == 3
                && *at_ == at()
                && *audit == patient_update(AuditOutcome::Success)
        })
        .times(1)
        .return_const(Ok(Some(updated.clone())));
    let (service, trail) = ports.records();
    assert_eq!(
        service.update_patient(&staff(), PatientId(1), replacement(), FieldErrors::new(), 3),
        Ok(updated)
    );
    trail.assert_empty();
}

#[test]
fn an_update_losing_a_race_is_refused() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_find()
        .return_const(Ok(Some(patient(OWNER, false))));
    ports
        .patients
        .expect_update()
        .times(1)
        .return_const(Ok(None));
    let (service, trail) = ports.records();
    assert_eq!(
        service.update_patient(&staff(), PatientId(1), replacement(), FieldErrors::new(), 3),
        Err(ServiceError::PreconditionFailed)
    );
    assert_eq!(trail.take_one(), patient_update(AuditOutcome::Failure));
}

fn patient_delete(outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::PatientDelete,
        Some(STAFF),
        Some(1),
        Some(PatientId(1)),
        outcome,
    )
}

#[test]
fn archiving_passes_the_staff_users_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_archive()
        .with(
            eq(PatientId(1)),
            eq(at()),
            eq(patient_delete(AuditOutcome::Success)),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.records();
    assert_eq!(service.archive_patient(&staff(), PatientId(1)), Ok(()));
    trail.assert_empty();
}

#[test]
fn archiving_an_archived_patient_is_not_found() {
    let mut ports = Ports::new();
    ports
        .patients
        .expect_archive()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.records();
    assert_eq!(
        service.archive_patient(&staff(), PatientId(1)),
        Err(ServiceError::NotFound(Resource::Patient))
    );
    assert_eq!(trail.take_one(), patient_delete(AuditOutcome::Failure));
}

#[test]
fn removing_a_mapping_passes_the_staff_users_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .mappings
        .expect_find()
        .with(eq(MappingId(9)))
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_deactivate()
        .with(
            eq(MappingId(9)),
            eq(at()),
            eq(row(
                AuditAction::MappingRemove,
                Some(STAFF),
                Some(9),
                Some(PatientId(1)),
                AuditOutcome::Success,
            )),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.records();
    assert_eq!(service.remove_mapping(&staff(), MappingId(9)), Ok(()));
    trail.assert_empty();
}

#[test]
fn removing_an_ended_or_unknown_mapping_is_not_found() {
    for found in [Some(mapping(false)), None] {
        let mut ports = Ports::new();
        ports.mappings.expect_find().return_const(Ok(found.clone()));
        ports
            .mappings
            .expect_deactivate()
            .times(1)
            .return_const(Ok(false));
        let (service, trail) = ports.records();
        assert_eq!(
            service.remove_mapping(&staff(), MappingId(9)),
            Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::MappingRemove,
                Some(STAFF),
                Some(9),
                found.map(|found| found.patient_id),
                AuditOutcome::Failure
            )
        );
    }
}

fn mapping_update(patient: Option<PatientId>, outcome: AuditOutcome) -> AuditEvent {
    row(
        AuditAction::MappingUpdate,
        Some(STAFF),
        Some(9),
        patient,
        outcome,
    )
}

#[test]
fn invalid_notes_are_refused_on_their_field_before_anything_is_stored() {
    let mut ports = Ports::new();
    ports
        .mappings
        .expect_find()
        .with(eq(MappingId(9)))
        .return_const(Ok(Some(mapping(true))));
    ports.mappings.expect_update_notes().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.update_mapping_notes(&staff(), MappingId(9), "before\0after"),
        Err(ServiceError::Validation(FieldErrors::single(
            "notes",
            NULL_CHARACTER
        )))
    );
    assert_eq!(
        trail.take_one(),
        mapping_update(Some(PatientId(1)), AuditOutcome::Failure)
    );
}

#[test]
fn new_notes_are_stored_trimmed_with_the_staff_users_row() {
    let updated = MappingView {
        mapping: Mapping {
            notes: "Checked weekly.".into(),
            ..mapping(true)
        },
        ..view()
    };
    let mut ports = Ports::new();
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_update_notes()
        .with(
            eq(MappingId(9)),
            eq("Checked weekly."),
            eq(at()),
            eq(mapping_update(Some(PatientId(1)), AuditOutcome::Success)),
        )
        .times(1)
        .return_const(Ok(Some(updated.clone())));
    let (service, trail) = ports.records();
    assert_eq!(
        service.update_mapping_notes(&staff(), MappingId(9), "  Checked weekly.\n"),
        Ok(updated)
    );
    trail.assert_empty();
}

#[test]
fn notes_of_an_ended_or_unknown_mapping_are_not_found() {
    for found in [Some(mapping(false)), None] {
        let mut ports = Ports::new();
        ports.mappings.expect_find().return_const(Ok(found.clone()));
        ports.mappings.expect_update_notes().never();
        let (service, trail) = ports.records();
        assert_eq!(
            service.update_mapping_notes(&staff(), MappingId(9), "Too late."),
            Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
        );
        assert_eq!(
            trail.take_one(),
            mapping_update(found.map(|found| found.patient_id), AuditOutcome::Failure)
        );
    }

    // Ended between the read and the write: the repository stores nothing.
    let mut ports = Ports::new();
    ports
        .mappings
        .expect_find()
        .return_const(Ok(Some(mapping(true))));
    ports
        .mappings
        .expect_update_notes()
        .times(1)
        .return_const(Ok(None));
    let (service, trail) = ports.records();
    assert_eq!(
        service.update_mapping_notes(&staff(), MappingId(9), "Raced."),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(
        trail.take_one(),
        mapping_update(Some(PatientId(1)), AuditOutcome::Failure)
    );
}

#[test]
fn reading_a_mapping_names_its_patient_and_doctor_and_is_recorded() {
    let mut ports = Ports::new();
    ports
        .mappings
        .expect_find()
        .with(eq(MappingId(9)))
        .return_const(Ok(Some(mapping(false))));
    ports
        .patients
        .expect_find()
        .with(eq(PatientId(1)))
        .return_const(Ok(Some(patient(OWNER, true))));
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, false, true))));
    let (service, trail) = ports.records();
    let expected = MappingView {
        mapping: mapping(false),
        ..view()
    };
    assert_eq!(service.mapping(&staff(), MappingId(9)), Ok(expected));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(9),
            Some(PatientId(1)),
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    ports.mappings.expect_find().return_const(Ok(None));
    let (service, trail) = ports.records();
    assert_eq!(
        service.mapping(&staff(), MappingId(9)),
        Err(ServiceError::NotFound(Resource::PatientDoctorMapping))
    );
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(9),
            None,
            AuditOutcome::Failure
        )
    );
}

// ---- staff records: doctors

#[test]
fn reading_a_doctor_records_a_mapping_list_row_naming_the_doctor() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .directory
        .expect_mappings()
        .withf(|filter, page| {
            filter.doctor == Some(DoctorId(2)) && filter.patient.is_none() && page.number == 1
        })
        .times(1)
        .returning(|_, _| {
            Ok(PageOf {
                items: vec![view()],
                total: 1,
            })
        });
    let (service, trail) = ports.records();
    let detail = service.doctor(&staff(), DoctorId(2)).expect("found");
    assert_eq!(detail.doctor, doctor(OWNER, true, false));
    assert_eq!(detail.mappings, vec![view()]);
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(2),
            None,
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .directory
        .expect_mappings()
        .times(1)
        .returning(|_, _| Err(RepoError::Unavailable("down".into())));
    let (service, trail) = ports.records();
    assert!(service.doctor(&staff(), DoctorId(2)).is_err());
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(2),
            None,
            AuditOutcome::Failure
        ),
        "a failed read names the doctor too"
    );
}

#[test]
fn archiving_a_doctor_passes_the_staff_users_mapping_removal_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .doctors
        .expect_archive()
        .with(
            eq(DoctorId(2)),
            eq(at()),
            eq(row(
                AuditAction::MappingRemove,
                Some(STAFF),
                None,
                None,
                AuditOutcome::Success,
            )),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.records();
    assert_eq!(service.archive_doctor(&staff(), DoctorId(2)), Ok(()));
    trail.assert_empty();
}

#[test]
fn archiving_an_archived_doctor_is_not_found_and_stores_nothing() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, true))));
    ports.doctors.expect_archive().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.archive_doctor(&staff(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    trail.assert_empty();

    // Archived by someone else between the read and the archive.
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .doctors
        .expect_archive()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.records();
    assert_eq!(
        service.archive_doctor(&staff(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    trail.assert_empty();
}

// ---- staff records: accounts

#[test]
fn deactivating_a_user_revokes_their_tokens_and_ends_their_sessions() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .with(eq(OTHER), eq(false), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    ports
        .refresh_tokens
        .expect_revoke_all_for_user()
        .with(eq(OTHER), eq(at()))
        .times(1)
        .return_const(Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .sessions
        .expect_delete_for_user()
        .with(eq(OTHER))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.records();
    assert_eq!(service.set_user_active(&staff(), OTHER, false), Ok(()));
    trail.assert_empty();
}

#[test]
fn activating_a_user_leaves_their_sessions() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .with(eq(OTHER), eq(true), always())
        .times(1)
        .return_const(Ok(true));
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, _trail) = ports.records();
    assert_eq!(service.set_user_active(&staff(), OTHER, true), Ok(()));
}

#[test]
fn changing_an_unknown_user_is_not_found_and_one_failure() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_active()
        .times(1)
        .return_const(Ok(false));
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.set_user_active(&staff(), OTHER, false),
        Err(ServiceError::NotFound(Resource::User))
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));
}

#[test]
fn staff_cannot_deactivate_themselves_or_drop_their_own_rights() {
    let mut ports = Ports::new();
    ports.users.expect_set_active().never();
    ports.users.expect_set_staff().never();
    ports.users.expect_update_password().never();
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, trail) = ports.records();
    let refused = Err(ServiceError::Validation(FieldErrors::single(
        "user",
        NOT_ON_YOURSELF,
    )));
    assert_eq!(service.set_user_active(&staff(), STAFF, false), refused);
    assert_eq!(service.set_user_staff(&staff(), STAFF, false), refused);
    // Their own password is changed with the old one, through the API.
    assert_eq!(
        service.reset_password(&staff(), STAFF, "brand-new-kettle-93"),
        refused
    );
    trail.assert_empty();
}

#[test]
fn removing_staff_rights_ends_the_users_sessions() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_set_staff()
        .with(eq(OTHER), eq(false), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    ports
        .sessions
        .expect_delete_for_user()
        .with(eq(OTHER))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.records();
    assert_eq!(service.set_user_staff(&staff(), OTHER, false), Ok(()));
    trail.assert_empty();

    let mut ports = Ports::new();
    ports
        .users
        .expect_set_staff()
        .with(eq(OTHER), eq(true), always())
        .times(1)
        .return_const(Ok(true));
    ports.sessions.expect_delete_for_user().never();
    let (service, _trail) = ports.records();
    assert_eq!(service.set_user_staff(&staff(), OTHER, true), Ok(()));
}

/// Ports where `OTHER` exists and no password may be stored.
fn ports_refusing_passwords() -> Ports {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .with(eq(OTHER))
        .return_const(Ok(Some(user(OTHER, true, false))));
    ports.hasher.expect_hash().never();
    ports.users.expect_update_password().never();
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    ports.sessions.expect_delete_for_user().never();
    ports
}

#[test]
fn a_weak_reset_password_is_refused_on_the_password_field() {
    for weak in ["short", "12345678901", "password123", "ann@example.com"] {
        let (service, trail) = ports_refusing_passwords().records();
        let result = service.reset_password(&staff(), OTHER, weak);
        let Err(ServiceError::Validation(errors)) = result else {
            panic!("expected validation errors for {weak:?}, got {result:?}");
        };
        assert!(errors.has("password"), "{weak:?}: {errors:?}");
        assert_eq!(
            trail.take_one(),
            user_update(AuditOutcome::Failure),
            "{weak:?}"
        );
    }
}

#[test]
fn a_reset_password_is_stored_and_ends_every_session_of_the_user() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .with(eq(OTHER))
        .return_const(Ok(Some(user(OTHER, true, false))));
    ports
        .hasher
        .expect_hash()
        .withf(|accepted| accepted.expose() == GOOD_PASSWORD)
        .times(1)
        .returning(|_| Ok("$2b$04$new".into()));
    ports
        .users
        .expect_update_password()
        .with(
            eq(OTHER),
            eq("$2b$04$new"),
            eq(user_update(AuditOutcome::Success)),
        )
        .times(1)
        .return_const(Ok(true));
    ports
        .refresh_tokens
        .expect_revoke_all_for_user()
        .with(eq(OTHER), eq(at()))
        .times(1)
        .return_const(Ok(()));
    ports
        .users
        .expect_refuse_tokens_issued_before()
        .with(eq(UserId(7)), always())
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .sessions
        .expect_delete_for_user()
        .with(eq(OTHER))
        .times(1)
        .return_const(Ok(()));
    let (service, trail) = ports.records();
    assert_eq!(
        service.reset_password(&staff(), OTHER, GOOD_PASSWORD),
        Ok(())
    );
    trail.assert_empty();
}

#[test]
fn resetting_the_password_of_an_unknown_user_is_not_found_and_one_failure() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_id().return_const(Ok(None));
    ports.hasher.expect_hash().never();
    ports.users.expect_update_password().never();
    ports.sessions.expect_delete_for_user().never();
    let (service, trail) = ports.records();
    assert_eq!(
        service.reset_password(&staff(), OTHER, GOOD_PASSWORD),
        Err(ServiceError::NotFound(Resource::User))
    );
    assert_eq!(trail.take_one(), user_update(AuditOutcome::Failure));
}

#[test]
fn an_operator_resets_a_password_at_the_console_without_an_actor() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .return_const(Ok(Some(user(OTHER, true, false))));
    ports
        .hasher
        .expect_hash()
        .returning(|_| Ok("$2b$04$new".into()));
    ports
        .users
        .expect_update_password()
        .with(
            eq(OTHER),
            always(),
            eq(AuditEvent {
                actor: None,
                origin: healthcare_domain::audit::RequestOrigin::default(),
                ..user_update(AuditOutcome::Success)
            }),
        )
        .times(1)
        .return_const(Ok(false));
    // Deleted in between: nothing to revoke.
    ports.refresh_tokens.expect_revoke_all_for_user().never();
    let services = Ports::build(ports);
    assert_eq!(
        services.auth.reset_password(
            None,
            &healthcare_domain::audit::RequestOrigin::default(),
            OTHER,
            GOOD_PASSWORD
        ),
        Ok(false)
    );
    let failure = services.trail.take_one();
    assert_eq!(
        (failure.actor, failure.outcome),
        (None, AuditOutcome::Failure)
    );
}

#[test]
fn resetting_a_users_second_factor_checks_the_user_exists() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_id().return_const(Ok(None));
    ports.factors.expect_reset().never();
    let (service, _trail) = ports.records();
    assert_eq!(
        service.reset_second_factor(&staff(), OTHER),
        Err(ServiceError::NotFound(Resource::User))
    );

    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .return_const(Ok(Some(user(OTHER, true, true))));
    ports
        .factors
        .expect_reset()
        .with(eq(OTHER), eq(user_update(AuditOutcome::Success)))
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.records();
    assert_eq!(service.reset_second_factor(&staff(), OTHER), Ok(true));
    trail.assert_empty();
}

// ---- staff records: the audit trail

#[test]
fn reading_the_audit_trail_is_itself_recorded() {
    let filter = AuditFilter {
        patient: Some(PatientId(1)),
        ..AuditFilter::default()
    };
    let listed = PageOf {
        items: vec![],
        total: 0,
    };
    let mut ports = Ports::new();
    ports
        .audit
        .expect_list()
        .with(eq(filter.clone()), eq(page()))
        .times(1)
        .return_const(Ok(listed.clone()));
    let (service, trail) = ports.records();
    assert_eq!(service.audit_events(&staff(), &filter, page()), Ok(listed));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuditRead,
            Some(STAFF),
            None,
            None,
            AuditOutcome::Success
        )
    );
}
