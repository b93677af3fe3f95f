//! Crash test with a real process: a child appends with default durability and prints each
//! acknowledged event; we kill it with SIGKILL at random moments, reopen the store and check
//! that every acknowledged event is there, positions are gap-free and `verify` passes.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::stream;
use crm_eventstore::{AllStart, Direction, EventStore, Position, StoreConfig};

/// A small deterministic generator so a failing round can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn every_acknowledged_event_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_cafe_f00d);
    let mut acked: HashMap<u64, (String, u64, String)> = HashMap::new();
    for round in 0..20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crm-eventstore-load"))
            .arg(dir.path())
            .arg("16")
            .arg(format!("r{round}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the load child");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => lines.push(l),
                    Err(_) => break,
                }
            }
            lines
        });
        std::thread::sleep(Duration::from_millis(30 + rng.next() % 250));
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            // A line cut by the kill is not an acknowledgement the child finished printing.
            if parts.len() == 5 && parts[0] == "ack" {
                let position: u64 = parts[1].parse().unwrap();
                acked.insert(
                    position,
                    (
                        parts[2].to_string(),
                        parts[3].parse().unwrap(),
                        parts[4].to_string(),
                    ),
                );
            }
        }

        let store =
            EventStore::open(dir.path(), StoreConfig::default()).expect("reopen after kill");
        let head = store.head();
        let max_acked = acked.keys().copied().max().unwrap_or(0);
        assert!(
            head.0 >= max_acked,
            "round {round}: head {head} behind acknowledged {max_acked}"
        );
        let all = store
            .read_all(AllStart::Start, Direction::Forwards, 100_000)
            .unwrap();
        assert_eq!(
            all.len() as u64,
            head.0,
            "round {round}: positions are gap-free"
        );
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.position, Position(i as u64 + 1));
        }
        for (position, (name, revision, id)) in &acked {
            let e = &all[*position as usize - 1];
            assert_eq!(
                (&e.stream, e.revision, e.event_id.to_string()),
                (name, *revision, id.clone()),
                "round {round}: acknowledged event at {position}"
            );
            let in_stream = store
                .read_stream(
                    &stream(name),
                    crm_eventstore::StreamStart::Revision(*revision),
                    Direction::Forwards,
                    1,
                )
                .unwrap();
            assert_eq!(in_stream[0].position.0, *position);
        }
        let report = store.verify().unwrap();
        assert!(report.is_ok(), "round {round}: {:?}", report.findings);
    }
    assert!(
        acked.len() > 100,
        "the child acknowledged too little to prove anything: {}",
        acked.len()
    );
}
