//! Who acts, in what capacity, and what each kind of actor may do with each kind of record.
//!
//! Every use case asks these functions before it touches a record, and lists apply the filter
//! [`patients_visible`], [`doctors_visible`] or [`mappings_visible`] derives from the actor:
//! no adapter, handler or query restates a rule. Records an actor may not see are answered
//! exactly like missing ones ([`Access::Hidden`]); the audit trail records the difference.

use crate::Timestamp;
pub use crate::clinic::ClinicScope;
use crate::clinic::{ClinicId, PatientAction, Role, patient_permission};
pub use crate::decision::Access;
use crate::doctor::{Doctor, DoctorFilter};
use crate::mapping::{Mapping, MappingFilter};
use crate::patient::{Patient, PatientFilter};
use crate::staff::may_use_admin_site;
use crate::{User, UserId};

/// A user of the JSON API acting in their active clinic, with their role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClinicMember {
    /// The account.
    pub user: UserId,
    /// The active clinic (the token's).
    pub clinic: ClinicId,
    /// Their role in it.
    pub role: Role,
}

impl ClinicMember {
    /// Whether `patient` is in this member's care team as far as the record alone tells
    /// (they registered it); the other ties ([`CareTie`]) are looked up in the store.
    fn registered(&self, patient: &Patient) -> bool {
        patient.owner == self.user
    }
}

/// Who acts, and in what capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A member of a clinic, through the JSON API: that clinic's patients, as their role allows.
    Member(ClinicMember),
    /// Active platform staff on the admin site: every clinic's records, archived ones included.
    PlatformStaff(UserId),
    /// The server's operator at its console (the admin command line): no account, and the
    /// same reach as platform staff.
    Operator,
}

impl Actor {
    /// `user` acting as platform staff, if their account allows it (active staff).
    pub fn platform_staff(user: &User) -> Option<Self> {
        may_use_admin_site(user).then_some(Self::PlatformStaff(user.id))
    }

    /// The account acting, if any (the audit trail's actor, a new record's creator).
    pub fn user(&self) -> Option<UserId> {
        match *self {
            Self::Member(ClinicMember { user, .. }) | Self::PlatformStaff(user) => Some(user),
            Self::Operator => None,
        }
    }

    /// Whether the actor sees every clinic's records, archived ones included (platform staff
    /// and the operator).
    pub fn oversees_all_records(&self) -> bool {
        match self {
            Self::Member(_) => false,
            Self::PlatformStaff(_) | Self::Operator => true,
        }
    }

    /// Whose ties to `patient` (a doctor record linked to them, a break-glass grant) decide
    /// whether the actor sees it: a clinician of the patient's clinic who did not register it.
    /// Nobody else's reach depends on them, so the store is asked only for these.
    pub fn care_tie_to_look_up(&self, patient: &Patient) -> Option<UserId> {
        match self {
            Self::Member(member)
                if member.role == Role::Clinician
                    && member.clinic == patient.clinic
                    && !member.registered(patient) =>
            {
                Some(member.user)
            }
            _ => None,
        }
    }

    /// Whose break-glass grants can widen the actor's lists: a clinician's (every other role
    /// sees the whole clinic, or no patient).
    pub fn lists_through_grants(&self) -> Option<UserId> {
        match self {
            Self::Member(member) if member.role == Role::Clinician => Some(member.user),
            _ => None,
        }
    }

    /// Whether the actor may read patients' medical histories: staff, the operator and the
    /// roles that treat (a front desk's responses leave the field out).
    pub fn reads_medical_history(&self) -> bool {
        match self {
            Self::Member(member) => member.role.reads_medical_history(),
            Self::PlatformStaff(_) | Self::Operator => true,
        }
    }
}

/// How a clinician is tied to a patient of their clinic besides having registered it, as the
/// store found it ([`Actor::care_tie_to_look_up`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CareTie {
    /// No tie: outside the care team (unless they registered it).
    #[default]
    None,
    /// An active mapping to a doctor record linked to their account.
    Treating,
    /// An active break-glass grant: every access is marked as such in the audit trail.
    BreakGlass,
}

/// What an actor wants to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Read it.
    See,
    /// Change its fields.
    Change,
    /// Archive it (the API's delete; a mapping's removal).
    Archive,
    /// Bring an archived record back.
    Restore,
}

