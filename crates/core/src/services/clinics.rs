//! The clinics a caller belongs to.

use std::sync::Arc;

use healthcare_domain::clinic::Membership;

use crate::ports::ClinicRepository;
use crate::services::Caller;
use crate::{Page, PageOf, ServiceError};

/// Clinic use cases. Reading one's own clinics is not patient data: it leaves no audit row.
pub struct ClinicService {
    clinics: Arc<dyn ClinicRepository>,
}

impl ClinicService {
    /// The use cases over `clinics`.
    pub fn new(clinics: Arc<dyn ClinicRepository>) -> Self {
        Self { clinics }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClinicRepository;
    use chrono::TimeZone;
    use healthcare_domain::UserId;
    use healthcare_domain::access::Actor;
    use healthcare_domain::audit::RequestOrigin;
    use healthcare_domain::clinic::{Clinic, ClinicId, Role};
    use healthcare_domain::staff::AuditTrailAccess;
    use mockall::predicate::eq;

    fn personal(user: i64) -> Membership {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 10, 0, 0)
            .single()
            .expect("valid");
        Membership {
            clinic: Clinic {
                id: ClinicId(user * 10),
                name: "Ann Lee".into(),
                personal_owner: Some(UserId(user)),
                created_at: at,
            },
            role: Role::Admin,
            joined_at: at,
        }
    }

    fn caller(user: i64) -> Caller {
        Caller {
            actor: Actor::RecordOwner(UserId(user)),
            audit_trail: AuditTrailAccess::Forbidden,
            origin: RequestOrigin::default(),
        }
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
                    items: vec![personal(7)],
                    total: 6,
                })
            });
        let found = ClinicService::new(Arc::new(clinics))
            .list_clinics(&caller(7), page)
            .expect("listed");
        assert_eq!((found.items, found.total), (vec![personal(7)], 6));
    }

    #[test]
    fn the_active_clinic_is_the_personal_one_and_the_operator_has_none() {
        let mut clinics = MockClinicRepository::new();
        clinics
            .expect_personal_membership()
            .with(eq(UserId(7)))
            .return_once(|_| Ok(Some(personal(7))));
        let service = ClinicService::new(Arc::new(clinics));
        assert_eq!(service.active_clinic(&caller(7)), Ok(personal(7)));
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
}
