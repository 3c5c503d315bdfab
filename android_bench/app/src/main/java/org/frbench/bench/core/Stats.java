package org.frbench.bench.core;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Summary statistics of the timed values (ms), identical to the Python side's numpy formulas.
 *
 * <ul>
 *   <li>{@code mean}: {@code np.mean(values)};
 *   <li>{@code std}: {@code np.std(values, ddof=1)} (sample standard deviation), 0 when n == 1;
 *   <li>{@code min}, {@code max};
 *   <li>{@code p50}, {@code p90}, {@code p99}: {@code np.percentile(values, q)} with numpy's default
 *       {@code method="linear"}: position (n-1)*q/100 between the closest ranks;
 *   <li>{@code trimmed_mean}: the mean of the sorted values with floor(0.1*n) removed from each end
 *       (the middle 80 %), {@code np.mean(np.sort(values)[k:n-k])}.
 * </ul>
 *
 * <p>Sums use numpy's pairwise summation ({@link #sum}), and interpolation numpy's {@code _lerp},
 * so that the numbers are bit-for-bit those numpy computes from the same raw values, not merely
 * close: the report may pool host and Android rows and compare them with {@code ==}.
 */
public final class Stats {
  /** Number of values. */
  public final int n;

  public final double mean;
  public final double std;
  public final double min;
  public final double p50;
  public final double p90;
  public final double p99;
  public final double max;
  public final double trimmedMean;

  private Stats(double[] values) {
    if (values == null || values.length == 0) {
      throw new IllegalArgumentException("stats: no values");
    }
    n = values.length;
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    mean = mean(values, 0, n);
    std = n == 1 ? 0.0 : sampleStd(values, mean);
    min = sorted[0];
    max = sorted[n - 1];
    p50 = percentileOfSorted(sorted, 50);
    p90 = percentileOfSorted(sorted, 90);
    p99 = percentileOfSorted(sorted, 99);
    int k = trimCount(n);
    trimmedMean = mean(sorted, k, n - k);
  }

  /** The statistics of {@code values} (ms); throws if there are none. */
  public static Stats of(double[] values) {
    return new Stats(values);
  }

  /** How many values the trimmed mean drops from each end: floor(0.1 * n). */
  public static int trimCount(int n) {
    return n / 10;
  }

  /**
   * The q-th percentile (0..100) of an ascending array, as {@code np.percentile(a, q)} with {@code
   * method="linear"}.
   */
  public static double percentileOfSorted(double[] sorted, double q) {
    int n = sorted.length;
    if (n == 0) {
      throw new IllegalArgumentException("percentile: no values");
    }
    double quantile = q / 100.0;
    double virtualIndex = (n - 1) * quantile;
    if (virtualIndex >= n - 1) {
      return sorted[n - 1];
    }
    if (virtualIndex < 0) {
      return sorted[0];
    }
    double previousIndex = Math.floor(virtualIndex);
    int lo = (int) previousIndex;
    double a = sorted[lo];
    double b = sorted[lo + 1];
    double gamma = virtualIndex - previousIndex;
    return lerp(a, b, gamma);
  }

  /** numpy's {@code _lerp}: a + (b-a)*t, or b - (b-a)*(1-t) when t >= 0.5 (more accurate there). */
  static double lerp(double a, double b, double t) {
    double diff = b - a;
    if (t >= 0.5) {
      return b - diff * (1 - t);
    }
    return a + diff * t;
  }

  /** {@code np.mean(a[from:to])}: numpy's pairwise sum divided by the count. */
  public static double mean(double[] a, int from, int to) {
    return sum(a, from, to) / (double) (to - from);
  }

  /** {@code np.std(a, ddof=1)} given its mean; callers handle n == 1. */
  static double sampleStd(double[] a, double mean) {
    double[] sq = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - mean;
      sq[i] = d * d;
    }
    return Math.sqrt(sum(sq, 0, sq.length) / (double) (a.length - 1));
  }

  /**
   * {@code np.add.reduce(a[from:to])} for a contiguous float64 array: 0 plus numpy's pairwise sum
   * (blocks of at most 128 values summed with 8 accumulators, halves recursed).
   */
  public static double sum(double[] a, int from, int to) {
    if (from < 0 || to > a.length || from > to) {
      throw new IllegalArgumentException("sum: bad range [" + from + ", " + to + ")");
    }
    return 0.0 + pairwise(a, from, to - from);
  }

  private static double pairwise(double[] a, int lo, int n) {
    if (n < 8) {
      double res = 0.0;
      for (int i = 0; i < n; i++) {
        res += a[lo + i];
      }
      return res;
    } else if (n <= 128) {
      double r0 = a[lo];
      double r1 = a[lo + 1];
      double r2 = a[lo + 2];
      double r3 = a[lo + 3];
      double r4 = a[lo + 4];
      double r5 = a[lo + 5];
      double r6 = a[lo + 6];
      double r7 = a[lo + 7];
      int i;
      for (i = 8; i < n - (n % 8); i += 8) {
        r0 += a[lo + i];
        r1 += a[lo + i + 1];
        r2 += a[lo + i + 2];
        r3 += a[lo + i + 3];
        r4 += a[lo + i + 4];
        r5 += a[lo + i + 5];
        r6 += a[lo + i + 6];
        r7 += a[lo + i + 7];
      }
      double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
      for (; i < n; i++) {
        res += a[lo + i];
      }
      return res;
    } else {
      int n2 = n / 2;
      n2 -= n2 % 8;
      return pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2);
    }
  }

  /** The {@code stats} object of the result JSON, keys in the documented order. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("mean", mean);
    m.put("std", std);
    m.put("min", min);
    m.put("p50", p50);
    m.put("p90", p90);
    m.put("p99", p99);
    m.put("max", max);
    m.put("trimmed_mean", trimmedMean);
    return m;
  }
}
