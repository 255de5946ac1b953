//! Fills in the folded names (`name_folded`, for accent-insensitive search) of rows written
//! before the column existed, and repairs those a server still running the previous release
//! wrote during a rolling upgrade (it changes names without folding them): folding is Unicode
//! work done in Rust, the same on both databases.

use diesel::prelude::*;
use healthcare_core::RepoError;
use healthcare_domain::record_search::fold;

use crate::connection::{DbConnection, DbPool, checkout, write_transaction};
use crate::errors::from_diesel;
use crate::schema::{doctors, patients};

/// Rows folded per transaction.
const BATCH: i64 = 500;

/// Folds every name still missing its folded form; returns how many rows it filled in.
pub(crate) fn fill_in(pool: &DbPool) -> Result<u64, RepoError> {
    let mut connection = checkout(pool)?;
    let mut filled = 0;
    loop {
        let batch = write_transaction(&mut connection, fill_patients)?
            + write_transaction(&mut connection, fill_doctors)?;
        if batch == 0 {
            return Ok(filled);
        }
        filled += batch;
    }
}

/// One batch of patients. The update names the name it folded, so a rename in between is
/// left to its own write (which folds it).
fn fill_patients(connection: &mut DbConnection) -> Result<u64, RepoError> {
    let batch: Vec<(i64, String)> = patients::table
        .filter(patients::name_folded.is_null())
        .select((patients::id, patients::name))
        .limit(BATCH)
        .load(connection)
        .map_err(from_diesel)?;
    for (id, name) in &batch {
        diesel::update(patients::table.find(id).filter(patients::name.eq(name)))
            .set(patients::name_folded.eq(fold(name)))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    Ok(batch.len() as u64)
}

/// One batch of doctors, as [`fill_patients`].
fn fill_doctors(connection: &mut DbConnection) -> Result<u64, RepoError> {
    let batch: Vec<(i64, String)> = doctors::table
        .filter(doctors::name_folded.is_null())
        .select((doctors::id, doctors::name))
        .limit(BATCH)
        .load(connection)
        .map_err(from_diesel)?;
    for (id, name) in &batch {
        diesel::update(doctors::table.find(id).filter(doctors::name.eq(name)))
            .set(doctors::name_folded.eq(fold(name)))
            .execute(connection)
            .map_err(from_diesel)?;
    }
    Ok(batch.len() as u64)
}

/// Folds every name again where its folded form is missing or stale (a rename by the
/// previous release), walking both tables by id; returns how many rows it changed. Reads
/// every name once: for `healthcare-admin migrate`, not for each start.
pub(crate) fn refold_stale(pool: &DbPool) -> Result<u64, RepoError> {
    let mut connection = checkout(pool)?;
    let mut changed = 0;
    for table in [Table::Patients, Table::Doctors] {
        let mut after = 0;
        loop {
            let batch = table.names_after(&mut connection, after)?;
            let Some(&(last, _, _)) = batch.last() else {
                break;
            };
            after = last;
            let stale: Vec<(i64, String)> = batch
                .into_iter()
                .filter(|(_, name, folded)| folded.as_deref() != Some(fold(name).as_str()))
                .map(|(id, name, _)| (id, name))
                .collect();
            changed += write_transaction(&mut connection, |connection| {
                stale
                    .iter()
                    .map(|(id, name)| table.refold(connection, *id, name))
                    .sum::<Result<u64, RepoError>>()
            })?;
        }
    }
    Ok(changed)
}

#[derive(Clone, Copy)]
enum Table {
    Patients,
    Doctors,
}

impl Table {
    /// Up to [`BATCH`] rows after id `after`: id, name, folded name.
    fn names_after(
        self,
        connection: &mut DbConnection,
        after: i64,
    ) -> Result<Vec<(i64, String, Option<String>)>, RepoError> {
        match self {
            Self::Patients => patients::table
                .filter(patients::id.gt(after))
                .order(patients::id)
                .select((patients::id, patients::name, patients::name_folded))
                .limit(BATCH)
                .load(connection),
            Self::Doctors => doctors::table
                .filter(doctors::id.gt(after))
                .order(doctors::id)
                .select((doctors::id, doctors::name, doctors::name_folded))
                .limit(BATCH)
                .load(connection),
        }
        .map_err(from_diesel)
    }

    /// Stores the folded form of `name`, unless the name changed since it was read.
    fn refold(self, connection: &mut DbConnection, id: i64, name: &str) -> Result<u64, RepoError> {
        match self {
            Self::Patients => {
                diesel::update(patients::table.find(id).filter(patients::name.eq(name)))
                    .set(patients::name_folded.eq(fold(name)))
                    .execute(connection)
            }
            Self::Doctors => diesel::update(doctors::table.find(id).filter(doctors::name.eq(name)))
                .set(doctors::name_folded.eq(fold(name)))
                .execute(connection),
        }
        .map(|rows| rows as u64)
        .map_err(from_diesel)
    }
}
