//! Kubernetes' tables for the HPA controller's pure functions, ported one test per upstream
//! test function. Upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/
//! horizontal_test.go` @003e8629 (the search index's copy) and
//! `pkg/apis/autoscaling/v2/defaults_test.go` @0a74a85e.
//!
//! Go's tests stamp history with `time.Now()` minus an offset and run the function a moment
//! later, so an item exactly one window or period old has expired; here history is stamped
//! `NOW - offset` and the controller's `alive` treats age == window as expired, the same.

use super::*;
use crate::autoscale::hpa_config::{
    HorizontalPodAutoscaler, HpaBehavior, HpaScalingPolicy, HpaScalingRules,
};

const NOW: f64 = 100_000.0;

/// An HPA with one External metric, min/max replicas and `behavior` (None: the legacy path).
fn spec(min: i32, max: i32, behavior: Option<HpaBehavior>) -> HpaSpec {
    let y = format!(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: t}}\nspec:\n  \
         scaleTargetRef: {{kind: Deployment, name: web}}\n  minReplicas: {min}\n  maxReplicas: {max}\n  \
         metrics:\n  - type: External\n    external: {{metric: {{name: q}}, target: {{type: AverageValue, averageValue: 1}}}}\n"
    );
    let h: HorizontalPodAutoscaler = serde_saphyr::from_str(&y).unwrap();
    let mut s = h.spec;
    s.behavior = behavior;
    s
}

fn controller(min: i32, max: i32, behavior: Option<HpaBehavior>) -> HpaController {
    HpaController::new(&spec(min, max, behavior), 0.0, ControllerOptions::default())
}

/// horizontal_test.go `generateScalingRules(pods, podsPeriod, percent, percentPeriod,
/// stabilizationWindow)`: selectPolicy Max, a policy for each non-zero value.
fn rules(pods: i32, pods_p: i32, pct: i32, pct_p: i32, window: i32) -> HpaScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(HpaScalingPolicy {
            policy_type: ScalingPolicyType::Pods,
            value: pods,
            period_seconds: pods_p,
        });
    }
    if pct != 0 {
        policies.push(HpaScalingPolicy {
            policy_type: ScalingPolicyType::Percent,
            value: pct,
            period_seconds: pct_p,
        });
    }
    HpaScalingRules {
        stabilization_window_seconds: Some(window),
        select_policy: Some(SelectPolicy::Max),
        policies: (!policies.is_empty()).then_some(policies),
        tolerance: None,
    }
}

/// horizontal_test.go `generateEventsUniformDistribution(rawEvents, periodSeconds)`: the
/// window split into equal segments, each event at its segment's centre, its age truncated
/// to whole seconds (`time.Duration(float)`).
fn events(raw: &[i64], period: i32) -> Vec<ScaleEvent> {
    let seg = f64::from(period) / raw.len() as f64;
    raw.iter()
        .enumerate()
        .map(|(i, &change)| {
            let age = (f64::from(period) - seg * (i + 1) as f64 + seg / 2.0).trunc();
            ScaleEvent {
                change,
                t: NOW - age,
                outdated: false,
            }
        })
        .collect()
}

/// The HPA condition reason upstream reports for a conversion's limit label.
fn reason(why: Option<&str>) -> &'static str {
    match why {
        None => "DesiredWithinRange",
        Some("maxReplicas") => "TooManyReplicas",
        Some("minReplicas") => "TooFewReplicas",
        Some("legacy 2x/4 cap") => "ScaleUpLimit",
        Some(w) if w.starts_with("scaleUp") => "ScaleUpLimit",
        Some(w) if w.starts_with("scaleDown") => "ScaleDownLimit",
        Some(w) => panic!("unexpected limit {w:?}"),
    }
}

fn recs(items: &[(i64, f64)]) -> Vec<Rec> {
    items
        .iter()
        .map(|&(replicas, age)| Rec {
            replicas,
            t: NOW - age,
        })
        .collect()
}

const MIN: f64 = 60.0;

#[test]
fn test_convert_desired_replicas_with_rules() {
    // horizontal_test.go TestConvertDesiredReplicasWithRules: (current, desired, min, max,
    // converted, condition). The last row's expectation is `calculateScaleUpLimit(3)`: the
    // test file's init() raises scaleUpLimitFactor to 8 (24); the controller's factor is 2,
    // so the real controller converts to max(2 x 3, 4) = 6.
    let rows: &[(i64, i64, i32, i32, i64, &str, &str)] = &[
        (
            5,
            7,
            3,
            8,
            7,
            "DesiredWithinRange",
            "prenormalized desired replicas within range",
        ),
        (
            3,
            1,
            2,
            8,
            2,
            "TooFewReplicas",
            "prenormalized desired replicas < minReplicas",
        ),
        (
            1,
            0,
            0,
            10,
            0,
            "DesiredWithinRange",
            "prenormalized desired zeroed replicas within range",
        ),
        (
            20,
            1000,
            1,
            10,
            10,
            "TooManyReplicas",
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        ),
        (
            3,
            1000,
            1,
            2000,
            6,
            "ScaleUpLimit",
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
        ),
    ];
    for &(cur, desired, min, max, want, cond, name) in rows {
        let c = controller(min, max, None);
        let (got, why) = c.convert_desired_replicas_with_rules(cur, desired);
        assert_eq!((got, reason(why.as_deref())), (want, cond), "{name}");
    }
}

