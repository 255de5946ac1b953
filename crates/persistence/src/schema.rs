//! The tables, written by hand with portable types only (the multi-backend connection supports
//! no others). Column order matches the migrations and the row structs.

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        email -> Text,
        email_lower -> Text,
        password_hash -> Text,
        is_active -> Bool,
        is_staff -> Bool,
        created_at -> Timestamp,
        tokens_valid_after -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (jti) {
        jti -> Text,
        user_id -> BigInt,
        family_id -> Text,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    patients (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        name_lower -> Text,
        age -> Integer,
        gender -> Text,
        phone -> Text,
        email -> Text,
        address -> Text,
        medical_history -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        archived_at -> Nullable<Timestamp>,
        clinic_id -> BigInt,
        /// The name lower-cased without accents (FHIR name search); `NULL` until filled in.
        name_folded -> Nullable<Text>,
    }
}

diesel::table! {
    /// Every earlier version of a patient, in `patients`' column order.
    patient_versions (patient_id, version) {
        patient_id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        name_lower -> Text,
        age -> Integer,
        gender -> Text,
        phone -> Text,
        email -> Text,
        address -> Text,
        medical_history -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        archived_at -> Nullable<Timestamp>,
        clinic_id -> BigInt,
        name_folded -> Nullable<Text>,
    }
}

diesel::table! {
    clinics (id) {
        id -> BigInt,
        name -> Text,
        personal_owner_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    clinic_members (clinic_id, user_id) {
        clinic_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    clinic_invitations (id) {
        id -> BigInt,
        clinic_id -> BigInt,
        email -> Text,
        email_lower -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        accepted_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    doctors (id) {
        id -> BigInt,
        created_by -> BigInt,
        name -> Text,
        specialization -> Text,
        specialization_lower -> Text,
        phone -> Text,
        email -> Text,
        experience_years -> Integer,
        qualification -> Text,
        consultation_fee_cents -> BigInt,
        is_available -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        archived_at -> Nullable<Timestamp>,
        linked_user_id -> Nullable<BigInt>,
        patient_count -> BigInt,
        /// The name lower-cased without accents (FHIR name search); `NULL` until filled in.
        name_folded -> Nullable<Text>,
    }
}

diesel::table! {
    /// Every earlier version of a doctor, in `doctors`' column order.
    doctor_versions (doctor_id, version) {
        doctor_id -> BigInt,
        created_by -> BigInt,
        name -> Text,
        specialization -> Text,
        specialization_lower -> Text,
        phone -> Text,
        email -> Text,
        experience_years -> Integer,
        qualification -> Text,
        consultation_fee_cents -> BigInt,
        is_available -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        archived_at -> Nullable<Timestamp>,
        linked_user_id -> Nullable<BigInt>,
        patient_count -> BigInt,
        name_folded -> Nullable<Text>,
    }
}

diesel::table! {
    /// One row: how many doctors are live and archived (kept by triggers on `doctors`).
    doctor_totals (id) {
        id -> Integer,
        live -> BigInt,
        archived -> BigInt,
    }
}

diesel::table! {
    /// Each clinic's live and archived patients, over 8 rows summed when read (kept by
    /// triggers on `patients`).
    clinic_patient_totals (clinic_id, slot) {
        clinic_id -> BigInt,
        slot -> SmallInt,
        live -> BigInt,
        archived -> BigInt,
    }
}

diesel::table! {
    break_glass_grants (id) {
        id -> BigInt,
        clinic_id -> BigInt,
        patient_id -> BigInt,
        user_id -> BigInt,
        reason -> Text,
        granted_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    patient_doctor_mappings (id) {
        id -> BigInt,
        patient_id -> BigInt,
        doctor_id -> BigInt,
        assigned_by -> BigInt,
        assigned_date -> Timestamp,
        notes -> Text,
        is_active -> Bool,
        updated_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staff_second_factors (user_id) {
        user_id -> BigInt,
        secret -> Binary,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> BigInt,
        enrolling_session -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    staff_recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    admin_sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        second_factor_done -> Bool,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(patients -> users (owner_id));
diesel::joinable!(patients -> clinics (clinic_id));
diesel::joinable!(clinic_members -> clinics (clinic_id));
diesel::joinable!(clinic_invitations -> clinics (clinic_id));
diesel::joinable!(clinic_members -> users (user_id));
diesel::joinable!(doctors -> users (created_by));
diesel::joinable!(patient_doctor_mappings -> patients (patient_id));
diesel::joinable!(patient_doctor_mappings -> doctors (doctor_id));
diesel::joinable!(staff_second_factors -> users (user_id));
diesel::joinable!(staff_recovery_codes -> users (user_id));
diesel::joinable!(admin_sessions -> users (user_id));
diesel::joinable!(break_glass_grants -> patients (patient_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    patients,
    clinics,
    clinic_members,
    clinic_invitations,
    break_glass_grants,
    doctors,
    patient_doctor_mappings,
    staff_second_factors,
    staff_recovery_codes,
    admin_sessions
);

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        email_key -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    rate_buckets (bucket_key, window_start) {
        bucket_key -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<BigInt>,
        patient_id -> Nullable<BigInt>,
        outcome -> Text,
        client_address -> Nullable<Text>,
        request_id -> Nullable<Text>,
        seq -> Nullable<BigInt>,
        mac -> Nullable<Text>,
        row_nonce -> Nullable<Text>,
        row_mac -> Nullable<Text>,
        break_glass -> Bool,
    }
}

diesel::table! {
    /// One row, written by the migration that introduced row MACs: what came before it.
    audit_row_seals_from (first_id) {
        first_id -> BigInt,
        since -> Timestamp,
    }
}

// A clinic's audit trail: the rows about its patients.
diesel::allow_tables_to_appear_in_same_query!(audit_events, patients);
