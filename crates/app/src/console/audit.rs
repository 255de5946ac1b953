//! `audit verify` and `audit export`.

use super::*;

pub(super) fn verify(
    settings: &Settings,
    audit: &AuditService,
    resume_seq: Option<i64>,
    resume_mac: Option<&str>,
    max_skew_seconds: i64,
) -> Result<String, CommandError> {
    let resume = match (resume_seq, resume_mac) {
        (Some(seq), Some(mac)) => Some((
            seq,
            Mac::from_hex(mac).ok_or_else(|| failure("--resume-mac must be 64 hex digits"))?,
        )),
        _ => None,
    };
    let report = audit
        .verify(&settings.audit_key.key, resume, max_skew_seconds)
        .map_err(describe)?;
    let pending = match report.pending.oldest {
        Some(oldest) if report.pending.rows > 0 => format!(
            "{} rows not sealed yet (oldest at {}).",
            report.pending.rows,
            oldest.to_rfc3339()
        ),
        _ => "No rows waiting to be sealed.".to_owned(),
    };
    let (head_seq, head_mac) = report.head;
    let forged = if report.unauthenticated.is_empty() {
        String::new()
    } else {
        format!(
            " FORGED: {} unsealed rows were not written by the server (no valid row MAC): {}.",
            report.unauthenticated.len(),
            ids(&report.unauthenticated)
        )
    };
    match report.broken {
        None if forged.is_empty() => Ok(format!(
            "Audit chain intact: {} sealed rows verified; head seq {head_seq} mac {}. {pending}",
            report.checked,
            head_mac.to_hex()
        )),
        None => Err(failure(format!(
            "Audit chain intact up to seq {head_seq} ({} sealed rows verified).{forged}",
            report.checked
        ))),
        Some(broken) => Err(failure(format!(
            "Audit chain BROKEN: {broken}. The {} rows before it verified (up to seq {head_seq}).{forged}",
            report.checked
        ))),
    }
}

/// Every matching row, newest first, up to the moment the export started (rows recorded
/// during the export would shift the pages).
pub(super) fn export(
    audit: &AuditService,
    mut filter: AuditFilter,
    format: ExportFormat,
) -> Result<String, CommandError> {
    let started = chrono::Utc::now();
    filter.until = Some(filter.until.map_or(started, |until| until.min(started)));
    let mut rows: Vec<AuditRecord> = Vec::new();
    for number in 1.. {
        let page = Page {
            number,
            size: Page::MAX_SIZE,
        };
        let found = audit.export(&filter, page).map_err(describe)?;
        let done = found.items.len() < Page::MAX_SIZE as usize;
        rows.extend(found.items);
        if done {
            break;
        }
    }
    let records: Vec<ExportRow> = rows.into_iter().map(ExportRow::from).collect();
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(&records)
            .map_err(|e| failure(format!("cannot encode JSON: {e}"))),
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            // Written by hand so that an empty export still has its header line.
            writer
                .write_record(EXPORT_COLUMNS)
                .map_err(|e| failure(format!("cannot encode CSV: {e}")))?;
            for record in &records {
                writer
                    .serialize(record)
                    .map_err(|e| failure(format!("cannot encode CSV: {e}")))?;
            }
            let bytes = writer
                .into_inner()
                .map_err(|e| failure(format!("cannot encode CSV: {e}")))?;
            Ok(String::from_utf8_lossy(&bytes).trim_end().to_owned())
        }
    }
}

/// The CSV header: [`ExportRow`]'s fields, in order.
const EXPORT_COLUMNS: [&str; 12] = [
    "id",
    "at",
    "actor_user_id",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "outcome",
    "client_address",
    "request_id",
    "seq",
    "mac",
];

/// One exported row: the API's fields plus the row's place in the chain.
#[derive(serde::Serialize)]
struct ExportRow {
    id: i64,
    at: String,
    actor_user_id: Option<i64>,
    action: &'static str,
    resource_type: &'static str,
    resource_id: Option<i64>,
    patient_id: Option<i64>,
    outcome: &'static str,
    client_address: Option<String>,
    request_id: Option<String>,
    seq: Option<i64>,
    mac: Option<String>,
}

impl From<AuditRecord> for ExportRow {
    fn from(record: AuditRecord) -> Self {
        let event = record.event;
        Self {
            id: record.id,
            at: event
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_user_id: event.actor.map(|user| user.0),
            action: event.action.as_str(),
            resource_type: event.action.resource_type(),
            resource_id: event.resource_id,
            patient_id: event.patient_id.map(|patient| patient.0),
            outcome: event.outcome.as_str(),
            client_address: event.origin.client_address,
            request_id: event.origin.request_id,
            seq: record.seal.map(|seal| seal.seq),
            mac: record.seal.map(|seal| seal.mac.to_hex()),
        }
    }
}
