//! Shared hosts: machines whose cores several components share. A host is one processor-sharing
//! station (with optional contention); each component placed on it (a pod, a database, a cache
//! node) gets a *seat*: a station id of its own that forwards work to the host as one tenant, so
//! utilization, CPU metrics and queue statistics stay per component while the cores are shared.

use super::station::{Acct, Station};
use super::System;
use crate::config::model::ModelFile;
use crate::engine::{EventQueue, Nanos};
use crate::event::{Event, ReqRef};

/// Host name → station id, built before the components that sit on hosts.
pub struct Hosts {
    names: Vec<String>,
    stations: Vec<u32>,
}

impl Hosts {
    pub fn build(m: &ModelFile, stations: &mut Vec<Station>) -> Hosts {
        let mut h = Hosts {
            names: Vec::new(),
            stations: Vec::new(),
        };
        for (name, cfg) in &m.hosts {
            stations.push(Station::new(false, cfg.cores, cfg.contention.as_ref()));
            h.names.push(name.clone());
            h.stations.push((stations.len() - 1) as u32);
        }
        h
    }

    pub fn station_of(&self, name: &str) -> Option<u32> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.stations[i])
    }

    /// (name, station) of every host, for reports.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.stations.iter().copied())
    }
}

/// A new seat on host station `host`: a station id for one component.
pub fn new_seat(stations: &mut Vec<Station>, host: u32) -> u32 {
    let h = &mut stations[host as usize];
    let tenant = h.add_tenant();
    let cores = h.capacity;
    stations.push(Station::seat(host, tenant, cores));
    (stations.len() - 1) as u32
}

impl System {
    /// Send work to station `st`, or to its host when `st` is a seat.
    pub(super) fn arrive_at(&mut self, st: u32, r: ReqRef, work: Nanos, q: &mut EventQueue<Event>) {
        let (id, tenant) = self.stations[st as usize].seat.unwrap_or((st, 0));
        self.stations[id as usize].arrive(id, r, work, tenant, q);
    }

    /// What station `st` measured up to `now` (its tenant's share when it is a seat).
    pub fn acct_at(&mut self, st: u32, now: Nanos) -> Acct {
        acct_at(&mut self.stations, st, now)
    }
}

/// What station `st` measured up to `now` (its tenant's share when it is a seat).
pub fn acct_at(stations: &mut [Station], st: u32, now: Nanos) -> Acct {
    let (id, tenant) = stations[st as usize].seat.unwrap_or((st, 0));
    let s = &mut stations[id as usize];
    s.advance(now);
    s.tenant_acct(tenant)
}

/// The same, for stations already advanced to the time of interest.
pub fn acct_of(stations: &[Station], st: u32) -> Acct {
    let (id, tenant) = stations[st as usize].seat.unwrap_or((st, 0));
    stations[id as usize].tenant_acct(tenant)
}
