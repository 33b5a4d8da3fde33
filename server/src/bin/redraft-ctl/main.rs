//! `redraft-ctl`, the operator CLI of RedRaft: lists regions, nodes and operations, and starts
//! splits, merges, replica moves, leader transfers and node additions and removals, following
//! an operation's steps until it ends. It only speaks the admin HTTP API of a node
//! (`--admin-port`; any node answers every endpoint) through a small HTTP/1.1 client of its
//! own, and shares no code with the server.
//!
//! Exit status: 0 ok, 1 the API refused or the operation failed, 2 bad usage or no usable
//! answer from the admin port, 3 gave up waiting for an operation (`--timeout`).

mod args;
mod http;
mod render;

use std::io::Write;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use args::{Command, Options};
use render::{End, Watch};

const EXIT_REFUSED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_TIMEOUT: u8 = 3;

const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Bounds connecting, sending and each read of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a run stops short of success.
struct Exit {
    code: u8,
    /// For stderr, after `redraft-ctl: `; `None` when already printed.
    msg: Option<String>,
    /// The JSON error body, printed on stdout under `--json`.
    body: Option<Value>,
    /// No answer or a 503: worth asking again while following an op.
    retry: bool,
}

impl Exit {
    fn new(code: u8, msg: impl Into<String>) -> Exit {
        Exit { code, msg: Some(msg.into()), body: None, retry: false }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(msg) = e.msg {
                eprintln!("redraft-ctl: {msg}");
            }
            ExitCode::from(e.code)
        }
    }
}

fn run(argv: &[String]) -> Result<(), Exit> {
    let (opts, cmd) = args::parse(argv, |k| std::env::var(k).ok()).map_err(|msg| {
        eprint!("redraft-ctl: {msg}\n\n{}", args::USAGE);
        Exit { code: EXIT_USAGE, msg: None, body: None, retry: false }
    })?;
    let api = match (&cmd, &opts.admin) {
        (Command::Help, _) => {
            out(args::USAGE);
            return Ok(());
        }
        (_, None) => {
            return Err(Exit::new(EXIT_USAGE, "no admin address: pass --admin HOST:PORT or set REDRAFT_ADMIN"))
        }
        (_, Some(admin)) => Api { admin: admin.clone(), secret: opts.secret.clone() },
    };
    execute(&api, &opts, cmd).map_err(|mut e| {
        if let (true, Some(body)) = (opts.json, e.body.take()) {
            out(&pretty(&body));
        }
        e
    })
}

fn execute(api: &Api, opts: &Options, cmd: Command) -> Result<(), Exit> {
    let show = |path: &str, render: &dyn Fn(&Value) -> String| -> Result<(), Exit> {
        let v = api.call("GET", path, None, REQUEST_TIMEOUT)?;
        out(&if opts.json { pretty(&v) } else { render(&v) });
        Ok(())
    };
    match cmd {
        Command::Help => {
            out(args::USAGE);
            Ok(())
        }
        Command::Regions => show("/admin/regions", &render::regions),
        Command::Nodes => show("/admin/regions", &render::nodes),
        Command::Ops => show("/admin/ops", &render::ops),
        Command::Op(id) => show(&format!("/admin/ops/{id}"), &|op| render::op_detail(op, now_ms())),
        Command::Leader { region, node } => {
            let path = format!("/admin/regions/{region}/leader");
            let v = api.call("POST", &path, Some(json!({ "to": node })), REQUEST_TIMEOUT)?;
            out(&if opts.json { pretty(&v) } else { format!("region {region}: leadership handed to node {node}\n") });
            Ok(())
        }
        Command::Split { region, slot } => {
            start(api, opts, "POST", &format!("/admin/regions/{region}/split"), Some(json!({ "at_slot": slot })))
        }
        Command::Merge { left, right } => {
            start(api, opts, "POST", "/admin/regions/merge", Some(json!({ "left": left, "right": right })))
        }
        Command::Move { region, from, to } => {
            start(api, opts, "POST", &format!("/admin/regions/{region}/move"), Some(json!({ "from": from, "to": to })))
        }
        Command::AddNode(id) => start(api, opts, "POST", "/admin/nodes", Some(json!({ "id": id }))),
        Command::RemoveNode(id) => start(api, opts, "DELETE", &format!("/admin/nodes/{id}"), None),
    }
}

/// Starts an operation (the answer is `{"op": id}`) and, unless `--no-wait`, follows it.
fn start(api: &Api, opts: &Options, method: &str, path: &str, body: Option<Value>) -> Result<(), Exit> {
    let started = Instant::now();
    let v = api.call(method, path, body, REQUEST_TIMEOUT)?;
    let Some(id) = v.get("op").and_then(Value::as_u64) else {
        return Err(Exit::new(EXIT_USAGE, format!("unexpected answer from {}: {v} (no op id)", api.admin)));
    };
    if opts.no_wait {
        out(&if opts.json { pretty(&v) } else { format!("op {id}\n") });
        return Ok(());
    }
    follow(api, opts, id, started)
}

