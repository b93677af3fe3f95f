//! GraphiQL with no internet, in a real browser: `crm serve` with GraphiQL on, loaded by headless
//! Chromium (Debian's `chromium` package) whose resolver fails every host name and address but
//! 127.0.0.1, so a file the page wanted from a CDN would not load and the page would stay on
//! "Loading...". The DOM after ten seconds of virtual time must be GraphiQL's rendered UI.
//!
//! Without /usr/bin/chromium the test fails (it is never skipped): install Debian's `chromium`
//! package (`apt-get install -y chromium`), as `.ci/run` does.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `crm serve` on an empty data directory with GraphiQL switched on by the config file; returns
/// the process and its base URL (the first line it prints).
fn serve(dir: &Path) -> (Killed, String) {
    let config = dir.join("crm.toml");
    std::fs::write(&config, "graphiql = true\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    // Keep reading: a closed pipe would fail the server's next line.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let url = first.split_whitespace().last().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    (child, url)
}

/// The DOM of `url` after `--virtual-time-budget` ms of virtual time, with every host name and
/// address but 127.0.0.1 unresolvable.
fn dump_dom(url: &str, profile: &Path) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test needs a real browser; install Debian's `chromium` \
         package (apt-get install -y chromium), as .ci/run does"
    );
    let mut child = Killed(
        Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
            .args(["--virtual-time-budget=10000", "--dump-dom", url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = child.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        stdout.read_to_string(&mut dom).map(|_| dom)
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "chromium ran for more than 90 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium exited with {status}");
    reader.join().unwrap().unwrap()
}

#[test]
fn graphiql_renders_with_no_network_but_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = serve(dir.path());
    let dom = dump_dom(&format!("{url}/graphiql"), &dir.path().join("chromium"));
    // The body (the head holds GraphiQL's inserted styles), or a Chromium error page's.
    let body = dom.find("<body").unwrap_or(0);
    let excerpt: String = dom[body..].chars().take(2000).collect();
    // GraphiQL's own layout and its query editor (CodeMirror) with the default query in it.
    for rendered in [
        "graphiql-container",
        "graphiql-query-editor",
        "CodeMirror",
        "graphiql-execute-button",
    ] {
        assert!(
            dom.contains(rendered),
            "GraphiQL did not render (no {rendered:?}); the body begins:\n{excerpt}"
        );
    }
    assert!(
        !dom.contains("Loading..."),
        "the page stayed on Loading...; the body begins:\n{excerpt}"
    );
}
