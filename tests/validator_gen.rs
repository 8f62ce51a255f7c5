//! The `$jsonSchema` generator: exact documents for each spec feature. Pure: no server.

use bson::{Bson, doc};
use mongrate::spec::jsonschema::collection_validator;
use mongrate::spec::{self, DatabaseSource};
use std::path::PathBuf;

fn validator_of(text: &str) -> bson::Document {
    let loaded = spec::check_sources(&[DatabaseSource {
        name: "app".into(),
        database_file: None,
        unreadable: Vec::new(),
        problems: Vec::new(),
        collection_files: vec![(PathBuf::from("app/things.yaml"), text.to_string())],
    }]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    collection_validator(loaded.spec.collection("app", "things").expect("collection"))
}

#[test]
fn full_document_for_every_keyword() {
    let v = validator_of(
        r#"
description: Things.
validation: { additional_fields: deny }
fields:
  name: { type: string, required: true, min_length: 1, max_length: 100, pattern: '^\w+$', description: The name. }
  status: { type: string, nullable: true, enum: [new, done], default: new }
  rating: { type: int, minimum: 1, maximum: 5 }
  score: { type: [int, double] }
  tags: { type: array, items: { type: string }, min_items: 1, max_items: 10, unique_items: true, default: [a] }
  meta: { type: any }
  owner:
    type: object
    additional_fields: deny
    fields:
      id: { type: object_id, required: true }
      key: { type: uuid }
"#,
    );
    let expected = doc! {
        "$jsonSchema": {
            "bsonType": "object",
            "description": "Things.",
            "required": ["name"],
            "properties": {
                "_id": {},
                "meta": {},
                "name": { "bsonType": "string", "description": "The name.", "pattern": "^\\w+$", "minLength": 1, "maxLength": 100 },
                "owner": {
                    "bsonType": "object",
                    "required": ["id"],
                    "properties": { "id": { "bsonType": "objectId" }, "key": { "bsonType": "binData" } },
                    "additionalProperties": false,
                },
                "rating": { "bsonType": "int", "minimum": 1, "maximum": 5 },
                "score": { "bsonType": ["int", "double"] },
                "status": { "bsonType": ["string", "null"], "enum": ["new", "done", Bson::Null] },
                "tags": { "bsonType": "array", "items": { "bsonType": "string" }, "minItems": 1, "maxItems": 10, "uniqueItems": true },
            },
            "additionalProperties": false,
        }
    };
    assert_eq!(v, expected, "\n{v:#}\n!=\n{expected:#}");
}

#[test]
fn no_default_and_no_empty_required() {
    let v = validator_of("fields:\n  a: { type: string, default: x }\n");
    let text = v.to_string();
    assert!(!text.contains("default"), "{text}");
    assert!(
        v.get_document("$jsonSchema")
            .unwrap()
            .get("required")
            .is_none()
    );
}

#[test]
fn output_is_deterministic_whatever_the_declaration_order() {
    let a = validator_of(
        "fields:\n  b: { type: int, required: true }\n  a: { type: string, required: true }\n",
    );
    let b = validator_of(
        "fields:\n  a: { type: string, required: true }\n  b: { type: int, required: true }\n",
    );
    assert_eq!(bson::to_vec(&a).unwrap(), bson::to_vec(&b).unwrap());
}

#[test]
fn double_defaults_are_stored_as_doubles() {
    // `temperature: 0.7` and `price: 0` on a double field must both be BSON doubles, or the
    // validator would refuse the documents backfill writes.
    let loaded = spec::check_sources(&[DatabaseSource {
        name: "app".into(),
        database_file: None,
        unreadable: Vec::new(),
        problems: Vec::new(),
        collection_files: vec![(
            PathBuf::from("app/things.yaml"),
            "fields:\n  price: { type: double, default: 0 }\n".into(),
        )],
    }]);
    let f = loaded
        .spec
        .collection("app", "things")
        .unwrap()
        .fields
        .get("price")
        .unwrap();
    assert_eq!(
        f.more().default.as_deref(),
        Some(&spec::DefaultValue::Value(Bson::Double(0.0)))
    );
}
