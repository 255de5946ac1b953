//! The audit trail: what is recorded about every access to patient data and every security
//! event, and the keyed hash chain that makes tampering with the recorded rows detectable.
//!
//! A row never holds a value of a patient field: only who, what, which record, when, from
//! where and with what outcome.
//!
//! Sealing: each row gets a contiguous sequence number and
//! `mac = HMAC-SHA-256(key, previous mac ‖ canonical content)`, the first row chaining from
//! [`Mac::GENESIS`]. Whoever can write the table but does not hold the key cannot recompute
//! the chain, so a changed, deleted or inserted sealed row breaks it.

use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::patient::PatientId;
use crate::{Timestamp, UserId};

/// What was done. The strings are the stored and published names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// `GET /api/patients/{id}/`.
    PatientRead,
    /// `GET /api/patients/`.
    PatientList,
    /// `POST /api/patients/`.
    PatientCreate,
    /// `PUT`/`PATCH /api/patients/{id}/`.
    PatientUpdate,
    /// `DELETE /api/patients/{id}/` (archiving).
    PatientDelete,
    /// Un-archiving (operators only).
    PatientRestore,
    /// `POST /api/mappings/`.
    MappingCreate,
    /// `GET /api/mappings/` and the by-patient view.
    MappingList,
    /// Changing a mapping's notes.
    MappingUpdate,
    /// `DELETE /api/mappings/{id}/`.
    MappingRemove,
    /// Signing in.
    AuthLogin,
    /// Exchanging a refresh token.
    AuthRefresh,
    /// Signing out.
    AuthLogout,
    /// Changing one's password.
    AuthPasswordChange,
    /// Activation, staff rights, forced password reset of an account.
    UserUpdate,
    /// Signing in to the staff admin site.
    AdminLogin,
    /// Reading the audit trail.
    AuditRead,
}

impl AuditAction {
    /// Every action, in documentation order.
    pub const ALL: [AuditAction; 17] = [
        Self::PatientRead,
        Self::PatientList,
        Self::PatientCreate,
        Self::PatientUpdate,
        Self::PatientDelete,
        Self::PatientRestore,
        Self::MappingCreate,
        Self::MappingList,
        Self::MappingUpdate,
        Self::MappingRemove,
        Self::AuthLogin,
        Self::AuthRefresh,
        Self::AuthLogout,
        Self::AuthPasswordChange,
        Self::UserUpdate,
        Self::AdminLogin,
        Self::AuditRead,
    ];

    /// The stored name, e.g. `patient.read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PatientRead => "patient.read",
            Self::PatientList => "patient.list",
            Self::PatientCreate => "patient.create",
            Self::PatientUpdate => "patient.update",
            Self::PatientDelete => "patient.delete",
            Self::PatientRestore => "patient.restore",
            Self::MappingCreate => "mapping.create",
            Self::MappingList => "mapping.list",
            Self::MappingUpdate => "mapping.update",
            Self::MappingRemove => "mapping.remove",
            Self::AuthLogin => "auth.login",
            Self::AuthRefresh => "auth.refresh",
            Self::AuthLogout => "auth.logout",
            Self::AuthPasswordChange => "auth.password_change",
            Self::UserUpdate => "user.update",
            Self::AdminLogin => "admin.login",
            Self::AuditRead => "audit.read",
        }
    }

    /// The action with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == name)
    }

    /// The kind of record the action is about.
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::PatientRead
            | Self::PatientList
            | Self::PatientCreate
            | Self::PatientUpdate
            | Self::PatientDelete
            | Self::PatientRestore => "patient",
            Self::MappingCreate | Self::MappingList | Self::MappingUpdate | Self::MappingRemove => {
                "mapping"
            }
            Self::AuthLogin
            | Self::AuthRefresh
            | Self::AuthLogout
            | Self::AuthPasswordChange
            | Self::UserUpdate
            | Self::AdminLogin => "user",
            Self::AuditRead => "audit_event",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// Done.
    Success,
    /// Refused for what was asked: invalid input, a missing record, a stale version, a wrong
    /// password.
    Failure,
    /// Refused for who asked: another owner's record (answered 404), a missing permission, a
    /// throttled or revoked credential.
    Denied,
}

impl AuditOutcome {
    /// Every outcome.
    pub const ALL: [AuditOutcome; 3] = [Self::Success, Self::Failure, Self::Denied];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }

    /// The outcome with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request came from, as the HTTP layer saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client's address (the right-most untrusted `X-Forwarded-For` hop behind proxies).
    pub client_address: Option<String>,
    /// The request id echoed in `X-Request-Id`.
    pub request_id: Option<String>,
}

/// One thing to record, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who (none for an unknown account or an operator at the console).
    pub actor: Option<UserId>,
    /// What.
    pub action: AuditAction,
    /// Which record of `action.resource_type()`, when there is one.
    pub resource_id: Option<i64>,
    /// The patient whose data was touched, when there is one.
    pub patient_id: Option<PatientId>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// From where.
    pub origin: RequestOrigin,
}

