//! A web site on 127.0.0.1 that behaves until told to break, then misbehaves at the
//! level of bytes on the wire, which a framework would not let a handler do: it cuts
//! the connection mid-body, trickles one byte a second, fails every other request,
//! redirects in a loop, promises 5 GB, sends a gzip bomb or invalid UTF-8.
//!
//! Each path is one feed. Before [`FaultSite::break_all`], every path serves an RSS
//! feed with one item, `<path>-old`, which names Acme. After it, each path misbehaves in
//! its own way; where the answer still carries a feed, it has a second item,
//! `<path>-new`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What each path does once the site is broken.
pub const FAULTS: &[(&str, &str)] = &[
    ("good", "keeps working: the new item is served"),
    (
        "cut",
        "sends half of the announced body, then closes the connection",
    ),
    ("trickle", "sends one byte a second"),
    ("flaky", "answers 500 to every other request"),
    ("loop", "redirects to itself"),
    ("huge", "announces 5 GB (Content-Length) and sends nothing"),
    ("bomb", "sends 60 KiB of gzip that inflates to 60 MiB"),
    (
        "badutf8",
        "declares UTF-8 and sends invalid bytes in the new item",
    ),
];

/// How long the path `late` (not in [`FAULTS`]) takes to answer with its feed.
pub const LATE: Duration = Duration::from_secs(4);

/// The site: its base URL, the switch, and how often each path was asked for.
#[derive(Clone)]
pub struct FaultSite {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    broken: Arc<AtomicBool>,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

impl FaultSite {
    /// Starts the site on a fresh port; it runs until the test ends.
    pub async fn start() -> FaultSite {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let site = FaultSite {
            base: format!("http://{}", listener.local_addr().unwrap()),
            broken: Arc::default(),
            hits: Arc::default(),
        };
        let bomb: Arc<[u8]> = gzip_bomb().into();
        let s = site.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (s, bomb) = (s.clone(), bomb.clone());
                tokio::spawn(async move { s.answer(conn, &bomb).await });
            }
        });
        site
    }

    /// The feed URL of `path` (one of [`FAULTS`]).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}.xml", self.base)
    }

    /// From now on, every path misbehaves.
    pub fn break_all(&self) {
        self.broken.store(true, Ordering::SeqCst);
    }

    /// How many requests `path` got.
    pub fn hits(&self, path: &str) -> u32 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    async fn answer(&self, mut conn: TcpStream, bomb: &[u8]) {
        let Some(path) = read_request_path(&mut conn).await else {
            return;
        };
        let name = path
            .trim_start_matches('/')
            .trim_end_matches(".xml")
            .to_owned();
        let hit = {
            let mut hits = self.hits.lock().unwrap();
            let n = hits.entry(name.clone()).or_default();
            *n += 1;
            *n
        };
        if path == "/robots.txt" {
            let _ = conn.write_all(&response("404 Not Found", &[], b"")).await;
            return;
        }
        if name == "late" {
            // Not a fault: a slow but sound feed, to have a crawl in flight for a while.
            tokio::time::sleep(LATE).await;
        }
        if !self.broken.load(Ordering::SeqCst) {
            let _ = conn.write_all(&ok(&feed(&name, false))).await;
            return;
        }
        let _ = match name.as_str() {
            "cut" => {
                let body = feed(&name, true);
                let whole = ok(&body);
                let cut = whole.len() - body.len() / 2;
                conn.write_all(&whole[..cut]).await
            }
            "trickle" => {
                let body = feed(&name, true);
                let whole = ok(&body);
                let head = whole.len() - body.len();
                let mut result = conn.write_all(&whole[..head]).await;
                for b in &body {
                    if result.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    result = conn.write_all(std::slice::from_ref(b)).await;
                }
                result
            }
            "flaky" if hit % 2 == 0 => {
                conn.write_all(&response("500 Internal Server Error", &[], b"oops"))
                    .await
            }
            "loop" => {
                let to = format!("Location: {path}");
                conn.write_all(&response("302 Found", &[&to], b"")).await
            }
            "huge" => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                            Content-Length: 5368709120\r\nConnection: close\r\n\r\n";
                let result = conn.write_all(head.as_bytes()).await;
                // Never send the body: hold the connection until the client gives up.
                let mut sink = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_secs(30), conn.read(&mut sink)).await;
                result
            }
            "bomb" => {
                conn.write_all(&response(
                    "200 OK",
                    &[
                        "Content-Type: application/rss+xml",
                        "Content-Encoding: gzip",
                    ],
                    bomb,
                ))
                .await
            }
            "badutf8" => {
                let body = String::from_utf8(feed(&name, true))
                    .unwrap()
                    .replace("NEWWORD", "caf\u{1}");
                let mut bytes = body.into_bytes();
                // The marker \u{1} becomes bytes that are not UTF-8 at all.
                let at = bytes.iter().position(|b| *b == 1).unwrap();
                bytes.splice(at..=at, [0xC3, 0x28, 0xFF, 0xFE]);
                conn.write_all(&ok(&bytes)).await
            }
            _ => conn.write_all(&ok(&feed(&name, true))).await,
        };
        let _ = conn.shutdown().await;
    }
}

/// The RSS feed of `name`: its old item, and its new one when `with_new`.
pub fn feed(name: &str, with_new: bool) -> Vec<u8> {
    let mut items = vec![(
        format!("{name}-old"),
        format!("Acme {name} review"),
        format!("The Acme {name} kettle works well."),
    )];
    if with_new {
        items.push((
            format!("{name}-new"),
            format!("Acme {name} follow-up"),
            format!("Still happy with Acme, NEWWORD and all ({name})."),
        ));
    }
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Fault site</title><link>http://faults.test/</link>",
    );
    for (guid, title, body) in items {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>http://faults.test/{guid}</link><description>{body}</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

fn ok(body: &[u8]) -> Vec<u8> {
    response("200 OK", &["Content-Type: application/rss+xml"], body)
}

fn response(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads the request head (at most 16 KiB) and returns its path.
async fn read_request_path(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace().nth(1).map(str::to_owned)
}

/// 60 MiB of spaces, gzipped: about 60 KiB on the wire.
fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1 << 20];
    for _ in 0..60 {
        gz.write_all(&block).unwrap();
    }
    gz.finish().unwrap()
}
