//! A headless Chromium driven over the DevTools protocol (one WebSocket, one page target in
//! flat session mode): navigate, evaluate JavaScript, wait for a condition, take a screenshot.
//! Every request the page makes is recorded (`Network.requestWillBeSent`, with its body), and
//! so are the WebSocket messages it sends and receives, uncaught exceptions and console errors,
//! to explain a failure.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a condition may take to hold before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// A child process killed when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Browser {
    // Dropped after the socket: the process outlives the connection.
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    _chromium: Killed,
    session: String,
    next_id: u64,
    /// Every URL the page requested, in order.
    pub requests: Vec<String>,
    /// The body of every request that had one (the GraphQL POSTs), in order.
    pub bodies: Vec<String>,
    /// Every WebSocket message the page received, in order.
    pub ws_received: Vec<String>,
    /// Uncaught exceptions and console errors, in order.
    pub problems: Vec<String>,
}

impl Browser {
    /// Chromium with a fresh profile in `profile`, every host name and address but 127.0.0.1
    /// unresolvable, and one blank page of 1280 × 900 CSS pixels.
    pub fn launch(profile: &Path) -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: this test needs a real browser; install Debian's `chromium` \
             package (apt-get install -y chromium), as .ci/run does"
        );
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let chromium = Killed(child);
        // Chromium says where its DevTools socket listens on stderr; the rest is drained.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
            }
        });
        let endpoint = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium did not say where its DevTools socket listens within 60 s");
        let (socket, _) = tungstenite::connect(endpoint.as_str()).unwrap();
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(WAIT)).unwrap();
        }
        let mut browser = Browser {
            socket,
            _chromium: chromium,
            session: String::new(),
            next_id: 0,
            requests: Vec::new(),
            bodies: Vec::new(),
            ws_received: Vec::new(),
            problems: Vec::new(),
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target = target["targetId"].as_str().unwrap().to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page.enable", "Runtime.enable", "Network.enable"] {
            browser.call(domain, json!({}));
        }
        browser.viewport(900);
        browser
    }

    fn viewport(&mut self, height: u64) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
    }

    /// Sends one command (to the page's session once attached) and returns its result,
    /// recording the events that arrive meanwhile. A protocol error fails the test.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .unwrap();
        loop {
            let message = self.socket.read().unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"].as_u64() == Some(id) {
                assert!(
                    value.get("error").is_none(),
                    "{method} failed: {}",
                    value["error"]
                );
                return value["result"].clone();
            }
            self.record(&value);
        }
    }

    fn record(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Network.requestWillBeSent") => {
                if let Some(url) = params["request"]["url"].as_str() {
                    self.requests.push(url.to_string());
                }
                let request = &params["request"];
                if let Some(body) = request["postData"].as_str() {
                    self.bodies.push(body.to_string());
                } else if let Some(entries) = request["postDataEntries"].as_array() {
                    // Newer protocol versions give the body as base64 entries only.
                    let bytes: Vec<u8> = entries
                        .iter()
                        .filter_map(|e| e["bytes"].as_str())
                        .filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                        .flatten()
                        .collect();
                    self.bodies
                        .push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            Some("Network.webSocketFrameReceived") => {
                if let Some(payload) = params["response"]["payloadData"].as_str() {
                    self.ws_received.push(payload.to_string());
                }
            }
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                self.problems.push(format!(
                    "exception: {} {}",
                    details["text"], details["exception"]["description"]
                ));
            }
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                self.problems
                    .push(format!("console.error: {}", params["args"]));
            }
            _ => {}
        }
    }

    pub fn goto(&mut self, url: &str) {
        let navigated = self.call("Page.navigate", json!({ "url": url }));
        assert!(
            navigated.get("errorText").is_none(),
            "{url}: {}",
            navigated["errorText"]
        );
    }

    /// The value of a JavaScript expression (awaited when it is a promise).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// The trimmed text of the first element matching `selector`, or null.
    pub fn text(&mut self, selector: &str) -> Value {
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); return e ? e.textContent.trim() : null; }})()",
            json!(selector)
        ))
    }

    /// An attribute of the first element matching `selector`, or null.
    pub fn attribute(&mut self, selector: &str, name: &str) -> Value {
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); return e ? e.getAttribute({}) : null; }})()",
            json!(selector),
            json!(name)
        ))
    }

    /// What `read` gives once it gives `expected`, or what it last gave after [`WAIT`]: a page
    /// that is still rendering (the previous query's figures, or none while it loads) is given
    /// the time to show the new ones, and a wrong figure is still a wrong figure.
    fn settled(&mut self, expected: &Value, mut read: impl FnMut(&mut Self) -> Value) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let shown = read(self);
            if &shown == expected || Instant::now() >= deadline {
                return shown;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Browser::text`] once it reads `expected` (or what it reads after [`WAIT`]).
    pub fn text_settled(&mut self, selector: &str, expected: &Value) -> Value {
        self.settled(expected, |b| b.text(selector))
    }

    /// [`Browser::attribute`] once it reads `expected` (or what it reads after [`WAIT`]).
    pub fn attribute_settled(&mut self, selector: &str, name: &str, expected: &Value) -> Value {
        self.settled(expected, |b| b.attribute(selector, name))
    }

    /// Clicks the first element matching `selector`, which must exist.
    pub fn click(&mut self, selector: &str) {
        let clicked = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
            json!(selector)
        ));
        assert_eq!(clicked, json!(true), "nothing to click at {selector}");
    }

    /// Types `value` into the input or textarea at `selector` as a user would (an input event).
    pub fn type_into(&mut self, selector: &str, value: &str) {
        let typed = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; \
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); return true; }})()",
            json!(selector),
            json!(value)
        ));
        assert_eq!(typed, json!(true), "nothing to type into at {selector}");
    }

    /// Chooses `value` in the select at `selector` as a user would (a change event).
    pub fn choose(&mut self, selector: &str, value: &str) {
        let chosen = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; \
             e.dispatchEvent(new Event('change', {{ bubbles: true }})); return e.value; }})()",
            json!(selector),
            json!(value)
        ));
        assert_eq!(chosen, json!(value), "cannot choose {value} at {selector}");
    }

    /// Waits until `selector` matches an element; fails with the page's text and problems.
    pub fn wait_for(&mut self, selector: &str) {
        let expression = format!("document.querySelector({}) !== null", json!(selector));
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.eval(&expression) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let body = self.eval("document.body ? document.body.innerText.slice(0, 1500) : ''");
        let html = self.eval("document.body ? document.body.innerHTML.slice(0, 3000) : ''");
        let at = self.eval("window.location.href");
        panic!(
            "{selector} did not appear within {WAIT:?} at {at}; the page shows:\n{}\nproblems: \
             {:?}\nits HTML begins: {}",
            body.as_str().unwrap_or(""),
            self.problems,
            html.as_str().unwrap_or("")
        );
    }

    /// A PNG of the whole page (up to 4,000 px tall) at 1280 px wide, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        // Charts draw on the next animation frame.
        self.eval("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(900.0)
            .clamp(900.0, 4000.0)
            .ceil() as u64;
        self.viewport(height);
        self.eval("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        self.viewport(900);
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap();
    }
}