/// Whether a live or archived record is there for `operation` by an actor who may reach it.
fn by_archive_state(archived: bool, operation: Operation, sees_archived: bool) -> Access {
    let present = match operation {
        Operation::See => !archived || sees_archived,
        Operation::Change | Operation::Archive => !archived,
        Operation::Restore => archived,
    };
    if present {
        Access::Granted
    } else {
        Access::Absent
    }
}

/// What a member may do with a patient: another clinic's patient is hidden from every role;
/// inside the clinic the role table decides (`clinic::patient_permission`), then the archive
/// state. Members never restore.
fn member_patient_access(
    member: &ClinicMember,
    patient: &Patient,
    tie: CareTie,
    action: PatientAction,
    operation: Operation,
) -> Access {
    if patient.clinic != member.clinic {
        return Access::Hidden;
    }
    let in_care_team = member.registered(patient) || tie != CareTie::None;
    let sees = patient_permission(member.role, in_care_team, PatientAction::See);
    let permitted = match operation {
        Operation::Restore if sees == Access::Granted => Access::Forbidden,
        Operation::Restore => sees,
        _ => patient_permission(member.role, in_care_team, action),
    };
    match permitted {
        Access::Granted => by_archive_state(patient.archived_at.is_some(), operation, false),
        refused => refused,
    }
}

/// The role-table action an operation on the patient record itself stands for.
fn patient_action(operation: Operation) -> PatientAction {
    match operation {
        Operation::See => PatientAction::See,
        Operation::Change => PatientAction::ChangeDemographics,
        Operation::Archive | Operation::Restore => PatientAction::Archive,
    }
}

/// Patients: a member reaches their clinic's live patients as their role and care team allow
/// (`tie` is what the store found for [`Actor::care_tie_to_look_up`]; anything else passes
/// [`CareTie::None`]); staff and the operator see every patient, archived ones included, and
/// restore.
pub fn patient_access(
    actor: &Actor,
    patient: &Patient,
    tie: CareTie,
    operation: Operation,
) -> Access {
    match actor {
        Actor::Member(member) => {
            member_patient_access(member, patient, tie, patient_action(operation), operation)
        }
        _ => by_archive_state(
            patient.archived_at.is_some(),
            operation,
            actor.oversees_all_records(),
        ),
    }
}

/// Whether a patient deleted here (archived) answers "gone" rather than "not found" (FHIR's
/// 410): only to an actor who would see it were it live, so that "gone" never tells anyone
/// that a record they could not see existed.
pub fn deleted_patient_shown_as_gone(actor: &Actor, patient: &Patient, tie: CareTie) -> bool {
    patient.archived_at.is_some() && {
        let live = Patient {
            archived_at: None,
            ..patient.clone()
        };
        patient_access(actor, &live, tie, Operation::See) == Access::Granted
    }
}

/// Whether a doctor deleted here answers "gone" rather than "not found", by the rule of
/// [`deleted_patient_shown_as_gone`].
pub fn deleted_doctor_shown_as_gone(actor: &Actor, doctor: &Doctor) -> bool {
    doctor.archived_at.is_some() && {
        let live = Doctor {
            archived_at: None,
            ..doctor.clone()
        };
        doctor_access(actor, &live, Operation::See) == Access::Granted
    }
}

/// Registering a patient, `with_medical_history` or not: a member whose role registers
/// patients (in their own clinic), writing a history only if the role writes histories (the
/// registrar is in the new patient's care team); staff and the operator register none.
pub fn patient_creation_access(actor: &Actor, with_medical_history: bool) -> Access {
    let Actor::Member(member) = actor else {
        return Access::Forbidden;
    };
    match patient_permission(member.role, true, PatientAction::Create) {
        Access::Granted if with_medical_history => {
            patient_permission(member.role, true, PatientAction::WriteMedicalHistory)
        }
        answer => answer,
    }
}

/// Writing a patient's medical history: the roles that treat, staff and the operator (a
/// front desk that sees the patient is refused openly).
pub fn medical_history_access(actor: &Actor, patient: &Patient, tie: CareTie) -> Access {
    match actor {
        Actor::Member(member) => member_patient_access(
            member,
            patient,
            tie,
            PatientAction::WriteMedicalHistory,
            Operation::Change,
        ),
        _ => patient_access(actor, patient, tie, Operation::Change),
    }
}

