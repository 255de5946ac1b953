//! Break-glass grants (stored with their audit row, listed per clinic, never changed) and a
//! clinic's own view of the audit trail.

use diesel::connection::SimpleConnection;
use healthcare_core::ports::{AuditFilter, AuditRepository, BreakGlassRepository};
use healthcare_domain::break_glass::{BreakGlassReason, NewGrant};
use healthcare_domain::clinic::ClinicId;
use healthcare_persistence::connection::checkout;
use healthcare_persistence::{
    DieselAuditRepository, DieselBreakGlassRepository, DieselClinicRepository,
};

use super::clinics::shared_clinic;
use super::*;

contract!(
    a_grant_is_stored_with_its_audit_row_listed_per_clinic_and_never_changed,
    a_clinics_audit_trail_holds_the_rows_about_its_patients_and_itself,
);

fn new_grant(clinic: ClinicId, patient: PatientId, user: UserId, second: u32) -> NewGrant {
    NewGrant {
        clinic,
        patient,
        user,
        reason: BreakGlassReason::parse("Unconscious in the ER").expect("valid"),
        granted_at: at(second),
        expires_at: at(second) + chrono::Duration::minutes(60),
    }
}

fn a_grant_is_stored_with_its_audit_row_listed_per_clinic_and_never_changed(pool: &DbPool) {
    let r = repos(pool);
    let grants = DieselBreakGlassRepository::new(pool.clone());
    let audit_rows = DieselAuditRepository::new(pool.clone());
    let shared = shared_clinic(&DieselClinicRepository::new(pool.clone()), r.owner, at(1));
    let patient = |clinic| {
        r.patients
            .insert(
                clinic,
                r.owner,
                &patient_details("Jane Roe"),
                at(2),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id
    };
    let (here, elsewhere) = (
        patient(shared),
        patient(crate::personal_clinic(pool, r.owner)),
    );
    let opened: Vec<_> = [(here, 3), (here, 4), (elsewhere, 5)]
        .into_iter()
        .map(|(patient, second)| {
            let clinic = if patient == here {
                shared
            } else {
                crate::personal_clinic(pool, r.owner)
            };
            grants
                .grant(
                    &new_grant(clinic, patient, r.other, second),
                    &AuditEvent {
                        actor: Some(r.other),
                        ..audit(AuditAction::PatientBreakGlass)
                    },
                )
                .expect("granted")
        })
        .collect();
    assert_eq!(
        (opened[0].patient, opened[0].user, opened[0].reason.as_str()),
        (here, r.other, "Unconscious in the ER")
    );
    let rows = audit_rows
        .list(
            &AuditFilter {
                action: Some(AuditAction::PatientBreakGlass),
                ..AuditFilter::default()
            },
            Page {
                number: 1,
                size: 10,
            },
        )
        .expect("listed")
        .items;
    let named: Vec<(Option<i64>, Option<PatientId>)> = rows
        .iter()
        .map(|row| (row.event.resource_id, row.event.patient_id))
        .collect();
    assert_eq!(
        named,
        opened
            .iter()
            .rev()
            .map(|grant| (Some(grant.id), Some(grant.patient)))
            .collect::<Vec<_>>(),
        "one row per grant, naming it and its patient"
    );

    let first = grants
        .log(shared, Page { number: 1, size: 1 })
        .expect("listed");
    assert_eq!(first.total, 2, "only this clinic's grants");
    assert_eq!(first.items, vec![opened[1].clone()], "newest first");
    let second = grants
        .log(shared, Page { number: 2, size: 1 })
        .expect("listed");
    assert_eq!(second.items, vec![opened[0].clone()]);

    let mut connection = checkout(pool).expect("a connection");
    for statement in [
        "UPDATE break_glass_grants SET reason = 'nothing to see'",
        "DELETE FROM break_glass_grants",
    ] {
        assert!(
            connection.batch_execute(statement).is_err(),
            "refused: {statement}"
        );
    }
    drop(connection);
    assert_eq!(
        grants
            .log(
                shared,
                Page {
                    number: 1,
                    size: 10
                }
            )
            .map(|page| page.total),
        Ok(2)
    );
}

fn a_clinics_audit_trail_holds_the_rows_about_its_patients_and_itself(pool: &DbPool) {
    let r = repos(pool);
    let audit_rows = DieselAuditRepository::new(pool.clone());
    let clinics = DieselClinicRepository::new(pool.clone());
    let shared = shared_clinic(&clinics, r.owner, at(1));
    let other_clinic = shared_clinic(&clinics, r.other, at(1));
    let patient = |clinic| {
        r.patients
            .insert(
                clinic,
                r.owner,
                &patient_details("Jane Roe"),
                at(2),
                &audit(AuditAction::PatientCreate),
            )
            .expect("patient")
            .id
    };
    let (here, elsewhere) = (patient(shared), patient(other_clinic));
    let row =
        |action: AuditAction, resource_id: Option<i64>, patient_id: Option<PatientId>| AuditEvent {
            resource_id,
            patient_id,
            ..audit(action)
        };
    audit_rows
        .append(&[
            row(AuditAction::PatientRead, Some(here.0), Some(here)),
            row(AuditAction::PatientRead, Some(elsewhere.0), Some(elsewhere)),
            row(AuditAction::ClinicRename, Some(shared.0), None),
            row(AuditAction::ClinicRename, Some(other_clinic.0), None),
            row(AuditAction::UserUpdate, Some(shared.0), None),
            row(AuditAction::AuthLogin, None, None),
        ])
        .expect("appended");
    let about = |clinic: ClinicId, extra: AuditFilter| -> Vec<(AuditAction, Option<i64>)> {
        audit_rows
            .list(
                &AuditFilter {
                    clinic: Some(clinic),
                    ..extra
                },
                Page {
                    number: 1,
                    size: 50,
                },
            )
            .expect("listed")
            .items
            .iter()
            .map(|record| (record.event.action, record.event.resource_id))
            .collect()
    };
    let mut found = about(shared, AuditFilter::default());
    found.sort_by_key(|(action, id)| (action.as_str(), *id));
    let mut expected = vec![
        (AuditAction::ClinicCreate, Some(shared.0)),
        (AuditAction::ClinicRename, Some(shared.0)),
        (AuditAction::PatientCreate, Some(here.0)),
        (AuditAction::PatientRead, Some(here.0)),
    ];
    expected.sort_by_key(|(action, id)| (action.as_str(), *id));
    assert_eq!(
        found, expected,
        "a user's row with the same id is not the clinic's"
    );
    assert_eq!(
        about(
            shared,
            AuditFilter {
                action: Some(AuditAction::PatientRead),
                ..AuditFilter::default()
            }
        ),
        vec![(AuditAction::PatientRead, Some(here.0))],
        "the other filters still apply"
    );
}
