//! The keyed hash chain over sealed rows, the key, and the walk that verifies it.

use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::{AuditEvent, AuditRecord, RowSeal, RowSealsFrom};
use crate::Timestamp;

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

    /// The row MAC the server writes `event` with, under a fresh random `nonce`.
    pub fn seal_row(&self, nonce: [u8; 16], event: &AuditEvent) -> RowSeal {
        let mac = Mac(self.row_hmac(&nonce, event).finalize().into_bytes().into());
        RowSeal { nonce, mac }
    }

    /// Whether `row_seal` is the server's MAC of `event` (compared in constant time).
    pub fn row_verifies(&self, row_seal: &RowSeal, event: &AuditEvent) -> bool {
        self.row_hmac(&row_seal.nonce, event)
            .verify_slice(&row_seal.mac.0)
            .is_ok()
    }

    fn row_hmac(&self, nonce: &[u8; 16], event: &AuditEvent) -> Hmac<Sha256> {
        #[expect(clippy::expect_used, reason = "HMAC accepts keys of every length")]
        let mut hmac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        hmac.update(b"audit-row-v1");
        hmac.update(nonce);
        hmac.update(&event_content(Vec::with_capacity(160), event));
        hmac
    }
}

/// The bytes a chain MAC covers: the row's place and every field of its event.
fn canonical_content(seq: i64, id: i64, event: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"audit-v1");
    field(&mut out, Some(&seq.to_be_bytes()));
    field(&mut out, Some(&id.to_be_bytes()));
    event_content(out, event)
}

/// Appends one length-prefixed field (an absent one as a distinct marker), so no two
/// different rows share an encoding.
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

/// Appends every field of `event` to `out`.
fn event_content(mut out: Vec<u8>, event: &AuditEvent) -> Vec<u8> {
    let number = |value: i64| value.to_be_bytes();
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
    // A trailing marker, present only on marked rows: every row written before the marker
    // existed keeps its encoding, and so its MACs.
    if event.break_glass {
        field(&mut out, Some(b"break_glass"));
    }
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
    /// A chained row that should carry the server's row MAC does not: it was written by
    /// someone without the key and sealed by a release that did not check.
    #[error("row {id} (seq {seq}) was not written by the server: its row MAC is missing or wrong")]
    Unauthenticated {
        /// Its sequence number.
        seq: i64,
        /// Its database id.
        id: i64,
    },
    /// A row is dated well before a row chained ahead of it: rows are sealed within seconds
    /// of being written, so it was inserted late or back-dated.
    #[error("row {id} (seq {seq}) is dated {behind_seconds} s before a row sealed ahead of it")]
    Backdated {
        /// Its sequence number.
        seq: i64,
        /// Its database id.
        id: i64,
        /// How far before the latest earlier-sealed row it is dated.
        behind_seconds: i64,
    },
}

/// How far a row may be dated before a row sealed ahead of it (instances, batches and a
/// short database outage reorder rows by up to this much) before `verify` reports it.
pub const DEFAULT_MAX_SKEW_SECONDS: i64 = 300;

/// What a walk accepts besides the chain itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Which rows must carry a row MAC.
    pub row_seals: RowSealsFrom,
    /// How far (seconds) a row may be dated before one sealed ahead of it.
    pub max_skew_seconds: i64,
}

/// Walks sealed rows in sequence order and reports the first break.
#[derive(Debug)]
pub struct ChainVerifier {
    key: ChainKey,
    policy: VerifyPolicy,
    next_seq: i64,
    previous: Mac,
    latest: Option<Timestamp>,
}

impl ChainVerifier {
    /// A walk from the first row.
    pub fn new(key: ChainKey, policy: VerifyPolicy) -> Self {
        Self::resuming(key, policy, 1, Mac::GENESIS)
    }

    /// A walk from `next_seq`, whose predecessor's MAC is `previous` (after an archive).
    pub fn resuming(key: ChainKey, policy: VerifyPolicy, next_seq: i64, previous: Mac) -> Self {
        Self {
            key,
            policy,
            next_seq,
            previous,
            latest: None,
        }
    }

