//! The page shell (top bar, navigation, sign-out), pagination, and form field helpers. Styling
//! is by class only: the admin CSP forbids inline styles and scripts.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use healthcare_core::services::StaffCaller;
use healthcare_domain::{FieldErrors, FieldProblem, Timestamp};

use maud::{DOCTYPE, Markup, html};

use crate::cookie::CSRF_FIELD;

/// The site's name, in the top bar and every title.
pub const SITE_NAME: &str = "Healthcare records admin";

/// The navigation entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The home page.
    Home,
    /// Patients.
    Patients,
    /// Doctors.
    Doctors,
    /// Patient–doctor mappings.
    Mappings,
    /// User accounts.
    Users,
    /// The audit trail.
    Audit,
    /// Clinics and their members.
    Clinics,
}

const NAV: [(Section, &str, &str); 6] = [
    (Section::Patients, "/admin/patients/", "Patients"),
    (Section::Doctors, "/admin/doctors/", "Doctors"),
    (Section::Mappings, "/admin/mappings/", "Mappings"),
    (Section::Users, "/admin/users/", "Users"),
    (Section::Clinics, "/admin/clinics/", "Clinics"),
    (Section::Audit, "/admin/audit/", "Audit trail"),
];

/// A whole page. With a signed-in caller the top bar has the navigation and a sign-out
/// button; without one (sign-in and error pages) only the site name.
pub fn page(title: &str, signed_in: Option<(&StaffCaller, Section)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · " (SITE_NAME) }
                link rel="stylesheet" href="/admin/static/admin.css";
            }
            body {
                header.topbar {
                    a.brand href="/admin/" { (SITE_NAME) }
                    @if let Some((staff, current)) = signed_in {
                        nav.mainnav aria-label="Sections" {
                            @for (section, href, label) in NAV {
                                @if section == current {
                                    a.current href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        div.who {
                            span.who-name { (staff.user().name) }
                            form.inline method="post" action="/admin/logout" {
                                (csrf_field(staff.csrf_token()))
                                button.button.button-quiet type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main.content {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// An HTML response with `status`.
pub fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(markup.into_string())
}

/// A 200 HTML response.
pub fn ok(markup: Markup) -> HttpResponse {
    html_response(StatusCode::OK, markup)
}

/// A 303 to `location` (after a successful POST).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_owned()))
        .finish()
}

/// The hidden CSRF field of a POST form.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// A one-button POST form (archive, remove, …).
pub fn action_button(staff: &StaffCaller, action: &str, label: &str, danger: bool) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(staff.csrf_token()))
            @if danger {
                button.button.button-danger type="submit" { (label) }
            } @else {
                button.button.button-primary type="submit" { (label) }
            }
        }
    }
}

/// A green confirmation after a redirect (`?done=…`), if the message is known.
pub fn flash(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            div.notice.notice-success role="status" { p { (message) } }
        }
    }
}

/// A time as staff read it.
pub fn when(at: Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "Yes" or "No".
pub fn yes_no(flag: bool) -> &'static str {
    if flag { "Yes" } else { "No" }
}

/// A status badge.
pub fn badge(text: &str, good: bool) -> Markup {
    html! {
        @if good { span.badge.badge-good { (text) } } @else { span.badge.badge-muted { (text) } }
    }
}

// ---- forms

/// What a form shows: the values to fill in (as typed, after an error) and the messages.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// Field values by name.
    pub values: Vec<(String, String)>,
    /// Messages by field name.
    pub errors: FieldErrors,
    /// A message above the form (for example, a stale version).
    pub banner: Option<String>,
}

