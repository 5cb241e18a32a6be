//! Unit tests of the tracker.

use super::*;

fn det(x: f32, y: f32, w: f32, h: f32, score: f32, class: u32) -> TrackInput {
    TrackInput {
        bbox: [x, y, x + w, y + h],
        score,
        class,
    }
}

/// Id of the output row matched to input `d`, if any.
fn id_of(out: &[TrackedObject], d: usize) -> Option<u64> {
    out.iter()
        .find(|o| o.detection == Some(d))
        .map(|o| o.track_id)
}

fn brute_force(cost: &[f64], n: usize, m: usize) -> f64 {
    fn go(cost: &[f64], n: usize, m: usize, row: usize, used: &mut Vec<bool>) -> f64 {
        if row == n {
            return 0.0;
        }
        let mut best = f64::INFINITY;
        for c in 0..m {
            if !used[c] {
                used[c] = true;
                best = best.min(cost[row * m + c] + go(cost, n, m, row + 1, used));
                used[c] = false;
            }
        }
        best
    }
    go(cost, n, m, 0, &mut vec![false; m])
}

#[test]
fn iou_edge_cases() {
    let a = [0.0, 0.0, 10.0, 10.0];
    assert_eq!(iou(&a, &a), 1.0);
    assert_eq!(iou(&a, &[20.0, 20.0, 30.0, 30.0]), 0.0);
    assert_eq!(iou(&a, &[10.0, 0.0, 20.0, 10.0]), 0.0, "touching edges");
    assert!((iou(&a, &[5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
    assert!(
        (iou(&a, &[0.0, 0.0, 5.0, 5.0]) - 0.25).abs() < 1e-6,
        "contained"
    );
    let z = [5.0, 5.0, 5.0, 5.0];
    assert_eq!(iou(&z, &z), 0.0, "zero-area identical");
    assert_eq!(iou(&a, &z), 0.0);
    assert_eq!(
        iou(&[10.0, 10.0, 0.0, 0.0], &a),
        0.0,
        "inverted box has no area"
    );
    assert_eq!(iou(&[f32::NAN, 0.0, 10.0, 10.0], &a), 0.0);
}

#[test]
fn hungarian_beats_greedy_on_3x3() {
    // Greedy (cheapest first) takes (0,0)=1, (1,1)=4, (2,2)=9 = 14; optimum is 3+4+3 = 10.
    let cost = [1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 3.0, 6.0, 9.0];
    assert_eq!(hungarian(&cost, 3, 3), vec![2, 1, 0]);
}

#[test]
fn hungarian_matches_brute_force() {
    let mut seed = 0x2545_f491_u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % 100) as f64
    };
    for (n, m) in [(1, 1), (2, 3), (3, 3), (4, 4), (3, 5), (5, 5), (6, 6)] {
        for _ in 0..30 {
            let cost: Vec<f64> = (0..n * m).map(|_| rnd()).collect();
            let a = hungarian(&cost, n, m);
            let mut cols = a.clone();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), n, "columns distinct");
            let total: f64 = a.iter().enumerate().map(|(r, &c)| cost[r * m + c]).sum();
            assert_eq!(total, brute_force(&cost, n, m), "{n}x{m} {cost:?}");
        }
    }
}

#[test]
fn linear_assignment_gates_and_leaves_unmatched() {
    let inf = f64::INFINITY;
    // Row 1 may only take column 0, which row 0 prefers less than column 1: optimum pairs
    // (0,1) and (1,0); greedy would give row 0 column 0 and leave row 1 out.
    let cost = vec![vec![0.1, 0.2], vec![0.15, inf]];
    assert_eq!(linear_assignment(&cost, 2, 0.8), vec![Some(1), Some(0)]);
    // Costs above the limit are never taken.
    assert_eq!(linear_assignment(&[vec![0.9]], 1, 0.8), vec![None]);
    assert_eq!(
        linear_assignment(&[vec![0.8]], 1, 0.8),
        vec![Some(0)],
        "limit is inclusive"
    );
    assert_eq!(
        linear_assignment(&[vec![], vec![]], 0, 0.8),
        vec![None, None]
    );
    assert_eq!(
        linear_assignment(&[vec![0.5, 0.1, 0.3]], 3, 0.8),
        vec![Some(1)]
    );
}

