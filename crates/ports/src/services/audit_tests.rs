//! Tests of reading, sealing and verifying the audit trail, with a mock repository.

use std::sync::Arc;

use healthcare_domain::UserId;
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainBreak, ChainKey, Mac, Seal,
};
use healthcare_domain::patient::PatientId;
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

fn caller(is_staff: bool) -> Caller {
    Caller {
        user: READER,
        is_staff,
        origin: origin(),
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
                event,
                seal: Some(Seal { seq, mac }),
            }
        })
        .collect()
}

fn nothing_pending() -> PendingSeal {
    PendingSeal {
        rows: 0,
        oldest: None,
    }
}

#[test]
fn reading_the_trail_is_refused_to_non_staff_and_recorded() {
    let mut repository = MockAuditRepository::new();
    repository.expect_list().never();
    let (service, trail) = service(repository);
    assert_eq!(
        service.list_events(&caller(false), &filter(), page()),
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
        }
    );
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
        service.list_events(&caller(true), &filter(), page()),
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
    let report = service.verify(&key, None).expect("verified");
    assert_eq!(
        Some(report),
        head.map(|mac| ChainReport {
            checked: 3,
            head: (3, mac),
            broken: None,
            pending: nothing_pending(),
        })
    );
    trail.assert_empty();
}

#[test]
fn verifying_with_another_key_reports_the_first_row_changed() {
    let rows = sealed_chain(&key(), 2);
    let mut repository = MockAuditRepository::new();
    repository.expect_sealed_after().return_const(Ok(rows));
    repository
        .expect_pending_seal()
        .return_const(Ok(nothing_pending()));
    let (service, _trail) = service(repository);
    let report = service
        .verify(&ChainKey::new([8_u8; 32]), None)
        .expect("walked");
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
    let report = service.verify(&key, None).expect("walked");
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
    repository.expect_sealed_after().return_const(Ok(rows));
    repository
        .expect_pending_seal()
        .return_const(Ok(nothing_pending()));
    let (service, _trail) = service(repository);
    let report = service.verify(&key, None).expect("walked");
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
    let report = service.verify(&key, resume).expect("walked");
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
            .with(always(), eq(10))
            .times(1)
            .in_sequence(&mut order)
            .return_const(Ok(SealRound {
                sealed,
                head: head(seq),
            }));
    }
    let (service, trail) = service(repository);
    assert_eq!(
        service.seal_pending(&key(), 10),
        Ok(SealRound {
            sealed: 23,
            head: head(23),
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
        }));
    let (service, _trail) = service(repository);
    assert_eq!(
        service.seal_pending(&key(), 10),
        Ok(SealRound {
            sealed: 0,
            head: None,
        })
    );
}
