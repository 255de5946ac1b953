//! The clinics a caller belongs to.

use std::sync::Arc;

use healthcare_domain::access::Access;
use healthcare_domain::audit::{AuditAction, AuditRecord};
use healthcare_domain::break_glass::Grant;
use healthcare_domain::clinic::{
    Clinic, ClinicAction, ClinicId, ClinicName, INVITATION_DAYS, Invitation, InvitationToken,
    Member, Membership, NewInvitation, Role, clinic_permission,
};
use healthcare_domain::fields::{Submitted, WriteMode, check_field};
use healthcare_domain::user::{Email, normalize_email};
use healthcare_domain::{FieldErrors, FieldProblem, UserId};

use crate::ports::{
    AuditFilter, AuditRepository, AuditTrail, BreakGlassRepository, ClinicRepository, Clock,
    MemberChange, RandomSource, UserRepository,
};
use crate::services::Caller;
use crate::services::audit::{Target, permit};
use crate::{Page, PageOf, Resource, ServiceError};

/// What clinic use cases need.
pub struct ClinicPorts {
    /// Clinics, members and invitations.
    pub clinics: Arc<dyn ClinicRepository>,
    /// Accounts (an invitee's e-mail address).
    pub users: Arc<dyn UserRepository>,
    /// Invitation tokens.
    pub random: Arc<dyn RandomSource>,
    /// Where audit rows go.
    pub trail: Arc<dyn AuditTrail>,
    /// The stored trail, for a clinic's own view of it.
    pub audit: Arc<dyn AuditRepository>,
    /// Break-glass grants, for a clinic's log.
    pub grants: Arc<dyn BreakGlassRepository>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// An invitation as submitted.
#[derive(Debug, Default)]
pub struct InvitationInput {
    /// The invitee's e-mail address.
    pub email: Submitted<String>,
    /// The role they get.
    pub role: Submitted<String>,
}

/// Clinic use cases. Reading one's clinics and their members is not patient data and leaves
/// no audit row; creating, renaming, inviting and joining do.
pub struct ClinicService {
    clinics: Arc<dyn ClinicRepository>,
    users: Arc<dyn UserRepository>,
    random: Arc<dyn RandomSource>,
    trail: Arc<dyn AuditTrail>,
    audit: Arc<dyn AuditRepository>,
    grants: Arc<dyn BreakGlassRepository>,
    clock: Arc<dyn Clock>,
}

impl ClinicService {
    /// The use cases over `ports`.
    pub fn new(ports: ClinicPorts) -> Self {
        Self {
            clinics: ports.clinics,
            users: ports.users,
            random: ports.random,
            trail: ports.trail,
            audit: ports.audit,
            grants: ports.grants,
            clock: ports.clock,
        }
    }

    /// Invites an e-mail address to a shared clinic the caller is an admin of (a personal
    /// clinic has no other members), with a role. Returns the invitation and its token, which
    /// is stored only hashed: hand it over out of band. The answer is the same whether the
    /// address has an account or not.
    pub fn invite(
        &self,
        caller: &Caller,
        id: ClinicId,
        input: InvitationInput,
        mut errors: FieldErrors,
    ) -> Result<(Invitation, InvitationToken), ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(self.trail.as_ref(), AuditAction::ClinicInvite, now, target);
        scope.run(|row| {
            let (access, membership) = self.access(caller, id, ClinicAction::Manage)?;
            permit(access, Resource::Clinic)?;
            if !granted(access, membership)?.clinic.takes_members() {
                return Err(membership_problem(FieldProblem::PersonalClinicIsPrivate).into());
            }
            let mode = WriteMode::Create;
            let email = check_field(&mut errors, "email", input.email, true, mode, Email::parse);
            let role = check_field(&mut errors, "role", input.role, true, mode, |raw| {
                Role::parse(&raw)
            });
            let (Some(email), Some(role)) = (email, role) else {
                return Err(ServiceError::Validation(errors).into());
            };
            if !errors.is_empty() {
                return Err(ServiceError::Validation(errors).into());
            }
            let mut secret = [0_u8; 32];
            self.random.fill(&mut secret)?;
            let token = InvitationToken::from_random(secret);
            let invitation = NewInvitation {
                clinic: id,
                email,
                role,
                token_hash: token.hash(),
                invited_by: caller.account()?,
                created_at: now,
                expires_at: now + chrono::Duration::days(INVITATION_DAYS),
            };
            let stored = self.clinics.invite(&invitation, row.for_change())?;
            Ok((stored, token))
        })
    }

