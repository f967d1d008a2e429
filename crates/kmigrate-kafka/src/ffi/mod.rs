//! The only module with `unsafe` code: small safe wrappers over librdkafka calls that rdkafka's safe API lacks.
//!
//! - admin calls: ListOffsets (batched by partition leader), IncrementalAlterConfigs, ListConsumerGroups,
//!   ListConsumerGroupOffsets, AlterConsumerGroupOffsets;
//! - a "main queue pump": rdkafka's `AdminClient` never serves its client's main queue, where librdkafka
//!   puts log lines, statistics and global errors; the pump serves it and hands them to the client context;
//! - a certificate probe (`cert_probe`): OpenSSL's reason for refusing a broker certificate, which
//!   librdkafka's error text leaves out;
//! - reading a consumer's queue in batches (`ConsumerQueue`): one call per batch of records, not one
//!   poll and one event per record (the reader that follows a copy on the target).
//!
//! Every function here is blocking (it waits for the result event on a queue of its own, with a deadline);
//! callers run them on tokio's blocking pool. Pointers never escape: each raw librdkafka object is owned by
//! a wrapper that destroys it on drop, and results are copied into Rust values before the event is freed.

use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::bindings as rd;
use rdkafka::client::Client;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

mod cert_probe;
pub(crate) use cert_probe::{CertRejection, probe as probe_certificate};

/// An error code with librdkafka's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FfiError {
    pub code: RDKafkaErrorCode,
    pub message: String,
}

impl FfiError {
    fn new(code: RDKafkaErrorCode, message: impl Into<String>) -> Self {
        FfiError { code, message: message.into() }
    }

    fn from_resp(err: rd::rd_kafka_resp_err_t, message: *const c_char) -> Option<Self> {
        if err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return None;
        }
        let code: RDKafkaErrorCode = err.into();
        // SAFETY: librdkafka error strings are NUL-terminated and live as long as their owner, which the
        // caller still holds; we copy right away.
        let text = unsafe { opt_str(message) }.unwrap_or_else(|| code.to_string());
        Some(FfiError::new(code, text))
    }

    /// Copies a (borrowed) `rd_kafka_error_t`; `None` for a null pointer or NO_ERROR.
    fn from_error_ptr(error: *const rd::rd_kafka_error_t) -> Option<Self> {
        if error.is_null() {
            return None;
        }
        // SAFETY: non-null error object owned by the caller for the duration of this call.
        let (code, text) = unsafe { (rd::rd_kafka_error_code(error), rd::rd_kafka_error_string(error)) };
        FfiError::from_resp(code, text)
    }

    /// Takes ownership of an `rd_kafka_error_t` returned by a setter, converting and destroying it.
    fn take_error(error: *mut rd::rd_kafka_error_t) -> Result<(), Self> {
        if error.is_null() {
            return Ok(());
        }
        let converted = FfiError::from_error_ptr(error);
        // SAFETY: we own the returned error object.
        unsafe { rd::rd_kafka_error_destroy(error) };
        match converted {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Reads a C string (`None` for null).
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string valid for the duration of the call.
unsafe fn opt_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

fn cstring(s: &str) -> Result<CString, FfiError> {
    CString::new(s).map_err(|_| {
        FfiError::new(RDKafkaErrorCode::InvalidArgument, format!("name contains a NUL byte: {s:?}"))
    })
}

fn millis(d: Duration) -> c_int {
    d.as_millis().min(i32::MAX as u128) as c_int
}

// ---------------------------------------------------------------------------------------------------------
// Owning wrappers
// ---------------------------------------------------------------------------------------------------------

struct Queue(*mut rd::rd_kafka_queue_t);
// SAFETY: librdkafka queues are thread-safe.
unsafe impl Send for Queue {}
impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: we own this queue reference.
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
    }
}

struct Options(*mut rd::rd_kafka_AdminOptions_t);
impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: we own the options object.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0) }
    }
}