#[test]
fn test_calculate_scale_up_limit_with_scaling_rules() {
    // horizontal_test.go TestCalculateScaleUpLimitWithScalingRules: from 1 replica, no events,
    // selectPolicy Min over Pods 2/60s and Percent 50/60s: min(3, ceil(1.5)) = 2.
    let mut r = rules(2, 60, 50, 60, 300);
    r.select_policy = Some(SelectPolicy::Min);
    let b = HpaBehavior {
        scale_up: Some(r),
        scale_down: None,
    };
    let c = controller(1, 100, Some(b));
    let eb = c.behavior().unwrap().clone();
    assert_eq!(c.scale_up_limit(&eb.scale_up, 1, NOW).0, 2);
}

#[test]
fn test_calculate_scale_down_limit_with_behaviors() {
    // horizontal_test.go TestCalculateScaleDownLimitWithBehaviors: from 5 replicas, no events,
    // selectPolicy Min over Pods 2/60s (3) and Percent 50/60s (2): the smaller change, 3.
    let mut r = rules(2, 60, 50, 60, 300);
    r.select_policy = Some(SelectPolicy::Min);
    let b = HpaBehavior {
        scale_up: None,
        scale_down: Some(r),
    };
    let c = controller(1, 100, Some(b));
    let eb = c.behavior().unwrap().clone();
    assert_eq!(c.scale_down_limit(&eb.scale_down, 5, NOW).0, 3);
}

#[test]
fn test_normalize_desired_replicas() {
    // horizontal_test.go TestNormalizeDesiredReplicas (legacy stabilizeRecommendation, 5 min
    // window): (name, recommendations as (replicas, age s), prenormalized, stabilized, log
    // length after).
    type Row<'a> = (&'a str, &'a [(i64, f64)], i64, i64, usize);
    let rows: &[Row] = &[
        ("empty log", &[], 5, 5, 1),
        ("stabilize", &[(4, 2.0 * MIN), (5, MIN)], 3, 5, 3),
        ("no stabilize", &[(1, 2.0 * MIN), (2, MIN)], 3, 3, 3),
        (
            "no stabilize - old recommendations",
            &[(10, 10.0 * MIN), (9, 9.0 * MIN)],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            &[(10, 10.0 * MIN), (4, MIN), (5, 2.0 * MIN), (9, 9.0 * MIN)],
            3,
            5,
            4,
        ),
    ];
    for &(name, history, desired, want, log_len) in rows {
        let mut c = controller(1, 1000, None);
        assert_eq!(c.options.downscale_stabilization_s, 5.0 * MIN);
        c.recommendations = recs(history);
        assert_eq!(c.stabilize_recommendation(desired, NOW), want, "{name}");
        assert_eq!(c.recommendations.len(), log_len, "{name}");
    }
}

