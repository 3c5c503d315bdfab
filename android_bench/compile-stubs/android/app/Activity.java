package android.app;

public class Activity {
  // compile-only stub: see compile-stubs/README.md
  public static final int RESULT_OK = -1;
  public static final int RESULT_CANCELED = 0;
}
