//! Bundles: a search's `searchset` (with `self`, `next` and `previous` links that seek by
//! sort key, so paging is stable while records are added) and an instance's `history`.

use healthcare_domain::record_search::{SearchPage, Seek, SeekKey};
use serde::Serialize;
use serde_json::{Value, json};

use crate::params::{Pairs, encode_seek};
use crate::resources::instant;

/// `url` with `pairs` as its query string.
pub fn with_query(url: &str, pairs: &Pairs) -> String {
    if pairs.is_empty() {
        return url.to_owned();
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{url}?{query}")
}

/// A Bundle's link.
#[derive(Serialize)]
pub struct Link {
    relation: &'static str,
    url: String,
}

/// The link to the page at `seek` of the search at `url` with `pairs` (its parameters but
/// `_page`).
fn page_link(relation: &'static str, url: &str, pairs: &Pairs, seek: &Seek) -> Link {
    let mut pairs = pairs.clone();
    if let Some(page) = encode_seek(seek) {
        pairs.push(("_page".into(), page));
    }
    Link {
        relation,
        url: with_query(url, &pairs),
    }
}

/// One match of a search: its sort key, `fullUrl` and resource.
pub struct Match<R> {
    /// Where the record is in the search's order.
    pub key: SeekKey,
    /// The resource's absolute URL.
    pub full_url: String,
    /// The resource.
    pub resource: R,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchEntry<R> {
    full_url: String,
    resource: R,
    search: EntrySearch,
}

#[derive(Serialize)]
struct EntrySearch {
    mode: &'static str,
}

/// A `searchset` Bundle, serialized as it is (typed: a page of resources is the hot path).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Searchset<R> {
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<SearchEntry<R>>,
}

/// A `searchset` Bundle for the page `page` of the search at `url` (`pairs`: its parameters
/// but `_page`; `seek`: this page's position).
pub fn searchset<R: Serialize>(
    url: &str,
    pairs: &Pairs,
    seek: &Seek,
    page: SearchPage<Match<R>>,
) -> Searchset<R> {
    let mut link = vec![page_link("self", url, pairs, seek)];
    if page.has_next
        && let Some(last) = page.items.last()
    {
        link.push(page_link(
            "next",
            url,
            pairs,
            &Seek::After(last.key.clone()),
        ));
    }
    if page.has_previous
        && let Some(first) = page.items.first()
    {
        link.push(page_link(
            "previous",
            url,
            pairs,
            &Seek::Before(first.key.clone()),
        ));
    }
    let entry = page
        .items
        .into_iter()
        .map(|found| SearchEntry {
            full_url: found.full_url,
            resource: found.resource,
            search: EntrySearch { mode: "match" },
        })
        .collect();
    Searchset {
        resource_type: "Bundle",
        kind: "searchset",
        total: page.total,
        link,
        entry,
    }
}

/// One version of a record in its history.
pub struct Version {
    /// The version number.
    pub version: i64,
    /// When it was stored.
    pub stored_at: healthcare_domain::Timestamp,
    /// Whether this version deleted the record (then it carries no resource).
    pub deleted: bool,
    /// The resource as it was.
    pub resource: Value,
}

impl Version {
    /// A record's version as it was stored (`archived_at`: set on a version that deleted it).
    pub fn of(
        version: i64,
        stored_at: healthcare_domain::Timestamp,
        archived_at: Option<healthcare_domain::Timestamp>,
        resource: Value,
    ) -> Self {
        Self {
            version,
            stored_at,
            deleted: archived_at.is_some(),
            resource,
        }
    }
}

/// A `history` Bundle of one record (`reference`: `Type/id`), newest first; `next` continues
/// below the last version shown.
pub fn history(base: &str, reference: &str, versions: Vec<Version>, next: Option<String>) -> Value {
    let url = format!("{base}/{reference}/_history");
    let mut links = vec![json!({"relation": "self", "url": url})];
    if let Some(next) = next {
        links.push(json!({"relation": "next", "url": next}));
    }
    let entries: Vec<Value> = versions
        .into_iter()
        .map(|version| {
            let (method, status) = match (version.deleted, version.version) {
                (true, _) => ("DELETE", "204 No Content"),
                (false, 1) => ("POST", "201 Created"),
                (false, _) => ("PUT", "200 OK"),
            };
            // A create is addressed to the type, a change to the instance.
            let request_url = match method {
                "POST" => reference.split('/').next().unwrap_or(reference),
                _ => reference,
            };
            let mut entry = json!({
                "fullUrl": format!("{base}/{reference}"),
                "request": {"method": method, "url": request_url},
                "response": {"status": status, "etag": format!("W/\"{}\"", version.version),
                             "lastModified": instant(version.stored_at)},
            });
            if !version.deleted {
                entry["resource"] = version.resource;
            }
            entry
        })
        .collect();
    let mut bundle = json!({"resourceType": "Bundle", "type": "history", "link": links});
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}