#[test]
fn test_scaling_with_rules() {
    // horizontal_test.go TestScalingWithRules: convertDesiredReplicasWithBehaviorRate with
    // GenerateHPAScale{Up,Down}Rules of the row's rules (defaults where nil). Columns: name,
    // scale-up events (raw, period), scale-down events, min, max, scaleUp rules, scaleDown
    // rules, current, prenormalized, expected replicas, expected condition.
    type Ev<'a> = Option<(&'a [i64], i32)>;
    type R = Option<(i32, i32, i32, i32, i32)>;
    type Row<'a> = (
        &'a str,
        Ev<'a>,
        Ev<'a>,
        i32,
        i32,
        R,
        R,
        i64,
        i64,
        i64,
        &'a str,
    );
    let rows: &[Row] = &[
        ("prenormalized desired replicas within range", None, None, 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
        ("prenormalized desired replicas < minReplicas", None, None, 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
        ("prenormalized desired replicas within range when minReplicas is 0", None, None, 0, 10, None, None, 1, 0, 0, "DesiredWithinRange"),
        ("maxReplicas is the limit because maxReplicas < scaleUpLimit", None, None, 1, 10, None, None, 20, 1000, 10, "TooManyReplicas"),
        ("desired replica count is more than the maximum replica count", None, None, 100, 150, None, None, 100, 1000, 150, "TooManyReplicas"),
        ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", None, None, 1, 2000, Some((0, 0, 1, 60, 0)), None, 3, 1000, 4, "ScaleUpLimit"),
        // Skipped: "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user
        // defined policies" is marked testThis, which makes upstream's loop return before
        // running it.
        ("scaleUp with default behavior", None, None, 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
        ("scaleUp with pods policy larger than percent policy", None, None, 1, 1000, Some((100, 60, 100, 60, 0)), None, 10, 500, 110, "ScaleUpLimit"),
        ("scaleUp with percent policy larger than pods policy", None, None, 1, 1000, Some((2, 60, 100, 60, 0)), None, 10, 500, 20, "ScaleUpLimit"),
        ("scaleUp with spec MaxReplicas limitation with large pod policy", None, None, 1, 1000, Some((100, 60, 0, 0, 0)), None, 10, 50, 50, "DesiredWithinRange"),
        ("scaleUp with spec MaxReplicas limitation with large percent policy", None, None, 1, 1000, Some((10000, 60, 0, 0, 0)), None, 10, 50, 50, "DesiredWithinRange"),
        ("scaleUp with pod policy limitation", None, None, 1, 1000, Some((30, 60, 0, 0, 0)), None, 10, 50, 40, "ScaleUpLimit"),
        ("scaleUp with percent policy limitation", None, None, 1, 1000, Some((0, 0, 200, 60, 0)), None, 10, 50, 30, "ScaleUpLimit"),
        ("scaleDown with percent policy larger than pod policy", None, None, 1, 1000, None, Some((20, 60, 1, 60, 300)), 100, 2, 80, "ScaleDownLimit"),
        ("scaleDown with pod policy larger than percent policy", None, None, 1, 1000, None, Some((2, 60, 1, 60, 300)), 100, 2, 98, "ScaleDownLimit"),
        ("scaleDown with spec MinReplicas=nil limitation with large pod policy", None, None, 1, 1000, None, Some((100, 60, 0, 0, 300)), 10, 0, 1, "TooFewReplicas"),
        ("scaleDown with spec MinReplicas limitation with large pod policy", None, None, 1, 1000, None, Some((100, 60, 0, 0, 300)), 10, 0, 1, "TooFewReplicas"),
        ("scaleDown with spec MinReplicas limitation with large percent policy", None, None, 5, 1000, None, Some((0, 0, 100, 60, 300)), 10, 2, 5, "TooFewReplicas"),
        ("scaleDown with pod policy limitation", None, None, 1, 1000, None, Some((5, 60, 0, 0, 300)), 10, 2, 5, "ScaleDownLimit"),
        ("scaleDown with percent policy limitation", None, None, 1, 1000, None, Some((0, 0, 50, 60, 300)), 10, 5, 5, "DesiredWithinRange"),
        ("scaleUp with spec MaxReplicas limitation with large pod policy and events", Some((&[1, 5, 9], 120)), None, 1, 200, Some((300, 60, 0, 0, 0)), None, 100, 500, 200, "TooManyReplicas"),
        ("scaleUp with spec MaxReplicas limitation with large percent policy and events", Some((&[1, 5, 9], 120)), None, 1, 200, Some((0, 0, 10000, 60, 0)), None, 100, 500, 200, "TooManyReplicas"),
        ("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", Some((&[1, 5, 9], 120)), None, 1, 1000, Some((5, 120, 0, 0, 0)), None, 100, 500, 100, "ScaleUpLimit"),
        ("scaleUp with pod policy and previous scale up events", Some((&[1, 5, 9], 120)), None, 1, 1000, Some((150, 120, 0, 0, 0)), None, 100, 500, 235, "ScaleUpLimit"),
        ("scaleUp with percent policy and previous scale up events", Some((&[1, 5, 9], 120)), None, 1, 1000, Some((0, 0, 200, 120, 0)), None, 100, 500, 255, "ScaleUpLimit"),
        ("scaleUp with percent policy and previous scale up and down events", Some((&[4], 120)), Some((&[2], 120)), 1, 1000, Some((0, 0, 300, 300, 0)), None, 6, 24, 16, "ScaleUpLimit"),
        ("scaleDown with default policy and previous events", None, Some((&[1, 5, 9], 120)), 1, 1000, None, None, 10, 5, 5, "DesiredWithinRange"),
        ("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", None, Some((&[1, 5, 9], 120)), 1, 1000, None, Some((115, 120, 0, 0, 300)), 100, 0, 1, "TooFewReplicas"),
        ("scaleDown with spec MinReplicas limitation with large pod policy and previous events", None, Some((&[1, 5, 9], 120)), 5, 1000, None, Some((130, 120, 0, 0, 300)), 100, 0, 5, "TooFewReplicas"),
        ("scaleDown with spec MinReplicas limitation with large percent policy and previous events", None, Some((&[1, 5, 9], 120)), 5, 1000, None, Some((0, 0, 100, 120, 300)), 100, 2, 5, "TooFewReplicas"),
        ("scaleDown with pod policy limitation and previous events", None, Some((&[1, 5, 9], 120)), 1, 1000, None, Some((5, 120, 0, 0, 300)), 100, 2, 100, "ScaleDownLimit"),
        ("scaleDown with percent policy limitation and previous events", None, Some((&[2, 4, 6], 120)), 1, 1000, None, Some((0, 0, 50, 120, 300)), 100, 0, 56, "ScaleDownLimit"),
        ("scaleDown with percent policy and previous scale up and down events", Some((&[2], 120)), Some((&[4], 120)), 1, 1000, None, Some((0, 0, 50, 180, 0)), 10, 1, 6, "ScaleDownLimit"),
        ("scaleDown with previous events preventing further scale down", None, Some((&[10, 10, 10], 120)), 1, 1000, None, Some((0, 0, 10, 120, 300)), 100, 0, 100, "ScaleDownLimit"),
        ("scaleDown with with previous events still allowing more scale down", None, Some((&[10, 10, 10], 120)), 1, 1000, None, Some((0, 0, 1000, 120, 300)), 10, 5, 5, "DesiredWithinRange"),
        ("check 'outdated' flag for events for one behavior for up", Some((&[8, 12, 9, 11], 120)), None, 1, 1000, Some((1000, 60, 0, 0, 0)), None, 100, 200, 200, "DesiredWithinRange"),
        ("check that events were not marked 'outdated' for two different policies in the behavior for up", Some((&[8, 12, 9, 11], 120)), None, 1, 1000, Some((1000, 120, 100, 60, 0)), None, 100, 200, 200, "DesiredWithinRange"),
        ("check that events were marked 'outdated' for two different policies in the behavior for up", Some((&[8, 12, 9, 11], 120)), None, 1, 1000, Some((1000, 30, 100, 60, 0)), None, 100, 200, 200, "DesiredWithinRange"),
        ("check 'outdated' flag for events for one behavior for down", None, Some((&[8, 12, 9, 11], 120)), 1, 1000, None, Some((1000, 60, 0, 0, 300)), 100, 5, 5, "DesiredWithinRange"),
        ("check that events were not marked 'outdated' for two different policies in the behavior for down", None, Some((&[8, 12, 9, 11], 120)), 1, 1000, None, Some((1000, 120, 100, 60, 300)), 100, 5, 5, "DesiredWithinRange"),
        ("check that events were marked 'outdated' for two different policies in the behavior for down", None, Some((&[8, 12, 9, 11], 120)), 1, 1000, None, Some((1000, 30, 100, 60, 300)), 100, 5, 5, "DesiredWithinRange"),
    ];
    let gen = |r: R| r.map(|(a, b, c, d, e)| rules(a, b, c, d, e));
    for &(name, up_ev, down_ev, min, max, up, down, cur, desired, want, cond) in rows {
        let b = HpaBehavior {
            scale_up: gen(up),
            scale_down: gen(down),
        };
        let mut c = controller(min, max, Some(b));
        c.scale_up_events = up_ev.map_or_else(Vec::new, |(raw, p)| events(raw, p));
        c.scale_down_events = down_ev.map_or_else(Vec::new, |(raw, p)| events(raw, p));
        let eb = c.behavior().unwrap().clone();
        let (got, why) = c.convert_desired_replicas_with_behavior_rate(&eb, cur, desired, NOW);
        assert_eq!((got, reason(why.as_deref())), (want, cond), "{name}");
    }
}

#[test]
fn test_store_scale_events() {
    // horizontal_test.go TestStoreScaleEvents: previous events as (change, age s); the change
    // within 60 s (getReplicasChangePerPeriod) before storing; the events after storing a
    // change of 5 (scaling up from 10 with the rules as scaleUp, and down from 10 with them as
    // scaleDown), as (change, outdated). Without behavior nothing is stored.
    type Row<'a> = (&'a str, &'a [(i64, f64)], &'a [(i64, bool)], R, i64);
    type R = Option<(i32, i32, i32, i32, i32)>;
    let rows: &[Row] = &[
        ("empty entries with default behavior", &[], &[], None, 0),
        (
            "empty entries with two-policy-behavior",
            &[],
            &[(5, false)],
            Some((10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one outdated entry to be kept untouched without behavior",
            &[(7, 61.0)],
            &[(7, false)],
            None,
            0,
        ),
        (
            "one outdated entry to be replaced with behavior",
            &[(7, 61.0)],
            &[(5, false)],
            Some((10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one actual entry to be not touched with behavior",
            &[(7, 58.0)],
            &[(7, false), (5, false)],
            Some((10, 60, 100, 60, 0)),
            7,
        ),
        (
            "two entries, one of them to be replaced",
            &[(7, 61.0), (6, 59.0)],
            &[(5, false), (6, false)],
            Some((10, 60, 0, 0, 0)),
            6,
        ),
        (
            "replace one entry, use policies with different periods",
            &[(8, 29.0), (6, 59.0), (7, 61.0), (9, 61.0)],
            &[(8, false), (6, false), (7, true), (5, false)],
            Some((10, 60, 100, 30, 0)),
            14,
        ),
        (
            "two entries, both actual",
            &[(7, 58.0), (6, 59.0)],
            &[(7, false), (6, false), (5, false)],
            Some((10, 120, 100, 30, 0)),
            13,
        ),
    ];
    for &(name, prev, want, r, want_change) in rows {
        let prev: Vec<ScaleEvent> = prev
            .iter()
            .map(|&(change, age)| ScaleEvent {
                change,
                t: NOW - age,
                outdated: false,
            })
            .collect();
        let r = r.map(|(a, b, c, d, e)| rules(a, b, c, d, e));
        for up in [true, false] {
            let dir = if up { "up" } else { "down" };
            let b = r.as_ref().map(|r| HpaBehavior {
                scale_up: up.then(|| r.clone()),
                scale_down: (!up).then(|| r.clone()),
            });
            let mut c = controller(1, 1000, b);
            let (events, sign) = if up {
                (&mut c.scale_up_events, 1)
            } else {
                (&mut c.scale_down_events, -1)
            };
            events.clone_from(&prev);
            // The period start moves by the events within 60 s: their sum.
            let start = c.period_start(10, 60, NOW);
            assert_eq!(sign * (10 - start), want_change, "{name} ({dir})");
            if let Some(b) = c.behavior().cloned() {
                c.store_scale_event(&b, 10, 10 + sign * 5, NOW);
            }
            let events = if up {
                &c.scale_up_events
            } else {
                &c.scale_down_events
            };
            let got: Vec<(i64, bool)> = events.iter().map(|e| (e.change, e.outdated)).collect();
            assert_eq!(got, want, "{name} ({dir})");
        }
    }
}

#[test]
fn test_normalize_desired_replicas_with_behavior() {
    // horizontal_test.go TestNormalizeDesiredReplicasWithBehavior: stabilizeRecommendation-
    // WithBehaviors with the row's windows (0 where the row sets none). Columns: name,
    // recommendations as (replicas, age s), current, prenormalized, stabilized, the stored
    // recommendations after (replicas; None: not checked), up window, down window.
    type Row<'a> = (
        &'a str,
        &'a [(i64, f64)],
        i64,
        i64,
        i64,
        Option<&'a [i64]>,
        f64,
        f64,
    );
    let rows: &[Row] = &[
        (
            "empty recommendations for scaling down",
            &[],
            100,
            5,
            5,
            Some(&[5]),
            0.0,
            0.0,
        ),
        (
            "simple scale down stabilization",
            &[(4, 2.0 * MIN), (5, MIN)],
            100,
            3,
            5,
            Some(&[4, 5, 3]),
            0.0,
            3.0 * MIN,
        ),
        (
            "simple scale up stabilization",
            &[(4, 2.0 * MIN), (5, MIN)],
            1,
            7,
            4,
            Some(&[4, 5, 7]),
            5.0 * MIN,
            0.0,
        ),
        (
            "no scale down stabilization",
            &[(1, 2.0 * MIN), (2, MIN)],
            100,
            3,
            3,
            Some(&[1, 2, 3]),
            5.0 * MIN,
            0.0,
        ),
        (
            "no scale up stabilization",
            &[(4, 2.0 * MIN), (5, MIN)],
            1,
            3,
            3,
            Some(&[4, 5, 3]),
            0.0,
            5.0 * MIN,
        ),
        (
            "no scale down stabilization, reuse recommendation element",
            &[(10, 10.0 * MIN), (9, 9.0 * MIN)],
            100,
            3,
            3,
            Some(&[10, 3]),
            0.0,
            0.0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            &[(10, 10.0 * MIN), (9, 9.0 * MIN)],
            1,
            100,
            100,
            Some(&[10, 100]),
            0.0,
            0.0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            &[(10, 10.0 * MIN), (4, MIN), (5, 2.0 * MIN), (9, 9.0 * MIN)],
            100,
            3,
            5,
            Some(&[10, 4, 5, 3]),
            0.0,
            3.0 * MIN,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            &[(10, 100.0 * MIN), (6, MIN), (5, 2.0 * MIN), (9, 3.0 * MIN)],
            1,
            100,
            5,
            Some(&[100, 6, 5, 9]),
            300.0,
            0.0,
        ),
        (
            "scale up and down stabilization, do not scale up when prenormalized rec goes down",
            &[(2, 100.0 * MIN), (3, 3.0 * MIN)],
            2,
            1,
            2,
            None,
            300.0,
            300.0,
        ),
        (
            "scale up and down stabilization, do not scale down when prenormalized rec goes up",
            &[(2, 100.0 * MIN), (1, 3.0 * MIN)],
            2,
            3,
            2,
            None,
            300.0,
            300.0,
        ),
    ];
    for &(name, history, cur, desired, want, stored, up_w, down_w) in rows {
        let mut c = controller(1, 1000, Some(HpaBehavior::default()));
        c.recommendations = recs(history);
        let got = c.stabilize_recommendation_with_behaviors(cur, desired, up_w, down_w, NOW);
        assert_eq!(got, want, "{name}");
        if let Some(stored) = stored {
            let got: Vec<i64> = c.recommendations.iter().map(|r| r.replicas).collect();
            assert_eq!(got, stored, "{name}");
        }
    }
}

// ------------------------------------------------ pkg/apis/autoscaling/v2/defaults_test.go

/// (pods, pods period, percent, percent period, window, selectPolicy) as the tests build
/// them: a policy for each non-zero value or period, window and selectPolicy unset if None.
type GenRow<'a> = (
    &'a str,
    (i32, i32, i32, i32),
    Option<i32>,
    Option<SelectPolicy>,
    &'a [(ScalingPolicyType, i32, i32)],
    Option<u32>,
    SelectPolicy,
);

fn user_rules(
    p: (i32, i32, i32, i32),
    w: Option<i32>,
    sel: Option<SelectPolicy>,
) -> HpaScalingRules {
    let (pods, pods_p, pct, pct_p) = p;
    let mut policies = None::<Vec<HpaScalingPolicy>>;
    if pods != 0 || pods_p != 0 {
        policies
            .get_or_insert_with(Vec::new)
            .push(HpaScalingPolicy {
                policy_type: ScalingPolicyType::Pods,
                value: pods,
                period_seconds: pods_p,
            });
    }
    if pct != 0 || pct_p != 0 {
        policies
            .get_or_insert_with(Vec::new)
            .push(HpaScalingPolicy {
                policy_type: ScalingPolicyType::Percent,
                value: pct,
                period_seconds: pct_p,
            });
    }
    HpaScalingRules {
        stabilization_window_seconds: w,
        select_policy: sel,
        policies,
        tolerance: None,
    }
}

fn check_generated(rows: &[GenRow], up: bool) {
    // The scale-down window the API leaves unset is filled in by the controller from its
    // --horizontal-pod-autoscaler-downscale-stabilization flag (here 300 s).
    for &(name, p, w, sel, policies, want_w, want_sel) in rows {
        let r = user_rules(p, w, sel);
        let b = if up {
            HpaBehavior {
                scale_up: Some(r),
                scale_down: None,
            }
        } else {
            HpaBehavior {
                scale_up: None,
                scale_down: Some(r),
            }
        };
        let eb = spec(1, 10, Some(b)).effective_behavior(300).unwrap();
        let got = if up { eb.scale_up } else { eb.scale_down };
        let want: Vec<HpaScalingPolicy> = policies
            .iter()
            .map(|&(policy_type, value, period_seconds)| HpaScalingPolicy {
                policy_type,
                value,
                period_seconds,
            })
            .collect();
        assert_eq!(got.policies, want, "{name}");
        assert_eq!(got.stabilization_window_s, want_w.unwrap_or(300), "{name}");
        assert_eq!(got.select_policy, want_sel, "{name}");
    }
}

#[test]
fn test_generate_scale_down_rules() {
    // defaults_test.go TestGenerateScaleDownRules (expected window nil = the controller's).
    use ScalingPolicyType::{Percent, Pods};
    use SelectPolicy::{Max, Min};
    let rows: &[GenRow] = &[
        (
            "Default values",
            (0, 0, 0, 0),
            None,
            None,
            &[(Percent, 100, 15)],
            None,
            Max,
        ),
        (
            "All parameters are specified",
            (1, 2, 3, 4),
            Some(25),
            Some(Max),
            &[(Pods, 1, 2), (Percent, 3, 4)],
            Some(25),
            Max,
        ),
        (
            "Percent policy is specified",
            (0, 0, 1, 2),
            None,
            Some(Min),
            &[(Percent, 1, 2)],
            None,
            Min,
        ),
        (
            "Pods policy is specified",
            (3, 4, 0, 0),
            None,
            None,
            &[(Pods, 3, 4)],
            None,
            Max,
        ),
    ];
    check_generated(rows, false);
}

#[test]
fn test_generate_scale_up_rules() {
    // defaults_test.go TestGenerateScaleUpRules.
    use ScalingPolicyType::{Percent, Pods};
    use SelectPolicy::{Max, Min};
    let rows: &[GenRow] = &[
        (
            "Default values",
            (0, 0, 0, 0),
            None,
            None,
            &[(Pods, 4, 15), (Percent, 100, 15)],
            Some(0),
            Max,
        ),
        (
            "All parameters are specified",
            (1, 2, 3, 4),
            Some(25),
            Some(Max),
            &[(Pods, 1, 2), (Percent, 3, 4)],
            Some(25),
            Max,
        ),
        (
            "Pod policy is specified",
            (1, 2, 0, 0),
            None,
            Some(Min),
            &[(Pods, 1, 2)],
            Some(0),
            Min,
        ),
        (
            "Percent policy is specified",
            (0, 0, 7, 10),
            None,
            None,
            &[(Percent, 7, 10)],
            Some(0),
            Max,
        ),
        (
            "Pod policy and stabilization window are specified",
            (4, 2, 0, 0),
            Some(25),
            None,
            &[(Pods, 4, 2)],
            Some(25),
            Max,
        ),
        (
            "Percent policy and stabilization window are specified",
            (0, 0, 7, 60),
            Some(25),
            None,
            &[(Percent, 7, 60)],
            Some(25),
            Max,
        ),
    ];
    check_generated(rows, true);
}

// ---------------------------------- pkg/controller/podautoscaler/replica_calculator_test.go

/// How a test pod started: `Default` is the zero time (long ago, its Ready transition too),
/// `Hot` now (within the CPU initialization period), `Cool` 3 minutes ago (after it).
#[derive(Clone, Copy)]
enum Start {
    Default,
    Hot,
    Cool,
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Running,
    Pending,
    Failed,
}

/// One row of the CPU tables: pods as (ready, start, phase, being deleted); each pod's CPU
/// request per container in cores (None: no request); each pod's usage per container in
/// millicores (pods past the end have no metric); target utilization %.
struct CpuRow<'a> {
    name: &'a str,
    current: u32,
    want: Option<u32>,
    pods: Vec<(bool, Start, Phase, bool)>,
    requests: &'a [f64],
    levels: &'a [i64],
    target: u32,
}

/// replica_calculator_test.go's pods: two containers each (so a pod's request and usage are
/// twice the row's per-container values), metrics stamped at the zero time with a 1 min
/// window; the controller's flags as the tests set them (tolerance 0.1, CPU initialization
/// period 2 min, initial readiness delay 10 s).
fn cpu_proposal(r: &CpuRow) -> Option<u32> {
    let opts = ControllerOptions {
        tolerance: 0.1,
        cpu_initialization_period_s: 120.0,
        initial_readiness_delay_s: 10.0,
        ..ControllerOptions::default()
    };
    let y = format!(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: t}}\nspec:\n  \
         scaleTargetRef: {{kind: Deployment, name: web}}\n  minReplicas: 1\n  maxReplicas: 1000\n  \
         metrics:\n  - type: Resource\n    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {}}}}}\n",
        r.target
    );
    let h: HorizontalPodAutoscaler = serde_saphyr::from_str(&y).unwrap();
    let pods: Vec<PodSample> = r
        .pods
        .iter()
        .enumerate()
        .map(|(i, &(ready, start, phase, deleting))| PodSample {
            phase_pending: phase == Phase::Pending,
            failed: phase == Phase::Failed,
            deleting,
            ready,
            start_time_s: match start {
                Start::Default => 0.0,
                Start::Hot => NOW,
                Start::Cool => NOW - 180.0,
            },
            ready_transition_s: 0.0,
            cpu_request: r.requests.get(i).map(|c| 2.0 * c),
            cpu: r.levels.get(i).map(|&l| CpuSample {
                value: 2.0 * l as f64 / 1000.0,
                timestamp_s: 0.0,
                window_s: 60.0,
            }),
            ..PodSample::default()
        })
        .collect();
    let mut c = HpaController::new(&h.spec, 0.0, opts);
    let d = c.reconcile(&HpaInput {
        now_s: NOW,
        spec_replicas: r.current,
        status_replicas: r.current,
        pods: &pods,
        metric_values: &[],
    });
    d.proposals[0].1
}