/// A stored row: the event, its database id and, once sealed, its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Database id (assigned at insert; may commit out of order).
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
    /// The seal, once the sealer has reached the row.
    pub seal: Option<Seal>,
}

/// A row's place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    /// 1, 2, 3… without gaps.
    pub seq: i64,
    /// HMAC over the previous MAC and the row's content.
    pub mac: Mac,
}

/// A chain MAC (HMAC-SHA-256 output).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub [u8; 32]);

impl Mac {
    /// What the first row chains from.
    pub const GENESIS: Mac = Mac([0; 32]);

    /// Lower-case hex, as stored.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Mac> {
        let mut bytes = [0; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Mac(bytes))
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({})", self.to_hex())
    }
}

/// Shortest accepted `AUDIT_HMAC_KEY`, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The key of the chain. Lives outside the database; never printed.
#[derive(Clone)]
pub struct ChainKey(Vec<u8>);

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl ChainKey {
    /// A key from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The MAC of the row at `seq` whose predecessor's MAC is `previous`.
    pub fn seal(&self, previous: &Mac, seq: i64, id: i64, event: &AuditEvent) -> Mac {
        #[expect(clippy::expect_used, reason = "HMAC accepts keys of every length")]
        let mut hmac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        hmac.update(&previous.0);
        hmac.update(&canonical_content(seq, id, event));
        Mac(hmac.finalize().into_bytes().into())
    }

    /// Whether `mac` is the right seal of the row (compared in constant time).
    fn verifies(&self, previous: &Mac, seq: i64, id: i64, event: &AuditEvent, mac: &Mac) -> bool {
        #[expect(clippy::expect_used, reason = "HMAC accepts keys of every length")]
        let mut hmac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        hmac.update(&previous.0);
        hmac.update(&canonical_content(seq, id, event));
        hmac.verify_slice(&mac.0).is_ok()
    }
}

/// The bytes a MAC covers: every field, each length-prefixed (absent fields as a distinct
/// marker), so no two different rows share an encoding.
fn canonical_content(seq: i64, id: i64, event: &AuditEvent) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, value: Option<&[u8]>) {
        match value {
            None => out.push(0),
            Some(bytes) => {
                out.push(1);
                out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    let number = |value: i64| value.to_be_bytes();
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"audit-v1");
    field(&mut out, Some(&number(seq)));
    field(&mut out, Some(&number(id)));
    field(&mut out, Some(&number(event.at.timestamp_micros())));
    field(
        &mut out,
        event
            .actor
            .map(|user| number(user.0))
            .as_ref()
            .map(|b| &b[..]),
    );
    field(&mut out, Some(event.action.as_str().as_bytes()));
    field(&mut out, Some(event.action.resource_type().as_bytes()));
    field(
        &mut out,
        event.resource_id.map(number).as_ref().map(|b| &b[..]),
    );
    field(
        &mut out,
        event
            .patient_id
            .map(|p| number(p.0))
            .as_ref()
            .map(|b| &b[..]),
    );
    field(&mut out, Some(event.outcome.as_str().as_bytes()));
    field(
        &mut out,
        event.origin.client_address.as_deref().map(str::as_bytes),
    );
    field(
        &mut out,
        event.origin.request_id.as_deref().map(str::as_bytes),
    );
    out
}

/// Where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The row at `seq` does not match its MAC: it was changed, or put there by someone
    /// without the key.
    #[error("row {id} (seq {seq}) was changed or forged: its MAC does not match")]
    Changed {
        /// Its sequence number.
        seq: i64,
        /// Its database id.
        id: i64,
    },
    /// Rows `expected`..`found - 1` are missing.
    #[error("rows with seq {expected} to {} were deleted", found - 1)]
    Deleted {
        /// The first missing sequence number.
        expected: i64,
        /// The next one present.
        found: i64,
    },
    /// A second row claims a sequence number that was already taken.
    #[error("row {id} was inserted: seq {seq} is already taken")]
    Inserted {
        /// The repeated sequence number.
        seq: i64,
        /// The intruder's database id.
        id: i64,
    },
}

/// Walks sealed rows in sequence order and reports the first break.
#[derive(Debug)]
pub struct ChainVerifier {
    key: ChainKey,
    next_seq: i64,
    previous: Mac,
}

impl ChainVerifier {
    /// A walk from the first row.
    pub fn new(key: ChainKey) -> Self {
        Self::resuming(key, 1, Mac::GENESIS)
    }

    /// A walk from `next_seq`, whose predecessor's MAC is `previous` (after an archive).
    pub fn resuming(key: ChainKey, next_seq: i64, previous: Mac) -> Self {
        Self {
            key,
            next_seq,
            previous,
        }
    }

