//! The second step of signing in: enrolling a second factor or proving it, and resetting it.

use healthcare_domain::audit::{AuditAction, RequestOrigin};
use healthcare_domain::staff::{
    RECOVERY_CODE_BYTES, RECOVERY_CODE_COUNT, RecoveryCode, TOTP_SECRET_BYTES, TotpSecret,
    may_use_admin_site,
};
use healthcare_domain::throttle::second_factor_key;
use healthcare_domain::{FieldErrors, FieldProblem, UserId};

use crate::services::audit::{AuditScope, Refusal, Target, event_of};
use crate::services::throttling::attempt_address;
use crate::{Resource, ServiceError};

use super::*;

impl StaffSignIn {
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
        AuditScope::new(self.trail.as_ref(), event).run(|row| {
            let throttle_key = second_factor_key(user);
            let address = attempt_address(origin);
            self.throttling.admit_login(&throttle_key, address)?;
            let factor = self
                .factors
                .find(user)?
                .ok_or(ServiceError::InvalidAccessToken)?;
            let wrong_code = || {
                Refusal::from(ServiceError::Validation(FieldErrors::single(
                    "code",
                    FieldProblem::WrongCode,
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
                if !self.factors.confirm_enrolment(
                    user,
                    shown_to,
                    step,
                    &hashes,
                    now,
                    row.for_change(),
                )? {
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
        })
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
        // No factor to remove: recorded as a failure, reported as `Ok(false)`.
        let none = ServiceError::NotFound(Resource::User);
        let result = AuditScope::new(self.trail.as_ref(), event).run(|row| {
            if self.factors.reset(user, row.for_change())? {
                Ok(())
            } else {
                Err(none.clone().into())
            }
        });
        match result {
            Ok(()) => Ok(true),
            Err(error) if error == none => Ok(false),
            Err(error) => Err(error),
        }
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