#[test]
fn test_replica_calc_cpu() {
    // replica_calculator_test.go @00067268 (the index's copy), the GetResourceReplicas tests
    // (TestReplicaCalc<Name>), one row each; the expected utilization and raw value are not
    // outputs of surge's controller, the replica count (or the error) is. Pods listed as
    // (ready, start, phase, deleting).
    use Phase::{Failed, Pending, Running};
    use Start::{Cool, Default as Zero, Hot};
    let ready = |n: usize| vec![(true, Zero, Running, false); n];
    let readiness = |r: &[bool]| -> Vec<(bool, Start, Phase, bool)> {
        r.iter().map(|&x| (x, Zero, Running, false)).collect()
    };
    let starts = |s: &[Start]| -> Vec<(bool, Start, Phase, bool)> {
        s.iter().map(|&x| (true, x, Running, false)).collect()
    };
    let rows = vec![
        // DisjointResourcesMetrics: the only metric is for another pod's name.
        CpuRow {
            name: "DisjointResourcesMetrics",
            current: 1,
            want: None,
            pods: ready(1),
            requests: &[1.0],
            levels: &[],
            target: 100,
        },
        CpuRow {
            name: "ScaleUp",
            current: 3,
            want: Some(5),
            pods: ready(3),
            requests: &[1.0; 3],
            levels: &[300, 500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleUpUnreadyLessScale",
            current: 3,
            want: Some(4),
            pods: readiness(&[false, true, true]),
            requests: &[1.0; 3],
            levels: &[300, 500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleUpHotCpuLessScale",
            current: 3,
            want: Some(4),
            pods: starts(&[Hot, Cool, Cool]),
            requests: &[1.0; 3],
            levels: &[300, 500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleUpUnreadyNoScale",
            current: 3,
            want: Some(3),
            pods: readiness(&[true, false, false]),
            requests: &[1.0; 3],
            levels: &[400, 500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleHotCpuNoScale",
            current: 3,
            want: Some(3),
            pods: vec![
                (true, Cool, Running, false),
                (false, Hot, Running, false),
                (false, Hot, Running, false),
            ],
            requests: &[1.0; 3],
            levels: &[400, 500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleUpIgnoresFailedPods",
            current: 2,
            want: Some(4),
            pods: vec![
                (true, Zero, Running, false),
                (true, Zero, Running, false),
                (false, Zero, Failed, false),
                (false, Zero, Failed, false),
            ],
            requests: &[1.0; 4],
            levels: &[500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleUpIgnoresDeletionPods",
            current: 2,
            want: Some(4),
            pods: vec![
                (true, Zero, Running, false),
                (true, Zero, Running, false),
                (false, Zero, Running, true),
                (false, Zero, Running, true),
            ],
            requests: &[1.0; 4],
            levels: &[500, 700],
            target: 30,
        },
        CpuRow {
            name: "ScaleDown",
            current: 5,
            want: Some(3),
            pods: ready(5),
            requests: &[1.0; 5],
            levels: &[100, 300, 500, 250, 250],
            target: 50,
        },
        CpuRow {
            name: "ScaleDownIncludeUnreadyPods",
            current: 5,
            want: Some(2),
            pods: readiness(&[true, true, true, false, false]),
            requests: &[1.0; 5],
            levels: &[100, 300, 500, 250, 250],
            target: 50,
        },
        CpuRow {
            name: "ScaleDownExcludeUnscheduledPods",
            current: 5,
            want: Some(1),
            pods: vec![
                (true, Zero, Running, false),
                (false, Zero, Pending, false),
                (false, Zero, Pending, false),
                (false, Zero, Pending, false),
                (false, Zero, Pending, false),
            ],
            requests: &[1.0; 5],
            levels: &[100],
            target: 50,
        },
        CpuRow {
            name: "ScaleDownIgnoreHotCpuPods",
            current: 5,
            want: Some(2),
            pods: starts(&[Cool, Cool, Cool, Hot, Hot]),
            requests: &[1.0; 5],
            levels: &[100, 300, 500, 250, 250],
            target: 50,
        },
        CpuRow {
            name: "ScaleDownIgnoresFailedPods",
            current: 5,
            want: Some(3),
            pods: [ready(5), vec![(false, Zero, Failed, false); 2]].concat(),
            requests: &[1.0; 7],
            levels: &[100, 300, 500, 250, 250],
            target: 50,
        },
        CpuRow {
            name: "ScaleDownIgnoresDeletionPods",
            current: 5,
            want: Some(3),
            pods: [ready(5), vec![(false, Zero, Running, true); 2]].concat(),
            requests: &[1.0; 7],
            levels: &[100, 300, 500, 250, 250],
            target: 50,
        },
        CpuRow {
            name: "Tolerance",
            current: 3,
            want: Some(3),
            pods: ready(3),
            requests: &[0.9, 1.0, 1.1],
            levels: &[1010, 1030, 1020],
            target: 100,
        },
        // SuperfluousMetrics: 6 metrics for 4 pods; the 2 for pods that do not exist are not
        // matched to any pod (a PodSample carries its own pod's metric only).
        CpuRow {
            name: "SuperfluousMetrics",
            current: 4,
            want: Some(24),
            pods: ready(4),
            requests: &[1.0; 4],
            levels: &[4000, 9500, 3000, 7000],
            target: 100,
        },
        CpuRow {
            name: "MissingMetrics",
            current: 4,
            want: Some(3),
            pods: ready(4),
            requests: &[1.0; 4],
            levels: &[400, 95],
            target: 100,
        },
        CpuRow {
            name: "EmptyMetrics",
            current: 4,
            want: None,
            pods: ready(4),
            requests: &[1.0; 3],
            levels: &[],
            target: 100,
        },
        CpuRow {
            name: "EmptyCPURequest",
            current: 1,
            want: None,
            pods: ready(1),
            requests: &[],
            levels: &[200],
            target: 100,
        },
        CpuRow {
            name: "MissingMetricsNoChangeEq",
            current: 2,
            want: Some(2),
            pods: ready(2),
            requests: &[1.0; 2],
            levels: &[1000],
            target: 100,
        },
        CpuRow {
            name: "MissingMetricsNoChangeGt",
            current: 2,
            want: Some(2),
            pods: ready(2),
            requests: &[1.0; 2],
            levels: &[1900],
            target: 100,
        },
        CpuRow {
            name: "MissingMetricsNoChangeLt",
            current: 2,
            want: Some(2),
            pods: ready(2),
            requests: &[1.0; 2],
            levels: &[600],
            target: 100,
        },
        CpuRow {
            name: "MissingMetricsUnreadyChange",
            current: 3,
            want: Some(3),
            pods: readiness(&[false, true, true]),
            requests: &[1.0; 3],
            levels: &[100, 450],
            target: 50,
        },
        CpuRow {
            name: "MissingMetricsHotCpuNoChange",
            current: 3,
            want: Some(3),
            pods: starts(&[Hot, Cool, Cool]),
            requests: &[1.0; 3],
            levels: &[100, 450],
            target: 50,
        },
        CpuRow {
            name: "MissingMetricsUnreadyScaleUp",
            current: 3,
            want: Some(4),
            pods: readiness(&[false, true, true]),
            requests: &[1.0; 3],
            levels: &[100, 2000],
            target: 50,
        },
        CpuRow {
            name: "MissingMetricsHotCpuScaleUp",
            current: 3,
            want: Some(4),
            pods: vec![
                (false, Hot, Running, false),
                (true, Cool, Running, false),
                (true, Cool, Running, false),
            ],
            requests: &[1.0; 3],
            levels: &[100, 2000],
            target: 50,
        },
        CpuRow {
            name: "MissingMetricsUnreadyScaleDown",
            current: 4,
            want: Some(3),
            pods: readiness(&[false, true, true, true]),
            requests: &[1.0; 4],
            levels: &[100, 100, 100],
            target: 50,
        },
        CpuRow {
            name: "DuringRollingUpdateWithMaxSurge",
            current: 2,
            want: Some(2),
            pods: ready(3),
            requests: &[1.0; 3],
            levels: &[100, 100],
            target: 50,
        },
    ];
    for r in &rows {
        assert_eq!(cpu_proposal(r), r.want, "TestReplicaCalc{}", r.name);
    }

    // TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using 150 m per container of
    // requests 300 m +- {100, 10, 2, 1, 0} (50 % in all). A target of int32((1/(2 x 0.9) +
    // .01) x 100) = 56 % scales to ceil(50/56 x 10) = 9; one of int32((1/(2 x 0.9) + .004) x
    // 100) = 55 % is within the tolerance and holds 10.
    let jitter = [100.0, -100.0, 10.0, -10.0, 2.0, -2.0, 1.0, -1.0, 0.0, 0.0];
    let requests: Vec<f64> = jitter.iter().map(|j| (300.0 + j) / 1000.0).collect();
    for (target, want) in [(56, 9), (55, 10)] {
        let r = CpuRow {
            name: "ComputedToleranceAlgImplementation",
            current: 10,
            want: Some(want),
            pods: ready(10),
            requests: &requests,
            levels: &[150; 10],
            target,
        };
        assert_eq!(cpu_proposal(&r), r.want, "target {target}");
    }
}
