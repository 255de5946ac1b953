//! Tests of the staff admin site's services with mock ports: signing in with a password and a
//! second factor, sessions, accounts, and what staff do to records through the shared record
//! use cases (each patient access audited with the staff user as actor).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Duration;
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, ChainKey};
use healthcare_domain::patient::PatientId;
use healthcare_domain::staff::{SessionPolicy, TotpSecret, hash_recovery_code, session_token_hash};
use healthcare_domain::throttle::{AddressRateLimit, LoginThrottle};
use healthcare_domain::{FieldErrors, FieldProblem, User, UserId};
use mockall::predicate::{always, eq};

use super::staff_records::{StaffRecords, StaffRecordsPorts};
use super::staff_sign_in::{
    IssuedSession, PendingSignIn, SecondFactorStep, StaffCaller, StaffSignIn, StaffSignInPorts,
};
use super::tests::{FixedClock, RecordingTrail, at, origin, page};
use super::{AuditService, AuthPorts, AuthService, Throttling};
use crate::pagination::PageOf;
use crate::ports::{
    AdminSession, AuditFilter, MockAdminSessionRepository, MockAuditRepository, MockPasswordHasher,
    MockRandomSource, MockRefreshTokenRepository, MockSecondFactorRepository, MockStaffDirectory,
    MockThrottleRepository, MockTokenCodec, MockUserRepository, SecondFactor, UserCredentials,
};
use crate::{RepoError, Resource, ServiceError};

/// The staff user signing in or acting.
const STAFF: UserId = UserId(1);
/// Another user, acted upon.
const OTHER: UserId = UserId(7);

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
        break_glass: false,
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
            audit: MockAuditRepository::new(),
            trail: RecordingTrail::shared(),
        }
    }

    fn build(self) -> Services {
        let clock = Arc::new(FixedClock);
        let users = Arc::new(self.users);
        let hasher = Arc::new(self.hasher);
        let factors = Arc::new(self.factors);
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
                clinics: Arc::new(crate::ports::MockClinicRepository::new()),
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
                users: users.clone(),
                factors,
            },
            auth.clone(),
            sign_in.clone(),
            AuditService::new(Arc::new(self.audit), trail.clone(), clock.clone()),
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

mod accounts;
mod audit;
mod sessions;
mod sign_in;
