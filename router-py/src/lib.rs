//! `redraft._native`: the Rust core of RedRaft's Python cluster client. The Python package
//! (`redraft`) wraps it with redis-py-style command methods.

mod cluster;
pub mod keys;
pub mod resp;

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple};

use cluster::{Cluster, Error, Options};
use resp::Value;

/// Hash slot of a key (bytes or str), as CLUSTER KEYSLOT computes it.
#[pyfunction]
fn key_slot(key: &Bound<'_, PyAny>) -> PyResult<u16> {
    Ok(keys::key_slot(&arg_bytes(key)?))
}

fn arg_bytes(a: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = a.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = a.downcast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if a.is_instance_of::<PyBool>() {
        return Err(data_error(
            a.py(),
            "Invalid input of type: 'bool'. Convert to a bytes, string, int or float first.",
        ));
    }
    if a.is_instance_of::<PyInt>() || a.is_instance_of::<PyFloat>() {
        return Ok(a.repr()?.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = a.downcast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if a.is_instance_of::<PyMemoryView>() {
        return Ok(a.call_method0("tobytes")?.downcast::<PyBytes>()?.as_bytes().to_vec());
    }
    let t = a.get_type().name()?.to_string();
    Err(data_error(a.py(), &format!("Invalid input of type: '{t}'. Convert to a bytes, string, int or float first.")))
}

fn args_of(t: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for a in t.try_iter()? {
        out.push(arg_bytes(&a?)?);
    }
    Ok(out)
}

// ----- exceptions (classes live in redraft/exceptions.py) --------------------------------------

static EXC_MODULE: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

fn exc_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let m = EXC_MODULE.get_or_try_init(py, || py.import("redraft.exceptions").map(|m| m.unbind()))?;
    m.bind(py).getattr(name)
}

fn make_exc(py: Python<'_>, class: &str, msg: &str) -> PyErr {
    match exc_class(py, class).and_then(|c| c.call1((msg,))) {
        Ok(inst) => PyErr::from_value(inst),
        Err(e) => e,
    }
}

fn data_error(py: Python<'_>, msg: &str) -> PyErr {
    make_exc(py, "DataError", msg)
}

/// Codes redis-py leaves out of the exception message.
const STRIPPED: &[&str] = &[
    "ERR",
    "OOM",
    "WRONGPASS",
    "EXECABORT",
    "LOADING",
    "NOSCRIPT",
    "READONLY",
    "NOAUTH",
    "NOPERM",
    "ASK",
    "TRYAGAIN",
    "MOVED",
    "CLUSTERDOWN",
    "CROSSSLOT",
    "MASTERDOWN",
];

fn reply_error(py: Python<'_>, e: &[u8]) -> PyErr {
    let text = String::from_utf8_lossy(e);
    let (code, rest) = text.split_once(' ').unwrap_or((&text, ""));
    let class = match code {
        "CLUSTERDOWN" => "ClusterDownError",
        "TRYAGAIN" => "TryAgainError",
        "LOADING" => "BusyLoadingError",
        "CROSSSLOT" => "ClusterCrossSlotError",
        "MOVED" => "MovedError",
        "ASK" => "AskError",
        "READONLY" => "ReadOnlyError",
        "EXECABORT" => "ExecAbortError",
        "NOAUTH" | "WRONGPASS" => "AuthenticationError",
        "NOPERM" => "NoPermissionError",
        "UNCERTAIN" => "UncertainWriteError",
        _ => "ResponseError",
    };
    let msg = if STRIPPED.contains(&code) { rest } else { &text };
    make_exc(py, class, msg)
}

fn client_error(py: Python<'_>, e: &Error) -> PyErr {
    match e {
        Error::Connect(m) | Error::Io(m) => make_exc(py, "ConnectionError", m),
        Error::Timeout(m) => make_exc(py, "TimeoutError", m),
        Error::CrossSlot(m) => make_exc(py, "ClusterCrossSlotError", m),
        Error::Cluster(m) => make_exc(py, "ClusterError", m),
    }
}

fn to_py(py: Python<'_>, v: Value, decode: bool) -> PyResult<PyObject> {
    Ok(match v {
        Value::Nil => py.None(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Data(d) => {
            if decode {
                match std::str::from_utf8(&d) {
                    Ok(s) => PyString::new(py, s).into_any().unbind(),
                    Err(_) => return Err(PyValueError::new_err("reply is not valid UTF-8 (decode_responses=True)")),
                }
            } else {
                PyBytes::new(py, &d).into_any().unbind()
            }
        }
        Value::Double(d) => {
            let f: f64 = String::from_utf8_lossy(&d).parse().unwrap_or(f64::NAN);
            f.into_pyobject(py)?.into_any().unbind()
        }
        Value::Error(e) => reply_error(py, &e).into_value(py).into_any(),
        Value::Array(items) => {
            let mut objs = Vec::with_capacity(items.len());
            for it in items {
                objs.push(to_py(py, it, decode)?);
            }
            PyList::new(py, objs)?.into_any().unbind()
        }
    })
}

/// The native client: `execute(args)` raises on an error reply, `execute_many(cmds)` returns
/// each reply or exception instance in order.
#[pyclass(module = "redraft._native", frozen)]
struct Client {
    inner: Arc<Cluster>,
    decode: bool,
}

fn secs(v: Option<f64>) -> PyResult<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(PyValueError::new_err(format!("timeout must be a positive number of seconds, got {s}"))),
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (startup_nodes, decode_responses=false, read_from_replicas=false, socket_timeout=None,
        socket_connect_timeout=None, max_redirects=16, retry_timeout=10.0, refresh_interval=5.0,
        username=None, password=None, max_idle=32))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        startup_nodes: Vec<(String, u16)>,
        decode_responses: bool,
        read_from_replicas: bool,
        socket_timeout: Option<f64>,
        socket_connect_timeout: Option<f64>,
        max_redirects: u32,
        retry_timeout: f64,
        refresh_interval: f64,
        username: Option<String>,
        password: Option<String>,
        max_idle: usize,
    ) -> PyResult<Self> {
        let o = Options {
            seeds: startup_nodes.iter().map(|(h, p)| format!("{h}:{p}")).collect(),
            connect_timeout: secs(socket_connect_timeout)?,
            socket_timeout: secs(socket_timeout)?,
            max_redirects,
            read_from_replicas,
            retry_timeout: secs(Some(retry_timeout))?.unwrap_or_default(),
            refresh_interval: secs(Some(refresh_interval))?.unwrap_or_default(),
            username: username.map(String::into_bytes),
            password: password.map(String::into_bytes),
            max_idle: max_idle.max(1),
        };
        let inner = py.allow_threads(|| Cluster::connect(o)).map_err(|e| client_error(py, &e))?;
        Ok(Client { inner, decode: decode_responses })
    }

    /// Runs one command; an error reply is raised.
    #[pyo3(signature = (*args))]
    fn execute(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        self.execute_args(py, args.as_any())
    }

    /// Like execute, with the arguments as one sequence.
    fn execute_args(&self, py: Python<'_>, args: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let a = args_of(args)?;
        let inner = self.inner.clone();
        let r = py.allow_threads(move || {
            let job = inner.plan(a);
            inner.run(vec![job]).pop().expect("one reply")
        });
        match r {
            Ok(Value::Error(e)) => Err(reply_error(py, &e)),
            Ok(v) => to_py(py, v, self.decode),
            Err(e) => Err(client_error(py, &e)),
        }
    }

    /// Runs many commands in one round per node; returns each reply or exception instance.
    fn execute_many(&self, py: Python<'_>, cmds: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let mut all = Vec::new();
        for c in cmds.try_iter()? {
            all.push(args_of(&c?)?);
        }
        let inner = self.inner.clone();
        let rs = py.allow_threads(move || {
            let jobs = all.into_iter().map(|a| inner.plan(a)).collect();
            inner.run(jobs)
        });
        let mut out = Vec::with_capacity(rs.len());
        for r in rs {
            out.push(match r {
                Ok(v) => to_py(py, v, self.decode)?,
                Err(e) => client_error(py, &e).into_value(py).into_any(),
            });
        }
        Ok(PyList::new(py, out)?.into_any().unbind())
    }

    /// Runs the commands as one MULTI/EXEC (all keys in one slot); returns EXEC's reply.
    fn execute_transaction(&self, py: Python<'_>, cmds: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let mut all = Vec::new();
        for c in cmds.try_iter()? {
            all.push(args_of(&c?)?);
        }
        let inner = self.inner.clone();
        match py.allow_threads(move || inner.run_transaction(all)) {
            Ok(Value::Error(e)) => Err(reply_error(py, &e)),
            Ok(v) => to_py(py, v, self.decode),
            Err(e) => Err(client_error(py, &e)),
        }
    }

    fn keyslot(&self, key: &Bound<'_, PyAny>) -> PyResult<u16> {
        key_slot(key)
    }

    /// (primary "host:port", [replica "host:port", ...]) of a slot, or None.
    fn slot_owner(&self, slot: u16) -> PyResult<Option<(String, Vec<String>)>> {
        if slot as usize >= keys::SLOTS {
            return Err(PyValueError::new_err("slot out of range"));
        }
        Ok(self.inner.slot_owner(slot))
    }

    /// [("host:port", is_primary), ...] of the known topology.
    fn nodes(&self) -> Vec<(String, bool)> {
        self.inner.all_nodes()
    }

    /// Counters: sent, moved, ask, retried, refreshes, connects.
    fn stats(&self) -> Vec<(&'static str, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.inner.stats;
        vec![
            ("sent", s.sent.load(Relaxed)),
            ("moved", s.moved.load(Relaxed)),
            ("ask", s.ask.load(Relaxed)),
            ("retried", s.retried.load(Relaxed)),
            ("refreshes", s.refreshes.load(Relaxed)),
            ("connects", s.connects.load(Relaxed)),
        ]
    }

    fn is_cluster(&self) -> bool {
        self.inner.is_cluster()
    }

    /// Reloads the topology now.
    fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        let inner = self.inner.clone();
        py.allow_threads(move || inner.refresh(true)).map_err(|e| client_error(py, &e))
    }

    fn close(&self) {
        self.inner.close();
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(key_slot, m)?)?;
    m.add_class::<Client>()?;
    Ok(())
}
