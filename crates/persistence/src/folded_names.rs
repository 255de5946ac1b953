//! Fills in the folded names (`name_folded`, for accent-insensitive search) of rows written
//! before the column existed, or by a server still running the previous release during a
//! rolling upgrade: folding is Unicode work done in Rust, the same on both databases.

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
