//! A short-lived cache of active accounts in front of a [`UserRepository`].
//!
//! Every authenticated request reads its caller's account (is it still active? were its
//! tokens refused?). Trusting a read for a few seconds saves that round trip on nearly every
//! request (docs/BENCHMARKS.md). A change made through this repository is seen at once: the
//! write forgets the account. A change made by another instance is seen within
//! [`ACCOUNT_CACHE_SECONDS`]; the contract allows 30 seconds.

use std::sync::Arc;

use healthcare_core::RepoError;
use healthcare_core::ports::{Clock, UserCredentials, UserRepository};
use healthcare_domain::audit::AuditEvent;
use healthcare_domain::{NewUser, Timestamp, User, UserId};

use crate::read_cache::ReadCache;

/// How long an active account is trusted without reading it again.
pub const ACCOUNT_CACHE_SECONDS: i64 = 10;

/// [`UserRepository`] that serves `find_by_id` of active accounts from memory for
/// [`ACCOUNT_CACHE_SECONDS`], and forgets an account whenever it is written through it.
pub struct CachedUserRepository {
    inner: Arc<dyn UserRepository>,
    accounts: ReadCache<UserId, User>,
}

impl CachedUserRepository {
    /// Caches reads of `inner`, aged with `clock`.
    pub fn new(inner: Arc<dyn UserRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            accounts: ReadCache::new(clock, ACCOUNT_CACHE_SECONDS),
        }
    }

    /// Runs a write and forgets the account, whatever the write's outcome.
    fn forgetting<T>(&self, id: UserId, write: impl FnOnce() -> T) -> T {
        self.accounts.writing(|cached| *cached == id, write)
    }
}

impl UserRepository for CachedUserRepository {
    fn insert(&self, user: &NewUser) -> Result<User, RepoError> {
        self.inner.insert(user)
    }

    fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError> {
        // Only active accounts are kept: a refused caller is read again every time.
        self.accounts
            .read(id, || self.inner.find_by_id(id), |user| user.is_active)
    }

    fn find_by_id_in_memory(&self, id: UserId) -> Option<User> {
        self.accounts.fresh(&id)
    }

