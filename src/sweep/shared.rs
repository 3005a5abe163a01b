//! Runs shared between sweep points that differ only in their HPAs and pool sizes.
//!
//! Such points build the same system and workload and, replication by replication, draw the
//! same random numbers (common random numbers), so their runs are one and the same until some
//! HPA or pool decides differently. A run therefore follows the HPAs of its group's other points
//! beside its own (`Autoscaling::follow`), and each pool records which sizes would have opened
//! (or not) a connection exactly when it did (`Pool::admits`); each point whose HPAs and pools
//! decided as the run's throughout takes that run as its own, measured under its own
//! configuration. The rows are the ones
//! its own runs would give, so sharing changes no result, only how many runs it takes
//! (`tests/sweep.rs` checks that against unshared runs). `--no-shared-runs` turns it off.

use crate::config::Loaded;

/// Whether two points' pools differ in size.
pub fn pools_differ(a: &Loaded, b: &Loaded) -> bool {
    a.model
        .databases
        .iter()
        .zip(&b.model.databases)
        .any(|((_, x), (_, y))| x.pool.max != y.pool.max)
}

/// A point's scenario and model with the HPA specs (and with `pools`, the pool sizes) left out,
/// or `None` when the model has none: points with equal keys differ only there.
fn key(l: &Loaded, pools: bool) -> Option<String> {
    let mut model = serde_json::to_value(&l.model).ok()?;
    let mut any = false;
    for s in model.get_mut("services")?.as_object_mut()?.values_mut() {
        if let Some(hpa) = s.as_object_mut().and_then(|o| o.remove("autoscaler")) {
            any |= !hpa.is_null();
        }
    }
    if let Some(dbs) = model
        .get_mut("databases")
        .and_then(|d| d.as_object_mut())
        .filter(|_| pools)
    {
        for d in dbs.values_mut() {
            if let Some(pool) = d.get_mut("pool").and_then(|p| p.as_object_mut()) {
                any |= pool.remove("max").is_some();
            }
        }
    }
    if !any {
        return None;
    }
    let scenario = serde_json::to_value(&l.scenario).ok()?;
    serde_json::to_string(&(scenario, model)).ok()
}

/// `tasks` (point, replication) in groups that may share runs: one replication, points that
/// differ only in their HPAs and (with `pools`) pool sizes. Groups keep the tasks' order, and
/// so does each group.
pub fn groups(
    tasks: &[(usize, u64)],
    loads: &[Option<Loaded>],
    pools: bool,
) -> Vec<Vec<(usize, u64)>> {
    let keys: Vec<Option<String>> = tasks
        .iter()
        .map(|&(p, _)| {
            loads
                .get(p)
                .and_then(|l| l.as_ref())
                .and_then(|l| key(l, pools))
        })
        .collect();
    let mut groups: Vec<Vec<(usize, u64)>> = Vec::new();
    let mut index: std::collections::HashMap<(&str, u64), usize> = Default::default();
    for (t, k) in tasks.iter().zip(&keys) {
        match k {
            Some(k) => match index.get(&(k.as_str(), t.1)) {
                Some(&g) => groups[g].push(*t),
                None => {
                    index.insert((k.as_str(), t.1), groups.len());
                    groups.push(vec![*t]);
                }
            },
            None => groups.push(vec![*t]),
        }
    }
    groups
}

/// Fewer groups than threads would leave threads idle while a group's runs follow one another
/// (each waits to learn which points the last one covered): split the largest groups in halves
/// of consecutive points (those differing in the last parameter stay together) until every
/// thread has a group or every group is one point. A split costs at most a run that might have
/// been shared, and gains a thread that would have waited.
pub fn spread(mut groups: Vec<Vec<(usize, u64)>>, threads: usize) -> Vec<Vec<(usize, u64)>> {
    while groups.len() < threads {
        let Some(i) = (0..groups.len()).max_by_key(|&i| (groups[i].len(), usize::MAX - i)) else {
            break;
        };
        if groups[i].len() < 2 {
            break;
        }
        let half = groups[i].len().div_ceil(2);
        let tail = groups[i].split_off(half);
        groups.insert(i + 1, tail);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = "
entry: api
services:
  api:
    replicas: 2
    pod: {cores: 1, cpu_request: 500m}
    autoscaler:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: api}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
        minReplicas: 1
        maxReplicas: 6
        metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
    endpoints:
      get:
        - cpu: exp(mean=10ms)
        - db: {database: main, query: read, time: exp(mean=2ms)}
databases:
  main:
    cores: 2
    max_connections: 100
    pool: {min: 1, max: 10, acquire_timeout: 2s}
";
    const SCENARIO: &str = "
model: m.yaml
flows:
  f:
    steps:
      - request: get
scenarios:
  s: {executor: constant-arrival-rate, rate: 50, duration: 1m, preAllocatedVUs: 20}
";

    fn point(sets: &[&str]) -> Option<Loaded> {
        let base = crate::config::from_strs(SCENARIO, MODEL).expect("valid");
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        Some(base.with_sets(&sets).expect("valid point"))
    }

    #[test]
    fn groups_points_that_differ_only_in_their_hpas_and_pool_sizes() {
        let loads = vec![
            point(&["services.api.autoscaler.maxReplicas=4"]),
            point(&["services.api.autoscaler.maxReplicas=6"]),
            point(&["services.api.replicas=3"]),
            point(&["services.api.autoscaler.metrics[0].resource.target.averageUtilization=80"]),
            point(&["databases.main.pool.max=30"]),
            point(&["databases.main.pool.min=3"]),
        ];
        let tasks = [
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 0),
            (4, 0),
            (5, 0),
            (0, 1),
            (1, 1),
        ];
        let g = groups(&tasks, &loads, true);
        // Without pools, the pool size is part of the key.
        assert_eq!(
            groups(&tasks, &loads, false),
            vec![
                vec![(0, 0), (1, 0), (3, 0)],
                vec![(2, 0)],
                vec![(4, 0)],
                vec![(5, 0)],
                vec![(0, 1), (1, 1)]
            ]
        );
        assert!(pools_differ(
            loads[4].as_ref().unwrap(),
            loads[0].as_ref().unwrap()
        ));
        assert!(!pools_differ(
            loads[1].as_ref().unwrap(),
            loads[0].as_ref().unwrap()
        ));
        assert_eq!(spread(g.clone(), 4), g, "one group per thread already");
        let one = spread(vec![g[0].clone()], 3);
        assert_eq!(
            one,
            vec![vec![(0, 0)], vec![(1, 0)], vec![(3, 0), (4, 0)]],
            "the largest is halved, keeping its order, until every thread has a group"
        );
        // Point 2 changes the service itself, point 5 the pool's min; replications never share.
        assert_eq!(
            g,
            vec![
                vec![(0, 0), (1, 0), (3, 0), (4, 0)],
                vec![(2, 0)],
                vec![(5, 0)],
                vec![(0, 1), (1, 1)]
            ]
        );
    }
}
