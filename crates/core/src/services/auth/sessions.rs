//! Sessions: sign-in, refresh-token rotation with reuse detection, and sign-out.

use healthcare_domain::audit::{AuditAction, AuditEvent, RequestOrigin};
use healthcare_domain::clinic::{ClinicId, Membership};
use healthcare_domain::fields::{Submitted, WriteMode, check_field};
use healthcare_domain::tokens::{RefreshRejection, RefreshTokenRecord};
use healthcare_domain::user::normalize_email;
use healthcare_domain::{FieldErrors, FieldProblem, Timestamp, User, UserId};

use super::{AuthService, LoginInput, SessionTokens};
use crate::ports::{SignInFactors, TokenClaims, TokenDecodeError, TokenKind};
use crate::services::audit::{AuditScope, Caller, Refusal, Target, event_of};
use crate::services::throttling::{attempt_address, report_staff_lockout};
use crate::{ServiceError, TokenProblem};

impl AuthService {
    /// Counts an auth request from a client address; refuses it past the per-minute limit.
    pub fn check_client_address(&self, address: &str) -> Result<(), ServiceError> {
        self.throttling.check_address(address)
    }

    /// Signs a user in, acting in the clinic asked for (the personal clinic by default). A
    /// wrong password, an unknown e-mail, an inactive user and a clinic the user is not a
    /// member of give the same error (a password verification each).
    pub fn login(
        &self,
        input: LoginInput,
        origin: &RequestOrigin,
    ) -> Result<(User, SessionTokens), ServiceError> {
        let now = self.clock.now();
        let event = event_of(None, origin, AuditAction::AuthLogin, now, Target::NONE);
        AuditScope::new(self.trail.as_ref(), event)
            .run(|event| self.sign_in(input, event.event_mut()))
    }

    fn sign_in(
        &self,
        input: LoginInput,
        event: &mut AuditEvent,
    ) -> Result<(User, SessionTokens), Refusal> {
        let mut errors = input.shape_errors;
        for (field, value) in [("email", &input.email), ("password", &input.password)] {
            if value.as_deref().is_some_and(|v| v.is_empty()) {
                errors.add(field, FieldProblem::Blank);
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
        let user = credentials.user;
        let Some(membership) = self.membership_in(user.id, input.clinic.map(ClinicId))? else {
            return Err(ServiceError::InvalidCredentials.into());
        };
        self.throttling.record_success(&email_key, &address)?;
        let tokens = self.start_session(user.id, SignInFactors::Password, membership.clinic.id)?;
        Ok((user, tokens))
    }

    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a
    /// spent token again revokes every token descended from the same login.
    pub fn refresh_session(
        &self,
        refresh_token: &str,
        origin: &RequestOrigin,
    ) -> Result<SessionTokens, ServiceError> {
        let now = self.clock.now();
        let event = event_of(None, origin, AuditAction::AuthRefresh, now, Target::NONE);
        AuditScope::new(self.trail.as_ref(), event)
            .run(|event| Ok(self.redeem(refresh_token, event.event_mut())?))
    }

    fn redeem(
        &self,
        refresh_token: &str,
        event: &mut AuditEvent,
    ) -> Result<SessionTokens, ServiceError> {
        let (record, claims) = self.redeemable_refresh_token(refresh_token, event)?;
        let user = self.users.find_by_id(record.user_id)?;
        if !user.is_some_and(|u| u.is_active) {
            return Err(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired));
        }
        // A member removed from the session's clinic cannot refresh their way back in.
        let Some(membership) = self.membership_in(record.user_id, claims.clinic)? else {
            return Err(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired));
        };
        let now = self.clock.now();
        // The successors carry the session's factors and clinic: a second factor is proved
        // once per sign-in, not once per access token.
        let (factors, clinic) = (claims.factors, membership.clinic.id);
        let access = self
            .tokens
            .issue(TokenKind::Access, record.user_id, factors, clinic, now)?;
        let refresh =
            self.tokens
                .issue(TokenKind::Refresh, record.user_id, factors, clinic, now)?;
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
        let user = caller.account()?;
        let now = self.clock.now();
        let target = Target::record(user.0, None);
        let scope = caller.audit(self.trail.as_ref(), AuditAction::AuthLogout, now, target);
        scope.run(|_| {
            let (record, _) = self.known_refresh_token(refresh_token)?;
            if record.user_id != user {
                return Err(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired).into());
            }
            if record.revoked_at.is_some() {
                return Err(ServiceError::RefreshToken(TokenProblem::Blacklisted).into());
            }
            self.refresh_tokens.revoke_family(&record.family_id, now)?;
            Ok(self.refuse_access_tokens(user, now)?)
        })
    }

    /// Starts a new session (a new refresh-token family) acting in `clinic`.
    pub(super) fn start_session(
        &self,
        user_id: UserId,
        factors: SignInFactors,
        clinic: ClinicId,
    ) -> Result<SessionTokens, ServiceError> {
        let now = self.clock.now();
        let access = self
            .tokens
            .issue(TokenKind::Access, user_id, factors, clinic, now)?;
        let refresh = self
            .tokens
            .issue(TokenKind::Refresh, user_id, factors, clinic, now)?;
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

    /// The stored record of a refresh token, and the token's claims.
    fn known_refresh_token(
        &self,
        token: &str,
    ) -> Result<(RefreshTokenRecord, TokenClaims), ServiceError> {
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
            .map(|record| (record, claims))
            .ok_or(ServiceError::RefreshToken(TokenProblem::InvalidOrExpired))
    }

    fn redeemable_refresh_token(
        &self,
        token: &str,
        event: &mut AuditEvent,
    ) -> Result<(RefreshTokenRecord, TokenClaims), ServiceError> {
        let (record, claims) = self.known_refresh_token(token)?;
        event.actor = Some(record.user_id);
        event.resource_id = Some(record.user_id.0);
        let now = self.clock.now();
        match record.check_redeemable(now) {
            Ok(()) => Ok((record, claims)),
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

    /// Starts a session of the caller acting in another of their clinics, signed in with the
    /// same factors; the caller's current tokens stay valid in their own clinic. A clinic the
    /// caller is not a member of is answered like a missing one.
    pub fn switch_clinic(
        &self,
        caller: &Caller,
        clinic: Submitted<i64>,
        shape_errors: FieldErrors,
    ) -> Result<(Membership, SessionTokens), ServiceError> {
        let user = caller.account()?;
        let now = self.clock.now();
        let mut errors = shape_errors;
        let clinic = check_field(&mut errors, "clinic", clinic, true, WriteMode::Create, Ok);
        let target = clinic.map_or(Target::NONE, |clinic| Target::record(clinic, None));
        let scope = caller.audit(self.trail.as_ref(), AuditAction::ClinicSwitch, now, target);
        scope.run(|_| {
            let Some(clinic) = clinic.filter(|_| errors.is_empty()) else {
                return Err(errors.into());
            };
            let membership = self
                .membership_in(user, Some(ClinicId(clinic)))?
                .ok_or_else(|| {
                    FieldErrors::single("clinic", FieldProblem::UnknownRecord { given: clinic })
                })?;
            let tokens = self.start_session(user, caller.factors, membership.clinic.id)?;
            Ok((membership, tokens))
        })
    }
}
