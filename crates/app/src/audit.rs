//! The audit trail's background work: writers that store read rows in batches off the request
//! path, and the sealer that chains every stored row with `AUDIT_HMAC_KEY`.
//!
//! They run on their own threads with their own small pool, so their statements never compete
//! with requests for connections. The queue between requests and writers is bounded and never
//! drops an event: when it is full, a request waits for room up to its deadline and is then
//! refused (503) without its data, so no request is answered while its row is lost.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use healthcare_core::ServiceError;
use healthcare_core::ports::{AuditRepository, AuditTrail};
use healthcare_core::services::AuditService;
use healthcare_domain::audit::{AuditAction, AuditEvent, ChainKey};
use healthcare_json_api::state::AuditQueueProbe;

/// Longest a recorded event waits before its batch is written, when the writers keep up.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// How many events wait between requests and the database, at most.
#[derive(Debug, Clone, Copy)]
struct Capacity {
    /// Events waiting for a writer.
    queue: usize,
    /// Events a writer gathers into one transaction.
    batch: usize,
}

/// Small on purpose: what a crash can lose is what waits here (the queue and each writer's
/// batch), and a full queue slows requests down to the writers' pace instead of growing.
const CAPACITY: Capacity = Capacity {
    queue: 4_000,
    batch: 1_000,
};
/// Writer threads. Two keep one batch in flight while the next one fills.
const WRITERS: usize = 2;
/// How often the sealer looks for new rows.
pub const SEAL_INTERVAL: Duration = Duration::from_secs(1);
/// Rows sealed per transaction.
const SEAL_BATCH: u32 = 1_000;

/// Whether reads (and other events that change nothing) are recorded; changes always are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAuditing {
    /// Every event (the default, and the only choice in production).
    On,
    /// Reads of patient data are not recorded (development only, to measure the cost).
    Off,
}

/// How the queue is doing, for the metrics.
#[derive(Debug, Default)]
pub struct AuditQueueCounters {
    refused: AtomicU64,
    written: AtomicU64,
}

/// [`AuditTrail`] that hands events to the writer threads. It returns as soon as the event is
/// queued; when the queue stays full past `enqueue_timeout`, it refuses the event (and so the
/// request) with `Unavailable`.
pub struct BufferedAuditTrail {
    sender: RwLock<Option<Sender<AuditEvent>>>,
    reads: ReadAuditing,
    enqueue_timeout: Duration,
    counters: Arc<AuditQueueCounters>,
}

impl AuditTrail for BufferedAuditTrail {
    fn record(&self, event: AuditEvent) -> Result<(), ServiceError> {
        if self.reads == ReadAuditing::Off && is_read(event.action) {
            return Ok(());
        }
        let sender = self
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let sent = match sender {
            Some(sender) => sender.send_timeout(event, self.enqueue_timeout),
            None => Err(SendTimeoutError::Disconnected(event)),
        };
        sent.map_err(|error| {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            let reason = match error {
                SendTimeoutError::Timeout(_) => "the audit queue stayed full",
                SendTimeoutError::Disconnected(_) => "the audit writers have stopped",
            };
            ServiceError::Unavailable(format!("{reason}: request refused, its row not taken"))
        })
    }
}

impl AuditQueueProbe for BufferedAuditTrail {
    fn queued(&self) -> u64 {
        self.sender
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |sender| sender.len() as u64)
    }

    fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    fn refused(&self) -> u64 {
        self.counters.refused.load(Ordering::Relaxed)
    }
}

fn is_read(action: AuditAction) -> bool {
    matches!(
        action,
        AuditAction::PatientRead | AuditAction::PatientList | AuditAction::MappingList
    )
}

/// The running writers and sealer.
pub struct AuditWorkers {
    trail: Arc<BufferedAuditTrail>,
    writers: Vec<JoinHandle<()>>,
    sealer: Option<(Sender<()>, JoinHandle<()>)>,
}

impl AuditWorkers {
    /// Starts the writers and the sealer over `repository`. A request waits at most
    /// `enqueue_timeout` for room in a full queue.
    pub fn start(
        repository: Arc<dyn AuditRepository>,
        key: ChainKey,
        reads: ReadAuditing,
        enqueue_timeout: Duration,
    ) -> std::io::Result<Self> {
        Self::start_with(repository, key, reads, enqueue_timeout, CAPACITY)
    }