struct Event(*mut rd::rd_kafka_event_t);
impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the event returned by queue_poll.
        unsafe { rd::rd_kafka_event_destroy(self.0) }
    }
}

struct Tpl(*mut rd::rd_kafka_topic_partition_list_t);
impl Drop for Tpl {
    fn drop(&mut self) {
        // SAFETY: we own the list.
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.0) }
    }
}

impl Tpl {
    fn build<'a>(entries: impl ExactSizeIterator<Item = (&'a str, i32, i64)>) -> Result<Tpl, FfiError> {
        // SAFETY: plain constructor.
        let tpl = Tpl(unsafe { rd::rd_kafka_topic_partition_list_new(entries.len() as c_int) });
        for (topic, partition, offset) in entries {
            let topic = cstring(topic)?;
            // SAFETY: tpl is valid; librdkafka copies the topic name; the returned element pointer is valid
            // until the list is modified again, and we only write its offset now.
            unsafe {
                let elem = rd::rd_kafka_topic_partition_list_add(tpl.0, topic.as_ptr(), partition);
                (*elem).offset = offset;
            }
        }
        Ok(tpl)
    }
}

/// Copies the elements of a borrowed topic partition list.
///
/// # Safety
/// `list` must be null or a valid list that outlives this call.
unsafe fn read_tpl(list: *const rd::rd_kafka_topic_partition_list_t) -> Vec<PartitionResult> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: valid list per the caller; elems has cnt initialised elements.
    unsafe {
        let cnt = (*list).cnt.max(0) as usize;
        (0..cnt).map(|i| read_partition((*list).elems.add(i))).collect()
    }
}

/// # Safety
/// `p` must point to a valid topic partition.
unsafe fn read_partition(p: *const rd::rd_kafka_topic_partition_t) -> PartitionResult {
    // SAFETY: valid per the caller.
    unsafe {
        PartitionResult {
            topic: opt_str((*p).topic).unwrap_or_default(),
            partition: (*p).partition,
            offset: (*p).offset,
            error: FfiError::from_resp((*p).err, rd::rd_kafka_err2str((*p).err)),
        }
    }
}

/// One partition of a result list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub error: Option<FfiError>,
}

// ---------------------------------------------------------------------------------------------------------
// Admin call plumbing
// ---------------------------------------------------------------------------------------------------------

/// Extra time on top of the request timeout to wait for librdkafka's own timeout result event.
const RESULT_MARGIN: Duration = Duration::from_secs(5);

struct AdminCall {
    rk: *mut rd::rd_kafka_t,
    queue: Queue,
    options: Options,
    timeout: Duration,
}

