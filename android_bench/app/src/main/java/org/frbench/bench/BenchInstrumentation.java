package org.frbench.bench;

import android.app.Activity;
import android.app.Instrumentation;
import android.os.Bundle;
import android.util.Log;
import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import org.frbench.bench.core.Benchmark;
import org.frbench.bench.core.Clock;
import org.frbench.bench.core.Json;
import org.frbench.bench.core.ModelRunner;

/**
 * The benchmark app: a self-instrumenting {@link Instrumentation} (its manifest's {@code
 * targetPackage} is its own package), started once per model by
 *
 * <pre>
 * adb shell am instrument -w -r -e model /data/local/tmp/frbench/M.ptl -e threads 4 \
 *     -e warmup 10 -e iters 50 -e images /data/local/tmp/frbench/test_images.bin \
 *     -e masks /data/local/tmp/frbench/test_masks.bin -e shape 8,3,64,64 \
 *     -e out /data/local/tmp/frbench/result.json \
 *     org.frbench.bench.ptl/org.frbench.bench.BenchInstrumentation
 * </pre>
 *
 * <p>It runs the protocol ({@link Benchmark}) with the flavor's runtime ({@link Runners}) and
 * reports one single-line JSON through {@code sendStatus(0, ...)} and {@code finish(RESULT_OK,
 * ...)} under the key {@code result_json}; {@code result_file} names the file the JSON was also
 * written to (the {@code out} argument, or the app's files directory when {@code out} is not
 * writable by the app). Nothing here throws: every failure becomes the result's {@code error}.
 */
public final class BenchInstrumentation extends Instrumentation {
  public static final String TAG = "frbench";

  /** Status/result key of the single-line result JSON. */
  public static final String KEY_RESULT_JSON = "result_json";

  /** Status/result key of the path the JSON was written to ("" when none). */
  public static final String KEY_RESULT_FILE = "result_file";

  /** Status/result key explaining why result_file is not the requested {@code out}. */
  public static final String KEY_RESULT_FILE_NOTE = "result_file_note";

  /**
   * Past this many characters the JSON is left out of the bundles (a Binder transaction holds
   * about 1 MB) and only written to {@code result_file}.
   */
  public static final int MAX_BUNDLE_CHARS = 200000;

  private Bundle arguments;

  @Override
  public void onCreate(Bundle arguments) {
    super.onCreate(arguments);
    this.arguments = arguments;
    start(); // runs onStart() on a new thread
  }

  @Override
  public void onStart() {
    super.onStart();
    Map<String, String> args = toMap(arguments);
    String json = benchmark(args);
    report(json, args.get("out"));
  }

  /** Runs the protocol; returns the result JSON, an error result on any failure. */
  private String benchmark(Map<String, String> args) {
    Map<String, Object> device = null;
    Map<String, Object> metadata = null;
    Map<String, Object> runtime =
        Benchmark.runtime(BuildConfig.RUNTIME_NAME, BuildConfig.RUNTIME_VERSION);
    try {
      device = AndroidDevice.facts();
      metadata =
          Benchmark.metadata(
              Benchmark.isoDateUtc(System.currentTimeMillis()), BuildConfig.VERSION_NAME);
      ModelRunner runner = Runners.create();
      Benchmark benchmark =
          new Benchmark(runner, Clock.SYSTEM, new AndroidMemoryProbe(), device, metadata);
      Map<String, Object> result = benchmark.run(args);
      Log.i(TAG, "done: " + args.get("model") + " error=" + result.get("error"));
      return Json.write(result);
    } catch (Throwable t) {
      Log.e(TAG, "benchmark failed outside the protocol", t);
      try {
        return Json.write(
            Benchmark.errorResult(
                "app: " + t.getClass().getSimpleName() + ": " + t.getMessage(),
                args.get("model"),
                runtime,
                device,
                metadata));
      } catch (Throwable t2) {
        // Last resort: a hand-written result that still parses.
        return "{\"format\":1,\"unit\":\"ms\",\"error\":\"app: could not build the result\","
            + "\"runner\":\"android\"}";
      }
    }
  }

  /** Writes the JSON to {@code out} (or the fallback), then sends the status and finishes. */
  private void report(String json, String out) {
    String resultFile = "";
    String note = null;
    if (out != null && !out.trim().isEmpty()) {
      File target = new File(out.trim());
      try {
        Benchmark.writeAtomically(json, target);
        resultFile = target.getPath();
      } catch (Throwable t) {
        // Apps may not write /data/local/tmp on SELinux-enforcing builds: fall back to the app's
        // own files directory, readable with `adb shell run-as <package> cat files/<name>`.
        note = "cannot write " + target.getPath() + " (" + t.getMessage() + ")";
        try {
          File fallback = new File(getTargetContext().getFilesDir(), target.getName());
          Benchmark.writeAtomically(json, fallback);
          resultFile = fallback.getPath();
          note += "; wrote " + fallback.getPath() + " instead";
        } catch (Throwable t2) {
          note += "; the fallback failed too (" + t2.getMessage() + ")";
        }
        Log.w(TAG, note);
      }
    }
    Bundle bundle = new Bundle();
    if (json.length() <= MAX_BUNDLE_CHARS) {
      bundle.putString(KEY_RESULT_JSON, json);
    } else {
      String why = "result_json left out: " + json.length() + " characters; read result_file";
      note = note == null ? why : note + "; " + why;
    }
    bundle.putString(KEY_RESULT_FILE, resultFile);
    if (note != null) {
      bundle.putString(KEY_RESULT_FILE_NOTE, note);
    }
    try {
      sendStatus(0, bundle);
    } catch (Throwable t) {
      Log.e(TAG, "sendStatus failed", t); // finish() below still carries the result
    }
    Bundle results = new Bundle(bundle);
    results.putString(Instrumentation.REPORT_KEY_STREAMRESULT, "frbench: done\n");
    try {
      finish(Activity.RESULT_OK, results);
    } catch (Throwable t) {
      Log.e(TAG, "finish with the result failed; finishing with the file only", t);
      Bundle small = new Bundle();
      small.putString(KEY_RESULT_FILE, resultFile);
      small.putString(KEY_RESULT_FILE_NOTE, "could not send result_json: " + t);
      finish(Activity.RESULT_OK, small);
    }
  }

  private static Map<String, String> toMap(Bundle bundle) {
    Map<String, String> m = new LinkedHashMap<String, String>();
    if (bundle != null) {
      for (String key : bundle.keySet()) {
        String v = bundle.getString(key); // am instrument -e passes strings
        if (v != null) {
          m.put(key, v);
        }
      }
    }
    return m;
  }
}
