//! Registration, sign-in, token rotation and sign-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::password::check_password;
use healthcare_domain::registration::RegistrationInput;
use healthcare_domain::tokens::{RefreshRejection, RefreshTokenRecord};
use healthcare_domain::user::normalize_email;
use healthcare_domain::{FieldErrors, NewUser, Timestamp, User, UserId};

use crate::ports::{
    AdminSessionRepository, AuditTrail, Clock, PasswordHasher, RefreshTokenRepository,
    SecondFactorRepository, SignInFactors, TokenCodec, TokenDecodeError, TokenKind, UserRepository,
};
use crate::services::audit::{Caller, Refusal, Target, event_of, record_outcome, record_refusal};
use crate::services::throttling::{Throttling, attempt_address, report_staff_lockout};
use crate::{RepoError, ServiceError, TokenProblem};

mod second_factor;

pub use second_factor::NO_SECOND_FACTOR;

/// The message for a registration whose e-mail is taken.
pub const EMAIL_TAKEN: &str = "A user with this email already exists.";

/// A login request. A `None` field was already reported by the transport in `shape_errors`.
#[derive(Default)]
pub struct LoginInput {
    /// E-mail address, any case.
    pub email: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Errors found while reading the request.
    pub shape_errors: FieldErrors,
}

/// The message for a wrong old password (Django's).
pub const WRONG_OLD_PASSWORD: &str =
    "Your old password was entered incorrectly. Please enter it again.";

/// A password change. A `None` field was already reported by the transport in `shape_errors`.
#[derive(Default)]
pub struct PasswordChangeInput {
    /// The current password.
    pub old_password: Option<String>,
    /// The new password.
    pub new_password: Option<String>,
    /// Errors found while reading the request.
    pub shape_errors: FieldErrors,
}

/// An access token and a refresh token issued together.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// Short-lived token for API calls.
    pub access: String,
    /// Token to obtain the next pair.
    pub refresh: String,
}

impl std::fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionTokens(***)")
    }
}

/// How long an authenticated account is trusted without reading it again. A deactivation (or
/// a change of staff rights) made elsewhere takes effect within this; the contract allows 30
/// seconds. It saves a database round trip on nearly every request (docs/BENCHMARKS.md).
const ACCOUNT_CACHE_SECONDS: i64 = 10;
/// Most accounts cached at once; past it the cache starts over.
const ACCOUNT_CACHE_LIMIT: usize = 10_000;

/// Recently authenticated active accounts and when each was read.
type AccountCache = Arc<Mutex<HashMap<UserId, (User, Timestamp)>>>;

/// Who an access token speaks for, checked now, and how that session signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The account, active.
    pub user: User,
    /// The password alone, or the password and a second-factor code.
    pub factors: SignInFactors,
}

/// Accounts and sessions.
#[derive(Clone)]
pub struct AuthService {
    accounts: AccountCache,
    users: Arc<dyn UserRepository>,
    refresh_tokens: Arc<dyn RefreshTokenRepository>,
    admin_sessions: Arc<dyn AdminSessionRepository>,
    factors: Arc<dyn SecondFactorRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenCodec>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
    throttling: Throttling,
}