impl AdminCall {
    fn new<C: ClientContext>(
        client: &Client<C>,
        op: rd::rd_kafka_admin_op_t,
        timeout: Duration,
    ) -> Result<Self, FfiError> {
        let rk = client.native_ptr();
        // SAFETY: rk is a live client (the caller holds `client`).
        let options = Options(unsafe { rd::rd_kafka_AdminOptions_new(rk, op) });
        if options.0.is_null() {
            return Err(FfiError::new(
                RDKafkaErrorCode::InvalidArgument,
                "librdkafka refused to create admin options",
            ));
        }
        let mut errstr = [0 as c_char; 512];
        // SAFETY: valid options and a writable buffer of the given size.
        let err = unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(
                options.0,
                millis(timeout),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if let Some(e) = FfiError::from_resp(err, errstr.as_ptr()) {
            return Err(e);
        }
        // SAFETY: rk is live.
        let queue = Queue(unsafe { rd::rd_kafka_queue_new(rk) });
        Ok(AdminCall { rk, queue, options, timeout })
    }

    /// Waits for the result event of type `expected`; an event-level error becomes `Err`.
    fn wait(&self, expected: c_int) -> Result<Event, FfiError> {
        let deadline = Instant::now() + self.timeout + RESULT_MARGIN;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(FfiError::new(
                    RDKafkaErrorCode::OperationTimedOut,
                    "no result from librdkafka in time",
                ));
            }
            // SAFETY: our queue is valid.
            let ev = unsafe { rd::rd_kafka_queue_poll(self.queue.0, millis(remaining).max(1)) };
            if ev.is_null() {
                continue;
            }
            let ev = Event(ev);
            // SAFETY: valid event.
            let ty = unsafe { rd::rd_kafka_event_type(ev.0) };
            if ty != expected {
                continue;
            }
            // SAFETY: valid event; the error string lives as long as the event.
            let err = unsafe {
                FfiError::from_resp(rd::rd_kafka_event_error(ev.0), rd::rd_kafka_event_error_string(ev.0))
            };
            return match err {
                Some(e) => Err(e),
                None => Ok(ev),
            };
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// ListOffsets
// ---------------------------------------------------------------------------------------------------------

/// librdkafka's offset specs for ListOffsets (a non-negative value is a timestamp in ms).
pub(crate) const SPEC_EARLIEST: i64 = -2;
pub(crate) const SPEC_LATEST: i64 = -1;

/// One answer of ListOffsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedOffset {
    pub topic: String,
    pub partition: i32,
    /// The offset; -1 when a by-time lookup found no record (Apache Kafka's "none").
    pub offset: i64,
    /// The timestamp of the record found (by-time lookups), -1 otherwise.
    pub timestamp: i64,
    pub error: Option<FfiError>,
}

/// ListOffsets for many partitions in one call. librdkafka looks up the partition leaders and sends one
/// ListOffsets request per leader broker. `spec` per partition: [`SPEC_EARLIEST`], [`SPEC_LATEST`] or a
/// timestamp (ms). A partition may appear only once per call.
pub(crate) fn list_offsets<C: ClientContext>(
    client: &Client<C>,
    partitions: &[(String, i32, i64)],
    timeout: Duration,
) -> Result<Vec<ListedOffset>, FfiError> {
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let call = AdminCall::new(client, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS, timeout)?;
    // SAFETY: valid options; returns an owned error or null.
    FfiError::take_error(unsafe {
        rd::rd_kafka_AdminOptions_set_isolation_level(
            call.options.0,
            rd::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED,
        )
    })?;
    let tpl = Tpl::build(partitions.iter().map(|(t, p, s)| (t.as_str(), *p, *s)))?;
    // SAFETY: all objects are valid; librdkafka copies the list and options.
    unsafe { rd::rd_kafka_ListOffsets(call.rk, tpl.0, call.options.0, call.queue.0) };
    let ev = call.wait(rd::RD_KAFKA_EVENT_LISTOFFSETS_RESULT)?;
    // SAFETY: event of the expected type; every borrowed pointer lives as long as `ev`, and we copy.
    unsafe {
        let result = rd::rd_kafka_event_ListOffsets_result(ev.0);
        let mut cnt = 0usize;
        let infos = rd::rd_kafka_ListOffsets_result_infos(result, &mut cnt);
        let mut out = Vec::with_capacity(cnt);
        for i in 0..cnt {
            let info = *infos.add(i);
            let tp = read_partition(rd::rd_kafka_ListOffsetsResultInfo_topic_partition(info));
            out.push(ListedOffset {
                topic: tp.topic,
                partition: tp.partition,
                offset: tp.offset,
                timestamp: rd::rd_kafka_ListOffsetsResultInfo_timestamp(info),
                error: tp.error,
            });
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------------------
// IncrementalAlterConfigs
// ---------------------------------------------------------------------------------------------------------

/// One incremental config change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigOp {
    Set(String, String),
    Delete(String),
}

struct ConfigResource(*mut rd::rd_kafka_ConfigResource_t);
impl Drop for ConfigResource {
    fn drop(&mut self) {
        // SAFETY: we own the resource.
        unsafe { rd::rd_kafka_ConfigResource_destroy(self.0) }
    }
}

/// IncrementalAlterConfigs for topic resources. Returns one entry per topic with its error, if any.
pub(crate) fn incremental_alter_topic_configs<C: ClientContext>(
    client: &Client<C>,
    changes: &[(String, Vec<ConfigOp>)],
    timeout: Duration,
) -> Result<Vec<(String, Option<FfiError>)>, FfiError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let call =
        AdminCall::new(client, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS, timeout)?;
    let mut resources = Vec::with_capacity(changes.len());
    for (topic, ops) in changes {
        let name = cstring(topic)?;
        // SAFETY: plain constructor; librdkafka copies the name.
        let res = ConfigResource(unsafe {
            rd::rd_kafka_ConfigResource_new(
                rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                name.as_ptr(),
            )
        });
        for op in ops {
            let (key, op_type, value) = match op {
                ConfigOp::Set(k, v) => (
                    cstring(k)?,
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                    Some(cstring(v)?),
                ),
                ConfigOp::Delete(k) => (
                    cstring(k)?,
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
                    None,
                ),
            };
            // SAFETY: valid resource; librdkafka copies key and value.
            FfiError::take_error(unsafe {
                rd::rd_kafka_ConfigResource_add_incremental_config(
                    res.0,
                    key.as_ptr(),
                    op_type,
                    value.as_ref().map_or(ptr::null(), |v| v.as_ptr()),
                )
            })?;
        }
        resources.push(res);
    }
    let mut raw: Vec<*mut rd::rd_kafka_ConfigResource_t> = resources.iter().map(|r| r.0).collect();
    // SAFETY: valid array of valid resources; librdkafka copies them.
    unsafe {
        rd::rd_kafka_IncrementalAlterConfigs(
            call.rk,
            raw.as_mut_ptr(),
            raw.len(),
            call.options.0,
            call.queue.0,
        )
    };
    let ev = call.wait(rd::RD_KAFKA_EVENT_INCREMENTALALTERCONFIGS_RESULT)?;
    // SAFETY: event of the expected type; borrowed pointers live as long as `ev`.
    unsafe {
        let result = rd::rd_kafka_event_IncrementalAlterConfigs_result(ev.0);
        let mut cnt = 0usize;
        let res = rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut cnt);
        Ok((0..cnt)
            .map(|i| {
                let r = *res.add(i);
                (
                    opt_str(rd::rd_kafka_ConfigResource_name(r)).unwrap_or_default(),
                    FfiError::from_resp(
                        rd::rd_kafka_ConfigResource_error(r),
                        rd::rd_kafka_ConfigResource_error_string(r),
                    ),
                )
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------------------
// Consumer groups
// ---------------------------------------------------------------------------------------------------------

/// One group of a ListConsumerGroups answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupListing {
    pub group_id: String,
    /// librdkafka's state enum as a name: "Stable", "Empty", ... or "Unknown" when the broker does not say.
    pub state: &'static str,
    pub simple: bool,
}

fn state_name(state: rd::rd_kafka_consumer_group_state_t) -> &'static str {
    use rd::rd_kafka_consumer_group_state_t as S;
    match state {
        S::RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE => "PreparingRebalance",
        S::RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE => "CompletingRebalance",
        S::RD_KAFKA_CONSUMER_GROUP_STATE_STABLE => "Stable",
        S::RD_KAFKA_CONSUMER_GROUP_STATE_DEAD => "Dead",
        S::RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY => "Empty",
        _ => "Unknown",
    }
}

/// ListConsumerGroups (ListGroups on every broker). Returns the groups and the per-broker errors.
pub(crate) fn list_consumer_groups<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<(Vec<GroupListing>, Vec<FfiError>), FfiError> {
    let call =
        AdminCall::new(client, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, timeout)?;
    // SAFETY: valid objects.
    unsafe { rd::rd_kafka_ListConsumerGroups(call.rk, call.options.0, call.queue.0) };
    let ev = call.wait(rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT)?;
    // SAFETY: event of the expected type; borrowed pointers live as long as `ev`.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroups_result(ev.0);
        let mut cnt = 0usize;
        let valid = rd::rd_kafka_ListConsumerGroups_result_valid(result, &mut cnt);
        let groups = (0..cnt)
            .map(|i| {
                let g = *valid.add(i);
                GroupListing {
                    group_id: opt_str(rd::rd_kafka_ConsumerGroupListing_group_id(g)).unwrap_or_default(),
                    state: state_name(rd::rd_kafka_ConsumerGroupListing_state(g)),
                    simple: rd::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(g) != 0,
                }
            })
            .collect();
        let mut ecnt = 0usize;
        let errors = rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut ecnt);
        let errors = (0..ecnt).filter_map(|i| FfiError::from_error_ptr(*errors.add(i))).collect();
        Ok((groups, errors))
    }
}

/// Reads the group-level error and partitions of the single group result of a group-offsets event.
///
/// # Safety
/// `groups` must point to `cnt` valid group results that outlive this call.
unsafe fn single_group_result(
    groups: *const *const rd::rd_kafka_group_result_t,
    cnt: usize,
) -> Result<Vec<PartitionResult>, FfiError> {
    if cnt == 0 || groups.is_null() {
        return Err(FfiError::new(RDKafkaErrorCode::BadMessage, "librdkafka returned no group result"));
    }
    // SAFETY: per the caller.
    unsafe {
        let g = *groups;
        if let Some(e) = FfiError::from_error_ptr(rd::rd_kafka_group_result_error(g)) {
            return Err(e);
        }
        Ok(read_tpl(rd::rd_kafka_group_result_partitions(g)))
    }
}

/// ListConsumerGroupOffsets (OffsetFetch at the group coordinator) for one group; `None` lists every
/// partition the group has committed. An offset of -1001 (`RD_KAFKA_OFFSET_INVALID`) means "no commit".
pub(crate) fn list_group_offsets<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    partitions: Option<&[(String, i32)]>,
    timeout: Duration,
) -> Result<Vec<PartitionResult>, FfiError> {
    if partitions.is_some_and(<[_]>::is_empty) {
        return Ok(Vec::new());
    }
    let call =
        AdminCall::new(client, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout)?;
    let group_c = cstring(group)?;
    let tpl = partitions.map(|ps| Tpl::build(ps.iter().map(|(t, p)| (t.as_str(), *p, -1001)))).transpose()?;
    // SAFETY: valid name and list (or null); librdkafka copies both.
    let request = unsafe {
        rd::rd_kafka_ListConsumerGroupOffsets_new(group_c.as_ptr(), tpl.as_ref().map_or(ptr::null(), |t| t.0))
    };
    let mut requests = [request];
    // SAFETY: valid objects; librdkafka copies the request, which we then destroy.
    unsafe {
        rd::rd_kafka_ListConsumerGroupOffsets(
            call.rk,
            requests.as_mut_ptr(),
            1,
            call.options.0,
            call.queue.0,
        );
        rd::rd_kafka_ListConsumerGroupOffsets_destroy(request);
    }
    let ev = call.wait(rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT)?;
    // SAFETY: event of the expected type; borrowed pointers live as long as `ev`.
    unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(ev.0);
        let mut cnt = 0usize;
        let groups = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut cnt);
        single_group_result(groups as *const _, cnt)
    }
}

