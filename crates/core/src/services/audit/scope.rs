//! The audit row of each use case: which record it is about, the refusals it records, and
//! the scope that writes exactly one row per use case.

use healthcare_domain::access::Access;
use healthcare_domain::audit::{AuditAction, AuditEvent, AuditOutcome, RequestOrigin};
use healthcare_domain::patient::PatientId;
use healthcare_domain::{Timestamp, UserId};

use crate::ports::AuditTrail;
use crate::{RepoError, Resource, ServiceError};

/// Turns the domain's answer about a record of kind `resource` into the use case's refusal:
/// a record the actor may not see is reported exactly like a missing one, but audited as a
/// denial.
pub(crate) fn permit(access: Access, resource: Resource) -> Result<(), Refusal> {
    match access {
        Access::Granted => Ok(()),
        Access::Absent => Err(ServiceError::NotFound(resource).into()),
        Access::Hidden => Err(Refusal::denied(ServiceError::NotFound(resource))),
        Access::Forbidden => Err(ServiceError::Forbidden.into()),
    }
}

/// Which record an event is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) resource_id: Option<i64>,
    pub(crate) patient_id: Option<PatientId>,
}

impl Target {
    /// No single record (a list, or a record not created yet).
    pub(crate) const NONE: Target = Target {
        resource_id: None,
        patient_id: None,
    };

    /// A patient record.
    pub(crate) fn patient(id: PatientId) -> Self {
        Self {
            resource_id: Some(id.0),
            patient_id: Some(id),
        }
    }

    /// Another record (a mapping, a user) touching `patient` when known.
    pub(crate) fn record(id: i64, patient: Option<PatientId>) -> Self {
        Self {
            resource_id: Some(id),
            patient_id: patient,
        }
    }
}

/// An event before its outcome is known.
pub(crate) fn event_of(
    actor: Option<UserId>,
    origin: &RequestOrigin,
    action: AuditAction,
    at: Timestamp,
    target: Target,
) -> AuditEvent {
    AuditEvent {
        at,
        actor,
        action,
        resource_id: target.resource_id,
        patient_id: target.patient_id,
        outcome: AuditOutcome::Success,
        origin: origin.clone(),
        break_glass: false,
    }
}

/// A refused or failed use case, with the outcome its audit row records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    pub(crate) error: ServiceError,
    pub(crate) outcome: AuditOutcome,
}

impl Refusal {
    /// Refused because of who asked (another owner's record, answered as if missing).
    pub(crate) fn denied(error: ServiceError) -> Self {
        Self {
            error,
            outcome: AuditOutcome::Denied,
        }
    }
}

impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Self {
        let outcome = match error {
            ServiceError::Forbidden
            | ServiceError::SecondFactorRequired
            | ServiceError::Throttled(_)
            | ServiceError::InvalidAccessToken
            | ServiceError::RefreshToken(_) => AuditOutcome::Denied,
            ServiceError::Validation(_)
            | ServiceError::NotFound(_)
            | ServiceError::Gone(_)
            | ServiceError::InvalidCredentials
            | ServiceError::PreconditionFailed
            | ServiceError::AlreadyVisible
            | ServiceError::Unavailable(_)
            | ServiceError::Internal(_) => AuditOutcome::Failure,
        };
        Self { error, outcome }
    }
}

impl From<RepoError> for Refusal {
    fn from(error: RepoError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<healthcare_domain::FieldErrors> for Refusal {
    fn from(errors: healthcare_domain::FieldErrors) -> Self {
        ServiceError::from(errors).into()
    }
}

/// The audit row of one use case: opened with who does what to which record, handed to the
/// repository while the work runs when a change stores it with its data, finished once with
/// the result. [`AuditScope::run`] consumes the scope, so a use case leaves exactly one row by
/// construction, not by each author's care.
#[must_use = "run the audit scope, or the use case leaves no row"]
pub(crate) struct AuditScope<'a> {
    trail: &'a dyn AuditTrail,
    row: ScopedRow,
}

/// The row of a running use case.
pub(crate) struct ScopedRow {
    event: AuditEvent,
    stored_by_change: bool,
    answered_as_missing: bool,
}

impl ScopedRow {
    /// The row, to note what the use case finds out (the record's patient, who signed in).
    pub(crate) fn event_mut(&mut self) -> &mut AuditEvent {
        &mut self.event
    }

    /// The row for a write that stores it with its change, in one transaction, when it
    /// succeeds; the scope then writes nothing more for a success.
    pub(crate) fn for_change(&mut self) -> &AuditEvent {
        self.stored_by_change = true;
        &self.event
    }

    /// A use case that answers as if a record the caller may not see did not exist (a list
    /// filtered by a hidden patient: empty) records a denial, as a refused read does.
    pub(crate) fn answer_as_missing(&mut self) {
        self.answered_as_missing = true;
    }

