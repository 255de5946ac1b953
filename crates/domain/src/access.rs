//! Who acts, in what capacity, and what each kind of actor may do with each kind of record.
//!
//! Every use case asks these functions before it touches a record, and lists apply the filter
//! [`patients_visible`], [`doctors_visible`] or [`mappings_visible`] derives from the actor:
//! no adapter, handler or query restates a rule. Records an actor may not see are answered
//! exactly like missing ones ([`Access::Hidden`]); the audit trail records the difference.

use crate::doctor::{Doctor, DoctorFilter};
use crate::mapping::{Mapping, MappingFilter};
use crate::patient::{Patient, PatientFilter};
use crate::staff::may_use_admin_site;
use crate::{User, UserId};

/// Who acts, and in what capacity. Capacities are data: clinics add their roles here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A user of the JSON API, acting on the patients they registered.
    RecordOwner(UserId),
    /// Active platform staff on the admin site: every owner's records, archived ones included.
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
            Self::RecordOwner(user) | Self::PlatformStaff(user) => Some(user),
            Self::Operator => None,
        }
    }

    /// Whether the actor sees every owner's records and every clinic, archived records
    /// included (platform staff and the operator).
    pub fn oversees_all_records(&self) -> bool {
        match self {
            Self::RecordOwner(_) => false,
            Self::PlatformStaff(_) | Self::Operator => true,
        }
    }
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

/// The answer to "may this actor do this with this record".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Go ahead.
    Granted,
    /// Not there for this operation (archived, ended, or not archived for a restore):
    /// "not found", and not a denial.
    Absent,
    /// Not the actor's to see: answered exactly like [`Access::Absent`], recorded as denied.
    Hidden,
    /// Visible to the actor but not theirs to change: refused openly (403).
    Forbidden,
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

/// Patients: an owner sees and changes only the live patients they registered (someone else's
/// is hidden); staff and the operator see every patient, archived ones included, and restore.
pub fn patient_access(actor: &Actor, patient: &Patient, operation: Operation) -> Access {
    let archived = patient.archived_at.is_some();
    match actor {
        Actor::RecordOwner(user) if patient.owner != *user => Access::Hidden,
        Actor::RecordOwner(_) if operation == Operation::Restore => Access::Forbidden,
        _ => by_archive_state(archived, operation, actor.oversees_all_records()),
    }
}

/// Doctors: a public directory. Every user reads live doctors; only a doctor's creator changes
/// or archives it (anyone else: forbidden). Staff and the operator reach every doctor,
/// archived ones included, and restore.
pub fn doctor_access(actor: &Actor, doctor: &Doctor, operation: Operation) -> Access {
    let archived = doctor.archived_at.is_some();
    let reach = by_archive_state(archived, operation, actor.oversees_all_records());
    match actor {
        Actor::RecordOwner(_) if reach != Access::Granted => reach,
        Actor::RecordOwner(_) if operation == Operation::Restore => Access::Forbidden,
        Actor::RecordOwner(user) if operation != Operation::See && doctor.created_by != *user => {
            Access::Forbidden
        }
        _ => reach,
    }
}

/// Mappings follow their patient: whoever may not see the patient may not see its mappings,
/// ended or not (a denial). An owner sees only active ones; staff and the operator see ended
/// ones too. Only an active mapping changes or ends, and an ended one is never restored (staff
/// assign again).
pub fn mapping_access(
    actor: &Actor,
    mapping: &Mapping,
    patient: &Patient,
    operation: Operation,
) -> Access {
    let through_patient = patient_access(actor, patient, Operation::See);
    if through_patient == Access::Hidden {
        return Access::Hidden;
    }
    let ended = !mapping.is_active;
    if ended && (operation != Operation::See || !actor.oversees_all_records()) {
        return Access::Absent;
    }
    match through_patient {
        Access::Granted if operation == Operation::Restore => Access::Absent,
        Access::Granted => by_archive_state(
            patient.archived_at.is_some(),
            operation,
            actor.oversees_all_records(),
        ),
        refused => refused,
    }
}

/// The patient list `requested` narrowed to what `actor` may see: an owner's own live patients.
pub fn patients_visible(actor: &Actor, requested: PatientFilter) -> PatientFilter {
    match actor {
        Actor::RecordOwner(user) => PatientFilter {
            owner: Some(*user),
            archived: Some(false),
            ..requested
        },
        Actor::PlatformStaff(_) | Actor::Operator => requested,
    }
}

/// The doctor list `requested` narrowed to what `actor` may see: live doctors for owners.
pub fn doctors_visible(actor: &Actor, requested: DoctorFilter) -> DoctorFilter {
    match actor {
        Actor::RecordOwner(_) => DoctorFilter {
            archived: Some(false),
            ..requested
        },
        Actor::PlatformStaff(_) | Actor::Operator => requested,
    }
}

/// The mapping list `requested` narrowed to what `actor` may see: for an owner, the active
/// mappings of their own patients (an active mapping's patient is never archived: archiving
/// ends its mappings in the same transaction).
pub fn mappings_visible(actor: &Actor, requested: MappingFilter) -> MappingFilter {
    match actor {
        Actor::RecordOwner(user) => MappingFilter {
            owner: Some(*user),
            active: Some(true),
            ..requested
        },
        Actor::PlatformStaff(_) | Actor::Operator => requested,
    }
}

#[cfg(test)]
mod tests;
