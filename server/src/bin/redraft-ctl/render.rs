//! Text output: pure functions from the API's JSON documents to tables and lines. Missing or
//! null fields print as `-` (nothing there) or `?` (unknown) rather than failing.

use std::time::Duration;

use serde_json::Value;

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A scalar as text: numbers and strings as they are, null or missing as `none`.
fn text(v: Option<&Value>, none: &str) -> String {
    match v {
        None | Some(Value::Null) => none.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The `regions` table from `GET /admin/regions`.
pub fn regions(doc: &Value) -> String {
    let ops = list(doc.get("ops"));
    let rows: Vec<Vec<String>> = list(doc.get("regions"))
        .iter()
        .map(|r| {
            let slots = match list(r.get("slots")) {
                [first, last] => format!("{first}-{last}"),
                _ => "?".into(),
            };
            // `leader` is a node id, as in the replica list.
            let leader = r.get("leader").and_then(Value::as_u64);
            let mut members: Vec<String> = list(r.get("replicas"))
                .iter()
                .map(|m| {
                    let node = m.get("node").and_then(Value::as_u64);
                    let star = if node.is_some() && node == leader { "*" } else { "" };
                    format!("{}{star}", text(m.get("node"), "?"))
                })
                .collect();
            members.extend(list(r.get("learners")).iter().map(|m| format!("{}(learner)", text(m.get("node"), "?"))));
            let op = match r.get("op") {
                None | Some(Value::Null) => "-".to_string(),
                Some(id) => match ops.iter().find(|o| o.get("id") == Some(id)).and_then(|o| o.get("kind")) {
                    Some(kind) => format!("{id} {}", text(Some(kind), "?")),
                    None => id.to_string(),
                },
            };
            vec![
                text(r.get("id"), "?"),
                slots,
                text(r.get("epoch"), "?"),
                text(r.get("leader"), "-"),
                if members.is_empty() { "-".into() } else { members.join(",") },
                text(r.get("keys"), "?"),
                op,
            ]
        })
        .collect();
    let mut out = table(&["REGION", "SLOTS", "EPOCH", "LEADER", "REPLICAS", "KEYS", "OP"], &rows);
    out.push_str(&format!("map version {}\n", text(doc.get("map_version"), "?")));
    out
}

/// The `nodes` table from `GET /admin/regions`.
pub fn nodes(doc: &Value) -> String {
    let rows: Vec<Vec<String>> = list(doc.get("nodes"))
        .iter()
        .map(|n| {
            let host = text(n.get("host"), "?");
            let host = if host.contains(':') { format!("[{host}]") } else { host };
            let up = match (n.get("removing").and_then(Value::as_bool), n.get("up").and_then(Value::as_bool)) {
                (Some(true), _) => "removing",
                (_, Some(true)) => "yes",
                (_, Some(false)) => "no",
                (_, None) => "?",
            };
            vec![
                text(n.get("id"), "?"),
                format!("{host}:{}", text(n.get("port"), "?")),
                text(n.get("grpc"), "?"),
                up.to_string(),
                text(n.get("replicas"), "?"),
                text(n.get("leaders"), "?"),
                text(n.get("id40"), "-").chars().take(8).collect(),
            ]
        })
        .collect();
    table(&["NODE", "ADDRESS", "GRPC", "UP", "REPLICAS", "LEADERS", "ID"], &rows)
}

/// The `ops` table from `GET /admin/ops`: a failed op shows its error, others their step.
pub fn ops(doc: &Value) -> String {
    let rows: Vec<Vec<String>> = list(doc.get("ops"))
        .iter()
        .map(|o| {
            let step = match o.get("error") {
                Some(Value::String(e)) if !e.is_empty() => e.clone(),
                _ => text(o.get("step"), "-"),
            };
            vec![
                text(o.get("id"), "?"),
                text(o.get("kind"), "?"),
                text(o.get("region"), "-"),
                text(o.get("state"), "?"),
                step,
            ]
        })
        .collect();
    table(&["OP", "KIND", "REGION", "STATE", "STEP / ERROR"], &rows)
}

/// One op as `key: value` lines; `now_ms` (unix ms) gives a running op's age.
pub fn op_detail(op: &Value, now_ms: u64) -> String {
    let ms = |k: &str| op.get(k).and_then(Value::as_u64);
    let (started, finished) = (ms("started_ms"), ms("finished_ms"));
    let mut lines: Vec<(String, String)> = vec![
        ("op".into(), text(op.get("id"), "?")),
        ("kind".into(), text(op.get("kind"), "?")),
        ("region".into(), text(op.get("region"), "-")),
        ("state".into(), text(op.get("state"), "?")),
        ("step".into(), text(op.get("step"), "-")),
        ("error".into(), text(op.get("error"), "-")),
        ("started".into(), started.map_or("?".into(), utc)),
        ("finished".into(), finished.map_or("-".into(), utc)),
    ];
    match (started, finished) {
        (Some(s), Some(f)) => lines.push(("took".into(), secs(f.saturating_sub(s)))),
        (Some(s), None) => lines.push(("running for".into(), secs(now_ms.saturating_sub(s)))),
        _ => {}
    }
    if let Some(detail) = op.get("detail").and_then(Value::as_object) {
        for (k, v) in detail {
            let key = if lines.iter().any(|(n, _)| n == k) { format!("detail.{k}") } else { k.clone() };
            lines.push((key, text(Some(v), "-")));
        }
    }
    let width = lines.iter().map(|(k, _)| k.chars().count() + 1).max().unwrap_or(0);
    lines.iter().map(|(k, v)| format!("{:<width$} {v}\n", format!("{k}:"))).collect()
}

/// Milliseconds as seconds with one decimal.
fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS.mmm UTC`.
fn utc(ms: u64) -> String {
    let (days, rem) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{:03} UTC", rem % 1000)
}

/// How following an op ended.
#[derive(Debug, PartialEq)]
pub enum End {
    /// `op 5 done in 1.3s`
    Done(String),
    /// `op 5 failed: <error>`
    Failed(String),
}

/// Follows one op through successive polls: each new step becomes one line prefixed with
/// the elapsed time, and a `done`/`failed` state ends it.
pub struct Watch {
    id: u64,
    last_step: Option<String>,
}

impl Watch {
    pub fn new(id: u64) -> Watch {
        Watch { id, last_step: None }
    }

    /// The op as polled `elapsed` after it was started: the lines to print (a step not
    /// printed before) and, once it has finished, how it ended.
    pub fn observe(&mut self, elapsed: Duration, op: &Value) -> (Vec<String>, Option<End>) {
        let mut lines = Vec::new();
        if let Some(step) = op.get("step").and_then(Value::as_str).filter(|s| !s.is_empty()) {
            if self.last_step.as_deref() != Some(step) {
                lines.push(self.note(elapsed, step));
                self.last_step = Some(step.to_string());
            }
        }
        let end = match op.get("state").and_then(Value::as_str) {
            Some("done") => Some(End::Done(format!("op {} done in {:.1}s", self.id, elapsed.as_secs_f64()))),
            Some("failed") => {
                let error = op.get("error").and_then(Value::as_str).filter(|e| !e.is_empty());
                Some(End::Failed(format!("op {} failed: {}", self.id, error.unwrap_or("no error given"))))
            }
            _ => None,
        };
        (lines, end)
    }

    /// A progress line: `  0.4s  proposing the split`.
    pub fn note(&self, elapsed: Duration, text: &str) -> String {
        format!("{:>5.1}s  {text}", elapsed.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "map_version": 7,
            "regions": [
                {"id": 1, "slots": [0, 5460], "epoch": 3, "leader": 2,
                 "replicas": [{"replica": 1, "node": 1}, {"replica": 2, "node": 2}, {"replica": 3, "node": 3}],
                 "keys": 1234, "op": null},
                {"id": 2, "slots": [5461, 10922], "epoch": 1, "leader": null,
                 "replicas": [{"replica": 4, "node": 1}, {"replica": 5, "node": 3}],
                 "learners": [{"replica": 9, "node": 4}], "keys": null, "op": 5},
                {"id": 12, "slots": [10923, 16383], "epoch": 14, "leader": 3,
                 "replicas": [{"replica": 6, "node": 3}], "learners": [], "op": 6}
            ],
            "nodes": [
                {"id": 1, "grpc": "127.0.0.1:7001", "host": "127.0.0.1", "port": 6379,
                 "id40": "0123456789abcdef0123456789abcdef01234567", "up": true, "replicas": 2, "leaders": 0,
                 "removing": false},
                {"id": 4, "grpc": "[::1]:7004", "host": "::1", "port": 6382,
                 "id40": "fedcba9876543210fedcba9876543210fedcba98", "up": false, "replicas": 1, "leaders": 0,
                 "removing": false},
                {"id": 13, "grpc": "10.0.0.13:7001", "host": "10.0.0.13", "port": 6379,
                 "id40": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "up": true, "replicas": 10, "leaders": 3,
                 "removing": true}
            ],
            "ops": [
                {"id": 5, "kind": "move", "region": 2, "state": "running", "step": "adding a learner on node 4",
                 "error": null, "started_ms": 1_700_000_000_000u64, "finished_ms": null,
                 "detail": {"from": 1, "to": 4}}
            ]
        })
    }

    #[test]
    fn regions_table() {
        let want = "\
REGION  SLOTS        EPOCH  LEADER  REPLICAS        KEYS  OP
1       0-5460       3      2       1,2*,3          1234  -
2       5461-10922   1      -       1,3,4(learner)  ?     5 move
12      10923-16383  14     3       3*              ?     6
map version 7
";
        assert_eq!(regions(&sample()), want);
        assert_eq!(regions(&json!({})), "REGION  SLOTS  EPOCH  LEADER  REPLICAS  KEYS  OP\nmap version ?\n");
    }

    #[test]
    fn nodes_table() {
        let want = "\
NODE  ADDRESS         GRPC            UP        REPLICAS  LEADERS  ID
1     127.0.0.1:6379  127.0.0.1:7001  yes       2         0        01234567
4     [::1]:6382      [::1]:7004      no        1         0        fedcba98
13    10.0.0.13:6379  10.0.0.13:7001  removing  10        3        aaaaaaaa
";
        assert_eq!(nodes(&sample()), want);
    }

    #[test]
    fn ops_table_and_detail() {
        let doc = json!({"ops": [
            {"id": 4, "kind": "split", "region": 1, "state": "done", "step": "done", "error": null,
             "started_ms": 1_700_000_000_000u64, "finished_ms": 1_700_000_001_300u64,
             "detail": {"at_slot": 100, "new_region": 7}},
            {"id": 5, "kind": "remove-node", "region": null, "state": "failed", "step": "moving region 3",
             "error": "node 2 is down", "started_ms": 1_700_000_002_000u64, "finished_ms": 1_700_000_003_000u64,
             "detail": {}},
        ]});
        let want = "\
OP  KIND         REGION  STATE   STEP / ERROR
4   split        1       done    done
5   remove-node  -       failed  node 2 is down
";
        assert_eq!(ops(&doc), want);

        let want = "\
op:         4
kind:       split
region:     1
state:      done
step:       done
error:      -
started:    2023-11-14 22:13:20.000 UTC
finished:   2023-11-14 22:13:21.300 UTC
took:       1.3s
at_slot:    100
new_region: 7
";
        assert_eq!(op_detail(&doc["ops"][0], 0), want);
        let running = &sample()["ops"][0];
        let text = op_detail(running, 1_700_000_004_240);
        assert!(text.contains("\nfinished:    -\nrunning for: 4.2s\nfrom:        1\nto:          4\n"), "{text}");
        // A detail field named like a fixed one is prefixed.
        let text = op_detail(&json!({"id": 1, "detail": {"region": 3}}), 0);
        assert!(text.ends_with("started:       ?\nfinished:      -\ndetail.region: 3\n"), "{text}");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(utc(4_102_444_799_999), "2099-12-31 23:59:59.999 UTC");
    }

    /// The whole output of following an op through `polls` (seconds after the start, op).
    fn transcript(id: u64, polls: &[(f64, Value)]) -> (String, Option<End>) {
        let mut w = Watch::new(id);
        let mut out = String::new();
        for (t, op) in polls {
            let (lines, end) = w.observe(Duration::from_secs_f64(*t), op);
            lines.iter().for_each(|l| out.push_str(&format!("{l}\n")));
            if end.is_some() {
                return (out, end);
            }
        }
        (out, None)
    }

    #[test]
    fn following_an_op() {
        let op = |state: &str, step: &str| json!({"id": 5, "state": state, "step": step, "error": null});
        let (out, end) = transcript(
            5,
            &[
                (0.2, op("running", "proposing the split")),
                (0.4, op("running", "proposing the split")),
                (0.6, op("running", "waiting for the new region's leader")),
                (0.8, op("running", "waiting for the new region's leader")),
                (1.3, op("done", "done")),
                (1.5, op("done", "never seen")),
            ],
        );
        let want = "  0.2s  proposing the split\n  0.6s  waiting for the new region's leader\n  1.3s  done\n";
        assert_eq!(out, want);
        assert_eq!(end, Some(End::Done("op 5 done in 1.3s".into())));

        let failed = json!({"id": 9, "state": "failed", "step": "moving region 3", "error": "node 4 is down"});
        let (out, end) = transcript(9, &[(0.0, json!({"state": "running", "step": null})), (12.34, failed)]);
        assert_eq!(out, " 12.3s  moving region 3\n");
        assert_eq!(end, Some(End::Failed("op 9 failed: node 4 is down".into())));

        let (out, end) = transcript(9, &[(612.0, json!({"state": "failed"}))]);
        assert_eq!((out.as_str(), end), ("", Some(End::Failed("op 9 failed: no error given".into()))));
        // Still running after the last poll: no end.
        assert_eq!(transcript(2, &[(0.2, json!({"state": "running", "step": "x"}))]).1, None);
    }
}
