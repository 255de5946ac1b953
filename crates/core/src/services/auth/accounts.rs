//! Accounts: registration, password changes and resets, and the rights staff and operators
//! grant.

use healthcare_domain::audit::{AuditAction, AuditEvent, RequestOrigin};
use healthcare_domain::password::check_password;
use healthcare_domain::registration::RegistrationInput;
use healthcare_domain::user::normalize_email;
use healthcare_domain::{FieldErrors, FieldProblem, NewUser, User, UserId};

use super::{AuthService, PasswordChangeInput, SessionTokens};
use crate::ports::SignInFactors;
use crate::services::audit::{AuditScope, Refusal, Target, event_of};
use crate::services::throttling::{attempt_address, report_staff_lockout};
use crate::{RepoError, Resource, ServiceError};

impl AuthService {
    /// Registers a user and signs them in. A taken e-mail (any case) is a field error on
    /// `email`, reported together with every other bad field.
    pub fn register_user(
        &self,
        input: RegistrationInput,
    ) -> Result<(User, SessionTokens), ServiceError> {
        self.create_user(input, false).and_then(|user| {
            // Registration stored the personal clinic with the account.
            let personal = self.membership_in(user.id, None)?.ok_or_else(|| {
                ServiceError::Internal("a new account has no personal clinic".into())
            })?;
            let tokens =
                self.start_session(user.id, SignInFactors::Password, personal.clinic.id)?;
            Ok((user, tokens))
        })
    }

    /// Creates a user with staff rights (the console), with the same validation as
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
            Ok(_) => return Err(FieldErrors::single("email", FieldProblem::EmailTaken).into()),
            Err(mut errors) => {
                if email_taken {
                    errors.add("email", FieldProblem::EmailTaken);
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
            Err(RepoError::Conflict) => {
                Err(FieldErrors::single("email", FieldProblem::EmailTaken).into())
            }
            other => Ok(other?),
        }
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
        AuditScope::new(self.trail.as_ref(), event)
            .run(|event| Ok(self.replace_password(user, input, event.for_change())?))?;
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
                errors.add("old_password", FieldProblem::WrongOldPassword);
            }
        }
        let accepted = input.new_password.as_deref().and_then(|new| {
            let personal = [("name", user.name.as_str()), ("email", user.email.as_str())];
            match check_password(new, &personal) {
                Ok(accepted) => Some(accepted),
                Err(problems) => {
                    problems
                        .into_iter()
                        .for_each(|p| errors.add("new_password", p));
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
            Ok(self.users.set_active(user_id, active, event)?)
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
            Ok(self.users.set_staff(user_id, staff, event)?)
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
        let found = self.update_user(actor, origin, user_id, |event| {
            let Some(user) = self.users.find_by_id(user_id)? else {
                return Ok(false);
            };
            let personal = [("name", user.name.as_str()), ("email", user.email.as_str())];
            let accepted = check_password(new_password, &personal).map_err(|problems| {
                let mut errors = FieldErrors::new();
                problems.into_iter().for_each(|p| errors.add("password", p));
                errors
            })?;
            let hash = self.hasher.hash(&accepted)?;
            Ok(self.users.update_password(user_id, &hash, event)?)
        })?;
        if found {
            self.sign_out_everywhere(user_id)?;
        }
        Ok(found)
    }

    /// One `user.update`: the write stores its row when it finds the user (`Ok(true)`); an
    /// unknown user is recorded as a failure and reported as `Ok(false)`.
    fn update_user(
        &self,
        actor: Option<UserId>,
        origin: &RequestOrigin,
        user_id: UserId,
        write: impl FnOnce(&AuditEvent) -> Result<bool, Refusal>,
    ) -> Result<bool, ServiceError> {
        let target = Target::record(user_id.0, None);
        let now = self.clock.now();
        let event = event_of(actor, origin, AuditAction::UserUpdate, now, target);
        let unknown = ServiceError::NotFound(Resource::User);
        let result = AuditScope::new(self.trail.as_ref(), event).run(|event| {
            if write(event.for_change())? {
                Ok(())
            } else {
                Err(unknown.clone().into())
            }
        });
        match result {
            Ok(()) => Ok(true),
            Err(error) if error == unknown => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Every user, for the console.
    pub fn list_users(&self) -> Result<Vec<User>, ServiceError> {
        Ok(self.users.list()?)
    }
}
