use kmigrate_kafka::{Cluster, ClusterConfig, CopyOptions, CopyPipe};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let t0 = Instant::now();
    let src =
        Cluster::connect(ClusterConfig::new("source", a[1].clone()), Duration::from_secs(10)).await.unwrap();
    let dst =
        Cluster::connect(ClusterConfig::new("target", a[2].clone()), Duration::from_secs(10)).await.unwrap();
    let starts: BTreeMap<i32, Option<i64>> = (0..4).map(|p| (p, None)).collect();
    let t1 = Instant::now();
    eprintln!("XX pipe start {:?}", std::time::SystemTime::now());
    let mut pipe = CopyPipe::start(&src, &dst, &a[3], &starts, CopyOptions::default()).unwrap();
    pipe.cutover_passed();
    let mut n = 0u64;
    let mut line = String::new();
    while let Some(p) = pipe.next().await {
        if n == 0 && !p.deliveries.is_empty() {
            eprintln!("XX first ack report {:?}", std::time::SystemTime::now());
        }
        n += p.deliveries.len() as u64;
        line += &format!("{:.2}:{}k ", t1.elapsed().as_secs_f64(), n / 1000);
    }
    let end = pipe.join().await.unwrap();
    eprintln!(
        "connect {:.3}s; pipe {:.3}s {end:?} {n}\n{line}",
        (t1 - t0).as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
}
