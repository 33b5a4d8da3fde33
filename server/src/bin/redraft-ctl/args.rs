//! Command-line parsing: options may come before or after the command, `--opt value` or
//! `--opt=value`, `--` ends the options. Ids and slots are checked here, before any request.

use std::time::Duration;

pub const USAGE: &str = "\
redraft-ctl: the RedRaft operator CLI (speaks a node's admin HTTP API)

usage: redraft-ctl [options] <command> [args]

commands:
  regions                      list regions: slots, epoch, leader, replicas, keys, running op
  nodes                        list nodes: addresses, up/removing, replica and leader counts
  ops                          list recent operations, newest last
  op <id>                      show one operation
  split <region> <slot>        split a region; <slot> becomes the first slot of the new region
  merge <left> <right>         merge region <right> into the adjacent region <left>
  move <region> <from> <to>    move a region's replica from node <from> to node <to>
  leader <region> <node>       hand a region's leadership to the replica on <node>
  add-node <node>              rebalance replicas onto a node that has joined
  remove-node <node>           move a node's replicas away, then remove it
  help                         show this text

options (before or after the command):
  --admin HOST:PORT   admin address of any node (default: $REDRAFT_ADMIN)
  --secret SECRET     cluster secret, sent as a bearer token (default: $REDRAFT_SECRET)
  --json              print the JSON answer (pretty) instead of tables and progress
  --no-wait           print the op id of a started operation instead of following it
  --timeout SECS      stop following an operation after SECS seconds (default 600)
  -h, --help          show this text

exit status: 0 ok; 1 refused by the API or the operation failed; 2 bad usage or
no answer from the admin port; 3 gave up waiting for an operation
";

/// Slots of the Redis Cluster key space.
const LAST_SLOT: u64 = 16383;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, PartialEq)]
pub struct Options {
    pub admin: Option<String>,
    pub secret: Option<String>,
    pub json: bool,
    pub no_wait: bool,
    pub timeout: Duration,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Help,
    Regions,
    Nodes,
    Ops,
    Op(u64),
    Split { region: u64, slot: u64 },
    Merge { left: u64, right: u64 },
    Move { region: u64, from: u64, to: u64 },
    Leader { region: u64, node: u64 },
    AddNode(u64),
    RemoveNode(u64),
}

/// Parses the arguments (without the program name); `env` looks up `REDRAFT_ADMIN` and
/// `REDRAFT_SECRET`. A missing admin address is not an error here: `help` needs none.
pub fn parse(argv: &[String], env: impl Fn(&str) -> Option<String>) -> Result<(Options, Command), String> {
    let mut opts = Options { admin: None, secret: None, json: false, no_wait: false, timeout: DEFAULT_TIMEOUT };
    let mut help = false;
    let mut words: Vec<&str> = Vec::new();
    let mut it = argv.iter();
    let mut only_words = false;
    while let Some(arg) = it.next() {
        // A lone `-` and negative numbers are words, so `split 1 -5` reports a bad slot.
        let is_option = arg.starts_with('-') && arg.len() > 1 && !arg.as_bytes()[1].is_ascii_digit();
        if only_words || !is_option {
            words.push(arg);
            continue;
        }
        if arg == "--" {
            only_words = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (arg.as_str(), None),
        };
        let flag = |set: &mut bool| match inline {
            Some(_) => Err(format!("{name} takes no value")),
            None => {
                *set = true;
                Ok(())
            }
        };
        match name {
            "-h" | "--help" => flag(&mut help)?,
            "--json" => flag(&mut opts.json)?,
            "--no-wait" => flag(&mut opts.no_wait)?,
            "--admin" => opts.admin = Some(check_admin("--admin", value(name, inline, &mut it)?)?),
            "--secret" => opts.secret = Some(check_secret("--secret", value(name, inline, &mut it)?)?),
            "--timeout" => opts.timeout = timeout(&value(name, inline, &mut it)?)?,
            _ => return Err(format!("unknown option '{arg}'")),
        }
    }
    if help {
        return Ok((opts, Command::Help));
    }
    let cmd = command(&words)?;
    if cmd == Command::Help {
        return Ok((opts, cmd));
    }
    // Empty variables count as unset.
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    if opts.admin.is_none() {
        opts.admin = env("REDRAFT_ADMIN").map(|a| check_admin("REDRAFT_ADMIN", a)).transpose()?;
    }
    if opts.secret.is_none() {
        opts.secret = env("REDRAFT_SECRET").map(|s| check_secret("REDRAFT_SECRET", s)).transpose()?;
    }
    Ok((opts, cmd))
}

