//! Service tests of accounts and sessions, with mock ports.

use super::*;

use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::registration::RegistrationInput;
use healthcare_domain::tokens::RefreshTokenRecord;

use crate::ports::TokenDecodeError;
use crate::services::audit::Caller;
use crate::{RepoError, TokenProblem};

use crate::ports::{
    IssuedToken, MockAdminSessionRepository, MockClinicRepository, MockPasswordHasher,
    MockRefreshTokenRepository, MockSecondFactorRepository, MockThrottleRepository, MockTokenCodec,
    MockUserRepository, TokenClaims, UserCredentials,
};
use crate::services::tests::RecordingTrail;
use chrono::{Duration, TimeZone, Utc};
use healthcare_domain::throttle::{AddressRateLimit, LoginThrottle};
use healthcare_domain::{FieldProblem, Timestamp};
use mockall::predicate::{always, eq, function};

struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0)
        .single()
        .expect("valid date")
}

fn user(active: bool) -> User {
    User {
        id: UserId(7),
        name: "Ann Lee".into(),
        email: "ann@example.com".into(),
        is_active: active,
        is_staff: false,
        created_at: now(),
        tokens_valid_after: None,
    }
}

fn credentials(active: bool) -> UserCredentials {
    UserCredentials {
        user: user(active),
        password_hash: "$2b$04$hash".into(),
    }
}

/// A codec that issues `<kind>-<n>` tokens and decodes them back.
fn codec() -> MockTokenCodec {
    let mut codec = MockTokenCodec::new();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    codec
        .expect_issue()
        .returning(move |kind, user_id, factors, clinic, now| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let jti = format!("{kind:?}-{n}");
            Ok(IssuedToken {
                token: jti.clone(),
                claims: TokenClaims {
                    kind,
                    user_id,
                    factors,
                    clinic: Some(clinic),
                    jti,
                    issued_at: now,
                    expires_at: now + Duration::days(7),
                },
            })
        });
    codec
}

struct Ports {
    users: MockUserRepository,
    clinics: MockClinicRepository,
    refresh_tokens: MockRefreshTokenRepository,
    admin_sessions: MockAdminSessionRepository,
    factors: MockSecondFactorRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenCodec,
    throttle: MockThrottleRepository,
    trail: Arc<RecordingTrail>,
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

impl Ports {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            clinics: personal_clinics_only(),
            refresh_tokens: MockRefreshTokenRepository::new(),
            admin_sessions: MockAdminSessionRepository::new(),
            factors: MockSecondFactorRepository::new(),
            hasher: MockPasswordHasher::new(),
            tokens: codec(),
            throttle: quiet_counters(),
            trail: RecordingTrail::shared(),
        }
    }

    /// The service and the trail it records to.
    fn start(self) -> (AuthService, Arc<RecordingTrail>) {
        let trail = self.trail.clone();
        (self.service(), trail)
    }

    fn service(self) -> AuthService {
        AuthService::new(
            AuthPorts {
                users: Arc::new(self.users),
                clinics: Arc::new(self.clinics),
                refresh_tokens: Arc::new(self.refresh_tokens),
                admin_sessions: Arc::new(self.admin_sessions),
                factors: Arc::new(self.factors),
                hasher: Arc::new(self.hasher),
                tokens: Arc::new(self.tokens),
                trail: self.trail,
                clock: Arc::new(FixedClock(now())),
            },
            Throttling::new(
                Arc::new(self.throttle),
                Arc::new(FixedClock(now())),
                LoginThrottle {
                    max_failures: 5,
                    max_failures_per_email: 50,
                    window: Duration::minutes(15),
                },
                AddressRateLimit { per_minute: 60 },
            ),
        )
    }
}

fn registration(email: &str, password: &str) -> RegistrationInput {
    RegistrationInput {
        name: Some("Ann Lee".into()),
        email: Some(email.into()),
        password: Some(password.into()),
        ..Default::default()
    }
}

fn origin() -> RequestOrigin {
    RequestOrigin {
        client_address: Some("198.51.100.4".into()),
        request_id: Some("req-7".into()),
    }
}

fn caller(user: UserId) -> Caller {
    Caller::new(
        &Authenticated {
            user: User {
                id: user,
                ..self::user(true)
            },
            factors: SignInFactors::Password,
            membership: personal_membership(user),
        },
        origin(),
    )
}

/// The personal clinic of `user`: its id is the user's, in these tests.
fn personal_membership(user: UserId) -> Membership {
    Membership {
        clinic: healthcare_domain::clinic::Clinic {
            id: ClinicId(user.0),
            name: "Ann Lee".into(),
            personal_owner: Some(user),
            created_at: now(),
        },
        role: healthcare_domain::clinic::Role::Admin,
        joined_at: now(),
    }
}

/// Every user is a member of their personal clinic only.
fn personal_clinics_only() -> MockClinicRepository {
    let mut clinics = MockClinicRepository::new();
    clinics
        .expect_personal_membership()
        .returning(|user| Ok(Some(personal_membership(user))));
    clinics.expect_membership().returning(|clinic, user| {
        Ok((clinic == ClinicId(user.0)).then(|| personal_membership(user)))
    });
    clinics
}

/// The row expected for `action` by `actor` about user `resource`.
fn row(
    action: AuditAction,
    actor: Option<UserId>,
    resource: Option<UserId>,
    outcome: AuditOutcome,
) -> AuditEvent {
    AuditEvent {
        at: now(),
        actor,
        action,
        resource_id: resource.map(|user| user.0),
        patient_id: None,
        outcome,
        origin: origin(),
        break_glass: false,
    }
}

fn login_input(email: &str, password: &str) -> LoginInput {
    LoginInput {
        email: Some(email.into()),
        password: Some(password.into()),
        ..Default::default()
    }
}

fn refresh_record(spent: bool, revoked: bool) -> RefreshTokenRecord {
    RefreshTokenRecord {
        jti: "r1".into(),
        user_id: UserId(7),
        family_id: "family".into(),
        expires_at: now() + Duration::days(1),
        spent_at: spent.then(now),
        revoked_at: revoked.then(now),
    }
}

fn decoding_refresh(ports: &mut Ports) {
    ports.tokens.expect_decode().returning(|_, _| {
        Ok(TokenClaims {
            kind: TokenKind::Refresh,
            user_id: UserId(7),
            factors: SignInFactors::Password,
            clinic: Some(ClinicId(7)),
            jti: "r1".into(),
            issued_at: now(),
            expires_at: now() + Duration::days(1),
        })
    });
}

fn enrolled_factor() -> crate::ports::SecondFactor {
    crate::ports::SecondFactor {
        user_id: UserId(7),
        secret: healthcare_domain::staff::TotpSecret::from_bytes(vec![7; 20]).expect("long enough"),
        confirmed_at: Some(now()),
        last_step: 0,
        enrolling_session: None,
    }
}

mod accounts;
mod sessions;
