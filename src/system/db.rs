//! A PostgreSQL database: a primary and optional read replicas (each an FCFS station over its
//! cores), the connection limits pools are held against, and what its queries measured.

use super::pool::ServerConns;
use super::replica::{Replication, Side};
use crate::config::model::DatabaseCfg;
use crate::dist::Dist;
use crate::engine::{Nanos, Rng64};

pub struct Database {
    pub name: String,
    /// Cores of each instance, and each instance's connection limit (replicas added later match).
    pub cores: u32,
    pub max_connections: u32,
    pub primary: u32,
    pub replicas: Vec<u32>,
    pub conns_primary: ServerConns,
    pub conns_replicas: ServerConns,
    pub replication: Replication,
    pub pool_min: u32,
    pub pool_max: u32,
    pub acquire_timeout: Nanos,
    pub idle_timeout: Option<Nanos>,
    pub connect_time: Option<Dist>,
    pub statement_timeout: Option<Nanos>,
    pub rng: Rng64,
    pub queries: u64,
    /// Sum of query times (latency + wait for a core + service), connection held throughout.
    pub query_ns: u128,
    pub statement_timeouts: u64,
    /// How each instance serves queries: FCFS (else PS) and its contention; new replicas match.
    pub fcfs: bool,
    pub contention: Option<crate::config::contention::ContentionCfg>,
}

impl Database {
    pub fn new(name: &str, d: &DatabaseCfg, primary: u32, replicas: Vec<u32>, rng: Rng64) -> Self {
        Database {
            name: name.to_string(),
            cores: d.cores,
            max_connections: d.max_connections,
            primary,
            conns_primary: ServerConns {
                open: 0,
                max: d.max_connections,
            },
            // Each replica is its own server with its own max_connections.
            conns_replicas: ServerConns {
                open: 0,
                max: d.max_connections * replicas.len() as u32,
            },
            replication: Replication::new(
                replicas.len() as u32,
                d.replication_lag.clone(),
                d.read_your_writes,
            ),
            replicas,
            pool_min: d.pool.min,
            pool_max: d.pool.max,
            acquire_timeout: d.pool.acquire_timeout.0,
            idle_timeout: d.pool.idle_timeout.map(|t| t.0),
            connect_time: d.connect_time.clone(),
            statement_timeout: d.statement_timeout.map(|t| t.0),
            rng,
            queries: 0,
            query_ns: 0,
            statement_timeouts: 0,
            fcfs: d.discipline != Some(crate::config::model::Discipline::Ps),
            contention: d.contention.clone(),
        }
    }

    /// Pools per pod for this database: one to the primary, and one to the replicas if any.
    pub fn sides(&self) -> u32 {
        if self.replicas.is_empty() {
            1
        } else {
            2
        }
    }

    pub fn conns(&mut self, side: Side) -> &mut ServerConns {
        match side {
            Side::Primary => &mut self.conns_primary,
            Side::Replicas => &mut self.conns_replicas,
        }
    }

    pub fn open_connections(&self) -> u32 {
        self.conns_primary.open + self.conns_replicas.open
    }

    /// The instance (station) a query on `side` runs on.
    pub fn instance(&mut self, side: Side) -> u32 {
        match side {
            Side::Primary => self.primary,
            Side::Replicas => self.replicas[self.replication.next_replica() as usize],
        }
    }

    /// A query finished after `elapsed`; false if the statement timeout cancelled it.
    pub fn finish_query(&mut self, elapsed: Nanos) -> bool {
        self.queries += 1;
        self.query_ns += elapsed as u128;
        match self.statement_timeout {
            Some(t) if elapsed > t => {
                self.statement_timeouts += 1;
                false
            }
            _ => true,
        }
    }
}
