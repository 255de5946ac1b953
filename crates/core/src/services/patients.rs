//! Patient records, for every actor: the domain's access rule decides what each may see and
//! do; deleting archives. Every use case leaves exactly one audit row.

use std::sync::Arc;

use chrono::Duration;

use healthcare_domain::access::{
    Access, Actor, CareTie, Operation, deleted_patient_shown_as_gone, mappings_visible,
    medical_history_access, patient_access, patient_creation_access, patients_visible,
};
use healthcare_domain::audit::AuditAction;
use healthcare_domain::break_glass::{
    self, BreakGlass, BreakGlassReason, Grant, NewGrant, break_glass_access,
};
use healthcare_domain::fields::{Submitted, WriteMode, check_field};
use healthcare_domain::mapping::MappingFilter;
use healthcare_domain::patient::{
    Patient, PatientChanges, PatientFilter, PatientId, PatientInput, PatientSearch,
};
use healthcare_domain::record_search::{SearchPage, SearchPaging};
use healthcare_domain::{FieldErrors, User};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditTrail, BreakGlassRepository, Clock, MappingRepository, MappingView, PatientRepository,
    UserRepository,
};
use crate::services::audit::{Caller, Refusal, ScopedRow, Target, permit};
use crate::services::versioning::{IfMatch, write_with_version_check};
use crate::{Resource, ServiceError};

/// Mappings shown beside a patient, at most.
pub const RELATED_LIMIT: u64 = 100;

/// A patient with who registered it and its doctors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDetail {
    /// The patient.
    pub patient: Patient,
    /// Who registered it.
    pub owner: Option<User>,
    /// Its mappings the caller may see, newest first, at most [`RELATED_LIMIT`].
    pub mappings: Vec<MappingView>,
}

/// The ports [`PatientService`] is built on.
#[derive(Clone)]
pub struct PatientPorts {
    /// Patients.
    pub patients: Arc<dyn PatientRepository>,
    /// Mappings, for a patient's doctors.
    pub mappings: Arc<dyn MappingRepository>,
    /// Accounts, for a patient's owner.
    pub users: Arc<dyn UserRepository>,
    /// Reads and refusals.
    pub trail: Arc<dyn AuditTrail>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Break-glass grants.
    pub grants: Arc<dyn BreakGlassRepository>,
}

/// Use cases on patients.
#[derive(Clone)]
pub struct PatientService {
    ports: PatientPorts,
    break_glass_lasts: Duration,
}

impl PatientService {
    /// Wires the service to its ports; a break-glass grant lasts
    /// [`break_glass::DEFAULT_MINUTES`] until [`Self::with_break_glass_minutes`] says otherwise.
    pub fn new(ports: PatientPorts) -> Self {
        Self {
            ports,
            break_glass_lasts: Duration::minutes(break_glass::DEFAULT_MINUTES),
        }
    }

    /// The same service, with break-glass grants lasting `minutes` (`BREAK_GLASS_MINUTES`).
    pub fn with_break_glass_minutes(self, minutes: i64) -> Self {
        Self {
            break_glass_lasts: Duration::minutes(minutes),
            ..self
        }
    }

    /// Opens a break-glass grant of the caller (a clinician) on a patient of their clinic
    /// outside their care team, for the configured time, with `reason`: one audit row, naming
    /// the grant. A patient the caller already sees is a conflict (409); another clinic's, an
    /// archived one, or a caller whose role never treats: "not found", recorded as a denial.
    pub fn break_glass(
        &self,
        caller: &Caller,
        id: PatientId,
        reason: Submitted<String>,
        shape_errors: FieldErrors,
    ) -> Result<Grant, ServiceError> {
        let now = self.now();
        let target = Target {
            resource_id: None,
            patient_id: Some(id),
        };
        let scope = caller.audit(self.trail(), AuditAction::PatientBreakGlass, now, target);
        scope.run(|event| {
            let user = caller.account()?;
            let patient = self
                .ports
                .patients
                .find(id)?
                .ok_or(ServiceError::NotFound(Resource::Patient))?;
            let tie = care_tie(self.ports.patients.as_ref(), &caller.actor, &patient, now)?;
            match break_glass_access(&caller.actor, &patient, tie) {
                BreakGlass::Allowed => {}
                BreakGlass::AlreadyVisible => return Err(ServiceError::AlreadyVisible.into()),
                BreakGlass::Hidden => {
                    return Err(Refusal::denied(ServiceError::NotFound(Resource::Patient)));
                }
            }
            let mut errors = shape_errors;
            let reason = check_field(
                &mut errors,
                "reason",
                reason,
                true,
                WriteMode::Create,
                |raw: String| BreakGlassReason::parse(&raw),
            );
            let Some(reason) = reason.filter(|_| errors.is_empty()) else {
                return Err(errors.into());
            };
            let grant = NewGrant {
                clinic: patient.clinic,
                patient: patient.id,
                user,
                reason,
                granted_at: now,
                expires_at: now + self.break_glass_lasts,
            };
            Ok(self.ports.grants.grant(&grant, event.for_change())?)
        })
    }

