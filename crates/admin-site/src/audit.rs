//! `/admin/audit/`: the audit trail with its filters, and the check of the sealed chain.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use healthcare_core::pagination::{Page, PageOf};
use healthcare_core::ports::AuditFilter;
use healthcare_domain::audit::{AuditAction, AuditOutcome, AuditRecord};
use healthcare_domain::patient::PatientId;
use healthcare_domain::{FieldErrors, FieldProblem, UserId};
use maud::{Markup, html};

use crate::errors::{AdminError, call};
use crate::layout::{
    FormState, Section, empty_row, error_summary, html_response, ok, page, pagination,
    problem_text, when,
};
use crate::params::{FormData, parse_datetime};
use crate::session::StaffRequest;
use crate::state::SiteState;
use healthcare_web::forms::parse_integer_text;

/// The filter form's fields: (name, label).
const FIELDS: [(&str, &str); 6] = [
    ("patient", "Patient id"),
    ("user", "User id"),
    ("action", "Action"),
    ("outcome", "Outcome"),
    ("since", "Since (UTC)"),
    ("until", "Until (UTC)"),
];

/// Reads the filters; every bad value is reported beside its field.
pub fn audit_filter(query: &FormData) -> Result<AuditFilter, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut id = |name: &str| {
        let text = query.text(name)?;
        let parsed = parse_integer_text(&text)
            .filter(|id| *id > 0)
            .ok_or(FieldProblem::NotAPositiveInteger);
        errors.check(name, parsed)
    };
    let (patient, actor) = (id("patient"), id("user"));
    let action = query.text("action").and_then(|name| {
        errors.check(
            "action",
            AuditAction::parse(&name).ok_or(FieldProblem::InvalidChoice {
                given: name.clone(),
            }),
        )
    });
    let outcome = query.text("outcome").and_then(|name| {
        errors.check(
            "outcome",
            AuditOutcome::parse(&name).ok_or(FieldProblem::InvalidChoice {
                given: name.clone(),
            }),
        )
    });
    let mut moment = |name: &str| {
        let text = query.text(name)?;
        errors.check(name, parse_datetime(&text))
    };
    let (since, until) = (moment("since"), moment("until"));
    errors.into_result(|| AuditFilter {
        clinic: None,
        patient: patient.map(PatientId),
        actor: actor.map(UserId),
        action,
        outcome,
        since,
        until,
        ..AuditFilter::default()
    })
}

fn messages_of(errors: &FieldErrors, name: &str) -> Markup {
    html! {
        @for (field, messages) in errors.iter() {
            @if field == name { @for message in messages.iter().map(problem_text) { p.field-error { (message) } } }
        }
    }
}

fn filter_form(query: &FormData, errors: &FieldErrors) -> Markup {
    let (action, outcome) = (query.value("action"), query.value("outcome"));
    let number = |name: &'static str, label: &'static str| {
        html! {
            div.field.field-invalid[errors.has(name)] {
                label for={ "field-" (name) } { (label) }
                input id={ "field-" (name) } type="number" min="1" name=(name) value=(query.value(name));
                (messages_of(errors, name))
            }
        }
    };
    let moment = |name: &'static str, label: &'static str| {
        html! {
            div.field.field-invalid[errors.has(name)] {
                label for={ "field-" (name) } { (label) }
                input id={ "field-" (name) } type="datetime-local" name=(name) value=(query.value(name));
                (messages_of(errors, name))
            }
        }
    };
    html! {
        form.filters.filters-grid method="get" action="/admin/audit/" {
            (number("patient", "Patient id"))
            (number("user", "User id"))
            div.field.field-invalid[errors.has("action")] {
                label for="field-action" { "Action" }
                select #field-action name="action" {
                    option value="" selected[action.is_empty()] { "Any" }
                    @for choice in AuditAction::ALL {
                        option value=(choice.as_str()) selected[choice.as_str() == action] { (choice.as_str()) }
                    }
                }
                (messages_of(errors, "action"))
            }
            div.field.field-invalid[errors.has("outcome")] {
                label for="field-outcome" { "Outcome" }
                select #field-outcome name="outcome" {
                    option value="" selected[outcome.is_empty()] { "Any" }
                    @for choice in AuditOutcome::ALL {
                        option value=(choice.as_str()) selected[choice.as_str() == outcome] { (choice.as_str()) }
                    }
                }
                (messages_of(errors, "outcome"))
            }
            (moment("since", "Since (UTC)"))
            (moment("until", "Until (UTC)"))
            div.actions { button.button type="submit" { "Filter" } a href="/admin/audit/" { "Clear" } }
        }
    }
}

fn outcome_badge(outcome: AuditOutcome) -> Markup {
    html! {
        @match outcome {
            AuditOutcome::Success => span.badge.badge-good { "success" },
            AuditOutcome::Failure => span.badge.badge-warn { "failure" },
            AuditOutcome::Denied => span.badge.badge-bad { "denied" },
        }
    }
}

