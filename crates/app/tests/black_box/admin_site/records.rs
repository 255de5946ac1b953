//! What staff do on the site: patients, doctors, mappings, users and the audit page.

use super::*;
use healthcare_domain::audit::AuditOutcome;

on_both_backends!(
    staff_find_edit_archive_and_restore_patients_with_audit_rows,
    staff_manage_doctors_and_mappings,
    staff_edit_mapping_notes,
    staff_manage_users_and_changes_end_sessions_at_once,
    the_audit_page_filters_and_verifies_the_chain,
    staff_see_clinics_and_end_a_members_access,
    staff_see_every_version_of_a_record_archived_ones_too,
);

async fn staff_find_edit_archive_and_restore_patients_with_audit_rows(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    app.create_patient(&owner, "Quentin Other").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    app.assign(&owner, patient, doctor).await;
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    let list = staff.get("/admin/patients/?q=priya").await;
    assert_eq!(list.status, 200, "{}", list.html);
    list.assert_contains("Priya Patel");
    assert!(!list.html.contains("Quentin"), "{}", list.html);
    let detail_path = format!("/admin/patients/{patient}/");
    let detail = staff.get(&detail_path).await;
    assert_eq!(detail.status, 200);
    detail.assert_contains("Dr Who");
    detail.assert_contains("Olive Owner");

    // A bad value: the message beside the field, the typed values kept, nothing stored.
    let version = detail
        .between("name=\"version\" value=\"", "\"")
        .expect("version field");
    let form = |age: &'static str, address: &'static str| {
        vec![
            ("name", "Priya Patel"),
            ("age", age),
            ("gender", "F"),
            ("phone", ""),
            ("email", ""),
            ("address", address),
            ("medical_history", "Asthma"),
        ]
    };
    let mut fields = form("-5", "12 Typed Road");
    fields.push(("version", &version));
    let invalid = staff.submit(&detail_path, &detail_path, &fields).await;
    assert_eq!(invalid.status, 400, "{}", invalid.html);
    invalid.assert_contains("field-error");
    invalid.assert_contains("12 Typed Road");
    let api = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_ne!(api.body["address"], "12 Typed Road");

    let mut fields = form("41", "1 New Street");
    fields.push(("version", &version));
    let saved = staff.submit(&detail_path, &detail_path, &fields).await;
    assert!(
        [200, 303].contains(&saved.status),
        "{}: {}",
        saved.status,
        saved.html
    );
    let api = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(api.body["address"], "1 New Street");
    assert_eq!(api.body["age"], 41);

    // The same stale version again: someone else's change is not overwritten.
    let mut fields = form("42", "2 Stale Street");
    fields.push(("version", &version));
    let stale = staff.submit(&detail_path, &detail_path, &fields).await;
    assert_eq!(stale.status, 409, "{}", stale.html);
    let api = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(api.body["address"], "1 New Street");

    let archived = staff
        .submit(&detail_path, &format!("{detail_path}archive"), &[])
        .await;
    assert_eq!(archived.status, 303, "{}", archived.html);
    let gone = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(gone.status, 404);
    let mappings = staff
        .get(&format!("/admin/mappings/?patient={patient}&active=yes"))
        .await;
    assert!(
        !mappings.html.contains("class=\"record\""),
        "mappings ended"
    );
    let archived_list = staff.get("/admin/patients/?archived=yes").await;
    archived_list.assert_contains("Priya Patel");
    let restored = staff
        .submit(&detail_path, &format!("{detail_path}restore"), &[])
        .await;
    assert_eq!(restored.status, 303, "{}", restored.html);
    let back = app
        .get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    assert_eq!(back.status, 200);

    for action in [
        AuditAction::PatientList,
        AuditAction::PatientRead,
        AuditAction::PatientUpdate,
        AuditAction::PatientDelete,
        AuditAction::PatientRestore,
    ] {
        let rows = rows_of(&app, action).await;
        assert!(
            rows.iter()
                .any(|row| row.event.actor == Some(UserId(staff_session.user_id))),
            "{action:?} by the staff user: {rows:?}"
        );
    }
    assert_eq!(staff.get("/admin/patients/999999/").await.status, 404);
    assert_eq!(staff.get("/admin/patients/abc/").await.status, 404);
    assert_eq!(staff.get("/admin/patients/?page=abc").await.status, 400);
}

