//! What the benchmarks share: starting the server binary and reading its memory.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

/// Starts a server process and returns it with the address it logged.
pub fn start(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(rest) = line.split("address=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    let echo = std::env::var("READINESS_BENCH_LOG").is_ok();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if echo {
                eprintln!("{line}");
            }
        }
    });
    (child, address)
}

fn status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The process's peak resident memory (VmHWM), in MB.
pub fn peak_rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmHWM:")
}

/// The process's resident memory now (VmRSS), in MB.
pub fn rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmRSS:")
}

/// CPU time the process has used so far (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 here).
    let per_second = 100.0; // USER_HZ on Linux
    (ticks(11) + ticks(12)) / per_second
}

/// A fresh PostgreSQL database next to TEST_POSTGRES_URL's, if that is set.
pub fn postgres_database(rt: &tokio::runtime::Runtime) -> Option<String> {
    let admin = std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
        let name = format!("readiness_bench_{}", chrono::Utc::now().timestamp_millis());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .ok()?;
        let mut url = url::Url::parse(&admin).ok()?;
        url.set_path(&format!("/{name}"));
        Some(url.to_string())
    })
}
