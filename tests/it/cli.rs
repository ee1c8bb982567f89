//! The binary as an operator meets it: fresh start, bad arguments, bad configuration.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn portcullis(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("PORTCULLIS_TEST_DATABASE_URL")
        .env("PORTCULLIS_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run portcullis");
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

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn management_commands_create_the_database_and_master_key_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis(dir.path(), &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("data/portcullis.db").exists());

    let out = portcullis(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "admin@example.com",
            "--admin",
            "--json",
        ],
        Some("s3cret-password\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let user: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(user["email"], "admin@example.com");
    assert_eq!(user["is_admin"], true);
    assert!(!text(&out.stdout).contains("s3cret-password"));

    let out = portcullis(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Svc",
            "--type",
            "confidential",
            "--grant",
            "client_credentials",
            "--scope",
            "api:read api:write",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let client: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(client["scope"], "api:read api:write");
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(client["client_secret"].as_str().unwrap().len(), 43);

    let id = client["client_id"].as_str().unwrap();
    let out = portcullis(dir.path(), &["client", "show", id, "--json"], None);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is shown only once"
    );

    let out = portcullis(dir.path(), &["keys", "list", "--json"], None);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(dir.path().join("data/master.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn test_suite_variables_are_not_mistaken_for_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir.path())
        .arg("migrate")
        .env(
            "PORTCULLIS_TEST_DATABASE_URL",
            "postgres://example.invalid/x",
        )
        .env("PORTCULLIS_BENCH_FOO", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["frobnicate"],
        vec!["client", "create", "--name", "x"],
        vec!["client", "create", "--name", "x", "--type", "secret"],
        vec!["--config", "missing.toml", "migrate"],
        vec!["migrate", "--config", "missing.toml"],
    ] {
        let out = portcullis(dir.path(), &args, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn invalid_client_registrations_are_refused_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "x",
            "--type",
            "public",
            "--redirect-uri",
            "https://a.example/cb#frag",
            "--grant",
            "authorization_code",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("redirect_uris"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_configuration_names_the_setting_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "bind = \"nonsense\"\n").unwrap();
    std::fs::write(dir.path().join("unknown.toml"), "bnd = \"127.0.0.1:1\"\n").unwrap();
    std::fs::write(
        dir.path().join("nested.toml"),
        "[tokens]\naccess_ttl_seconds = -5\n",
    )
    .unwrap();
    for (file, key) in [
        ("bad.toml", "bind"),
        ("unknown.toml", "bnd"),
        ("nested.toml", "tokens.access_ttl_seconds"),
    ] {
        let out = portcullis(dir.path(), &["--config", file, "migrate"], None);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = text(&out.stderr);
        assert!(err.contains(key), "{file}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir.path())
        .arg("migrate")
        .env("PORTCULLIS_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("database_url"));
}

#[test]
fn an_unreachable_database_is_a_one_line_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir.path())
        .arg("migrate")
        .env(
            "PORTCULLIS_DATABASE_URL",
            "postgres://nobody:pw@127.0.0.1:1/db",
        )
        .env("PORTCULLIS_LOG_LEVEL", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("database_url"), "{err}");
    assert!(!err.contains("pw@"), "the password is never printed: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "fails fast"
    );
}

#[test]
fn a_corrupt_master_key_stops_startup_without_touching_data() {
    let dir = tempfile::tempdir().unwrap();
    assert!(portcullis(dir.path(), &["migrate"], None).status.success());
    std::fs::write(dir.path().join("data/master.key"), "garbage\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir.path())
        .env("PORTCULLIS_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("master_key_file"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/master.key")).unwrap(),
        "garbage\n"
    );
}

#[test]
fn a_password_is_never_taken_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "x",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = portcullis(
        dir.path(),
        &["user", "create", "--email", "a@example.com"],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(2), "short passwords are refused");
}

#[cfg(unix)]
#[test]
fn a_database_in_a_read_only_folder_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    if unsafe_is_root() {
        // root ignores directory permissions; the case cannot be staged.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir.path())
        .arg("migrate")
        .env("PORTCULLIS_DATABASE_URL", "sqlite://ro/db/p.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("database"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_database_folder_that_cannot_be_created_is_a_clear_error() {
    // Stageable even as root: the database's folder would have to be created inside a file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-folder"), "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir.path())
        .arg("migrate")
        .env("PORTCULLIS_DATABASE_URL", "sqlite://not-a-folder/db/p.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("database"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("not-a-folder")).unwrap(),
        "x"
    );
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn resource_commands_register_list_and_delete_audiences() {
    let dir = tempfile::tempdir().unwrap();
    let create = |args: &[&str]| {
        let mut all = vec!["resource", "create"];
        all.extend_from_slice(args);
        portcullis(dir.path(), &all, None)
    };
    let out = create(&[
        "--audience",
        "https://api.example.com",
        "--scope",
        "api:read api:write",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["audience"], "https://api.example.com");
    assert_eq!(
        created["scopes"],
        serde_json::json!(["api:read", "api:write"])
    );

    for (what, args) in [
        (
            "scope owned elsewhere",
            vec!["--audience", "https://b.example.com", "--scope", "api:read"],
        ),
        (
            "same audience",
            vec!["--audience", "https://api.example.com", "--scope", "x"],
        ),
        (
            "relative audience",
            vec!["--audience", "api", "--scope", "y"],
        ),
        (
            "fragment",
            vec!["--audience", "https://c.example.com/#f", "--scope", "y"],
        ),
        (
            "oidc scope",
            vec!["--audience", "https://d.example.com", "--scope", "openid"],
        ),
        (
            "unknown introspection client",
            vec![
                "--audience",
                "https://e.example.com",
                "--scope",
                "z",
                "--introspection-client",
                "cli_nope",
            ],
        ),
    ] {
        let out = create(&args);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out.stdout));
        assert!(!text(&out.stderr).is_empty(), "{what}");
    }

    let out = portcullis(dir.path(), &["resource", "list", "--json"], None);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let out = portcullis(
        dir.path(),
        &["resource", "delete", "https://api.example.com"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = portcullis(
        dir.path(),
        &["resource", "delete", "https://api.example.com"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_key_rotation_from_the_command_line_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis(
        dir.path(),
        &["keys", "rotate", "--alg", "RS256", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(key["state"], "pending");
    let settings = portcullis::config::Settings {
        database_url: format!(
            "sqlite://{}",
            dir.path().join("data/portcullis.db").display()
        ),
        ..portcullis::config::Settings::default()
    };
    let db = portcullis::open_database(&settings).unwrap();
    let events = db
        .run_blocking(|conn| portcullis::storage::audit::recent(conn, 10))
        .unwrap();
    let rotated = events
        .iter()
        .find(|e| e.event == "signing_key_rotated")
        .expect("audited");
    assert_eq!(rotated.actor.as_deref(), Some("cli"));
    assert!(rotated.detail.contains(key["kid"].as_str().unwrap()));
}
