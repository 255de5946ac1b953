//! Clinics, their members' roles, and what each role may do inside its clinic: the contract's
//! role table ("Clinics, roles and care teams"), as data and one function per kind of thing
//! acted on. Whether a record belongs to the member's clinic at all is decided before these
//! are asked: another clinic's record is hidden from every role.

use std::fmt;

use crate::decision::Access;
use crate::errors::FieldProblem;
use crate::user::parse_bounded_text;
use crate::{Timestamp, UserId};

/// A clinic's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClinicId(pub i64);

/// A clinic's name: 1 to 100 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicName(String);

impl ClinicName {
    /// Most characters a name may have.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks a name.
    pub fn parse(raw: impl Into<String>) -> Result<Self, FieldProblem> {
        parse_bounded_text(raw, Self::MAX_CHARS).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ClinicName {
    /// The name of `user_name`'s personal clinic: their name, cut to the longest a clinic's
    /// name may be.
    pub fn personal_for(user_name: &str) -> Self {
        let cut: String = user_name.trim().chars().take(Self::MAX_CHARS).collect();
        Self(cut.trim_end().to_owned())
    }
}

/// The part of one clinic's patients a member sees, for lists: the whole clinic, or a
/// clinician's care team as it stands at `at` (grants expire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClinicScope {
    /// The clinic.
    pub clinic: ClinicId,
    /// Only the care team of this clinician: patients they registered, those with an active
    /// mapping to a doctor linked to them, those of their grants running at `at`.
    pub care_team_of: Option<(UserId, Timestamp)>,
}

/// A clinic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clinic {
    /// Its id.
    pub id: ClinicId,
    /// Its name.
    pub name: String,
    /// The account whose personal clinic it is; `None` for a shared clinic.
    pub personal_owner: Option<UserId>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Clinic {
    /// Whether others may join: a personal clinic has no member but its owner (their patients
    /// are theirs alone).
    pub fn takes_members(&self) -> bool {
        self.personal_owner.is_none()
    }
}

/// A user's place in a clinic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The clinic.
    pub clinic: Clinic,
    /// The member's role there.
    pub role: Role,
    /// When they joined.
    pub joined_at: Timestamp,
}

/// A member of a clinic, as its member list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The account.
    pub user: UserId,
    /// Its name.
    pub name: String,
    /// Its e-mail address.
    pub email: String,
    /// The role in the clinic.
    pub role: Role,
    /// When they joined.
    pub joined_at: Timestamp,
}

/// How long an invitation can be accepted.
pub const INVITATION_DAYS: i64 = 7;

/// The secret of an invitation: handed to the invitee once, out of band; only its hash is
/// stored.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl InvitationToken {
    /// A token from 32 unpredictable bytes (64 hex digits).
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// The token's text, to hand over.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up: the SHA-256 of the token's text, in hex.
    pub fn hash(&self) -> String {
        Self::hash_of(&self.0)
    }

    /// The stored form of a token someone presents.
    pub fn hash_of(presented: &str) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(presented.trim().as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(…)")
    }
}

/// An invitation to join a clinic, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its id.
    pub id: i64,
    /// The clinic to join.
    pub clinic: ClinicId,
    /// The invited e-mail address, as given.
    pub email: String,
    /// The role the invitee gets.
    pub role: Role,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// An invitation about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    /// The clinic to join.
    pub clinic: ClinicId,
    /// The invited address.
    pub email: crate::user::Email,
    /// The role the invitee gets.
    pub role: Role,
    /// The token's stored form ([`InvitationToken::hash`]).
    pub token_hash: String,
    /// Who invited.
    pub invited_by: UserId,
    /// When.
    pub created_at: Timestamp,
    /// When it stops being accepted (`created_at` + [`INVITATION_DAYS`]).
    pub expires_at: Timestamp,
}

/// A member's role in a clinic (one per member). A personal clinic's owner is its admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages the clinic; reads and changes every patient.
    Admin,
    /// Treats the patients of their care team.
    Clinician,
    /// Registers patients and keeps their demographics; never sees medical histories.
    FrontDesk,
    /// Reviews access: the clinic's audit trail and break-glass log, no patient.
    Auditor,
}

impl Role {
    /// Every role, in the contract's order.
    pub const ALL: [Role; 4] = [Self::Admin, Self::Clinician, Self::FrontDesk, Self::Auditor];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Clinician => "clinician",
            Self::FrontDesk => "front_desk",
            Self::Auditor => "auditor",
        }
    }

    /// The role named `name`; anything else is an invalid choice.
    pub fn parse(name: &str) -> Result<Self, FieldProblem> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| FieldProblem::InvalidChoice {
                given: name.to_owned(),
            })
    }

    /// Whether the role may read patients' medical histories (a front desk never does: the
    /// field is left out of its responses).
    pub fn reads_medical_history(self) -> bool {
        matches!(self, Self::Admin | Self::Clinician)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a member wants to do with one of their clinic's patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientAction {
    /// List or read it.
    See,
    /// Register a new patient (not about an existing one: `in_care_team` is ignored).
    Create,
    /// Change its demographics.
    ChangeDemographics,
    /// Write its medical history.
    WriteMedicalHistory,
    /// Archive it (the API's delete).
    Archive,
    /// Assign a doctor, change a mapping's notes, remove a mapping.
    ChangeMappings,
}