/// The value of an option: after `=` or the next argument.
fn value<'a>(name: &str, inline: Option<&str>, it: &mut impl Iterator<Item = &'a String>) -> Result<String, String> {
    match inline {
        Some(v) => Ok(v.to_string()),
        None => it.next().cloned().ok_or_else(|| format!("{name} needs a value")),
    }
}

fn command(words: &[&str]) -> Result<Command, String> {
    let Some((&name, args)) = words.split_first() else { return Err("no command given".into()) };
    let want = |operands: &str| {
        let n = operands.split_whitespace().count();
        match args.len() == n {
            true => Ok(()),
            false if n == 0 => Err(format!("{name} takes no arguments")),
            false => Err(format!("{name}: expected {operands}, got {} argument(s)", args.len())),
        }
    };
    Ok(match name {
        "help" => Command::Help,
        "regions" => want("").map(|_| Command::Regions)?,
        "nodes" => want("").map(|_| Command::Nodes)?,
        "ops" => want("").map(|_| Command::Ops)?,
        "op" => {
            want("<id>")?;
            Command::Op(id("op id", args[0])?)
        }
        "split" => {
            want("<region> <slot>")?;
            Command::Split { region: id("region id", args[0])?, slot: slot(args[1])? }
        }
        "merge" => {
            want("<left> <right>")?;
            let (left, right) = (id("region id", args[0])?, id("region id", args[1])?);
            if left == right {
                return Err("merge: <left> and <right> must be different regions".into());
            }
            Command::Merge { left, right }
        }
        "move" => {
            want("<region> <from> <to>")?;
            let region = id("region id", args[0])?;
            let (from, to) = (id("node id", args[1])?, id("node id", args[2])?);
            if from == to {
                return Err("move: <from> and <to> must be different nodes".into());
            }
            Command::Move { region, from, to }
        }
        "leader" => {
            want("<region> <node>")?;
            Command::Leader { region: id("region id", args[0])?, node: id("node id", args[1])? }
        }
        "add-node" => {
            want("<node>")?;
            Command::AddNode(id("node id", args[0])?)
        }
        "remove-node" => {
            want("<node>")?;
            Command::RemoveNode(id("node id", args[0])?)
        }
        _ => return Err(format!("unknown command '{name}'")),
    })
}

/// A u64 written as plain decimal digits (no sign, no spaces).
fn id(what: &str, s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} '{s}': expected a non-negative integer"));
    }
    s.parse().map_err(|_| format!("bad {what} '{s}': larger than {}", u64::MAX))
}

fn slot(s: &str) -> Result<u64, String> {
    match id("slot", s)? {
        n if n <= LAST_SLOT => Ok(n),
        _ => Err(format!("bad slot '{s}': slots are 0 to {LAST_SLOT}")),
    }
}

fn timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|_| format!("bad --timeout '{s}': expected seconds"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err(format!("bad --timeout '{s}': must be more than 0 seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad --timeout '{s}': too large"))
}

/// HOST:PORT, with IPv6 hosts in brackets; resolved only when connecting.
fn check_admin(source: &str, addr: String) -> Result<String, String> {
    let ok = match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    };
    match ok && !addr.bytes().any(|b| b <= b' ' || b == b'/') {
        true => Ok(addr),
        false => Err(format!("bad {source} '{addr}': expected HOST:PORT")),
    }
}

