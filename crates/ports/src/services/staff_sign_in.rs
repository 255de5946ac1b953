//! Signing in to the staff admin site: password, then the second factor (enrolled on first
//! sign-in), then a server-side session checked on every request.

use std::sync::Arc;

use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::staff::{
    RECOVERY_CODE_BYTES, RECOVERY_CODE_COUNT, RecoveryCode, SESSION_TOKEN_BYTES, SessionPolicy,
    TOTP_SECRET_BYTES, TotpSecret, hash_recovery_code, looks_like_recovery_code,
    may_use_admin_site, session_token, session_token_hash as token_hash, tokens_match,
};
use healthcare_domain::throttle::second_factor_key;
use healthcare_domain::user::normalize_email;
use healthcare_domain::{FieldErrors, Timestamp, User, UserId};

use crate::ports::{
    AdminSession, AdminSessionRepository, AuditTrail, Clock, PasswordHasher, RandomSource,
    SecondFactor, SecondFactorRepository, UserRepository,
};
use crate::services::audit::{Refusal, Target, event_of, record_outcome, record_refusal};
use crate::services::throttling::{Throttling, attempt_address, report_staff_lockout};
use crate::{RepoError, Resource, ServiceError};

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

/// The message beside the code field when a code is refused.
pub const WRONG_CODE: &str = "This code is not valid. Enter the current code from your authenticator app, or an unused recovery code.";

/// A signed-in staff user acting through the admin site. Only [`StaffSignIn::authenticate`]
/// makes one, after checking the session and that the user may use the site.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffCaller {
    user: User,
    origin: RequestOrigin,
    csrf_token: String,
}