    /// Joins the clinic of the invitation `token`, which must be for the caller's e-mail
    /// address, unspent and not expired (anything else: the same "invalid or expired").
    pub fn accept_invitation(
        &self,
        caller: &Caller,
        token: Submitted<String>,
        mut errors: FieldErrors,
    ) -> Result<Membership, ServiceError> {
        let now = self.clock.now();
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::ClinicJoin,
            now,
            Target::NONE,
        );
        scope.run(|row| {
            let user = caller.account()?;
            let token = check_field(&mut errors, "token", token, true, WriteMode::Create, Ok);
            let Some(token) = token.filter(|_| errors.is_empty()) else {
                return Err(ServiceError::Validation(errors).into());
            };
            let account = self
                .users
                .find_by_id(user)?
                .ok_or(ServiceError::InvalidAccessToken)?;
            let accepted = self.clinics.accept_invitation(
                &InvitationToken::hash_of(&token),
                user,
                &normalize_email(&account.email),
                now,
                row.for_change(),
            )?;
            accepted.ok_or_else(|| {
                ServiceError::Validation(FieldErrors::single(
                    "token",
                    FieldProblem::InvalidInvitation,
                ))
                .into()
            })
        })
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

    /// Gives a member another role (the clinic's admins only). The personal clinic's owner stays
    /// its admin, and a clinic keeps at least one admin.
    pub fn change_member_role(
        &self,
        caller: &Caller,
        id: ClinicId,
        member: UserId,
        role: Submitted<String>,
        mut errors: FieldErrors,
    ) -> Result<Member, ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::ClinicMemberUpdate,
            now,
            target,
        );
        scope.run(|row| {
            let (access, membership) = self.access(caller, id, ClinicAction::Manage)?;
            permit(access, Resource::Clinic)?;
            let clinic = granted(access, membership)?.clinic;
            let role = check_field(&mut errors, "role", role, true, WriteMode::Create, |raw| {
                Role::parse(&raw)
            });
            let Some(role) = role.filter(|_| errors.is_empty()) else {
                return Err(ServiceError::Validation(errors).into());
            };
            if clinic.personal_owner == Some(member) && role != Role::Admin {
                return Err(membership_problem(FieldProblem::PersonalClinicOwner).into());
            }
            match self
                .clinics
                .change_role(id, member, role, row.for_change())?
            {
                MemberChange::Done(Some(changed)) => Ok(changed),
                MemberChange::Done(None) | MemberChange::NotMember => {
                    Err(ServiceError::NotFound(Resource::ClinicMember).into())
                }
                MemberChange::LastAdmin => Err(membership_problem(FieldProblem::LastAdmin).into()),
            }
        })
    }

    /// Ends a membership: an admin removes a member, or a member leaves. The personal clinic's
    /// owner never leaves it, and a clinic keeps at least one admin.
    pub fn remove_member(
        &self,
        caller: &Caller,
        id: ClinicId,
        member: UserId,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::ClinicMemberRemove,
            now,
            target,
        );
        scope.run(|row| {
            let leaving = caller.account()? == member;
            let action = if leaving {
                ClinicAction::ReadMembers
            } else {
                ClinicAction::Manage
            };
            let (access, membership) = self.access(caller, id, action)?;
            permit(access, Resource::Clinic)?;
            let clinic = granted(access, membership)?.clinic;
            if clinic.personal_owner == Some(member) {
                return Err(membership_problem(FieldProblem::PersonalClinicOwner).into());
            }
            match self.clinics.remove_member(id, member, row.for_change())? {
                MemberChange::Done(_) => Ok(()),
                MemberChange::NotMember => {
                    Err(ServiceError::NotFound(Resource::ClinicMember).into())
                }
                MemberChange::LastAdmin => Err(membership_problem(FieldProblem::LastAdmin).into()),
            }
        })
    }

    /// A clinic, whoever's: staff and the operator only.
    pub fn clinic_for_staff(&self, caller: &Caller, id: ClinicId) -> Result<Clinic, ServiceError> {
        staff_only(caller)?;
        self.clinics
            .find(id)?
            .ok_or(ServiceError::NotFound(Resource::Clinic))
    }

    /// Ends a member's access as platform staff (the admin site), under the rules of a removal:
    /// the personal clinic's owner stays, and a clinic keeps an admin.
    pub fn end_access(
        &self,
        caller: &Caller,
        id: ClinicId,
        member: UserId,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let target = Target::record(id.0, None);
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::ClinicMemberRemove,
            now,
            target,
        );
        scope.run(|row| {
            staff_only(caller)?;
            let clinic = self
                .clinics
                .find(id)?
                .ok_or(ServiceError::NotFound(Resource::Clinic))?;
            if clinic.personal_owner == Some(member) {
                return Err(membership_problem(FieldProblem::PersonalClinicOwner).into());
            }
            match self.clinics.remove_member(id, member, row.for_change())? {
                MemberChange::Done(_) => Ok(()),
                MemberChange::NotMember => {
                    Err(ServiceError::NotFound(Resource::ClinicMember).into())
                }
                MemberChange::LastAdmin => Err(membership_problem(FieldProblem::LastAdmin).into()),
            }
        })
    }

    /// Every clinic with its number of members, by id: staff and the operator only.
    pub fn all_clinics(
        &self,
        caller: &Caller,
        page: Page,
    ) -> Result<PageOf<(Clinic, u64)>, ServiceError> {
        staff_only(caller)?;
        Ok(self.clinics.list_all(page)?)
    }

    /// Any clinic's members, by name: staff and the operator only.
    pub fn members_of_any(
        &self,
        caller: &Caller,
        id: ClinicId,
        page: Page,
    ) -> Result<PageOf<Member>, ServiceError> {
        staff_only(caller)?;
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

    /// One page of the audit rows about a clinic (its patients, members and settings), newest
    /// first, for its admins and auditors; `parsed` is the request's filter as read, whose
    /// problems are reported only to them. The reading is itself recorded.
    pub fn clinic_audit(
        &self,
        caller: &Caller,
        id: ClinicId,
        parsed: Result<AuditFilter, ServiceError>,
        page: Page,
    ) -> Result<PageOf<AuditRecord>, ServiceError> {
        let now = self.clock.now();
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::AuditRead,
            now,
            Target::NONE,
        );
        scope.run(|_| {
            let (access, membership) = self.access(caller, id, ClinicAction::ReadAudit)?;
            granted(access, membership)?;
            let filter = AuditFilter {
                clinic: Some(id),
                ..parsed?
            };
            Ok(self.audit.list(&filter, page)?)
        })
    }

    /// One page of a clinic's break-glass grants, newest first, for its admins and auditors.
    /// The reading is recorded like a reading of the trail.
    pub fn break_glass_log(
        &self,
        caller: &Caller,
        id: ClinicId,
        page: Page,
    ) -> Result<PageOf<Grant>, ServiceError> {
        let now = self.clock.now();
        let scope = caller.audit(
            self.trail.as_ref(),
            AuditAction::AuditRead,
            now,
            Target::NONE,
        );
        scope.run(|_| {
            let (access, membership) = self.access(caller, id, ClinicAction::ReadAudit)?;
            granted(access, membership)?;
            Ok(self.grants.log(id, page)?)
        })
    }

    /// One page of the caller's clinics, personal first, then by name.
    pub fn list_clinics(
        &self,
        caller: &Caller,
        page: Page,
    ) -> Result<PageOf<Membership>, ServiceError> {
        Ok(self.clinics.memberships_of(caller.account()?, page)?)
    }
}

