//! The request bodies. Each is one type that reads itself from the JSON object, recording every
//! field that is missing, null or of the wrong type (so a request with several bad fields hears
//! of all of them), and that describes itself in the OpenAPI document: what is documented is
//! what is read. The domain then checks the values.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use healthcare_core::services::AssignmentInput;
use healthcare_domain::FieldErrors;
use healthcare_domain::doctor::DoctorInput;
use healthcare_domain::fields::Submitted;
use healthcare_domain::patient::PatientInput;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::body::{FieldReader, JsonObject};
use crate::errors::ApiError;
use crate::openapi::{Gender, fields};

/// A body that reads itself field by field.
pub trait RequestBody: Sized {
    /// Reads every field; problems go to `fields`.
    fn read(fields: &mut FieldReader) -> Self;
}

/// The body of a request as `T`, with the problems found while reading it.
#[derive(Debug)]
pub struct Body<T>(pub T, pub FieldErrors);

impl<T: RequestBody + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let object = JsonObject::from_request(request, payload);
        Box::pin(async move {
            let mut fields = FieldReader::new(object.await?);
            let body = T::read(&mut fields);
            Ok(Self(body, fields.into_errors()))
        })
    }
}

/// Declares the `PATCH` body `$patch` for the `PUT` body `$write`: the same fields, read the same
/// way, none required; documented as `$write`'s schema without its `required` list.
macro_rules! any_subset_of {
    ($(#[doc = $doc:expr])* $patch:ident = $write:ident => $input:ty) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        pub struct $patch(pub $write);

        impl RequestBody for $patch {
            fn read(fields: &mut FieldReader) -> Self {
                Self($write::read(fields))
            }
        }

        impl From<$patch> for $input {
            fn from(body: $patch) -> Self {
                body.0.into()
            }
        }

        impl PartialSchema for $patch {
            fn schema() -> RefOr<Schema> {
                let description = [$($doc),*].map(str::trim).join(" ");
                any_subset(<$write as PartialSchema>::schema(), description)
            }
        }

        impl ToSchema for $patch {}
    };
}

/// `schema` with no property required, described as `description`.
fn any_subset(schema: RefOr<Schema>, description: String) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.required.clear();
            object.description = Some(description);
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// Declares a body from one list of fields: each field's documentation, whether the schema
/// requires it, its type, the [`FieldReader`] method that reads it and its schema (from
/// [`fields`], which states exactly what the reader and the domain accept). With `=> Input`,
/// the body also converts into the domain's input of the same fields.
macro_rules! request_body {
    (
        $(#[doc = $doc:literal])*
        $name:ident => $input:ty {
            $(
                $(#[doc = $field_doc:literal])*
                $field:ident ($presence:ident): $kind:ty = $reader:ident, $schema:expr;
            )*
        }
    ) => {
        request_body! {
            $(#[doc = $doc])*
            $name {
                $(
                    $(#[doc = $field_doc])*
                    $field ($presence): $kind = $reader, $schema;
                )*
            }
        }

        impl From<$name> for $input {
            fn from(body: $name) -> Self {
                Self {
                    $($field: body.$field,)*
                }
            }
        }
    };
    (
        $(#[doc = $doc:literal])*
        $name:ident {
            $(
                $(#[doc = $field_doc:literal])*
                $field:ident ($presence:ident): $kind:ty = $reader:ident, $schema:expr;
            )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        pub struct $name {
            $(
                $(#[doc = $field_doc])*
                pub $field: $kind,
            )*
        }

        impl RequestBody for $name {
            fn read(fields: &mut FieldReader) -> Self {
                Self {
                    $($field: fields.$reader(stringify!($field)),)*
                }
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let mut object = ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some(doc_text(&[$($doc),*])));
                $(
                    object = object.property(
                        stringify!($field),
                        fields::described(RefOr::from($schema), doc_text(&[$($field_doc),*])),
                    );
                    if Presence::$presence.is_required() {
                        object = object.required(stringify!($field));
                    }
                )*
                object.into()
            }
        }

        impl ToSchema for $name {}
    };
}

/// Whether a body's schema requires a field.
#[derive(Clone, Copy)]
enum Presence {
    #[expect(non_camel_case_types, reason = "read as a keyword in `request_body!`")]
    required,
    #[expect(non_camel_case_types, reason = "read as a keyword in `request_body!`")]
    optional,
}

impl Presence {
    fn is_required(self) -> bool {
        matches!(self, Self::required)
    }
}

/// Doc-comment lines as one paragraph.
fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

request_body! {
    /// `POST /api/auth/register/`.
    RegisterRequest {
        /// Display name, 1–150 characters after trimming.
        name (required): Option<String> = required_string, fields::required_text::<150>();
        /// Unique e-mail address (compared ignoring case).
        email (required): Option<String> = required_string, fields::email();
        /// At least 8 characters and at most 72 bytes; not common, not entirely numeric, not too
        /// similar to the name or e-mail.
        password (required): Option<String> = required_string, fields::secret(8, Some(72));
        /// When given, must equal `password`.
        password_confirm (optional): Option<String> = optional_string, fields::secret(0, None);
    }
}

request_body! {
    /// `POST /api/auth/login/`.
    LoginRequest {
        /// E-mail address, any case.
        email (required): Option<String> = required_string, fields::secret(1, None);
        /// Password.
        password (required): Option<String> = required_string, fields::secret(1, None);
        /// The clinic to act in (one the user is a member of); omitted: their personal clinic.
        /// Another clinic gets the same 401 as a wrong password.
        clinic (optional): Option<i64> = optional_primary_key, fields::record_id();
    }
}

request_body! {
    /// `POST /api/auth/switch-clinic/`.
    SwitchClinicRequest {
        /// One of the caller's clinics.
        clinic (required): Submitted<i64> = primary_key, fields::record_id();
    }
}

request_body! {
    /// `POST /api/auth/token/refresh/` and `POST /api/auth/logout/`.
    RefreshRequest {
        /// A refresh token.
        refresh (required): Option<String> = required_string, fields::secret(1, None);
    }
}

request_body! {
    /// `POST /api/auth/second-factor/`.
    SecondFactorRequest {
        /// The current code of the authenticator app enrolled on the admin site (6 digits), or an
        /// unused recovery code.
        code (required): Option<String> = required_string, fields::secret(1, None);
    }
}

request_body! {
    /// `POST /api/auth/password/`.
    PasswordChangeRequest {
        /// The current password.
        old_password (required): Option<String> = required_string, fields::secret(1, None);
        /// The new password, under the same rules as at registration.
        new_password (required): Option<String> = required_string, fields::secret(8, Some(72));
    }
}

request_body! {
    /// A patient to create or replace (`POST`, `PUT`).
    PatientWrite => PatientInput {
        /// Full name, 1–100 characters after trimming.
        name (required): Submitted<String> = string, fields::required_text::<100>();
        /// Age in years, 0–150: an integer, or a string holding one.
        age (required): Submitted<i64> = integer, fields::age();
        /// `M`, `F` or `O`.
        gender (required): Submitted<String> = string, fields::reference(&Gender::name());
        /// At most 15 characters after trimming.
        phone (optional): Submitted<String> = string, fields::optional_text::<15>();
        /// An e-mail address or the empty string.
        email (optional): Submitted<String> = string, fields::optional_email();
        /// Postal address.
        address (optional): Submitted<String> = string, fields::free_text();
        /// Free-text medical history.
        medical_history (optional): Submitted<String> = string, fields::free_text();
    }
}

any_subset_of! {
    /// Any subset of a patient's fields (`PATCH`).
    PatientPatch = PatientWrite => PatientInput
}

request_body! {
    /// A doctor to create or replace (`POST`, `PUT`).
    DoctorWrite => DoctorInput {
        /// Full name, 1–100 characters after trimming.
        name (required): Submitted<String> = string, fields::required_text::<100>();
        /// Specialization, 1–100 characters after trimming.
        specialization (required): Submitted<String> = string, fields::required_text::<100>();
        /// Phone, 1–15 characters after trimming.
        phone (required): Submitted<String> = string, fields::required_text::<15>();
        /// E-mail address.
        email (required): Submitted<String> = string, fields::email();
        /// Years of experience, 0–80: an integer, or a string holding one.
        experience_years (required): Submitted<i64> = integer, fields::experience_years();
        /// Qualification, 1–200 characters after trimming.
        qualification (required): Submitted<String> = string, fields::required_text::<200>();
        /// Fee, not negative, at most 2 decimals and 10 digits: a JSON number or a string.
        /// Returned as a string with exactly 2 decimals.
        consultation_fee (required): Submitted<String> = decimal, fields::money();
        /// Whether new patients can be assigned. Omitted: true for a new doctor, unchanged
        /// otherwise. A JSON boolean; DRF's spellings (`"yes"`, `"off"`, `1`, `0`...) are
        /// accepted too.
        is_available (optional): Submitted<bool> = boolean, fields::boolean();
        /// The account of the clinician this record describes, or `null`: that account treats
        /// every patient mapped to the doctor, in clinics where it is a clinician. Omitted: none
        /// for a new doctor, unchanged otherwise.
        user (optional): Submitted<Option<i64>> = nullable_primary_key, fields::nullable_record_id();
    }
}

any_subset_of! {
    /// Any subset of a doctor's fields (`PATCH`).
    DoctorPatch = DoctorWrite => DoctorInput
}

request_body! {
    /// `POST /api/mappings/`.
    MappingCreate => AssignmentInput {
        /// One of the caller's patients: an id, or a string holding one.
        patient (required): Submitted<i64> = primary_key, fields::record_id();
        /// An available doctor: an id, or a string holding one.
        doctor (required): Submitted<i64> = primary_key, fields::record_id();
        /// Free-text notes.
        notes (optional): Submitted<String> = string, fields::free_text();
    }
}

request_body! {
    /// `PATCH /api/mappings/{id}/`.
    MappingNotes {
        /// Free-text notes.
        notes (optional): Submitted<String> = string, fields::free_text();
    }
}

request_body! {
    /// `POST /api/clinics/` and `PATCH /api/clinics/{id}/`.
    ClinicWrite {
        /// The clinic's name, 1–100 characters after trimming.
        name (required): Submitted<String> = string, fields::required_text::<100>();
    }
}

request_body! {
    /// `POST /api/clinics/{id}/invitations/`.
    InvitationRequest {
        /// The invitee's e-mail address; they accept with an account of that address.
        email (required): Submitted<String> = string, fields::email();
        /// The role they get.
        role (required): Submitted<String> = string, fields::reference("Role");
    }
}

request_body! {
    /// `POST /api/invitations/accept/`.
    AcceptInvitationRequest {
        /// The invitation's token, as handed over.
        token (required): Submitted<String> = string, fields::secret(1, None);
    }
}

request_body! {
    /// `PATCH /api/clinics/{id}/members/{user_id}/`.
    MemberRoleRequest {
        /// The member's new role.
        role (required): Submitted<String> = string, fields::reference("Role");
    }
}

request_body! {
    /// `POST /api/patients/{id}/break-glass/`.
    BreakGlassRequest {
        /// Why the caller must see the patient now: 10 to 1000 characters after trimming. Kept
        /// in the clinic's break-glass log.
        reason (required): Submitted<String> = string, fields::bounded_text(10, 1000);
    }
}
