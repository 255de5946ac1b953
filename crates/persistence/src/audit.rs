//! The audit trail in the database: rows appended with the server's row MAC, the sealer's
//! chain (which admits only rows whose row MAC verifies), and queries.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use healthcare_core::ports::{AuditFilter, AuditRepository, PendingSeal, SealRound};
use healthcare_core::{Page, PageOf, RepoError};
use healthcare_domain::UserId;
use healthcare_domain::audit::{
    AuditAction, AuditEvent, AuditOutcome, AuditRecord, ChainKey, Mac, RequestOrigin, RowSeal,
    RowSealsFrom, Seal,
};
use healthcare_domain::patient::PatientId;

use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::{corrupt_row, from_diesel};
use crate::schema::{audit_events, audit_row_seals_from, patients};
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
    row_nonce: Option<String>,
    row_mac: Option<String>,
    break_glass: bool,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = RepoError;

    fn try_from(row: AuditRow) -> Result<Self, RepoError> {
        let corrupt = |field| corrupt_row("audit_events", row.id, field);
        let action = AuditAction::parse(&row.action).ok_or_else(|| corrupt("action"))?;
        let outcome = AuditOutcome::parse(&row.outcome).ok_or_else(|| corrupt("outcome"))?;
        // A MAC that is not even hex is tampering too: it simply fails to verify.
        let seal = match (row.seq, row.mac.as_deref()) {
            (Some(seq), Some(mac)) => Some(Seal {
                seq,
                mac: Mac::from_hex(mac).unwrap_or(Mac::GENESIS),
            }),
            _ => None,
        };
        let row_seal = match (row.row_nonce.as_deref(), row.row_mac.as_deref()) {
            (Some(nonce), Some(mac)) => Some(RowSeal {
                nonce: parse_nonce(nonce).unwrap_or_default(),
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
                break_glass: row.break_glass,
            },
            row_seal,
            seal,
        })
    }
}

fn parse_nonce(text: &str) -> Option<[u8; 16]> {
    let mut nonce = [0; 16];
    hex::decode_to_slice(text, &mut nonce).ok()?;
    Some(nonce)
}

pub(crate) type NewAuditRow<'a> = (
    diesel::dsl::Eq<audit_events::at, NaiveDateTime>,
    diesel::dsl::Eq<audit_events::actor_user_id, Option<i64>>,
    diesel::dsl::Eq<audit_events::action, &'static str>,
    diesel::dsl::Eq<audit_events::resource_type, &'static str>,
    diesel::dsl::Eq<audit_events::resource_id, Option<i64>>,
    diesel::dsl::Eq<audit_events::patient_id, Option<i64>>,
    diesel::dsl::Eq<audit_events::outcome, &'static str>,
    diesel::dsl::Eq<audit_events::client_address, Option<&'a str>>,
    diesel::dsl::Eq<audit_events::request_id, Option<&'a str>>,
    diesel::dsl::Eq<audit_events::row_nonce, String>,
    diesel::dsl::Eq<audit_events::row_mac, String>,
    diesel::dsl::Eq<audit_events::break_glass, bool>,
);

/// The row for `event`, signed with `key` under a fresh nonce.
///
/// The nonce is a UUIDv7: 74 random bits after a millisecond timestamp, so it stays unique,
/// while new nonces land at the end of their unique index instead of at random pages (a random
/// nonce cost SQLite's audited reads about 30% of their throughput).
pub(crate) fn new_row<'a>(key: &ChainKey, event: &'a AuditEvent) -> NewAuditRow<'a> {
    let row_seal = key.seal_row(uuid::Uuid::now_v7().into_bytes(), event);
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
        audit_events::row_nonce.eq(hex::encode(row_seal.nonce)),
        audit_events::row_mac.eq(row_seal.mac.to_hex()),
        audit_events::break_glass.eq(event.break_glass),
    )
}

/// Stores one event on `connection`: called by the repositories inside the transaction of the
/// change the event records.
pub(crate) fn append_in(
    connection: &mut DbConnection,
    key: &ChainKey,
    event: &AuditEvent,
) -> Result<(), RepoError> {
    diesel::insert_into(audit_events::table)
        .values(new_row(key, event))
        .execute(connection)
        .map(|_| ())
        .map_err(from_diesel)
}

