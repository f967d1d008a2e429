//! Runs one Kafka Connect worker in distributed mode (the testkit's, as the MirrorMaker 2 tests run
//! it) against a broker until it is killed; `scripts/bench-mm2.sh` starts its worker with it.
//!
//!     local_connect BOOTSTRAP   # prints `ready URL PID` once the worker answers (PID: its JVM)
//!
//! The worker's directory is a temp directory, removed when this process ends, however it ends.

use kmigrate_testkit::ConnectWorker;

fn main() {
    let Some(bootstrap) = std::env::args().nth(1) else {
        eprintln!("usage: local_connect BOOTSTRAP");
        std::process::exit(64);
    };
    let worker = ConnectWorker::start(&bootstrap);
    println!("ready {} {} (log: {})", worker.url(), worker.pid(), worker.log_path().display());
    // Until a signal ends the process: the worker's reaper then stops the JVM and removes its files.
    let _worker = worker;
    loop {
        std::thread::park();
    }
}
