//! Who is acting, how each use case's outcome is recorded, and reading and checking the trail.

use std::collections::BTreeSet;
use std::sync::Arc;

use healthcare_domain::access::{Actor, ClinicMember};
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditRecord, ChainBreak, ChainKey, ChainVerifier, Mac, RequestOrigin,
    VerifyPolicy,
};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::staff::{AuditTrailAccess, audit_trail_access};
use healthcare_domain::{Timestamp, User, UserId};

use crate::ServiceError;
use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditFilter, AuditRepository, AuditTrail, Clock, PendingSeal, SealRound, SignInFactors,
};
use crate::services::auth::Authenticated;

mod scope;

pub(crate) use scope::{AuditScope, Refusal, ScopedRow, Target, event_of, permit};

/// Who a request acts for and in what capacity, and where the request came from. Every
/// inbound adapter turns its own credentials into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who acts, in what capacity (a member: in which clinic, with which role).
    pub(crate) actor: Actor,
    /// How the session signed in.
    pub(crate) factors: SignInFactors,
    /// What the caller may do with the whole audit trail.
    pub(crate) audit_trail: AuditTrailAccess,
    /// Client address and request id, for the audit trail.
    pub(crate) origin: RequestOrigin,
}

impl Caller {
    /// A user of the JSON API acting in their session's clinic, from `origin`.
    pub fn new(session: &Authenticated, origin: RequestOrigin) -> Self {
        let Authenticated {
            user,
            factors,
            membership,
        } = session;
        Self {
            actor: Actor::Member(ClinicMember {
                user: user.id,
                clinic: membership.clinic.id,
                role: membership.role,
            }),
            factors: *factors,
            audit_trail: audit_trail_access(user, *factors == SignInFactors::PasswordAndCode),
            origin,
        }
    }

    /// The id of the clinic the caller acts in (members only).
    pub fn clinic(&self) -> Option<ClinicId> {
        match self.actor {
            Actor::Member(member) => Some(member.clinic),
            Actor::PlatformStaff(_) | Actor::Operator => None,
        }
    }

    /// Whether responses to this caller may hold patients' medical histories (a front desk's
    /// leave the field out).
    pub fn reads_medical_history(&self) -> bool {
        self.actor.reads_medical_history()
    }

    /// `user` acting as platform staff through a session that proved its second factor;
    /// `None` unless their account allows it. Only a checked admin session makes one
    /// (`StaffSignIn::authenticate`).
    pub(crate) fn platform_staff(user: &User, origin: RequestOrigin) -> Option<Self> {
        Some(Self {
            actor: Actor::platform_staff(user)?,
            factors: SignInFactors::PasswordAndCode,
            audit_trail: audit_trail_access(user, true),
            origin,
        })
    }

    /// The operator at the server's console.
    pub fn operator(origin: RequestOrigin) -> Self {
        Self {
            actor: Actor::Operator,
            factors: SignInFactors::PasswordAndCode,
            audit_trail: AuditTrailAccess::Forbidden,
            origin,
        }
    }

    /// The account acting: what a new record is created by, or a self-service action (sign
    /// out, change a password) applies to. The operator has none.
    pub fn account(&self) -> Result<UserId, ServiceError> {
        self.actor.user().ok_or(ServiceError::Forbidden)
    }

    /// An event of this caller, outcome to be decided (`Success` until then).
    pub(crate) fn event(&self, action: AuditAction, at: Timestamp, target: Target) -> AuditEvent {
        event_of(self.actor.user(), &self.origin, action, at, target)
    }

    /// Opens the row of a use case of this caller.
    pub(crate) fn audit<'a>(
        &self,
        trail: &'a dyn AuditTrail,
        action: AuditAction,
        at: Timestamp,
        target: Target,
    ) -> AuditScope<'a> {
        AuditScope::new(trail, self.event(action, at, target))
    }
}

/// How far `audit verify` got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Sealed rows checked.
    pub checked: i64,
    /// The last good row's sequence number and MAC (record it outside the database: deleting
    /// rows from the end of the chain can only be detected against such a record).
    pub head: (i64, Mac),
    /// The first break, if any.
    pub broken: Option<ChainBreak>,
    /// Rows not sealed yet.
    pub pending: PendingSeal,
    /// Unsealed rows the server did not write (no valid row MAC), by id: forged.
    pub unauthenticated: Vec<i64>,
}

impl ChainReport {
    /// Whether nothing was found: no break and no forged row.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none() && self.unauthenticated.is_empty()
    }
}

/// Rows fetched per round trip while verifying.
const VERIFY_BATCH: u32 = 1_000;

/// Reading, sealing and verifying the audit trail.
#[derive(Clone)]
pub struct AuditService {
    repository: Arc<dyn AuditRepository>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
}