    /// A step whose success the next step records (signing in with a password, before the
    /// second factor): only a refusal is written.
    pub(crate) fn leave_success_to_next_step(&mut self) {
        self.stored_by_change = true;
    }
}

impl<'a> AuditScope<'a> {
    /// Opens the row `event` (outcome to be decided).
    pub(crate) fn new(trail: &'a dyn AuditTrail, event: AuditEvent) -> Self {
        Self {
            trail,
            row: ScopedRow {
                event,
                stored_by_change: false,
                answered_as_missing: false,
            },
        }
    }

    /// Runs the use case with its row, then records the outcome: a success unless a change
    /// stored it already, or the refusal (saying whether it was a denial). A row the trail
    /// cannot take fails the use case, so nothing is answered that was not recorded.
    pub(crate) fn run<T>(
        mut self,
        work: impl FnOnce(&mut ScopedRow) -> Result<T, Refusal>,
    ) -> Result<T, ServiceError> {
        let result = work(&mut self.row);
        let outcome = match &result {
            Ok(_) if self.row.stored_by_change => None,
            Ok(_) if self.row.answered_as_missing => Some(AuditOutcome::Denied),
            Ok(_) => Some(AuditOutcome::Success),
            Err(refusal) => Some(refusal.outcome),
        };
        if let Some(outcome) = outcome {
            self.trail.record(AuditEvent {
                outcome,
                ..self.row.event
            })?;
        }
        result.map_err(|refusal| refusal.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::tests::{RecordingTrail, at, origin};

    fn opened() -> AuditEvent {
        event_of(
            Some(UserId(7)),
            &origin(),
            AuditAction::PatientUpdate,
            at(),
            Target::patient(PatientId(1)),
        )
    }

    fn with_outcome(outcome: AuditOutcome) -> AuditEvent {
        AuditEvent {
            outcome,
            ..opened()
        }
    }

    #[test]
    fn a_use_case_that_changes_nothing_leaves_its_row_whatever_the_outcome() {
        let trail = RecordingTrail::shared();
        let done = AuditScope::new(trail.as_ref(), opened()).run(|_| Ok(3));
        assert_eq!(done, Ok(3));
        assert_eq!(trail.take_one(), with_outcome(AuditOutcome::Success));

        let refused: Result<(), _> = AuditScope::new(trail.as_ref(), opened())
            .run(|_| Err(Refusal::denied(ServiceError::NotFound(Resource::Patient))));
        assert_eq!(refused, Err(ServiceError::NotFound(Resource::Patient)));
        assert_eq!(trail.take_one(), with_outcome(AuditOutcome::Denied));
    }

    #[test]
    fn a_change_that_stored_its_row_leaves_no_second_one_and_a_failed_one_leaves_its_refusal() {
        let trail = RecordingTrail::shared();
        let mut handed = None;
        let done = AuditScope::new(trail.as_ref(), opened()).run(|row| {
            row.event_mut().patient_id = Some(PatientId(2));
            handed = Some(row.for_change().clone());
            Ok(())
        });
        assert_eq!(done, Ok(()));
        trail.assert_empty();
        assert_eq!(
            handed.map(|event| event.patient_id),
            Some(Some(PatientId(2))),
            "the write gets what the use case learnt"
        );

        let refused: Result<(), _> = AuditScope::new(trail.as_ref(), opened()).run(|row| {
            row.for_change();
            Err(ServiceError::PreconditionFailed.into())
        });
        assert_eq!(refused, Err(ServiceError::PreconditionFailed));
        assert_eq!(trail.take_one(), with_outcome(AuditOutcome::Failure));
    }

    #[test]
    fn a_first_step_leaves_its_success_to_the_next_one() {
        let trail = RecordingTrail::shared();
        let done = AuditScope::new(trail.as_ref(), opened()).run(|row| {
            row.leave_success_to_next_step();
            Ok(())
        });
        assert_eq!(done, Ok(()));
        trail.assert_empty();
    }

    #[test]
    fn refusals_record_why() {
        let cases = [
            (ServiceError::Forbidden, AuditOutcome::Denied),
            (ServiceError::InvalidCredentials, AuditOutcome::Failure),
            (
                ServiceError::NotFound(Resource::Patient),
                AuditOutcome::Failure,
            ),
        ];
        for (error, outcome) in cases {
            assert_eq!(Refusal::from(error).outcome, outcome);
        }
        assert_eq!(
            permit(Access::Hidden, Resource::Patient),
            Err(Refusal::denied(ServiceError::NotFound(Resource::Patient)))
        );
        assert_eq!(
            permit(Access::Absent, Resource::Doctor),
            Err(Refusal::from(ServiceError::NotFound(Resource::Doctor)))
        );
        assert_eq!(
            permit(Access::Forbidden, Resource::Doctor),
            Err(Refusal::from(ServiceError::Forbidden))
        );
        assert_eq!(permit(Access::Granted, Resource::Doctor), Ok(()));
    }
}
