package org.frbench.bench.core;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;

/**
 * For tests/test_android_java.py: reads one sample per input line (values separated by spaces,
 * Python reprs of doubles) and prints, per line, the raw IEEE-754 bits (as signed decimal longs)
 * of mean std min p50 p90 p99 max trimmed_mean, so Python can compare them with numpy exactly.
 * Also a Dice line when the input line starts with "dice": the mean of the given per-image values.
 */
public final class StatsMain {
  private StatsMain() {}

  public static void main(String[] argv) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    StringBuilder out = new StringBuilder();
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.isEmpty()) {
        continue;
      }
      boolean dice = line.startsWith("dice ");
      if (dice) {
        line = line.substring(5).trim();
      }
      List<Double> vs = new ArrayList<Double>();
      for (String t : line.split("\\s+")) {
        vs.add(Double.parseDouble(t));
      }
      double[] v = new double[vs.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = vs.get(i);
      }
      if (dice) {
        out.append(Double.doubleToRawLongBits(Dice.mean(v))).append('\n');
        continue;
      }
      Stats s = Stats.of(v);
      double[] r = {s.mean, s.std, s.min, s.p50, s.p90, s.p99, s.max, s.trimmedMean};
      for (int i = 0; i < r.length; i++) {
        if (i > 0) {
          out.append(' ');
        }
        out.append(Double.doubleToRawLongBits(r[i]));
      }
      out.append('\n');
    }
    System.out.print(out);
  }
}