    fn start_with(
        repository: Arc<dyn AuditRepository>,
        key: ChainKey,
        reads: ReadAuditing,
        enqueue_timeout: Duration,
        capacity: Capacity,
    ) -> std::io::Result<Self> {
        let (sender, events) = crossbeam_channel::bounded(capacity.queue);
        let counters = Arc::new(AuditQueueCounters::default());
        let trail = Arc::new(BufferedAuditTrail {
            sender: RwLock::new(Some(sender)),
            reads,
            enqueue_timeout,
            counters: counters.clone(),
        });
        let mut writers = Vec::with_capacity(WRITERS);
        for number in 0..WRITERS {
            let (events, repository, counters) =
                (events.clone(), repository.clone(), counters.clone());
            writers.push(
                std::thread::Builder::new()
                    .name(format!("audit-writer-{number}"))
                    .spawn(move || {
                        write_batches(&events, capacity.batch, repository.as_ref(), &counters)
                    })?,
            );
        }
        let service = AuditService::new(
            repository,
            trail.clone(),
            Arc::new(crate::clock::SystemClock),
        );
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let sealer = std::thread::Builder::new()
            .name("audit-sealer".into())
            .spawn(move || seal_until_stopped(&stopped, &service, &key))?;
        Ok(Self {
            trail,
            writers,
            sealer: Some((stop, sealer)),
        })
    }

    /// The trail services record into.
    pub fn trail(&self) -> Arc<dyn AuditTrail> {
        self.trail.clone()
    }

    /// The queue's figures, for the metrics.
    pub fn queue(&self) -> Arc<BufferedAuditTrail> {
        self.trail.clone()
    }

