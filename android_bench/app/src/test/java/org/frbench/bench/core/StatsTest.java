package org.frbench.bench.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Map;
import org.junit.Test;

public class StatsTest {
  private static final double EPS = 1e-12;

  @Test
  public void fourValuesByHand() {
    Stats s = Stats.of(new double[] {4, 1, 3, 2});
    assertEquals(4, s.n);
    assertEquals(2.5, s.mean, EPS);
    // deviations 1.5, 0.5, 0.5, 1.5: (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3
    assertEquals(Math.sqrt(5.0 / 3.0), s.std, EPS);
    assertEquals(1, s.min, 0);
    assertEquals(4, s.max, 0);
    assertEquals(2.5, s.p50, EPS); // position 1.5: halfway between 2 and 3
    assertEquals(3.7, s.p90, EPS); // position 2.7
    assertEquals(3.97, s.p99, EPS); // position 2.97
    assertEquals(2.5, s.trimmedMean, EPS); // floor(0.4) = 0 dropped
  }

  @Test
  public void oneValue() {
    Stats s = Stats.of(new double[] {5.25});
    assertEquals(5.25, s.mean, 0);
    assertEquals(0.0, s.std, 0);
    assertEquals(5.25, s.min, 0);
    assertEquals(5.25, s.p50, 0);
    assertEquals(5.25, s.p90, 0);
    assertEquals(5.25, s.p99, 0);
    assertEquals(5.25, s.max, 0);
    assertEquals(5.25, s.trimmedMean, 0);
  }

  @Test
  public void twoValues() {
    Stats s = Stats.of(new double[] {3, 1});
    assertEquals(2.0, s.mean, 0);
    assertEquals(Math.sqrt(2.0), s.std, EPS);
    assertEquals(2.0, s.p50, EPS);
    assertEquals(2.8, s.p90, EPS);
    assertEquals(2.98, s.p99, EPS);
    assertEquals(2.0, s.trimmedMean, 0);
  }

  @Test
  public void trimmedMeanOfTenDropsOneEachEnd() {
    // sorted: 1..9, 100; the trimmed mean drops 1 and 100: mean(2..9) = 5.5
    Stats s = Stats.of(new double[] {100, 2, 3, 4, 5, 6, 7, 8, 9, 1});
    assertEquals(5.5, s.trimmedMean, EPS);
    assertEquals(14.5, s.mean, EPS);
    assertEquals(5.5, s.p50, EPS);
    assertEquals(9 + 91 * 0.1, s.p90, 1e-9); // position 8.1
    assertEquals(1, s.min, 0);
    assertEquals(100, s.max, 0);
  }

  @Test
  public void trimCountIsFloorOfTenPercent() {
    assertEquals(0, Stats.trimCount(1));
    assertEquals(0, Stats.trimCount(9));
    assertEquals(1, Stats.trimCount(10));
    assertEquals(1, Stats.trimCount(19));
    assertEquals(2, Stats.trimCount(20));
    assertEquals(5, Stats.trimCount(50));
  }

  @Test
  public void twentyValuesDropTwoEachEnd() {
    double[] v = new double[20];
    for (int i = 0; i < 20; i++) {
      v[i] = i + 1;
    }
    v[0] = -1000;
    v[19] = 1000;
    v[1] = -500;
    v[18] = 500;
    // middle: 3..18 -> mean 10.5
    assertEquals(10.5, Stats.of(v).trimmedMean, EPS);
  }

  @Test
  public void percentileEnds() {
    double[] sorted = {1, 2, 3};
    assertEquals(1, Stats.percentileOfSorted(sorted, 0), 0);
    assertEquals(3, Stats.percentileOfSorted(sorted, 100), 0);
    assertEquals(2, Stats.percentileOfSorted(sorted, 50), 0);
  }

  @Test
  public void pairwiseSumOfManyValues() {
    double[] v = new double[1000];
    for (int i = 0; i < v.length; i++) {
      v[i] = i;
    }
    assertEquals(499500.0, Stats.sum(v, 0, v.length), 0);
    assertEquals(45.0, Stats.sum(v, 0, 10), 0);
    assertEquals(0.0, Stats.sum(v, 5, 5), 0);
  }

  @Test
  public void inputIsNotReordered() {
    double[] v = {3, 1, 2};
    Stats.of(v);
    assertEquals(3, v[0], 0);
    assertEquals(1, v[1], 0);
  }

  @Test
  public void emptyValuesAreRejected() {
    try {
      Stats.of(new double[0]);
      fail("expected an exception");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().contains("no values"));
    }
  }

  @Test
  public void mapHasTheDocumentedKeysInOrder() {
    Map<String, Object> m = Stats.of(new double[] {1, 2}).toMap();
    assertEquals(
        "[mean, std, min, p50, p90, p99, max, trimmed_mean]", m.keySet().toString());
  }
}
