"""A workflow through every operation of the API, driven through the Python client that
openapi-python-client generated from the served document, as an integrator would use it.

    python workflow.py BASE_URL

The generated package `healthcare_client` must be importable (scripts/client-checks.sh puts it
on PYTHONPATH). Every answer is checked as the typed model the client parsed it into (never as
raw JSON), every undocumented status raises (`raise_on_unexpected_status`), and the run fails
unless every operation module of the client was called. ADMIN_CLI (e.g. "env
DATABASE_URL=... healthcare-admin") makes a second user staff with a second factor, for the
staff-only audit trail.
"""

import importlib
import os
import pkgutil
import shlex
import subprocess
import sys
import time
import uuid

import healthcare_client.api
from healthcare_client import AuthenticatedClient, Client
from healthcare_client.api.audit import list_audit_events
from healthcare_client.api.clinics import (
    accept_invitation,
    change_member_role,
    remove_member,
    create_clinic,
    invite_to_clinic,
    get_clinic,
    list_break_glass_grants,
    list_clinic_audit_events,
    list_clinic_members,
    list_clinics,
    rename_clinic,
)
from healthcare_client.api.auth import (
    change_password,
    confirm_second_factor,
    login,
    logout,
    me,
    refresh_token,
    register,
    switch_clinic,
)
from healthcare_client.api.doctors import (
    create_doctor,
    delete_doctor,
    get_doctor,
    list_doctors,
    patch_doctor,
    replace_doctor,
)
from healthcare_client.api.mappings import (
    assign_doctor,
    list_mappings,
    patient_assignments,
    remove_mapping,
    update_mapping_notes,
)
from healthcare_client.api.meta import api_root, health_live, health_ready
from healthcare_client.api.patients import (
    break_glass,
    create_patient,
    delete_patient,
    get_patient,
    list_patients,
    patch_patient,
    replace_patient,
)
from healthcare_client.types import Unset
from healthcare_client.models import (
    ApiRoot,
    AuditAction,
    AcceptInvitationRequest,
    ClinicJson,
    ClinicWrite,
    InvitationJson,
    InvitationRequest,
    MemberRoleRequest,
    JoinedJson,
    MemberJson,
    AuditEventJson,
    AuditOutcome,
    AuthFailure,
    AuthFailureCode,
    BreakGlassJson,
    BreakGlassRequest,
    Detail,
    DoctorJson,
    DoctorPatch,
    DoctorWrite,
    FieldErrors,
    Gender,
    Health,
    LoginRequest,
    MappingCreate,
    MappingJson,
    MappingNotes,
    MeJson,
    Message,
    PageJsonAuditEventJson,
    PageJsonGrantJson,
    PageJsonClinicJson,
    PageJsonMemberJson,
    PageJsonDoctorJson,
    PageJsonMappingJson,
    PageJsonPatientJson,
    PasswordChangeRequest,
    PatientAssignmentsJson,
    PatientJson,
    PatientPatch,
    PatientWrite,
    RefreshRequest,
    RegisterRequest,
    Role,
    SecondFactorRequest,
    SessionJson,
    SwitchClinicRequest,
    SwitchedJson,
    TokensJson,
    UserJson,
)

called: set[str] = set()


def call(operation, expected_status: int, model, **kwargs):
    """Calls an operation, checks the status and the parsed model's type, and returns it."""
    called.add(operation.__name__.rsplit(".", 1)[-1])
    response = operation.sync_detailed(**kwargs)
    assert response.status_code == expected_status, (
        f"{operation.__name__}: HTTP {response.status_code}, expected {expected_status}: "
        f"{response.content[:500]!r}"
    )
    if model is None:
        assert response.parsed is None, f"{operation.__name__}: a body where none is documented"
    else:
        assert isinstance(response.parsed, model), (
            f"{operation.__name__}: parsed {type(response.parsed).__name__}, expected {model.__name__}"
        )
    return response