    /// The patients matching `filter` that the caller may see, newest first. An empty search
    /// matches every name.
    pub fn list_patients(
        &self,
        caller: &Caller,
        filter: PatientFilter,
        page: Page,
    ) -> Result<PageOf<Patient>, ServiceError> {
        let now = self.now();
        let visible = patients_visible(&caller.actor, filter, now).map(|mut filter| {
            filter.search = filter.search.filter(|search| !search.is_empty());
            filter
        });
        caller
            .audit(self.trail(), AuditAction::PatientList, now, Target::NONE)
            .run(|event| {
                let Some(filter) = visible else {
                    return Ok(PageOf::empty());
                };
                let page = self.ports.patients.list(&filter, page)?;
                self.mark_listed(caller, event, &page.items, now)?;
                Ok(page.map(|patient| shown_to(caller, patient)))
            })
    }

    /// Creates a patient registered by the caller in their clinic (where they join its care
    /// team).
    pub fn create_patient(
        &self,
        caller: &Caller,
        input: PatientInput,
        shape_errors: FieldErrors,
    ) -> Result<Patient, ServiceError> {
        let now = self.now();
        let scope = caller.audit(self.trail(), AuditAction::PatientCreate, now, Target::NONE);
        scope.run(|event| {
            let owner = caller.account()?;
            let clinic = caller.clinic().ok_or(ServiceError::Forbidden)?;
            let with_history = !matches!(input.medical_history, Submitted::Absent);
            permit(
                patient_creation_access(&caller.actor, with_history),
                Resource::Patient,
            )?;
            let details = input
                .validate(WriteMode::Create, shape_errors)?
                .into_new_details()
                .ok_or_else(|| {
                    ServiceError::Internal("create validation left a required field unset".into())
                })?;
            let patient =
                self.ports
                    .patients
                    .insert(clinic, owner, &details, now, event.for_change())?;
            Ok(shown_to(caller, patient))
        })
    }

    /// A patient the caller may see; any other is "not found".
    pub fn get_patient(&self, caller: &Caller, id: PatientId) -> Result<Patient, ServiceError> {
        let target = Target::patient(id);
        caller
            .audit(self.trail(), AuditAction::PatientRead, self.now(), target)
            .run(|event| {
                let (patient, tie) = self.reachable(caller, id, Operation::See)?;
                mark_break_glass(event, tie);
                Ok(shown_to(caller, patient))
            })
    }