    fn find_credentials_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        self.inner.find_credentials_by_email(normalized_email)
    }

    fn list(&self) -> Result<Vec<User>, RepoError> {
        self.inner.list()
    }

    fn update_password(
        &self,
        id: UserId,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> Result<bool, RepoError> {
        self.forgetting(id, || self.inner.update_password(id, password_hash, audit))
    }

    fn set_active(&self, id: UserId, active: bool, audit: &AuditEvent) -> Result<bool, RepoError> {
        self.forgetting(id, || self.inner.set_active(id, active, audit))
    }

    fn set_staff(&self, id: UserId, staff: bool, audit: &AuditEvent) -> Result<bool, RepoError> {
        self.forgetting(id, || self.inner.set_staff(id, staff, audit))
    }

    fn refuse_tokens_issued_before(&self, id: UserId, at: Timestamp) -> Result<(), RepoError> {
        self.forgetting(id, || self.inner.refuse_tokens_issued_before(id, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// One stored account whose reads are counted.
    struct OneAccount {
        user: Mutex<User>,
        reads: AtomicUsize,
        /// Runs inside the next read, after the account was read: a write overtaking it.
        during_read: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    }

    impl UserRepository for OneAccount {
        fn insert(&self, _: &NewUser) -> Result<User, RepoError> {
            Err(RepoError::Conflict)
        }
        fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepoError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let user = self.user.lock().expect("not poisoned").clone();
            let overtaking_write = self.during_read.lock().expect("not poisoned").take();
            if let Some(write) = overtaking_write {
                write();
            }
            Ok(Some(user).filter(|user| user.id == id))
        }
        fn find_credentials_by_email(&self, _: &str) -> Result<Option<UserCredentials>, RepoError> {
            Ok(None)
        }
        fn list(&self) -> Result<Vec<User>, RepoError> {
            Ok(vec![self.user.lock().expect("not poisoned").clone()])
        }
        fn update_password(&self, _: UserId, _: &str, _: &AuditEvent) -> Result<bool, RepoError> {
            Ok(true)
        }
        fn set_active(&self, _: UserId, active: bool, _: &AuditEvent) -> Result<bool, RepoError> {
            self.user.lock().expect("not poisoned").is_active = active;
            Ok(true)
        }
        fn set_staff(&self, _: UserId, staff: bool, _: &AuditEvent) -> Result<bool, RepoError> {
            self.user.lock().expect("not poisoned").is_staff = staff;
            Ok(true)
        }
        fn refuse_tokens_issued_before(&self, _: UserId, at: Timestamp) -> Result<(), RepoError> {
            self.user.lock().expect("not poisoned").tokens_valid_after = Some(at);
            Ok(())
        }
    }

    struct SettableClock(Mutex<Timestamp>);

    impl Clock for SettableClock {
        fn now(&self) -> Timestamp {
            *self.0.lock().expect("not poisoned")
        }
    }

    fn start() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0)
            .single()
            .expect("valid date")
    }

    /// The cache over one active account, the account, and the clock.
    fn cache() -> (CachedUserRepository, Arc<OneAccount>, Arc<SettableClock>) {
        let store = Arc::new(OneAccount {
            user: Mutex::new(User {
                id: UserId(7),
                name: "Ann Lee".into(),
                email: "ann@example.com".into(),
                is_active: true,
                is_staff: false,
                created_at: start(),
                tokens_valid_after: None,
            }),
            reads: AtomicUsize::new(0),
            during_read: Mutex::new(None),
        });
        let clock = Arc::new(SettableClock(Mutex::new(start())));
        let cache = CachedUserRepository::new(store.clone(), clock.clone());
        (cache, store, clock)
    }

    fn change() -> AuditEvent {
        AuditEvent {
            at: start(),
            actor: None,
            action: healthcare_domain::audit::AuditAction::UserUpdate,
            resource_id: Some(7),
            patient_id: None,
            outcome: healthcare_domain::audit::AuditOutcome::Success,
            origin: Default::default(),
            break_glass: false,
        }
    }

    fn reads(store: &OneAccount) -> usize {
        store.reads.load(Ordering::SeqCst)
    }

    #[test]
    fn an_active_account_is_read_once_per_cache_period() {
        let (cache, store, clock) = cache();
        for _ in 0..3 {
            let found = cache.find_by_id(UserId(7)).expect("read");
            assert_eq!(found.map(|user| user.id), Some(UserId(7)));
        }
        assert_eq!(reads(&store), 1);
        *clock.0.lock().expect("not poisoned") = start() + Duration::seconds(ACCOUNT_CACHE_SECONDS);
        cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(reads(&store), 2, "read again once the period is over");
    }

    #[test]
    fn only_a_fresh_read_is_answered_from_memory() {
        let (cache, store, clock) = cache();
        assert_eq!(cache.find_by_id_in_memory(UserId(7)), None, "never read");
        cache.find_by_id(UserId(7)).expect("read");
        let kept = cache.find_by_id_in_memory(UserId(7));
        assert_eq!(kept.map(|user| user.id), Some(UserId(7)));
        assert_eq!(
            cache.find_by_id_in_memory(UserId(8)),
            None,
            "another account"
        );

        *clock.0.lock().expect("not poisoned") = start() + Duration::seconds(ACCOUNT_CACHE_SECONDS);
        assert_eq!(cache.find_by_id_in_memory(UserId(7)), None, "too old");
        cache.find_by_id(UserId(7)).expect("read");
        cache
            .refuse_tokens_issued_before(UserId(7), start())
            .expect("write");
        assert_eq!(
            cache.find_by_id_in_memory(UserId(7)),
            None,
            "forgotten by the write"
        );
        assert_eq!(
            reads(&store),
            2,
            "answering from memory never reads the store"
        );
    }

    #[test]
    fn a_change_made_through_the_cache_is_seen_at_once() {
        let (cache, store, _) = cache();
        let event = change();
        cache.find_by_id(UserId(7)).expect("read");
        cache.set_active(UserId(7), false, &event).expect("write");
        let found = cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(found.map(|user| user.is_active), Some(false));
        assert_eq!(reads(&store), 2);

        cache.set_active(UserId(7), true, &event).expect("write");
        cache.find_by_id(UserId(7)).expect("read");
        cache
            .refuse_tokens_issued_before(UserId(7), start())
            .expect("write");
        let found = cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(
            found.and_then(|user| user.tokens_valid_after),
            Some(start())
        );

        cache.set_staff(UserId(7), true, &event).expect("write");
        let found = cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(found.map(|user| user.is_staff), Some(true));
        cache
            .update_password(UserId(7), "hash", &event)
            .expect("write");
        cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(
            reads(&store),
            6,
            "every write made the next read go to the store"
        );
    }

    #[test]
    fn a_read_overtaken_by_a_write_is_not_kept() {
        let (cache, store, _) = cache();
        let cache = Arc::new(cache);
        let writer = cache.clone();
        *store.during_read.lock().expect("not poisoned") = Some(Box::new(move || {
            writer
                .refuse_tokens_issued_before(UserId(7), start())
                .expect("write");
        }));
        let overtaken = cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(
            overtaken.and_then(|user| user.tokens_valid_after),
            None,
            "read before the sign-out"
        );
        let after = cache.find_by_id(UserId(7)).expect("read");
        assert_eq!(
            after.and_then(|user| user.tokens_valid_after),
            Some(start()),
            "the stale read was not cached"
        );
        assert_eq!(reads(&store), 2);
    }

    #[test]
    fn inactive_and_unknown_accounts_are_never_cached() {
        let (cache, store, _) = cache();
        store.user.lock().expect("not poisoned").is_active = false;
        for _ in 0..2 {
            let found = cache.find_by_id(UserId(7)).expect("read");
            assert_eq!(found.map(|user| user.is_active), Some(false));
            assert_eq!(cache.find_by_id(UserId(8)).expect("read"), None);
        }
        assert_eq!(reads(&store), 4);
    }
}
