//! Replay and suggest (`egress_policy::tools::replay`, `egress_policy::tools::suggest`).
//!
//! The functions take lines (an iterable of `str`) or log files, decide without the GIL,
//! and return plain dicts equal to the CLI's `--json` output. `_Partial`, `_report` and
//! `_suggest_from` expose the mergeable partial results the Spark jobs
//! (`egress_policy.spark`) combine across partitions.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use egress_policy::tools::replay::{
    replay_into, replay_lines, replay_reader, Engines, LogOptions, LogReader, ReplayReport, Tally,
};
use egress_policy::tools::suggest::{Observations, SuggestOptions, Vendor};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::convert::to_python;
use crate::engine::PyEngine;

fn log_reader(
    format: &str,
    mappings: Option<HashMap<String, String>>,
    identities: Option<HashMap<String, String>>,
    text_format: Option<&str>,
) -> PyResult<LogReader> {
    LogOptions {
        format: Some(format.to_string()),
        mappings: mappings.unwrap_or_default().into_iter().collect(),
        identities: identities.unwrap_or_default().into_iter().collect(),
        text_format: text_format.map(str::to_string),
    }
    .reader()
    .map_err(PyValueError::new_err)
}

fn lines_of(lines: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    lines.try_iter()?.map(|l| l?.extract::<String>()).collect()
}

fn open(path: &PathBuf) -> PyResult<BufReader<File>> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|e| PyOSError::new_err(format!("{}: cannot read: {e}", path.display())))
}

/// Decides every request of access logs (`logs`: paths) or of `lines`, and returns the
/// report as a dict (the CLI's `replay --json`). With `before`, rows are only the request
/// classes whose decision changes.
#[pyfunction]
#[pyo3(signature = (policies, *, logs = None, lines = None, format = "envoy-json", before = None, mappings = None, identities = None, text_format = None, threads = 2))]
#[allow(clippy::too_many_arguments)]
pub fn replay<'py>(
    py: Python<'py>,
    policies: &Bound<'py, PyEngine>,
    logs: Option<Vec<PathBuf>>,
    lines: Option<&Bound<'py, PyAny>>,
    format: &str,
    before: Option<&Bound<'py, PyEngine>>,
    mappings: Option<HashMap<String, String>>,
    identities: Option<HashMap<String, String>>,
    text_format: Option<&str>,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let reader = log_reader(format, mappings, identities, text_format)?;
    let texts = lines.map(lines_of).transpose()?;
    let after = policies.get().engine();
    let before_engine = before.map(|b| b.get().engine());
    let engines = Engines {
        after,
        before: before_engine,
    };
    let tally = py.detach(|| -> PyResult<Tally> {
        let mut tally = Tally::default();
        for path in logs.iter().flatten() {
            let name = path.display().to_string();
            let part = replay_reader(engines, &reader, &name, open(path)?, threads, &mut |_| {})
                .map_err(|e| PyOSError::new_err(format!("{name}: cannot read: {e}")))?;
            tally.merge(part);
        }
        if let Some(texts) = &texts {
            tally.merge(replay_lines(
                engines,
                &reader,
                "<lines>",
                texts.iter().map(String::as_str),
            ));
        }
        Ok(tally)
    })?;
    let report = ReplayReport::from_tally(tally, before_engine.is_some());
    to_python(py, &report)
}

/// A Spark partition's partial result, fed batch by batch (`egress_policy.spark`): the
/// tally of a replay or the observations of a suggest, kept in Rust across batches and
/// handed to the driver once, as JSON. Lines are numbered on from batch to batch.
#[pyclass(name = "_Partial", module = "egress_policy._native")]
pub struct PyPartial {
    reader: LogReader,
    file: String,
    next_line: u64,
    tally: Tally,
    observations: Observations,
}

#[pymethods]
impl PyPartial {
    #[new]
    #[pyo3(signature = (*, format = "envoy-json", mappings = None, identities = None, text_format = None, file = "<lines>"))]
    fn new(
        format: &str,
        mappings: Option<HashMap<String, String>>,
        identities: Option<HashMap<String, String>>,
        text_format: Option<&str>,
        file: &str,
    ) -> PyResult<Self> {
        Ok(PyPartial {
            reader: log_reader(format, mappings, identities, text_format)?,
            file: file.to_string(),
            next_line: 1,
            tally: Tally::default(),
            observations: Observations::default(),
        })
    }

    /// Decides `lines` against `policies` (and `before`) into the partial tally.
    #[pyo3(signature = (lines, policies, before = None))]
    fn replay(
        &mut self,
        py: Python<'_>,
        lines: &Bound<'_, PyAny>,
        policies: &Bound<'_, PyEngine>,
        before: Option<&Bound<'_, PyEngine>>,
    ) -> PyResult<()> {
        let texts = lines_of(lines)?;
        let engines = Engines {
            after: policies.get().engine(),
            before: before.map(|b| b.get().engine()),
        };
        let first = self.next_line;
        self.next_line += texts.len() as u64;
        let (tally, reader, file) = (&mut self.tally, &self.reader, self.file.as_str());
        py.detach(|| {
            replay_into(
                tally,
                engines,
                reader,
                file,
                first,
                texts.iter().map(String::as_str),
            )
        });
        Ok(())
    }