#[test]
fn config_defaults_and_fps() {
    let d = TrackerConfig::default();
    assert_eq!(
        (d.high_thresh, d.low_thresh, d.new_track_thresh),
        (0.25, 0.1, 0.25)
    );
    assert_eq!(
        (d.match_iou, d.second_match_iou, d.track_buffer, d.min_hits),
        (0.2, 0.5, 30, 2)
    );
    let c5 = TrackerConfig::for_fps(5.0);
    assert_eq!((c5.track_buffer, c5.min_hits), (25, 2));
    let c30 = TrackerConfig::for_fps(30.0);
    assert_eq!((c30.track_buffer, c30.min_hits), (150, 10));
    let c1 = TrackerConfig::for_fps(1.0);
    assert_eq!((c1.track_buffer, c1.min_hits), (10, 2));
    assert_eq!((d.max_lost_secs, c5.max_lost_secs), (None, Some(5.0)));
    assert_eq!(TrackerConfig::for_fps(f32::NAN), c5);
    assert_eq!(TrackerConfig::for_fps(-3.0), c5);
}

#[test]
fn moving_box_keeps_one_id_for_50_frames() {
    let mut t = Tracker::new(TrackerConfig::default());
    for f in 0..50 {
        let out = t.update(&[det(100.0 + 5.0 * f as f32, 100.0, 50.0, 100.0, 0.9, 0)]);
        if f == 0 {
            assert!(out.is_empty(), "not confirmed on its first frame");
            continue;
        }
        assert_eq!(out.len(), 1, "frame {f}");
        assert_eq!(out[0].track_id, 1);
        assert_eq!(out[0].detection, Some(0));
        assert_eq!(out[0].hits, f + 1);
        assert_eq!(out[0].age, f + 1);
        assert_eq!(out[0].bbox[0], 100.0 + 5.0 * f as f32);
    }
    assert_eq!(t.len(), 1);
    assert!(t.take_removed().is_empty());
}

#[test]
fn kalman_learns_velocity() {
    let mut t = Tracker::new(TrackerConfig::default());
    for f in 0..30 {
        t.update(&[det(8.0 * f as f32, 0.0, 40.0, 80.0, 0.9, 0)]);
    }
    let kf = &t.tracks[0].kf;
    assert!((kf.mean[4] - 8.0).abs() < 0.5, "vx {}", kf.mean[4]);
    assert!(kf.mean[5].abs() < 0.5, "vy {}", kf.mean[5]);
    let b = kf.bbox();
    assert!(
        (b[0] - 232.0).abs() < 1.0 && (b[3] - b[1] - 80.0).abs() < 1.0,
        "{b:?}"
    );
}

#[test]
fn crossing_objects_of_different_classes_keep_ids() {
    let mut t = Tracker::new(TrackerConfig::default());
    let (mut a_id, mut b_id) = (None, None);
    for f in 0..40 {
        let x = 10.0 * f as f32;
        // Input order alternates so ids can't follow slice positions.
        let a = det(x, 100.0, 50.0, 100.0, 0.9, 0);
        let b = det(400.0 - x, 100.0, 50.0, 100.0, 0.8, 1);
        let (out, ia, ib) = if f % 2 == 0 {
            (t.update(&[a, b]), 0, 1)
        } else {
            (t.update(&[b, a]), 1, 0)
        };
        if f == 0 {
            continue;
        }
        assert_eq!(out.len(), 2, "frame {f}");
        let (ga, gb) = (id_of(&out, ia), id_of(&out, ib));
        assert!(ga.is_some() && gb.is_some() && ga != gb);
        assert_eq!(*a_id.get_or_insert(ga), ga, "frame {f}");
        assert_eq!(*b_id.get_or_insert(gb), gb, "frame {f}");
        assert_eq!(
            out.iter().find(|o| Some(o.track_id) == ga).map(|o| o.class),
            Some(0)
        );
    }
    assert_eq!(t.len(), 2);
}

