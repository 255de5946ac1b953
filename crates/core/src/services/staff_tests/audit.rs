//! The audit trail on the admin site.

use super::*;

#[test]
fn reading_the_audit_trail_is_itself_recorded() {
    let filter = AuditFilter {
        patient: Some(PatientId(1)),
        ..AuditFilter::default()
    };
    let listed = PageOf {
        items: vec![],
        total: 0,
    };
    let mut ports = Ports::new();
    ports
        .audit
        .expect_list()
        .with(eq(filter.clone()), eq(page()))
        .times(1)
        .return_const(Ok(listed.clone()));
    let (service, trail) = ports.records();
    assert_eq!(service.audit_events(&staff(), &filter, page()), Ok(listed));
    assert_eq!(
        trail.take_one(),
        row(
            AuditAction::AuditRead,
            Some(STAFF),
            None,
            None,
            AuditOutcome::Success
        )
    );
}
