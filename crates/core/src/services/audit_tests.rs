//! Tests of reading, sealing and verifying the audit trail, with a mock repository.

use std::collections::BTreeSet;
use std::sync::Arc;

use healthcare_domain::UserId;
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainBreak, ChainKey,
    DEFAULT_MAX_SKEW_SECONDS, Mac, RowSealsFrom, Seal,
};
use healthcare_domain::patient::PatientId;
use healthcare_domain::staff::AuditTrailAccess;
use mockall::Sequence;
use mockall::predicate::{always, eq};

use super::audit::{AuditService, Caller, ChainReport};
use super::tests::{FixedClock, RecordingTrail, at, origin};
use crate::ServiceError;
use crate::pagination::{Page, PageOf};
use crate::ports::{AuditFilter, MockAuditRepository, PendingSeal, SealRound};

const READER: UserId = UserId(3);

fn service(repository: MockAuditRepository) -> (AuditService, Arc<RecordingTrail>) {
    let trail = RecordingTrail::shared();
    let service = AuditService::new(Arc::new(repository), trail.clone(), Arc::new(FixedClock));
    (service, trail)
}

fn caller(audit_trail: AuditTrailAccess) -> Caller {
    Caller {
        audit_trail,
        origin: origin(),
        ..crate::services::tests::caller(READER)
    }
}

fn page() -> Page {
    Page {
        number: 1,
        size: 20,
    }
}

fn filter() -> AuditFilter {
    AuditFilter {
        patient: Some(PatientId(1)),
        ..Default::default()
    }
}

fn event(n: i64) -> AuditEvent {
    AuditEvent {
        at: at(),
        actor: Some(UserId(7)),
        action: AuditAction::PatientRead,
        resource_id: Some(n),
        patient_id: Some(PatientId(n)),
        outcome: AuditOutcome::Success,
        origin: origin(),
        break_glass: false,
    }
}

fn key() -> ChainKey {
    ChainKey::new([7_u8; 32])
}

/// `count` rows with seq 1.., ids 10, 20…, each sealed after its predecessor.
fn sealed_chain(key: &ChainKey, count: i64) -> Vec<AuditRecord> {
    let mut previous = Mac::GENESIS;
    (1..=count)
        .map(|seq| {
            let id = seq * 10;
            let event = event(seq);
            let mac = key.seal(&previous, seq, id, &event);
            previous = mac;
            AuditRecord {
                id,
                row_seal: Some(key.seal_row([seq as u8; 16], &event)),
                event,
                seal: Some(Seal { seq, mac }),
            }
        })
        .collect()
}

/// Every row must carry a row MAC; `unsealed` are the rows the sealer has not reached.
fn expect_unsealed(repository: &mut MockAuditRepository, unsealed: Vec<AuditRecord>) {
    repository
        .expect_row_seals_from()
        .return_const(Ok(RowSealsFrom {
            first_id: 1,
            since: at(),
        }));
    let last = unsealed.last().map_or(0, |row| row.id);
    repository
        .expect_unsealed_after()
        .with(eq(0), always())
        .return_const(Ok(unsealed));
    repository
        .expect_unsealed_after()
        .with(eq(last), always())
        .return_const(Ok(vec![]));
}

fn verify(service: &AuditService, key: &ChainKey) -> ChainReport {
    service
        .verify(key, None, DEFAULT_MAX_SKEW_SECONDS)
        .expect("walked")
}

fn nothing_pending() -> PendingSeal {
    PendingSeal {
        rows: 0,
        oldest: None,
    }
}

#[test]
fn a_malformed_filter_is_reported_only_to_those_who_may_read_the_trail() {
    let malformed = || -> Result<AuditFilter, &str> { Err("bad filter") };
    assert_eq!(
        AuditService::requested_filter(&caller(AuditTrailAccess::Allowed), malformed()),
        Err("bad filter")
    );
    for access in [
        AuditTrailAccess::NeedsSecondFactor,
        AuditTrailAccess::Forbidden,
    ] {
        assert_eq!(
            AuditService::requested_filter(&caller(access), malformed()),
            Ok(AuditFilter::default()),
            "{access:?} is refused by list_events, whatever the filters say"
        );
    }
    assert_eq!(
        AuditService::requested_filter::<&str>(&caller(AuditTrailAccess::Forbidden), Ok(filter())),
        Ok(filter())
    );
}

