//! The client-management and admin-token commands, driving the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const SHA256_HEX: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";
const SHA256_ORIGIN: &str = "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU";

fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir)
        .args(args)
        .env_remove("PORTCULLIS_TEST_DATABASE_URL")
        .env("PORTCULLIS_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portcullis");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok_json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = run(dir, args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn confidential(dir: &std::path::Path) -> Value {
    ok_json(
        dir,
        &[
            "client",
            "create",
            "--name",
            "Web",
            "--type",
            "confidential",
            "--redirect-uri",
            "https://app.example/cb",
            "--grant",
            "authorization_code",
            "--scope",
            "openid",
            "--cors-origin",
            "https://app.example",
            "--json",
        ],
    )
}

#[test]
fn client_update_changes_only_the_flags_given_and_lists_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = confidential(d);
    assert_eq!(created["signing_alg"], "ES256");
    let id = created["client_id"].as_str().unwrap();

    let updated = ok_json(
        d,
        &[
            "client",
            "update",
            id,
            "--redirect-uri",
            "https://app.example/a",
            "--redirect-uri",
            "https://app.example/b",
            "--skip-consent",
            "true",
            "--require-app-identity",
            "true",
            "--signing-alg",
            "RS256",
            "--json",
        ],
    );
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://app.example/a", "https://app.example/b"])
    );
    assert_eq!(updated["skip_consent"], true);
    assert_eq!(updated["require_app_identity"], true);
    assert_eq!(updated["signing_alg"], "RS256");
    assert_eq!(updated["client_name"], "Web", "untouched flags stay");
    assert_eq!(
        updated["allowed_cors_origins"],
        serde_json::json!(["https://app.example"])
    );
    assert!(updated.get("client_secret").is_none());

    let updated = ok_json(
        d,
        &[
            "client",
            "update",
            id,
            "--cors-origin",
            "",
            "--enabled",
            "false",
            "--skip-consent",
            "false",
            "--json",
        ],
    );
    assert_eq!(updated["allowed_cors_origins"], serde_json::json!([]));
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["skip_consent"], false);

    let out = run(
        d,
        &[
            "client",
            "update",
            id,
            "--redirect-uri",
            "http://localhost/cb",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("redirect_uris"));
    let out = run(d, &["client", "update", "cli_missing", "--name", "x"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no client cli_missing"));

    let created = ok_json(
        d,
        &[
            "client",
            "create",
            "--name",
            "Svc",
            "--type",
            "confidential",
            "--grant",
            "client_credentials",
            "--signing-alg",
            "RS256",
            "--require-app-identity",
            "--json",
        ],
    );
    assert_eq!(created["signing_alg"], "RS256");
    assert_eq!(created["require_app_identity"], true);
}

#[test]
fn rotate_secret_prints_the_new_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = confidential(d);
    let id = created["client_id"].as_str().unwrap();
    let old = created["client_secret"].as_str().unwrap();
    let rotated = ok_json(d, &["client", "rotate-secret", id, "--json"]);
    let new = rotated["client_secret"].as_str().unwrap();
    assert_eq!(new.len(), 43);
    assert_ne!(new, old);
    let shown = ok_json(d, &["client", "show", id, "--json"]);
    assert!(shown.get("client_secret").is_none());

    let out = run(
        d,
        &["client", "rotate-secret", id, "--grace-seconds", "600"],
        None,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("client_secret: "));

    let public = ok_json(
        d,
        &[
            "client",
            "create",
            "--name",
            "P",
            "--type",
            "public",
            "--redirect-uri",
            "https://p.example/cb",
            "--grant",
            "authorization_code",
            "--json",
        ],
    );
    let out = run(
        d,
        &[
            "client",
            "rotate-secret",
            public["client_id"].as_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "public clients have no secret");
    let out = run(
        d,
        &["client", "rotate-secret", id, "--grace-seconds", "-5"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn app_identities_are_managed_from_the_command_line_in_every_hash_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let client = ok_json(
        d,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--type",
            "public",
            "--application-type",
            "native",
            "--redirect-uri",
            "com.example.app:/cb",
            "--grant",
            "authorization_code",
            "--json",
        ],
    );
    let id = client["client_id"].as_str().unwrap();
    let plain_hex = SHA256_HEX.replace(':', "").to_lowercase();
    let added = ok_json(
        d,
        &[
            "client",
            "app-identity",
            "add",
            id,
            "--platform",
            "android",
            "--app-id",
            "com.example.app",
            "--cert-sha256",
            SHA256_ORIGIN,
            "--cert-sha256",
            &"0F".repeat(32),
            "--cert-sha1",
            "q6urq6urq6urq6urq6urq6urq6s",
            "--json",
        ],
    );
    let identity = added["identity_id"].as_str().unwrap().to_string();
    assert!(added["cert_sha256"]
        .as_array()
        .unwrap()
        .contains(&Value::from(SHA256_HEX)));
    assert_eq!(added["cert_sha1"][0]["legacy"], true);

    // The same hash typed as lower-case plain hex on a second app decodes identically.
    let second = ok_json(
        d,
        &[
            "client",
            "app-identity",
            "add",
            id,
            "--platform",
            "android",
            "--app-id",
            "com.example.app.beta",
            "--cert-sha256",
            &plain_hex,
            "--json",
        ],
    );
    assert_eq!(second["cert_sha256_origins"][0], SHA256_ORIGIN);
    ok_json(
        d,
        &[
            "client",
            "app-identity",
            "add",
            id,
            "--platform",
            "ios",
            "--app-id",
            "com.example.App",
            "--team-id",
            "ABCDE12345",
            "--json",
        ],
    );

    let list = ok_json(d, &["client", "app-identity", "list", id, "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
    let shown = ok_json(d, &["client", "show", id, "--json"]);
    assert_eq!(shown["app_identities"].as_array().unwrap().len(), 3);
    let out = run(d, &["client", "app-identity", "list", id], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains(SHA256_ORIGIN));

    let out = run(
        d,
        &["client", "app-identity", "remove", id, &identity],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        d,
        &["client", "app-identity", "remove", id, &identity],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let list = ok_json(d, &["client", "app-identity", "list", id, "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);

    for (name, hash) in [
        ("too short", "AB:CD"),
        ("sha1 length", &"ab".repeat(20)),
        ("junk", "hello"),
    ] {
        let out = run(
            d,
            &[
                "client",
                "app-identity",
                "add",
                id,
                "--platform",
                "android",
                "--app-id",
                "com.example.other",
                "--cert-sha256",
                hash,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(stderr(&out).contains("base64"), "{name}: {}", stderr(&out));
    }
}

#[test]
fn admin_tokens_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (email, admin) in [("admin@example.com", true), ("user@example.com", false)] {
        let mut args = vec!["user", "create", "--email", email];
        if admin {
            args.push("--admin");
        }
        let out = run(d, &args, Some("correct horse battery\n"));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let created = ok_json(
        d,
        &[
            "admin",
            "token",
            "create",
            "--name",
            "ci",
            "--user",
            "admin@example.com",
            "--json",
        ],
    );
    let token = created["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    let token_id = created["token_id"].as_str().unwrap();
    assert!(token_id.starts_with("adm_"));
    assert_eq!(created["name"], "ci");

    let list = ok_json(d, &["admin", "token", "list", "--json"]);
    assert_eq!(list[0]["token_id"], token_id);
    assert_eq!(list[0]["user"], "admin@example.com");
    assert!(
        !list.to_string().contains(token),
        "listing never shows the token"
    );

    let out = run(d, &["admin", "token", "revoke", token_id], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = ok_json(d, &["admin", "token", "list", "--json"]);
    assert!(list[0]["revoked_at"].is_i64());
    let out = run(d, &["admin", "token", "revoke", "adm_missing"], None);
    assert_eq!(out.status.code(), Some(1));

    let out = run(
        d,
        &[
            "admin",
            "token",
            "create",
            "--name",
            "x",
            "--user",
            "user@example.com",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "only admins get tokens");
    assert!(stderr(&out).contains("not an enabled admin"));
    let out = run(
        d,
        &[
            "admin",
            "token",
            "create",
            "--name",
            "x",
            "--user",
            "nobody@example.com",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_arguments_to_the_new_commands_exit_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = confidential(d)["client_id"].as_str().unwrap().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["client", "update"],
        vec!["client", "update", &id, "--enabled", "maybe"],
        vec!["client", "update", &id, "--signing-alg", "HS256"],
        vec!["client", "update", &id, "--skip-consent", "yes"],
        vec!["client", "update", &id, "--type", "public"],
        vec!["client", "update", &id, "--grant", "implicit"],
        vec!["client", "rotate-secret"],
        vec!["client", "rotate-secret", &id, "--grace-seconds", "soon"],
        vec![
            "client",
            "app-identity",
            "add",
            &id,
            "--platform",
            "windows",
            "--app-id",
            "a.b",
        ],
        vec![
            "client",
            "app-identity",
            "add",
            &id,
            "--platform",
            "android",
            "--app-id",
            "nodots",
            "--cert-sha256",
            SHA256_HEX,
        ],
        vec![
            "client",
            "app-identity",
            "add",
            &id,
            "--platform",
            "android",
            "--app-id",
            "com.example.app",
        ],
        vec![
            "client",
            "app-identity",
            "add",
            &id,
            "--platform",
            "ios",
            "--app-id",
            "com.example.App",
            "--team-id",
            "short",
        ],
        vec!["client", "app-identity", "remove", &id],
        vec!["admin", "token", "create", "--name", "x"],
        vec![
            "admin",
            "token",
            "create",
            "--name",
            "",
            "--user",
            "a@example.com",
        ],
        vec!["admin", "token", "revoke"],
        vec!["admin", "frobnicate"],
    ];
    for args in cases {
        let out = run(d, &args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
