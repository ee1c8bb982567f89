//! The real-browser test: the server on 127.0.0.1, headless Chromium driven through
//! chromedriver. Run by `.ci/browser.sh` (`cargo test --features browser-tests --test browser`).
//! `CHROMEDRIVER` (default `/usr/bin/chromedriver`) and `CHROMIUM` (default `/usr/bin/chromium`)
//! name the binaries.

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::{ClientBuilder, Locator};
use portcullis::config::Settings;
use portcullis::registry::{self, ClientSpec};
use portcullis::storage::{now, StorageError};
use portcullis::AppState;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const PASSWORD: &str = "correct horse battery";

/// Kills the child process it owns when dropped.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn client(state: &AppState, name: &str, redirect: &str) -> String {
    let spec = ClientSpec {
        client_name: name.into(),
        client_type: "public".into(),
        redirect_uris: vec![redirect.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scope: "openid profile".into(),
        enabled: true,
        ..ClientSpec::default()
    };
    state
        .db
        .run_blocking(|conn| {
            registry::create(conn, &spec, "test", now())
                .map(|(c, _)| c.row.client_id)
                .map_err(|e| StorageError::Other(e.to_string()))
        })
        .unwrap()
}

fn authorize_url(issuer: &str, client_id: &str, redirect: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid profile")
        .append_pair("state", state)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{issuer}/authorize?{query}")
}

fn params(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Waits until the browser's URL starts with `prefix`, and returns it.
async fn wait_for_url(browser: &fantoccini::Client, prefix: &str) -> String {
    let start = Instant::now();
    loop {
        let url = browser.current_url().await.unwrap().to_string();
        if url.starts_with(prefix) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "stuck at {url}, waiting for {prefix}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves the real app on `listener`, on its own thread with its own actix system.
fn serve(state: AppState, listener: TcpListener) {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || portcullis::http::build_app(state.clone()))
                .workers(1)
                .listen(listener)
                .unwrap()
                .run()
                .await
        })
    });
}

/// Starts chromedriver and a headless Chromium session with a fresh profile; the driver and
/// the profile live as long as the returned guards.
async fn open_browser() -> (Owned, tempfile::TempDir, fantoccini::Client) {
    let (driver_port_probe, driver_port) = listener();
    drop(driver_port_probe);
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver = Owned(
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}")),
    );
    wait_for_port(driver_port);
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("WebDriver session");
    (driver, profile, browser)
}