#[test]
fn reading_the_trail_is_refused_to_non_staff_and_recorded() {
    let mut repository = MockAuditRepository::new();
    repository.expect_list().never();
    let (service, trail) = service(repository);
    assert_eq!(
        service.list_events(&caller(AuditTrailAccess::Forbidden), &filter(), page()),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(
        trail.take_one(),
        AuditEvent {
            at: at(),
            actor: Some(READER),
            action: AuditAction::AuditRead,
            resource_id: None,
            patient_id: None,
            outcome: AuditOutcome::Denied,
            origin: origin(),
            break_glass: false,
        }
    );
}

#[test]
fn staff_signed_in_with_the_password_alone_are_asked_for_a_second_factor() {
    let mut repository = MockAuditRepository::new();
    repository.expect_list().never();
    let (service, trail) = service(repository);
    assert_eq!(
        service.list_events(
            &caller(AuditTrailAccess::NeedsSecondFactor),
            &filter(),
            page()
        ),
        Err(ServiceError::SecondFactorRequired)
    );
    assert_eq!(trail.take_one().outcome, AuditOutcome::Denied);
}

#[test]
fn staff_read_the_trail_and_the_reading_is_recorded() {
    let rows = sealed_chain(&key(), 2);
    let listed = PageOf {
        items: rows.clone(),
        total: 2,
    };
    let mut repository = MockAuditRepository::new();
    repository
        .expect_list()
        .with(eq(filter()), eq(page()))
        .times(1)
        .return_const(Ok(listed.clone()));
    let (service, trail) = service(repository);
    assert_eq!(
        service.list_events(&caller(AuditTrailAccess::Allowed), &filter(), page()),
        Ok(listed)
    );
    let row = trail.take_one();
    assert_eq!(row.action, AuditAction::AuditRead);
    assert_eq!(row.outcome, AuditOutcome::Success);
    assert_eq!(row.actor, Some(READER));
    assert_eq!(row.origin, origin());
}

#[test]
fn exporting_is_not_recorded() {
    let mut repository = MockAuditRepository::new();
    repository.expect_list().times(1).returning(|_, _| {
        Ok(PageOf {
            items: vec![],
            total: 0,
        })
    });
    let (service, trail) = service(repository);
    assert!(service.export(&AuditFilter::default(), page()).is_ok());
    trail.assert_empty();
}

#[test]
fn an_intact_chain_verifies_to_its_head() {
    let key = key();
    let rows = sealed_chain(&key, 3);
    let head = rows[2].seal.map(|seal| seal.mac);
    let mut repository = MockAuditRepository::new();
    expect_unsealed(&mut repository, vec![]);
    repository
        .expect_sealed_after()
        .with(eq(0), always())
        .times(1)
        .return_const(Ok(rows));
    repository
        .expect_sealed_after()
        .with(eq(3), always())
        .times(1)
        .return_const(Ok(vec![]));
    repository
        .expect_pending_seal()
        .times(1)
        .return_const(Ok(nothing_pending()));
    let (service, trail) = service(repository);
    let report = verify(&service, &key);
    assert!(report.is_intact());
    assert_eq!(
        Some(report),
        head.map(|mac| ChainReport {
            checked: 3,
            head: (3, mac),
            broken: None,
            pending: nothing_pending(),
            unauthenticated: vec![],
        })
    );
    trail.assert_empty();
}

#[test]
fn verifying_with_another_key_reports_the_first_row_changed() {
    let rows = sealed_chain(&key(), 2);
    let mut repository = MockAuditRepository::new();
    expect_unsealed(&mut repository, vec![]);
    repository.expect_sealed_after().return_const(Ok(rows));
    repository
        .expect_pending_seal()
        .return_const(Ok(nothing_pending()));
    let (service, _trail) = service(repository);
    let report = verify(&service, &ChainKey::new([8_u8; 32]));
    assert_eq!(report.broken, Some(ChainBreak::Changed { seq: 1, id: 10 }));
    assert_eq!(report.checked, 0);
    assert_eq!(report.head, (0, Mac::GENESIS));
}

#[test]
fn a_changed_outcome_breaks_the_chain_at_its_row() {
    let key = key();
    let mut rows = sealed_chain(&key, 3);
    rows[1].event.outcome = AuditOutcome::Denied;
    let first = rows[0].seal.map(|seal| seal.mac);
    let mut repository = MockAuditRepository::new();
    expect_unsealed(&mut repository, vec![]);
    repository
        .expect_sealed_after()
        .with(eq(0), always())
        .times(1)
        .return_const(Ok(rows));
    repository
        .expect_pending_seal()
        .return_const(Ok(PendingSeal {
            rows: 4,
            oldest: Some(at()),
        }));
    let (service, _trail) = service(repository);
    let report = verify(&service, &key);
    assert_eq!(report.broken, Some(ChainBreak::Changed { seq: 2, id: 20 }));
    assert_eq!(report.checked, 1);
    assert_eq!(Some(report.head), first.map(|mac| (1, mac)));
    assert_eq!(report.pending.rows, 4);
}

#[test]
fn a_deleted_row_is_reported() {
    let key = key();
    let mut rows = sealed_chain(&key, 3);
    rows.remove(1);
    let mut repository = MockAuditRepository::new();
    expect_unsealed(&mut repository, vec![]);
    repository.expect_sealed_after().return_const(Ok(rows));
    repository
        .expect_pending_seal()
        .return_const(Ok(nothing_pending()));
    let (service, _trail) = service(repository);
    let report = verify(&service, &key);
    assert_eq!(
        report.broken,
        Some(ChainBreak::Deleted {
            expected: 2,
            found: 3
        })
    );
}

#[test]
fn verification_resumes_after_an_archived_prefix() {
    let key = key();
    let rows = sealed_chain(&key, 4);
    let resume = rows[1].seal.map(|seal| (seal.seq, seal.mac));
    let tail: Vec<AuditRecord> = rows[2..].to_vec();
    let head = rows[3].seal.map(|seal| seal.mac);
    let mut repository = MockAuditRepository::new();
    expect_unsealed(&mut repository, vec![]);
    repository
        .expect_sealed_after()
        .with(eq(2), always())
        .times(1)
        .return_const(Ok(tail));
    repository
        .expect_sealed_after()
        .with(eq(4), always())
        .times(1)
        .return_const(Ok(vec![]));
    repository
        .expect_pending_seal()
        .return_const(Ok(nothing_pending()));
    let (service, _trail) = service(repository);
    let report = service
        .verify(&key, resume, DEFAULT_MAX_SKEW_SECONDS)
        .expect("walked");
    assert_eq!(report.broken, None);
    assert_eq!(report.checked, 2);
    assert_eq!(Some(report.head), head.map(|mac| (4, mac)));
}

#[test]
fn sealing_loops_until_a_round_seals_less_than_the_batch() {
    let head = |seq| {
        Some(Seal {
            seq,
            mac: Mac([seq as u8; 32]),
        })
    };
    let mut repository = MockAuditRepository::new();
    let mut order = Sequence::new();
    for (sealed, seq) in [(10, 10), (10, 20), (3, 23)] {
        repository
            .expect_seal_pending()
            .with(always(), eq(10), always())
            .times(1)
            .in_sequence(&mut order)
            .return_const(Ok(SealRound {
                sealed,
                head: head(seq),
                refused: vec![],
            }));
    }
    let (service, trail) = service(repository);
    assert_eq!(
        service.seal_pending(&key(), 10, &mut BTreeSet::new()),
        Ok(SealRound {
            sealed: 23,
            head: head(23),
            refused: vec![],
        })
    );
    trail.assert_empty();
}

#[test]
fn sealing_stops_at_once_when_nothing_is_pending() {
    let mut repository = MockAuditRepository::new();
    repository
        .expect_seal_pending()
        .times(1)
        .return_const(Ok(SealRound {
            sealed: 0,
            head: None,
            refused: vec![],
        }));
    let (service, _trail) = service(repository);
    assert_eq!(
        service.seal_pending(&key(), 10, &mut BTreeSet::new()),
        Ok(SealRound {
            sealed: 0,
            head: None,
            refused: vec![],
        })
    );
}

#[test]
fn refused_rows_are_reported_once_and_passed_over_afterwards() {
    let mut repository = MockAuditRepository::new();
    let mut order = Sequence::new();
    repository
        .expect_seal_pending()
        .withf(|_, _, refused| refused.is_empty())
        .times(1)
        .in_sequence(&mut order)
        .return_const(Ok(SealRound {
            sealed: 10,
            head: None,
            refused: vec![5],
        }));
    repository
        .expect_seal_pending()
        .withf(|_, _, refused| refused.contains(&5))
        .times(2)
        .in_sequence(&mut order)
        .return_const(Ok(SealRound {
            sealed: 0,
            head: None,
            refused: vec![],
        }));
    let (service, _trail) = service(repository);
    let mut refused = BTreeSet::new();
    let first = service.seal_pending(&key(), 10, &mut refused);
    assert_eq!(first.map(|round| round.refused), Ok(vec![5]));
    let again = service.seal_pending(&key(), 10, &mut refused);
    assert_eq!(again.map(|round| round.refused), Ok(vec![]));
    assert_eq!(refused, BTreeSet::from([5]));
}

#[test]
fn unsealed_rows_without_the_servers_row_mac_are_reported_as_forged() {
    let key = key();
    let genuine = AuditRecord {
        seal: None,
        ..sealed_chain(&key, 1).remove(0)
    };
    let forged = AuditRecord {
        id: 30,
        row_seal: None,
        ..genuine.clone()
    };
    let signed_elsewhere = AuditRecord {
        id: 40,
        row_seal: Some(ChainKey::new([9_u8; 32]).seal_row([4; 16], &genuine.event)),
        ..genuine.clone()
    };
    let mut repository = MockAuditRepository::new();
    expect_unsealed(&mut repository, vec![genuine, forged, signed_elsewhere]);
    repository.expect_sealed_after().return_const(Ok(vec![]));
    repository
        .expect_pending_seal()
        .return_const(Ok(nothing_pending()));
    let (service, _trail) = service(repository);
    let report = verify(&service, &key);
    assert_eq!(report.broken, None);
    assert_eq!(report.unauthenticated, vec![30, 40]);
    assert!(!report.is_intact());
}