impl FormState {
    /// A form filled with `values` and no errors.
    pub fn filled(values: Vec<(String, String)>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    /// The value of `name`, or "".
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    fn messages(&self, name: &str) -> Vec<String> {
        self.errors
            .iter()
            .filter(|(field, _)| *field == name)
            .flat_map(|(_, problems)| problems.iter().map(problem_text))
            .collect()
    }
}

/// The words for a problem on a form: the API's (DRF's), except where a form field takes more
/// than the API does (dates typed in a `datetime-local` field) or says it plainer.
pub fn problem_text(problem: &FieldProblem) -> String {
    match problem {
        FieldProblem::NotADateTime => {
            "Enter a date and time like 2026-11-26T10:00 (UTC) or an RFC 3339 timestamp.".to_owned()
        }
        FieldProblem::NotAPositiveInteger => "Enter a positive whole number.".to_owned(),
        other => healthcare_web::wording::message(other),
    }
}

/// The box at the top of a form: the banner, and every message, with `fields` (name, label)
/// naming the fields shown on the form; messages about anything else are shown in full
/// here, since no field carries them.
pub fn error_summary(form: &FormState, fields: &[(&str, &str)]) -> Markup {
    let has_errors = !form.errors.is_empty();
    html! {
        @if let Some(banner) = &form.banner {
            div.notice.notice-error role="alert" { p.banner { (banner) } }
        }
        @if has_errors {
            div.error-summary role="alert" {
                h2 { "Please correct the errors below." }
                ul {
                    @for (field, problems) in form.errors.iter() {
                        @for message in problems.iter().map(problem_text) {
                            @if let Some((_, label)) = fields.iter().find(|(name, _)| *name == field) {
                                li { a href={ "#field-" (field) } { (label) } ": " (message) }
                            } @else {
                                li.field-error { (message) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn field_messages(messages: &[String]) -> Markup {
    html! {
        @for message in messages { p.field-error { (message) } }
    }
}

/// Which input a field is.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// `<input type=…>`.
    Text(&'a str),
    /// A password chosen for someone else: never filled in by the browser's password manager.
    NewPassword,
    /// A whole number, as a text input: a `number` input would hide a mistyped value when
    /// the form is shown again.
    Number,
    /// `<textarea>`.
    TextArea,
    /// `<select>` with (value, label) options.
    Select(&'a [(&'a str, &'a str)]),
    /// A checkbox, checked when the value is `true`/`on`.
    Checkbox,
}

/// A labelled field with its messages beside it.
pub fn field(
    form: &FormState,
    name: &str,
    label: &str,
    input: Input<'_>,
    required: bool,
) -> Markup {
    let messages = form.messages(name);
    let invalid = !messages.is_empty();
    let id = format!("field-{name}");
    let value = form.value(name);
    html! {
        div.field.field-invalid[invalid] {
            @match input {
                Input::Checkbox => {
                    label.checkbox for=(id) {
                        input #(id) type="checkbox" name=(name) value="true"
                            checked[matches!(value, "true" | "on")];
                        " " (label)
                    }
                }
                _ => {
                    label for=(id) { (label) @if required { " " span.required { "(required)" } } }
                    @match input {
                        Input::TextArea => {
                            textarea #(id) name=(name) rows="6" aria-invalid=[invalid.then_some("true")] { (value) }
                        }
                        Input::Select(options) => {
                            select #(id) name=(name) required[required] aria-invalid=[invalid.then_some("true")] {
                                @if !options.iter().any(|(option, _)| *option == value) {
                                    option value="" selected { "Choose…" }
                                }
                                @for (option, text) in options {
                                    option value=(option) selected[*option == value] { (text) }
                                }
                            }
                        }
                        Input::Text(kind) => {
                            input #(id) type=(kind) name=(name) value=(value) required[required]
                                autocomplete=[(kind == "password").then_some("current-password")]
                                aria-invalid=[invalid.then_some("true")];
                        }
                        Input::NewPassword => {
                            input #(id) type="password" name=(name) required[required]
                                autocomplete="new-password"
                                aria-invalid=[invalid.then_some("true")];
                        }
                        Input::Number => {
                            input #(id) type="text" inputmode="numeric" name=(name) value=(value)
                                required[required] aria-invalid=[invalid.then_some("true")];
                        }
                        Input::Checkbox => {}
                    }
                }
            }
            (field_messages(&messages))
        }
    }
}

// ---- pagination

/// `path?query` for `page` of a list, keeping the list's filters.
pub fn page_link(path: &str, filters: &[(&str, String)], page: u64) -> String {
    let mut pairs: Vec<(&str, String)> = filters
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .cloned()
        .collect();
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// How many pages `total` rows fill (at least one).
pub fn page_count(total: u64, size: u64) -> u64 {
    total.div_ceil(size.max(1)).max(1)
}

/// "Previous · page X of Y · Next" under a list.
pub fn pagination(
    path: &str,
    filters: &[(&str, String)],
    number: u64,
    size: u64,
    total: u64,
) -> Markup {
    let pages = page_count(total, size);
    html! {
        nav.pagination aria-label="Pages" {
            @if number > 1 {
                a.button rel="prev" href=(page_link(path, filters, (number - 1).min(pages))) { "← Previous" }
            }
            span.page-of { "Page " (number) " of " (pages) " · " (total) " in all" }
            @if number < pages {
                a.button rel="next" href=(page_link(path, filters, number + 1)) { "Next →" }
            }
        }
    }
}

/// A table's placeholder row when nothing matches.
pub fn empty_row(columns: u32, text: &str) -> Markup {
    html! { tr.empty { td colspan=(columns) { (text) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_filters_and_drop_blanks() {
        let filters = [("q", "ann lee".to_owned()), ("archived", String::new())];
        assert_eq!(
            page_link("/admin/patients/", &filters, 2),
            "/admin/patients/?q=ann+lee&page=2"
        );
        assert_eq!(
            page_link("/admin/patients/", &filters, 1),
            "/admin/patients/?q=ann+lee"
        );
        assert_eq!(page_link("/admin/users/", &[], 1), "/admin/users/");
        assert_eq!(page_count(0, 25), 1);
        assert_eq!(page_count(25, 25), 1);
        assert_eq!(page_count(26, 25), 2);
    }

    #[test]
    fn pagination_shows_only_possible_moves() {
        let first = pagination("/p/", &[], 1, 25, 60).into_string();
        assert!(first.contains("Page 1 of 3") && first.contains("page=2"));
        assert!(!first.contains("Previous"));
        let last = pagination("/p/", &[], 3, 25, 60).into_string();
        assert!(last.contains("Previous") && !last.contains("Next"));
    }

    #[test]
    fn fields_show_typed_values_and_messages() {
        let mut form = FormState::filled(vec![("age".into(), "abc".into())]);
        form.errors.add("age", FieldProblem::NotAnInteger);
        let markup = field(&form, "age", "Age", Input::Text("text"), true).into_string();
        assert!(markup.contains(r#"value="abc""#));
        assert!(markup.contains(r#"<p class="field-error">A valid integer is required.</p>"#));
        assert!(!markup.contains("style="));
    }
}