/// The secret goes into a header line: no control characters.
fn check_secret(source: &str, secret: String) -> Result<String, String> {
    match !secret.is_empty() && !secret.chars().any(char::is_control) {
        true => Ok(secret),
        false => Err(format!("bad {source}: empty or has control characters")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(args: &str, env: &[(&str, &str)]) -> Result<(Options, Command), String> {
        let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&argv, move |k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    fn cmd(args: &str) -> Result<Command, String> {
        parse_with(args, &[]).map(|(_, c)| c)
    }

    #[test]
    fn options_before_and_after_the_command() {
        let (a, c) = parse_with("--admin 10.0.0.1:9000 --json split 3 100 --no-wait --timeout=2.5", &[]).unwrap();
        assert_eq!(c, Command::Split { region: 3, slot: 100 });
        assert_eq!(a.admin.as_deref(), Some("10.0.0.1:9000"));
        assert!(a.json && a.no_wait);
        assert_eq!(a.timeout, Duration::from_millis(2500));
        assert_eq!(a.secret, None);

        let (b, c) = parse_with("regions --secret s3cret --admin=[::1]:16379", &[]).unwrap();
        assert_eq!(c, Command::Regions);
        assert_eq!((b.admin.as_deref(), b.secret.as_deref()), (Some("[::1]:16379"), Some("s3cret")));
        assert_eq!((b.json, b.no_wait, b.timeout), (false, false, Duration::from_secs(600)));
    }

    #[test]
    fn environment_defaults_and_flags_win() {
        let env = [("REDRAFT_ADMIN", "h:1"), ("REDRAFT_SECRET", "x")];
        let (o, _) = parse_with("nodes", &env).unwrap();
        assert_eq!((o.admin.as_deref(), o.secret.as_deref()), (Some("h:1"), Some("x")));
        let (o, _) = parse_with("nodes --admin h:2 --secret y", &env).unwrap();
        assert_eq!((o.admin.as_deref(), o.secret.as_deref()), (Some("h:2"), Some("y")));
        let (o, _) = parse_with("nodes", &[("REDRAFT_ADMIN", "")]).unwrap();
        assert_eq!(o.admin, None);
        assert!(parse_with("nodes", &[("REDRAFT_ADMIN", "nohost")]).unwrap_err().contains("REDRAFT_ADMIN"));
        // help needs no (valid) admin address.
        assert_eq!(parse_with("help", &[("REDRAFT_ADMIN", "bad")]).unwrap().1, Command::Help);
    }

    #[test]
    fn every_command() {
        assert_eq!(cmd("ops").unwrap(), Command::Ops);
        assert_eq!(cmd("op 5").unwrap(), Command::Op(5));
        assert_eq!(cmd("merge 1 2").unwrap(), Command::Merge { left: 1, right: 2 });
        assert_eq!(cmd("move 7 1 4").unwrap(), Command::Move { region: 7, from: 1, to: 4 });
        assert_eq!(cmd("leader 7 2").unwrap(), Command::Leader { region: 7, node: 2 });
        assert_eq!(cmd("add-node 4").unwrap(), Command::AddNode(4));
        assert_eq!(cmd("remove-node 18446744073709551615").unwrap(), Command::RemoveNode(u64::MAX));
        assert_eq!(cmd("split 1 0").unwrap(), Command::Split { region: 1, slot: 0 });
        assert_eq!(cmd("split 1 16383").unwrap(), Command::Split { region: 1, slot: 16383 });
        for help in ["help", "-h", "--help", "regions --help", "-h bogus args"] {
            assert_eq!(cmd(help).unwrap(), Command::Help, "{help}");
        }
        // `--` ends the options.
        assert_eq!(cmd("-- op 3").unwrap(), Command::Op(3));
    }

    #[test]
    fn bad_numbers() {
        let err = |args: &str| cmd(args).unwrap_err();
        assert_eq!(err("split 1 16384"), "bad slot '16384': slots are 0 to 16383");
        assert_eq!(err("split x 1"), "bad region id 'x': expected a non-negative integer");
        assert_eq!(err("split 1 -5"), "bad slot '-5': expected a non-negative integer");
        assert_eq!(err("move 1 +2 3"), "bad node id '+2': expected a non-negative integer");
        assert_eq!(
            err("op 18446744073709551616"),
            "bad op id '18446744073709551616': larger than 18446744073709551615"
        );
        assert_eq!(err("leader 1 2.0"), "bad node id '2.0': expected a non-negative integer");
        assert!(err("merge 3 3").contains("different"));
        assert!(err("move 1 2 2").contains("different"));
        for t in ["0", "-1", "x", "nan", "inf", "1e300"] {
            assert!(err(&format!("regions --timeout={t}")).starts_with("bad --timeout"), "{t}");
        }
    }

    #[test]
    fn missing_and_extra_arguments() {
        let err = |args: &str| cmd(args).unwrap_err();
        assert_eq!(err(""), "no command given");
        assert_eq!(err("--json"), "no command given");
        assert_eq!(err("split 1"), "split: expected <region> <slot>, got 1 argument(s)");
        assert_eq!(err("move 1 2 3 4"), "move: expected <region> <from> <to>, got 4 argument(s)");
        assert_eq!(err("op"), "op: expected <id>, got 0 argument(s)");
        assert_eq!(err("regions 1"), "regions takes no arguments");
        assert_eq!(err("frobnicate"), "unknown command 'frobnicate'");
        assert_eq!(err("regions --admin"), "--admin needs a value");
        assert_eq!(err("regions --verbose"), "unknown option '--verbose'");
        assert_eq!(err("regions --json=yes"), "--json takes no value");
        assert_eq!(err("regions --admin localhost"), "bad --admin 'localhost': expected HOST:PORT");
        assert_eq!(err("regions --admin h:0"), "bad --admin 'h:0': expected HOST:PORT");
        assert_eq!(err("regions --secret="), "bad --secret: empty or has control characters");
    }

    #[test]
    fn usage_lists_every_command() {
        for c in ["regions", "nodes", "ops", "op <id>", "split", "merge", "move", "leader", "add-node", "remove-node"] {
            assert!(USAGE.contains(&format!("\n  {c}")), "{c}");
        }
    }
}