    /// Adds the distinct observations of `lines` (with `policies`, requests they already
    /// allow are left out).
    #[pyo3(signature = (lines, policies = None, generalize = 1))]
    fn observe(
        &mut self,
        py: Python<'_>,
        lines: &Bound<'_, PyAny>,
        policies: Option<&Bound<'_, PyEngine>>,
        generalize: usize,
    ) -> PyResult<()> {
        let texts = lines_of(lines)?;
        let existing = policies.map(|p| p.get().engine());
        let first = self.next_line;
        self.next_line += texts.len() as u64;
        let (observations, reader, file) =
            (&mut self.observations, &self.reader, self.file.as_str());
        py.detach(|| {
            observations.read(
                reader,
                file,
                first,
                texts.iter().map(String::as_str),
                generalize,
                existing,
            )
        });
        Ok(())
    }

    /// The partial tally as JSON (for `_report`).
    fn tally_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.tally).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The observations as JSON (for `_suggest_from`).
    fn observations_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.observations).map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// Merges partial tallies (JSON from `_Partial.tally_json`) and finishes the report (the
/// CLI's `replay --json`); `compare` is whether `before` policies were given.
#[pyfunction]
pub fn _report<'py>(
    py: Python<'py>,
    tallies: Vec<String>,
    compare: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let mut tally = Tally::default();
    for json in tallies {
        let part: Tally = serde_json::from_str(&json)
            .map_err(|e| PyValueError::new_err(format!("not a replay tally: {e}")))?;
        tally.merge(part);
    }
    to_python(py, &ReplayReport::from_tally(tally, compare))
}

fn suggestion_dict<'py>(
    py: Python<'py>,
    observations: &Observations,
    vendor: &str,
    generalize: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let vendor: Vendor = vendor.parse().map_err(PyValueError::new_err)?;
    to_python(
        py,
        &observations.suggest(&SuggestOptions { vendor, generalize }),
    )
}

/// Writes the smallest policy set that allows exactly the traffic of `logs` (paths) or
/// `lines`: a dict with `yaml`, `hosts`, `rules`, `notes` and the counts read. With
/// `policies`, traffic they already allow is left out.
#[pyfunction]
#[pyo3(signature = (*, logs = None, lines = None, format = "envoy-json", vendor = "istio", policies = None, generalize = 1, mappings = None, identities = None, text_format = None))]
#[allow(clippy::too_many_arguments)]
pub fn suggest<'py>(
    py: Python<'py>,
    logs: Option<Vec<PathBuf>>,
    lines: Option<&Bound<'py, PyAny>>,
    format: &str,
    vendor: &str,
    policies: Option<&Bound<'py, PyEngine>>,
    generalize: usize,
    mappings: Option<HashMap<String, String>>,
    identities: Option<HashMap<String, String>>,
    text_format: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let reader = log_reader(format, mappings, identities, text_format)?;
    let texts = lines.map(lines_of).transpose()?;
    let existing = policies.map(|p| p.get().engine());
    let observations = py.detach(|| -> PyResult<Observations> {
        let mut all = Observations::default();
        for path in logs.iter().flatten() {
            let name = path.display().to_string();
            let mut part = Observations::default();
            for (i, line) in open(path)?.lines().enumerate() {
                let line =
                    line.map_err(|e| PyOSError::new_err(format!("{name}: cannot read: {e}")))?;
                part.read(
                    &reader,
                    &name,
                    i as u64 + 1,
                    [line.as_str()],
                    generalize,
                    existing,
                );
            }
            all.merge(part);
        }
        if let Some(texts) = &texts {
            all.read(
                &reader,
                "<lines>",
                1,
                texts.iter().map(String::as_str),
                generalize,
                existing,
            );
        }
        Ok(all)
    })?;
    suggestion_dict(py, &observations, vendor, generalize)
}

/// The suggestion for merged observations (JSON from `_Partial.observations_json`).
#[pyfunction]
#[pyo3(signature = (observations, *, vendor = "istio", generalize = 1))]
pub fn _suggest_from<'py>(
    py: Python<'py>,
    observations: Vec<String>,
    vendor: &str,
    generalize: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let mut all = Observations::default();
    for json in observations {
        let part: Observations = serde_json::from_str(&json)
            .map_err(|e| PyValueError::new_err(format!("not observations: {e}")))?;
        all.merge(part);
    }
    suggestion_dict(py, &all, vendor, generalize)
}
