//! What holds for every operation, added to the rendered document in one pass rather than
//! repeated on each handler: the server, the answers any route can give (a bad `Host` header,
//! a method the path does not serve), the public operations' empty security, empty filter
//! values, and the links from a created record to the operations that take its id.

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Query parameters that are not filters: an empty value is an error there.
const PAGING: [&str; 2] = ["page", "page_size"];

/// A created record's own id, and a new mapping's patient id.
const ITS_ID: &str = "$response.body#/id";
const ITS_PATIENT: &str = "$response.body#/patient";

/// The operations a created record's id leads to: (creating operation, operation that takes
/// the id, the id's runtime expression). Each link is named after the operation it leads to.
const LINKS: [(&str, &str, &str); 17] = [
    ("create_patient", "get_patient", ITS_ID),
    ("create_patient", "replace_patient", ITS_ID),
    ("create_patient", "patch_patient", ITS_ID),
    ("create_patient", "delete_patient", ITS_ID),
    ("create_patient", "patient_assignments", ITS_ID),
    ("create_doctor", "get_doctor", ITS_ID),
    ("create_doctor", "replace_doctor", ITS_ID),
    ("create_doctor", "patch_doctor", ITS_ID),
    ("create_doctor", "delete_doctor", ITS_ID),
    ("assign_doctor", "update_mapping_notes", ITS_ID),
    ("assign_doctor", "remove_mapping", ITS_ID),
    // The by-patient view takes the mapping's patient id, not the mapping's own.
    ("assign_doctor", "patient_assignments", ITS_PATIENT),
    ("assign_doctor", "get_patient", ITS_PATIENT),
    ("create_clinic", "get_clinic", ITS_ID),
    ("create_clinic", "rename_clinic", ITS_ID),
    ("create_clinic", "list_clinic_members", ITS_ID),
    ("create_clinic", "invite_to_clinic", ITS_ID),
];

/// Applies the conventions to a rendered document.
pub fn apply(document: &mut Value) {
    document["servers"] = json!([{
        "url": "/",
        "description": "The host that serves this document (every path starts with `/api/` or `/health/`)."
    }]);
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                apply_to_operation(operation);
            }
        }
    }
    add_links(paths);
}

fn apply_to_operation(operation: &mut Map<String, Value>) {
    operation.entry("security").or_insert_with(|| json!([]));
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters.iter_mut().filter(|p| is_filter(p)) {
            parameter["allowEmptyValue"] = json!(true);
            append_description(parameter, " Empty: not filtered.");
        }
    }
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    match responses.get_mut("400") {
        Some(existing) => append_description(
            existing,
            " Also `{\"detail\": ...}` for a `Host` header that names no allowed host.",
        ),
        None => {
            responses.insert(
                "400".to_owned(),
                json!({
                    "description": "The `Host` header names no allowed host.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}}
                }),
            );
        }
    }
    responses.insert(
        "405".to_owned(),
        json!({
            "description": "The path exists, but not with this method (any method the document does not list for it).",
            "headers": {"Allow": {"description": "The methods the path serves.", "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}}
        }),
    );
}

fn is_filter(parameter: &Value) -> bool {
    parameter["in"] == "query"
        && parameter["name"]
            .as_str()
            .is_some_and(|name| !PAGING.contains(&name))
}

fn append_description(object: &mut Value, addition: &str) {
    let description = object["description"].as_str().unwrap_or_default();
    object["description"] = json!(format!("{description}{addition}"));
}

fn add_links(paths: &mut Map<String, Value>) {
    let creators = paths
        .values_mut()
        .filter_map(|item| item.get_mut("post"))
        .filter(|operation| LINKS.iter().any(|link| operation["operationId"] == link.0));
    for operation in creators {
        let creator = operation["operationId"].clone();
        for (_, target, id) in LINKS.iter().filter(|link| creator == link.0) {
            operation["responses"]["201"]["links"][*target] = json!({
                "operationId": target,
                "parameters": {"id": id},
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_names_a_creator_and_a_target_of_the_document() {
        let built = crate::openapi::ApiDocument::build(crate::routes::configure);
        let document: Value = serde_json::from_str(built.json()).expect("the document is JSON");
        let operation_ids: Vec<&str> = document["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| {
                METHODS
                    .iter()
                    .filter_map(|m| item[*m]["operationId"].as_str())
            })
            .collect();
        for (creator, target, _) in LINKS {
            assert!(operation_ids.contains(&creator), "{creator}");
            assert!(operation_ids.contains(&target), "{target}");
            let link = document["paths"]
                .as_object()
                .expect("paths")
                .values()
                .find(|item| item["post"]["operationId"] == creator)
                .map(|item| &item["post"]["responses"]["201"]["links"][target]);
            assert_eq!(link.map(|l| &l["operationId"]), Some(&json!(target)));
        }
    }
}
