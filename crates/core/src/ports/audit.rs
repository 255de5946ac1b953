//! The audit trail.

use std::collections::BTreeSet;

use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainKey, RowSealsFrom, Seal,
};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::patient::PatientId;
use healthcare_domain::{Timestamp, UserId};

use crate::pagination::{Page, PageOf};
use crate::{RepoError, ServiceError};

/// Filters of the audit trail; every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Rows about this clinic: about its patients (their records, mappings, break-glass
    /// grants), its members or its settings.
    pub clinic: Option<ClinicId>,
    /// Rows about this patient.
    pub patient: Option<PatientId>,
    /// Rows whose actor is this user.
    pub actor: Option<UserId>,
    /// Rows of this action.
    pub action: Option<AuditAction>,
    /// Rows with this outcome.
    pub outcome: Option<AuditOutcome>,
    /// Rows at or after this time.
    pub since: Option<Timestamp>,
    /// Rows at or before this time.
    pub until: Option<Timestamp>,
    /// Only the rows with these ids.
    pub ids: Option<Vec<i64>>,
    /// Rows of any of these actions.
    pub any_action: Option<Vec<AuditAction>>,
    /// Rows after this `(at, id)` in the trail's order, newest first (a page that continues
    /// from there stays the same while rows are added); a list's total still counts every
    /// match.
    pub older_than: Option<(Timestamp, i64)>,
}

/// What one sealing round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRound {
    /// Rows sealed in this round.
    pub sealed: usize,
    /// The last sealed row of the chain after the round (none while the chain is empty).
    pub head: Option<Seal>,
    /// Rows found this round without the server's row MAC (written by someone without the
    /// key): left unsealed, by id.
    pub refused: Vec<i64>,
}

/// Unsealed rows waiting for the sealer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingSeal {
    /// How many.
    pub rows: u64,
    /// When the oldest of them happened.
    pub oldest: Option<Timestamp>,
}

/// Storage of the audit trail: append-only; nothing here deletes or changes a recorded event.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AuditRepository: Send + Sync {
    /// Stores the events, unsealed, in one transaction. Every row MUST carry its row MAC
    /// (`ChainKey::seal_row` with `AUDIT_HMAC_KEY` and a fresh random nonce), as MUST every
    /// row the other repositories store with a change.
    fn append(&self, events: &[AuditEvent]) -> Result<(), RepoError>;

    /// Seals up to `limit` unsealed rows, oldest id first, continuing the chain with the next
    /// sequence numbers. MUST hold a lock that serialises sealers of every instance, so the
    /// sequence has neither gaps nor duplicates.
    /// Only rows that [`RowSealsFrom::is_authentic`] admits are sealed; the others MUST be
    /// left unsealed and reported in [`SealRound::refused`]. Rows in `refused_before` (ids
    /// refused by earlier rounds) MUST be passed over without stalling the rounds.
    fn seal_pending(
        &self,
        key: &ChainKey,
        limit: u32,
        refused_before: &BTreeSet<i64>,
    ) -> Result<SealRound, RepoError>;

    /// Which rows must carry a row MAC, as the migration that introduced them recorded.
    fn row_seals_from(&self) -> Result<RowSealsFrom, RepoError>;

    /// Up to `limit` unsealed rows with an id above `after_id`, ascending.
    fn unsealed_after(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRecord>, RepoError>;

    /// Up to `limit` sealed rows with a sequence number above `after_seq`, ascending.
    fn sealed_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, RepoError>;

    /// The rows the sealer has not reached yet.
    fn pending_seal(&self) -> Result<PendingSeal, RepoError>;

    /// One page of rows matching `filter`, newest first (ties by id, newest first), and the
    /// total. MUST cost two statements whatever the page size.
    fn list(&self, filter: &AuditFilter, page: Page) -> Result<PageOf<AuditRecord>, RepoError>;
}

/// Where services record events that change nothing (reads, refusals, sign-ins). Rows for
/// changes are stored by the repositories, inside the change's own transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AuditTrail: Send + Sync {
    /// Records the event. MAY return before it is stored, to batch writes off the request
    /// path; an implementation that does MUST store it within a second. MUST NOT drop it:
    /// when the event cannot be taken (a full queue that does not drain in time, a stopped
    /// writer), it returns `Unavailable`, and the use case answers with that error instead of
    /// its result, so no request is answered without its row.
    fn record(&self, event: AuditEvent) -> Result<(), ServiceError>;
}