    /// Checks the next sealed row (rows must come in ascending `seq`).
    pub fn check(&mut self, record: &AuditRecord, seal: &Seal) -> Result<(), ChainBreak> {
        let (id, event) = (record.id, &record.event);
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
        if !self.policy.row_seals.is_authentic(&self.key, record) {
            return Err(ChainBreak::Unauthenticated { seq: seal.seq, id });
        }
        if let Some(latest) = self.latest {
            let behind_seconds = (latest - event.at).num_seconds();
            if behind_seconds > self.policy.max_skew_seconds {
                return Err(ChainBreak::Backdated {
                    seq: seal.seq,
                    id,
                    behind_seconds,
                });
            }
        }
        self.latest = Some(self.latest.map_or(event.at, |latest| latest.max(event.at)));
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
    use crate::UserId;
    use crate::audit::{AuditAction, AuditOutcome, RequestOrigin};
    use crate::patient::PatientId;

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
            break_glass: false,
        }
    }

    /// Row MACs from id 1 on: every row must carry one.
    const POLICY: VerifyPolicy = VerifyPolicy {
        row_seals: RowSealsFrom {
            first_id: 1,
            since: chrono::DateTime::UNIX_EPOCH,
        },
        max_skew_seconds: DEFAULT_MAX_SKEW_SECONDS,
    };

    fn record(key: &ChainKey, id: i64, event: AuditEvent) -> AuditRecord {
        AuditRecord {
            id,
            row_seal: Some(key.seal_row([id as u8; 16], &event)),
            event,
            seal: None,
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
        let mut verifier = ChainVerifier::new(key.clone(), POLICY);
        for (id, event, seal) in rows {
            verifier.check(&record(key, *id, event.clone()), seal)?;
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
    fn the_break_glass_mark_is_covered_and_leaves_unmarked_rows_as_they_were() {
        let unmarked = event(3);
        let marked = AuditEvent {
            break_glass: true,
            ..unmarked.clone()
        };
        let (plain, with_mark) = (
            canonical_content(1, 3, &unmarked),
            canonical_content(1, 3, &marked),
        );
        let mut expected = plain.clone();
        field(&mut expected, Some(b"break_glass"));
        assert_eq!(
            with_mark, expected,
            "a trailing marker, after every other field"
        );
        let key = ChainKey::new(b"k".to_vec());
        assert_ne!(
            key.seal(&Mac::GENESIS, 1, 3, &unmarked),
            key.seal(&Mac::GENESIS, 1, 3, &marked)
        );
        let row_seal = key.seal_row([1; 16], &unmarked);
        assert!(
            !key.row_verifies(&row_seal, &marked),
            "removing a mark is tampering"
        );
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
        let mut verifier = ChainVerifier::resuming(key.clone(), POLICY, 3, rows[1].2.mac);
        for (id, event, seal) in &rows[2..] {
            let row = record(&key, *id, event.clone());
            assert_eq!(verifier.check(&row, seal), Ok(()));
        }
        assert_eq!(verifier.last_seq(), 5);
        assert_eq!(verifier.head(), rows[4].2.mac);
    }

    #[test]
    fn a_row_mac_authenticates_exactly_the_row_the_server_wrote() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let genuine = record(&key, 5, event(5));
        assert!(POLICY.row_seals.is_authentic(&key, &genuine));
        let mut changed = genuine.clone();
        changed.event.outcome = AuditOutcome::Denied;
        assert!(!POLICY.row_seals.is_authentic(&key, &changed));
        let other = ChainKey::new(*b"another key of thirty-two bytes!");
        let forged = record(&other, 5, event(5));
        assert!(!POLICY.row_seals.is_authentic(&key, &forged));
        let unsealed = AuditRecord {
            row_seal: None,
            ..genuine
        };
        assert!(!POLICY.row_seals.is_authentic(&key, &unsealed));
        // Rows from before row MACs existed need none; a later id or date gives it away.
        let before = |first_id, since| RowSealsFrom { first_id, since };
        let written = unsealed.event.at;
        assert!(before(6, written).is_authentic(&key, &unsealed));
        assert!(!before(5, written).is_authentic(&key, &unsealed));
        let earlier = written - chrono::Duration::seconds(1);
        assert!(!before(6, earlier).is_authentic(&key, &unsealed));
        assert_ne!(
            key.seal_row([1; 16], &event(5)).mac,
            key.seal_row([2; 16], &event(5)).mac,
            "the nonce makes every MAC unique"
        );
    }

    #[test]
    fn a_chained_row_without_a_valid_row_mac_is_reported() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let rows = chain(&key, 3);
        let mut verifier = ChainVerifier::new(key.clone(), POLICY);
        verifier
            .check(&record(&key, rows[0].0, rows[0].1.clone()), &rows[0].2)
            .expect("genuine");
        let forged = AuditRecord {
            row_seal: None,
            ..record(&key, rows[1].0, rows[1].1.clone())
        };
        assert_eq!(
            verifier.check(&forged, &rows[1].2),
            Err(ChainBreak::Unauthenticated { seq: 2, id: 20 })
        );
    }

    #[test]
    fn a_row_dated_well_before_one_sealed_ahead_of_it_is_reported() {
        let key = ChainKey::new(*b"0123456789abcdef0123456789abcdef");
        let mut events = vec![event(1), event(2), event(3)];
        events[1].at -= chrono::Duration::seconds(DEFAULT_MAX_SKEW_SECONDS);
        events[2].at -= chrono::Duration::seconds(DEFAULT_MAX_SKEW_SECONDS + 1);
        let mut previous = Mac::GENESIS;
        let mut verifier = ChainVerifier::new(key.clone(), POLICY);
        let mut results = Vec::new();
        for (index, event) in events.into_iter().enumerate() {
            let (seq, id) = (index as i64 + 1, index as i64 + 1);
            let mac = key.seal(&previous, seq, id, &event);
            previous = mac;
            results.push(verifier.check(&record(&key, id, event), &Seal { seq, mac }));
        }
        assert_eq!(
            results,
            [
                Ok(()),
                Ok(()), // within the window
                Err(ChainBreak::Backdated {
                    seq: 3,
                    id: 3,
                    behind_seconds: DEFAULT_MAX_SKEW_SECONDS + 1
                })
            ]
        );
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
