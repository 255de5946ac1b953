//! Optimistic concurrency: every record has a version; a write names the version it was
//! based on and fails if the record moved on, so two editors never overwrite each other
//! silently.

use crate::ServiceError;

/// The versions an `If-Match` header accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Vec<i64>);

impl IfMatch {
    /// `Ok` without a condition or when `current` is one of the accepted versions.
    pub fn check(condition: Option<&Self>, current: i64) -> Result<(), ServiceError> {
        match condition {
            Some(Self(versions)) if !versions.contains(&current) => {
                Err(ServiceError::PreconditionFailed)
            }
            _ => Ok(()),
        }
    }
}

/// How often an unconditional write is retried when another write slips in between reading
/// and writing.
const UNCONDITIONAL_ATTEMPTS: usize = 3;

/// Runs `write` (a conditional update on the record's version, `Ok(None)` when the version
/// moved). A conditional request fails with 412 at once; an unconditional one re-reads and
/// re-applies its changes, as a client without `If-Match` expects its write to proceed.
pub(crate) fn write_with_version_check<T>(
    mut current: T,
    conditional: bool,
    mut write: impl FnMut(&T) -> Result<Option<T>, ServiceError>,
    mut reload: impl FnMut() -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    for _ in 0..UNCONDITIONAL_ATTEMPTS {
        if let Some(written) = write(&current)? {
            return Ok(written);
        }
        if conditional {
            return Err(ServiceError::PreconditionFailed);
        }
        current = reload()?;
    }
    Err(ServiceError::PreconditionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_listed_versions_only() {
        assert_eq!(IfMatch::check(None, 3), Ok(()));
        assert_eq!(IfMatch::check(Some(&IfMatch(vec![2, 3])), 3), Ok(()));
        assert_eq!(
            IfMatch::check(Some(&IfMatch(vec![2])), 3),
            Err(ServiceError::PreconditionFailed)
        );
        assert_eq!(
            IfMatch::check(Some(&IfMatch(vec![])), 3),
            Err(ServiceError::PreconditionFailed)
        );
    }

    #[test]
    fn conditional_writes_fail_at_once_unconditional_ones_retry() {
        let mut attempts = 0;
        let result = write_with_version_check(
            1_i64,
            true,
            |_| {
                attempts += 1;
                Ok(None)
            },
            || Ok(2),
        );
        assert_eq!(
            (result, attempts),
            (Err(ServiceError::PreconditionFailed), 1)
        );

        let mut attempts = 0;
        let result = write_with_version_check(
            1_i64,
            false,
            |v| {
                attempts += 1;
                Ok((*v == 2).then_some(3))
            },
            || Ok(2),
        );
        assert_eq!((result, attempts), (Ok(3), 2));
    }
}