/// What `role` may do with a patient of its clinic; `in_care_team` says whether the patient
/// is in the member's care team (the patients they created, those mapped to a doctor record
/// linked to their account, those of their active break-glass grants), which only a
/// clinician's reach depends on. A patient the role may not see at all is [`Access::Hidden`]
/// (answered as missing); a visible one it may not change this way is [`Access::Forbidden`].
pub fn patient_permission(role: Role, in_care_team: bool, action: PatientAction) -> Access {
    use PatientAction::*;
    let sees = match role {
        Role::Admin | Role::FrontDesk => true,
        Role::Clinician => in_care_team,
        Role::Auditor => false,
    };
    match (role, action) {
        (Role::Auditor, Create) => Access::Forbidden,
        (Role::Admin | Role::Clinician | Role::FrontDesk, Create) => Access::Granted,
        (_, _) if !sees => Access::Hidden,
        (Role::FrontDesk, WriteMedicalHistory | Archive) => Access::Forbidden,
        _ => Access::Granted,
    }
}

/// What a member wants to do with their clinic itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClinicAction {
    /// Read the clinic and its members.
    ReadMembers,
    /// Rename it, invite, change roles, remove members.
    Manage,
    /// Read its audit trail and break-glass log.
    ReadAudit,
}

/// What `role` may do with its own clinic: every member sees it (so a refusal is open, 403).
pub fn clinic_permission(role: Role, action: ClinicAction) -> Access {
    let granted = match action {
        ClinicAction::ReadMembers => true,
        ClinicAction::Manage => role == Role::Admin,
        ClinicAction::ReadAudit => matches!(role, Role::Admin | Role::Auditor),
    };
    if granted {
        Access::Granted
    } else {
        Access::Forbidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Forbidden as F, Granted as G, Hidden as H};
    use PatientAction::*;

    /// The contract's role table, one row per action: admin, clinician (in their care team),
    /// clinician (outside it), front desk, auditor.
    #[test]
    fn patient_permissions_follow_the_role_table() {
        let table = [
            (See, [G, G, H, G, H]),
            (Create, [G, G, G, G, F]),
            (ChangeDemographics, [G, G, H, G, H]),
            (WriteMedicalHistory, [G, G, H, F, H]),
            (Archive, [G, G, H, F, H]),
            (ChangeMappings, [G, G, H, G, H]),
        ];
        for (action, expected) in table {
            let actual = [
                patient_permission(Role::Admin, false, action),
                patient_permission(Role::Clinician, true, action),
                patient_permission(Role::Clinician, false, action),
                patient_permission(Role::FrontDesk, false, action),
                patient_permission(Role::Auditor, false, action),
            ];
            assert_eq!(actual, expected, "{action:?}");
            // Only a clinician's reach depends on the care team.
            for role in [Role::Admin, Role::FrontDesk, Role::Auditor] {
                assert_eq!(
                    patient_permission(role, true, action),
                    patient_permission(role, false, action),
                    "{role} {action:?}"
                );
            }
        }
    }

    #[test]
    fn only_admins_and_clinicians_read_medical_histories() {
        let readers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|role| role.reads_medical_history())
            .collect();
        assert_eq!(readers, vec![Role::Admin, Role::Clinician]);
    }

    #[test]
    fn clinic_permissions_follow_the_role_table() {
        let table = [
            (ClinicAction::ReadMembers, [G, G, G, G]),
            (ClinicAction::Manage, [G, F, F, F]),
            (ClinicAction::ReadAudit, [G, F, F, G]),
        ];
        for (action, expected) in table {
            assert_eq!(
                Role::ALL.map(|role| clinic_permission(role, action)),
                expected
            );
        }
    }

    #[test]
    fn invitation_tokens_are_long_random_hex_and_stored_hashed() {
        let token = InvitationToken::from_random([0xab; 32]);
        assert_eq!(token.as_str(), "ab".repeat(32));
        assert_eq!(token.hash().len(), 64);
        assert_ne!(token.hash(), token.as_str());
        assert_eq!(
            InvitationToken::hash_of(&format!(" {} ", token.as_str())),
            token.hash()
        );
        assert_ne!(
            InvitationToken::from_random([0xac; 32]).hash(),
            token.hash()
        );
        assert_eq!(format!("{token:?}"), "InvitationToken(…)", "never printed");
    }

    #[test]
    fn roles_and_names_parse() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(
            Role::parse("Admin"),
            Err(FieldProblem::InvalidChoice {
                given: "Admin".into()
            })
        );
        assert_eq!(
            ClinicName::parse("  North Clinic ").map(|n| n.as_str().to_owned()),
            Ok("North Clinic".into())
        );
        assert_eq!(ClinicName::parse(" "), Err(FieldProblem::Blank));
        let long = format!("{} tail", "n".repeat(99));
        assert_eq!(ClinicName::personal_for(&long).as_str(), "n".repeat(99));
        assert_eq!(ClinicName::personal_for(" Ann Lee ").as_str(), "Ann Lee");
        assert_eq!(
            ClinicName::parse("x".repeat(101)),
            Err(FieldProblem::TooLong { max: 100 })
        );
    }
}