/// Stores `events` on `connection`, in order, with as few statements as SQLite's parameter
/// limit allows: called by [`DieselAuditRepository::append`] and by the repositories whose one
/// change records several events, inside that change's transaction.
pub(crate) fn append_all_in(
    connection: &mut DbConnection,
    key: &ChainKey,
    events: &[AuditEvent],
) -> Result<(), RepoError> {
    // Multi-row statements (the multi-backend connection has no batch insert of its own, so
    // each dialect's connection runs it), within SQLite's parameter limit.
    for chunk in events.chunks(APPEND_ROWS_PER_STATEMENT) {
        let rows: Vec<_> = chunk.iter().map(|event| new_row(key, event)).collect();
        let insert = diesel::insert_into(audit_events::table).values(rows);
        match connection {
            DbConnection::Pg(inner) => insert.execute(inner),
            DbConnection::Sqlite(inner) => insert.execute(inner),
        }
        .map_err(from_diesel)?;
    }
    Ok(())
}

/// Rows per multi-row statement: 11 parameters each stays far below SQLite's limit.
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
    if let Some(clinic) = filter.clinic {
        let clinic_patients = patients::table
            .filter(patients::clinic_id.eq(clinic.0))
            .select(patients::id.nullable());
        let about_the_clinic = audit_events::resource_type
            .eq(AuditAction::ClinicCreate.resource_type())
            .and(audit_events::resource_id.eq(clinic.0));
        query = query.filter(
            audit_events::patient_id
                .eq_any(clinic_patients)
                .or(about_the_clinic.nullable()),
        );
    }
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
    if let Some(ids) = &filter.ids {
        query = query.filter(audit_events::id.eq_any(ids.clone()));
    }
    if let Some(actions) = &filter.any_action {
        let names: Vec<&'static str> = actions.iter().map(|action| action.as_str()).collect();
        query = query.filter(audit_events::action.eq_any(names));
    }
    if let Some((at, id)) = filter.older_than {
        let at = to_db(at);
        query = query.filter(
            audit_events::at
                .lt(at)
                .or(audit_events::at.eq(at).and(audit_events::id.lt(id))),
        );
    }
    query
}

/// The boundary the row-MAC migration recorded.
fn row_seals_from_in(connection: &mut DbConnection) -> Result<RowSealsFrom, RepoError> {
    let (first_id, since) = audit_row_seals_from::table
        .select((audit_row_seals_from::first_id, audit_row_seals_from::since))
        .first::<(i64, NaiveDateTime)>(connection)
        .map_err(from_diesel)?;
    Ok(RowSealsFrom {
        first_id,
        since: from_db(since),
    })
}

impl AuditRepository for DieselAuditRepository {
    fn append(&self, events: &[AuditEvent]) -> Result<(), RepoError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            append_all_in(connection, self.pool.audit_key(), events)
        })
    }

    fn seal_pending(
        &self,
        key: &ChainKey,
        limit: u32,
        refused_before: &BTreeSet<i64>,
    ) -> Result<SealRound, RepoError> {
        let mut connection = checkout(&self.pool)?;
        write_transaction(&mut connection, |connection| {
            lock_chain(connection)?;
            let row_seals = row_seals_from_in(connection)?;
            let mut head = chain_head(connection)?;
            // Rows refused earlier stay unsealed: read past them rather than stall on them.
            let skipped = i64::try_from(refused_before.len()).unwrap_or(i64::MAX);
            let pending = audit_events::table
                .filter(audit_events::seq.is_null())
                .order(audit_events::id.asc())
                .limit(i64::from(limit).saturating_add(skipped))
                .load::<AuditRow>(connection)
                .map_err(from_diesel)?;
            let mut seals = Vec::with_capacity(pending.len());
            let mut refused = Vec::new();
            for row in pending {
                if seals.len() == limit as usize {
                    break;
                }
                if refused_before.contains(&row.id) {
                    continue;
                }
                let record = AuditRecord::try_from(row)?;
                if !row_seals.is_authentic(key, &record) {
                    refused.push(record.id);
                    continue;
                }
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
            Ok(SealRound {
                sealed: seals.len(),
                head,
                refused,
            })
        })
    }

    fn row_seals_from(&self) -> Result<RowSealsFrom, RepoError> {
        let mut connection = checkout(&self.pool)?;
        row_seals_from_in(&mut connection)
    }

    fn unsealed_after(&self, after_id: i64, limit: u32) -> Result<Vec<AuditRecord>, RepoError> {
        let mut connection = checkout(&self.pool)?;
        audit_events::table
            .filter(audit_events::seq.is_null())
            .filter(audit_events::id.gt(after_id))
            .order(audit_events::id.asc())
            .limit(i64::from(limit))
            .load::<AuditRow>(&mut *connection)
            .map_err(from_diesel)?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
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
        // Every match counts, wherever the page starts.
        let everywhere = AuditFilter {
            older_than: None,
            ..filter.clone()
        };
        let total: i64 = matching(&everywhere)
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