#[actix_web::test]
async fn a_browser_logs_in_consents_and_signs_in_to_a_second_app_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let (server_listener, port) = listener();
    let (callback_listener, cb_port) = listener();
    let mut settings = Settings {
        bind: format!("127.0.0.1:{port}"),
        database_url: format!("sqlite://{}", dir.path().join("browser.db").display()),
        master_key: Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32])),
        ..Settings::default()
    };
    settings.database.pool_size = 4;
    let state = AppState::init(settings).expect("app state");
    let issuer = state.issuer.to_string();

    let cb1 = format!("http://127.0.0.1:{cb_port}/cb");
    let cb2 = format!("http://127.0.0.1:{cb_port}/cb2");
    let first = client(&state, "Photo Album", &cb1);
    let second = client(&state, "Notebook", &cb2);
    let row = portcullis::account::users::new_user("browser@example.com", PASSWORD, false, now())
        .unwrap();
    state
        .db
        .run_blocking(|conn| {
            portcullis::account::users::create(conn, &row)
                .map_err(|e| StorageError::Other(e.to_string()))
        })
        .unwrap();

    // The authorization server and a tiny "client" serving the redirect URIs, each on its own
    // thread with its own actix system.
    serve(state.clone(), server_listener);
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(|| {
                actix_web::App::new().default_service(actix_web::web::to(|| async {
                    actix_web::HttpResponse::Ok()
                        .content_type("text/plain")
                        .body("callback reached")
                }))
            })
            .workers(1)
            .listen(callback_listener)
            .unwrap()
            .run()
            .await
        })
    });
    wait_for_port(port);

    let (_driver, _profile, browser) = open_browser().await;

    let result = async {
        // First app: login, then consent.
        browser
            .goto(&authorize_url(&issuer, &first, &cb1, "first-state"))
            .await?;
        wait_for_url(&browser, &format!("{issuer}/login")).await;
        browser
            .find(Locator::Css("#email"))
            .await?
            .send_keys("browser@example.com")
            .await?;
        browser
            .find(Locator::Css("#password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        browser
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        wait_for_url(&browser, &format!("{issuer}/authorize")).await;
        let page = browser.source().await?;
        assert!(
            page.contains("Photo Album"),
            "consent page expected: {page}"
        );
        browser
            .find(Locator::Css("button[value=approve]"))
            .await?
            .click()
            .await?;
        let landed = wait_for_url(&browser, &cb1).await;
        let p = params(&landed);
        assert_eq!(p["state"], "first-state");
        assert_eq!(p["iss"], issuer);
        assert_eq!(p["code"].len(), 43);

        // Second app in the same browser: the session is reused, no password.
        browser
            .goto(&authorize_url(&issuer, &second, &cb2, "second-state"))
            .await?;
        let url = wait_for_url(&browser, &issuer).await;
        assert!(
            url.starts_with(&format!("{issuer}/authorize")),
            "no login page: {url}"
        );
        assert!(browser.find(Locator::Css("#password")).await.is_err());
        browser
            .find(Locator::Css("button[value=approve]"))
            .await?
            .click()
            .await?;
        let landed = wait_for_url(&browser, &cb2).await;
        let p = params(&landed);
        assert_eq!(p["state"], "second-state");
        assert_eq!(p["iss"], issuer);
        assert_eq!(p["code"].len(), 43);
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.close().await;
    result.expect("browser commands");
}

/// A plain HTTP/1.1 POST to `/token` on 127.0.0.1 with Basic client authentication; returns
/// the status code.
fn token_status(port: u16, client_id: &str, secret: &str) -> u16 {
    use std::io::{Read, Write};
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
    ));
    let body = "grant_type=client_credentials";
    let request = format!(
        "POST /token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"))
}

const SHA256_HEX: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";
const SHA256_ORIGIN: &str = "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU";

