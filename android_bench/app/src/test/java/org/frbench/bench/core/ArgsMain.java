package org.frbench.bench.core;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * For tests/test_android_java.py: parses {@code am instrument} arguments as the app does. Each
 * stdin line is one command's {@code -e} arguments, {@code key=value} pairs separated by tabs;
 * each stdout line is the {@code plan} object it gives (threads as asked) as JSON, or {@code
 * error: <message>}. The Python side feeds it what {@code AndroidRunner.instrument_command} sends,
 * so that the app reads the plan the runner means.
 */
public final class ArgsMain {
  private ArgsMain() {}

  public static void main(String[] argv) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    String line;
    while ((line = in.readLine()) != null) {
      Map<String, String> args = new LinkedHashMap<String, String>();
      for (String pair : line.split("\t", -1)) {
        int eq = pair.indexOf('=');
        args.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
      try {
        BenchArgs a = BenchArgs.parse(args);
        System.out.println(Json.write(a.plan(a.threads)));
      } catch (IllegalArgumentException e) {
        System.out.println("error: " + e.getMessage());
      }
    }
  }
}
