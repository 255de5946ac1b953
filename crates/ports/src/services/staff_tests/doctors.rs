//! What staff do to doctors through the shared use cases: any doctor, whoever created it,
//! archived ones included.

use super::*;

#[test]
fn reading_a_doctor_records_a_mapping_list_row_naming_the_doctor() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .mappings
        .expect_list()
        .withf(|filter, page| {
            *filter
                == MappingFilter {
                    doctor: Some(DoctorId(2)),
                    ..MappingFilter::default()
                }
                && page.number == 1
        })
        .times(1)
        .returning(|_, _| {
            Ok(PageOf {
                items: vec![view()],
                total: 1,
            })
        });
    let (service, trail) = ports.doctors();
    let detail = service
        .doctor_detail(&staff_caller(), DoctorId(2))
        .expect("found");
    assert_eq!(detail.doctor, doctor(OWNER, true, false));
    assert_eq!(detail.mappings, vec![view()]);
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(2),
            None,
            AuditOutcome::Success
        )
    );

    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .mappings
        .expect_list()
        .times(1)
        .returning(|_, _| Err(RepoError::Unavailable("down".into())));
    let (service, trail) = ports.doctors();
    assert!(service.doctor_detail(&staff_caller(), DoctorId(2)).is_err());
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::MappingList,
            Some(STAFF),
            Some(2),
            None,
            AuditOutcome::Failure
        ),
        "a failed read names the doctor too"
    );
}

#[test]
fn archiving_a_doctor_passes_the_staff_users_mapping_removal_row_to_the_repository() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .with(eq(DoctorId(2)))
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .doctors
        .expect_archive()
        .with(
            eq(DoctorId(2)),
            eq(at()),
            eq(row(
                AuditAction::MappingRemove,
                Some(STAFF),
                None,
                None,
                AuditOutcome::Success,
            )),
        )
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.doctors();
    assert_eq!(service.delete_doctor(&staff_caller(), DoctorId(2)), Ok(()));
    trail.assert_empty();
}

#[test]
fn archiving_an_archived_doctor_is_not_found_and_stores_nothing() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, true))));
    ports.doctors.expect_archive().never();
    let (service, trail) = ports.doctors();
    assert_eq!(
        service.delete_doctor(&staff_caller(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    trail.assert_empty();

    // Archived by someone else between the read and the archive.
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports
        .doctors
        .expect_archive()
        .times(1)
        .return_const(Ok(false));
    let (service, trail) = ports.doctors();
    assert_eq!(
        service.delete_doctor(&staff_caller(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
    trail.assert_empty();
}

#[test]
fn staff_restore_an_archived_doctor_and_only_an_archived_one() {
    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, true))));
    ports
        .doctors
        .expect_restore()
        .with(eq(DoctorId(2)), eq(at()))
        .times(1)
        .return_const(Ok(true));
    let (service, trail) = ports.doctors();
    assert_eq!(service.restore_doctor(&staff_caller(), DoctorId(2)), Ok(()));
    trail.assert_empty();

    let mut ports = Ports::new();
    ports
        .doctors
        .expect_find()
        .return_const(Ok(Some(doctor(OWNER, true, false))));
    ports.doctors.expect_restore().never();
    let (service, _) = ports.doctors();
    assert_eq!(
        service.restore_doctor(&staff_caller(), DoctorId(2)),
        Err(ServiceError::NotFound(Resource::Doctor))
    );
}
