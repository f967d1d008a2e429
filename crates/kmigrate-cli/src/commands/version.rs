//! `kmigrate version [-v]`: kmigrate's version (what `--version` prints); with `-v` (or
//! `--output json`), also the librdkafka built in and its `builtin.features`.

use serde_json::json;

use crate::exit;
use crate::printer::Printer;

pub fn run(verbose: bool, printer: &Printer) -> u8 {
    let kmigrate = env!("CARGO_PKG_VERSION");
    let library = kmigrate_kafka::library_info();
    if printer.is_json() {
        printer.json(&json!({
            "kmigrate": kmigrate,
            "librdkafka": { "version": library.version, "builtin_features": library.features },
        }));
    } else {
        printer.out(format!("kmigrate {kmigrate}"));
        if verbose {
            printer.out(format!("librdkafka {}", library.version));
            printer.out(format!("  builtin.features: {}", library.features.join(", ")));
        }
    }
    exit::SUCCESS
}
