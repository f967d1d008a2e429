//! Runs one Apache Kafka broker (the testkit's single-node KRaft cluster) on a fixed loopback port
//! until it is killed; the quickstart and the benchmarks start their brokers
//! with it, so they run exactly what the tests run.
//!
//!     local_broker PORT     # prints `ready 127.0.0.1:PORT` once the broker answers
//!
//! The broker's directory is a temp directory, removed when this process ends, however it ends.

use kmigrate_testkit::{KafkaBroker, KafkaOptions};

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: local_broker PORT");
            std::process::exit(64);
        }
    };
    let broker = KafkaBroker::start_with(KafkaOptions { port: Some(port), ..Default::default() });
    println!("ready {} (log: {})", broker.bootstrap(), broker.log_path().display());
    // Until a signal ends the process: the broker's reaper then stops the JVM and removes its files.
    let _broker = broker;
    loop {
        std::thread::park();
    }
}
