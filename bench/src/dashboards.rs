//! Four dashboard requests on the full data set (issue 23's targets), the
//! release server as a process of its own with the result cache disabled,
//! each side by side with pgbench running the plain SQL `GROUP BY` it
//! replaces over the same tables and indexes, after checking that the
//! server's answer equals that SQL's:
//!
//! 1. the sum per DAY over the data's last 90 days in `Europe/Berlin`;
//! 2. count and sum per STATUS and MONTH over all time;
//! 3. `ordersAggregate` of PAID and SHIPPED orders in one quarter;
//! 4. the article's query: grouped by CUSTOMER, more than five orders, by
//!    sum descending, the first ten.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;

use crate::compose::{Measured, code, engine_server, post};
use crate::dataset;
use crate::load::WrkArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent connections (wrk and pgbench), and the server's pool size.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Threads of wrk and pgbench.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// A dashboard request, the plain SQL it replaces, and how to read both
/// as comparable rows.
pub(crate) struct Dashboard {
    pub(crate) name: &'static str,
    pub(crate) query: String,
    sql: String,
    /// The server's answer as rows of text.
    answer: fn(&Value) -> Vec<Vec<String>>,
}

fn cents(v: &Value) -> String {
    let s = v.as_str().unwrap_or("");
    let n: f64 = s.parse().unwrap_or(f64::NAN);
    format!("{}", (n * 100.0).round() as i64)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn groups(body: &Value, f: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    body["data"]["ordersGrouped"]
        .as_array()
        .map(|gs| gs.iter().map(f).collect())
        .unwrap_or_default()
}

pub(crate) fn dashboards() -> Vec<Dashboard> {
    let anchor = service::seed::anchor();
    let since = (anchor - chrono::Duration::days(90)).to_rfc3339();
    let (q_from, q_until) = ("2025-07-01T00:00:00+00:00", "2025-10-01T00:00:00+00:00");
    vec![
        Dashboard {
            name: "(1) sum per DAY, last 90 days, Europe/Berlin",
            query: format!(
                "{{ ordersGrouped(where: {{createdAt: {{gte: \"{since}\"}}}}, groupBy: [DAY], timeZone: \"Europe/Berlin\", first: 1000) {{ periodLabel count sum }} }}"
            ),
            sql: format!(
                "SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'Europe/Berlin'), 'YYYY-MM-DD') AS a, COUNT(*)::text AS b, SUM(total_cents)::text AS c FROM orders WHERE created_at >= '{since}' GROUP BY 1 ORDER BY 1;\n"
            ),
            answer: |b| groups(b, |g| vec![text(&g["periodLabel"]), text(&g["count"]), cents(&g["sum"])]),
        },
        Dashboard {
            name: "(2) count and sum per STATUS and MONTH, all time",
            query: "{ ordersGrouped(groupBy: [STATUS, MONTH], first: 1000) { status periodLabel count sum } }".to_owned(),
            sql: "SELECT status AS a, to_char(date_trunc('month', created_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS b, COUNT(*)::text AS c, SUM(total_cents)::text AS d FROM orders GROUP BY 1, 2 ORDER BY 1, 2;\n".to_owned(),
            answer: |b| groups(b, |g| vec![text(&g["status"]), text(&g["periodLabel"]), text(&g["count"]), cents(&g["sum"])]),
        },
        Dashboard {
            name: "(3) ordersAggregate, PAID or SHIPPED, one quarter",
            query: format!(
                "{{ ordersAggregate(where: {{status: {{in: [PAID, SHIPPED]}}, createdAt: {{gte: \"{q_from}\", lt: \"{q_until}\"}}}}) {{ count sum avg }} }}"
            ),
            sql: format!(
                "SELECT COUNT(*)::text AS a, SUM(total_cents)::text AS b, ROUND(AVG(total_cents))::text AS c FROM orders WHERE status IN ('PAID', 'SHIPPED') AND created_at >= '{q_from}' AND created_at < '{q_until}';\n"
            ),
            answer: |b| {
                let a = &b["data"]["ordersAggregate"];
                vec![vec![text(&a["count"]), cents(&a["sum"]), cents(&a["avg"])]]
            },
        },
        Dashboard {
            name: "(4) by CUSTOMER, more than 5 orders, by sum, first 10",
            query: "{ ordersGrouped(groupBy: [CUSTOMER], having: {count: {gt: 5}}, orderBy: [SUM_DESC], first: 10) { customer { id } count sum } }".to_owned(),
            sql: "SELECT customer_id::text AS a, COUNT(*)::text AS b, SUM(total_cents)::text AS c FROM orders GROUP BY customer_id HAVING COUNT(*) > 5 ORDER BY SUM(total_cents) DESC, customer_id LIMIT 10;\n".to_owned(),
            answer: |b| groups(b, |g| vec![text(&g["customer"]["id"]), text(&g["count"]), cents(&g["sum"])]),
        },
    ]
}

/// The SQL's rows as text: its first `width` columns (`a`, `b`, …).
async fn sql_rows(
    db: &DatabaseConnection,
    sql: &str,
    width: usize,
) -> anyhow::Result<Vec<Vec<String>>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            sql.trim_end_matches(";\n"),
        ))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let mut cols = Vec::new();
        for c in ["a", "b", "c", "d"].into_iter().take(width) {
            cols.push(row.try_get::<Option<String>>("", c)?.unwrap_or_default());
        }
        out.push(cols);
    }
    Ok(out)
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let (server, endpoint) = engine_server(&url, args.concurrency).await?;
    let client = reqwest::Client::new();
    let dir = std::env::temp_dir().join(format!("bench-dashboards-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let wrk = WrkArgs {
        concurrency: args.concurrency,
        threads: args.threads,
        customers: args.data.customers,
    };
    println!(
        "{} customers, {} orders; cache disabled; {} connections, {} s each\n",
        args.data.customers, args.data.orders, args.concurrency, args.seconds
    );
    println!(
        "| request | groups | server req/s | p50 ms | p99 ms | errors | pgbench tps (plain GROUP BY) | server/pgbench |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let db = Database::connect(url.as_str()).await?;
    let measured = Measured {
        wrk: &wrk,
        url: &url,
        endpoint: &endpoint,
        dir: &dir,
        seconds: args.seconds,
    };
    for (i, d) in dashboards().iter().enumerate() {
        let body = post(&client, &endpoint, &d.query).await?;
        anyhow::ensure!(code(&body).is_none(), "{}: {body}", d.name);
        let answer = (d.answer)(&body);
        let width = answer.first().map_or(0, Vec::len);
        let expected = sql_rows(&db, &d.sql, width)
            .await
            .context("the plain SQL")?;
        anyhow::ensure!(
            answer == expected,
            "{}: the server's answer differs from the SQL's\nserver: {answer:?}\nsql:    {expected:?}",
            d.name
        );
        measured
            .side_by_side(
                &format!("dashboard{i}"),
                d.name,
                answer.len(),
                &d.query,
                &d.sql,
            )
            .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    db.close().await.ok();
    server.stop().await;
    Ok(())
}