/// The ports [`AuthService`] needs.
#[derive(Clone)]
pub struct AuthPorts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// API sessions.
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    /// Admin site sessions, ended with the API's when credentials or rights change.
    pub admin_sessions: Arc<dyn AdminSessionRepository>,
    /// Second factors, for the API's second-factor step.
    pub factors: Arc<dyn SecondFactorRepository>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Token signing.
    pub tokens: Arc<dyn TokenCodec>,
    /// Sign-ins and account changes.
    pub trail: Arc<dyn AuditTrail>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl AuthService {
    /// Wires the service to its ports.
    pub fn new(ports: AuthPorts, throttling: Throttling) -> Self {
        Self {
            accounts: AccountCache::default(),
            users: ports.users,
            refresh_tokens: ports.refresh_tokens,
            admin_sessions: ports.admin_sessions,
            factors: ports.factors,
            hasher: ports.hasher,
            tokens: ports.tokens,
            trail: ports.trail,
            clock: ports.clock,
            throttling,
        }
    }

    /// Ends every session of the user, API and admin site alike: refresh tokens revoked,
    /// access tokens refused, admin sessions deleted. Runs after the change that calls for it
    /// is committed with its audit row: a failure here is not a second row.
    fn sign_out_everywhere(&self, user: UserId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        self.refresh_tokens.revoke_all_for_user(user, now)?;
        self.refuse_access_tokens(user, now)?;
        Ok(self.admin_sessions.delete_for_user(user)?)
    }

    /// Refuses the user's access tokens issued before `now`: at once on this instance (its
    /// account cache forgets the user), within the cache period on the others.
    fn refuse_access_tokens(&self, user: UserId, now: Timestamp) -> Result<(), ServiceError> {
        self.users.refuse_tokens_issued_before(user, now)?;
        self.cached_accounts().remove(&user);
        Ok(())
    }

    /// Counts an auth request from a client address; refuses it past the per-minute limit.
    pub fn check_client_address(&self, address: &str) -> Result<(), ServiceError> {
        self.throttling.check_address(address)
    }

    /// Registers a user and signs them in. A taken e-mail (any case) is a field error on
    /// `email`, reported together with every other bad field.
    pub fn register_user(
        &self,
        input: RegistrationInput,
    ) -> Result<(User, SessionTokens), ServiceError> {
        self.create_user(input, false).and_then(|user| {
            let tokens = self.start_session(user.id, SignInFactors::Password)?;
            Ok((user, tokens))
        })
    }

    /// Creates a user with staff rights (the admin CLI), with the same validation as
    /// registration.
    pub fn create_staff_user(&self, input: RegistrationInput) -> Result<User, ServiceError> {
        self.create_user(input, true)
    }

    fn create_user(&self, input: RegistrationInput, is_staff: bool) -> Result<User, ServiceError> {
        let email_taken = match input.email.as_deref() {
            Some(email) => self
                .users
                .find_credentials_by_email(&normalize_email(email))?
                .is_some(),
            None => false,
        };
        let valid = match input.validate() {
            Ok(valid) if !email_taken => valid,
            Ok(_) => return Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
            Err(mut errors) => {
                if email_taken {
                    errors.add("email", EMAIL_TAKEN);
                }
                return Err(errors.into());
            }
        };
        let new_user = NewUser {
            name: valid.name,
            email: valid.email,
            password_hash: self.hasher.hash(&valid.password)?,
            is_staff,
            created_at: self.clock.now(),
        };
        match self.users.insert(&new_user) {
            Err(RepoError::Conflict) => Err(FieldErrors::single("email", EMAIL_TAKEN).into()),
            other => Ok(other?),
        }
    }

    /// Signs a user in. A wrong password, an unknown e-mail and an inactive user give the same
    /// error after the same work (one password verification each).
    pub fn login(
        &self,
        input: LoginInput,
        origin: &RequestOrigin,
    ) -> Result<(User, SessionTokens), ServiceError> {
        let now = self.clock.now();
        let mut event = event_of(None, origin, AuditAction::AuthLogin, now, Target::NONE);
        let result = self.sign_in(input, &mut event);
        record_outcome(self.trail.as_ref(), event, result)
    }

    fn sign_in(
        &self,
        input: LoginInput,
        event: &mut AuditEvent,
    ) -> Result<(User, SessionTokens), Refusal> {
        let mut errors = input.shape_errors;
        for (field, value) in [("email", &input.email), ("password", &input.password)] {
            if value.as_deref().is_some_and(|v| v.is_empty()) {
                errors.add(field, healthcare_domain::user::BLANK);
            }
        }
        let (Some(email), Some(password)) = (input.email, input.password) else {
            return Err(errors.into());
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let email_key = normalize_email(&email);
        let address = attempt_address(&event.origin).to_owned();
        let credentials = self.users.find_credentials_by_email(&email_key)?;
        if let Some(found) = &credentials {
            event.actor = Some(found.user.id);
            event.resource_id = Some(found.user.id.0);
        }
        // Throttled exactly the same whether or not an account exists: nothing is revealed.
        if let Err(refused) = self.throttling.admit_login(&email_key, &address) {
            if let Some(found) = &credentials {
                report_staff_lockout(&found.user, &address, &refused);
            }
            return Err(refused.into());
        }
        let accepted = match &credentials {
            Some(found) => {
                self.hasher.verify(&password, &found.password_hash) && found.user.is_active
            }
            None => {
                self.hasher.verify_dummy(&password);
                false
            }
        };
        let Some(credentials) = credentials.filter(|_| accepted) else {
            return Err(ServiceError::InvalidCredentials.into());
        };
        self.throttling.record_success(&email_key, &address)?;
        let tokens = self.start_session(credentials.user.id, SignInFactors::Password)?;
        Ok((credentials.user, tokens))
    }

    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a
    /// spent token again revokes every token descended from the same login.
    pub fn refresh_session(
        &self,
        refresh_token: &str,
        origin: &RequestOrigin,
    ) -> Result<SessionTokens, ServiceError> {
        let now = self.clock.now();
        let mut event = event_of(None, origin, AuditAction::AuthRefresh, now, Target::NONE);
        let result = self.redeem(refresh_token, &mut event);
        record_outcome(self.trail.as_ref(), event, result.map_err(Refusal::from))
    }

    fn redeem(
        &self,
        refresh_token: &str,
        event: &mut AuditEvent,
    ) -> Result<SessionTokens, ServiceError> {
        let (record, factors) = self.redeemable_refresh_token(refresh_token, event)?;
        let user = self.users.find_by_id(record.user_id)?;
        if !user.is_some_and(|u| u.is_active) {
            return Err(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired));
        }
        let now = self.clock.now();
        // The successors carry the session's factors: a second factor is proved once per
        // sign-in, not once per access token.
        let access = self
            .tokens
            .issue(TokenKind::Access, record.user_id, factors, now)?;
        let refresh = self
            .tokens
            .issue(TokenKind::Refresh, record.user_id, factors, now)?;
        let successor = RefreshTokenRecord {
            jti: refresh.claims.jti.clone(),
            user_id: record.user_id,
            family_id: record.family_id.clone(),
            expires_at: refresh.claims.expires_at,
            spent_at: None,
            revoked_at: None,
        };
        if self.refresh_tokens.rotate(&record.jti, &successor, now)? {
            Ok(SessionTokens {
                access: access.token,
                refresh: refresh.token,
            })
        } else {
            // Another request redeemed it first: a replay, handled like any reuse.
            self.revoke_stolen_family(&record, now)?;
            Err(ServiceError::RefreshToken(TokenProblem::Blacklisted))
        }
    }

    /// A refresh token was presented twice: someone else holds a copy. Its family is revoked
    /// and the user's access tokens issued so far are refused.
    fn revoke_stolen_family(
        &self,
        record: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.refresh_tokens.revoke_family(&record.family_id, now)?;
        self.refuse_access_tokens(record.user_id, now)
    }

    /// Ends the session the refresh token belongs to: its whole family is revoked, and the
    /// user's access tokens issued so far are refused (other sessions get new ones with their
    /// refresh tokens). Only the token's own user may end its session: another user's token
    /// is "invalid".
    pub fn logout(&self, caller: &Caller, refresh_token: &str) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let target = Target::record(caller.user.0, None);
        let event = caller.event(AuditAction::AuthLogout, now, target);
        let result = (|| {
            let (record, _) = self.known_refresh_token(refresh_token)?;
            if record.user_id != caller.user {
                return Err(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired));
            }
            if record.revoked_at.is_some() {
                return Err(ServiceError::RefreshToken(TokenProblem::Blacklisted));
            }
            self.refresh_tokens.revoke_family(&record.family_id, now)?;
            self.refuse_access_tokens(caller.user, now)
        })();
        record_outcome(self.trail.as_ref(), event, result.map_err(Refusal::from))
    }

    /// The user an access token belongs to, if the token is valid, the user still exists and
    /// is active, and the token was not issued before their last sign-out, password change or
    /// theft. The account is read at most every [`ACCOUNT_CACHE_SECONDS`].
    pub fn authenticate(&self, access_token: &str) -> Result<Authenticated, ServiceError> {
        let claims = self
            .tokens
            .decode(access_token, TokenKind::Access)
            .map_err(|_| ServiceError::InvalidAccessToken)?;
        let user = self.account(claims.user_id)?;
        if !user.accepts_token_issued_at(claims.issued_at) {
            return Err(ServiceError::InvalidAccessToken);
        }
        Ok(Authenticated {
            user,
            factors: claims.factors,
        })
    }

    /// The active account `id`, from the cache when read within [`ACCOUNT_CACHE_SECONDS`].
    fn account(&self, id: UserId) -> Result<User, ServiceError> {
        let now = self.clock.now();
        let fresh_after = now - chrono::Duration::seconds(ACCOUNT_CACHE_SECONDS);
        if let Some((user, _)) = self
            .cached_accounts()
            .get(&id)
            .filter(|(_, read_at)| *read_at > fresh_after)
        {
            return Ok(user.clone());
        }
        let found = self.users.find_by_id(id)?;
        let mut accounts = self.cached_accounts();
        match found {
            Some(user) if user.is_active => {
                if accounts.len() >= ACCOUNT_CACHE_LIMIT {
                    accounts.clear();
                }
                accounts.insert(user.id, (user.clone(), now));
                Ok(user)
            }
            _ => {
                accounts.remove(&id);
                Err(ServiceError::InvalidAccessToken)
            }
        }
    }

    fn cached_accounts(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (User, Timestamp)>> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the caller's password after checking the old one; every refresh token of the
    /// user is revoked, so other API sessions end at their next refresh, and their admin site
    /// sessions end at once.
    pub fn change_password(
        &self,
        user: &User,
        origin: &RequestOrigin,
        input: PasswordChangeInput,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let target = Target::record(user.id.0, None);
        let event = event_of(
            Some(user.id),
            origin,
            AuditAction::AuthPasswordChange,
            now,
            target,
        );
        let result = self.replace_password(user, input, &event);
        record_refusal(self.trail.as_ref(), event, result.map_err(Refusal::from))?;
        self.sign_out_everywhere(user.id)
    }

    fn replace_password(
        &self,
        user: &User,
        input: PasswordChangeInput,
        event: &AuditEvent,
    ) -> Result<(), ServiceError> {
        let mut errors = input.shape_errors;
        let email_key = normalize_email(&user.email);
        let credentials = self
            .users
            .find_credentials_by_email(&email_key)?
            .filter(|found| found.user.id == user.id)
            .ok_or(ServiceError::InvalidAccessToken)?;
        if let Some(old) = &input.old_password {
            // A wrong old password is a password guess: counted like a failed sign-in.
            let address = attempt_address(&event.origin);
            if let Err(refused) = self.throttling.admit_login(&email_key, address) {
                report_staff_lockout(user, address, &refused);
                return Err(refused);
            }
            if self.hasher.verify(old, &credentials.password_hash) {
                self.throttling.record_success(&email_key, address)?;
            } else {
                errors.add("old_password", WRONG_OLD_PASSWORD);
            }
        }
        let accepted = input.new_password.as_deref().and_then(|new| {
            let personal = [("name", user.name.as_str()), ("email", user.email.as_str())];
            match check_password(new, &personal) {
                Ok(accepted) => Some(accepted),
                Err(messages) => {
                    messages
                        .into_iter()
                        .for_each(|m| errors.add("new_password", m));
                    None
                }
            }
        });
        let Some(accepted) = accepted.filter(|_| errors.is_empty()) else {
            return Err(errors.into());
        };
        let hash = self.hasher.hash(&accepted)?;
        if !self.users.update_password(user.id, &hash, event)? {
            return Err(ServiceError::InvalidAccessToken);
        }
        Ok(())
    }

    /// Sets whether a user may sign in; deactivation ends every session at once.
    /// `actor` is the staff user acting, or none for an operator at the console.
    pub fn set_user_active(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        user_id: UserId,
        active: bool,
    ) -> Result<bool, ServiceError> {
        let found = self.update_user(actor, origin, user_id, |event| {
            self.users.set_active(user_id, active, event)
        })?;
        if found && !active {
            self.sign_out_everywhere(user_id)?;
        }
        Ok(found)
    }

    /// Grants or removes staff rights (reading the audit trail). `actor` as for
    /// [`Self::set_user_active`].
    pub fn set_user_staff(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        user_id: UserId,
        staff: bool,
    ) -> Result<bool, ServiceError> {
        let found = self.update_user(actor, origin, user_id, |event| {
            self.users.set_staff(user_id, staff, event)
        })?;
        if found && !staff {
            // The admin site is for staff only: their sessions there end at once.
            self.admin_sessions.delete_for_user(user_id)?;
        }
        Ok(found)
    }

    /// Sets a password chosen by staff or an operator (a forced reset), checked by the password
    /// policy (messages on `password`); every session of the user ends. Recorded
    /// as `user.update`. `Ok(false)` for an unknown user.
    pub fn reset_password(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        user_id: UserId,
        new_password: &str,
    ) -> Result<bool, ServiceError> {
        let Some(user) = self.users.find_by_id(user_id)? else {
            return self.update_user(actor, origin, user_id, |_| Ok(false));
        };
        let personal = [("name", user.name.as_str()), ("email", user.email.as_str())];
        let hash = check_password(new_password, &personal)
            .map_err(|messages| {
                let mut errors = FieldErrors::new();
                messages.into_iter().for_each(|m| errors.add("password", m));
                ServiceError::from(errors)
            })
            .and_then(|accepted| self.hasher.hash(&accepted));
        let hash = match hash {
            Ok(hash) => hash,
            // Refused before the write: still its one `user.update` row, as a failure.
            Err(error) => {
                let target = Target::record(user_id.0, None);
                let now = self.clock.now();
                let event = event_of(actor, origin, AuditAction::UserUpdate, now, target);
                return record_refusal(self.trail.as_ref(), event, Err(Refusal::from(error)));
            }
        };
        let found = self.update_user(actor, origin, user_id, |event| {
            self.users.update_password(user_id, &hash, event)
        })?;
        if found {
            self.sign_out_everywhere(user_id)?;
        }
        Ok(found)
    }

    /// One `user.update`: the write stores its row when it finds the user; an unknown user is
    /// recorded as a failure and reported as `Ok(false)`.
    fn update_user(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        user_id: UserId,
        write: impl FnOnce(&AuditEvent) -> Result<bool, RepoError>,
    ) -> Result<bool, ServiceError> {
        let target = Target::record(user_id.0, None);
        let event = event_of(
            actor,
            origin,
            AuditAction::UserUpdate,
            self.clock.now(),
            target,
        );
        let result = write(&event).map_err(Refusal::from);
        // This instance sees the change at once; others within ACCOUNT_CACHE_SECONDS.
        self.cached_accounts().remove(&user_id);
        let found = record_refusal(self.trail.as_ref(), event.clone(), result)?;
        if !found {
            self.trail.record(AuditEvent {
                outcome: AuditOutcome::Failure,
                ..event
            })?;
        }
        Ok(found)
    }

    /// Every user, for the admin CLI.
    pub fn list_users(&self) -> Result<Vec<User>, ServiceError> {
        Ok(self.users.list()?)
    }

    fn start_session(
        &self,
        user_id: UserId,
        factors: SignInFactors,
    ) -> Result<SessionTokens, ServiceError> {
        let now = self.clock.now();
        let access = self
            .tokens
            .issue(TokenKind::Access, user_id, factors, now)?;
        let refresh = self
            .tokens
            .issue(TokenKind::Refresh, user_id, factors, now)?;
        self.refresh_tokens.insert(&RefreshTokenRecord {
            jti: refresh.claims.jti.clone(),
            user_id,
            // A new login starts a new family, named after its first token.
            family_id: refresh.claims.jti.clone(),
            expires_at: refresh.claims.expires_at,
            spent_at: None,
            revoked_at: None,
        })?;
        Ok(SessionTokens {
            access: access.token,
            refresh: refresh.token,
        })
    }

    /// The stored record of a refresh token, and the factors its session signed in with.
    fn known_refresh_token(
        &self,
        token: &str,
    ) -> Result<(RefreshTokenRecord, SignInFactors), ServiceError> {
        let claims = self
            .tokens
            .decode(token, TokenKind::Refresh)
            .map_err(|error| {
                ServiceError::RefreshToken(match error {
                    TokenDecodeError::WrongType => TokenProblem::WrongType,
                    TokenDecodeError::Invalid => TokenProblem::InvalidOrExpired,
                })
            })?;
        self.refresh_tokens
            .find(&claims.jti)?
            .filter(|record| record.user_id == claims.user_id)
            .map(|record| (record, claims.factors))
            .ok_or(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired))
    }

    fn redeemable_refresh_token(
        &self,
        token: &str,
        event: &mut AuditEvent,
    ) -> Result<(RefreshTokenRecord, SignInFactors), ServiceError> {
        let (record, factors) = self.known_refresh_token(token)?;
        event.actor = Some(record.user_id);
        event.resource_id = Some(record.user_id.0);
        let now = self.clock.now();
        match record.check_redeemable(now) {
            Ok(()) => Ok((record, factors)),
            Err(RefreshRejection::Expired) => {
                Err(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired))
            }
            Err(RefreshRejection::Blacklisted { revoke_family }) => {
                if revoke_family {
                    self.revoke_stolen_family(&record, now)?;
                }
                Err(ServiceError::RefreshToken(TokenProblem::Blacklisted))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{
        IssuedToken, MockAdminSessionRepository, MockPasswordHasher, MockRefreshTokenRepository,
        MockSecondFactorRepository, MockThrottleRepository, MockTokenCodec, MockUserRepository,
        TokenClaims, UserCredentials,
    };
    use crate::services::tests::RecordingTrail;
    use chrono::{Duration, TimeZone, Utc};
    use healthcare_domain::Timestamp;
    use healthcare_domain::throttle::{AddressRateLimit, LoginThrottle};
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
            .returning(move |kind, user_id, factors, now| {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let jti = format!("{kind:?}-{n}");
                Ok(IssuedToken {
                    token: jti.clone(),
                    claims: TokenClaims {
                        kind,
                        user_id,
                        factors,
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
            &User {
                id: user,
                ..self::user(true)
            },
            SignInFactors::Password,
            origin(),
        )
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
        }
    }

    fn login_input(email: &str, password: &str) -> LoginInput {
        LoginInput {
            email: Some(email.into()),
            password: Some(password.into()),
            ..Default::default()
        }
    }

    #[test]
    fn register_stores_the_user_and_starts_a_token_family() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .with(eq("ann@example.com"))
            .returning(|_| Ok(None));
        ports
            .hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok("$2b$04$hash".into()));
        ports
            .users
            .expect_insert()
            .withf(|new| {
                new.password_hash == "$2b$04$hash" && !new.is_staff && new.created_at == now()
            })
            .returning(|_| Ok(user(true)));
        ports
            .refresh_tokens
            .expect_insert()
            .withf(|record| record.family_id == record.jti && record.user_id == UserId(7))
            .times(1)
            .returning(|_| Ok(()));
        let (registered, tokens) = ports
            .service()
            .register_user(registration("Ann@Example.com", "vivid-otter-41"))
            .expect("registered");
        assert_eq!(registered, user(true));
        assert_eq!(tokens.access, "Access-0");
        assert_eq!(tokens.refresh, "Refresh-1");
    }

    #[test]
    fn register_with_a_taken_email_reports_it_with_the_other_errors() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_hash().never();
        ports.users.expect_insert().never();
        let error = ports
            .service()
            .register_user(registration("ANN@example.com", "short"))
            .err();
        let Some(ServiceError::Validation(errors)) = error else {
            panic!("expected validation errors, got {error:?}");
        };
        assert!(errors.has("email") && errors.has("password"));
    }

    #[test]
    fn register_race_lost_at_the_unique_index_is_a_field_error() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        ports.hasher.expect_hash().returning(|_| Ok("h".into()));
        ports
            .users
            .expect_insert()
            .returning(|_| Err(RepoError::Conflict));
        let error = ports
            .service()
            .register_user(registration("ann@example.com", "vivid-otter-41"));
        assert_eq!(
            error.err(),
            Some(ServiceError::Validation(FieldErrors::single(
                "email",
                EMAIL_TAKEN
            )))
        );
    }

    #[test]
    fn login_with_an_unknown_email_still_verifies_a_password() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        ports
            .hasher
            .expect_verify_dummy()
            .with(eq("vivid-otter-41"))
            .times(1)
            .return_const(());
        ports.refresh_tokens.expect_insert().never();
        let (service, trail) = ports.start();
        let result = service.login(
            login_input("nobody@example.com", "vivid-otter-41"),
            &origin(),
        );
        assert_eq!(result.err(), Some(ServiceError::InvalidCredentials));
        assert_eq!(
            trail.take_one(),
            row(AuditAction::AuthLogin, None, None, AuditOutcome::Failure),
            "no account: no actor"
        );
    }

    #[test]
    fn login_with_a_wrong_password_fails_the_same_way() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().times(1).return_const(false);
        let (service, trail) = ports.start();
        let result = service.login(login_input("ann@example.com", "wrong-password"), &origin());
        assert_eq!(result.err(), Some(ServiceError::InvalidCredentials));
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthLogin,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Failure
            ),
            "the account's id, though the password was wrong"
        );
    }

    #[test]
    fn login_of_an_inactive_user_fails_even_with_the_right_password() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(false))));
        ports.hasher.expect_verify().times(1).return_const(true);
        ports.refresh_tokens.expect_insert().never();
        let (service, trail) = ports.start();
        let result = service.login(login_input("ann@example.com", "vivid-otter-41"), &origin());
        assert_eq!(result.err(), Some(ServiceError::InvalidCredentials));
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthLogin,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Failure
            )
        );
    }

    #[test]
    fn a_throttled_email_is_refused_before_any_password_check_even_without_an_account() {
        let mut ports = Ports::new();
        let mut counters = MockThrottleRepository::new();
        counters
            .expect_login_failures_since()
            .with(
                eq("Attempts on nobody@example.com from 198.51.100.4"),
                eq(now() - Duration::minutes(15)),
            )
            .returning(|_, _| Ok((5, Some(now() - Duration::minutes(5)))));
        // Refused while locked: not counted, so the lock does not extend itself.
        counters.expect_record_login_failure().never();
        ports.throttle = counters;
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        ports.hasher.expect_verify().never();
        ports.hasher.expect_verify_dummy().never();
        let (service, trail) = ports.start();
        let result = service.login(
            login_input("Nobody@example.com", "vivid-otter-41"),
            &origin(),
        );
        assert_eq!(result.err(), Some(ServiceError::Throttled(600)));
        assert_eq!(
            trail.take_one(),
            row(AuditAction::AuthLogin, None, None, AuditOutcome::Denied)
        );
    }

    #[test]
    fn attempts_are_counted_per_address_and_per_account_and_a_success_resets_the_address() {
        let per_address = "Attempts on ann@example.com from 198.51.100.4";
        let mut ports = Ports::new();
        let mut counters = MockThrottleRepository::new();
        counters
            .expect_login_failures_since()
            .returning(|_, _| Ok((2, Some(now()))));
        for key in [per_address, "ann@example.com"] {
            counters
                .expect_record_login_failure()
                .with(eq(key), eq(now()), eq(now() - Duration::minutes(15)))
                .times(1)
                .returning(|_, _, _| Ok(()));
        }
        ports.throttle = counters;
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().return_const(false);
        assert_eq!(
            ports
                .service()
                .login(login_input("ann@example.com", "wrong"), &origin())
                .err(),
            Some(ServiceError::InvalidCredentials)
        );

        let mut ports = Ports::new();
        let mut counters = MockThrottleRepository::new();
        counters
            .expect_login_failures_since()
            .returning(|_, _| Ok((4, Some(now()))));
        counters
            .expect_record_login_failure()
            .times(2)
            .returning(|_, _, _| Ok(()));
        counters
            .expect_clear_login_failures()
            .with(eq(per_address))
            .times(1)
            .returning(|_| Ok(()));
        ports.throttle = counters;
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().return_const(true);
        ports.refresh_tokens.expect_insert().returning(|_| Ok(()));
        let (service, trail) = ports.start();
        assert!(
            service
                .login(login_input("ann@example.com", "right"), &origin())
                .is_ok()
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthLogin,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Success
            )
        );
    }

    #[test]
    fn a_full_account_counter_refuses_every_address() {
        let mut ports = Ports::new();
        let mut counters = MockThrottleRepository::new();
        counters
            .expect_login_failures_since()
            .with(
                eq("Attempts on ann@example.com from 198.51.100.4"),
                always(),
            )
            .returning(|_, _| Ok((0, None)));
        counters
            .expect_login_failures_since()
            .with(eq("ann@example.com"), always())
            .returning(|_, _| Ok((50, Some(now() - Duration::minutes(10)))));
        counters.expect_record_login_failure().never();
        ports.throttle = counters;
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().never();
        let (service, _trail) = ports.start();
        assert_eq!(
            service
                .login(login_input("ann@example.com", "right"), &origin())
                .err(),
            Some(ServiceError::Throttled(300))
        );
    }

    #[test]
    fn login_reports_missing_and_blank_fields() {
        let mut input = LoginInput {
            email: Some(String::new()),
            ..Default::default()
        };
        input
            .shape_errors
            .add("password", "This field is required.");
        let (service, trail) = Ports::new().start();
        let result = service.login(input, &origin());
        let Some(ServiceError::Validation(errors)) = result.err() else {
            panic!("expected validation errors");
        };
        assert!(errors.has("email") && errors.has("password"));
        assert_eq!(
            trail.take_one(),
            row(AuditAction::AuthLogin, None, None, AuditOutcome::Failure)
        );
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
                jti: "r1".into(),
                issued_at: now(),
                expires_at: now() + Duration::days(1),
            })
        });
    }

    #[test]
    fn refresh_rotates_within_the_family() {
        let mut ports = Ports::new();
        decoding_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(false, false))));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(true))));
        ports
            .refresh_tokens
            .expect_rotate()
            .withf(|spent, successor, _| spent == "r1" && successor.family_id == "family")
            .times(1)
            .returning(|_, _, _| Ok(true));
        let (service, trail) = ports.start();
        let tokens = service.refresh_session("r1", &origin()).expect("rotated");
        assert_eq!(tokens.refresh, "Refresh-1");
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthRefresh,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Success
            )
        );
    }

    #[test]
    fn a_refreshed_session_keeps_its_second_factor() {
        let mut ports = Ports::new();
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(false, false))));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(true))));
        ports
            .refresh_tokens
            .expect_rotate()
            .returning(|_, _, _| Ok(true));
        let mut codec = MockTokenCodec::new();
        codec
            .expect_issue()
            .withf(|_, _, factors, _| *factors == SignInFactors::PasswordAndCode)
            .times(2)
            .returning(|kind, user_id, factors, now| {
                Ok(IssuedToken {
                    token: format!("{kind:?}"),
                    claims: TokenClaims {
                        kind,
                        user_id,
                        factors,
                        jti: format!("{kind:?}"),
                        issued_at: now,
                        expires_at: now,
                    },
                })
            });
        codec.expect_decode().returning(|_, _| {
            Ok(TokenClaims {
                kind: TokenKind::Refresh,
                user_id: UserId(7),
                factors: SignInFactors::PasswordAndCode,
                jti: "r1".into(),
                issued_at: now(),
                expires_at: now() + Duration::days(1),
            })
        });
        ports.tokens = codec;
        assert!(ports.service().refresh_session("r1", &origin()).is_ok());
    }

    #[test]
    fn access_tokens_issued_before_a_sign_out_are_refused() {
        for (issued_at, accepted) in [
            (now() - Duration::seconds(1), false),
            (now(), true),
            (now() + Duration::seconds(1), true),
        ] {
            let mut ports = Ports::new();
            ports.tokens.expect_decode().returning(move |_, _| {
                Ok(TokenClaims {
                    kind: TokenKind::Access,
                    user_id: UserId(7),
                    factors: SignInFactors::Password,
                    jti: "a".into(),
                    issued_at,
                    expires_at: now() + Duration::minutes(15),
                })
            });
            ports.users.expect_find_by_id().returning(|_| {
                Ok(Some(User {
                    tokens_valid_after: Some(now()),
                    ..user(true)
                }))
            });
            let authenticated = ports.service().authenticate("a");
            assert_eq!(authenticated.is_ok(), accepted, "issued {issued_at}");
        }
    }

    fn enrolled_factor() -> crate::ports::SecondFactor {
        crate::ports::SecondFactor {
            user_id: UserId(7),
            secret: healthcare_domain::staff::TotpSecret::from_bytes(vec![7; 20])
                .expect("long enough"),
            confirmed_at: Some(now()),
            last_step: 0,
            enrolling_session: None,
        }
    }

    #[test]
    fn a_valid_code_starts_a_session_whose_tokens_carry_the_second_factor() {
        let mut ports = Ports::new();
        ports
            .factors
            .expect_find()
            .returning(|_| Ok(Some(enrolled_factor())));
        let step = now().timestamp() / 30;
        ports
            .factors
            .expect_accept_step()
            .with(eq(UserId(7)), eq(step))
            .times(1)
            .returning(|_, _| Ok(true));
        ports.refresh_tokens.expect_insert().returning(|_| Ok(()));
        let code = enrolled_factor().secret.code_at(now());
        let (service, trail) = ports.start();
        let tokens = service
            .confirm_second_factor(&caller(UserId(7)), Some(&code), FieldErrors::new())
            .expect("confirmed");
        assert_eq!(
            (tokens.access.as_str(), tokens.refresh.as_str()),
            ("Access-0", "Refresh-1")
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthSecondFactor,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Success
            )
        );
    }

    #[test]
    fn a_wrong_code_or_a_missing_factor_is_a_field_error() {
        let mut ports = Ports::new();
        ports
            .factors
            .expect_find()
            .returning(|_| Ok(Some(enrolled_factor())));
        ports.factors.expect_accept_step().never();
        ports.tokens.expect_issue().never();
        let (service, trail) = ports.start();
        let refused =
            service.confirm_second_factor(&caller(UserId(7)), Some("000000x"), FieldErrors::new());
        assert_eq!(
            refused,
            Err(ServiceError::Validation(FieldErrors::single(
                "code",
                crate::services::staff_sign_in::WRONG_CODE
            )))
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);

        let mut ports = Ports::new();
        ports.factors.expect_find().returning(|_| Ok(None));
        let service = ports.service();
        assert_eq!(
            service.confirm_second_factor(&caller(UserId(7)), Some("123456"), FieldErrors::new()),
            Err(ServiceError::Validation(FieldErrors::single(
                "code",
                NO_SECOND_FACTOR
            )))
        );
    }

    #[test]
    fn presenting_a_spent_refresh_token_revokes_its_family() {
        let mut ports = Ports::new();
        decoding_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(true, false))));
        ports
            .refresh_tokens
            .expect_revoke_family()
            .with(eq("family"), eq(now()))
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_refuse_tokens_issued_before()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, _| Ok(()));
        ports.refresh_tokens.expect_rotate().never();
        let (service, trail) = ports.start();
        let result = service.refresh_session("r1", &origin());
        assert_eq!(
            result.err(),
            Some(ServiceError::RefreshToken(TokenProblem::Blacklisted))
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthRefresh,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Denied
            ),
            "reuse is a denial"
        );
    }

    #[test]
    fn losing_a_concurrent_redemption_is_treated_as_reuse() {
        let mut ports = Ports::new();
        decoding_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(false, false))));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(true))));
        ports
            .refresh_tokens
            .expect_rotate()
            .returning(|_, _, _| Ok(false));
        ports
            .refresh_tokens
            .expect_revoke_family()
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_refuse_tokens_issued_before()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, _| Ok(()));
        let (service, trail) = ports.start();
        let result = service.refresh_session("r1", &origin());
        assert_eq!(
            result.err(),
            Some(ServiceError::RefreshToken(TokenProblem::Blacklisted))
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Denied);
    }

    #[test]
    fn refresh_of_a_deactivated_user_is_refused() {
        let mut ports = Ports::new();
        decoding_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(false, false))));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(false))));
        ports.refresh_tokens.expect_rotate().never();
        let result = ports.service().refresh_session("r1", &origin());
        assert_eq!(
            result.err(),
            Some(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired))
        );
    }

    #[test]
    fn an_access_token_is_not_a_refresh_token() {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _| Err(TokenDecodeError::WrongType));
        let (service, trail) = ports.start();
        let result = service.refresh_session("access", &origin());
        assert_eq!(
            result.err(),
            Some(ServiceError::RefreshToken(TokenProblem::WrongType))
        );
        assert_eq!(
            trail.take_one(),
            row(AuditAction::AuthRefresh, None, None, AuditOutcome::Denied),
            "an undecodable token names no one"
        );
    }

    #[test]
    fn logout_revokes_the_family_and_refuses_a_revoked_token() {
        let mut ports = Ports::new();
        decoding_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(true, false))));
        ports
            .refresh_tokens
            .expect_revoke_family()
            .with(eq("family"), eq(now()))
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_refuse_tokens_issued_before()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, _| Ok(()));
        let (service, trail) = ports.start();
        assert_eq!(
            service.logout(&caller(UserId(8)), "r1").err(),
            Some(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired)),
            "another user's refresh token"
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthLogout,
                Some(UserId(8)),
                Some(UserId(8)),
                AuditOutcome::Denied
            )
        );
        assert_eq!(service.logout(&caller(UserId(7)), "r1"), Ok(()));
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthLogout,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Success
            )
        );

        let mut ports = Ports::new();
        decoding_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_find()
            .returning(|_| Ok(Some(refresh_record(false, true))));
        ports.refresh_tokens.expect_revoke_family().never();
        assert_eq!(
            ports.service().logout(&caller(UserId(7)), "r1").err(),
            Some(ServiceError::RefreshToken(TokenProblem::Blacklisted))
        );
    }

    #[test]
    fn authenticate_refuses_tokens_of_inactive_or_deleted_users() {
        for found in [Some(user(false)), None] {
            let mut ports = Ports::new();
            ports.tokens.expect_decode().returning(|_, _| {
                Ok(TokenClaims {
                    kind: TokenKind::Access,
                    user_id: UserId(7),
                    factors: SignInFactors::Password,
                    jti: "a".into(),
                    issued_at: now(),
                    expires_at: now(),
                })
            });
            ports.users.expect_find_by_id().return_const(Ok(found));
            assert_eq!(
                ports.service().authenticate("a").err(),
                Some(ServiceError::InvalidAccessToken)
            );
        }
    }

    #[test]
    fn an_active_account_is_read_once_per_cache_period_and_forgotten_when_changed_here() {
        let mut ports = Ports::new();
        ports.tokens.expect_decode().returning(|_, _| {
            Ok(TokenClaims {
                kind: TokenKind::Access,
                user_id: UserId(7),
                factors: SignInFactors::Password,
                jti: "a".into(),
                issued_at: now(),
                expires_at: now(),
            })
        });
        // The clock stands still: within the cache period, one read serves every request,
        // until this instance deactivates the user; then the account is read again.
        let mut reads = mockall::Sequence::new();
        ports
            .users
            .expect_find_by_id()
            .times(1)
            .in_sequence(&mut reads)
            .return_const(Ok(Some(user(true))));
        ports
            .users
            .expect_find_by_id()
            .times(1)
            .in_sequence(&mut reads)
            .return_const(Ok(Some(user(false))));
        ports
            .users
            .expect_set_active()
            .times(1)
            .returning(|_, _, _| Ok(true));
        ports
            .refresh_tokens
            .expect_revoke_all_for_user()
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_refuse_tokens_issued_before()
            .with(eq(UserId(7)), always())
            .returning(|_, _| Ok(()));
        ports
            .admin_sessions
            .expect_delete_for_user()
            .returning(|_| Ok(()));
        let service = ports.service();
        for _ in 0..3 {
            assert_eq!(service.authenticate("a").map(|u| u.user.id), Ok(UserId(7)));
        }
        let origin = RequestOrigin::default();
        assert_eq!(
            service.set_user_active(None, &origin, UserId(7), false),
            Ok(true)
        );
        assert_eq!(
            service.authenticate("a").err(),
            Some(ServiceError::InvalidAccessToken)
        );
    }

    #[test]
    fn a_password_change_checks_the_old_one_and_revokes_every_session() {
        let change = |old: &str, new: &str| PasswordChangeInput {
            old_password: Some(old.into()),
            new_password: Some(new.into()),
            ..Default::default()
        };
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().return_const(false);
        ports.users.expect_update_password().never();
        let (service, trail) = ports.start();
        let result = service.change_password(&user(true), &origin(), change("wrong", "short"));
        let Some(ServiceError::Validation(errors)) = result.err() else {
            panic!("expected validation errors");
        };
        assert!(errors.has("old_password") && errors.has("new_password"));
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::AuthPasswordChange,
                Some(UserId(7)),
                Some(UserId(7)),
                AuditOutcome::Failure
            )
        );

        let mut ports = Ports::new();
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().return_const(true);
        ports
            .hasher
            .expect_hash()
            .returning(|_| Ok("$2b$04$new".into()));
        ports
            .users
            .expect_update_password()
            .with(
                eq(UserId(7)),
                eq("$2b$04$new"),
                eq(row(
                    AuditAction::AuthPasswordChange,
                    Some(UserId(7)),
                    Some(UserId(7)),
                    AuditOutcome::Success,
                )),
            )
            .times(1)
            .returning(|_, _, _| Ok(true));
        ports
            .refresh_tokens
            .expect_revoke_all_for_user()
            .with(eq(UserId(7)), eq(now()))
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_refuse_tokens_issued_before()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .admin_sessions
            .expect_delete_for_user()
            .with(eq(UserId(7)))
            .times(1)
            .returning(|_| Ok(()));
        let (service, trail) = ports.start();
        assert_eq!(
            service.change_password(
                &user(true),
                &origin(),
                change("old-password", "tangerine-lorry-57")
            ),
            Ok(())
        );
        trail.assert_empty();
    }

    #[test]
    fn wrong_old_passwords_are_counted_like_failed_sign_ins() {
        let change = || PasswordChangeInput {
            old_password: Some("guess".into()),
            new_password: Some("tangerine-lorry-57".into()),
            ..Default::default()
        };
        let mut ports = Ports::new();
        let mut counters = MockThrottleRepository::new();
        counters
            .expect_login_failures_since()
            .returning(|_, _| Ok((1, Some(now()))));
        for key in [
            "Attempts on ann@example.com from 198.51.100.4",
            "ann@example.com",
        ] {
            counters
                .expect_record_login_failure()
                .with(eq(key), eq(now()), always())
                .times(1)
                .returning(|_, _, _| Ok(()));
        }
        counters.expect_clear_login_failures().never();
        ports.throttle = counters;
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().return_const(false);
        let (service, _trail) = ports.start();
        assert!(matches!(
            service.change_password(&user(true), &origin(), change()),
            Err(ServiceError::Validation(_))
        ));

        // Once the counter is full, the guess is refused before the password is checked.
        let mut ports = Ports::new();
        let mut counters = MockThrottleRepository::new();
        counters
            .expect_login_failures_since()
            .returning(|_, _| Ok((5, Some(now() - Duration::minutes(5)))));
        counters.expect_record_login_failure().never();
        ports.throttle = counters;
        ports
            .users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(Some(credentials(true))));
        ports.hasher.expect_verify().never();
        ports.users.expect_update_password().never();
        let (service, trail) = ports.start();
        assert_eq!(
            service.change_password(&user(true), &origin(), change()),
            Err(ServiceError::Throttled(600))
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Denied);
    }

    #[test]
    fn deactivation_revokes_every_refresh_token() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_set_active()
            .with(
                eq(UserId(7)),
                eq(false),
                function(|audit: &AuditEvent| {
                    *audit
                        == row(
                            AuditAction::UserUpdate,
                            Some(UserId(1)),
                            Some(UserId(7)),
                            AuditOutcome::Success,
                        )
                }),
            )
            .times(1)
            .returning(|_, _, _| Ok(true));
        ports
            .refresh_tokens
            .expect_revoke_all_for_user()
            .with(eq(UserId(7)), eq(now()))
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_refuse_tokens_issued_before()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .admin_sessions
            .expect_delete_for_user()
            .with(eq(UserId(7)))
            .times(1)
            .returning(|_| Ok(()));
        let (service, trail) = ports.start();
        assert_eq!(
            service.set_user_active(Some(UserId(1)), &origin(), UserId(7), false),
            Ok(true)
        );
        trail.assert_empty();
    }

    #[test]
    fn changing_an_unknown_user_is_recorded_as_one_failure() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_set_active()
            .times(1)
            .returning(|_, _, _| Ok(false));
        ports.refresh_tokens.expect_revoke_all_for_user().never();
        ports.admin_sessions.expect_delete_for_user().never();
        let (service, trail) = ports.start();
        assert_eq!(
            service.set_user_active(None, &origin(), UserId(99), false),
            Ok(false)
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::UserUpdate,
                None,
                Some(UserId(99)),
                AuditOutcome::Failure
            )
        );
    }

    #[test]
    fn a_failed_deactivation_is_recorded_as_one_failure() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_set_active()
            .returning(|_, _, _| Err(RepoError::Unavailable("down".into())));
        let (service, trail) = ports.start();
        assert_eq!(
            service.set_user_active(Some(UserId(1)), &origin(), UserId(7), false),
            Err(ServiceError::Unavailable("down".into()))
        );
        assert_eq!(
            trail.take_one(),
            row(
                AuditAction::UserUpdate,
                Some(UserId(1)),
                Some(UserId(7)),
                AuditOutcome::Failure
            )
        );
    }
}