/// Platform staff and the operator pass; anyone else is refused.
fn staff_only(caller: &Caller) -> Result<(), ServiceError> {
    if caller.actor.oversees_all_records() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
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

/// A refused membership change, as the contract words it: not about one field.
fn membership_problem(problem: FieldProblem) -> ServiceError {
    ServiceError::Validation(FieldErrors::single("non_field_errors", problem))
}

/// A clinic's name, required.
fn valid_name(
    name: Submitted<String>,
    mut errors: FieldErrors,
) -> Result<ClinicName, ServiceError> {
    let name = check_field(
        &mut errors,
        "name",
        name,
        true,
        WriteMode::Create,
        ClinicName::parse,
    );
    match name {
        Some(name) if errors.is_empty() => Ok(name),
        _ => Err(ServiceError::Validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{
        MockAuditRepository, MockBreakGlassRepository, MockClinicRepository, MockUserRepository,
    };
    use crate::services::tests::{FixedClock, RecordingTrail, at};
    use healthcare_domain::audit::{AuditOutcome, RequestOrigin};
    use healthcare_domain::clinic::Role;
    use healthcare_domain::{FieldProblem, UserId};
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
            origin: RequestOrigin::default(),
            ..crate::services::tests::caller(UserId(user))
        }
    }

    fn service(clinics: MockClinicRepository) -> (ClinicService, Arc<RecordingTrail>) {
        service_with(clinics, MockUserRepository::new())
    }

    /// Fills every buffer with 7s.
    struct Sevens;

    impl RandomSource for Sevens {
        fn fill(&self, buffer: &mut [u8]) -> Result<(), ServiceError> {
            buffer.fill(7);
            Ok(())
        }
    }

    fn service_with(
        clinics: MockClinicRepository,
        users: MockUserRepository,
    ) -> (ClinicService, Arc<RecordingTrail>) {
        service_reading(
            clinics,
            users,
            MockAuditRepository::new(),
            MockBreakGlassRepository::new(),
        )
    }

    fn service_reading(
        clinics: MockClinicRepository,
        users: MockUserRepository,
        audit: MockAuditRepository,
        grants: MockBreakGlassRepository,
    ) -> (ClinicService, Arc<RecordingTrail>) {
        let trail = RecordingTrail::shared();
        let service = ClinicService::new(ClinicPorts {
            clinics: Arc::new(clinics),
            users: Arc::new(users),
            random: Arc::new(Sevens),
            trail: trail.clone(),
            audit: Arc::new(audit),
            grants: Arc::new(grants),
            clock: Arc::new(FixedClock),
        });
        (service, trail)
    }

    #[test]
    fn a_clinics_audit_trail_and_break_glass_log_are_for_its_admins_and_auditors() {
        let page = Page {
            number: 1,
            size: 20,
        };
        let cases = [
            (Some(Role::Admin), Ok(())),
            (Some(Role::Auditor), Ok(())),
            (Some(Role::Clinician), Err(ServiceError::Forbidden)),
            (Some(Role::FrontDesk), Err(ServiceError::Forbidden)),
            (None, Err(ServiceError::NotFound(Resource::Clinic))),
        ];
        for (role, expected) in cases {
            let reads = usize::from(expected.is_ok());
            let mut audit = MockAuditRepository::new();
            audit
                .expect_list()
                .withf(|filter, _| filter.clinic == Some(CLINIC) && filter.actor == Some(UserId(4)))
                .times(reads)
                .returning(|_, _| Ok(PageOf::empty()));
            let mut grants = MockBreakGlassRepository::new();
            grants
                .expect_log()
                .with(eq(CLINIC), eq(page))
                .times(reads)
                .returning(|_, _| Ok(PageOf::empty()));
            let (service, trail) = service_reading(
                member_of_clinic(7, role),
                MockUserRepository::new(),
                audit,
                grants,
            );
            let filter = AuditFilter {
                actor: Some(UserId(4)),
                clinic: Some(ClinicId(999)),
                ..AuditFilter::default()
            };
            let read = service.clinic_audit(&caller(7), CLINIC, Ok(filter), page);
            assert_eq!(read.map(|_| ()), expected.clone(), "{role:?}");
            let row = trail.take_one();
            assert_eq!(row.action, AuditAction::AuditRead);
            assert_eq!(
                service
                    .break_glass_log(&caller(7), CLINIC, page)
                    .map(|_| ()),
                expected.clone(),
                "{role:?}"
            );
            assert_eq!(trail.take_one().action, AuditAction::AuditRead);
            // A malformed filter is reported only to whoever may read the trail.
            let malformed =
                ServiceError::Validation(FieldErrors::single("since", FieldProblem::NotADateTime));
            let refused = service.clinic_audit(&caller(7), CLINIC, Err(malformed.clone()), page);
            assert_eq!(
                refused.map(|_| ()),
                Err(expected.err().unwrap_or(malformed))
            );
            trail.take_one();
        }
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
    fn staff_end_a_members_access_under_the_same_rules() {
        let mut clinics = MockClinicRepository::new();
        clinics
            .expect_find()
            .with(eq(CLINIC))
            .returning(|_| Ok(Some(membership(Role::Admin).clinic)));
        clinics
            .expect_remove_member()
            .with(eq(CLINIC), eq(UserId(8)), always())
            .return_once(|_, _, _| Ok(MemberChange::Done(None)));
        clinics
            .expect_remove_member()
            .with(eq(CLINIC), eq(UserId(9)), always())
            .return_once(|_, _, _| Ok(MemberChange::LastAdmin));
        let (service, trail) = service(clinics);
        let staff = Caller::operator(RequestOrigin::default());
        assert_eq!(service.end_access(&staff, CLINIC, UserId(8)), Ok(()));
        assert_eq!(
            service.end_access(&staff, CLINIC, UserId(9)),
            Err(ServiceError::Validation(FieldErrors::single(
                "non_field_errors",
                FieldProblem::LastAdmin
            )))
        );
        assert_eq!(
            trail.take().len(),
            1,
            "the refusal's row; the removal stored its own"
        );
        assert_eq!(
            service.end_access(&caller(7), CLINIC, UserId(8)),
            Err(ServiceError::Forbidden)
        );
    }

    #[test]
    fn the_operator_belongs_to_no_clinic() {
        let (service, _) = service(MockClinicRepository::new());
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
            service.clinic_for_staff(&caller(7), CLINIC).map(|c| c.id),
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
    fn an_admin_invites_with_a_role_and_gets_the_token_once() {
        let mut clinics = member_of_clinic(7, Some(Role::Admin));
        let expected_hash = InvitationToken::from_random([7; 32]).hash();
        clinics
            .expect_invite()
            .withf(move |invitation, event| {
                invitation.clinic == CLINIC
                    && invitation.email.as_str() == "bob@example.com"
                    && invitation.role == Role::Clinician
                    && invitation.token_hash == expected_hash
                    && invitation.invited_by == UserId(7)
                    && invitation.expires_at == at() + chrono::Duration::days(7)
                    && event.action == AuditAction::ClinicInvite
            })
            .return_once(|invitation, _| {
                Ok(Invitation {
                    id: 1,
                    clinic: invitation.clinic,
                    email: invitation.email.as_str().to_owned(),
                    role: invitation.role,
                    expires_at: invitation.expires_at,
                })
            });
        let (service, trail) = service(clinics);
        let input = InvitationInput {
            email: Submitted::Given("bob@example.com".into()),
            role: Submitted::Given("clinician".into()),
        };
        let (invitation, token) = service
            .invite(&caller(7), CLINIC, input, FieldErrors::new())
            .expect("invited");
        assert_eq!(token.as_str(), "07".repeat(32));
        assert_eq!(invitation.role, Role::Clinician);
        trail.assert_empty();
    }

    #[test]
    fn nobody_is_invited_to_a_personal_clinic() {
        let (service, trail) = service(personal_clinic_of(7));
        let input = InvitationInput {
            email: Submitted::Given("bob@example.com".into()),
            role: Submitted::Given("admin".into()),
        };
        assert_eq!(
            service
                .invite(&caller(7), CLINIC, input, FieldErrors::new())
                .map(|_| ()),
            Err(ServiceError::Validation(FieldErrors::single(
                "non_field_errors",
                FieldProblem::PersonalClinicIsPrivate
            )))
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);
    }

    #[test]
    fn invitations_need_an_admin_and_valid_fields() {
        let input = || InvitationInput {
            email: Submitted::Given("not-an-email".into()),
            role: Submitted::Given("owner".into()),
        };
        let (admin_service, trail) = service(member_of_clinic(7, Some(Role::Admin)));
        let mut expected = FieldErrors::new();
        expected.add("email", FieldProblem::InvalidEmail);
        expected.add(
            "role",
            FieldProblem::InvalidChoice {
                given: "owner".into(),
            },
        );
        assert_eq!(
            admin_service
                .invite(&caller(7), CLINIC, input(), FieldErrors::new())
                .map(|_| ()),
            Err(ServiceError::Validation(expected))
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);
        for (role, expected) in [
            (Some(Role::Clinician), ServiceError::Forbidden),
            (None, ServiceError::NotFound(Resource::Clinic)),
        ] {
            let (member_service, trail) = service(member_of_clinic(7, role));
            assert_eq!(
                member_service
                    .invite(&caller(7), CLINIC, input(), FieldErrors::new())
                    .map(|_| ()),
                Err(expected)
            );
            assert_eq!(trail.take_one().outcome, AuditOutcome::Denied);
        }
    }

    #[test]
    fn an_invitation_is_accepted_for_the_callers_own_address_only() {
        let user = |email: &str| healthcare_domain::User {
            id: UserId(8),
            name: "Bob".into(),
            email: email.into(),
            is_active: true,
            is_staff: false,
            created_at: at(),
            tokens_valid_after: None,
        };
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .with(eq(UserId(8)))
            .returning(move |_| Ok(Some(user("Bob@Example.com"))));
        let mut clinics = MockClinicRepository::new();
        let hash = InvitationToken::hash_of("secret");
        clinics
            .expect_accept_invitation()
            .withf(move |token_hash, who, email, when, _| {
                token_hash == hash
                    && *who == UserId(8)
                    && email == "bob@example.com"
                    && *when == at()
            })
            .return_once(|_, _, _, _, _| Ok(Some(membership(Role::Clinician))));
        clinics
            .expect_accept_invitation()
            .returning(|_, _, _, _, _| Ok(None));
        let (service, trail) = service_with(clinics, users);
        assert_eq!(
            service.accept_invitation(
                &caller(8),
                Submitted::Given("secret".into()),
                FieldErrors::new()
            ),
            Ok(membership(Role::Clinician))
        );
        trail.assert_empty();
        assert_eq!(
            service.accept_invitation(
                &caller(8),
                Submitted::Given("spent".into()),
                FieldErrors::new()
            ),
            Err(ServiceError::Validation(FieldErrors::single(
                "token",
                FieldProblem::InvalidInvitation
            )))
        );
        assert_eq!(trail.take_one().outcome, AuditOutcome::Failure);
    }

    fn personal_clinic_of(owner: i64) -> MockClinicRepository {
        let mut clinics = MockClinicRepository::new();
        clinics.expect_membership().returning(move |_, user| {
            let mut found = membership(Role::Admin);
            found.clinic.personal_owner = Some(UserId(owner));
            Ok((user == UserId(owner)).then_some(found))
        });
        clinics
    }

    #[test]
    fn the_personal_clinics_owner_neither_leaves_nor_is_demoted() {
        let refused = Err(ServiceError::Validation(FieldErrors::single(
            "non_field_errors",
            FieldProblem::PersonalClinicOwner,
        )));
        let (service, trail) = service(personal_clinic_of(7));
        assert_eq!(
            service.remove_member(&caller(7), CLINIC, UserId(7)),
            refused.clone().map(|_: Member| ())
        );
        assert_eq!(
            service
                .change_member_role(
                    &caller(7),
                    CLINIC,
                    UserId(7),
                    Submitted::Given("auditor".into()),
                    FieldErrors::new()
                )
                .map(|_| ()),
            refused.map(|_: Member| ())
        );
        assert_eq!(trail.take().len(), 2, "both refusals audited");
    }

    #[test]
    fn role_changes_and_removals_follow_the_rules() {
        let mut clinics = member_of_clinic(7, Some(Role::Admin));
        clinics
            .expect_change_role()
            .with(eq(CLINIC), eq(UserId(8)), eq(Role::Auditor), always())
            .return_once(|_, _, _, _| Ok(MemberChange::LastAdmin));
        clinics
            .expect_remove_member()
            .with(eq(CLINIC), eq(UserId(9)), always())
            .return_once(|_, _, _| Ok(MemberChange::NotMember));
        let (admin_service, trail) = service(clinics);
        assert_eq!(
            admin_service
                .change_member_role(
                    &caller(7),
                    CLINIC,
                    UserId(8),
                    Submitted::Given("auditor".into()),
                    FieldErrors::new()
                )
                .map(|_| ()),
            Err(ServiceError::Validation(FieldErrors::single(
                "non_field_errors",
                FieldProblem::LastAdmin
            )))
        );
        assert_eq!(
            admin_service.remove_member(&caller(7), CLINIC, UserId(9)),
            Err(ServiceError::NotFound(Resource::ClinicMember))
        );
        assert_eq!(trail.take().len(), 2);
        // A clinician may leave, but not remove someone else.
        let mut clinics = member_of_clinic(8, Some(Role::Clinician));
        clinics
            .expect_remove_member()
            .with(eq(CLINIC), eq(UserId(8)), always())
            .return_once(|_, _, _| Ok(MemberChange::Done(None)));
        let (clinician_service, _) = service(clinics);
        assert_eq!(
            clinician_service.remove_member(&caller(8), CLINIC, UserId(8)),
            Ok(())
        );
        assert_eq!(
            clinician_service.remove_member(&caller(8), CLINIC, UserId(9)),
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
