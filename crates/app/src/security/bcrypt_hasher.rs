//! bcrypt password hashing. bcrypt uses at most 72 bytes of a password; longer ones are
//! refused (the policy refuses them at registration, and `verify` never matches them) instead
//! of being silently cut. The crate's `non_truncating_*` functions count the C terminator and
//! so refuse a 72-byte password, which bcrypt uses whole: hence the explicit length check.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use healthcare_core::ServiceError;
use healthcare_core::ports::PasswordHasher;
use healthcare_domain::password::{AcceptedPassword, MAX_BYTES};

/// Bounds how many hashes run at once: at the production cost one takes a core for about a
/// quarter of a second, so a flood of logins would otherwise take every core from the other
/// requests (measured: scenario S6 in docs/BENCHMARKS.md).
struct HashingSlots {
    free: Mutex<usize>,
    released: Condvar,
}

/// A taken slot, given back when dropped.
struct Slot<'a>(&'a HashingSlots);

impl HashingSlots {
    fn new(slots: usize) -> Self {
        Self {
            free: Mutex::new(slots.max(1)),
            released: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a free slot.
    fn take(&self) -> Slot<'_> {
        let mut free = self.lock();
        while *free == 0 {
            free = self
                .released
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.lock() += 1;
        self.0.released.notify_one();
    }
}

/// [`PasswordHasher`] with bcrypt at a configured cost.
pub struct BcryptHasher {
    cost: u32,
    /// A hash of a random password at the same cost, verified when no account matches.
    dummy_hash: OnceLock<String>,
    slots: HashingSlots,
}

impl BcryptHasher {
    /// A hasher at `cost`, which the settings have checked to be within 4–31, running at most
    /// half the machine's cores' worth of hashes at once (at least one).
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            cost,
            dummy_hash: OnceLock::new(),
            slots: HashingSlots::new(cores / 2),
        }
    }

    /// Computes the dummy hash now (one hash's time), so the first login for an unknown
    /// account costs what every later one does.
    pub fn warm_up(&self) {
        self.dummy_hash();
    }

    fn dummy_hash(&self) -> &str {
        self.dummy_hash.get_or_init(|| {
            bcrypt::hash(uuid::Uuid::new_v4().to_string(), self.cost)
                .expect("the bcrypt cost was validated at start")
        })
    }
}

impl PasswordHasher for BcryptHasher {
    fn hash(&self, password: &AcceptedPassword) -> Result<String, ServiceError> {
        if password.expose().len() > MAX_BYTES {
            return Err(ServiceError::Internal(
                "password over bcrypt's limit".into(),
            ));
        }
        let _slot = self.slots.take();
        bcrypt::hash(password.expose(), self.cost)
            .map_err(|e| ServiceError::Internal(format!("bcrypt: {e}")))
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        // bcrypt runs first whatever the length, so a refused over-long password costs the
        // same as any other: the time never tells whether the account exists.
        let _slot = self.slots.take();
        let matches = bcrypt::verify(password, hash).unwrap_or(false);
        matches && password.len() <= MAX_BYTES
    }

    fn verify_dummy(&self, password: &str) {
        // Runs even for an over-long password, so the cost is always paid.
        let dummy_hash = self.dummy_hash();
        let _slot = self.slots.take();
        let _ = bcrypt::verify(password, dummy_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthcare_domain::password::check_password;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_hashes_run_at_once_than_there_are_slots() {
        let slots = Arc::new(HashingSlots::new(2));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    let _slot = slots.take();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("joined");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(*slots.lock(), 2, "every slot given back");
    }

    #[test]
    fn hashes_verify_and_long_passwords_never_match_truncated() {
        let hasher = BcryptHasher::new(4);
        hasher.warm_up();
        let password = check_password(&"ab1".repeat(24), &[]).expect("accepted"); // 72 bytes
        let hash = hasher.hash(&password).expect("hash");
        assert!(hasher.verify(password.expose(), &hash));
        assert!(!hasher.verify("wrong-password", &hash));
        // 73 bytes sharing the first 72: bcrypt's plain verify would accept it.
        assert!(!hasher.verify(&format!("{}x", password.expose()), &hash));
        assert!(!hasher.verify("anything", "not-a-hash"));
    }
}
