//! Patient ids: on PostgreSQL they are reserved from the sequence in blocks (so that a patient
//! and its audit row go in one statement); they stay unique across processes and increase
//! within one.

use std::collections::BTreeSet;

use super::*;

contract!(patient_ids_are_unique_across_repositories_and_increase_within_one);

/// Two repositories over one database stand for two server processes: inserting from both at
/// once, every id is new and each repository's ids increase (the audit rows naming them:
/// `audit::writes`).
fn patient_ids_are_unique_across_repositories_and_increase_within_one(pool: &DbPool) {
    let r = repos(pool);
    let clinic = crate::personal_clinic(pool, r.owner);
    let processes = [
        DieselPatientRepository::new(pool.clone()),
        DieselPatientRepository::new(pool.clone()),
    ];
    let per_process: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = processes
            .iter()
            .map(|patients| {
                scope.spawn(move || {
                    (0..40)
                        .map(|n| {
                            patients
                                .insert(
                                    clinic,
                                    r.owner,
                                    &patient_details(&format!("Patient {n}")),
                                    at(1),
                                    &audit(AuditAction::PatientCreate),
                                )
                                .expect("inserted")
                                .id
                                .0
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("joined"))
            .collect()
    });
    for ids in &per_process {
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    }
    let all: BTreeSet<i64> = per_process.iter().flatten().copied().collect();
    assert_eq!(all.len(), 80, "every id is new: {per_process:?}");
    for id in &all {
        let found = r.patients.find(PatientId(*id)).expect("read");
        assert_eq!(found.map(|patient| patient.id.0), Some(*id));
    }
}
