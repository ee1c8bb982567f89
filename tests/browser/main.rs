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
    let app_state = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || portcullis::http::build_app(app_state.clone()))
                .workers(1)
                .listen(server_listener)
                .unwrap()
                .run()
                .await
        })
    });
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

    let (driver_port_probe, driver_port) = listener();
    drop(driver_port_probe);
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let _driver = Owned(
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
                "--disable-component-update", "--disable-sync",
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
