//! The clinics a caller belongs to.

use std::sync::Arc;

use healthcare_domain::FieldErrors;
use healthcare_domain::access::Access;
use healthcare_domain::audit::AuditAction;
use healthcare_domain::clinic::{
    Clinic, ClinicAction, ClinicId, ClinicName, Member, Membership, clinic_permission,
};
use healthcare_domain::fields::{Submitted, WriteMode, check_field};

use crate::ports::{AuditTrail, ClinicRepository, Clock};
use crate::services::Caller;
use crate::services::audit::{Target, permit};
use crate::{Page, PageOf, Resource, ServiceError};

/// Clinic use cases. Reading one's clinics and their members is not patient data and leaves
/// no audit row; creating and renaming a clinic do.
pub struct ClinicService {
    clinics: Arc<dyn ClinicRepository>,
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
}

impl ClinicService {
    /// The use cases over `clinics`, recording into `trail`.
    pub fn new(
        clinics: Arc<dyn ClinicRepository>,
        trail: Arc<dyn AuditTrail>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            clinics,
            trail,
            clock,
        }
    }

    /// A new shared clinic, with the caller as its admin.
    pub fn create_clinic(
        &self,
        caller: &Caller,
        name: Submitted<String>,
        shape_errors: FieldErrors,
    ) -> Result<Membership, ServiceError> {
        let now = self.clock.now();
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::ClinicCreate,
            now,
            Target::NONE,
        );
        scope.run(|row| {
            let creator = caller.account()?;
            let name = valid_name(name, shape_errors)?;
            Ok(self.clinics.create(&name, creator, now, row.for_change())?)
        })
    }

    /// A clinic the caller is a member of; any other is "not found".
    pub fn get_clinic(&self, caller: &Caller, id: ClinicId) -> Result<Membership, ServiceError> {
        let (access, membership) = self.access(caller, id, ClinicAction::ReadMembers)?;
        granted(access, membership)
    }

    /// Renames a clinic the caller is an admin of (another member: forbidden).
    pub fn rename_clinic(
        &self,
        caller: &Caller,
        id: ClinicId,
        name: Submitted<String>,
        shape_errors: FieldErrors,
    ) -> Result<Membership, ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(self.trail.as_ref(), AuditAction::ClinicRename, now, target);
        scope.run(|row| {
            let (access, membership) = self.access(caller, id, ClinicAction::Manage)?;
            permit(access, Resource::Clinic)?;
            let current = granted(access, membership)?;
            let name = valid_name(name, shape_errors)?;
            if !self.clinics.rename(id, &name, row.for_change())? {
                return Err(ServiceError::NotFound(Resource::Clinic).into());
            }
            Ok(Membership {
                clinic: Clinic {
                    name: name.as_str().to_owned(),
                    ..current.clinic
                },
                ..current
            })
        })
    }

    /// One page of the members of a clinic the caller belongs to, by name.
    pub fn list_members(
        &self,
        caller: &Caller,
        id: ClinicId,
        page: Page,
    ) -> Result<PageOf<Member>, ServiceError> {
        let (access, membership) = self.access(caller, id, ClinicAction::ReadMembers)?;
        granted(access, membership)?;
        Ok(self.clinics.members(id, page)?)
    }

    /// Every clinic with its number of members, by id: staff and the operator only.
    pub fn all_clinics(
        &self,
        caller: &Caller,
        page: Page,
    ) -> Result<PageOf<(Clinic, u64)>, ServiceError> {
        if !caller.actor.oversees_all_records() {
            return Err(ServiceError::Forbidden);
        }
        Ok(self.clinics.list_all(page)?)
    }

    /// Any clinic's members, by name: staff and the operator only.
    pub fn members_of_any(
        &self,
        caller: &Caller,
        id: ClinicId,
        page: Page,
    ) -> Result<PageOf<Member>, ServiceError> {
        if !caller.actor.oversees_all_records() {
            return Err(ServiceError::Forbidden);
        }
        self.clinics
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Clinic))?;
        Ok(self.clinics.members(id, page)?)
    }

    /// What the caller's role in `id` allows for `action`, and their membership: a clinic they
    /// do not belong to is hidden.
    fn access(
        &self,
        caller: &Caller,
        id: ClinicId,
        action: ClinicAction,
    ) -> Result<(Access, Option<Membership>), ServiceError> {
        let membership = self.clinics.membership(id, caller.account()?)?;
        let access = membership
            .as_ref()
            .map_or(Access::Hidden, |m| clinic_permission(m.role, action));
        Ok((access, membership))
    }

    /// One page of the caller's clinics, personal first, then by name.
    pub fn list_clinics(
        &self,
        caller: &Caller,
        page: Page,
    ) -> Result<PageOf<Membership>, ServiceError> {
        Ok(self.clinics.memberships_of(caller.account()?, page)?)
    }

    /// The clinic the caller acts in. Tokens do not name one yet, and the contract has a token
    /// without a clinic act in the personal clinic, which every account has.
    pub fn active_clinic(&self, caller: &Caller) -> Result<Membership, ServiceError> {
        self.clinics
            .personal_membership(caller.account()?)?
            .ok_or_else(|| ServiceError::Internal("an account without its personal clinic".into()))
    }
}

