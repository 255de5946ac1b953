//! A short-lived cache of memberships in front of a [`ClinicRepository`].
//!
//! Every authenticated request reads its caller's membership of the token's clinic (are they
//! still a member? in which role?). As with accounts (`cached_users`), a read is trusted for
//! [`MEMBERSHIP_CACHE_SECONDS`]: a change made through this repository is seen at once (any
//! write forgets every kept membership: they are rare), one made by another instance within
//! that period; the contract allows 30 seconds. Only memberships found are kept: a refused
//! caller is read again every time.

use std::sync::Arc;

use healthcare_core::ports::{ClinicRepository, Clock, MemberChange};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::clinic::{
    Clinic, ClinicId, ClinicName, Invitation, Member, Membership, NewInvitation, Role,
};
use healthcare_domain::{Timestamp, UserId};

use crate::read_cache::ReadCache;

/// How long a membership is trusted without reading it again.
pub const MEMBERSHIP_CACHE_SECONDS: i64 = 10;

/// [`ClinicRepository`] that serves `membership` and `personal_membership` from memory for
/// [`MEMBERSHIP_CACHE_SECONDS`].
pub struct CachedClinicRepository {
    inner: Arc<dyn ClinicRepository>,
    /// By user, and clinic (`None`: the personal clinic).
    memberships: ReadCache<(UserId, Option<ClinicId>), Membership>,
}

impl CachedClinicRepository {
    /// Caches reads of `inner`, aged with `clock`.
    pub fn new(inner: Arc<dyn ClinicRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            memberships: ReadCache::new(clock, MEMBERSHIP_CACHE_SECONDS),
        }
    }

    /// Runs a write and forgets every kept membership, whatever the write's outcome.
    fn forgetting<T>(&self, write: impl FnOnce() -> T) -> T {
        self.memberships.writing(|_| true, write)
    }
}

impl ClinicRepository for CachedClinicRepository {
    fn memberships_of(&self, user: UserId, page: Page) -> Result<PageOf<Membership>, RepoError> {
        self.inner.memberships_of(user, page)
    }

    fn personal_membership(&self, user: UserId) -> Result<Option<Membership>, RepoError> {
        self.memberships.read(
            (user, None),
            || self.inner.personal_membership(user),
            |_| true,
        )
    }

    fn membership(&self, clinic: ClinicId, user: UserId) -> Result<Option<Membership>, RepoError> {
        self.memberships.read(
            (user, Some(clinic)),
            || self.inner.membership(clinic, user),
            |_| true,
        )
    }

    fn membership_in_memory(&self, user: UserId, clinic: Option<ClinicId>) -> Option<Membership> {
        self.memberships.fresh(&(user, clinic))
    }