/// Polls the op every 200 ms, printing each new step, until it ends or `--timeout` passes.
fn follow(api: &Api, opts: &Options, id: u64, started: Instant) -> Result<(), Exit> {
    let deadline = started + opts.timeout;
    let mut watch = Watch::new(id);
    let mut last_problem = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match api.call("GET", &format!("/admin/ops/{id}"), None, left.clamp(Duration::from_secs(1), REQUEST_TIMEOUT)) {
            Ok(op) => {
                last_problem = None;
                let (lines, end) = watch.observe(started.elapsed(), &op);
                if !opts.json {
                    lines.iter().for_each(|l| out(&format!("{l}\n")));
                }
                match end {
                    Some(End::Done(line)) => {
                        out(&if opts.json { pretty(&op) } else { format!("{line}\n") });
                        return Ok(());
                    }
                    Some(End::Failed(line)) => {
                        if opts.json {
                            out(&pretty(&op));
                        }
                        eprintln!("{line}");
                        return Err(Exit { code: EXIT_REFUSED, msg: None, body: None, retry: false });
                    }
                    None => {}
                }
            }
            // The admin port may blip (a restart, an election): keep asking until the deadline.
            Err(e) if e.retry => {
                if e.msg != last_problem {
                    let msg = e.msg.as_deref().unwrap_or("no answer");
                    eprintln!("{}", watch.note(started.elapsed(), &format!("({msg}; retrying)")));
                    last_problem = e.msg;
                }
            }
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            let msg = format!(
                "gave up waiting for op {id} after {}s; it may still be running: see `redraft-ctl op {id}`",
                opts.timeout.as_secs_f64()
            );
            return Err(Exit::new(EXIT_TIMEOUT, msg));
        }
        thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

/// One node's admin endpoint.
struct Api {
    admin: String,
    secret: Option<String>,
}

impl Api {
    /// Sends a request and returns the JSON body of a 2xx answer.
    fn call(&self, method: &str, path: &str, body: Option<Value>, timeout: Duration) -> Result<Value, Exit> {
        let body = body.map(|b| b.to_string().into_bytes());
        let resp = http::request(&self.admin, method, path, self.secret.as_deref(), body.as_deref(), timeout)
            .map_err(|e| Exit { retry: true, ..Exit::new(EXIT_USAGE, e) })?;
        let json = match resp.body.iter().all(u8::is_ascii_whitespace) {
            true => Ok(Value::Null),
            false => serde_json::from_slice::<Value>(&resp.body),
        };
        if (200..300).contains(&resp.status) {
            return json.map_err(|e| {
                let msg = format!("bad answer from {}: {} with a body that is not JSON: {e}", self.admin, resp.status);
                Exit::new(EXIT_USAGE, msg)
            });
        }
        Err(Exit {
            code: EXIT_REFUSED,
            msg: Some(api_error(resp.status, &resp.reason, &resp.body, self.secret.is_some())),
            body: json.ok().filter(|v| !v.is_null()),
            retry: resp.status == 503,
        })
    }
}

/// `<status> <error>` for a non-2xx answer; other fields of the JSON body follow in
/// parentheses, a body that is not JSON is quoted (its first line, shortened).
fn api_error(status: u16, reason: &str, body: &[u8], have_secret: bool) -> String {
    let mut msg = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) if m.contains_key("error") => {
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let extra: Vec<String> =
                m.iter().filter(|(k, _)| *k != "error").map(|(k, v)| format!("{k}: {}", text(v))).collect();
            let mut msg = text(&m["error"]);
            if !extra.is_empty() {
                msg.push_str(&format!(" ({})", extra.join(", ")));
            }
            msg
        }
        _ => {
            let body = String::from_utf8_lossy(body);
            let line = body.lines().map(str::trim).find(|l| !l.is_empty());
            match line {
                Some(l) if l.chars().count() > 200 => format!("{}...", l.chars().take(200).collect::<String>()),
                Some(l) => l.to_string(),
                None if reason.is_empty() => "(no message)".to_string(),
                None => reason.to_string(),
            }
        }
    };
    if status == 401 && !have_secret {
        msg.push_str(" (pass --secret SECRET or set REDRAFT_SECRET)");
    }
    format!("{status} {msg}")
}

fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))
}

/// Writes to stdout, ignoring errors: a closed pipe (`| head`) is not a failure.
fn out(s: &str) {
    let _ = std::io::stdout().write_all(s.as_bytes());
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_messages() {
        let e = |status, body: &str| api_error(status, "Reason", body.as_bytes(), true);
        assert_eq!(e(404, r#"{"error": "no region 9"}"#), "404 no region 9");
        assert_eq!(e(409, r#"{"error": "busy", "op": 5, "leader": null}"#), "409 busy (leader: null, op: 5)");
        assert_eq!(e(502, "<html>\n<b>Bad Gateway</b>\n</html>"), "502 <html>");
        assert_eq!(e(503, ""), "503 Reason");
        assert_eq!(e(400, r#"{"message": "x"}"#), r#"400 {"message": "x"}"#);
        assert_eq!(e(500, &"x".repeat(300)), format!("500 {}...", "x".repeat(200)));
        assert_eq!(api_error(500, "", b"", true), "500 (no message)");
        let unauthorized = api_error(401, "", br#"{"error": "unauthorized"}"#, false);
        assert_eq!(unauthorized, "401 unauthorized (pass --secret SECRET or set REDRAFT_SECRET)");
    }
}
