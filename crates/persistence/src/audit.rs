//! The audit trail in the database: appended rows, the sealer's chain, and queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_domain::UserId;
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainKey, Mac, RequestOrigin, Seal,
};
use healthcare_domain::patient::PatientId;
use healthcare_ports::ports::{AuditFilter, AuditRepository, PendingSeal, SealRound};
use healthcare_ports::{Page, PageOf, RepoError};

use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::{corrupt_row, from_diesel};
use crate::schema::audit_events;
use crate::time::{from_db, opt_from_db, to_db};

/// A row of `audit_events`, in the table's column order.
#[derive(Queryable)]
struct AuditRow {
    id: i64,
    at: NaiveDateTime,
    actor_user_id: Option<i64>,
    action: String,
    _resource_type: String,
    resource_id: Option<i64>,
    patient_id: Option<i64>,
    outcome: String,
    client_address: Option<String>,
    request_id: Option<String>,
    seq: Option<i64>,
    mac: Option<String>,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = RepoError;

    fn try_from(row: AuditRow) -> Result<Self, RepoError> {
        let corrupt = |field| corrupt_row("audit_events", row.id, field);
        let action = AuditAction::parse(&row.action).ok_or_else(|| corrupt("action"))?;
        let outcome = AuditOutcome::parse(&row.outcome).ok_or_else(|| corrupt("outcome"))?;
        let seal = match (row.seq, row.mac.as_deref()) {
            (Some(seq), Some(mac)) => Some(Seal {
                seq,
                // A MAC that is not even hex is tampering too: it simply fails to verify.
                mac: Mac::from_hex(mac).unwrap_or(Mac::GENESIS),
            }),
            _ => None,
        };
        Ok(AuditRecord {
            id: row.id,
            event: AuditEvent {
                at: from_db(row.at),
                actor: row.actor_user_id.map(UserId),
                action,
                resource_id: row.resource_id,
                patient_id: row.patient_id.map(PatientId),
                outcome,
                origin: RequestOrigin {
                    client_address: row.client_address,
                    request_id: row.request_id,
                },
            },
            seal,
        })
    }
}

type NewAuditRow<'a> = (
    diesel::dsl::Eq<audit_events::at, NaiveDateTime>,
    diesel::dsl::Eq<audit_events::actor_user_id, Option<i64>>,
    diesel::dsl::Eq<audit_events::action, &'static str>,
    diesel::dsl::Eq<audit_events::resource_type, &'static str>,
    diesel::dsl::Eq<audit_events::resource_id, Option<i64>>,
    diesel::dsl::Eq<audit_events::patient_id, Option<i64>>,
    diesel::dsl::Eq<audit_events::outcome, &'static str>,
    diesel::dsl::Eq<audit_events::client_address, Option<&'a str>>,
    diesel::dsl::Eq<audit_events::request_id, Option<&'a str>>,
);

fn new_row(event: &AuditEvent) -> NewAuditRow<'_> {
    (
        audit_events::at.eq(to_db(event.at)),
        audit_events::actor_user_id.eq(event.actor.map(|user| user.0)),
        audit_events::action.eq(event.action.as_str()),
        audit_events::resource_type.eq(event.action.resource_type()),
        audit_events::resource_id.eq(event.resource_id),
        audit_events::patient_id.eq(event.patient_id.map(|patient| patient.0)),
        audit_events::outcome.eq(event.outcome.as_str()),
        audit_events::client_address.eq(event.origin.client_address.as_deref()),
        audit_events::request_id.eq(event.origin.request_id.as_deref()),
    )
}

/// Stores one event on `connection`: called by the repositories inside the transaction of the
/// change the event records.
pub(crate) fn append_in(
    connection: &mut DbConnection,
    event: &AuditEvent,
) -> Result<(), RepoError> {
    diesel::insert_into(audit_events::table)
        .values(new_row(event))
        .execute(connection)
        .map(|_| ())
        .map_err(from_diesel)
}

/// Stores `events` on `connection`, in order, with as few statements as SQLite's parameter
/// limit allows: called by [`DieselAuditRepository::append`] and by the repositories whose one
/// change records several events, inside that change's transaction.
pub(crate) fn append_all_in(
    connection: &mut DbConnection,
    events: &[AuditEvent],
) -> Result<(), RepoError> {
    // Multi-row statements (the multi-backend connection has no batch insert of its own, so
    // each dialect's connection runs it), within SQLite's parameter limit.
    for chunk in events.chunks(APPEND_ROWS_PER_STATEMENT) {
        let rows: Vec<_> = chunk.iter().map(new_row).collect();
        let insert = diesel::insert_into(audit_events::table).values(rows);
        match connection {
            DbConnection::Pg(inner) => insert.execute(inner),
            DbConnection::Sqlite(inner) => insert.execute(inner),
        }
        .map_err(from_diesel)?;
    }
    Ok(())
}

/// Rows per multi-row statement: 9 parameters each stays far below SQLite's limit.
const APPEND_ROWS_PER_STATEMENT: usize = 100;