    fn create(
        &self,
        name: &ClinicName,
        creator: UserId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Membership, RepoError> {
        self.forgetting(|| self.inner.create(name, creator, at, audit))
    }

    fn rename(
        &self,
        clinic: ClinicId,
        name: &ClinicName,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        self.forgetting(|| self.inner.rename(clinic, name, audit))
    }

    fn members(&self, clinic: ClinicId, page: Page) -> Result<PageOf<Member>, RepoError> {
        self.inner.members(clinic, page)
    }

    fn list_all(&self, page: Page) -> Result<PageOf<(Clinic, u64)>, RepoError> {
        self.inner.list_all(page)
    }

    fn find(&self, clinic: ClinicId) -> Result<Option<Clinic>, RepoError> {
        self.inner.find(clinic)
    }

    fn invite(
        &self,
        invitation: &NewInvitation,
        audit: &AuditEvent,
    ) -> Result<Invitation, RepoError> {
        self.inner.invite(invitation, audit)
    }

    fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        email_lower: &str,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<Membership>, RepoError> {
        self.forgetting(|| {
            self.inner
                .accept_invitation(token_hash, user, email_lower, at, audit)
        })
    }

    fn change_role(
        &self,
        clinic: ClinicId,
        user: UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> Result<MemberChange, RepoError> {
        self.forgetting(|| self.inner.change_role(clinic, user, role, audit))
    }

    fn remove_member(
        &self,
        clinic: ClinicId,
        user: UserId,
        audit: &AuditEvent,
    ) -> Result<MemberChange, RepoError> {
        self.forgetting(|| self.inner.remove_member(clinic, user, audit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use healthcare_core::ports::MockClinicRepository;
    use healthcare_domain::audit::{AuditAction, AuditOutcome};
    use std::sync::Mutex;

    struct SettableClock(Mutex<Timestamp>);

    impl Clock for SettableClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().expect("not poisoned")
        }
    }

    fn start() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0)
            .single()
            .expect("valid date")
    }

    fn membership(role: Role) -> Membership {
        Membership {
            clinic: Clinic {
                id: ClinicId(3),
                name: "North".into(),
                personal_owner: None,
                created_at: start(),
            },
            role,
            joined_at: start(),
        }
    }

    fn event() -> AuditEvent {
        AuditEvent {
            at: start(),
            actor: None,
            action: AuditAction::ClinicMemberUpdate,
            resource_id: Some(3),
            patient_id: None,
            outcome: AuditOutcome::Success,
            origin: Default::default(),
            break_glass: false,
        }
    }

    #[test]
    fn a_membership_is_read_once_per_period_and_forgotten_by_a_change() {
        let mut store = MockClinicRepository::new();
        let mut reads = mockall::Sequence::new();
        for role in [Role::Clinician, Role::Clinician, Role::Auditor] {
            store
                .expect_membership()
                .times(1)
                .in_sequence(&mut reads)
                .returning(move |_, _| Ok(Some(membership(role))));
        }
        store
            .expect_change_role()
            .times(1)
            .returning(|_, _, _, _| Ok(MemberChange::NotMember));
        let clock = Arc::new(SettableClock(Mutex::new(start())));
        let cache = CachedClinicRepository::new(Arc::new(store), clock.clone());
        let role = || {
            cache
                .membership(ClinicId(3), UserId(7))
                .expect("read")
                .map(|found| found.role)
        };
        assert_eq!(role(), Some(Role::Clinician));
        assert_eq!(role(), Some(Role::Clinician), "served from memory");
        *clock.0.lock().expect("not poisoned") =
            start() + Duration::seconds(MEMBERSHIP_CACHE_SECONDS);
        assert_eq!(role(), Some(Role::Clinician), "read again after the period");
        cache
            .change_role(ClinicId(3), UserId(7), Role::Auditor, &event())
            .expect("write");
        assert_eq!(role(), Some(Role::Auditor), "the write forgot it");
        assert_eq!(role(), Some(Role::Auditor));
    }

    #[test]
    fn only_a_fresh_membership_is_answered_from_memory() {
        let mut store = MockClinicRepository::new();
        store
            .expect_membership()
            .times(2)
            .returning(|_, _| Ok(Some(membership(Role::Clinician))));
        store
            .expect_personal_membership()
            .times(1)
            .returning(|_| Ok(Some(membership(Role::Admin))));
        store.expect_rename().times(1).returning(|_, _, _| Ok(true));
        let clock = Arc::new(SettableClock(Mutex::new(start())));
        let cache = CachedClinicRepository::new(Arc::new(store), clock.clone());
        let in_memory = |clinic| {
            cache
                .membership_in_memory(UserId(7), clinic)
                .map(|found| found.role)
        };
        assert_eq!(in_memory(Some(ClinicId(3))), None, "never read");
        cache.membership(ClinicId(3), UserId(7)).expect("read");
        assert_eq!(in_memory(Some(ClinicId(3))), Some(Role::Clinician));
        assert_eq!(in_memory(None), None, "the personal clinic is kept apart");
        cache.personal_membership(UserId(7)).expect("read");
        assert_eq!(in_memory(None), Some(Role::Admin));
        assert_eq!(in_memory(Some(ClinicId(4))), None, "another clinic");

        *clock.0.lock().expect("not poisoned") =
            start() + Duration::seconds(MEMBERSHIP_CACHE_SECONDS);
        assert_eq!(in_memory(Some(ClinicId(3))), None, "too old");
        cache.membership(ClinicId(3), UserId(7)).expect("read");
        cache
            .rename(
                ClinicId(3),
                &ClinicName::parse("South").expect("a name"),
                &event(),
            )
            .expect("write");
        assert_eq!(in_memory(Some(ClinicId(3))), None, "forgotten by a write");
    }

    #[test]
    fn a_missing_membership_is_never_kept() {
        let mut store = MockClinicRepository::new();
        store
            .expect_membership()
            .times(2)
            .returning(|_, _| Ok(None));
        store
            .expect_personal_membership()
            .times(1)
            .returning(|_| Ok(Some(membership(Role::Admin))));
        let clock = Arc::new(SettableClock(Mutex::new(start())));
        let cache = CachedClinicRepository::new(Arc::new(store), clock);
        for _ in 0..2 {
            assert_eq!(
                cache.membership(ClinicId(3), UserId(7)).expect("read"),
                None
            );
            assert!(
                cache
                    .personal_membership(UserId(7))
                    .expect("read")
                    .is_some()
            );
        }
    }
}
