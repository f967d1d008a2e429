//! A blocking client of the Kafka Connect REST API: what kmigrate needs to run MirrorMaker 2
//! (submit a config, read a status, delete a connector). Errors carry Connect's own message.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// The Connect cluster at `url` (`http://host:8083`).
#[derive(Clone)]
pub struct ConnectClient {
    url: String,
    agent: ureq::Agent,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// No answer: the worker is down, restarting or unreachable.
    #[error("Kafka Connect at {url} did not answer: {reason}")]
    Unreachable { url: String, reason: String },
    /// Connect answered with an error status.
    #[error("Kafka Connect answered {status} to {what}: {message}")]
    Refused { status: u16, what: String, message: String },
}

impl ConnectError {
    /// Worth trying again: the worker is away, or busy rebalancing (409) or starting (5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectError::Unreachable { .. } => true,
            ConnectError::Refused { status, .. } => *status == 409 || *status >= 500,
        }
    }
}

/// Per source (topic, partition), the offset of the last record a source connector copied.
pub type MirroredOffsets = BTreeMap<(String, i32), i64>;

/// `GET /connectors/<name>/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: ConnectorState,
    #[serde(default)]
    pub tasks: Vec<TaskState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectorState {
    /// `UNASSIGNED`, `RUNNING`, `PAUSED`, `STOPPED`, `FAILED`, `RESTARTING`.
    pub state: String,
    #[serde(default)]
    pub worker_id: String,
    #[serde(default)]
    pub trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskState {
    pub id: i32,
    pub state: String,
    #[serde(default)]
    pub worker_id: String,
    #[serde(default)]
    pub trace: Option<String>,
}

impl ConnectorStatus {
    /// The connector's or a task's failure, with its trace: "task 0 FAILED on w:8083: <trace>".
    pub fn failure(&self) -> Option<String> {
        let trace = |t: &Option<String>| t.as_deref().map(first_lines).unwrap_or_default();
        if self.connector.state == "FAILED" {
            return Some(format!(
                "connector {} FAILED on {}: {}",
                self.name,
                self.connector.worker_id,
                trace(&self.connector.trace)
            ));
        }
        self.tasks.iter().find(|t| t.state == "FAILED").map(|t| {
            format!("connector {} task {} FAILED on {}: {}", self.name, t.id, t.worker_id, trace(&t.trace))
        })
    }

    /// Every task runs (and there is at least one).
    pub fn running(&self) -> bool {
        self.connector.state == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t.state == "RUNNING")
    }
}

/// A Java stack trace's message and its first frames and causes: enough to say what failed.
fn first_lines(trace: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in trace.lines() {
        let l = line.trim();
        if out.is_empty() || l.starts_with("Caused by:") || (out.len() < 4 && l.starts_with("at ")) {
            out.push(l);
        }
    }
    out.join("\n    ")
}

#[derive(Deserialize)]
struct OffsetsBody {
    offsets: Vec<OffsetEntry>,
}

#[derive(Deserialize)]
struct OffsetEntry {
    partition: serde_json::Map<String, serde_json::Value>,
    offset: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

impl ConnectClient {
    pub fn new(url: &str, timeout: Duration) -> Self {
        let config =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build();
        ConnectClient { url: url.trim_end_matches('/').to_string(), agent: config.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `PUT /connectors/<name>/config`: creates the connector or updates its config (the same
    /// config again changes nothing). True when it was created.
    pub fn put_config(&self, name: &str, config: &BTreeMap<String, String>) -> Result<bool, ConnectError> {
        let what = format!("PUT /connectors/{name}/config");
        let response = self
            .agent
            .put(format!("{}/connectors/{name}/config", self.url))
            .send_json(config)
            .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        match status {
            201 => Ok(true),
            200 => Ok(false),
            _ => Err(refused(status, what, response)),
        }
    }

    /// `GET /connectors/<name>/status`; `None` when there is no such connector.
    pub fn status(&self, name: &str) -> Result<Option<ConnectorStatus>, ConnectError> {
        let what = format!("GET /connectors/{name}/status");
        let mut response = self
            .agent
            .get(format!("{}/connectors/{name}/status", self.url))
            .call()
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200 => response.body_mut().read_json().map(Some).map_err(|e| ConnectError::Refused {
                status: 200,
                what,
                message: format!("unreadable answer: {e}"),
            }),
            404 => Ok(None),
            status => Err(refused(status, what, response)),
        }
    }

    /// `DELETE /connectors/<name>`: true when it existed.
    pub fn delete(&self, name: &str) -> Result<bool, ConnectError> {
        let what = format!("DELETE /connectors/{name}");
        let response = self
            .agent
            .delete(format!("{}/connectors/{name}", self.url))
            .call()
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200 | 204 => Ok(true),
            404 => Ok(false),
            status => Err(refused(status, what, response)),
        }
    }

    /// `GET /connectors/<name>/offsets` of a MirrorMaker 2 source connector: per source (topic,
    /// partition), the offset of the last record it copied whose write the target acknowledged
    /// (Connect commits a source task's offsets after its producer's acknowledgements, every
    /// `offset.flush.interval.ms`). `None` when there is no such connector.
    pub fn mirrored_offsets(&self, name: &str) -> Result<Option<MirroredOffsets>, ConnectError> {
        let what = format!("GET /connectors/{name}/offsets");
        let mut response = self
            .agent
            .get(format!("{}/connectors/{name}/offsets", self.url))
            .call()
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200 => {
                let body: OffsetsBody = response.body_mut().read_json().map_err(|e| {
                    ConnectError::Refused { status: 200, what, message: format!("unreadable answer: {e}") }
                })?;
                Ok(Some(
                    body.offsets
                        .into_iter()
                        .filter_map(|o| {
                            let topic = o.partition.get("topic")?.as_str()?.to_string();
                            let partition = o.partition.get("partition")?.as_i64()? as i32;
                            let offset = o.offset?.get("offset")?.as_i64()?;
                            Some(((topic, partition), offset))
                        })
                        .collect(),
                ))
            }
            404 => Ok(None),
            status => Err(refused(status, what, response)),
        }
    }

