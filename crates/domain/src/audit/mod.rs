//! The audit trail: what is recorded about every access to patient data and every security
//! event, and the keyed hash chain that makes tampering with the recorded rows detectable.
//!
//! A row never holds a value of a patient field: only who, what, which record, when, from
//! where and with what outcome.
//!
//! Two MACs, both keyed with `AUDIT_HMAC_KEY`:
//! - the row's own [`RowSeal`], made by the server as it writes the row:
//!   `HMAC-SHA-256(key, fresh nonce ‖ canonical content)`. The sealer chains only rows that
//!   carry a valid one, so a row inserted straight into the table is refused and reported;
//! - the chain: each sealed row gets a contiguous sequence number and
//!   `mac = HMAC-SHA-256(key, previous mac ‖ canonical content)`, the first row chaining from
//!   [`Mac::GENESIS`], so a changed, deleted or inserted sealed row breaks it.
//!
//! Whoever can write the table but does not hold the key can compute neither.

use std::fmt;

use crate::patient::PatientId;
use crate::{Timestamp, UserId};

/// What was done. The strings are the stored and published names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// `GET /api/patients/{id}/`.
    PatientRead,
    /// `GET /api/patients/`.
    PatientList,
    /// `POST /api/patients/`.
    PatientCreate,
    /// `PUT`/`PATCH /api/patients/{id}/`.
    PatientUpdate,
    /// `DELETE /api/patients/{id}/` (archiving).
    PatientDelete,
    /// Un-archiving (operators only).
    PatientRestore,
    /// `POST /api/mappings/`.
    MappingCreate,
    /// `GET /api/mappings/` and the by-patient view.
    MappingList,
    /// Changing a mapping's notes.
    MappingUpdate,
    /// `DELETE /api/mappings/{id}/`.
    MappingRemove,
    /// Signing in.
    AuthLogin,
    /// Exchanging a refresh token.
    AuthRefresh,
    /// Signing out.
    AuthLogout,
    /// Changing one's password.
    AuthPasswordChange,
    /// Activation, staff rights, forced password reset of an account.
    UserUpdate,
    /// Signing in to the staff admin site.
    AdminLogin,
    /// Reading the audit trail.
    AuditRead,
    /// Confirming a second-factor code on the API (`POST /api/auth/second-factor/`).
    AuthSecondFactor,
    /// Creating a clinic (`POST /api/clinics/`).
    ClinicCreate,
    /// Renaming a clinic (`PATCH /api/clinics/{id}/`).
    ClinicRename,
    /// Inviting someone to a clinic (`POST /api/clinics/{id}/invitations/`).
    ClinicInvite,
    /// Accepting an invitation (`POST /api/invitations/accept/`).
    ClinicJoin,
    /// Changing a member's role (`PATCH /api/clinics/{id}/members/{user_id}/`).
    ClinicMemberUpdate,
    /// Removing a member, or leaving (`DELETE /api/clinics/{id}/members/{user_id}/`).
    ClinicMemberRemove,
    /// Acting in another clinic (`POST /api/auth/switch-clinic/`).
    ClinicSwitch,
    /// Opening a break-glass grant on a patient (`POST /api/patients/{id}/break-glass/`); the
    /// row names the grant, whose reason the clinic's break-glass log shows.
    PatientBreakGlass,
}

impl AuditAction {
    /// Every action, in documentation order.
    pub const ALL: [AuditAction; 26] = [
        Self::PatientRead,
        Self::PatientList,
        Self::PatientCreate,
        Self::PatientUpdate,
        Self::PatientDelete,
        Self::PatientRestore,
        Self::MappingCreate,
        Self::MappingList,
        Self::MappingUpdate,
        Self::MappingRemove,
        Self::AuthLogin,
        Self::AuthRefresh,
        Self::AuthLogout,
        Self::AuthPasswordChange,
        Self::UserUpdate,
        Self::AdminLogin,
        Self::AuditRead,
        Self::AuthSecondFactor,
        Self::ClinicCreate,
        Self::ClinicRename,
        Self::ClinicInvite,
        Self::ClinicJoin,
        Self::ClinicMemberUpdate,
        Self::ClinicMemberRemove,
        Self::ClinicSwitch,
        Self::PatientBreakGlass,
    ];