fn records_table(found: &PageOf<AuditRecord>) -> Markup {
    html! {
        table.records.compact {
            thead { tr {
                th { "Time" } th { "Actor" } th { "Action" } th { "Outcome" } th { "Resource" }
                th { "Patient" } th { "Client address" } th { "Request id" } th.num { "Seq" }
            } }
            tbody {
                @for record in &found.items {
                    @let event = &record.event;
                    tr.record {
                        td.nowrap { (when(event.at)) }
                        td { @match event.actor {
                            Some(actor) => a href={ "/admin/users/" (actor.0) "/" } { "#" (actor.0) },
                            None => span.muted { "anonymous" },
                        } }
                        td { code { (event.action.as_str()) } }
                        td { (outcome_badge(event.outcome)) }
                        td { (event.action.resource_type()) @if let Some(id) = event.resource_id { " #" (id) } }
                        td { @if let Some(patient) = event.patient_id {
                            a href={ "/admin/patients/" (patient.0) "/" } { "#" (patient.0) }
                        } }
                        td { (event.origin.client_address.as_deref().unwrap_or("")) }
                        td { code.small { (event.origin.request_id.as_deref().unwrap_or("")) } }
                        td.num { @match &record.seal {
                            Some(seal) => (seal.seq),
                            None => span.muted { "pending" },
                        } }
                    }
                }
                @if found.items.is_empty() { (empty_row(9, "No audit rows match.")) }
            }
        }
    }
}

/// `GET /admin/audit/`.
pub async fn list(
    staff: StaffRequest,
    state: web::Data<SiteState>,
    request: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let query = FormData::query(&request)?;
    let page_wanted: Page = query.page()?;
    let intro = html! {
        p { "Newest first. Times are UTC. Viewing this page is itself recorded. "
            a href="/admin/audit/verify" { "Verify the chain" } }
    };
    let filter = match audit_filter(&query) {
        Ok(filter) => filter,
        Err(errors) => {
            let form = FormState {
                errors: errors.clone(),
                ..FormState::default()
            };
            let body =
                html! { (intro) (error_summary(&form, &FIELDS)) (filter_form(&query, &errors)) };
            return Ok(html_response(
                StatusCode::BAD_REQUEST,
                page("Audit trail", Some((&staff.caller, Section::Audit)), body),
            ));
        }
    };
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let found = call(move || service.audit_events(&caller, &filter, page_wanted)).await?;
    let filters: Vec<(&str, String)> = FIELDS
        .iter()
        .map(|(name, _)| (*name, query.value(name)))
        .collect();
    let body = html! {
        (intro)
        (filter_form(&query, &FieldErrors::new()))
        (records_table(&found))
        (pagination("/admin/audit/", &filters, page_wanted.number, page_wanted.size, found.total))
    };
    Ok(ok(page(
        "Audit trail",
        Some((&staff.caller, Section::Audit)),
        body,
    )))
}

/// `GET /admin/audit/verify`: walks the sealed chain and checks the unsealed rows (read only).
pub async fn verify(
    staff: StaffRequest,
    state: web::Data<SiteState>,
) -> Result<HttpResponse, AdminError> {
    let (service, caller) = (state.staff.clone(), staff.caller.clone());
    let report = call(move || service.verify_chain(&caller)).await?;
    let body = html! {
        @match &report.broken {
            None => div.notice.notice-success role="status" { p.chain-intact { "The chain is intact." } },
            Some(broken) => div.notice.notice-error role="alert" {
                p.chain-broken { strong { "The chain is broken: " } (broken) "." }
                p { "Rows after this point cannot be trusted. Compare with the last head recorded outside the database." }
            },
        }
        @if !report.unauthenticated.is_empty() {
            div.notice.notice-error role="alert" {
                p.forged-rows {
                    strong { (report.unauthenticated.len()) " unsealed rows were not written by the server" }
                    " (no valid row MAC; the sealer leaves them out of the chain): "
                    @for (index, id) in report.unauthenticated.iter().take(20).enumerate() {
                        @if index > 0 { ", " }
                        "#" (id)
                    }
                    "."
                }
            }
        }
        dl.facts.card {
            dt { "Sealed rows checked" } dd.num { (report.checked) }
            dt { "Head sequence number" } dd.num { (report.head.0) }
            dt { "Head MAC" } dd { code.small { (report.head.1.to_hex()) } }
            dt { "Rows not sealed yet" } dd.num { (report.pending.rows) }
            @if let Some(oldest) = report.pending.oldest {
                dt { "Oldest unsealed row" } dd { (when(oldest)) }
            }
        }
        p.hint { "Record the head sequence number and MAC outside the database: deleting rows from the end of the chain can only be detected against such a record." }
        p { a href="/admin/audit/" { "Back to the audit trail" } }
    };
    Ok(ok(page(
        "Audit chain check",
        Some((&staff.caller, Section::Audit)),
        body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(encoded: &str) -> Result<AuditFilter, FieldErrors> {
        audit_filter(&FormData::parse(encoded.as_bytes()).expect("query"))
    }

    #[test]
    fn filters_are_read_and_bad_ones_reported_per_field() {
        let read =
            filter("patient=4&user=&action=patient.read&outcome=denied&since=2026-11-26T10:00")
                .expect("valid");
        assert_eq!(read.patient, Some(PatientId(4)));
        assert_eq!(read.actor, None);
        assert_eq!(read.action, Some(AuditAction::PatientRead));
        assert_eq!(read.outcome, Some(AuditOutcome::Denied));
        assert!(read.since.is_some() && read.until.is_none());
        let errors = filter("patient=x&action=nope&until=soon").expect_err("invalid");
        assert!(errors.has("patient") && errors.has("action") && errors.has("until"));
        assert!(!errors.has("since"));
    }
}