    /// Checks the next row (rows must come in ascending `seq`).
    pub fn check(&mut self, id: i64, event: &AuditEvent, seal: &Seal) -> Result<(), ChainBreak> {
        if seal.seq < self.next_seq {
            return Err(ChainBreak::Inserted { seq: seal.seq, id });
        }
        if seal.seq > self.next_seq {
            return Err(ChainBreak::Deleted {
                expected: self.next_seq,
                found: seal.seq,
            });
        }
        if !self
            .key
            .verifies(&self.previous, seal.seq, id, event, &seal.mac)
        {
            return Err(ChainBreak::Changed { seq: seal.seq, id });
        }
        self.previous = seal.mac;
        self.next_seq += 1;
        Ok(())
    }

    /// How many rows have been checked so far, counting from the start of the walk.
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// The MAC of the last checked row (the chain's head once the walk is done).
    pub fn head(&self) -> Mac {
        self.previous
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn event(resource_id: i64) -> AuditEvent {
        AuditEvent {
            at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
                .single()
                .unwrap_or_default(),
            actor: Some(UserId(7)),
            action: AuditAction::PatientRead,
            resource_id: Some(resource_id),
            patient_id: Some(PatientId(resource_id)),
            outcome: AuditOutcome::Success,
            origin: RequestOrigin {
                client_address: Some("10.0.0.1".into()),
                request_id: Some("r-1".into()),
            },
        }
    }

    fn chain(key: &ChainKey, count: i64) -> Vec<(i64, AuditEvent, Seal)> {
        let mut previous = Mac::GENESIS;
        (1..=count)
            .map(|seq| {
                let id = seq * 10;
                let event = event(seq);
                let mac = key.seal(&previous, seq, id, &event);
                previous = mac;
                (id, event, Seal { seq, mac })
            })
            .collect()
    }

    fn verify(key: &ChainKey, rows: &[(i64, AuditEvent, Seal)]) -> Result<i64, ChainBreak> {
        let mut verifier = ChainVerifier::new(key.clone());
        for (id, event, seal) in rows {
            verifier.check(*id, event, seal)?;
        }
        Ok(verifier.last_seq())
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        for outcome in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(AuditAction::parse("patient.READ"), None);
        assert_eq!(AuditAction::MappingList.resource_type(), "mapping");
        assert_eq!(AuditAction::AuditRead.resource_type(), "audit_event");
    }

    #[test]
    fn an_intact_chain_verifies() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        assert_eq!(verify(&key, &chain(&key, 5)), Ok(5));
    }

    #[test]
    fn a_changed_field_is_reported_at_its_row() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let mut rows = chain(&key, 5);
        rows[2].1.outcome = AuditOutcome::Denied;
        assert_eq!(
            verify(&key, &rows),
            Err(ChainBreak::Changed { seq: 3, id: 30 })
        );
        let mut rows = chain(&key, 5);
        rows[1].1.origin.client_address = None;
        assert_eq!(
            verify(&key, &rows),
            Err(ChainBreak::Changed { seq: 2, id: 20 })
        );
    }

    #[test]
    fn a_deleted_row_is_reported_as_a_gap_or_a_broken_link() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let mut rows = chain(&key, 5);
        rows.remove(1);
        assert_eq!(
            verify(&key, &rows),
            Err(ChainBreak::Deleted {
                expected: 2,
                found: 3
            })
        );
        // Renumbering the rest to hide the gap breaks the next MAC instead.
        for row in rows.iter_mut().skip(1) {
            row.2.seq -= 1;
        }
        assert_eq!(
            verify(&key, &rows),
            Err(ChainBreak::Changed { seq: 2, id: 30 })
        );
    }

    #[test]
    fn an_inserted_row_is_reported() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let mut rows = chain(&key, 3);
        let forged = (99, event(99), rows[1].2);
        rows.insert(2, forged);
        assert_eq!(
            verify(&key, &rows),
            Err(ChainBreak::Inserted { seq: 2, id: 99 })
        );
        // A row sealed with another key does not verify.
        let mut rows = chain(&key, 3);
        let other = ChainKey::new(*b"another key of thirty-two bytes!");
        rows.push((
            40,
            event(4),
            Seal {
                seq: 4,
                mac: other.seal(&rows[2].2.mac, 4, 40, &event(4)),
            },
        ));
        assert_eq!(
            verify(&key, &rows),
            Err(ChainBreak::Changed { seq: 4, id: 40 })
        );
    }

    #[test]
    fn a_walk_can_resume_after_an_archived_prefix() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let rows = chain(&key, 5);
        let mut verifier = ChainVerifier::resuming(key, 3, rows[1].2.mac);
        for (id, event, seal) in &rows[2..] {
            assert_eq!(verifier.check(*id, event, seal), Ok(()));
        }
        assert_eq!(verifier.last_seq(), 5);
        assert_eq!(verifier.head(), rows[4].2.mac);
    }

    #[test]
    fn mac_hex_round_trips_and_the_key_is_never_printed() {
        let mac = Mac([0xab; 32]);
        assert_eq!(Mac::from_hex(&mac.to_hex()), Some(mac));
        assert_eq!(Mac::from_hex("xyz"), None);
        let key = ChainKey::new("super-secret-audit-key-material!");
        assert!(!format!("{key:?}").contains("secret"));
    }
}
