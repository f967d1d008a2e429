//! Why OpenSSL refused a broker's certificate.
//!
//! librdkafka reports every refusal of a broker certificate the same way ("certificate verify
//! failed: broker certificate could not be verified, verify that ssl.ca.location is correctly
//! configured"), also when the CA is right and the certificate names another host. OpenSSL knows
//! the reason (its X.509 verification error); librdkafka hands it only to a certificate
//! verification callback, which rdkafka's safe API does not expose. So after such a failure the
//! client connects once more with a callback that records OpenSSL's verdict and keeps it: nothing
//! is accepted that OpenSSL refused, so the probe is exactly as strict as the client it explains.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::bindings as rd;

use super::{millis, opt_str};

/// OpenSSL's verdict on one certificate of a broker's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertRejection {
    /// OpenSSL's `X509_V_ERR_*` code.
    pub x509_error: i32,
    /// 0: the broker's own certificate; 1 and up: the CAs above it.
    pub depth: i32,
    /// The broker as librdkafka names it: `host:port`.
    pub broker: String,
}

/// What the verification callback writes (it runs on librdkafka's broker threads).
#[derive(Default)]
struct Verdicts {
    first: Mutex<Option<CertRejection>>,
}

/// The verification callback: records the first error OpenSSL reports and keeps OpenSSL's decision.
unsafe extern "C" fn verify_cb(
    _rk: *mut rd::rd_kafka_t,
    broker_name: *const c_char,
    _broker_id: i32,
    x509_error: *mut c_int,
    depth: c_int,
    _buf: *const c_char,
    _size: usize,
    _errstr: *mut c_char,
    _errstr_size: usize,
    opaque: *mut c_void,
) -> c_int {
    // SAFETY: librdkafka passes a valid pointer to the error it will apply.
    let error = unsafe { *x509_error };
    if error != 0 && !opaque.is_null() {
        // SAFETY: `opaque` is the `Verdicts` that `probe` keeps alive until the client is destroyed;
        // `broker_name` is NUL-terminated for the duration of the call.
        let verdicts = unsafe { &*(opaque as *const Verdicts) };
        let broker = unsafe { opt_str(broker_name) }.unwrap_or_default();
        let mut first = verdicts.first.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(CertRejection { x509_error: error, depth, broker });
    }
    c_int::from(error == 0)
}

/// librdkafka's log lines of the probe client (`debug` contexts included) go nowhere: the client it
/// explains logged already.
unsafe extern "C" fn silent_log(
    _rk: *const rd::rd_kafka_t,
    _level: c_int,
    _fac: *const c_char,
    _buf: *const c_char,
) {
}

/// Connects with `config` (a client configuration that failed certificate verification) and
/// returns the first X.509 error OpenSSL reports, waiting at most `timeout`. `None` when
/// verification succeeds this time or nothing is learned in time.
pub(crate) fn probe(config: &ClientConfig, timeout: Duration) -> Option<CertRejection> {
    let native = config.create_native_config().ok()?;
    let verdicts = Box::new(Verdicts::default());
    // SAFETY: `native` is a valid configuration; the duplicate is ours until `rd_kafka_new` takes it.
    let conf = unsafe { rd::rd_kafka_conf_dup(native.ptr()) };
    if conf.is_null() {
        return None;
    }
    // SAFETY: valid configuration; the callbacks have librdkafka's signatures; `verdicts` outlives
    // the client (destroyed below before `verdicts` is dropped).
    let installed = unsafe {
        rd::rd_kafka_conf_set_log_cb(conf, Some(silent_log));
        rd::rd_kafka_conf_set_opaque(conf, &*verdicts as *const Verdicts as *mut c_void);
        rd::rd_kafka_conf_set_ssl_cert_verify_cb(conf, Some(verify_cb))
    };
    if installed != rd::rd_kafka_conf_res_t::RD_KAFKA_CONF_OK {
        // SAFETY: still ours.
        unsafe { rd::rd_kafka_conf_destroy(conf) };
        return None;
    }
    let mut err = [0 as c_char; 512];
    // SAFETY: on success librdkafka owns `conf`; on failure it stays ours.
    let rk = unsafe {
        rd::rd_kafka_new(rd::rd_kafka_type_t::RD_KAFKA_PRODUCER, conf, err.as_mut_ptr(), err.len())
    };
    if rk.is_null() {
        // SAFETY: rd_kafka_new failed, so the configuration is still ours.
        unsafe { rd::rd_kafka_conf_destroy(conf) };
        return None;
    }
    let deadline = Instant::now() + timeout;
    let found = loop {
        let slice = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(200));
        let mut md: *const rd::rd_kafka_metadata = ptr::null();
        // SAFETY: valid client and out-pointer; a returned metadata object is freed right away.
        let res = unsafe { rd::rd_kafka_metadata(rk, 0, ptr::null_mut(), &mut md, millis(slice)) };
        if !md.is_null() {
            // SAFETY: returned by rd_kafka_metadata, freed once.
            unsafe { rd::rd_kafka_metadata_destroy(md) };
        }
        let verdict = verdicts.first.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if verdict.is_some()
            || res == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            || Instant::now() >= deadline
        {
            break verdict;
        }
    };
    // SAFETY: our client; after this no callback can run, so `verdicts` may be dropped.
    unsafe { rd::rd_kafka_destroy(rk) };
    drop(verdicts);
    found
}
