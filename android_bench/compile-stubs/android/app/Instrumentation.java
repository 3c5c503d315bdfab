package android.app;

import android.content.Context;
import android.os.Bundle;

public class Instrumentation {
  // compile-only stub: see compile-stubs/README.md
  public static final String REPORT_KEY_STREAMRESULT = "stream";

  public void onCreate(Bundle arguments) {}

  public void start() {}

  public void onStart() {}

  public Context getContext() {
    throw new UnsupportedOperationException("stub");
  }

  public Context getTargetContext() {
    throw new UnsupportedOperationException("stub");
  }

  public void sendStatus(int resultCode, Bundle results) {}

  public void finish(int resultCode, Bundle results) {}
}
