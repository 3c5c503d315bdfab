package android.os;

public class Build {
  // compile-only stub: see compile-stubs/README.md
  public static final String MODEL = null;
  public static final String MANUFACTURER = null;
  public static final String FINGERPRINT = null;
  public static final String HARDWARE = null;
  public static final String PRODUCT = null;
  public static final String[] SUPPORTED_ABIS = null;

  public static class VERSION {
    public static final int SDK_INT = 0;
  }
}