/// AlterConsumerGroupOffsets (OffsetCommit with generation -1 and no member id, at the group coordinator —
/// what `kafka-consumer-groups --reset-offsets --execute` does). Returns the per-partition results.
pub(crate) fn alter_group_offsets<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    offsets: &[(String, i32, i64)],
    timeout: Duration,
) -> Result<Vec<PartitionResult>, FfiError> {
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    let call = AdminCall::new(
        client,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
        timeout,
    )?;
    let group_c = cstring(group)?;
    let tpl = Tpl::build(offsets.iter().map(|(t, p, o)| (t.as_str(), *p, *o)))?;
    // SAFETY: valid name and list; librdkafka copies both.
    let request = unsafe { rd::rd_kafka_AlterConsumerGroupOffsets_new(group_c.as_ptr(), tpl.0) };
    let mut requests = [request];
    // SAFETY: valid objects; librdkafka copies the request, which we then destroy.
    unsafe {
        rd::rd_kafka_AlterConsumerGroupOffsets(
            call.rk,
            requests.as_mut_ptr(),
            1,
            call.options.0,
            call.queue.0,
        );
        rd::rd_kafka_AlterConsumerGroupOffsets_destroy(request);
    }
    let ev = call.wait(rd::RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT)?;
    // SAFETY: event of the expected type; borrowed pointers live as long as `ev`.
    unsafe {
        let result = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(ev.0);
        let mut cnt = 0usize;
        let groups = rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut cnt);
        single_group_result(groups as *const _, cnt)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Main queue pump
// ---------------------------------------------------------------------------------------------------------

/// Serves a client's main queue on a thread of its own (logs, statistics, global errors → the context).
/// Stop it (drop it) before the client is destroyed.
pub(crate) struct MainQueuePump {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

fn log_level(level: c_int) -> RDKafkaLogLevel {
    match level {
        i32::MIN..=0 => RDKafkaLogLevel::Emerg,
        1 => RDKafkaLogLevel::Alert,
        2 => RDKafkaLogLevel::Critical,
        3 => RDKafkaLogLevel::Error,
        4 => RDKafkaLogLevel::Warning,
        5 => RDKafkaLogLevel::Notice,
        6 => RDKafkaLogLevel::Info,
        _ => RDKafkaLogLevel::Debug,
    }
}

impl MainQueuePump {
    pub(crate) fn start<C: ClientContext + 'static>(client: &Client<C>) -> MainQueuePump {
        // SAFETY: the client is live; we get our own reference to its main queue, released by the thread
        // before `MainQueuePump::drop` returns.
        let queue = Queue(unsafe { rd::rd_kafka_queue_get_main(client.native_ptr()) });
        let context = client.context().clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = stop.clone();
        let handle = std::thread::Builder::new()
            .name("kmigrate-rdkafka-main".into())
            .spawn(move || {
                let queue = queue;
                // Checked after every event too: with statistics on, the queue may never be idle.
                while !stop_thread.load(Ordering::Relaxed) {
                    // SAFETY: our queue reference is valid until dropped at the end of this thread.
                    let ev = unsafe { rd::rd_kafka_queue_poll(queue.0, 100) };
                    if !ev.is_null() {
                        dispatch(&*context, &Event(ev));
                    }
                }
            })
            .expect("spawning the librdkafka main queue thread");
        MainQueuePump { stop, handle: Some(handle) }
    }
}

fn dispatch<C: ClientContext>(context: &C, ev: &Event) {
    // SAFETY: valid event; borrowed strings are copied before the event is dropped by the caller.
    unsafe {
        match rd::rd_kafka_event_type(ev.0) {
            rd::RD_KAFKA_EVENT_LOG => {
                let mut fac: *const c_char = ptr::null();
                let mut text: *const c_char = ptr::null();
                let mut level: c_int = 0;
                if rd::rd_kafka_event_log(ev.0, &mut fac, &mut text, &mut level) == 0 {
                    let fac = opt_str(fac).unwrap_or_default();
                    let text = opt_str(text).unwrap_or_default();
                    context.log(log_level(level), fac.trim(), text.trim());
                }
            }
            rd::RD_KAFKA_EVENT_STATS => {
                let json = rd::rd_kafka_event_stats(ev.0);
                if !json.is_null() {
                    context.stats_raw(CStr::from_ptr(json).to_bytes());
                }
            }
            rd::RD_KAFKA_EVENT_ERROR => {
                let code = rd::rd_kafka_event_error(ev.0);
                let reason = opt_str(rd::rd_kafka_event_error_string(ev.0)).unwrap_or_default();
                context.error(KafkaError::Global(code.into()), reason.trim());
            }
            _ => {}
        }
    }
}

impl Drop for MainQueuePump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The low and high watermarks librdkafka last saw in *fetch* answers for a partition (no
/// request is sent). `None` until a fetch has answered. Fetched watermarks are what a copy
/// trusts for partition ends: some brokers' ListOffsets answers are wrong (tansu's memory
/// engine) where their fetch answers are right.
pub(crate) fn cached_watermarks<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partition: i32,
) -> Option<(i64, i64)> {
    let topic = cstring(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer is valid for the call (the client outlives it); `topic` is a
    // NUL-terminated string that lives across the call; `low`/`high` are valid out-pointers.
    let err = unsafe {
        rd::rd_kafka_get_watermark_offsets(
            client.native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 && low >= 0)
        .then_some((low, high))
}

/// A consumer's queue, read in batches ([`ConsumerQueue::batch`]): one call per batch instead of
/// one poll (and one event) per record. Drop it before its consumer.
pub(crate) struct ConsumerQueue(Queue);

/// A record of a batch, borrowed from librdkafka for the visit.
pub(crate) struct RawRecord<'a> {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    /// Milliseconds since the epoch; `None` when the record has none.
    pub timestamp: Option<i64>,
    headers: *mut rd::rd_kafka_headers_t,
}

impl<'a> RawRecord<'a> {
    /// Its headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, Option<&'a [u8]>)> + use<'a> {
        let headers = self.headers;
        (0..).map_while(move |i| {
            if headers.is_null() {
                return None;
            }
            let (mut name, mut value, mut size) = (ptr::null(), ptr::null(), 0usize);
            // SAFETY: the headers belong to the message, alive for 'a (the visit).
            let err = unsafe { rd::rd_kafka_header_get_all(headers, i, &mut name, &mut value, &mut size) };
            if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return None;
            }
            // SAFETY: NUL-terminated name and `size` bytes of value, alive for 'a.
            let name = unsafe { CStr::from_ptr(name) }.to_str().unwrap_or("");
            let value =
                (!value.is_null()).then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) });
            Some((name, value))
        })
    }
}

