//! The doctor directory, for every actor: the domain's access rule decides who reads and who
//! changes each doctor. Only what names patients is audited.

use std::sync::Arc;

use healthcare_domain::access::{
    Access, Operation, deleted_doctor_shown_as_gone, doctor_access, doctors_visible,
    mappings_visible,
};
use healthcare_domain::audit::AuditAction;
use healthcare_domain::doctor::{
    Doctor, DoctorChanges, DoctorFilter, DoctorId, DoctorInput, DoctorSearch, LINKED_USER,
};
use healthcare_domain::fields::Submitted;
use healthcare_domain::fields::WriteMode;
use healthcare_domain::mapping::MappingFilter;
use healthcare_domain::record_search::{SearchPage, SearchPaging};
use healthcare_domain::{FieldErrors, FieldProblem, UserId};

use crate::pagination::{Page, PageOf};
use crate::ports::{
    AuditTrail, Clock, DoctorRepository, DoctorWithCount, MappingRepository, MappingView,
    UserRepository,
};
use crate::services::audit::{Caller, Target, permit};
use crate::services::patients::RELATED_LIMIT;
use crate::services::versioning::{IfMatch, write_with_version_check};
use crate::{Resource, ServiceError};

/// A doctor with its mappings the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorDetail {
    /// The doctor and its patient count.
    pub doctor: DoctorWithCount,
    /// Its mappings, newest first, at most [`RELATED_LIMIT`].
    pub mappings: Vec<MappingView>,
}

/// Use cases on doctors.
#[derive(Clone)]
pub struct DoctorService {
    doctors: Arc<dyn DoctorRepository>,
    mappings: Arc<dyn MappingRepository>,
    users: Arc<dyn UserRepository>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
}

