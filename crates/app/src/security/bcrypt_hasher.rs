//! bcrypt password hashing. bcrypt uses at most 72 bytes of a password; longer ones are
//! refused (the policy refuses them at registration, and `verify` never matches them) instead
//! of being silently cut. The crate's `non_truncating_*` functions count the C terminator and
//! so refuse a 72-byte password, which bcrypt uses whole: hence the explicit length check.

use std::sync::OnceLock;

use healthcare_domain::password::{AcceptedPassword, MAX_BYTES};
use healthcare_ports::ServiceError;
use healthcare_ports::ports::PasswordHasher;

/// [`PasswordHasher`] with bcrypt at a configured cost.
pub struct BcryptHasher {
    cost: u32,
    /// A hash of a random password at the same cost, verified when no account matches.
    dummy_hash: OnceLock<String>,
}

impl BcryptHasher {
    /// A hasher at `cost`, which the settings have checked to be within 4–31.
    pub fn new(cost: u32) -> Self {
        Self {
            cost,
            dummy_hash: OnceLock::new(),
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
        bcrypt::hash(password.expose(), self.cost)
            .map_err(|e| ServiceError::Internal(format!("bcrypt: {e}")))
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        // bcrypt runs first whatever the length, so a refused over-long password costs the
        // same as any other: the time never tells whether the account exists.
        let matches = bcrypt::verify(password, hash).unwrap_or(false);
        matches && password.len() <= MAX_BYTES
    }

    fn verify_dummy(&self, password: &str) {
        // Runs even for an over-long password, so the cost is always paid.
        let _ = bcrypt::verify(password, self.dummy_hash());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthcare_domain::password::check_password;

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