impl ConsumerQueue {
    pub(crate) fn of<C: rdkafka::consumer::ConsumerContext>(
        consumer: &rdkafka::consumer::BaseConsumer<C>,
    ) -> ConsumerQueue {
        use rdkafka::consumer::Consumer;
        // SAFETY: the consumer is live; we own the queue reference we get (dropped before it).
        ConsumerQueue(Queue(unsafe { rd::rd_kafka_queue_get_consumer(consumer.client().native_ptr()) }))
    }

    /// Reads up to `max` records (waiting up to `timeout` for the first) and visits each, or the
    /// error librdkafka reports in its place. Returns how many were visited.
    pub(crate) fn batch(
        &self,
        timeout: Duration,
        max: usize,
        mut visit: impl FnMut(Result<RawRecord<'_>, KafkaError>),
    ) -> usize {
        let mut messages: Vec<*mut rd::rd_kafka_message_t> = vec![ptr::null_mut(); max];
        // SAFETY: the queue is live; the array has room for `max` pointers.
        let n = unsafe {
            rd::rd_kafka_consume_batch_queue(self.0.0, millis(timeout), messages.as_mut_ptr(), max)
        };
        let n = usize::try_from(n).unwrap_or(0).min(max);
        for &m in &messages[..n] {
            // SAFETY: librdkafka returned `n` valid messages, each destroyed once, after its visit.
            unsafe {
                let msg = &*m;
                if msg.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    visit(Err(KafkaError::MessageConsumption(RDKafkaErrorCode::from(msg.err))));
                } else {
                    let bytes = |p: *mut std::ffi::c_void, len: usize| {
                        (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), len))
                    };
                    let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
                    let ts = rd::rd_kafka_message_timestamp(m, &mut kind);
                    let mut headers = ptr::null_mut();
                    if rd::rd_kafka_message_headers(m, &mut headers)
                        != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
                    {
                        headers = ptr::null_mut();
                    }
                    visit(Ok(RawRecord {
                        partition: msg.partition,
                        offset: msg.offset,
                        key: bytes(msg.key, msg.key_len),
                        payload: bytes(msg.payload, msg.len),
                        timestamp: (kind != rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                            && ts >= 0)
                            .then_some(ts),
                        headers,
                    }));
                }
                rd::rd_kafka_message_destroy(m);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;
    use rdkafka::client::DefaultClientContext;
    use rdkafka::types::RDKafkaType;

    /// A client pointed at a closed port: calls must fail with a timeout/transport error, not crash or hang.
    fn dead_client() -> Client<DefaultClientContext> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", "127.0.0.1:1");
        let native = cfg.create_native_config().unwrap();
        Client::new(&cfg, native, RDKafkaType::RD_KAFKA_PRODUCER, DefaultClientContext).unwrap()
    }

