//! The audit trail's background work: a writer that stores read rows in small batches off the
//! request path, and the sealer that chains every stored row with `AUDIT_HMAC_KEY`.
//!
//! Both run on their own threads with their own small pool, so requests never wait for them
//! and their statements never compete with requests for connections.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use healthcare_domain::audit::{AuditAction, AuditEvent, ChainKey};
use healthcare_ports::ports::{AuditRepository, AuditTrail};
use healthcare_ports::services::AuditService;

/// Longest a recorded event waits before its batch is written: the most a crash can lose.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Most events per batch.
const BATCH: usize = 500;
/// Events held while the database is unreachable; past this, new events are dropped (and
/// counted in the log), so an outage cannot exhaust memory.
const QUEUE: usize = 50_000;
/// How often the sealer looks for new rows.
pub const SEAL_INTERVAL: Duration = Duration::from_secs(1);
/// Rows sealed per transaction.
const SEAL_BATCH: u32 = 500;

/// Whether reads (and other events that change nothing) are recorded; changes always are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAuditing {
    /// Every event (the default, and the only choice in production).
    On,
    /// Reads of patient data are not recorded (development only, to measure the cost).
    Off,
}

/// [`AuditTrail`] that hands events to the writer thread and returns at once.
pub struct BufferedAuditTrail {
    sender: Mutex<Option<SyncSender<AuditEvent>>>,
    reads: ReadAuditing,
}

impl AuditTrail for BufferedAuditTrail {
    fn record(&self, event: AuditEvent) {
        if self.reads == ReadAuditing::Off && is_read(event.action) {
            return;
        }
        let sender = match self.sender.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Some(sender) = sender else {
            tracing::error!(action = %event.action, "audit event after shutdown: not stored");
            return;
        };
        match sender.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => {
                tracing::error!(action = %event.action, "audit queue full (database down?): event dropped");
            }
            Err(TrySendError::Disconnected(event)) => {
                tracing::error!(action = %event.action, "audit writer stopped: event dropped");
            }
        }
    }
}

fn is_read(action: AuditAction) -> bool {
    matches!(
        action,
        AuditAction::PatientRead | AuditAction::PatientList | AuditAction::MappingList
    )
}

/// The running writer and sealer.
pub struct AuditWorkers {
    trail: Arc<BufferedAuditTrail>,
    writer: Option<JoinHandle<()>>,
    sealer: Option<(SyncSender<()>, JoinHandle<()>)>,
}

impl AuditWorkers {
    /// Starts the writer and the sealer over `repository`.
    pub fn start(
        repository: Arc<dyn AuditRepository>,
        key: ChainKey,
        reads: ReadAuditing,
    ) -> std::io::Result<Self> {
        let (sender, events) = mpsc::sync_channel(QUEUE);
        let trail = Arc::new(BufferedAuditTrail {
            sender: Mutex::new(Some(sender)),
            reads,
        });
        let service = AuditService::new(
            repository.clone(),
            trail.clone(),
            Arc::new(crate::wiring::SystemClock),
        );
        let writer_repository = repository.clone();
        let writer = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_batches(&events, writer_repository.as_ref()))?;
        let (stop, stopped) = mpsc::sync_channel(1);
        let sealer = std::thread::Builder::new()
            .name("audit-sealer".into())
            .spawn(move || seal_until_stopped(&stopped, &service, &key))?;
        Ok(Self {
            trail,
            writer: Some(writer),
            sealer: Some((stop, sealer)),
        })
    }

    /// The trail services record into.
    pub fn trail(&self) -> Arc<dyn AuditTrail> {
        self.trail.clone()
    }

    /// Writes what is queued, seals it, and stops both threads.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        match self.trail.sender.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("audit writer panicked");
        }
        if let Some((stop, sealer)) = self.sealer.take() {
            drop(stop); // disconnecting wakes the sealer for its last round
            if sealer.join().is_err() {
                tracing::error!("audit sealer panicked");
            }
        }
    }
}

