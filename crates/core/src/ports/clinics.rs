//! Clinics and their members.

use healthcare_domain::UserId;
use healthcare_domain::clinic::Membership;

use crate::{Page, PageOf, RepoError};

/// The clinics users belong to.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ClinicRepository: Send + Sync {
    /// One page of the clinics `user` is a member of, with their role in each: the personal
    /// clinic first (every account has exactly one, stored with the account), then by name and
    /// id. MUST be empty for an unknown user.
    fn memberships_of(&self, user: UserId, page: Page) -> Result<PageOf<Membership>, RepoError>;

    /// `user`'s membership of their personal clinic; `None` only for an unknown user.
    fn personal_membership(&self, user: UserId) -> Result<Option<Membership>, RepoError>;
}