    #[test]
    fn admin_calls_against_a_dead_cluster_time_out_cleanly() {
        let client = dead_client();
        let t = Duration::from_millis(300);
        let err = list_offsets(&client, &[("t".into(), 0, SPEC_LATEST)], t).unwrap_err();
        assert!(
            matches!(
                err.code,
                RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::BrokerTransportFailure
            ),
            "{err:?}"
        );
        let err = list_group_offsets(&client, "g", None, t).unwrap_err();
        assert_eq!(err.code, RDKafkaErrorCode::OperationTimedOut, "{err:?}");
        let err = incremental_alter_topic_configs(
            &client,
            &[("t".into(), vec![ConfigOp::Set("retention.ms".into(), "1".into())])],
            t,
        )
        .unwrap_err();
        assert_eq!(err.code, RDKafkaErrorCode::OperationTimedOut, "{err:?}");
    }

    #[test]
    fn empty_inputs_make_no_call() {
        let client = dead_client();
        let t = Duration::from_millis(1);
        assert!(list_offsets(&client, &[], t).unwrap().is_empty());
        assert!(alter_group_offsets(&client, "g", &[], t).unwrap().is_empty());
        assert!(list_group_offsets(&client, "g", Some(&[]), t).unwrap().is_empty());
        assert!(incremental_alter_topic_configs(&client, &[], t).unwrap().is_empty());
    }

    #[test]
    fn invalid_arguments_are_reported() {
        let client = dead_client();
        let t = Duration::from_millis(500);
        let err = list_offsets(&client, &[("nul\0name".into(), 0, SPEC_LATEST)], t).unwrap_err();
        assert_eq!(err.code, RDKafkaErrorCode::InvalidArgument);
        // librdkafka validates locally: duplicate partitions and negative commit offsets.
        let dup = [("t".to_string(), 0, SPEC_LATEST), ("t".to_string(), 0, SPEC_EARLIEST)];
        let err = list_offsets(&client, &dup, t).unwrap_err();
        assert_eq!(err.code, RDKafkaErrorCode::InvalidArgument, "{err:?}");
        let err = alter_group_offsets(&client, "g", &[("t".into(), 0, -5)], t).unwrap_err();
        assert_eq!(err.code, RDKafkaErrorCode::InvalidArgument, "{err:?}");
    }

    #[test]
    fn log_levels_map() {
        assert!(matches!(log_level(3), RDKafkaLogLevel::Error));
        assert!(matches!(log_level(7), RDKafkaLogLevel::Debug));
        assert!(matches!(log_level(-4), RDKafkaLogLevel::Emerg));
    }
}
