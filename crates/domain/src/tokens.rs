//! Refresh-token rotation rules: a refresh token is redeemed once; presenting a spent token
//! again is treated as theft and revokes its whole family (every token descended from the
//! same login).

use crate::{Timestamp, UserId};

/// What the store knows about one issued refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// The token's unique id (`jti` claim).
    pub jti: String,
    /// Whose token it is.
    pub user_id: UserId,
    /// Id shared by every token descended from one login.
    pub family_id: String,
    /// When it stops being usable.
    pub expires_at: Timestamp,
    /// When it was exchanged for a new pair, if it was.
    pub spent_at: Option<Timestamp>,
    /// When it was revoked (logout, theft, password change), if it was.
    pub revoked_at: Option<Timestamp>,
}

/// Why a refresh token cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRejection {
    /// Revoked, or spent before: the client must log in again.
    Blacklisted {
        /// True when the token was already spent: a replay, so its family must be revoked.
        revoke_family: bool,
    },
    /// Past its expiry.
    Expired,
}

impl RefreshTokenRecord {
    /// Whether the token may be exchanged now, and what to do when it may not.
    pub fn check_redeemable(&self, now: Timestamp) -> Result<(), RefreshRejection> {
        if self.revoked_at.is_some() {
            Err(RefreshRejection::Blacklisted {
                revoke_family: false,
            })
        } else if self.spent_at.is_some() {
            Err(RefreshRejection::Blacklisted {
                revoke_family: true,
            })
        } else if self.expires_at <= now {
            Err(RefreshRejection::Expired)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn record(now: Timestamp) -> RefreshTokenRecord {
        RefreshTokenRecord {
            jti: "j".into(),
            user_id: UserId(1),
            family_id: "f".into(),
            expires_at: now + Duration::days(7),
            spent_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn rotation_rules() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 26, 10, 0, 0)
            .single()
            .expect("valid date");
        let fresh = record(now);
        assert_eq!(fresh.check_redeemable(now), Ok(()));

        let spent = RefreshTokenRecord {
            spent_at: Some(now),
            ..record(now)
        };
        assert_eq!(
            spent.check_redeemable(now),
            Err(RefreshRejection::Blacklisted {
                revoke_family: true
            })
        );

        let revoked = RefreshTokenRecord {
            revoked_at: Some(now),
            spent_at: Some(now),
            ..record(now)
        };
        assert_eq!(
            revoked.check_redeemable(now),
            Err(RefreshRejection::Blacklisted {
                revoke_family: false
            })
        );

        assert_eq!(
            fresh.check_redeemable(now + Duration::days(7)),
            Err(RefreshRejection::Expired)
        );
    }
}
