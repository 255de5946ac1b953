//! Signing in to the staff admin site: password, then the second factor (enrolled on first
//! sign-in), then a server-side session checked on every request.

use std::sync::Arc;

use healthcare_domain::audit::{AuditAction, RequestOrigin};
use healthcare_domain::staff::{
    RecoveryCode, SESSION_TOKEN_BYTES, SessionPolicy, hash_recovery_code, looks_like_recovery_code,
    may_use_admin_site, session_token, tokens_match,
};
use healthcare_domain::user::normalize_email;
use healthcare_domain::{Timestamp, User};

use crate::ports::{
    AdminSession, AdminSessionRepository, AuditTrail, Clock, PasswordHasher, RandomSource,
    SecondFactor, SecondFactorRepository, UserRepository,
};
use crate::services::audit::{AuditScope, Caller, Target, event_of};
use crate::services::throttling::{Throttling, attempt_address, report_staff_lockout};
use crate::{RepoError, ServiceError};

mod second_factor;
mod sessions;

/// A second factor enrolled at the console, shown once.
pub struct ConsoleEnrolment {
    /// The secret, for typing into an authenticator app.
    pub secret_base32: String,
    /// The `otpauth://` URI, for a QR code.
    pub provisioning_uri: String,
    /// Ten single-use recovery codes.
    pub recovery_codes: Vec<RecoveryCode>,
}

impl std::fmt::Debug for ConsoleEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleEnrolment(***)")
    }
}

/// A signed-in staff user acting through the admin site. Only [`StaffSignIn::authenticate`]
/// makes one, after checking the session and that the user may use the site.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffCaller {
    user: User,
    caller: Caller,
    csrf_token: String,
}

impl std::fmt::Debug for StaffCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCaller")
            .field("user", &self.user)
            .field("origin", &self.caller.origin)
            .finish_non_exhaustive()
    }
}

impl StaffCaller {
    /// The staff user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// Where the request came from.
    pub fn origin(&self) -> &RequestOrigin {
        &self.caller.origin
    }

    /// The staff user as the actor of the record use cases: platform staff.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The token every form of this session must carry.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn accepts_csrf_token(&self, presented: &str) -> bool {
        tokens_match(&self.csrf_token, presented)
    }

    /// The staff user acting from `origin` with this session's CSRF token; `None` unless
    /// they may use the admin site.
    pub(crate) fn new(user: User, origin: RequestOrigin, csrf_token: String) -> Option<Self> {
        Some(Self {
            caller: Caller::platform_staff(&user, origin)?,
            user,
            csrf_token,
        })
    }

    #[cfg(test)]
    pub(crate) fn for_tests(user: User, origin: RequestOrigin) -> Self {
        Self::new(user, origin, "csrf".into()).expect("active staff")
    }
}

/// A session just begun: the cookie value (shown to nobody else, stored only as a hash).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedSession {
    /// The value of the session cookie.
    pub token: String,
    /// The stored record.
    pub session: AdminSession,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// A session that passed the password but not yet the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The user signing in.
    pub user: User,
    /// The session record.
    pub session: AdminSession,
}

/// What the second-factor page asks for.
#[derive(Clone, PartialEq, Eq)]
pub enum SecondFactorStep {
    /// A code from the enrolled authenticator, or a recovery code.
    Verify,
    /// First sign-in: scan this secret, then enter a first code.
    Enrol {
        /// The secret in base32, for typing by hand.
        secret_base32: String,
        /// The `otpauth://` URI for the QR code.
        provisioning_uri: String,
    },
}

impl std::fmt::Debug for SecondFactorStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verify => f.write_str("Verify"),
            // The secret never reaches a log.
            Self::Enrol { .. } => f.write_str("Enrol { .. }"),
        }
    }
}

/// The outcome of a successful second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The new, fully signed-in session (a new token: the pending one ends).
    pub session: IssuedSession,
    /// Recovery codes to show once, after enrolment; empty otherwise.
    pub recovery_codes: Vec<RecoveryCode>,
    /// Unused recovery codes left, to warn when few remain.
    pub recovery_codes_left: u32,
}