#[actix_web::test]
async fn an_admin_registers_a_native_client_and_rotates_a_secret_in_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let (server_listener, port) = listener();
    let mut settings = Settings {
        bind: format!("127.0.0.1:{port}"),
        database_url: format!("sqlite://{}", dir.path().join("console.db").display()),
        master_key: Some(base64::engine::general_purpose::STANDARD.encode([9u8; 32])),
        ..Settings::default()
    };
    settings.database.pool_size = 4;
    let state = AppState::init(settings).expect("app state");
    let issuer = state.issuer.to_string();

    let row =
        portcullis::account::users::new_user("admin@example.com", PASSWORD, true, now()).unwrap();
    let backend = ClientSpec {
        client_name: "Billing backend".into(),
        client_type: "confidential".into(),
        redirect_uris: vec!["https://billing.example/cb".into()],
        grant_types: vec!["authorization_code".into(), "client_credentials".into()],
        scope: "api:read".into(),
        enabled: true,
        ..ClientSpec::default()
    };
    let (backend_id, old_secret) = state
        .db
        .run_blocking(|conn| {
            portcullis::account::users::create(conn, &row)
                .map_err(|e| StorageError::Other(e.to_string()))?;
            registry::create(conn, &backend, "test", now())
                .map(|(c, s)| (c.row.client_id, s.unwrap().expose().to_string()))
                .map_err(|e| StorageError::Other(e.to_string()))
        })
        .unwrap();
    serve(state.clone(), server_listener);
    wait_for_port(port);
    assert_eq!(token_status(port, &backend_id, &old_secret), 200);

    let (_driver, _profile, browser) = open_browser().await;
    let result = async {
        // The console sends a visitor to the SSO login page and back.
        browser.goto(&format!("{issuer}/admin")).await?;
        wait_for_url(&browser, &format!("{issuer}/login")).await;
        browser
            .find(Locator::Css("#email"))
            .await?
            .send_keys("admin@example.com")
            .await?;
        browser
            .find(Locator::Css("#password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        browser
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        wait_for_url(&browser, &format!("{issuer}/admin")).await;
        assert!(browser.source().await?.contains("Billing backend"));

        // Register a public native client with a loopback redirect URI.
        browser
            .find(Locator::Css("a.button.primary[href='/admin/clients/new']"))
            .await?
            .click()
            .await?;
        wait_for_url(&browser, &format!("{issuer}/admin/clients/new")).await;
        browser
            .find(Locator::Css("#client_name"))
            .await?
            .send_keys("Phone app")
            .await?;
        browser
            .find(Locator::Css("#application_type"))
            .await?
            .select_by_value("native")
            .await?;
        browser
            .find(Locator::Css("#redirect_uris"))
            .await?
            .send_keys("http://127.0.0.1/callback")
            .await?;
        browser
            .find(Locator::Css("form.stacked button.primary"))
            .await?
            .click()
            .await?;
        let url = wait_for_url(&browser, &format!("{issuer}/admin/clients/cli_")).await;
        let phone_id = url.rsplit('/').next().unwrap().to_string();
        let page = browser.source().await?;
        assert!(page.contains("http://127.0.0.1/callback"), "{page}");
        assert!(page.contains("native"));

        // Add its app key hash.
        browser
            .find(Locator::Css("a[href$='/app-identities/new']"))
            .await?
            .click()
            .await?;
        wait_for_url(
            &browser,
            &format!("{issuer}/admin/clients/{phone_id}/app-identities/new"),
        )
        .await;
        browser
            .find(Locator::Css("#app_id"))
            .await?
            .send_keys("com.example.phone")
            .await?;
        browser
            .find(Locator::Css("#cert_sha256"))
            .await?
            .send_keys(SHA256_HEX)
            .await?;
        browser
            .find(Locator::Css("form.stacked button.primary"))
            .await?
            .click()
            .await?;
        let start = Instant::now();
        loop {
            let url = browser.current_url().await?.to_string();
            if url == format!("{issuer}/admin/clients/{phone_id}") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "stuck at {url}");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        let page = browser.source().await?;
        assert!(page.contains("com.example.phone"), "{page}");
        assert!(page.contains(SHA256_ORIGIN), "{page}");

        // It is listed.
        browser.goto(&format!("{issuer}/admin")).await?;
        let page = browser.source().await?;
        assert!(
            page.contains("Phone app") && page.contains(&phone_id),
            "{page}"
        );
        if let Ok(png) = browser.screenshot().await {
            let _ = std::fs::write(std::env::temp_dir().join("console.png"), png);
        }

        // Rotate the confidential client's secret and read the new one from the page.
        browser
            .goto(&format!("{issuer}/admin/clients/{backend_id}"))
            .await?;
        browser
            .find(Locator::Css("#rotate-secret"))
            .await?
            .click()
            .await?;
        wait_for_url(
            &browser,
            &format!("{issuer}/admin/clients/{backend_id}/secret"),
        )
        .await;
        let new_secret = browser
            .find(Locator::Css("#client-secret"))
            .await?
            .text()
            .await?;
        Ok::<String, fantoccini::error::CmdError>(new_secret.trim().to_string())
    }
    .await;
    let _ = browser.close().await;
    let new_secret = result.expect("browser commands");
    assert_eq!(new_secret.len(), 43);
    assert_ne!(new_secret, old_secret);
    assert_eq!(token_status(port, &backend_id, &new_secret), 200);
    assert_eq!(token_status(port, &backend_id, &old_secret), 401);
}