impl AuditService {
    /// Wires the service to its ports.
    pub fn new(
        repository: Arc<dyn AuditRepository>,
        trail: Arc<dyn AuditTrail>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            repository,
            trail,
            clock,
        }
    }

    /// The filter of a request to read the trail, as parsed: a malformed filter is the
    /// caller's error only when they may read the trail. Anyone else gets the filter ignored,
    /// so that [`Self::list_events`] refuses (and records) the reading whatever the filters say.
    pub fn requested_filter<E>(
        caller: &Caller,
        parsed: Result<AuditFilter, E>,
    ) -> Result<AuditFilter, E> {
        match parsed {
            Err(error) if caller.audit_trail == AuditTrailAccess::Allowed => Err(error),
            parsed => Ok(parsed.unwrap_or_default()),
        }
    }

    /// A page of the trail, newest first: active staff signed in with a second factor only (staff
    /// without one get `SecondFactorRequired`, others `Forbidden`). The reading is itself recorded.
    pub fn list_events(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<PageOf<AuditRecord>, ServiceError> {
        let now = self.clock.now();
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::AuditRead,
            now,
            Target::NONE,
        );
        scope.run(|_| match caller.audit_trail {
            AuditTrailAccess::Allowed => Ok(self.repository.list(filter, page)?),
            AuditTrailAccess::NeedsSecondFactor => {
                Err(Refusal::from(ServiceError::SecondFactorRequired))
            }
            AuditTrailAccess::Forbidden => Err(Refusal::from(ServiceError::Forbidden)),
        })
    }

    /// Every row matching `filter`, newest first, for the operator's console (not recorded:
    /// the console is outside the API and its user is the operator).
    pub fn export(
        &self,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<PageOf<AuditRecord>, ServiceError> {
        Ok(self.repository.list(filter, page)?)
    }

    /// Seals what is pending, in rounds of `batch` rows, until nothing is left. Rows without
    /// the server's row MAC stay unsealed: `refused` collects their ids across calls (pass the
    /// same set every time, so each is reported once and none stalls the rounds), and the
    /// result's `refused` lists the ones found by this call.
    pub fn seal_pending(
        &self,
        key: &ChainKey,
        batch: u32,
        refused: &mut BTreeSet<i64>,
    ) -> Result<SealRound, ServiceError> {
        let batch = batch.max(1);
        let (mut sealed, mut found) = (0, Vec::new());
        loop {
            let round = self.repository.seal_pending(key, batch, refused)?;
            sealed += round.sealed;
            refused.extend(&round.refused);
            found.extend(round.refused);
            if round.sealed < batch as usize {
                return Ok(SealRound {
                    sealed,
                    head: round.head,
                    refused: found,
                });
            }
        }
    }

    /// Walks the chain from its start (or from `resume`: the sequence number and MAC of the
    /// last row of an archived prefix) and reports the first break, then lists the unsealed
    /// rows the server did not write. A row dated more than `max_skew_seconds` before one
    /// sealed ahead of it is a break too.
    pub fn verify(
        &self,
        key: &ChainKey,
        resume: Option<(i64, Mac)>,
        max_skew_seconds: i64,
    ) -> Result<ChainReport, ServiceError> {
        let row_seals = self.repository.row_seals_from()?;
        let policy = VerifyPolicy {
            row_seals,
            max_skew_seconds,
        };
        let (mut verifier, start) = match resume {
            Some((seq, mac)) => (
                ChainVerifier::resuming(key.clone(), policy, seq + 1, mac),
                seq,
            ),
            None => (ChainVerifier::new(key.clone(), policy), 0),
        };
        let mut after = start;
        let broken = 'walk: loop {
            let rows = self.repository.sealed_after(after, VERIFY_BATCH)?;
            let Some(last) = rows.last() else {
                break None;
            };
            after = last.seal.map_or(after, |seal| seal.seq);
            for row in &rows {
                let Some(seal) = &row.seal else { continue };
                if let Err(found) = verifier.check(row, seal) {
                    break 'walk Some(found);
                }
            }
        };
        let mut unauthenticated = Vec::new();
        let mut after_id = 0;
        loop {
            let rows = self.repository.unsealed_after(after_id, VERIFY_BATCH)?;
            let Some(last) = rows.last() else { break };
            after_id = last.id;
            unauthenticated.extend(
                rows.iter()
                    .filter(|row| !row_seals.is_authentic(key, row))
                    .map(|row| row.id),
            );
        }
        Ok(ChainReport {
            checked: verifier.last_seq() - start,
            head: (verifier.last_seq(), verifier.head()),
            broken,
            pending: self.repository.pending_seal()?,
            unauthenticated,
        })
    }
}