/// Doctors: a public directory. Every user reads live doctors; only a doctor's creator changes
/// or archives it (anyone else: forbidden). Staff and the operator reach every doctor,
/// archived ones included, and restore.
pub fn doctor_access(actor: &Actor, doctor: &Doctor, operation: Operation) -> Access {
    let archived = doctor.archived_at.is_some();
    let reach = by_archive_state(archived, operation, actor.oversees_all_records());
    match actor {
        Actor::Member(_) if reach != Access::Granted => reach,
        Actor::Member(_) if operation == Operation::Restore => Access::Forbidden,
        Actor::Member(member)
            if operation != Operation::See && doctor.created_by != member.user =>
        {
            Access::Forbidden
        }
        _ => reach,
    }
}

/// Mappings follow their patient: whoever may not see the patient may not see its mappings,
/// ended or not (a denial); changing or ending one is the role table's "mappings" action on the
/// patient. A member sees only active ones; staff and the operator see ended ones too. Only an
/// active mapping changes or ends, and an ended one is never restored (staff assign again).
pub fn mapping_access(
    actor: &Actor,
    mapping: &Mapping,
    patient: &Patient,
    tie: CareTie,
    operation: Operation,
) -> Access {
    let through_patient = patient_access(actor, patient, tie, Operation::See);
    if through_patient == Access::Hidden {
        return Access::Hidden;
    }
    let ended = !mapping.is_active;
    if ended && (operation != Operation::See || !actor.oversees_all_records()) {
        return Access::Absent;
    }
    if operation == Operation::Restore {
        return Access::Absent;
    }
    let permitted = match actor {
        Actor::Member(member) if operation != Operation::See => member_patient_access(
            member,
            patient,
            tie,
            PatientAction::ChangeMappings,
            Operation::Change,
        ),
        _ => through_patient,
    };
    match permitted {
        Access::Granted => by_archive_state(
            patient.archived_at.is_some(),
            operation,
            actor.oversees_all_records(),
        ),
        refused => refused,
    }
}

/// Assigning a doctor to `patient`: the role table's "mappings" action (staff and the operator
/// assign to any live patient).
pub fn assignment_access(actor: &Actor, patient: &Patient, tie: CareTie) -> Access {
    match actor {
        Actor::Member(member) => member_patient_access(
            member,
            patient,
            tie,
            PatientAction::ChangeMappings,
            Operation::Change,
        ),
        _ => patient_access(actor, patient, tie, Operation::Change),
    }
}

/// What a member's lists may hold; `None` when the role sees no patient at all (an auditor).
fn member_scope(member: &ClinicMember, now: Timestamp) -> Option<ClinicScope> {
    let whole_clinic =
        patient_permission(member.role, false, PatientAction::See) == Access::Granted;
    let care_team = patient_permission(member.role, true, PatientAction::See) == Access::Granted;
    match (whole_clinic, care_team) {
        (true, _) => Some(ClinicScope {
            clinic: member.clinic,
            care_team_of: None,
        }),
        (false, true) => Some(ClinicScope {
            clinic: member.clinic,
            care_team_of: Some((member.user, now)),
        }),
        (false, false) => None,
    }
}

/// The patient list `requested` narrowed to what `actor` may see at `now`: a member's view of
/// their clinic's live patients; `None` when they may see none.
pub fn patients_visible(
    actor: &Actor,
    requested: PatientFilter,
    now: Timestamp,
) -> Option<PatientFilter> {
    match actor {
        Actor::Member(member) => Some(PatientFilter {
            scope: Some(member_scope(member, now)?),
            archived: Some(false),
            ..requested
        }),
        Actor::PlatformStaff(_) | Actor::Operator => Some(requested),
    }
}

/// The doctor list `requested` narrowed to what `actor` may see: live doctors for members.
pub fn doctors_visible(actor: &Actor, requested: DoctorFilter) -> DoctorFilter {
    match actor {
        Actor::Member(_) => DoctorFilter {
            archived: Some(false),
            ..requested
        },
        Actor::PlatformStaff(_) | Actor::Operator => requested,
    }
}

/// The mapping list `requested` narrowed to what `actor` may see at `now`: for a member, the
/// active mappings of the patients they see (an active mapping's patient is never archived:
/// archiving ends its mappings in the same transaction); `None` when they see no patient.
pub fn mappings_visible(
    actor: &Actor,
    requested: MappingFilter,
    now: Timestamp,
) -> Option<MappingFilter> {
    match actor {
        Actor::Member(member) => Some(MappingFilter {
            scope: Some(member_scope(member, now)?),
            active: Some(true),
            ..requested
        }),
        Actor::PlatformStaff(_) | Actor::Operator => Some(requested),
    }
}

#[cfg(test)]
mod tests;