impl Drop for AuditWorkers {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Collects events into batches (at most [`BATCH`], none older than [`FLUSH_INTERVAL`]) and
/// writes each in one transaction; a failed batch is kept and retried with the next one.
fn write_batches(events: &Receiver<AuditEvent>, repository: &dyn AuditRepository) {
    let mut batch: Vec<AuditEvent> = Vec::new();
    let mut open = true;
    while open || !batch.is_empty() {
        if batch.is_empty() {
            match events.recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let deadline = Instant::now() + FLUSH_INTERVAL;
        while open && batch.len() < BATCH {
            match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(event) => batch.push(event),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        match repository.append(&batch) {
            Ok(()) => batch.clear(),
            Err(error) if open => {
                tracing::error!(%error, rows = batch.len(), "audit rows not written yet; retrying");
                if batch.len() > QUEUE {
                    let dropped = batch.len() - QUEUE;
                    batch.drain(..dropped);
                    tracing::error!(dropped, "audit backlog over its bound: oldest rows dropped");
                }
            }
            Err(error) => {
                tracing::error!(%error, rows = batch.len(), "audit rows lost at shutdown");
                batch.clear();
            }
        }
    }
}

/// Seals new rows every [`SEAL_INTERVAL`] and once more when stopped, logging the chain's
/// head so that an external log keeps a record of it.
fn seal_until_stopped(stop: &Receiver<()>, service: &AuditService, key: &ChainKey) {
    loop {
        let stopping = !matches!(
            stop.recv_timeout(SEAL_INTERVAL),
            Err(RecvTimeoutError::Timeout)
        );
        match service.seal_pending(key, SEAL_BATCH) {
            Ok(round) if round.sealed > 0 => {
                if let Some(head) = round.head {
                    tracing::info!(
                        sealed = round.sealed,
                        head_seq = head.seq,
                        head_mac = %head.mac.to_hex(),
                        "audit rows sealed"
                    );
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "audit sealing failed; retrying"),
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use healthcare_domain::audit::{AuditOutcome, RequestOrigin};
    use healthcare_ports::ports::{AuditFilter, PendingSeal, SealRound};
    use healthcare_ports::{Page, PageOf, RepoError};

    use super::*;

    #[derive(Default)]
    struct CountingRepository {
        stored: Mutex<Vec<AuditEvent>>,
        failures_left: AtomicUsize,
    }

    impl AuditRepository for CountingRepository {
        fn append(&self, events: &[AuditEvent]) -> Result<(), RepoError> {
            if self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(RepoError::Unavailable("down".into()));
            }
            self.stored
                .lock()
                .map_err(|_| RepoError::Internal("poisoned".into()))?
                .extend_from_slice(events);
            Ok(())
        }
        fn seal_pending(&self, _: &ChainKey, _: u32) -> Result<SealRound, RepoError> {
            Ok(SealRound {
                sealed: 0,
                head: None,
            })
        }
        fn sealed_after(
            &self,
            _: i64,
            _: u32,
        ) -> Result<Vec<healthcare_domain::audit::AuditRecord>, RepoError> {
            Ok(Vec::new())
        }
        fn pending_seal(&self) -> Result<PendingSeal, RepoError> {
            Ok(PendingSeal {
                rows: 0,
                oldest: None,
            })
        }
        fn list(
            &self,
            _: &AuditFilter,
            _: Page,
        ) -> Result<PageOf<healthcare_domain::audit::AuditRecord>, RepoError> {
            Ok(PageOf {
                items: Vec::new(),
                total: 0,
            })
        }
    }

    fn event(action: AuditAction) -> AuditEvent {
        AuditEvent {
            at: chrono::Utc::now(),
            actor: None,
            action,
            resource_id: None,
            patient_id: None,
            outcome: AuditOutcome::Success,
            origin: RequestOrigin::default(),
        }
    }

    fn workers(repository: Arc<CountingRepository>, reads: ReadAuditing) -> AuditWorkers {
        AuditWorkers::start(repository, ChainKey::new("k"), reads).expect("threads")
    }

    #[test]
    fn every_recorded_event_is_stored_by_the_time_the_workers_stop() {
        let repository = Arc::new(CountingRepository::default());
        let workers = workers(repository.clone(), ReadAuditing::On);
        for _ in 0..1_234 {
            workers.trail().record(event(AuditAction::PatientRead));
        }
        workers.stop();
        let stored = repository.stored.lock().map(|s| s.len()).unwrap_or(0);
        assert_eq!(stored, 1_234);
    }

    #[test]
    fn a_failed_batch_is_retried_not_lost() {
        let repository = Arc::new(CountingRepository {
            failures_left: AtomicUsize::new(2),
            ..CountingRepository::default()
        });
        let workers = workers(repository.clone(), ReadAuditing::On);
        workers.trail().record(event(AuditAction::AuthLogin));
        let deadline = Instant::now() + Duration::from_secs(5);
        while repository.stored.lock().map(|s| s.len()).unwrap_or(0) == 0
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        workers.stop();
        assert_eq!(repository.stored.lock().map(|s| s.len()).unwrap_or(0), 1);
    }

    #[test]
    fn with_read_auditing_off_only_reads_are_skipped() {
        let repository = Arc::new(CountingRepository::default());
        let workers = workers(repository.clone(), ReadAuditing::Off);
        workers.trail().record(event(AuditAction::PatientRead));
        workers.trail().record(event(AuditAction::PatientList));
        workers.trail().record(event(AuditAction::MappingList));
        workers.trail().record(event(AuditAction::AuthLogin));
        workers.trail().record(event(AuditAction::PatientUpdate));
        workers.stop();
        let actions: Vec<_> = repository
            .stored
            .lock()
            .map(|s| s.iter().map(|e| e.action).collect())
            .unwrap_or_default();
        assert_eq!(
            actions,
            [AuditAction::AuthLogin, AuditAction::PatientUpdate]
        );
    }
}
