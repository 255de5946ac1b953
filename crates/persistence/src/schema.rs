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
diesel::allow_tables_to_appear_in_same_query!(users, refresh_tokens);
