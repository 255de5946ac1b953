//! Admin site sessions: begun after the second factor, checked on every request, ended.

use healthcare_domain::audit::{AuditAction, RequestOrigin};
use healthcare_domain::staff::{may_use_admin_site, session_token_hash as token_hash};
use healthcare_domain::{User, UserId};

use crate::services::audit::{Target, event_of};
use crate::{RepoError, ServiceError};

use super::*;

impl StaffSignIn {
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
        StaffCaller::new(user, origin, session.csrf_token).ok_or(ServiceError::InvalidAccessToken)
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

    /// Forgets sessions idle past the timeout (housekeeping; expired sessions are refused
    /// whether or not they were forgotten).
    pub fn forget_idle_sessions(&self) -> Result<u64, ServiceError> {
        let before = self.clock.now() - self.policy.idle_timeout;
        Ok(self.sessions.delete_idle(before)?)
    }

    pub(super) fn live_session(&self, token: &str) -> Result<(AdminSession, User), ServiceError> {
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

    pub(super) fn begin_session(
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
}