#[test]
fn parallel_same_class_objects_keep_distinct_ids() {
    let mut t = Tracker::new(TrackerConfig::default());
    let mut ids = None;
    for f in 0..40 {
        let x = 6.0 * f as f32;
        let out = t.update(&[
            det(x, 0.0, 40.0, 50.0, 0.9, 0),
            det(x, 60.0, 40.0, 50.0, 0.9, 0),
        ]);
        if f == 0 {
            continue;
        }
        let pair = (id_of(&out, 0), id_of(&out, 1));
        assert!(
            pair.0.is_some() && pair.1.is_some() && pair.0 != pair.1,
            "frame {f}"
        );
        assert_eq!(*ids.get_or_insert(pair), pair, "frame {f}");
        assert!(
            out.windows(2).all(|w| w[0].track_id < w[1].track_id),
            "track_id order"
        );
    }
    assert_eq!(ids, Some((Some(1), Some(2))));
}

#[test]
fn gap_within_buffer_keeps_id_using_prediction() {
    // 5 px/frame for 20 frames, then 10 frames unseen (it moves 50 px, a full box width,
    // so only the motion prediction can bridge the gap).
    let mut t = Tracker::new(TrackerConfig::default());
    let b = |f: u32| det(100.0 + 5.0 * f as f32, 100.0, 50.0, 100.0, 0.9, 0);
    for f in 0..20 {
        t.update(&[b(f)]);
    }
    for _ in 0..10 {
        assert!(t.update(&[]).is_empty());
        assert_eq!(t.len(), 1, "lost track is kept");
    }
    assert!(iou(&t.tracks[0].kf.bbox(), &b(29).bbox) > 0.5);
    let out = t.update(&[b(30)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].track_id, 1);
    assert_eq!((out[0].hits, out[0].age), (21, 31));
    assert!(t.take_removed().is_empty());
}

#[test]
fn a_slowly_analysed_stream_drops_a_lost_track_after_max_lost_secs() {
    // 0.5 analysed frames/s: 25 frames of buffer would keep a gone vehicle for 50 s.
    let d = det(100.0, 100.0, 50.0, 100.0, 0.9, 0);
    let mut t = Tracker::new(TrackerConfig::for_fps(5.0));
    for f in 0..4 {
        t.update_at(std::slice::from_ref(&d), f64::from(f) * 2.0);
    }
    // Lost at 8 s; still kept 4 s later (2 frames), dropped once more than 5 s passed.
    t.update_at(&[], 8.0);
    t.update_at(&[], 10.0);
    t.update_at(&[], 11.0);
    assert_eq!(t.len(), 1, "lost 5 s after its last match at 6 s: kept");
    assert!(t.take_removed().is_empty());
    t.update_at(&[], 11.5);
    assert!(t.is_empty());
    assert_eq!(t.take_removed(), vec![1]);
    // The same vehicle back later is a new track.
    t.update_at(std::slice::from_ref(&d), 12.0);
    let out = t.update_at(std::slice::from_ref(&d), 14.0);
    assert_eq!(out[0].track_id, 2);
}

#[test]
fn gap_at_buffer_boundary() {
    let d = det(100.0, 100.0, 50.0, 100.0, 0.9, 0);
    let mut t = Tracker::new(TrackerConfig::default());
    for _ in 0..5 {
        t.update(std::slice::from_ref(&d));
    }
    for _ in 0..30 {
        t.update(&[]);
    }
    assert_eq!(
        t.update(std::slice::from_ref(&d))[0].track_id,
        1,
        "lost exactly track_buffer frames"
    );

    for _ in 0..31 {
        t.update(&[]);
    }
    assert!(t.is_empty());
    assert_eq!(t.take_removed(), vec![1]);
    assert!(t.take_removed().is_empty(), "reported once");
    assert!(
        t.update(std::slice::from_ref(&d)).is_empty(),
        "a new, unconfirmed track"
    );
    let out = t.update(std::slice::from_ref(&d));
    assert_eq!(out[0].track_id, 2, "ids are never reused");
    assert_eq!(out[0].hits, 2);
}

#[test]
fn low_score_continues_but_never_starts() {
    let mut t = Tracker::new(TrackerConfig::default());
    for f in 0..5 {
        t.update(&[det(2.0 * f as f32, 0.0, 50.0, 100.0, 0.9, 0)]);
    }
    for f in 5..15 {
        let out = t.update(&[det(2.0 * f as f32, 0.0, 50.0, 100.0, 0.15, 0)]);
        assert_eq!(out.len(), 1, "frame {f}");
        assert_eq!((out[0].track_id, out[0].score), (1, 0.15));
    }
    // Below low_thresh it is not associated at all.
    assert!(t.update(&[det(30.0, 0.0, 50.0, 100.0, 0.05, 0)]).is_empty());

    let mut fresh = Tracker::new(TrackerConfig::default());
    for _ in 0..10 {
        assert!(
            fresh
                .update(&[det(0.0, 0.0, 50.0, 100.0, 0.15, 0)])
                .is_empty()
        );
        assert!(fresh.is_empty());
    }
}

