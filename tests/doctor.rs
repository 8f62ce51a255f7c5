//! `mongrate doctor` against real servers: a healthy replica set (exit 0), a 3-member set with
//! access control and a member down (exit 2, the member named), and a user lacking a privilege
//! (exit 2, the action and the step named).

mod support;

use support::{mongrate, unique_db};

/// Runs doctor twice (JSON, then text) against a server that is not changing; both must agree.
fn doctor(uri: &str, schemas: &std::path::Path, state: &str) -> (i32, serde_json::Value, String) {
    let (code, v, text_code, text) = doctor_both(uri, schemas, state);
    assert_eq!(code, text_code, "{text}");
    (code, v, text)
}

/// The JSON run and the text run with their own exit codes (they may differ while a member dies).
fn doctor_both(
    uri: &str,
    schemas: &std::path::Path,
    state: &str,
) -> (i32, serde_json::Value, i32, String) {
    let json = mongrate()
        .args(["doctor", "--format", "json", "--schemas"])
        .arg(schemas)
        .args(["--state-db", state, "--uri", uri])
        .output()
        .unwrap();
    support::json_schema::assert_shape("doctor", &json.stdout);
    let text = mongrate()
        .args(["doctor", "--schemas"])
        .arg(schemas)
        .args(["--state-db", state, "--uri", uri])
        .output()
        .unwrap();
    (
        json.status.code().unwrap_or(-1),
        serde_json::from_slice(&json.stdout).unwrap(),
        text.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&text.stdout).into_owned(),
    )
}

#[test]
fn a_healthy_set_has_no_problems() {
    let db = unique_db("doc_ok");
    let schemas = support::one_collection_schemas(
        &db,
        "orders",
        "fields:\n  email: { type: string }\nindexes:\n  - keys: { email: 1 }\n",
    );
    let (code, v, text) = doctor(
        &support::server_uri(),
        schemas.path(),
        &format!("{db}_state"),
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(v["server"]["topology"], "replica_set");
    assert_eq!(v["server"]["version"], "6.0.5");
    assert_eq!(v["server"]["members"][0]["state"], "PRIMARY");
    assert!(v["server"]["max_index_builds"].as_i64().unwrap() >= 1);
    assert_eq!(
        v["project"]["plan_steps"], 2,
        "create the collection, build the index"
    );
    assert!(text.contains("No problems found."), "{text}");
}

/// On a 3-member set with access control (a keyfile between members), as its `root` user.
#[test]
fn a_member_down_is_a_problem_naming_it() {
    let (uri, pids) = support::private_replset(3, &["--auth"]);
    let db = unique_db("doc_down");
    let schemas =
        support::one_collection_schemas(&db, "orders", "fields:\n  email: { type: string }\n");
    let (code, v, _) = doctor(&uri, schemas.path(), &format!("{db}_state"));
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["user"]["access_control"], true);
    assert_eq!(v["user"]["users"][0], "root@admin");
    assert_eq!(v["server"]["members"].as_array().unwrap().len(), 3);
    // Stop a secondary: the primary soon sees it unreachable.
    let primary = v["server"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .position(|m| m["state"] == "PRIMARY")
        .unwrap();
    let victim = (primary + 1) % 3;
    let host = v["server"]["members"][victim]["host"]
        .as_str()
        .unwrap()
        .to_string();
    // SAFETY: kill(2) of a mongod this test started.
    unsafe {
        libc::kill(pids[victim] as libc::pid_t, libc::SIGKILL);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        // The member may die between the JSON run and the text run: wait until both see it.
        let (code, v, text_code, text) = doctor_both(&uri, schemas.path(), &format!("{db}_state"));
        if code == 2 && text_code == 2 {
            let problems = v["problems"].to_string();
            assert!(
                problems.contains(&format!("member {host} is")),
                "{problems}"
            );
            assert!(text.contains(&format!("!! {host}")), "{text}");
            break;
        }
        assert!(code == 0 || code == 2, "{text}");
        assert!(
            std::time::Instant::now() < deadline,
            "the member was never reported down: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[tokio::test]
async fn a_user_lacking_a_privilege_is_told_which_and_for_what() {
    let root = mongodb::Client::with_uri_str(support::auth_server_uri())
        .await
        .unwrap();
    let db = unique_db("doc_auth");
    let state = format!("{db}_state");
    let user = format!("{db}_rw");
    root.database("admin")
        .run_command(bson::doc! {
            "createUser": &user, "pwd": "pw",
            "roles": [{ "role": "readWrite", "db": &db }, { "role": "readWrite", "db": &state }],
        })
        .await
        .unwrap();
    root.database(&db)
        .collection::<bson::Document>("orders")
        .insert_one(bson::doc! { "email": "a@example.com" })
        .await
        .unwrap();
    let schemas = support::one_collection_schemas(
        &db,
        "orders",
        "fields:\n  email: { type: string, required: true }\n",
    );
    let root_uri = support::auth_server_uri();
    let (scheme, rest) = root_uri.split_once("://").unwrap();
    let hosts = rest.split_once('@').unwrap().1;
    let (code, v, text) = doctor(
        &format!("{scheme}://{user}:pw@{hosts}"),
        schemas.path(),
        &state,
    );
    assert_eq!(code, 2, "{text}");
    assert_eq!(v["user"]["access_control"], true);
    assert_eq!(v["user"]["users"][0], format!("{user}@admin"));
    let grants = v["user"]["grants"].as_array().unwrap();
    assert_eq!(grants[0]["database"], db.as_str());
    assert_eq!(grants[0]["missing"], serde_json::json!(["collMod"]));
    assert_eq!(
        grants[1]["missing"],
        serde_json::json!([]),
        "the state database is writable"
    );
    assert_eq!(
        v["server"]["feature_compatibility_version"],
        serde_json::Value::Null
    );
    let problems = v["problems"].to_string();
    assert!(
        problems.contains(&format!("lacks collMod on {db}")),
        "{problems}"
    );
    assert!(
        problems.contains("the plan cannot run: set_validator"),
        "{problems}"
    );
    assert!(!text.contains(":pw@"), "no password printed");
}
