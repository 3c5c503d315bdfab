package android.os;

import java.util.Set;

public final class Bundle {
  // compile-only stub: see compile-stubs/README.md
  public Bundle() {}

  public Bundle(Bundle b) {}

  public Set<String> keySet() {
    throw new UnsupportedOperationException("stub");
  }

  public String getString(String key) {
    throw new UnsupportedOperationException("stub");
  }

  public void putString(String key, String value) {}
}