/// One `UPDATE … FROM (VALUES …)` sealing every row of `seals` (PostgreSQL, and SQLite since
/// 3.33). The values are inlined: integers, and MACs that are lower-case hex by construction.
fn seal_statement(seals: &[(i64, Seal)]) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(64 + seals.len() * 96);
    sql.push_str("UPDATE audit_events SET seq = v.column2, mac = v.column3 FROM (VALUES ");
    for (index, (id, seal)) in seals.iter().enumerate() {
        let separator = if index == 0 { "" } else { ", " };
        let _ = write!(
            sql,
            "{separator}({id}, {}, '{}')",
            seal.seq,
            seal.mac.to_hex()
        );
    }
    sql.push_str(") AS v WHERE audit_events.id = v.column1");
    sql
}

/// Serialises sealers of every instance until the transaction ends. SQLite's `BEGIN
/// IMMEDIATE` already serialises every writer; PostgreSQL takes an advisory lock.
fn lock_chain(connection: &mut DbConnection) -> Result<(), RepoError> {
    /// Namespace and key of the sealer's lock, apart from the migration and token locks.
    const SEALER_LOCK: (i32, i32) = (0x6175, 1);
    match connection {
        DbConnection::Pg(inner) => diesel::connection::SimpleConnection::batch_execute(
            inner,
            &format!(
                "SELECT pg_advisory_xact_lock({}, {})",
                SEALER_LOCK.0, SEALER_LOCK.1
            ),
        )
        .map_err(from_diesel),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

fn chain_head(connection: &mut DbConnection) -> Result<Option<Seal>, RepoError> {
    let head = audit_events::table
        .filter(audit_events::seq.is_not_null())
        .order(audit_events::seq.desc())
        .select((audit_events::id, audit_events::seq, audit_events::mac))
        .first::<(i64, Option<i64>, Option<String>)>(connection)
        .optional()
        .map_err(from_diesel)?;
    head.map(|(id, seq, mac)| {
        let seq = seq.ok_or_else(|| corrupt_row("audit_events", id, "seq"))?;
        let mac = mac
            .as_deref()
            .and_then(Mac::from_hex)
            .ok_or_else(|| corrupt_row("audit_events", id, "mac"))?;
        Ok(Seal { seq, mac })
    })
    .transpose()
}

/// [`AuditRepository`] over the shared pool.
#[derive(Clone)]
pub struct DieselAuditRepository {
    pool: DbPool,
}

impl DieselAuditRepository {
    /// A repository using `pool`.
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

fn matching(
    filter: &AuditFilter,
) -> audit_events::BoxedQuery<'static, crate::connection::DbBackend> {
    let mut query = audit_events::table.into_boxed();
    if let Some(patient) = filter.patient {
        query = query.filter(audit_events::patient_id.eq(patient.0));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(audit_events::actor_user_id.eq(actor.0));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_events::action.eq(action.as_str()));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(to_db(since)));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.le(to_db(until)));
    }
    query
}

impl AuditRepository for DieselAuditRepository {
    fn append(&self, events: &[AuditEvent]) -> Result<(), RepoError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            append_all_in(connection, events)
        })
    }

    fn seal_pending(&self, key: &ChainKey, limit: u32) -> Result<SealRound, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            lock_chain(connection)?;
            let mut head = chain_head(connection)?;
            let pending = audit_events::table
                .filter(audit_events::seq.is_null())
                .order(audit_events::id.asc())
                .limit(i64::from(limit))
                .load::<AuditRow>(connection)
                .map_err(from_diesel)?;
            let sealed = pending.len();
            let mut seals = Vec::with_capacity(sealed);
            for row in pending {
                let record = AuditRecord::try_from(row)?;
                let previous = head.map_or(Mac::GENESIS, |seal| seal.mac);
                let seq = head.map_or(1, |seal| seal.seq + 1);
                let mac = key.seal(&previous, seq, record.id, &record.event);
                seals.push((record.id, Seal { seq, mac }));
                head = Some(Seal { seq, mac });
            }
            for chunk in seals.chunks(APPEND_ROWS_PER_STATEMENT) {
                diesel::sql_query(seal_statement(chunk))
                    .execute(connection)
                    .map_err(from_diesel)?;
            }
            Ok(SealRound { sealed, head })
        })
    }

    fn sealed_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        audit_events::table
            .filter(audit_events::seq.gt(after_seq))
            .order((audit_events::seq.asc(), audit_events::id.asc()))
            .limit(i64::from(limit))
            .load::<AuditRow>(&mut *connection)
            .map_err(from_diesel)?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
    }

    fn pending_seal(&self) -> Result<PendingSeal, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let (rows, oldest) = audit_events::table
            .filter(audit_events::seq.is_null())
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(audit_events::at),
            ))
            .first::<(i64, Option<NaiveDateTime>)>(&mut *connection)
            .map_err(from_diesel)?;
        Ok(PendingSeal {
            rows: rows.unsigned_abs(),
            oldest: opt_from_db(oldest),
        })
    }

    fn list(&self, filter: &AuditFilter, page: Page) -> Result<PageOf<AuditRecord>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        let rows = matching(filter)
            .order((audit_events::at.desc(), audit_events::id.desc()))
            .limit(page.limit())
            .offset(page.offset())
            .load::<AuditRow>(&mut *connection)
            .map_err(from_diesel)?;
        let total: i64 = matching(filter)
            .count()
            .get_result(&mut *connection)
            .map_err(from_diesel)?;
        Ok(PageOf {
            items: rows
                .into_iter()
                .map(AuditRecord::try_from)
                .collect::<Result<_, _>>()?,
            total: total.unsigned_abs(),
        })
    }
}
