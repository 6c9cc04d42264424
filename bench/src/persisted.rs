//! Persisted queries against documents: the same two queries sent with
//! their document, then by their SHA-256 alone (registered once), at the
//! same concurrency, with the cache disabled so the engines are compared.
//! Runs alternate three times; the medians are reported.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;

use crate::{dataset, driver, harness};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

const QUERIES: [(&str, &str); 2] = [
    (
        "Q1 customer(id)",
        "query Q1($id: ID!) { customer(id: $id) { id name email } }",
    ),
    (
        "Q2 customers(first: 50) + orders(first: 5)",
        "query Q2($after: String) { customers(first: 50, after: $after) { nodes { id name orders(first: 5) { nodes { id total createdAt } } } } }",
    ),
];

fn variables(query: usize, customers: usize) -> serde_json::Value {
    let mut rng = rand::rng();
    if query == 0 {
        json!({ "id": rng.random_range(1..=customers).to_string() })
    } else {
        let start = rng.random_range(0..customers.saturating_sub(50).max(1)) as i64;
        json!({ "after": (start > 0).then(|| api::graphql::schema::types::lists::default_customers_cursor(start)) })
    }
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let mut settings = args.data.settings(&url, "persisted");
    settings.cache.disabled = true;
    let server = Arc::new(harness::start(settings.clone()).await?);
    println!(
        "persisted queries vs documents: {} clients, {} s per run, cache disabled",
        args.concurrency, args.seconds
    );
    println!("| query | with document req/s | hash only req/s | hash/document |");
    println!("| --- | ---: | ---: | ---: |");
    for (i, (name, doc)) in QUERIES.iter().enumerate() {
        let hash = api::graphql::engine::persisted::sha256_hex(doc);
        let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        server
            .post(&json!({ "query": doc, "variables": variables(i, args.data.customers), "extensions": ext }), None)
            .await?;
        let mut with_doc = Vec::new();
        let mut by_hash = Vec::new();
        for _ in 0..3 {
            for persisted in [false, true] {
                let (server, ext, customers) = (server.clone(), ext.clone(), args.data.customers);
                let doc = *doc;
                let figures = driver::run(
                    args.concurrency,
                    Duration::from_secs(args.seconds),
                    move |_, _| {
                        let body = if persisted {
                            json!({ "variables": variables(i, customers), "extensions": ext })
                        } else {
                            json!({ "query": doc, "variables": variables(i, customers) })
                        };
                        let server = server.clone();
                        async move {
                            server
                                .send(serde_json::to_vec(&body).unwrap_or_default(), None)
                                .await
                        }
                    },
                )
                .await;
                anyhow::ensure!(figures.errors == 0, "errors: {:?}", figures.errors_by_code);
                if persisted {
                    by_hash.push(figures.rps());
                } else {
                    with_doc.push(figures.rps());
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (d, h) = (median(&mut with_doc), median(&mut by_hash));
        println!("| {name} | {d:.0} | {h:.0} | {:.2} |", h / d);
    }
    harness::forget_redis_keys(&settings.redis).await;
    Ok(())
}