impl DoctorService {
    /// Wires the service to its ports.
    pub fn new(
        doctors: Arc<dyn DoctorRepository>,
        mappings: Arc<dyn MappingRepository>,
        users: Arc<dyn UserRepository>,
        trail: Arc<dyn AuditTrail>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            doctors,
            mappings,
            users,
            trail,
            clock,
        }
    }

    /// The doctors matching `filter` that the caller may see, by name.
    pub fn list_doctors(
        &self,
        caller: &Caller,
        filter: DoctorFilter,
        page: Page,
    ) -> Result<PageOf<DoctorWithCount>, ServiceError> {
        let filter = doctors_visible(&caller.actor, filter);
        Ok(self.doctors.list(&filter, page)?)
    }

    /// Adds a doctor created by the caller.
    pub fn create_doctor(
        &self,
        caller: &Caller,
        input: DoctorInput,
        shape_errors: FieldErrors,
    ) -> Result<DoctorWithCount, ServiceError> {
        let created_by = caller.account()?;
        let (input, shape_errors) = self.check_linked_user(input, shape_errors)?;
        let details = input
            .validate(WriteMode::Create, shape_errors)?
            .into_new_details()
            .ok_or_else(|| {
                ServiceError::Internal("create validation left a required field unset".into())
            })?;
        Ok(self
            .doctors
            .insert(created_by, &details, self.clock.now())?)
    }

    /// A doctor the caller may see.
    pub fn get_doctor(
        &self,
        caller: &Caller,
        id: DoctorId,
    ) -> Result<DoctorWithCount, ServiceError> {
        self.reachable(caller, id, Operation::See)
    }

    /// A doctor the caller may see, with the mappings the caller may see (audited as a
    /// mapping list, since it names patients).
    pub fn doctor_detail(
        &self,
        caller: &Caller,
        id: DoctorId,
    ) -> Result<DoctorDetail, ServiceError> {
        let doctor = self.reachable(caller, id, Operation::See)?;
        let (now, target) = (self.clock.now(), Target::record(id.0, None));
        let related = mappings_visible(
            &caller.actor,
            MappingFilter {
                doctor: Some(id),
                ..MappingFilter::default()
            },
            now,
        );
        let page = Page {
            number: 1,
            size: RELATED_LIMIT,
        };
        let mappings = caller
            .audit(self.trail.as_ref(), AuditAction::MappingList, now, target)
            .run(|_| match related {
                Some(related) => Ok(self.mappings.list(&related, page)?.items),
                None => Ok(Vec::new()),
            })?;
        Ok(DoctorDetail { doctor, mappings })
    }

    /// Replaces or patches a doctor the caller may change. With `if_match`, a doctor changed
    /// since that version is refused (412) and left unchanged.
    pub fn update_doctor(
        &self,
        caller: &Caller,
        id: DoctorId,
        input: DoctorInput,
        shape_errors: FieldErrors,
        mode: WriteMode,
        if_match: Option<IfMatch>,
    ) -> Result<DoctorWithCount, ServiceError> {
        let current = self.reachable(caller, id, Operation::Change)?;
        IfMatch::check(if_match.as_ref(), current.doctor.version)?;
        let (input, shape_errors) = self.check_linked_user(input, shape_errors)?;
        let changes: DoctorChanges = input.validate(mode, shape_errors)?;
        write_with_version_check(
            current,
            if_match.is_some(),
            |found| {
                let details = changes.clone().apply_to(&found.doctor.details);
                Ok(self
                    .doctors
                    .update(id, &details, found.doctor.version, self.clock.now())?)
            },
            || self.reachable(caller, id, Operation::Change),
        )
    }

    /// Archives a doctor the caller may change and ends its mappings, each ended mapping
    /// recorded (in the archive's transaction) as a `mapping.remove` row with the caller as
    /// actor. A refusal leaves no row: doctor routes are not audited otherwise.
    pub fn delete_doctor(&self, caller: &Caller, id: DoctorId) -> Result<(), ServiceError> {
        self.reachable(caller, id, Operation::Archive)?;
        let now = self.clock.now();
        let event = caller.event(AuditAction::MappingRemove, now, Target::NONE);
        if self.doctors.archive(id, now, &event)? {
            Ok(())
        } else {
            // Archived by someone else since it was read.
            Err(ServiceError::NotFound(Resource::Doctor))
        }
    }

    /// Un-archives a doctor; its mappings stay ended. `NotFound` when no archived doctor has
    /// this id.
    pub fn restore_doctor(&self, caller: &Caller, id: DoctorId) -> Result<(), ServiceError> {
        self.reachable(caller, id, Operation::Restore)?;
        if self.doctors.restore(id, self.clock.now())? {
            Ok(())
        } else {
            // Restored by someone else since it was read.
            Err(ServiceError::NotFound(Resource::Doctor))
        }
    }

    /// The live doctors matching `search` (its `visible` filter narrowed to the caller's
    /// view), one page in `paging`'s order.
    pub fn search_doctors(
        &self,
        caller: &Caller,
        search: DoctorSearch,
        paging: &SearchPaging,
    ) -> Result<SearchPage<Doctor>, ServiceError> {
        // The search's own filter (specialization, availability), narrowed to live doctors
        // and to what the caller sees.
        let live = DoctorFilter {
            archived: Some(false),
            ..search.visible.clone()
        };
        let search = DoctorSearch {
            visible: doctors_visible(&caller.actor, live),
            ..search
        };
        Ok(self.doctors.search(&search, paging)?)
    }

    /// Version `version` of a doctor the caller may see (the current one for `None`). A
    /// doctor deleted here is `Gone` to a caller who would see it live.
    pub fn doctor_version(
        &self,
        caller: &Caller,
        id: DoctorId,
        version: Option<i64>,
    ) -> Result<Doctor, ServiceError> {
        let current = self.readable(caller, id)?;
        match version {
            Some(version) if version != current.version => self
                .doctors
                .version(id, version)?
                .ok_or(ServiceError::NotFound(Resource::Doctor)),
            _ => Ok(current),
        }
    }

    /// A doctor's versions below `below` (all for `None`), newest first, at most `limit`, by
    /// the rule of [`Self::doctor_version`].
    pub fn doctor_history(
        &self,
        caller: &Caller,
        id: DoctorId,
        below: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Doctor>, ServiceError> {
        self.readable(caller, id)?;
        Ok(self.doctors.versions(id, below, limit)?)
    }

    /// The current doctor if the caller may read it and its versions.
    fn readable(&self, caller: &Caller, id: DoctorId) -> Result<Doctor, ServiceError> {
        let found = self
            .doctors
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Doctor))?;
        // Staff see archived doctors; to anyone else a doctor deleted here is gone.
        let access = doctor_access(&caller.actor, &found.doctor, Operation::See);
        if access != Access::Granted && deleted_doctor_shown_as_gone(&caller.actor, &found.doctor) {
            return Err(ServiceError::Gone(Resource::Doctor));
        }
        permit(access, Resource::Doctor).map_err(|refusal| refusal.error)?;
        Ok(found.doctor)
    }

    /// Reports a linked account that does not exist like DRF's primary-key fields, beside the
    /// other fields' problems.
    fn check_linked_user(
        &self,
        mut input: DoctorInput,
        mut shape_errors: FieldErrors,
    ) -> Result<(DoctorInput, FieldErrors), ServiceError> {
        if let Submitted::Given(Some(id)) = input.user
            && id >= 1
            && self.users.find_by_id(UserId(id))?.is_none()
        {
            shape_errors.add(LINKED_USER, FieldProblem::UnknownRecord { given: id });
            input.user = Submitted::Rejected;
        }
        Ok((input, shape_errors))
    }

    /// The doctor if the domain lets the caller do `operation` with it.
    fn reachable(
        &self,
        caller: &Caller,
        id: DoctorId,
        operation: Operation,
    ) -> Result<DoctorWithCount, ServiceError> {
        let found = self
            .doctors
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Doctor))?;
        permit(
            doctor_access(&caller.actor, &found.doctor, operation),
            Resource::Doctor,
        )
        .map_err(|refusal| refusal.error)?;
        Ok(found)
    }
}