    /// `GET /`: the Connect worker's Kafka version.
    pub fn version(&self) -> Result<String, ConnectError> {
        let mut response =
            self.agent.get(format!("{}/", self.url)).call().map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200 => {
                let v: serde_json::Value =
                    response.body_mut().read_json().map_err(|e| ConnectError::Refused {
                        status: 200,
                        what: "GET /".into(),
                        message: format!("unreadable answer: {e}"),
                    })?;
                Ok(v["version"].as_str().unwrap_or("?").to_string())
            }
            status => Err(refused(status, "GET /".into(), response)),
        }
    }

    /// `GET /connector-plugins`: the connector classes the workers can run.
    pub fn plugins(&self) -> Result<Vec<String>, ConnectError> {
        let mut response = self
            .agent
            .get(format!("{}/connector-plugins", self.url))
            .call()
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200 => {
                let v: Vec<serde_json::Value> =
                    response.body_mut().read_json().map_err(|e| ConnectError::Refused {
                        status: 200,
                        what: "GET /connector-plugins".into(),
                        message: format!("unreadable answer: {e}"),
                    })?;
                Ok(v.iter().filter_map(|p| p["class"].as_str().map(str::to_string)).collect())
            }
            status => Err(refused(status, "GET /connector-plugins".into(), response)),
        }
    }

    /// `GET /connectors`: the names of every connector.
    pub fn list(&self) -> Result<Vec<String>, ConnectError> {
        let mut response =
            self.agent.get(format!("{}/connectors", self.url)).call().map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200 => response.body_mut().read_json().map_err(|e| ConnectError::Refused {
                status: 200,
                what: "GET /connectors".into(),
                message: format!("unreadable answer: {e}"),
            }),
            status => Err(refused(status, "GET /connectors".into(), response)),
        }
    }

    fn unreachable(&self, e: ureq::Error) -> ConnectError {
        ConnectError::Unreachable { url: self.url.clone(), reason: e.to_string() }
    }
}

fn refused(status: u16, what: String, mut response: ureq::http::Response<ureq::Body>) -> ConnectError {
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&text).map(|b| b.message).unwrap_or(text);
    ConnectError::Refused { status, what, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_task_is_named_with_its_trace() {
        let status: ConnectorStatus = serde_json::from_str(
            r#"{"name":"m-source","connector":{"state":"RUNNING","worker_id":"w:8083"},
                "tasks":[{"id":0,"state":"RUNNING","worker_id":"w:8083"},
                         {"id":1,"state":"FAILED","worker_id":"w:8083","trace":"org.apache.kafka.connect.errors.ConnectException: boom\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)\nCaused by: java.io.IOException: disk\n\tat g.h(I.java:3)"}],
                "type":"source"}"#,
        )
        .unwrap();
        assert!(!status.running());
        assert_eq!(
            status.failure().unwrap(),
            "connector m-source task 1 FAILED on w:8083: org.apache.kafka.connect.errors.ConnectException: boom\n    at a.b(C.java:1)\n    at d.e(F.java:2)\n    Caused by: java.io.IOException: disk"
        );
        assert!(
            ConnectError::Refused { status: 409, what: String::new(), message: String::new() }.is_transient()
        );
        assert!(
            !ConnectError::Refused { status: 400, what: String::new(), message: String::new() }
                .is_transient()
        );
    }
}