def make_staff(user_id: int, admin_cli: list[str]) -> str:
    """Grants staff rights and enrols a second factor at the console; returns a recovery code."""
    subprocess.run([*admin_cli, "users", "grant-staff", str(user_id)], check=True, capture_output=True)
    enrolled = subprocess.run(
        [*admin_cli, "users", "enrol-second-factor", str(user_id)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    codes = [line.split(": ", 1)[1] for line in enrolled.splitlines() if line.startswith("recovery code: ")]
    assert codes, "no recovery code from the console enrolment"
    return codes[0]


def main(base_url: str, admin_cli: list[str]) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    suffix = uuid.uuid4().hex[:12]
    email = f"integrator-{suffix}@example.com"
    password = "quiet-marble-57-harbour"

    # Meta and auth.
    call(health_live, 200, Health, client=anonymous)
    call(health_ready, 200, Health, client=anonymous)
    session = call(
        register,
        201,
        SessionJson,
        client=anonymous,
        body=RegisterRequest(name="Ivy Integrator", email=email, password=password, password_confirm=password),
    ).parsed
    assert isinstance(session.user, UserJson) and session.user.email == email
    refused = call(
        login,
        401,
        AuthFailure,
        client=anonymous,
        body=LoginRequest(email=email, password="not-the-password-at-all"),
    ).parsed
    assert refused.code == AuthFailureCode.AUTHENTICATION_FAILED
    session = call(login, 200, SessionJson, client=anonymous, body=LoginRequest(email=email, password=password)).parsed
    tokens = call(
        refresh_token, 200, TokensJson, client=anonymous, body=RefreshRequest(refresh=session.tokens.refresh)
    ).parsed
    api = AuthenticatedClient(base_url=base_url, token=tokens.access, raise_on_unexpected_status=True)
    myself = call(me, 200, MeJson, client=api).parsed
    assert myself.id == session.user.id and myself.clinic.personal is True
    root = call(api_root, 200, ApiRoot, client=api).parsed
    assert root.patients.endswith("/api/patients/")
    clinics = call(list_clinics, 200, PageJsonClinicJson, client=api).parsed
    assert clinics.count == 1 and isinstance(clinics.results[0], ClinicJson)
    personal = clinics.results[0]
    assert (personal.name, personal.personal, personal.role) == ("Ivy Integrator", True, Role.ADMIN)
    shared = call(create_clinic, 201, ClinicJson, client=api, body=ClinicWrite(name=" North Clinic ")).parsed
    assert (shared.name, shared.personal, shared.role) == ("North Clinic", False, Role.ADMIN)
    call(create_clinic, 400, FieldErrors, client=api, body=ClinicWrite(name=" "))
    renamed = call(rename_clinic, 200, ClinicJson, client=api, id=shared.id, body=ClinicWrite(name="South Clinic"))
    assert call(get_clinic, 200, ClinicJson, client=api, id=shared.id).parsed.name == renamed.parsed.name
    members = call(list_clinic_members, 200, PageJsonMemberJson, client=api, id=shared.id).parsed
    assert members.count == 1 and isinstance(members.results[0], MemberJson)
    assert (members.results[0].user.email, members.results[0].role) == (email, Role.ADMIN)

    # Patients: create, read, list, replace and patch under If-Match, field errors.
    created = call(
        create_patient,
        201,
        PatientJson,
        client=api,
        body=PatientWrite(name="Zora Client", age="47", gender=Gender.F, email="zora@example.com"),
    )
    patient = created.parsed
    assert patient.age == 47 and patient.gender == Gender.F and patient.created_by == session.user.id
    etag = created.headers["ETag"]
    invalid = call(
        create_patient, 400, FieldErrors, client=api, body=PatientWrite(name=" ", age=200, gender=Gender.O)
    ).parsed
    assert set(invalid.additional_properties) == {"name", "age"}, invalid.additional_properties
    assert all(isinstance(message, str) for messages in invalid.additional_properties.values() for message in messages)
    call(get_patient, 404, Detail, client=api, id=9_000_000_000)
    read = call(get_patient, 200, PatientJson, client=api, id=patient.id)
    assert read.headers["ETag"] == etag
    page = call(list_patients, 200, PageJsonPatientJson, client=api, search="zora", page_size=1).parsed
    assert page.count == 1 and page.next_ is None and page.previous is None
    assert isinstance(page.results[0], PatientJson) and page.results[0].id == patient.id
    replaced = call(
        replace_patient,
        200,
        PatientJson,
        client=api,
        id=patient.id,
        if_match=etag,
        body=PatientWrite(name="Zora Client", age=48, gender=Gender.F, medical_history="Asthma."),
    )
    call(
        patch_patient,
        412,
        Detail,
        client=api,
        id=patient.id,
        if_match=etag,
        body=PatientPatch(phone="555-0100"),
    )
    patched = call(
        patch_patient,
        200,
        PatientJson,
        client=api,
        id=patient.id,
        if_match=replaced.headers["ETag"],
        body=PatientPatch(phone="555-0100"),
    ).parsed
    assert (patched.age, patched.phone, patched.medical_history) == (48, "555-0100", "Asthma.")

    # Doctors.
    doctor = call(
        create_doctor,
        201,
        DoctorJson,
        client=api,
        body=DoctorWrite(
            name="Dr. Typed Client",
            specialization="Cardiology",
            phone="555-0199",
            email="typed@example.com",
            experience_years=12,
            qualification="MD",
            consultation_fee=150.5,
            user=session.user.id,
        ),
    ).parsed
    assert doctor.consultation_fee == "150.50" and doctor.is_available is True and doctor.patient_count == 0
    assert doctor.user == session.user.id
    doctors = call(list_doctors, 200, PageJsonDoctorJson, client=api, available=True, specialization="cardio").parsed
    assert any(isinstance(found, DoctorJson) and found.id == doctor.id for found in doctors.results)
    fetched = call(get_doctor, 200, DoctorJson, client=api, id=doctor.id)
    call(
        replace_doctor,
        200,
        DoctorJson,
        client=api,
        id=doctor.id,
        if_match=fetched.headers["ETag"],
        body=DoctorWrite(
            name="Dr. Typed Client",
            specialization="Cardiology",
            phone="555-0199",
            email="typed@example.com",
            experience_years="13",
            qualification="MD, PhD",
            consultation_fee="160",
        ),
    )
    changed = call(patch_doctor, 200, DoctorJson, client=api, id=doctor.id, body=DoctorPatch(is_available="yes")).parsed
    assert (changed.experience_years, changed.consultation_fee, changed.qualification) == (13, "160.00", "MD, PhD")

    # Mappings.
    mapping = call(
        assign_doctor,
        201,
        MappingJson,
        client=api,
        body=MappingCreate(patient=patient.id, doctor=str(doctor.id), notes="Follow-up."),
    ).parsed
    assert (mapping.patient, mapping.doctor, mapping.is_active) == (patient.id, doctor.id, True)
    duplicate = call(
        assign_doctor, 400, FieldErrors, client=api, body=MappingCreate(patient=patient.id, doctor=doctor.id)
    ).parsed
    assert duplicate.non_field_errors == ["This doctor is already assigned to this patient."]
    mappings = call(list_mappings, 200, PageJsonMappingJson, client=api, patient=patient.id).parsed
    assert [found.id for found in mappings.results] == [mapping.id]
    view = call(patient_assignments, 200, PatientAssignmentsJson, client=api, id=patient.id).parsed
    assert view.patient.id == patient.id and view.assigned_doctors[0].doctor.patient_count == 1
    notes = call(update_mapping_notes, 200, MappingJson, client=api, id=mapping.id, body=MappingNotes(notes="Seen."))
    assert notes.parsed.notes == "Seen."
    removed = call(remove_mapping, 200, Message, client=api, id=mapping.id).parsed
    assert removed.message == "Doctor successfully removed from patient"
    call(remove_mapping, 404, Detail, client=api, id=mapping.id)

    # Someone else's clinic answers as if it did not exist.
    stranger = call(
        register,
        201,
        SessionJson,
        client=anonymous,
        body=RegisterRequest(name="Sam Stranger", email=f"stranger-{suffix}@example.com", password=password),
    ).parsed
    stranger_api = AuthenticatedClient(base_url=base_url, token=stranger.tokens.access, raise_on_unexpected_status=True)
    call(get_clinic, 404, Detail, client=stranger_api, id=shared.id)
    call(rename_clinic, 404, Detail, client=stranger_api, id=shared.id, body=ClinicWrite(name="Taken Over"))

    # An invitation makes the stranger a member with its role, once.
    invitation = call(
        invite_to_clinic,
        201,
        InvitationJson,
        client=api,
        id=shared.id,
        body=InvitationRequest(email=f"stranger-{suffix}@example.com", role=Role.FRONT_DESK),
    ).parsed
    assert invitation.role == Role.FRONT_DESK and len(invitation.token) == 64
    joined = call(
        accept_invitation, 200, JoinedJson, client=stranger_api, body=AcceptInvitationRequest(token=invitation.token)
    ).parsed
    assert (joined.clinic.id, joined.clinic.role) == (shared.id, Role.FRONT_DESK)
    spent = call(
        accept_invitation, 400, FieldErrors, client=stranger_api, body=AcceptInvitationRequest(token=invitation.token)
    ).parsed
    assert spent.additional_properties == {"token": ["Invalid or expired invitation."]}
    call(rename_clinic, 403, Detail, client=stranger_api, id=shared.id, body=ClinicWrite(name="Front Desk Rules"))
    assert call(list_clinic_members, 200, PageJsonMemberJson, client=api, id=shared.id).parsed.count == 2

    # Acting in the shared clinic: a patient there, a clinician breaking the glass on it, and
    # the clinic's break-glass log and audit trail.
    def acting_in(client: AuthenticatedClient) -> AuthenticatedClient:
        switched = call(
            switch_clinic, 200, SwitchedJson, client=client, body=SwitchClinicRequest(clinic=shared.id)
        ).parsed
        assert switched.clinic.id == shared.id
        return AuthenticatedClient(base_url=base_url, token=switched.tokens.access, raise_on_unexpected_status=True)

    call(switch_clinic, 400, FieldErrors, client=api, body=SwitchClinicRequest(clinic=9_000_000_000))
    admin_in_shared = acting_in(api)
    stranger_in_shared = acting_in(stranger_api)
    shared_patient = call(
        create_patient,
        201,
        PatientJson,
        client=admin_in_shared,
        body=PatientWrite(name="Sol Shared", age=30, gender=Gender.O, medical_history="Diabetic."),
    ).parsed
    seen_by_desk = call(get_patient, 200, PatientJson, client=stranger_in_shared, id=shared_patient.id).parsed
    assert isinstance(seen_by_desk.medical_history, Unset), "a front desk never reads it"
    call(
        change_member_role,
        200,
        MemberJson,
        client=api,
        id=shared.id,
        user_id=stranger.user.id,
        body=MemberRoleRequest(role=Role.CLINICIAN),
    )
    call(get_patient, 404, Detail, client=stranger_in_shared, id=shared_patient.id)
    grant = call(
        break_glass,
        201,
        BreakGlassJson,
        client=stranger_in_shared,
        id=shared_patient.id,
        body=BreakGlassRequest(reason="Unconscious in the emergency room"),
    ).parsed
    assert grant.patient == shared_patient.id
    call(
        break_glass,
        409,
        Detail,
        client=stranger_in_shared,
        id=shared_patient.id,
        body=BreakGlassRequest(reason="Unconscious in the emergency room"),
    )
    assert call(get_patient, 200, PatientJson, client=stranger_in_shared, id=shared_patient.id).parsed.medical_history == "Diabetic."
    log = call(list_break_glass_grants, 200, PageJsonGrantJson, client=admin_in_shared, id=shared.id).parsed
    assert log.count == 1 and log.results[0].user == stranger.user.id
    call(list_break_glass_grants, 403, Detail, client=stranger_in_shared, id=shared.id)
    clinic_trail = call(
        list_clinic_audit_events,
        200,
        PageJsonAuditEventJson,
        client=api,
        id=shared.id,
        action=AuditAction.PATIENT_BREAK_GLASS,
    ).parsed
    assert clinic_trail.count == 1 and clinic_trail.results[0].resource_id == log.results[0].id
    in_shared_at_login = call(
        login, 200, SessionJson, client=anonymous, body=LoginRequest(email=email, password=password, clinic=shared.id)
    ).parsed
    assert in_shared_at_login.user.id == session.user.id
    changed = call(
        change_member_role,
        200,
        MemberJson,
        client=api,
        id=shared.id,
        user_id=stranger.user.id,
        body=MemberRoleRequest(role=Role.AUDITOR),
    ).parsed
    assert changed.role == Role.AUDITOR
    last_admin = call(
        remove_member, 400, FieldErrors, client=api, id=shared.id, user_id=session.user.id
    ).parsed
    assert last_admin.non_field_errors == ["A clinic must keep at least one admin."]
    call(remove_member, 204, None, client=stranger_api, id=shared.id, user_id=stranger.user.id)
    assert call(list_clinic_members, 200, PageJsonMemberJson, client=api, id=shared.id).parsed.count == 1

    # Archiving.
    call(delete_patient, 204, None, client=api, id=patient.id)
    call(get_patient, 404, Detail, client=api, id=patient.id)
    call(delete_doctor, 204, None, client=api, id=doctor.id)

    # The staff-only audit trail, after a second factor.
    staff_email = f"auditor-{suffix}@example.com"
    staff = call(
        register,
        201,
        SessionJson,
        client=anonymous,
        body=RegisterRequest(name="Audra Auditor", email=staff_email, password=password),
    ).parsed
    staff_api = AuthenticatedClient(base_url=base_url, token=staff.tokens.access, raise_on_unexpected_status=True)
    not_staff = call(list_audit_events, 403, AuthFailure, client=api).parsed
    assert isinstance(not_staff.code, Unset), not_staff.code  # documented as optional: absent here
    recovery_code = make_staff(staff.user.id, admin_cli)
    confirmed = call(
        confirm_second_factor, 200, TokensJson, client=staff_api, body=SecondFactorRequest(code=recovery_code)
    ).parsed
    staff_api = AuthenticatedClient(base_url=base_url, token=confirmed.access, raise_on_unexpected_status=True)
    for _ in range(50):  # audit rows are written by a background queue, within moments
        trail = call(
            list_audit_events,
            200,
            PageJsonAuditEventJson,
            client=staff_api,
            patient=patient.id,
            action=AuditAction.PATIENT_CREATE,
        ).parsed
        if trail.count:
            break
        time.sleep(0.1)
    assert trail.count == 1 and isinstance(trail.results[0], AuditEventJson)
    assert trail.results[0].outcome == AuditOutcome.SUCCESS and trail.results[0].actor_user_id == session.user.id

    # Password change and sign-out.
    new_password = "amber-lantern-93-quarry"
    call(
        change_password,
        204,
        None,
        client=api,
        body=PasswordChangeRequest(old_password=password, new_password=new_password),
    )
    fresh = call(login, 200, SessionJson, client=anonymous, body=LoginRequest(email=email, password=new_password))
    signed_in = AuthenticatedClient(base_url=base_url, token=fresh.parsed.tokens.access, raise_on_unexpected_status=True)
    call(logout, 204, None, client=signed_in, body=RefreshRequest(refresh=fresh.parsed.tokens.refresh))
    call(refresh_token, 401, AuthFailure, client=anonymous, body=RefreshRequest(refresh=fresh.parsed.tokens.refresh))

    every_operation = {
        name
        for package in pkgutil.iter_modules(healthcare_client.api.__path__)
        for name in (
            module.name
            for module in pkgutil.iter_modules(
                importlib.import_module(f"healthcare_client.api.{package.name}").__path__
            )
        )
    }
    missing = every_operation - called
    assert not missing, f"operations the workflow never called: {sorted(missing)}"
    print(f"client workflow: {len(called)} operations called, every one of the client's")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: workflow.py BASE_URL  (ADMIN_CLI in the environment)")
    main(sys.argv[1], shlex.split(os.environ["ADMIN_CLI"]))