    /// The stored name, e.g. `patient.read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PatientRead => "patient.read",
            Self::PatientList => "patient.list",
            Self::PatientCreate => "patient.create",
            Self::PatientUpdate => "patient.update",
            Self::PatientDelete => "patient.delete",
            Self::PatientRestore => "patient.restore",
            Self::MappingCreate => "mapping.create",
            Self::MappingList => "mapping.list",
            Self::MappingUpdate => "mapping.update",
            Self::MappingRemove => "mapping.remove",
            Self::AuthLogin => "auth.login",
            Self::AuthRefresh => "auth.refresh",
            Self::AuthLogout => "auth.logout",
            Self::AuthPasswordChange => "auth.password_change",
            Self::UserUpdate => "user.update",
            Self::AdminLogin => "admin.login",
            Self::AuditRead => "audit.read",
            Self::AuthSecondFactor => "auth.second_factor",
            Self::ClinicCreate => "clinic.create",
            Self::ClinicRename => "clinic.rename",
            Self::ClinicInvite => "clinic.invite",
            Self::ClinicJoin => "clinic.join",
            Self::ClinicMemberUpdate => "clinic.member_update",
            Self::ClinicMemberRemove => "clinic.member_remove",
            Self::ClinicSwitch => "clinic.switch",
            Self::PatientBreakGlass => "patient.break_glass",
        }
    }

    /// The action with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == name)
    }

    /// The kind of record the action is about.
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::PatientRead
            | Self::PatientList
            | Self::PatientCreate
            | Self::PatientUpdate
            | Self::PatientDelete
            | Self::PatientRestore => "patient",
            Self::MappingCreate | Self::MappingList | Self::MappingUpdate | Self::MappingRemove => {
                "mapping"
            }
            Self::AuthLogin
            | Self::AuthRefresh
            | Self::AuthLogout
            | Self::AuthPasswordChange
            | Self::UserUpdate
            | Self::AdminLogin
            | Self::AuthSecondFactor => "user",
            Self::AuditRead => "audit_event",
            Self::ClinicCreate
            | Self::ClinicRename
            | Self::ClinicInvite
            | Self::ClinicJoin
            | Self::ClinicMemberUpdate
            | Self::ClinicMemberRemove
            | Self::ClinicSwitch => "clinic",
            Self::PatientBreakGlass => "break_glass_grant",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// Done.
    Success,
    /// Refused for what was asked: invalid input, a missing record, a stale version, a wrong
    /// password.
    Failure,
    /// Refused for who asked: another owner's record (answered 404), a missing permission, a
    /// throttled or revoked credential.
    Denied,
}

impl AuditOutcome {
    /// Every outcome.
    pub const ALL: [AuditOutcome; 3] = [Self::Success, Self::Failure, Self::Denied];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }

    /// The outcome with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request came from, as the HTTP layer saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client's address (the right-most untrusted `X-Forwarded-For` hop behind proxies).
    pub client_address: Option<String>,
    /// The request id echoed in `X-Request-Id`.
    pub request_id: Option<String>,
}

/// One thing to record, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who (none for an unknown account or an operator at the console).
    pub actor: Option<UserId>,
    /// What.
    pub action: AuditAction,
    /// Which record of `action.resource_type()`, when there is one.
    pub resource_id: Option<i64>,
    /// The patient whose data was touched, when there is one.
    pub patient_id: Option<PatientId>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// From where.
    pub origin: RequestOrigin,
    /// Made under the actor's running break-glass grant on the patient (a list: on one of the
    /// patients it showed): marked so that reviewers find every access made under one.
    pub break_glass: bool,
}

/// A stored row: the event, its database id, the MAC the server wrote it with and, once
/// sealed, its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Database id (assigned at insert; may commit out of order).
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
    /// The row's own MAC (none on rows written before row MACs existed, or forged).
    pub row_seal: Option<RowSeal>,
    /// The seal, once the sealer has reached the row.
    pub seal: Option<Seal>,
}

/// A row's own MAC, made when the server writes it. Its nonce is unique per row (the table
/// refuses a repeated one), so a genuine row cannot be inserted twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSeal {
    /// 128 random bits.
    pub nonce: [u8; 16],
    /// `HMAC-SHA-256(key, nonce ‖ canonical content)`.
    pub mac: Mac,
}

/// Which rows must carry a [`RowSeal`]: all but those written before row MACs existed, which
/// the migration that added them bounds by id and time. Those are chained without one, as
/// they always were; a row without one that claims a later id or time is not the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSealsFrom {
    /// The first id written with row MACs.
    pub first_id: i64,
    /// When row MACs began.
    pub since: Timestamp,
}

impl RowSealsFrom {
    /// Whether the row may enter the chain, and counts as written by the server: it carries
    /// a valid row MAC, or it predates row MACs.
    pub fn is_authentic(&self, key: &ChainKey, record: &AuditRecord) -> bool {
        match &record.row_seal {
            Some(row_seal) => key.row_verifies(row_seal, &record.event),
            None => record.id < self.first_id && record.event.at <= self.since,
        }
    }
}

mod chain;

pub use chain::*;