    /// A patient the caller may see, with its owner and the mappings the caller may see
    /// (audited as a read of the patient).
    pub fn patient_detail(
        &self,
        caller: &Caller,
        id: PatientId,
    ) -> Result<PatientDetail, ServiceError> {
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientRead, self.now(), target);
        scope.run(|event| {
            let (patient, tie) = self.reachable(caller, id, Operation::See)?;
            mark_break_glass(event, tie);
            let owner = self.ports.users.find_by_id(patient.owner)?;
            let related = mappings_visible(
                &caller.actor,
                MappingFilter {
                    patient: Some(id),
                    ..MappingFilter::default()
                },
                self.now(),
            );
            let page = Page {
                number: 1,
                size: RELATED_LIMIT,
            };
            let mappings = match related {
                Some(related) => self.ports.mappings.list(&related, page)?.items,
                None => Vec::new(),
            };
            Ok(PatientDetail {
                patient: shown_to(caller, patient),
                owner,
                mappings,
            })
        })
    }

    /// Replaces (`WriteMode::Replace`) or patches (`WriteMode::Partial`) a patient. With
    /// `if_match`, a patient changed since that version is refused (412) and left unchanged.
    pub fn update_patient(
        &self,
        caller: &Caller,
        id: PatientId,
        input: PatientInput,
        shape_errors: FieldErrors,
        mode: WriteMode,
        if_match: Option<IfMatch>,
    ) -> Result<Patient, ServiceError> {
        let now = self.now();
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientUpdate, now, target);
        scope.run(|event| {
            let (current, tie) = self.reachable(caller, id, Operation::Change)?;
            mark_break_glass(event, tie);
            if !matches!(input.medical_history, Submitted::Absent) {
                permit(
                    medical_history_access(&caller.actor, &current, tie),
                    Resource::Patient,
                )?;
            }
            IfMatch::check(if_match.as_ref(), current.version)?;
            let changes: PatientChanges = input.validate(mode, shape_errors)?;
            Ok(write_with_version_check(
                current,
                if_match.is_some(),
                |patient| {
                    let details = changes.clone().apply_to(&patient.details);
                    Ok(self.ports.patients.update(
                        id,
                        &details,
                        patient.version,
                        now,
                        event.for_change(),
                    )?)
                },
                || {
                    self.reachable(caller, id, Operation::Change)
                        .map(|(patient, _)| patient)
                        .map_err(|refusal| refusal.error)
                },
            )
            .map(|patient| shown_to(caller, patient))?)
        })
    }

    /// Archives a patient and ends its mappings (the soft-delete policy).
    pub fn delete_patient(&self, caller: &Caller, id: PatientId) -> Result<(), ServiceError> {
        let now = self.now();
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientDelete, now, target);
        scope.run(|event| {
            let (_, tie) = self.reachable(caller, id, Operation::Archive)?;
            mark_break_glass(event, tie);
            if self.ports.patients.archive(id, now, event.for_change())? {
                Ok(())
            } else {
                // Archived by a concurrent request in between.
                Err(Refusal::from(ServiceError::NotFound(Resource::Patient)))
            }
        })
    }

    /// Un-archives a patient; its mappings stay ended, as the soft-delete policy says.
    /// `NotFound` when no archived patient has this id.
    pub fn restore_patient(&self, caller: &Caller, id: PatientId) -> Result<(), ServiceError> {
        let now = self.now();
        let target = Target::patient(id);
        let scope = caller.audit(self.trail(), AuditAction::PatientRestore, now, target);
        scope.run(|event| {
            self.reachable(caller, id, Operation::Restore)?;
            if self.ports.patients.restore(id, now, event.for_change())? {
                Ok(())
            } else {
                // Restored by a concurrent request in between.
                Err(Refusal::from(ServiceError::NotFound(Resource::Patient)))
            }
        })
    }

    /// The live patients matching `search` that the caller may see (its `visible` is replaced
    /// by the caller's view), one page in `paging`'s order: audited as a list.
    pub fn search_patients(
        &self,
        caller: &Caller,
        search: PatientSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Patient>, ServiceError> {
        let now = self.now();
        let live = PatientFilter {
            archived: Some(false),
            ..PatientFilter::default()
        };
        let visible = patients_visible(&caller.actor, live, now);
        caller
            .audit(self.trail(), AuditAction::PatientList, now, Target::NONE)
            .run(|event| {
                let Some(visible) = visible else {
                    return Ok(SearchPage::empty(paging.with_total.then_some(0)));
                };
                let search = PatientSearch { visible, ..search };
                let page = self.ports.patients.search(&search, paging)?;
                self.mark_listed(caller, event, &page.items, now)?;
                Ok(page.map(|patient| shown_to(caller, patient)))
            })
    }

    /// Version `version` of a patient the caller may see (the current one for `None`),
    /// audited as a read. A patient deleted here is `Gone` to a caller who would see it live,
    /// and "not found" to everyone else.
    pub fn patient_version(
        &self,
        caller: &Caller,
        id: PatientId,
        version: Option<i64>,
    ) -> Result<Patient, ServiceError> {
        let target = Target::patient(id);
        caller
            .audit(self.trail(), AuditAction::PatientRead, self.now(), target)
            .run(|event| {
                let (current, tie) = self.readable(caller, id)?;
                mark_break_glass(event, tie);
                let wanted = match version {
                    Some(version) if version != current.version => self
                        .ports
                        .patients
                        .version(id, version)?
                        .ok_or(ServiceError::NotFound(Resource::Patient))?,
                    _ => current,
                };
                Ok(shown_to(caller, wanted))
            })
    }

    /// A patient's versions below `below` (all for `None`), newest first, at most `limit`,
    /// by the rule of [`Self::patient_version`].
    pub fn patient_history(
        &self,
        caller: &Caller,
        id: PatientId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Patient>, ServiceError> {
        let target = Target::patient(id);
        caller
            .audit(self.trail(), AuditAction::PatientRead, self.now(), target)
            .run(|event| {
                let (_, tie) = self.readable(caller, id)?;
                mark_break_glass(event, tie);
                let versions = self.ports.patients.versions(id, below, limit)?;
                Ok(versions
                    .into_iter()
                    .map(|patient| shown_to(caller, patient))
                    .collect())
            })
    }

    /// The current patient if the caller may read it and its versions; `Gone` when it was
    /// deleted and the caller would see it live.
    fn readable(&self, caller: &Caller, id: PatientId) -> Result<(Patient, CareTie), Refusal> {
        let patient = self
            .ports
            .patients
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Patient))?;
        let tie = judge_seeing(self.ports.patients.as_ref(), caller, &patient, self.now())?;
        Ok((patient, tie))
    }

    /// The patient if the domain lets the caller do `operation` with it, and the caller's
    /// care tie to it; the refusal says whether that was a denial.
    fn reachable(
        &self,
        caller: &Caller,
        id: PatientId,
        operation: Operation,
    ) -> Result<(Patient, CareTie), Refusal> {
        let patient = self
            .ports
            .patients
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Patient))?;
        let tie = care_tie(
            self.ports.patients.as_ref(),
            &caller.actor,
            &patient,
            self.now(),
        )?;
        permit(
            patient_access(&caller.actor, &patient, tie, operation),
            Resource::Patient,
        )?;
        Ok((patient, tie))
    }

    /// Marks a list's row when a break-glass grant let it show any of `listed`: only those
    /// the caller's care tie decides about are asked of the store.
    fn mark_listed(
        &self,
        caller: &Caller,
        event: &mut ScopedRow,
        listed: &[Patient],
        now: healthcare_domain::Timestamp,
    ) -> Result<(), ServiceError> {
        let others: Vec<PatientId> = listed
            .iter()
            .filter(|patient| caller.actor.care_tie_to_look_up(patient).is_some())
            .map(|patient| patient.id)
            .collect();
        mark_list(self.ports.patients.as_ref(), caller, event, &others, now)
    }

    fn trail(&self) -> &dyn AuditTrail {
        self.ports.trail.as_ref()
    }

    fn now(&self) -> healthcare_domain::Timestamp {
        self.ports.clock.now()
    }
}