impl std::fmt::Debug for StaffCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCaller")
            .field("user", &self.user)
            .field("origin", &self.origin)
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
        &self.origin
    }

    /// The token every form of this session must carry.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn accepts_csrf_token(&self, presented: &str) -> bool {
        tokens_match(&self.csrf_token, presented)
    }

    /// An event of this staff user.
    pub(crate) fn event(
        &self,
        action: AuditAction,
        at: healthcare_domain::Timestamp,
        target: Target,
    ) -> AuditEvent {
        event_of(Some(self.user.id), &self.origin, action, at, target)
    }

    #[cfg(test)]
    pub(crate) fn for_tests(user: User, origin: RequestOrigin) -> Self {
        Self {
            user,
            origin,
            csrf_token: "csrf".into(),
        }
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
        let mut event = event_of(None, origin, AuditAction::AdminLogin, now, Target::NONE);
        let result: Result<IssuedSession, Refusal> = (|| {
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
            event.actor = Some(credentials.user.id);
            event.resource_id = Some(credentials.user.id.0);
            self.throttling.record_success(&email_key, address)?;
            if !may_use_admin_site(&credentials.user) {
                return Err(ServiceError::Forbidden.into());
            }
            Ok(self.begin_session(credentials.user.id, false)?)
        })();
        match result {
            // Success is recorded once the second factor passes.
            Ok(session) => Ok(session),
            Err(refusal) => record_outcome(self.trail.as_ref(), event, Err(refusal)),
        }
    }

    /// The session behind `token` if it is waiting for its second factor.
    pub fn pending(&self, token: &str) -> Result<PendingSignIn, ServiceError> {
        let (session, user) = self.live_session(token)?;
        if session.second_factor_done {
            return Err(ServiceError::InvalidAccessToken);
        }
        Ok(PendingSignIn { user, session })
    }

    /// What the second-factor page should ask for. On first sign-in this creates the secret
    /// to enrol, bound to this sign-in: a secret another sign-in was shown is never shown
    /// again (whoever knows only the password cannot read the secret the user will adopt).
    pub fn second_factor_step(
        &self,
        pending: &PendingSignIn,
    ) -> Result<SecondFactorStep, ServiceError> {
        let user = pending.user.id;
        let this_sign_in = pending.session.token_hash.as_str();
        let secret = match self.factors.find(user)? {
            Some(factor) if factor.confirmed_at.is_some() => return Ok(SecondFactorStep::Verify),
            Some(factor) if factor.enrolling_session.as_deref() == Some(this_sign_in) => {
                factor.secret
            }
            _ => {
                let secret = self.new_secret()?;
                if !self
                    .factors
                    .start_enrolment(user, &secret, this_sign_in, self.clock.now())?
                {
                    // Confirmed by a concurrent sign-in in between.
                    return Ok(SecondFactorStep::Verify);
                }
                secret
            }
        };
        Ok(SecondFactorStep::Enrol {
            secret_base32: secret.to_base32(),
            provisioning_uri: secret.provisioning_uri(&pending.user.email),
        })
    }

    /// Step two: a TOTP code (or, once enrolled, a recovery code). Wrong codes count against
    /// the same throttle as wrong passwords. Success ends the pending session and begins a full
    /// one with a new token.
    pub fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        code: &str,
        origin: &RequestOrigin,
    ) -> Result<SignedIn, ServiceError> {
        let now = self.clock.now();
        let user = pending.user.id;
        let event = event_of(
            Some(user),
            origin,
            AuditAction::AdminLogin,
            now,
            Target::record(user.0, None),
        );
        let result: Result<SignedIn, Refusal> = (|| {
            let throttle_key = second_factor_key(user);
            let address = attempt_address(origin);
            self.throttling.admit_login(&throttle_key, address)?;
            let factor = self
                .factors
                .find(user)?
                .ok_or(ServiceError::InvalidAccessToken)?;
            let wrong_code = || {
                Refusal::from(ServiceError::Validation(FieldErrors::single(
                    "code", WRONG_CODE,
                )))
            };
            let mut recovery_codes = Vec::new();
            if factor.confirmed_at.is_none() {
                let step = factor
                    .secret
                    .matching_step(code, now)
                    .ok_or_else(wrong_code)?;
                recovery_codes = self.new_recovery_codes()?;
                let hashes: Vec<String> = recovery_codes.iter().map(RecoveryCode::hash).collect();
                let shown_to = pending.session.token_hash.as_str();
                if !self
                    .factors
                    .confirm_enrolment(user, shown_to, step, &hashes, now, &event)?
                {
                    return Err(wrong_code());
                }
            } else if !accept_enrolled_code(self.factors.as_ref(), &factor, code, now)? {
                return Err(wrong_code());
            }
            self.throttling.record_success(&throttle_key, address)?;
            self.sessions.delete(&pending.session.token_hash)?;
            let session = self.begin_session(user, true)?;
            Ok(SignedIn {
                session,
                recovery_codes_left: self.factors.unused_recovery_codes(user)?,
                recovery_codes,
            })
        })();
        let enrolled = matches!(&result, Ok(done) if !done.recovery_codes.is_empty());
        if enrolled {
            // Stored with the enrolment, in its transaction.
            result.map_err(|refusal| refusal.error)
        } else {
            record_outcome(self.trail.as_ref(), event, result)
        }
    }

    /// The staff user behind a fully signed-in session, checked now: the session exists, has
    /// not timed out, and its user is still active staff. Marks the session used.
    pub fn authenticate(
        &self,
        token: &str,
        origin: RequestOrigin,
    ) -> Result<StaffCaller, ServiceError> {
        let (session, user) = self.live_session(token)?;
        if !session.second_factor_done {
            return Err(ServiceError::InvalidAccessToken);
        }
        self.sessions.touch(&session.token_hash, self.clock.now())?;
        Ok(StaffCaller {
            user,
            origin,
            csrf_token: session.csrf_token,
        })
    }

    /// Ends the session behind `token`, if any.
    pub fn sign_out(&self, token: &str, origin: &RequestOrigin) -> Result<(), ServiceError> {
        let hash = token_hash(token);
        let found = self.sessions.find(&hash)?;
        self.sessions.delete(&hash)?;
        if let Some(session) = found {
            let event = event_of(
                Some(session.user_id),
                origin,
                AuditAction::AuthLogout,
                self.clock.now(),
                Target::record(session.user_id.0, None),
            );
            self.trail.record(event)?;
        }
        Ok(())
    }

    /// Enrols a second factor for a staff user from the operator's console (an alternative
    /// to enrolling at the first admin sign-in, which trusts whoever knows the password): the
    /// secret and ten recovery codes are returned once, to be handed over in person. Refused
    /// for an unknown or non-staff user, and for one who has a factor already (reset it
    /// first).
    pub fn enrol_at_console(&self, user: UserId) -> Result<ConsoleEnrolment, ServiceError> {
        let now = self.clock.now();
        let account = self
            .users
            .find_by_id(user)?
            .filter(may_use_admin_site)
            .ok_or(ServiceError::NotFound(Resource::User))?;
        let secret = self.new_secret()?;
        const CONSOLE: &str = "console";
        if !self.factors.start_enrolment(user, &secret, CONSOLE, now)? {
            return Err(ServiceError::Forbidden);
        }
        let recovery_codes = self.new_recovery_codes()?;
        let hashes: Vec<String> = recovery_codes.iter().map(RecoveryCode::hash).collect();
        let event = event_of(
            None,
            &RequestOrigin::default(),
            AuditAction::UserUpdate,
            now,
            Target::record(user.0, None),
        );
        // No code was shown at the console: every step from now on is acceptable.
        if !self
            .factors
            .confirm_enrolment(user, CONSOLE, 0, &hashes, now, &event)?
        {
            return Err(ServiceError::Forbidden);
        }
        Ok(ConsoleEnrolment {
            provisioning_uri: secret.provisioning_uri(&account.email),
            secret_base32: secret.to_base32(),
            recovery_codes,
        })
    }

    /// Removes a staff user's second factor and recovery codes and ends their sessions; the
    /// next sign-in enrols again. `actor` is the staff user acting, or none at the console.
    /// `Ok(false)` when the user had no second factor.
    pub fn reset_second_factor(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        user: UserId,
    ) -> Result<bool, ServiceError> {
        let event = event_of(
            actor,
            origin,
            AuditAction::UserUpdate,
            self.clock.now(),
            Target::record(user.0, None),
        );
        let result = self.factors.reset(user, &event).map_err(Refusal::from);
        let found = record_refusal(self.trail.as_ref(), event.clone(), result)?;
        if !found {
            self.trail.record(AuditEvent {
                outcome: AuditOutcome::Failure,
                ..event
            })?;
        }
        Ok(found)
    }

    /// Forgets sessions idle past the timeout (housekeeping; expired sessions are refused
    /// whether or not they were forgotten).
    pub fn forget_idle_sessions(&self) -> Result<u64, ServiceError> {
        let before = self.clock.now() - self.policy.idle_timeout;
        Ok(self.sessions.delete_idle(before)?)
    }

    fn live_session(&self, token: &str) -> Result<(AdminSession, User), ServiceError> {
        let hash = token_hash(token);
        let session = self
            .sessions
            .find(&hash)?
            .ok_or(ServiceError::InvalidAccessToken)?;
        let now = self.clock.now();
        if self.policy.has_expired(
            session.created_at,
            session.last_seen_at,
            session.second_factor_done,
            now,
        ) {
            self.sessions.delete(&hash)?;
            return Err(ServiceError::InvalidAccessToken);
        }
        let user = self.users.find_by_id(session.user_id)?;
        match user {
            Some(user) if may_use_admin_site(&user) => Ok((session, user)),
            _ => {
                // Deactivated or no longer staff: the session ends at once.
                self.sessions.delete(&hash)?;
                Err(ServiceError::Forbidden)
            }
        }
    }

    fn begin_session(
        &self,
        user: UserId,
        second_factor_done: bool,
    ) -> Result<IssuedSession, ServiceError> {
        let token = self.random_token()?;
        let csrf_token = self.random_token()?;
        let now = self.clock.now();
        let session = AdminSession {
            token_hash: token_hash(&token),
            user_id: user,
            csrf_token,
            second_factor_done,
            created_at: now,
            last_seen_at: now,
        };
        self.sessions
            .insert(&session)
            .map_err(|error| match error {
                RepoError::Conflict => ServiceError::Internal("session token collision".into()),
                other => other.into(),
            })?;
        Ok(IssuedSession { token, session })
    }

    fn random_token(&self) -> Result<String, ServiceError> {
        let mut bytes = [0; SESSION_TOKEN_BYTES];
        self.random.fill(&mut bytes)?;
        Ok(session_token(&bytes))
    }

    fn new_secret(&self) -> Result<TotpSecret, ServiceError> {
        let mut bytes = vec![0; TOTP_SECRET_BYTES];
        self.random.fill(&mut bytes)?;
        TotpSecret::from_bytes(bytes)
            .ok_or_else(|| ServiceError::Internal("TOTP secret too short".into()))
    }

    fn new_recovery_codes(&self) -> Result<Vec<RecoveryCode>, ServiceError> {
        (0..RECOVERY_CODE_COUNT)
            .map(|_| {
                let mut bytes = [0; RECOVERY_CODE_BYTES];
                self.random.fill(&mut bytes)?;
                Ok(RecoveryCode::from_random(&bytes))
            })
            .collect()
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