#[test]
fn low_score_does_not_revive_lost_track() {
    let d = |s: f32| det(0.0, 0.0, 50.0, 100.0, s, 0);
    let mut t = Tracker::new(TrackerConfig::default());
    t.update(&[d(0.9)]);
    t.update(&[d(0.9)]);
    t.update(&[]); // now lost
    assert!(
        t.update(&[d(0.15)]).is_empty(),
        "second association is for tracked tracks only"
    );
    assert_eq!(t.update(&[d(0.9)])[0].track_id, 1);
}

#[test]
fn single_frame_false_positive_is_never_returned() {
    let mut t = Tracker::new(TrackerConfig::default());
    let real = det(0.0, 0.0, 50.0, 100.0, 0.9, 0);
    t.update(std::slice::from_ref(&real));
    let out = t.update(&[real.clone(), det(500.0, 500.0, 40.0, 40.0, 0.95, 0)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].detection, Some(0));
    assert_eq!(t.len(), 2);
    let out = t.update(std::slice::from_ref(&real));
    assert_eq!(out.len(), 1);
    assert_eq!(t.len(), 1, "unconfirmed track removed at its first miss");
    for _ in 0..40 {
        t.update(&[]);
    }
    assert_eq!(t.take_removed(), vec![1], "only confirmed ids are reported");
}

#[test]
fn min_hits_and_invalid_inputs() {
    let d = det(0.0, 0.0, 50.0, 100.0, 0.9, 3);
    let mut t = Tracker::new(TrackerConfig {
        min_hits: 1,
        ..TrackerConfig::default()
    });
    let out = t.update(std::slice::from_ref(&d));
    assert_eq!(
        (out[0].track_id, out[0].class, out[0].hits, out[0].age),
        (1, 3, 1, 1)
    );

    let mut t = Tracker::new(TrackerConfig {
        min_hits: 3,
        ..TrackerConfig::default()
    });
    assert!(t.update(std::slice::from_ref(&d)).is_empty());
    assert!(t.update(std::slice::from_ref(&d)).is_empty());
    assert_eq!(t.update(std::slice::from_ref(&d))[0].track_id, 1);

    // A high detection below new_track_thresh may continue tracks but not start one.
    let mut t = Tracker::new(TrackerConfig {
        new_track_thresh: 0.5,
        ..TrackerConfig::default()
    });
    for _ in 0..3 {
        assert!(t.update(&[det(0.0, 0.0, 50.0, 100.0, 0.3, 0)]).is_empty());
    }
    assert!(t.is_empty());

    let mut t = Tracker::new(TrackerConfig::default());
    let bad = [
        det(f32::NAN, 0.0, 5.0, 5.0, 0.9, 0),
        det(0.0, 0.0, 5.0, 5.0, f32::INFINITY, 0),
    ];
    for _ in 0..3 {
        assert!(t.update(&bad).is_empty());
    }
    assert!(t.is_empty());
    // A zero-height box is tolerated (no panic, no NaN state).
    for _ in 0..3 {
        t.update(&[det(0.0, 0.0, 10.0, 0.0, 0.9, 0)]);
    }
    assert!(
        t.tracks
            .iter()
            .all(|tr| tr.kf.mean.iter().all(|v| v.is_finite()))
    );
}

#[test]
fn class_mismatch_is_never_associated() {
    let mut t = Tracker::new(TrackerConfig::default());
    t.update(&[det(0.0, 0.0, 50.0, 100.0, 0.9, 0)]);
    t.update(&[det(0.0, 0.0, 50.0, 100.0, 0.9, 0)]);
    let out = t.update(&[det(0.0, 0.0, 50.0, 100.0, 0.9, 1)]);
    assert!(
        out.is_empty(),
        "same box, other class: a new unconfirmed track"
    );
    assert_eq!(t.len(), 2);
}