/// The membership when `access` is granted; a hidden clinic is "not found".
fn granted(access: Access, membership: Option<Membership>) -> Result<Membership, ServiceError> {
    match (access, membership) {
        (Access::Granted, Some(membership)) => Ok(membership),
        (Access::Forbidden, _) => Err(ServiceError::Forbidden),
        _ => Err(ServiceError::NotFound(Resource::Clinic)),
    }
}

/// A clinic's name, required.
fn valid_name(
    name: Submitted<String>,
    mut errors: FieldErrors,
) -> Result<ClinicName, ServiceError> {
    let name = check_field(&mut errors, "name", name, true, WriteMode::Create, |raw| {
        ClinicName::parse(&raw)
    });
    match name {
        Some(name) if errors.is_empty() => Ok(name),
        _ => Err(ServiceError::Validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClinicRepository;
    use crate::services::tests::{FixedClock, RecordingTrail, at};
    use healthcare_domain::audit::{AuditOutcome, RequestOrigin};
    use healthcare_domain::clinic::Role;
    use healthcare_domain::staff::AuditTrailAccess;
    use healthcare_domain::{FieldProblem, UserId, access::Actor};
    use mockall::predicate::{always, eq};

    const CLINIC: ClinicId = ClinicId(70);

    fn membership(role: Role) -> Membership {
        Membership {
            clinic: Clinic {
                id: CLINIC,
                name: "North Clinic".into(),
                personal_owner: None,
                created_at: at(),
            },
            role,
            joined_at: at(),
        }
    }

    fn caller(user: i64) -> Caller {
        Caller {
            actor: Actor::RecordOwner(UserId(user)),
            audit_trail: AuditTrailAccess::Forbidden,
            origin: RequestOrigin::default(),
        }
    }

    fn service(clinics: MockClinicRepository) -> (ClinicService, Arc<RecordingTrail>) {
        let trail = RecordingTrail::shared();
        let service = ClinicService::new(Arc::new(clinics), trail.clone(), Arc::new(FixedClock));
        (service, trail)
    }

    fn member_of_clinic(user: i64, role: Option<Role>) -> MockClinicRepository {
        let mut clinics = MockClinicRepository::new();
        clinics
            .expect_membership()
            .with(eq(CLINIC), eq(UserId(user)))
            .returning(move |_, _| Ok(role.map(membership)));
        clinics
    }

    #[test]
    fn the_callers_own_clinics_are_listed() {
        let page = Page { number: 2, size: 5 };
        let mut clinics = MockClinicRepository::new();
        clinics
            .expect_memberships_of()
            .with(eq(UserId(7)), eq(page))
            .return_once(|_, _| {
                Ok(PageOf {
                    items: vec![membership(Role::Admin)],
                    total: 6,
                })
            });
        let (service, trail) = service(clinics);
        let found = service.list_clinics(&caller(7), page).expect("listed");
        assert_eq!(
            (found.items, found.total),
            (vec![membership(Role::Admin)], 6)
        );
        trail.assert_empty();
    }

    #[test]
    fn the_active_clinic_is_the_personal_one_and_the_operator_has_none() {
        let mut clinics = MockClinicRepository::new();
        clinics
            .expect_personal_membership()
            .with(eq(UserId(7)))
            .return_once(|_| Ok(Some(membership(Role::Admin))));
        let (service, _) = service(clinics);
        assert_eq!(
            service.active_clinic(&caller(7)),
            Ok(membership(Role::Admin))
        );
        let operator = Caller::operator(RequestOrigin::default());
        assert_eq!(
            service.list_clinics(
                &operator,
                Page {
                    number: 1,
                    size: 20
                }
            ),
            Err(ServiceError::Forbidden)
        );
    }

    #[test]
    fn a_clinic_is_created_with_a_valid_name_and_audited() {
        let mut clinics = MockClinicRepository::new();
        clinics
            .expect_create()
            .withf(|name, creator, when, event| {
                name.as_str() == "North Clinic"
                    && *creator == UserId(7)
                    && *when == at()
                    && event.action == AuditAction::ClinicCreate
            })
            .return_once(|_, _, _, _| Ok(membership(Role::Admin)));
        let (service, trail) = service(clinics);
        let created = service
            .create_clinic(
                &caller(7),
                Submitted::Given(" North Clinic ".into()),
                FieldErrors::new(),
            )
            .expect("created");
        assert_eq!(created, membership(Role::Admin));
        trail.assert_empty(); // the repository stored the row with the clinic
    }

    #[test]
    fn a_bad_name_creates_nothing_and_is_audited_as_a_failure() {
        let (service, trail) = service(MockClinicRepository::new());
        for (name, problem) in [
            (Submitted::Given(" ".to_owned()), FieldProblem::Blank),
            (Submitted::Absent, FieldProblem::Required),
            (
                Submitted::Given("x".repeat(101)),
                FieldProblem::TooLong { max: 100 },
            ),
        ] {
            let refused = service.create_clinic(&caller(7), name, FieldErrors::new());
            assert_eq!(
                refused,
                Err(ServiceError::Validation(FieldErrors::single(
                    "name", problem
                )))
            );
            assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);
        }
    }

    #[test]
    fn only_staff_and_the_operator_see_every_clinic() {
        let page = Page {
            number: 1,
            size: 100,
        };
        let mut clinics = MockClinicRepository::new();
        clinics.expect_list_all().with(eq(page)).returning(|_| {
            Ok(PageOf {
                items: vec![(membership(Role::Admin).clinic, 3)],
                total: 1,
            })
        });
        clinics
            .expect_find()
            .with(eq(CLINIC))
            .returning(|_| Ok(None));
        let (service, _) = service(clinics);
        let operator = Caller::operator(RequestOrigin::default());
        assert_eq!(service.all_clinics(&operator, page).map(|p| p.total), Ok(1));
        assert_eq!(
            service
                .members_of_any(&operator, CLINIC, page)
                .map(|p| p.total),
            Err(ServiceError::NotFound(Resource::Clinic))
        );
        assert_eq!(
            service.all_clinics(&caller(7), page).map(|p| p.total),
            Err(ServiceError::Forbidden)
        );
        assert_eq!(
            service
                .members_of_any(&caller(7), CLINIC, page)
                .map(|p| p.total),
            Err(ServiceError::Forbidden)
        );
    }

    #[test]
    fn members_see_a_clinic_others_do_not() {
        let mut clinics = member_of_clinic(7, Some(Role::Auditor));
        clinics
            .expect_membership()
            .with(eq(CLINIC), eq(UserId(8)))
            .returning(|_, _| Ok(None));
        clinics
            .expect_members()
            .with(eq(CLINIC), always())
            .returning(|_, _| {
                Ok(PageOf {
                    items: vec![],
                    total: 0,
                })
            });
        let (service, trail) = service(clinics);
        assert_eq!(
            service.get_clinic(&caller(7), CLINIC),
            Ok(membership(Role::Auditor))
        );
        assert!(
            service
                .list_members(
                    &caller(7),
                    CLINIC,
                    Page {
                        number: 1,
                        size: 20
                    }
                )
                .is_ok()
        );
        assert_eq!(
            service.get_clinic(&caller(8), CLINIC),
            Err(ServiceError::NotFound(Resource::Clinic))
        );
        assert_eq!(
            service
                .list_members(
                    &caller(8),
                    CLINIC,
                    Page {
                        number: 1,
                        size: 20
                    }
                )
                .map(|p| p.total),
            Err(ServiceError::NotFound(Resource::Clinic))
        );
        trail.assert_empty();
    }

    #[test]
    fn only_an_admin_renames_and_every_attempt_is_audited() {
        let name = || Submitted::Given("South Clinic".to_owned());
        for (role, expected, outcome) in [
            (
                None,
                Err(ServiceError::NotFound(Resource::Clinic)),
                AuditOutcome::Denied,
            ),
            (
                Some(Role::Clinician),
                Err(ServiceError::Forbidden),
                AuditOutcome::Denied,
            ),
            (
                Some(Role::Auditor),
                Err(ServiceError::Forbidden),
                AuditOutcome::Denied,
            ),
        ] {
            let (service, trail) = service(member_of_clinic(7, role));
            assert_eq!(
                service.rename_clinic(&caller(7), CLINIC, name(), FieldErrors::new()),
                expected,
                "{role:?}"
            );
            let row = trail.take_one();
            assert_eq!(
                (row.action, row.outcome, row.resource_id),
                (AuditAction::ClinicRename, outcome, Some(CLINIC.0))
            );
        }
        let mut clinics = member_of_clinic(7, Some(Role::Admin));
        clinics
            .expect_rename()
            .withf(|clinic, name, event| {
                *clinic == CLINIC
                    && name.as_str() == "South Clinic"
                    && event.resource_id == Some(CLINIC.0)
            })
            .return_once(|_, _, _| Ok(true));
        let (service, trail) = service(clinics);
        let renamed = service
            .rename_clinic(&caller(7), CLINIC, name(), FieldErrors::new())
            .expect("renamed");
        assert_eq!(renamed.clinic.name, "South Clinic");
        trail.assert_empty();
    }
}
