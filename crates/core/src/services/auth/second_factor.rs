//! The API's second-factor step: a session signed in with the password proves a code of the
//! user's enrolled factor (TOTP or a recovery code, enrolled on the admin site) and gets
//! tokens that say so, for what needs more than a password (the whole audit trail).

use healthcare_domain::audit::AuditAction;
use healthcare_domain::throttle::second_factor_key;
use healthcare_domain::{FieldErrors, FieldProblem};

use super::{AuthService, SessionTokens};
use crate::ServiceError;
use crate::ports::SignInFactors;
use crate::services::audit::{Caller, Target};
use crate::services::staff_sign_in::accept_enrolled_code;
use crate::services::throttling::attempt_address;

impl AuthService {
    /// Checks `code` against the caller's enrolled second factor and, when it passes, starts
    /// a new session whose tokens carry both factors. Wrong codes count against the same
    /// throttle as the admin site's; a code is used up (a TOTP step once, a recovery code
    /// once), as there.
    pub fn confirm_second_factor(
        &self,
        caller: &Caller,
        code: Option<&str>,
        shape_errors: FieldErrors,
    ) -> Result<SessionTokens, ServiceError> {
        let user = caller.account()?;
        let now = self.clock.now();
        let target = Target::record(user.0, None);
        let action = AuditAction::AuthSecondFactor;
        let scope = caller.audit(self.trail.as_ref(), action, now, target);
        scope.run(|_| {
            let code = match code.map(str::trim) {
                Some(code) if shape_errors.is_empty() && !code.is_empty() => code,
                Some(_) if shape_errors.is_empty() => {
                    return Err(FieldErrors::single("code", FieldProblem::Blank).into());
                }
                _ => return Err(shape_errors.into()),
            };
            let factor = self
                .factors
                .find(user)?
                .filter(|factor| factor.confirmed_at.is_some())
                .ok_or_else(|| FieldErrors::single("code", FieldProblem::NoSecondFactor))?;
            let throttle_key = second_factor_key(user);
            let address = attempt_address(&caller.origin);
            self.throttling.admit_login(&throttle_key, address)?;
            if !accept_enrolled_code(self.factors.as_ref(), &factor, code, now)? {
                return Err(FieldErrors::single("code", FieldProblem::WrongCode).into());
            }
            self.throttling.record_success(&throttle_key, address)?;
            let clinic = caller.clinic().ok_or(ServiceError::Forbidden)?;
            Ok(self.start_session(user, SignInFactors::PasswordAndCode, clinic)?)
        })
    }
}