    /// Writes what is queued, seals it, and stops every thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.trail
            .sender
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        for writer in self.writers.drain(..) {
            if writer.join().is_err() {
                tracing::error!("an audit writer panicked");
            }
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

/// Collects events into batches (at most `batch_size`, none older than [`FLUSH_INTERVAL`]) and
/// writes each in one transaction. A failed batch is kept and retried: nothing taken from the
/// queue is dropped while the server runs, and the full queue holds requests back meanwhile.
fn write_batches(
    events: &Receiver<AuditEvent>,
    batch_size: usize,
    repository: &dyn AuditRepository,
    counters: &AuditQueueCounters,
) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(batch_size);
    let mut open = true;
    while open || !batch.is_empty() {
        if batch.is_empty() {
            match events.recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let deadline = Instant::now() + FLUSH_INTERVAL;
        while open && batch.len() < batch_size {
            // Whatever is already queued joins the batch at once; then wait for more.
            match events.try_recv() {
                Ok(event) => {
                    batch.push(event);
                    continue;
                }
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
                Err(crossbeam_channel::TryRecvError::Empty) => {}
            }
            match events.recv_deadline(deadline) {
                Ok(event) => batch.push(event),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        match repository.append(&batch) {
            Ok(()) => {
                counters
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
            }
            Err(error) if open => {
                tracing::error!(%error, rows = batch.len(), "audit rows not written yet; retrying");
                std::thread::sleep(RETRY_PAUSE);
            }
            Err(error) => {
                tracing::error!(%error, rows = batch.len(), "audit rows lost at shutdown");
                batch.clear();
            }
        }
    }
}

/// Pause before retrying a batch the database refused, so an outage is not a busy loop.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Seals new rows every [`SEAL_INTERVAL`] and once more when stopped, logging the chain's
/// head so that an external log keeps a record of it.
fn seal_until_stopped(stop: &Receiver<()>, service: &AuditService, key: &ChainKey) {
    let mut refused = BTreeSet::new();
    loop {
        let stopping = !matches!(
            stop.recv_timeout(SEAL_INTERVAL),
            Err(RecvTimeoutError::Timeout)
        );
        match service.seal_pending(key, SEAL_BATCH, &mut refused) {
            Ok(round) => {
                for id in &round.refused {
                    tracing::error!(
                        row = id,
                        "audit row not written by the server (no valid row MAC): left unsealed; `healthcare-admin audit verify` reports it"
                    );
                }
                if let Some(head) = round.head.filter(|_| round.sealed > 0) {
                    tracing::info!(
                        sealed = round.sealed,
                        head_seq = head.seq,
                        head_mac = %head.mac.to_hex(),
                        "audit rows sealed"
                    );
                }
            }
            Err(error) => tracing::error!(%error, "audit sealing failed; retrying"),
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    use healthcare_core::ports::{AuditFilter, PendingSeal, SealRound};
    use healthcare_core::{Page, PageOf, RepoError};
    use healthcare_domain::audit::{AuditOutcome, AuditRecord, RequestOrigin, RowSealsFrom};

    use super::*;

    #[derive(Default)]
    struct CountingRepository {
        stored: Mutex<Vec<AuditEvent>>,
        failures_left: AtomicUsize,
        /// Each append takes this long (a slow database).
        delay: Duration,
        /// Appends wait while this is set (a database that does not answer).
        stalled: AtomicBool,
    }

    impl CountingRepository {
        fn stored(&self) -> usize {
            self.stored.lock().map(|s| s.len()).unwrap_or(0)
        }
    }

    impl AuditRepository for CountingRepository {
        fn append(&self, events: &[AuditEvent]) -> Result<(), RepoError> {
            while self.stalled.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(self.delay);
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
        fn seal_pending(
            &self,
            _: &ChainKey,
            _: u32,
            _: &BTreeSet<i64>,
        ) -> Result<SealRound, RepoError> {
            Ok(SealRound {
                sealed: 0,
                head: None,
                refused: Vec::new(),
            })
        }
        fn row_seals_from(&self) -> Result<RowSealsFrom, RepoError> {
            Ok(RowSealsFrom {
                first_id: 0,
                since: chrono::DateTime::UNIX_EPOCH,
            })
        }
        fn unsealed_after(&self, _: i64, _: u32) -> Result<Vec<AuditRecord>, RepoError> {
            Ok(Vec::new())
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
            break_glass: false,
        }
    }

    fn workers(repository: Arc<CountingRepository>, reads: ReadAuditing) -> AuditWorkers {
        AuditWorkers::start(
            repository,
            ChainKey::new("k"),
            reads,
            Duration::from_secs(5),
        )
        .expect("threads")
    }

    fn record(workers: &AuditWorkers, action: AuditAction) {
        workers.trail().record(event(action)).expect("queued");
    }

    #[test]
    fn every_recorded_event_is_stored_by_the_time_the_workers_stop() {
        let repository = Arc::new(CountingRepository::default());
        let workers = workers(repository.clone(), ReadAuditing::On);
        for _ in 0..1_234 {
            record(&workers, AuditAction::PatientRead);
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
        record(&workers, AuditAction::AuthLogin);
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
        for action in [
            AuditAction::PatientRead,
            AuditAction::PatientList,
            AuditAction::MappingList,
            AuditAction::AuthLogin,
            AuditAction::PatientUpdate,
        ] {
            record(&workers, action);
        }
        workers.stop();
        // Several writers drain the queue, so the order of the stored rows is not the order
        // of recording.
        let actions: std::collections::HashSet<_> = repository
            .stored
            .lock()
            .map(|s| s.iter().map(|e| e.action).collect())
            .unwrap_or_default();
        assert_eq!(
            actions,
            [AuditAction::AuthLogin, AuditAction::PatientUpdate].into()
        );
        assert_eq!(repository.stored.lock().map(|s| s.len()).unwrap_or(0), 2);
    }

    /// Room for 4 events in the queue and 8 in each writer's batch.
    const TINY: Capacity = Capacity { queue: 4, batch: 8 };

    #[test]
    fn a_full_queue_holds_requests_back_and_loses_nothing() {
        // Sixteen requests at a time, far more events than there is room for, and a database
        // that stalls at first, then is slow: each request waits for room instead of having
        // its row dropped.
        let repository = Arc::new(CountingRepository {
            delay: Duration::from_millis(2),
            ..CountingRepository::default()
        });
        repository.stalled.store(true, Ordering::SeqCst);
        let workers = AuditWorkers::start_with(
            repository.clone(),
            ChainKey::new("k"),
            ReadAuditing::On,
            Duration::from_secs(30),
            TINY,
        )
        .expect("threads");
        let trail = workers.trail();
        let queue = workers.queue();
        let filled = std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        trail
                            .record(event(AuditAction::PatientRead))
                            .expect("taken after waiting for room");
                    }
                });
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while queue.queued() < 4 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            let filled = queue.queued();
            repository.stalled.store(false, Ordering::SeqCst);
            filled
        });
        workers.stop();
        assert_eq!(filled, 4, "the queue filled up while the database stalled");
        assert_eq!(repository.stored(), 16 * 50);
        assert_eq!((queue.written(), queue.refused()), (800, 0));
    }

    #[test]
    fn a_queue_that_stays_full_refuses_the_request_and_keeps_what_it_took() {
        let repository = Arc::new(CountingRepository::default());
        repository.stalled.store(true, Ordering::SeqCst);
        let workers = AuditWorkers::start_with(
            repository.clone(),
            ChainKey::new("k"),
            ReadAuditing::On,
            Duration::from_millis(50),
            TINY,
        )
        .expect("threads");
        let mut taken = 0;
        let refusal = loop {
            match workers.trail().record(event(AuditAction::PatientRead)) {
                Ok(()) if taken < 1_000 => taken += 1,
                outcome => break outcome,
            }
        };
        let queue = workers.queue();
        repository.stalled.store(false, Ordering::SeqCst);
        workers.stop();
        assert!(
            matches!(refusal, Err(ServiceError::Unavailable(_))),
            "{refusal:?}"
        );
        assert!(
            taken <= 4 + 2 * 8,
            "no more than the queue and the batches hold: {taken}"
        );
        assert_eq!(queue.refused(), 1);
        assert_eq!(repository.stored(), taken, "everything taken is stored");
    }
}
