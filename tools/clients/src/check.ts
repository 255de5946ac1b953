// A typed call of every operation of the client @hey-api/openapi-ts generates from the served
// document (into ./client, by scripts/client-checks.sh). It is only type-checked
// (`tsc --noEmit`), never run: what it proves is that an integrator can write each call, read
// each answer and each documented error without a cast. `calls` is typed as one entry per SDK
// function, so a new operation fails the check until a call of it is written here.
import * as sdk from './client/sdk.gen';
import type {
  AuditAction,
  BadRequest,
  ClinicJson,
  DoctorJson,
  FieldErrors,
  Gender,
  PageJsonPatientJson,
  PatientJson,
  Role,
} from './client/types.gen';

type Calls = { [Operation in keyof typeof sdk]: (access: string) => Promise<unknown> };

const female: Gender = 'F';
const created: AuditAction = 'patient.create';

/** The messages of a 400, whichever of its two shapes it has. */
export function messages(error: BadRequest): string[] {
  if ('detail' in error && typeof error.detail === 'string') {
    return [error.detail];
  }
  const fields = error as FieldErrors;
  return Object.values(fields).flatMap((value) => value ?? []);
}

export const calls: Calls = {
  apiRoot: async (auth) => (await sdk.apiRoot({ auth })).data?.patients,
  healthLive: async () => (await sdk.healthLive()).data?.status,
  healthReady: async () => (await sdk.healthReady()).data?.status,
  register: async () => {
    const { data, error } = await sdk.register({
      body: { name: 'Ivy', email: 'ivy@example.com', password: 'quiet-marble-57-harbour' },
    });
    return error ? messages(error as BadRequest) : data.tokens.access;
  },
  login: async () => {
    const { data, error } = await sdk.login({
      body: { email: 'ivy@example.com', password: 'quiet-marble-57-harbour', clinic: 2 },
    });
    return error ? error : data.user.id;
  },
  switchClinic: async (auth) => {
    const { data, error } = await sdk.switchClinic({ auth, body: { clinic: '2' } });
    return error ? messages(error as BadRequest) : [data.clinic.role, data.tokens.access];
  },
  refreshToken: async () => (await sdk.refreshToken({ body: { refresh: 'r' } })).data?.access,
  logout: async () => (await sdk.logout({ body: { refresh: 'r' } })).response.status,
  me: async (auth) => {
    const { data } = await sdk.me({ auth });
    return [data?.email, data?.clinic.personal];
  },
  changePassword: async (auth) =>
    (await sdk.changePassword({ auth, body: { old_password: 'a', new_password: 'b-longer-one' } }))
      .response.status,
  confirmSecondFactor: async (auth) =>
    (await sdk.confirmSecondFactor({ auth, body: { code: '123456' } })).data?.access,
  listAuditEvents: async (auth) => {
    const { data } = await sdk.listAuditEvents({
      auth,
      query: { action: created, outcome: 'denied', since: '2026-01-01T00:00:00Z', page_size: 50 },
    });
    return data?.results.map((event) => `${event.resource_type} ${event.outcome}`);
  },
  listPatients: async (auth) => {
    const { data } = await sdk.listPatients({ auth, query: { search: 'zora', page: 2 } });
    const page: PageJsonPatientJson | undefined = data;
    const next: string | null | undefined = page?.next;
    return [next, page?.results.map((patient: PatientJson) => patient.gender)];
  },
  createPatient: async (auth) => {
    const { data, error } = await sdk.createPatient({
      auth,
      body: { name: 'Zora', age: '47', gender: female, email: '' },
    });
    return error ? messages(error as BadRequest) : data.id;
  },
  getPatient: async (auth) => (await sdk.getPatient({ auth, path: { id: 1 } })).data?.medical_history,
  replacePatient: async (auth) =>
    (
      await sdk.replacePatient({
        auth,
        path: { id: 1 },
        headers: { 'If-Match': '"v1"' },
        body: { name: 'Zora', age: 48, gender: 'F' },
      })
    ).data?.age,
  patchPatient: async (auth) =>
    (await sdk.patchPatient({ auth, path: { id: 1 }, body: { phone: '555-0100' } })).data?.phone,
  deletePatient: async (auth) => (await sdk.deletePatient({ auth, path: { id: 1 } })).response.status,
  breakGlass: async (auth) => {
    const { data, error } = await sdk.breakGlass({
      auth,
      path: { id: 1 },
      body: { reason: 'Unconscious in the emergency room' },
    });
    return error ? error : data.expires_at;
  },
  listDoctors: async (auth) => {
    const { data } = await sdk.listDoctors({ auth, query: { available: true, specialization: 'card' } });
    return data?.results.map((doctor: DoctorJson) => doctor.patient_count);
  },
  createDoctor: async (auth) =>
    (
      await sdk.createDoctor({
        auth,
        body: {
          name: 'Dr. Typed',
          specialization: 'Cardiology',
          phone: '555-0199',
          email: 'typed@example.com',
          experience_years: 12,
          qualification: 'MD',
          consultation_fee: 150.5,
          is_available: true,
          user: 3,
        },
      })
    ).data?.consultation_fee,
  getDoctor: async (auth) => (await sdk.getDoctor({ auth, path: { id: 1 } })).data?.is_available,
  replaceDoctor: async (auth) =>
    (
      await sdk.replaceDoctor({
        auth,
        path: { id: 1 },
        body: {
          name: 'Dr. Typed',
          specialization: 'Cardiology',
          phone: '555-0199',
          email: 'typed@example.com',
          experience_years: '13',
          qualification: 'MD',
          consultation_fee: '160.00',
        },
      })
    ).data?.experience_years,
  patchDoctor: async (auth) =>
    (await sdk.patchDoctor({ auth, path: { id: 1 }, body: { is_available: 'no', user: null } })).data
      ?.user,
  deleteDoctor: async (auth) => (await sdk.deleteDoctor({ auth, path: { id: 1 } })).response.status,
  assignDoctor: async (auth) =>
    (await sdk.assignDoctor({ auth, body: { patient: 1, doctor: '2', notes: 'Follow-up.' } })).data
      ?.doctor_name,
  listMappings: async (auth) =>
    (await sdk.listMappings({ auth, query: { patient: 1, doctor: 2 } })).data?.count,
  patientAssignments: async (auth) =>
    (await sdk.patientAssignments({ auth, path: { id: 1 } })).data?.assigned_doctors.map(
      (assigned) => assigned.doctor.name,
    ),
  updateMappingNotes: async (auth) =>
    (await sdk.updateMappingNotes({ auth, path: { id: 1 }, body: { notes: 'Seen.' } })).data?.notes,
  removeMapping: async (auth) => (await sdk.removeMapping({ auth, path: { id: 1 } })).data?.message,
  createClinic: async (auth) => {
    const { data, error } = await sdk.createClinic({ auth, body: { name: 'North Clinic' } });
    return error ? messages(error as BadRequest) : data.id;
  },
  getClinic: async (auth) => (await sdk.getClinic({ auth, path: { id: 1 } })).data?.personal,
  renameClinic: async (auth) =>
    (await sdk.renameClinic({ auth, path: { id: 1 }, body: { name: 'South Clinic' } })).data?.name,
  listClinicMembers: async (auth) => {
    const { data } = await sdk.listClinicMembers({ auth, path: { id: 1 }, query: { page_size: 50 } });
    return data?.results.map((member) => `${member.user.email} ${member.role}`);
  },
  inviteToClinic: async (auth) => {
    const role: Role = 'front_desk';
    const { data } = await sdk.inviteToClinic({
      auth,
      path: { id: 1 },
      body: { email: 'bob@example.com', role },
    });
    return data?.token;
  },
  listClinicAuditEvents: async (auth) => {
    const { data } = await sdk.listClinicAuditEvents({
      auth,
      path: { id: 1 },
      query: { action: 'patient.break_glass', patient: 3 },
    });
    return data?.results.map((event) => event.resource_id);
  },
  listBreakGlassGrants: async (auth) => {
    const { data } = await sdk.listBreakGlassGrants({ auth, path: { id: 1 } });
    return data?.results.map((grant) => `${grant.user} ${grant.patient} ${grant.reason}`);
  },
  acceptInvitation: async (auth) =>
    (await sdk.acceptInvitation({ auth, body: { token: 'a-token' } })).data?.clinic.role,
  changeMemberRole: async (auth) =>
    (
      await sdk.changeMemberRole({
        auth,
        path: { id: 1, user_id: 2 },
        body: { role: 'auditor' },
      })
    ).data?.role,
  removeMember: async (auth) =>
    (await sdk.removeMember({ auth, path: { id: 1, user_id: 2 } })).response.status,
  listClinics: async (auth) => {
    const { data } = await sdk.listClinics({ auth, query: { page: 1 } });
    const roles: Role[] | undefined = data?.results.map((clinic: ClinicJson) => clinic.role);
    return roles;
  },
};