/// The actor's care tie to `patient`, asking the store only when it decides anything
/// ([`Actor::care_tie_to_look_up`]).
pub(crate) fn care_tie(
    patients: &dyn PatientRepository,
    actor: &Actor,
    patient: &Patient,
    now: healthcare_domain::Timestamp,
) -> Result<CareTie, ServiceError> {
    Ok(match actor.care_tie_to_look_up(patient) {
        Some(user) => patients.care_tie(patient.id, user, now)?,
        None => CareTie::None,
    })
}

/// Whether `caller` may see `patient`, found: the caller's care tie to it, or the refusal.
/// Staff see archived records (and their history); to anyone else a record deleted here is
/// `Gone` if they would see it live, and missing otherwise.
pub(crate) fn judge_seeing(
    patients: &dyn PatientRepository,
    caller: &Caller,
    patient: &Patient,
    now: healthcare_domain::Timestamp,
) -> Result<CareTie, Refusal> {
    let tie = care_tie(patients, &caller.actor, patient, now)?;
    let access = patient_access(&caller.actor, patient, tie, Operation::See);
    if access != Access::Granted && deleted_patient_shown_as_gone(&caller.actor, patient, tie) {
        return Err(ServiceError::Gone(Resource::Patient).into());
    }
    permit(access, Resource::Patient)?;
    Ok(tie)
}

/// Marks a list's row when a break-glass grant of the caller let it show any of `patients`.
pub(crate) fn mark_list(
    patients: &dyn PatientRepository,
    caller: &Caller,
    row: &mut ScopedRow,
    listed: &[PatientId],
    now: healthcare_domain::Timestamp,
) -> Result<(), ServiceError> {
    if let Some(user) = caller.actor.lists_through_grants() {
        row.event_mut().break_glass = patients.under_grant(user, listed, now)?;
    }
    Ok(())
}

/// Marks the use case's row as an access made under a break-glass grant when that is what
/// allowed it.
pub(crate) fn mark_break_glass(row: &mut ScopedRow, tie: CareTie) {
    row.event_mut().break_glass = tie == CareTie::BreakGlass;
}

/// `patient` as the caller may see it: without its medical history for a role that never
/// reads one (the JSON adapter also leaves the field out).
pub(crate) fn shown_to(caller: &Caller, mut patient: Patient) -> Patient {
    if !caller.reads_medical_history() {
        patient.details.medical_history.clear();
    }
    patient
}