async fn staff_manage_doctors_and_mappings(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    let mapping = app.assign(&owner, patient, doctor).await;
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let staff_id = Some(UserId(staff_session.user_id));
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    let list = staff.get("/admin/doctors/?q=cardio").await;
    assert_eq!(list.status, 200, "{}", list.html);
    list.assert_contains("Dr Who");
    let path = format!("/admin/doctors/{doctor}/");
    let detail = staff.get(&path).await;
    detail.assert_contains("Priya Patel");
    let lists = rows_of(&app, AuditAction::MappingList).await;
    assert!(
        lists
            .iter()
            .any(|row| row.event.actor == staff_id && row.event.resource_id == Some(doctor)),
        "the doctor page's row names the doctor: {lists:?}"
    );
    let version = detail
        .between("name=\"version\" value=\"", "\"")
        .expect("version field");
    let fields = |years: &'static str| {
        vec![
            ("name", "Dr Who"),
            ("specialization", "Cardiology"),
            ("phone", "+442079460000"),
            ("email", "who@clinic.org"),
            ("experience_years", years),
            ("qualification", "MD"),
            ("consultation_fee", "120.50"),
            ("is_available", "true"),
        ]
    };
    let mut bad = fields("many");
    bad.push(("version", &version));
    let invalid = staff.submit(&path, &path, &bad).await;
    assert_eq!(invalid.status, 400, "{}", invalid.html);
    invalid.assert_contains("field-error");
    let mut good = fields("12");
    good.push(("version", &version));
    let saved = staff.submit(&path, &path, &good).await;
    assert!([200, 303].contains(&saved.status), "{}", saved.html);
    let api = app
        .get(&format!("/api/doctors/{doctor}/"), &owner.access)
        .await;
    assert_eq!(api.body["experience_years"], 12);

    let mappings = staff
        .get(&format!("/admin/mappings/?doctor={doctor}"))
        .await;
    mappings.assert_contains("Priya Patel");
    let removed = staff
        .submit(
            "/admin/mappings/",
            &format!("/admin/mappings/{mapping}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    let again = staff
        .submit(
            "/admin/mappings/",
            &format!("/admin/mappings/{mapping}/remove"),
            &[],
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.html);
    assert!(!rows_of(&app, AuditAction::MappingRemove).await.is_empty());

    // Archiving ends the doctor's active mappings, each recorded with the staff user as actor.
    let active = app.assign(&owner, patient, doctor).await;
    let archived = staff.submit(&path, &format!("{path}archive"), &[]).await;
    assert_eq!(archived.status, 303, "{}", archived.html);
    let removals = rows_of(&app, AuditAction::MappingRemove).await;
    let ended: Vec<_> = removals
        .iter()
        .filter(|row| row.event.resource_id == Some(active))
        .collect();
    assert_eq!(ended.len(), 1, "{removals:?}");
    assert_eq!(ended[0].event.actor, staff_id);
    assert_eq!(ended[0].event.patient_id.map(|id| id.0), Some(patient));
    assert_eq!(
        ended[0].event.outcome,
        healthcare_domain::audit::AuditOutcome::Success
    );
    let api = app
        .get(&format!("/api/doctors/{doctor}/"), &owner.access)
        .await;
    assert_eq!(api.status, 404);
    let restored = staff.submit(&path, &format!("{path}restore"), &[]).await;
    assert_eq!(restored.status, 303, "{}", restored.html);
    let api = app
        .get(&format!("/api/doctors/{doctor}/"), &owner.access)
        .await;
    assert_eq!(api.status, 200);
}

/// The notes of the owner's only active mapping, as the JSON API shows them.
async fn api_notes(app: &TestApp, owner: &Session) -> serde_json::Value {
    let mappings = app.get("/api/mappings/", &owner.access).await;
    assert_eq!(mappings.status, 200, "{}", mappings.body);
    mappings.body["results"][0]["notes"].clone()
}

async fn staff_edit_mapping_notes(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    let mapping = app.assign(&owner, patient, doctor).await;
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    // The list links each row to the mapping's page, which links its patient and doctor.
    let path = format!("/admin/mappings/{mapping}/");
    let list = staff.get("/admin/mappings/").await;
    list.assert_contains(&format!("href=\"{path}\""));
    let detail = staff.get(&path).await;
    assert_eq!(detail.status, 200, "{}", detail.html);
    detail.assert_contains(&format!("href=\"/admin/patients/{patient}/\""));
    detail.assert_contains(&format!("href=\"/admin/doctors/{doctor}/\""));
    detail.assert_contains("Priya Patel");
    detail.assert_contains("Dr Who");
    detail.assert_contains("<textarea");
    detail.assert_contains("name=\"notes\"");

    // Notes are free text without a length limit, as in the API; what cannot be stored (a NUL
    // character) is a 400 page, and nothing changes.
    let refused = staff
        .submit(&path, &path, &[("notes", "Typed\0text")])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    refused.assert_contains("Null characters are not allowed.");
    let missing = staff.submit(&path, &path, &[]).await;
    assert_eq!(missing.status, 400, "{}", missing.html);
    assert_eq!(api_notes(&app, &owner).await, "");

    // A valid note is stored trimmed (the API's rule) and shown on the page.
    let saved = staff
        .submit(&path, &path, &[("notes", "  Sees the patient weekly.\n")])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(
        saved.location.as_deref(),
        Some(format!("{path}?done=saved").as_str())
    );
    assert_eq!(api_notes(&app, &owner).await, "Sees the patient weekly.");
    let shown = staff.get(&format!("{path}?done=saved")).await;
    shown.assert_contains("The notes were saved.");
    shown.assert_contains(">Sees the patient weekly.</textarea>");
    let long = "n".repeat(10_000);
    let saved = staff.submit(&path, &path, &[("notes", &long)]).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(api_notes(&app, &owner).await, long.as_str());

    let updates = rows_of(&app, AuditAction::MappingUpdate).await;
    assert!(
        updates.iter().any(|row| {
            row.event.actor == Some(UserId(staff_session.user_id))
                && row.event.resource_id == Some(mapping)
                && row.event.patient_id.map(|id| id.0) == Some(patient)
                && row.event.outcome == healthcare_domain::audit::AuditOutcome::Success
        }),
        "{updates:?}"
    );

    // An ended mapping keeps its page but no longer takes notes; unknown ids are no page.
    let removed = staff.submit(&path, &format!("{path}remove"), &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    let ended = staff.get(&path).await;
    assert_eq!(ended.status, 200, "{}", ended.html);
    ended.assert_contains("Ended");
    assert!(!ended.html.contains("<textarea"), "{}", ended.html);
    let late = staff
        .submit(&path, &path, &[("notes", "After the end.")])
        .await;
    assert_eq!(late.status, 404, "{}", late.html);
    assert_eq!(staff.get("/admin/mappings/999999/").await.status, 404);
    assert_eq!(staff.get("/admin/mappings/abc/").await.status, 404);
}

async fn staff_manage_users_and_changes_end_sessions_at_once(app: TestApp) {
    let staff_session = staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let other = staff_user(&app, "Tara Twin", "tara@clinic.org").await;
    let regular = app.register("Rita Regular", "rita@example.com").await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;
    let mut tara = Browser::signed_in(&app, "tara@clinic.org").await;

    let list = staff.get("/admin/users/?q=rita").await;
    list.assert_contains("rita@example.com");
    assert!(!list.html.contains("tara@clinic.org"));
    let staff_only = staff.get("/admin/users/?staff=yes").await;
    staff_only.assert_contains("tara@clinic.org");
    assert!(!staff_only.html.contains("rita@example.com"));

    // Nobody can lock themselves out.
    let own = format!("/admin/users/{}/", staff_session.user_id);
    let refused = staff
        .submit(&own, &format!("{own}active"), &[("active", "false")])
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert_eq!(staff.get("/admin/").await.status, 200);

    // Deactivating Tara ends her admin session at once.
    let tara_path = format!("/admin/users/{}/", other.user_id);
    let done = staff
        .submit(
            &tara_path,
            &format!("{tara_path}active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let after = tara.get("/admin/").await;
    assert!(
        after.status == 403 || after.location.as_deref() == Some("/admin/login"),
        "{}: {}",
        after.status,
        after.html
    );
    let reactivated = staff
        .submit(
            &tara_path,
            &format!("{tara_path}active"),
            &[("active", "true")],
        )
        .await;
    assert_eq!(reactivated.status, 303);
    let revoked = staff
        .submit(
            &tara_path,
            &format!("{tara_path}staff"),
            &[("staff", "false")],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);

    // A forced password reset: the policy applies, then old tokens stop working.
    let rita_path = format!("/admin/users/{}/", regular.user_id);
    let weak = staff
        .submit(
            &rita_path,
            &format!("{rita_path}password"),
            &[("password", "123")],
        )
        .await;
    assert_eq!(weak.status, 400, "{}", weak.html);
    weak.assert_contains("field-error");
    let reset = staff
        .submit(
            &rita_path,
            &format!("{rita_path}password"),
            &[("password", "brand-new-kettle-93")],
        )
        .await;
    assert_eq!(reset.status, 303, "{}", reset.html);
    let refresh = app
        .post(
            "/api/auth/token/refresh/",
            serde_json::json!({"refresh": regular.refresh}),
        )
        .await;
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    let login = app
        .post(
            "/api/auth/login/",
            serde_json::json!({"email": "rita@example.com", "password": "brand-new-kettle-93"}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);

    // Resetting a second factor: the user enrols again at the next sign-in.
    let sam_again = staff_user(&app, "Uma Second", "uma@clinic.org").await;
    Browser::signed_in(&app, "uma@clinic.org").await;
    let uma_path = format!("/admin/users/{}/", sam_again.user_id);
    let reset = staff
        .submit(&uma_path, &format!("{uma_path}second-factor"), &[])
        .await;
    assert_eq!(reset.status, 303, "{}", reset.html);
    let mut uma = Browser::new(&app);
    let page = uma.password_step("uma@clinic.org").await;
    page.assert_contains("<svg");

    assert_eq!(staff.get("/admin/users/999999/").await.status, 404);
    assert!(rows_of(&app, AuditAction::UserUpdate).await.len() >= 5);
}

async fn the_audit_page_filters_and_verifies_the_chain(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    app.get(&format!("/api/patients/{patient}/"), &owner.access)
        .await;
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;
    crate::common::process::tokio_sleep(Duration::from_millis(700)).await;

    let page = staff
        .get(&format!(
            "/admin/audit/?patient={patient}&action=patient.read"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    let rows: Vec<&str> = page.html.split("class=\"record\"").skip(1).collect();
    assert!(!rows.is_empty(), "{}", page.html);
    assert!(
        rows.iter().all(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            row.contains("patient.read") && !row.contains("patient.create")
        }),
        "{}",
        page.html
    );
    let ranged = staff
        .get("/admin/audit/?since=2000-01-01T00:00&until=2000-01-02T00:00")
        .await;
    assert_eq!(ranged.status, 200, "{}", ranged.html);
    assert!(!ranged.html.contains("class=\"record\""));
    for bad in ["since=yesterday", "action=patient.eat", "patient=abc"] {
        let page = staff.get(&format!("/admin/audit/?{bad}")).await;
        assert_eq!(page.status, 400, "{bad}: {}", page.html);
    }
    // Give the sealer a round, then verify.
    crate::common::process::tokio_sleep(Duration::from_millis(1_500)).await;
    let verified = staff.get("/admin/audit/verify").await;
    assert_eq!(verified.status, 200, "{}", verified.html);
    verified.assert_contains("intact");
    assert!(!rows_of(&app, AuditAction::AuditRead).await.is_empty());
    assert_eq!(staff.get("/admin/no-such-page").await.status, 404);
}

async fn staff_see_clinics_and_end_a_members_access(app: TestApp) {
    let ann = app.register("Ann Admin", "ann@example.com").await;
    let bob = app.register("Bob Member", "bob@example.com").await;
    let clinic = app.create_clinic(&ann, "North Clinic").await;
    app.join_clinic(&ann, clinic, &bob, "bob@example.com", "clinician")
        .await;
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    let list = staff.get("/admin/clinics/").await;
    assert_eq!(list.status, 200, "{}", list.html);
    list.assert_contains("North Clinic");
    list.assert_contains("Ann Admin"); // a personal clinic, named after its owner
    let detail_path = format!("/admin/clinics/{clinic}/");
    let detail = staff.get(&detail_path).await;
    assert_eq!(detail.status, 200);
    detail.assert_contains("Bob Member");
    detail.assert_contains("clinician");

    let ended = staff
        .submit(
            &detail_path,
            &format!("{detail_path}members/{}/end", bob.user_id),
            &[],
        )
        .await;
    assert_eq!(ended.status, 303, "{}", ended.html);
    let after = staff.get(&format!("{detail_path}?done=ended")).await;
    after.assert_contains("access has ended");
    assert!(!after.html.contains("Bob Member"), "{}", after.html);
    assert_eq!(
        app.get(&detail_path.replace("/admin/", "/api/"), &bob.access)
            .await
            .status,
        404,
        "the member lost the clinic at once"
    );
    // The last admin stays, with the reason shown.
    let refused = staff
        .submit(
            &detail_path,
            &format!("{detail_path}members/{}/end", ann.user_id),
            &[],
        )
        .await;
    assert_eq!(refused.status, 400);
    refused.assert_contains("A clinic must keep at least one admin.");
    let rows = rows_of(&app, AuditAction::ClinicMemberRemove).await;
    let outcomes: Vec<AuditOutcome> = rows.iter().map(|row| row.event.outcome).collect();
    assert_eq!(outcomes.len(), 2, "{rows:?}");
    assert!(outcomes.contains(&AuditOutcome::Success) && outcomes.contains(&AuditOutcome::Failure));
}

async fn staff_see_every_version_of_a_record_archived_ones_too(app: TestApp) {
    let owner = app.register("Olive Owner", "olive@example.com").await;
    let patient = app.create_patient(&owner, "Priya Patel").await;
    for (age, address) in [(46, "2 Second Street"), (47, "3 Third Street")] {
        let patched = app
            .request(
                "PATCH",
                &format!("/api/patients/{patient}/"),
                Some(serde_json::json!({"age": age, "address": address})),
                Some(&owner.access),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
    }
    let deleted = app
        .request(
            "DELETE",
            &format!("/api/patients/{patient}/"),
            None,
            Some(&owner.access),
        )
        .await;
    assert!(deleted.status < 300, "{}", deleted.body);
    let doctor = app.create_doctor(&owner, "Dr Who", "Cardiology").await;
    let renamed = app
        .request(
            "PATCH",
            &format!("/api/doctors/{doctor}/"),
            Some(serde_json::json!({"name": "Dr Who Renamed"})),
            Some(&owner.access),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    staff_user(&app, "Sam Staff", STAFF_EMAIL).await;
    let mut staff = Browser::signed_in(&app, STAFF_EMAIL).await;

    let detail = staff.get(&format!("/admin/patients/{patient}/")).await;
    detail.assert_contains(&format!("/admin/patients/{patient}/versions/"));
    let versions = staff
        .get(&format!("/admin/patients/{patient}/versions/"))
        .await;
    assert_eq!(versions.status, 200, "{}", versions.html);
    for kept in ["1 Main St", "2 Second Street", "3 Third Street", "Archived"] {
        versions.assert_contains(kept);
    }
    assert_eq!(
        versions.html.matches("class=\"record\"").count(),
        4,
        "created, two updates, archived: {}",
        versions.html
    );
    let doctor_versions = staff
        .get(&format!("/admin/doctors/{doctor}/versions/"))
        .await;
    assert_eq!(doctor_versions.status, 200, "{}", doctor_versions.html);
    doctor_versions.assert_contains("Dr Who Renamed");
    assert_eq!(doctor_versions.html.matches("class=\"record\"").count(), 2);
    assert_eq!(
        staff.get("/admin/patients/999999/versions/").await.status,
        404
    );
    assert_eq!(staff.get("/admin/doctors/abc/versions/").await.status, 404);
}
