//! The doctor use cases: only a doctor's creator changes it.

use super::*;

fn doctor_service(doctors: MockDoctorRepository) -> DoctorService {
    DoctorService::new(
        Arc::new(doctors),
        Arc::new(MockMappingRepository::new()),
        RecordingTrail::shared(),
        Arc::new(FixedClock),
    )
}

#[test]
fn only_the_creator_may_change_a_doctor() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(STRANGER, true, false))));
    doctors.expect_update().never();
    doctors.expect_archive().never();
    let service = doctor_service(doctors);
    assert!(
        service.get_doctor(&caller(OWNER), DoctorId(2)).is_ok(),
        "everyone reads"
    );
    let patch = DoctorInput {
        name: text("Dr. Eve"),
        ..Default::default()
    };
    assert_eq!(
        service
            .update_doctor(
                &caller(OWNER),
                DoctorId(2),
                patch,
                FieldErrors::new(),
                WriteMode::Partial,
                None
            )
            .map(|_| ()),
        Err(ServiceError::Forbidden)
    );
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::Forbidden)
    );
}

#[test]
fn an_archived_doctor_is_not_found() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, true))));
    let service = doctor_service(doctors);
    assert_eq!(
        service.get_doctor(&caller(OWNER), DoctorId(2)).map(|_| ()),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}

#[test]
fn deleting_a_doctor_passes_the_callers_mapping_removal_row_to_the_repository() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    doctors
        .expect_archive()
        .with(
            eq(DoctorId(2)),
            eq(at()),
            eq(AuditEvent {
                at: at(),
                actor: Some(OWNER),
                action: AuditAction::MappingRemove,
                resource_id: None,
                patient_id: None,
                outcome: AuditOutcome::Success,
                origin: origin(),
            }),
        )
        .times(1)
        .return_const(Ok(true));
    let service = doctor_service(doctors);
    assert_eq!(service.delete_doctor(&caller(OWNER), DoctorId(2)), Ok(()));
}

#[test]
fn deleting_a_doctor_archived_in_between_is_not_found() {
    let mut doctors = MockDoctorRepository::new();
    doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    doctors.expect_archive().times(1).return_const(Ok(false));
    let service = doctor_service(doctors);
    assert_eq!(
        service.delete_doctor(&caller(OWNER), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}
