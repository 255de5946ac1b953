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
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::body::{FieldReader, JsonObject};
use crate::errors::ApiError;

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

/// Declares a body from one list of fields: each field's documentation and schema attributes,
/// its type, and the [`FieldReader`] method that reads it. With `=> Input`, the body also
/// converts into the domain's input of the same fields.
macro_rules! request_body {
    (
        $(#[$meta:meta])*
        $name:ident => $input:ty {
            $(
                $(#[$field_meta:meta])*
                $field:ident: $kind:ty = $reader:ident,
            )*
        }
    ) => {
        request_body! {
            $(#[$meta])*
            $name {
                $(
                    $(#[$field_meta])*
                    $field: $kind = $reader,
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
        $(#[$meta:meta])*
        $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident: $kind:ty = $reader:ident,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, ToSchema)]
        pub struct $name {
            $(
                $(#[$field_meta])*
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
    };
}

request_body! {
    /// `POST /api/auth/register/`.
    RegisterRequest {
        /// Display name, 1–150 characters after trimming.
        #[schema(value_type = String, min_length = 1, max_length = 150)]
        name: Option<String> = required_string,
        /// Unique e-mail address (compared ignoring case).
        #[schema(value_type = String, format = Email, max_length = 254)]
        email: Option<String> = required_string,
        /// At least 8 characters and at most 72 bytes; not common, not entirely numeric, not too
        /// similar to the name or e-mail.
        #[schema(value_type = String, min_length = 8, max_length = 72)]
        password: Option<String> = required_string,
        /// When given, must equal `password`.
        #[schema(nullable = false)]
        password_confirm: Option<String> = optional_string,
    }
}

request_body! {
    /// `POST /api/auth/login/`.
    LoginRequest {
        /// E-mail address, any case.
        #[schema(value_type = String, format = Email)]
        email: Option<String> = required_string,
        /// Password.
        #[schema(value_type = String, min_length = 1)]
        password: Option<String> = required_string,
    }
}

request_body! {
    /// `POST /api/auth/token/refresh/` and `POST /api/auth/logout/`.
    RefreshRequest {
        /// A refresh token.
        #[schema(value_type = String, min_length = 1)]
        refresh: Option<String> = required_string,
    }
}

request_body! {
    /// `POST /api/auth/second-factor/`.
    SecondFactorRequest {
        /// The current code of the authenticator app enrolled on the admin site (6 digits), or an
        /// unused recovery code.
        #[schema(value_type = String, min_length = 1)]
        code: Option<String> = required_string,
    }
}

request_body! {
    /// `POST /api/auth/password/`.
    PasswordChangeRequest {
        /// The current password.
        #[schema(value_type = String, min_length = 1)]
        old_password: Option<String> = required_string,
        /// The new password, under the same rules as at registration.
        #[schema(value_type = String, min_length = 8, max_length = 72)]
        new_password: Option<String> = required_string,
    }
}

request_body! {
    /// A patient to create or replace (`POST`, `PUT`).
    PatientWrite => PatientInput {
        /// Full name, 1–100 characters.
        #[schema(value_type = String, min_length = 1, max_length = 100)]
        name: Submitted<String> = string,
        /// Age in years (an integer, or a string holding one).
        #[schema(value_type = i64, minimum = 0, maximum = 150)]
        age: Submitted<i64> = integer,
        /// `M`, `F` or `O`.
        #[schema(value_type = String, pattern = "^[MFO]$")]
        gender: Submitted<String> = string,
        /// At most 15 characters.
        #[schema(value_type = Option<String>, nullable = false, max_length = 15)]
        phone: Submitted<String> = string,
        /// An e-mail address or the empty string.
        #[schema(value_type = Option<String>, nullable = false)]
        email: Submitted<String> = string,
        /// Postal address.
        #[schema(value_type = Option<String>, nullable = false)]
        address: Submitted<String> = string,
        /// Free-text medical history.
        #[schema(value_type = Option<String>, nullable = false)]
        medical_history: Submitted<String> = string,
    }
}

any_subset_of! {
    /// Any subset of a patient's fields (`PATCH`).
    PatientPatch = PatientWrite => PatientInput
}

request_body! {
    /// A doctor to create or replace (`POST`, `PUT`).
    DoctorWrite => DoctorInput {
        /// Full name, 1–100 characters.
        #[schema(value_type = String, min_length = 1, max_length = 100)]
        name: Submitted<String> = string,
        /// Specialization, 1–100 characters.
        #[schema(value_type = String, min_length = 1, max_length = 100)]
        specialization: Submitted<String> = string,
        /// Phone, 1–15 characters.
        #[schema(value_type = String, min_length = 1, max_length = 15)]
        phone: Submitted<String> = string,
        /// E-mail address.
        #[schema(value_type = String, format = Email)]
        email: Submitted<String> = string,
        /// Years of experience.
        #[schema(value_type = i64, minimum = 0, maximum = 80)]
        experience_years: Submitted<i64> = integer,
        /// Qualification, 1–200 characters.
        #[schema(value_type = String, min_length = 1, max_length = 200)]
        qualification: Submitted<String> = string,
        /// Fee: a decimal with at most 2 decimals and 10 digits (a JSON number is accepted too).
        #[schema(value_type = String, pattern = r"^\d{1,8}(\.\d{1,2})?$")]
        consultation_fee: Submitted<String> = decimal,
        /// Whether new patients can be assigned. Omitted: true for a new doctor, unchanged otherwise.
        #[schema(value_type = Option<bool>, nullable = false)]
        is_available: Submitted<bool> = boolean,
    }
}

any_subset_of! {
    /// Any subset of a doctor's fields (`PATCH`).
    DoctorPatch = DoctorWrite => DoctorInput
}

request_body! {
    /// `POST /api/mappings/`.
    MappingCreate => AssignmentInput {
        /// One of the caller's patients.
        #[schema(value_type = i64, minimum = 1)]
        patient: Submitted<i64> = primary_key,
        /// An available doctor.
        #[schema(value_type = i64, minimum = 1)]
        doctor: Submitted<i64> = primary_key,
        /// Free-text notes.
        #[schema(value_type = Option<String>, nullable = false)]
        notes: Submitted<String> = string,
    }
}

request_body! {
    /// `PATCH /api/mappings/{id}/`.
    MappingNotes {
        /// Free-text notes.
        #[schema(value_type = Option<String>, nullable = false)]
        notes: Submitted<String> = string,
    }
}