/// Sign-in, sessions and second factors of the admin site.
#[derive(Clone)]
pub struct StaffSignIn {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    throttling: Throttling,
    factors: Arc<dyn SecondFactorRepository>,
    sessions: Arc<dyn AdminSessionRepository>,
    random: Arc<dyn RandomSource>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
    policy: SessionPolicy,
}

/// The ports [`StaffSignIn`] needs.
#[derive(Clone)]
pub struct StaffSignInPorts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Password checks.
    pub hasher: Arc<dyn PasswordHasher>,
    /// The API's login throttling, shared.
    pub throttling: Throttling,
    /// Second factors.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// Sessions.
    pub sessions: Arc<dyn AdminSessionRepository>,
    /// Session tokens, secrets and recovery codes.
    pub random: Arc<dyn RandomSource>,
    /// Sign-in events.
    pub trail: Arc<dyn AuditTrail>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl StaffSignIn {
    /// Wires the service.
    pub fn new(ports: StaffSignInPorts, policy: SessionPolicy) -> Self {
        Self {
            users: ports.users,
            hasher: ports.hasher,
            throttling: ports.throttling,
            factors: ports.factors,
            sessions: ports.sessions,
            random: ports.random,
            trail: ports.trail,
            clock: ports.clock,
            policy,
        }
    }

    /// Step one: e-mail and password, throttled like the API's login. Wrong password, unknown
    /// e-mail and inactive account give the same error; an active non-staff account with the
    /// right password is `Forbidden`. Success begins a session waiting for the second factor.
    pub fn sign_in(
        &self,
        email: &str,
        password: &str,
        origin: &RequestOrigin,
    ) -> Result<IssuedSession, ServiceError> {
        let now = self.clock.now();
        let event = event_of(None, origin, AuditAction::AdminLogin, now, Target::NONE);
        AuditScope::new(self.trail.as_ref(), event).run(|row| {
            if email.trim().is_empty() || password.is_empty() {
                return Err(ServiceError::InvalidCredentials.into());
            }
            let email_key = normalize_email(email);
            let address = attempt_address(origin);
            let credentials = self.users.find_credentials_by_email(&email_key)?;
            if let Err(refused) = self.throttling.admit_login(&email_key, address) {
                if let Some(found) = &credentials {
                    report_staff_lockout(&found.user, address, &refused);
                }
                return Err(refused.into());
            }
            let accepted = match &credentials {
                Some(found) => {
                    self.hasher.verify(password, &found.password_hash) && found.user.is_active
                }
                None => {
                    self.hasher.verify_dummy(password);
                    false
                }
            };
            let Some(credentials) = credentials.filter(|_| accepted) else {
                return Err(ServiceError::InvalidCredentials.into());
            };
            let event = row.event_mut();
            event.actor = Some(credentials.user.id);
            event.resource_id = Some(credentials.user.id.0);
            self.throttling.record_success(&email_key, address)?;
            if !may_use_admin_site(&credentials.user) {
                return Err(ServiceError::Forbidden.into());
            }
            row.leave_success_to_next_step();
            Ok(self.begin_session(credentials.user.id, false)?)
        })
    }

    /// The session behind `token` if it is waiting for its second factor.
    pub fn pending(&self, token: &str) -> Result<PendingSignIn, ServiceError> {
        let (session, user) = self.live_session(token)?;
        if session.second_factor_done {
            return Err(ServiceError::InvalidAccessToken);
        }
        Ok(PendingSignIn { user, session })
    }

    fn random_token(&self) -> Result<String, ServiceError> {
        let mut bytes = [0; SESSION_TOKEN_BYTES];
        self.random.fill(&mut bytes)?;
        Ok(session_token(&bytes))
    }
}

/// Whether `code` passes for an enrolled (confirmed) factor, using it up: a recovery code
/// works once, a TOTP code only for a step later than the last one accepted.
pub(crate) fn accept_enrolled_code(
    factors: &dyn SecondFactorRepository,
    factor: &SecondFactor,
    code: &str,
    now: Timestamp,
) -> Result<bool, RepoError> {
    if looks_like_recovery_code(code) {
        return factors.use_recovery_code(factor.user_id, &hash_recovery_code(code), now);
    }
    match factor.secret.matching_step(code, now) {
        Some(step) => factors.accept_step(factor.user_id, step),
        None => Ok(false),
    }
}
